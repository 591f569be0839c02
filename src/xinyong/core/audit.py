"""The append-only, keyed, hash-chained and anchored audit log.

Every state change and every read of non-public data appends an event inside the same
transaction as the change itself. Three things together make the log tamper-evident:

- Each event's hash is an HMAC-SHA256, under a key kept in a file outside the database
  (`XINYONG_AUDIT_KEY_FILE`), of its content and the previous event's hash. Editing, inserting
  or deleting an event breaks the chain from there on, and whoever can write to the database
  but cannot read the key file cannot recompute the chain.
- The head of the chain (id and hash) is anchored in an append-only file outside the database
  (`XINYONG_AUDIT_ANCHOR_FILE`), after commits every so many events or minutes and by
  `xinyong audit anchor`. Deleting the newest events (or all of them) leaves an anchor that
  names an event the database no longer holds; a chain recomputed with the key disagrees with
  the anchors.
- The table itself refuses UPDATE and DELETE (triggers, migration 0028_audit_seal).

`verify` checks all of it and reports the first event found wrong, with a reason in Chinese.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, DateTime, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.core.db import Base, BigId, after_commit, lock_for_append, utcnow
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.settings import get_settings

GENESIS = "0" * 64
log = logging.getLogger(__name__)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    source: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    # Which key of the key file made `hash`; NULL for events written before the chain was keyed
    # (plain SHA-256, accepted only below an anchor).
    key_id: Mapped[str | None] = mapped_column(String(16))


@dataclass(frozen=True)
class Actor:
    """Who acts: a person or system, its role and where the request came from."""

    name: str
    role: str | None = None
    source: str | None = None


SYSTEM = Actor("system", "system", "xinyong")


# --- the key file -----------------------------------------------------------------------------

def key_file() -> Path:
    """Configured, or beside the data folder (the parent of XINYONG_FILES_DIR)."""
    s = get_settings()
    return s.audit_key_file or s.files_dir.resolve().parent / "xinyong-audit.key"


def anchor_file() -> Path:
    s = get_settings()
    return s.audit_anchor_file or s.files_dir.resolve().parent / "xinyong-audit-anchors.jsonl"


@dataclass(frozen=True)
class Keyring:
    """The keys of the key file: every key ever used (older events keep theirs), the last
    one current."""

    keys: dict[str, bytes]
    current: str | None

    def mac(self, key_id: str, message: bytes) -> str | None:
        key = self.keys.get(key_id)
        return None if key is None else hmac.new(key, message, hashlib.sha256).hexdigest()


_cache: dict[Path, tuple[tuple[int, int], Keyring]] = {}


def _parse_keys(text: str) -> Keyring:
    keys: dict[str, bytes] = {}
    current = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            keys[parts[0]] = bytes.fromhex(parts[1])
            current = parts[0]
    return Keyring(keys, current)


def load_keys(path: Path | None = None) -> Keyring:
    """The key file's keys, empty when it does not exist (re-read when the file changes, so a
    rotation by `xinyong audit rotate-key` reaches running servers)."""
    path = path or key_file()
    try:
        info = path.stat()
    except FileNotFoundError:
        return Keyring({}, None)
    # Size as well as time: file times tick coarsely, and a rotation only ever appends.
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    ring = _parse_keys(path.read_text(encoding="utf-8"))
    _cache[path] = (stamp, ring)
    return ring


def key_file_too_open() -> str | None:
    """The key file's mode (as 0644) when accounts other than its owner may read it."""
    try:
        mode = key_file().stat().st_mode & 0o777
    except FileNotFoundError:
        return None
    return f"{mode:04o}" if mode & 0o077 else None


def _key_line() -> tuple[str, str]:
    secret = secrets.token_bytes(32)
    # The id is a fingerprint of the key: unique without a counter, and says nothing of it.
    key_id = hashlib.sha256(secret).hexdigest()[:12]
    return key_id, f"{key_id} {secret.hex()} {utcnow():%Y-%m-%dT%H:%M:%S}\n"


