"""Shared fixtures: a fresh, migrated store per test on SQLite and on a real PostgreSQL.

The PostgreSQL leg is never skipped silently in CI: with CI set and no server available the
suite fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from xinyong.core import db
from xinyong.core.settings import get_settings

from .pg_server import TempPostgres


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own file store and database URL; nothing leaks between tests."""
    monkeypatch.setenv("XINYONG_FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'xinyong.db'}")
    # TestClient talks plain HTTP to "testserver", which would not send back a Secure cookie;
    # the default (Secure except on localhost) has its own tests in tests/accounts.
    monkeypatch.setenv("XINYONG_COOKIE_SECURE", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("XINYONG_TEST_POSTGRES_URL")
    if url:
        yield db.normalise_url(url)
        return
    try:
        server = TempPostgres()
        started = server.start()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but could not be started: {exc}")
        pytest.skip(f"no PostgreSQL server available: {exc}")
    try:
        yield started
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> str:
    """A migrated database to clone per test with CREATE DATABASE … TEMPLATE."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"xinyong_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = db.make_engine(_with_db(postgres_url, name))
    db.upgrade(engine)
    engine.dispose()
    return name


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh migrated store; tests using it run once per database engine."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        eng = db.make_engine(url)
        drop = None
    else:
        base = request.getfixturevalue("postgres_url")
        template = request.getfixturevalue("postgres_template")
        name = f"xinyong_t_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = _with_db(base, name)
        eng = db.make_engine(url)
        drop = (admin, name)
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield eng
    finally:
        eng.dispose()
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

