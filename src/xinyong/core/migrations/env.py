"""Alembic environment: runs on the connection handed over by `xinyong.core.db.upgrade`."""

from alembic import context
from sqlalchemy import MetaData

from xinyong.core.db import make_engine

config = context.config


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    from xinyong.models import include_name

    return include_name(name, type_, parent_names)


def _target_metadata() -> MetaData:
    # Imported here, not at the top: only autogenerate needs the models, and core must not
    # import the capabilities at module level.
    from xinyong.models import metadata

    return metadata


connection = config.attributes.get("connection")

if connection is not None:
    context.configure(
        connection=connection, render_as_batch=True, target_metadata=_target_metadata(),
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.begin() as conn:
        context.configure(
            connection=conn, render_as_batch=True, target_metadata=_target_metadata(),
            include_name=_include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