HEADER = ("# xinyong 审计日志密钥：每行“编号 密钥 创建时间”，最后一行为当前密钥。\n"
          "# 不要删除旧行（旧事件要用它们校验），不要放进数据库或其备份，权限保持 0600。\n")


def rotate_key(path: Path | None = None) -> str:
    """Append a new key, current from now on; creates the file (mode 0600) when missing."""
    path = path or key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    key_id, line = _key_line()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, HEADER.encode())
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return key_id


def _create_key_file(path: Path) -> None:
    """Write the first key beside the target, then link it into place: the key file appears
    whole or not at all, and of two processes starting at once only one key wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _, line = _key_line()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (HEADER + line).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def signing_keys(conn: Connection) -> Keyring:
    """The keyring to sign with; creates the key file on first use — but never when the log
    already holds keyed events: a missing key file then means a wrong path or a lost key, and
    a fresh key would sign a chain nobody could verify."""
    path = key_file()
    ring = load_keys(path)
    if ring.current is not None:
        return ring
    t = AuditEvent.__table__
    keyed = conn.execute(select(t.c.key_id).where(t.c.key_id.is_not(None)).limit(1)).first()
    if keyed is not None:
        raise InvalidInput(f"找不到审计日志密钥文件 {path}，而审计日志已由密钥 {keyed[0]} 签名："
                           "请检查 XINYONG_AUDIT_KEY_FILE 或恢复密钥文件", code=CoreError.AUDIT_KEY_MISSING)
    _create_key_file(path)
    ring = load_keys(path)
    assert ring.current is not None
    return ring


# --- the chain --------------------------------------------------------------------------------

def _message(prev: str, fields: dict[str, Any]) -> bytes:
    return prev.encode() + orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def _legacy_digest(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(_message(prev, fields)).hexdigest()


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    at = row["at"]
    fields = {
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "actor": row["actor"], "role": row["role"], "action": row["action"],
        "object_type": row["object_type"], "object_id": row["object_id"],
        "subject_id": row["subject_id"], "source": row["source"], "detail": row["detail"],
    }
    if row.get("key_id") is not None:  # the key id is signed too: it cannot be swapped
        fields["key_id"] = row["key_id"]
    return fields


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    *,
    subject_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> str:
    """Append one event in the caller's transaction; returns its hash."""
    lock_for_append(conn, "audit_event")
    ring = signing_keys(conn)
    assert ring.current is not None
    table = AuditEvent.__table__
    last = conn.execute(
        select(table.c.id, table.c.hash, table.c.key_id).order_by(table.c.id.desc()).limit(1)
    ).first()
    if last is not None and last.key_id is None:
        # The first keyed event after an upgrade: the unkeyed events before it are protected
        # only by an anchor, so anchor them now (they are committed: we hold the append lock).
        write_anchor(last.id, last.hash)
    prev = GENESIS if last is None else last.hash
    row: dict[str, Any] = {
        "at": utcnow().replace(microsecond=0),
        "actor": actor.name, "role": actor.role, "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "subject_id": subject_id, "source": actor.source,
        "detail": orjson.dumps(detail or {}, option=orjson.OPT_SORT_KEYS).decode(),
        "key_id": ring.current,
    }
    row["prev_hash"] = prev
    row["hash"] = ring.mac(ring.current, _message(prev, _fields(row)))
    new_id = conn.execute(insert(AuditEvent).values(**row)).inserted_primary_key
    assert new_id is not None
    head = (int(new_id[0]), str(row["hash"]))
    after_commit(conn, "audit.anchor", lambda: _anchor_if_due(*head))
    return str(row["hash"])


# --- anchors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Anchor:
    line: int
    id: int
    hash: str
    at: str
    restored: bool = False


def _anchor_body(entry: dict[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in entry.items() if k != "mac"},
                        option=orjson.OPT_SORT_KEYS)


