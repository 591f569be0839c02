"""Backup and restore of the store.

SQLite: SQLite's online backup API copies the whole database in one step under one read
snapshot, so a backup taken while the server writes is consistent (WAL: the writer is not held
up). A restore copies the backup into a staging file first, brings it to the current schema,
checks it (integrity, the audit chain against the key and the anchors) and only then copies it
over the store, through the same API, so the store is never half-restored.

PostgreSQL: pg_dump and pg_restore (docs/backup.md); `restore_done` then checks the restored
database and records the restore, like a SQLite restore does.

A restore takes the store back to an older head of the audit log. The anchors written since
name events the restored store no longer has; a signed restore line in the anchor file says
so, and `audit verify` stops holding the store to them.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.engine import make_url

from xinyong.backup.error_codes import BackupError
from xinyong.backup.events import BackupEvent
from xinyong.core import audit, db
from xinyong.core.audit import Actor, Verification
from xinyong.core.errors import InvalidInput, XinyongError
from xinyong.models import metadata

SQLITE_HEADER = b"SQLite format 3\x00"
# The unix VFS of SQLite holds a shared lock on this byte of the `-shm` file for as long as a
# connection has the WAL index open ("dead man switch"); an exclusive test lock on it fails
# while any other process has the store open.
SHM_DMS_BYTE = 128


class StoreInUse(InvalidInput):
    code = BackupError.STORE_IN_USE


class BackupBroken(XinyongError):
    """The copy's audit log does not verify: nothing was restored."""

    code = BackupError.BACKUP_BROKEN

    def __init__(self, message: str, verification: Verification) -> None:
        super().__init__(message)
        self.verification = verification


@dataclass(frozen=True)
class Summary:
    path: str
    counts: dict[str, int]
    verification: Verification
    head_id: int | None
    notes: list[str] = field(default_factory=list)


def sqlite_file(url: str) -> Path | None:
    """The store's file when it is SQLite, None for PostgreSQL."""
    u = make_url(db.normalise_url(url))
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        raise InvalidInput("内存数据库无法备份或恢复", code=BackupError.MEMORY_STORE)
    return Path(u.database)


def _need_sqlite(url: str, what: str) -> Path:
    path = sqlite_file(url)
    if path is None:
        raise InvalidInput(f"当前数据库是 PostgreSQL：{what}请按 docs/backup.md 使用 pg_dump / "
                           "pg_restore，恢复后运行 xinyong restore（不带文件）核对并登记",
                           code=BackupError.POSTGRESQL_STORE)
    return path


def in_use(path: Path) -> bool:
    """Whether another process has the SQLite store open (a running server, a command)."""
    import fcntl  # POSIX only, like the lock it tests

    try:
        fd = os.open(f"{path}-shm", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE, os.SEEK_SET)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, SHM_DMS_BYTE, os.SEEK_SET)
        return False
    finally:
        os.close(fd)


