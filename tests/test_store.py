"""The store itself: migrations on both engines and the hash-chained audit log."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from xinyong.core import audit, db
from xinyong.core.db import writing
from xinyong.models import include_name, metadata

from .tampering import drop_append_only_guard


@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index")  # PostgreSQL-only
def test_migrations_match_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert db.current_revision(engine) == db.head_revision()


def test_upgrade_is_idempotent(engine: Engine) -> None:
    db.ensure_schema(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_audit_chain_verifies_and_detects_an_edited_or_deleted_event(engine: Engine) -> None:
    actor = audit.Actor("张三", "staff", "127.0.0.1")
    with writing(engine) as conn:
        for i in range(5):
            audit.record(conn, actor, "test.event", "thing", i, detail={"n": i})
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok and result.events == 5
    with writing(engine) as conn:
        drop_append_only_guard(conn)  # as an attacker with DDL rights would
        original = conn.execute(text("SELECT detail FROM audit_event WHERE id = 3")).scalar_one()
        conn.execute(text("UPDATE audit_event SET detail = '{\"n\": 99}' WHERE id = 3"))
    with engine.connect() as conn:
        edited = audit.verify(conn)
    assert not edited.ok and edited.first_bad_id == 3
    with writing(engine) as conn:
        conn.execute(text("UPDATE audit_event SET detail = :d WHERE id = 3"), {"d": original})
        conn.execute(text("DELETE FROM audit_event WHERE id = 4"))
    with engine.connect() as conn:
        deleted = audit.verify(conn)
    assert not deleted.ok and deleted.first_bad_id == 5


@given(st.text(max_size=20), st.text(max_size=10), st.lists(st.text(max_size=40), max_size=5))
def test_source_keys_with_the_prefix_hashed_once_equal_one_by_one(department: str, item: str,
                                                                 docs: list[str]) -> None:
    key = db.source_key_of(department, item)
    assert [key(d) for d in docs] == [db.source_key(department, item, d) for d in docs]