def write_anchor(event_id: int, event_hash: str, *, restored: bool = False) -> dict[str, Any]:
    """Append one signed line to the anchor file: the chain's head was this (id, hash) now.
    `restored` marks a restore: anchors written before it above `event_id` belonged to the
    history the restore replaced."""
    ring = load_keys()
    if ring.current is None:
        raise InvalidInput(f"找不到审计日志密钥文件 {key_file()}，无法签名锚点",
                           code=CoreError.AUDIT_KEY_MISSING)
    entry: dict[str, Any] = {"id": event_id, "hash": event_hash,
                             "at": utcnow().replace(microsecond=0).isoformat(),
                             "key_id": ring.current}
    if restored:
        entry["restored"] = True
    entry["mac"] = ring.mac(ring.current, _anchor_body(entry))
    path = anchor_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line with O_APPEND: appenders in several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, orjson.dumps(entry) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def _last_anchor_line(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 4096))
            tail = f.read().splitlines()
    except FileNotFoundError:
        return None
    for raw in reversed(tail):
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("id"), int):
            return entry
    return None


def anchor_due(head_id: int) -> bool:
    s = get_settings()
    last = _last_anchor_line(anchor_file())
    if last is None:
        return True
    if head_id - int(last["id"]) >= max(1, s.audit_anchor_every_events):
        return True
    try:
        at = datetime.fromisoformat(str(last["at"]))
    except ValueError:
        return True
    return utcnow() - at >= timedelta(minutes=s.audit_anchor_every_minutes) and head_id != last["id"]


def _anchor_if_due(head_id: int, head_hash: str) -> None:
    """Runs after the commit that appended the head: never anchors what might roll back. A
    failure is logged, not raised: the change itself is committed, and the next commit tries
    again."""
    try:
        if anchor_due(head_id):
            write_anchor(head_id, head_hash)
    except Exception:
        log.exception("审计日志锚点写入失败（%s）", anchor_file())


def head(conn: Connection) -> tuple[int, str] | None:
    t = AuditEvent.__table__
    row = conn.execute(select(t.c.id, t.c.hash).order_by(t.c.id.desc()).limit(1)).first()
    return None if row is None else (int(row.id), str(row.hash))


def anchor(conn: Connection) -> dict[str, Any] | None:
    """Anchor the committed head now (`xinyong audit anchor`, a backup); None when the log is
    empty or the last anchor already names the head."""
    current = head(conn)
    if current is None:
        return None
    last = _last_anchor_line(anchor_file())
    if last is not None and (last.get("id"), last.get("hash")) == current:
        return None
    return write_anchor(*current)


@dataclass
class _Anchors:
    valid: list[Anchor] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    lines: int = 0


def _read_anchors(path: Path, ring: Keyring) -> _Anchors:
    """The anchor file's signed lines; a line that does not parse or whose signature is wrong is
    a problem (nobody without the key writes a valid line). A restore line retires the anchors
    above it written before it."""
    result = _Anchors()
    try:
        raw_lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return result
    for n, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        result.lines += 1
        try:
            entry = orjson.loads(raw)
            a = Anchor(n, int(entry["id"]), str(entry["hash"]), str(entry["at"]),
                       bool(entry.get("restored")))
            expected = ring.mac(str(entry["key_id"]), _anchor_body(entry))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            result.problems.append((0, f"锚点文件第 {n} 行无法读取（锚点文件被改动）"))
            continue
        if expected is None:
            result.problems.append((a.id, f"锚点文件第 {n} 行的密钥 {entry['key_id']} 不在密钥文件中"))
        elif not hmac.compare_digest(expected, str(entry.get("mac"))):
            result.problems.append((a.id, f"锚点文件第 {n} 行的校验码不符（锚点被篡改）"))
        else:
            if a.restored:
                result.valid = [v for v in result.valid if v.id <= a.id]
            result.valid.append(a)
    return result


# --- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    events: int
    ok: bool
    first_bad_id: int | None = None
    reason: str | None = None
    anchors: int = 0
    anchored_id: int | None = None


def _rows(conn: Connection) -> Iterator[dict[str, Any]]:
    table = AuditEvent.__table__
    for row in conn.execute(select(table).order_by(table.c.id)).mappings():
        yield dict(row)


