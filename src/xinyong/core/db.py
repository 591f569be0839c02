"""Database engine, declarative base, migrations and the bulk-write door.

SQLite (WAL) is the embedded default; PostgreSQL (psycopg 3) is the production engine. The
same schema and the same code paths run on both; where they differ (bulk loading, upserts,
locks) the difference lives here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase

from xinyong.core.settings import get_settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# 64-bit keys on PostgreSQL; on SQLite only INTEGER is the rowid alias (and autoincrements).
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Timestamps are stored as naive UTC so both engines compare them the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and route it to psycopg 3."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


CACHE_KIB = 65536  # every connection's SQLite page cache (pages are taken only as needed)


@contextmanager
def large_cache(conn: Connection, mib: int) -> Iterator[None]:
    """A larger SQLite page cache for one long write (an ingest batch), back to the everyday
    size after, so pooled connections of a server never keep hundreds of MiB each."""
    if not is_sqlite(conn) or mib * 1024 <= CACHE_KIB:
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(mib) * 1024}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Only takes effect while the file is still empty. Records are about a kilobyte of JSON;
    # 16 KiB pages keep them off overflow pages and the indexes shallower (measured: inserting
    # a million records with their indexes takes ~40 % less time than with 4 KiB pages).
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode; FULL only adds power-loss safety.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


WRITE = "xinyong_write"


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling is switched off below. A write transaction takes the
    # write lock at BEGIN, so two writers queue (busy_timeout) instead of one failing half-way
    # when it upgrades a read snapshot to a write; readers never block anybody.
    immediate = conn.get_execution_options().get(WRITE)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


AFTER_COMMIT = "xinyong_after_commit"


def after_commit(conn: Connection, key: str, fn: Callable[[], None]) -> None:
    """Run `fn` once the caller's `writing` transaction has committed (dropped if it rolls
    back); a later registration under the same key replaces an earlier one. Used to anchor the
    audit log's head outside the database only once it is durable."""
    conn.info.setdefault(AFTER_COMMIT, {})[key] = fn


@contextmanager
def _committing(conn: Connection) -> Iterator[None]:
    # `conn.info` belongs to the pooled DBAPI connection: never let hooks outlive this use.
    conn.info.pop(AFTER_COMMIT, None)
    try:
        with conn.begin():
            yield
        hooks = conn.info.pop(AFTER_COMMIT, {})
    finally:
        conn.info.pop(AFTER_COMMIT, None)
    for fn in hooks.values():
        fn()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: commits on success, rolls back on any exception."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with _committing(conn):
            yield conn


Db = Engine | Connection


@contextmanager
def transaction(db: Db) -> Iterator[Connection]:
    """The one way a write verb gets its connection. Given the engine it opens a `writing`
    transaction of its own (commit on success, roll back on any exception); given a
    connection it joins the write transaction the caller opened — a verb called by another
    verb, or a test arranging several verbs in one transaction — and refuses any other
    connection, so a write can never run outside a transaction by mistake."""
    if isinstance(db, Connection):
        if not db.get_execution_options().get(WRITE) or not db.in_transaction():
            raise RuntimeError("a write verb was given a connection outside a writing() transaction")
        yield db
        return
    with writing(db) as conn:
        yield conn


@contextmanager
def reading(db: Db) -> Iterator[Connection]:
    """A query's connection: its own read connection from the engine, or the caller's."""
    if isinstance(db, Connection):
        yield db
        return
    with db.connect() as conn:
        yield conn


@contextmanager
def bulk_writing(engine: Engine) -> Iterator[Connection]:
    """`writing` for a bulk load whose rows refer only to rows the caller itself read or
    wrote in the same transaction (an ingest batch: its subjects, batch and catalog version).
    SQLite's row-by-row foreign-key look-ups are switched off for it — three index probes a
    record, 2.7 s of a million-row batch — and the caller must verify the references it used
    once, before the end of the block (`ingest.service` does, set-based). The connection goes
    back to the pool with the checks on again, whatever happens."""
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        sqlite = is_sqlite(conn)
        if sqlite:  # outside any transaction, where the pragma takes effect
            dbapi.execute("PRAGMA foreign_keys=OFF")
        try:
            conn.execution_options(**{WRITE: True})
            with _committing(conn):
                yield conn
        finally:
            if sqlite:
                dbapi.execute("PRAGMA foreign_keys=ON")


def make_engine(url: str | None = None, *, pool_size: int = 5) -> Engine:
    """The store's engine. `pool_size` connections are kept open, as many again may be opened
    for bursts (the web app sizes it to the requests it admits at once)."""
    url = normalise_url(url or get_settings().database_url)
    pool = {"pool_size": pool_size, "max_overflow": pool_size * 2}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def is_sqlite(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "sqlite"


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("xinyong.core").joinpath("migrations"))
    )
    cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The schema's current revision: the head, or the heads joined by '+' while capabilities
    built side by side each add a migration on the same parent (Alembic branches)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("xinyong.core").joinpath("migrations"))
    )
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert heads
    return "+".join(sorted(heads))


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def ensure_schema(engine: Engine) -> None:
    """Bring an empty or older database to the current schema (first use needs no extra step)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
    *, utf8: Collection[str] = (),
) -> None:
    """Insert many rows inside the caller's transaction by the fastest path each engine has:
    `executemany` on SQLite, `COPY` on PostgreSQL. Values of the `utf8` columns come as
    UTF-8 bytes for text columns (JSON straight from orjson): SQLite stores them as text
    without decoding them at all."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cols = ", ".join(columns)
    if is_sqlite(conn):
        marks = ", ".join("CAST(? AS TEXT)" if c in utf8 else "?" for c in columns)
        cur: Any = dbapi.cursor()  # sqlite3 takes any iterable of rows, not only sequences
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        cur.close()
        return
    cursor: Any = dbapi.cursor()  # psycopg's cursor: has copy(); the DB-API protocol does not
    decode = [i for i, c in enumerate(columns) if c in utf8]
    with cursor, cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            if decode:
                row = list(row)
                for i in decode:
                    row[i] = row[i].decode()
            copy.write_row(row)


def in_list(conn: Connection, column: str, param: str) -> str:
    """SQL for `column IN (<the list bound to :param>)` as one parameter, so a chunk of
    thousands of values is neither compiled into thousands of placeholders nor re-planned.
    Bind the value with `list_param`."""
    if is_sqlite(conn):
        return f"{column} IN (SELECT value FROM json_each(:{param}))"
    return f"{column} = ANY(:{param})"


def list_param(conn: Connection, values: Sequence[Any]) -> Any:
    if is_sqlite(conn):
        return orjson.dumps(list(values)).decode()
    return list(values)


def source_key(*parts: str) -> int:
    """A stable signed 64-bit key of a record's identity at its source. Indexing an integer
    is several times cheaper than indexing the department name and document number."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def source_key_of(department: str, item_code: str) -> Callable[[str], int]:
    """`source_key(department, item_code, doc_no)` as a function of the document number,
    the shared prefix hashed once."""
    base = hashlib.blake2b(f"{department}\x1f{item_code}\x1f".encode(), digest_size=8)

    def key(doc: str) -> int:
        h = base.copy()
        h.update(doc.encode())
        return int.from_bytes(h.digest(), "big", signed=True)
    return key


def lock_for_append(conn: Connection, name: str) -> None:
    """Serialise appenders of a chain (the audit log) within the caller's transaction.
    SQLite already holds the database write lock from BEGIN IMMEDIATE."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