def _copy(source: Path, target: Path) -> None:
    """SQLite's backup API, the whole database in one step (one consistent snapshot)."""
    with closing(sqlite3.connect(source, timeout=30)) as src, \
            closing(sqlite3.connect(target, timeout=30)) as dst:
        src.execute("PRAGMA busy_timeout=30000")
        dst.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def counts(engine: Engine) -> dict[str, int]:
    """Rows of every table of the schema the store has."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {str(t.name): int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables if t.name in present}


def _check(path: Path) -> tuple[dict[str, int], Verification, int | None]:
    """Integrity, the audit chain (anchors above its head are newer than the copy: skipped)
    and the row counts of a copy, brought to the current schema first."""
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            problem = conn.exec_driver_sql("PRAGMA quick_check").scalar_one()
            ours = inspect(conn).has_table("alembic_version")
        if problem != "ok":
            raise InvalidInput(f"备份文件已损坏：{problem}", code=BackupError.BACKUP_CORRUPT)
        if not ours:
            raise InvalidInput("这不是 xinyong 的备份文件（没有数据库结构版本）",
                               code=BackupError.NOT_A_BACKUP)
        db.ensure_schema(engine)
        with engine.connect() as conn:
            result = audit.verify(conn, beyond_head_ok=True)
            top = audit.head(conn)
        return counts(engine), result, None if top is None else top[0]
    finally:
        engine.dispose()


def backup(url: str, dest: Path, *, force: bool = False) -> Summary:
    source = _need_sqlite(url, "备份")
    if not source.exists():
        raise InvalidInput(f"数据库文件 {source} 不存在", code=BackupError.STORE_MISSING)
    dest = dest.resolve()
    if dest == source.resolve():
        raise InvalidInput("备份文件不能是数据库文件本身", code=BackupError.BACKUP_IS_STORE)
    if dest.exists() and not force:
        raise InvalidInput(f"{dest} 已存在：换一个文件名，或加 --force 覆盖",
                           code=BackupError.BACKUP_EXISTS)
    dest.parent.mkdir(parents=True, exist_ok=True)
    draft = dest.with_name(f".{dest.name}.part")
    _remove(draft)
    try:
        _copy(source, draft)
        found, result, head_id = _check(draft)
        os.replace(draft, dest)
    finally:
        _remove(draft)
    notes = []
    if result.ok and head_id is not None:
        engine = db.make_engine(f"sqlite:///{dest}")
        try:
            with engine.connect() as conn:  # the head the backup holds is committed: anchor it
                if audit.anchor(conn):
                    notes.append(f"已锚定到事件 {head_id}")
        finally:
            engine.dispose()
    return Summary(str(dest), found, result, head_id, notes)


def restore(url: str, source: Path, actor: Actor, *, force: bool = False) -> Summary:
    target = _need_sqlite(url, "恢复")
    if not source.is_file():
        raise InvalidInput(f"备份文件 {source} 不存在", code=BackupError.BACKUP_MISSING)
    with source.open("rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise InvalidInput(f"{source} 不是 xinyong 的备份文件（不是 SQLite 数据库）",
                               code=BackupError.NOT_A_BACKUP)
    if source.resolve() == target.resolve():
        raise InvalidInput("备份文件就是当前数据库文件", code=BackupError.BACKUP_IS_STORE)
    if in_use(target) and not force:
        raise StoreInUse(f"数据库 {target} 正被使用（服务在运行？）：先停止服务再恢复，"
                         "或确认后加 --force")
    staging = target.with_name(f".{target.name}.restoring")
    _remove(staging)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _copy(source, staging)
        found, result, head_id = _check(staging)
        if not result.ok:
            raise BackupBroken(f"备份中的审计日志在事件 {result.first_bad_id} 处断裂："
                               f"{result.reason}；数据库未改动", result)
        _copy(staging, target)
    finally:
        _remove(staging)
    return _record(url, str(source.resolve()), actor, found, result, head_id)


def restore_done(url: str, actor: Actor) -> Summary:
    """A database restored by other means (pg_restore): check it and record the restore."""
    engine = db.make_engine(url)
    try:
        db.ensure_schema(engine)
        with engine.connect() as conn:
            result = audit.verify(conn, beyond_head_ok=True)
            top = audit.head(conn)
        found = counts(engine)
    finally:
        engine.dispose()
    if not result.ok:
        raise BackupBroken(f"恢复的数据库的审计日志在事件 {result.first_bad_id} 处断裂："
                           f"{result.reason}", result)
    return _record(url, make_url(db.normalise_url(url)).render_as_string(), actor, found, result,
                   None if top is None else top[0])


def _record(url: str, source: str, actor: Actor, found: dict[str, int], result: Verification,
            head_id: int | None) -> Summary:
    """The restore in the anchor file (anchors above the restored head belonged to the history
    it replaced) and in the audit log itself."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            top = audit.head(conn)
        if top is not None:
            audit.write_anchor(*top, restored=True)
        with db.writing(engine) as conn:
            audit.record(conn, actor, BackupEvent.STORE_RESTORED, "store", None,
                         detail={"from": source, "head_id": head_id, "counts": found})
    finally:
        engine.dispose()
    return Summary(source, found, result, head_id)