def _chain_problem(row: dict[str, Any], prev: str, ring: Keyring, keyed_seen: bool) -> str | None:
    if row["prev_hash"] != prev:
        return "前一事件的哈希不符（事件被删除或插入）"
    message = _message(prev, _fields(row))
    if row["key_id"] is None:
        if keyed_seen:
            return "未签名的事件出现在已签名的事件之后（链被不持有密钥者重算）"
        if _legacy_digest(prev, _fields(row)) != row["hash"]:
            return "事件内容与哈希不符（事件被修改）"
        return None
    expected = ring.mac(row["key_id"], message)
    if expected is None:
        return (f"事件的密钥 {row['key_id']} 不在密钥文件 {key_file()} 中"
                "（密钥文件不对，或链被不持有密钥者重算）")
    if not hmac.compare_digest(expected, row["hash"]):
        return "事件内容与校验码不符（事件被修改，或链被不持有密钥者重算）"
    return None


def verify(conn: Connection, *, beyond_head_ok: bool = False) -> Verification:
    """Walk the chain in id order against the key file, then hold it against every anchor.

    `beyond_head_ok` accepts anchors above the chain's head: checking a backup, which is older
    than the anchors written since (anchors at or below its head must still agree)."""
    ring = load_keys()
    anchors = _read_anchors(anchor_file(), ring)
    by_id: dict[int, list[Anchor]] = {}
    for a in anchors.valid:
        by_id.setdefault(a.id, []).append(a)
    problems = list(anchors.problems)
    prev, count, keyed_seen = GENESIS, 0, False
    last_id: int | None = None
    last_unkeyed: int | None = None
    matched_below = 0  # the highest anchored id found in agreement so far
    for row in _rows(conn):
        count += 1
        problem = _chain_problem(row, prev, ring, keyed_seen)
        if problem:
            problems.append((row["id"], problem))
            break
        keyed_seen = keyed_seen or row["key_id"] is not None
        if row["key_id"] is None:
            last_unkeyed = row["id"]
        for a in by_id.pop(row["id"], []):
            if a.hash == row["hash"]:
                matched_below = a.id
            else:
                problems.append((a.id, f"事件 {a.id} 与 {a.at} 的锚点不符：事件 {matched_below + 1}–"
                                       f"{a.id} 中有事件被改写，链被重算"))
        prev, last_id = row["hash"], row["id"]
    else:
        problems.extend(_missing(by_id, last_id, beyond_head_ok))
        top = max((a.id for a in anchors.valid), default=0)
        if last_unkeyed is not None and top < last_unkeyed:
            problems.append((last_unkeyed, "未签名的旧事件没有锚点保护（运行 xinyong audit anchor "
                                           "在升级后立即锚定）"))
    anchored = max((a.id for a in anchors.valid), default=None)
    if problems:
        first_bad, reason = min(problems, key=lambda p: p[0])
        return Verification(count, False, first_bad, reason, anchors.lines, anchored)
    return Verification(count, True, anchors=anchors.lines, anchored_id=anchored)


def _missing(by_id: dict[int, list[Anchor]], last_id: int | None,
             beyond_head_ok: bool) -> list[tuple[int, str]]:
    """Anchors naming events the chain no longer holds (the walk consumed all others). Those
    above the head are one finding — the newest events were cut off — named by the highest."""
    above = [a for i, entries in by_id.items() for a in entries if last_id is None or i > last_id]
    problems = [(a.id, f"{a.at} 的锚点记录的事件 {a.id} 已不在数据库中")
                for i, entries in by_id.items() for a in entries[:1]
                if last_id is not None and i <= last_id]
    if above and not beyond_head_ok:
        top = max(above, key=lambda a: a.id)
        if last_id is None:
            problems.append((1, f"审计日志被清空：{top.at} 的锚点记录了事件 {top.id}，"
                                "数据库中已没有事件"))
        else:
            problems.append((last_id + 1, f"最新的事件被删除：{top.at} 的锚点记录了事件 {top.id}，"
                                          f"数据库中只到事件 {last_id}"))
    return problems
