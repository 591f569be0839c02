"""How a record names its subject (`Identity`, which ingest makes of each valid row and the
subjects store resolves to a subject), and the subject key of a natural person: a keyed hash
of their identity document.

A natural person has no 统一社会信用代码, so their records are tied together by a key derived
from the identity document. The key must not reveal the number: an unsalted SHA-256 (the
`P:` keys of earlier versions) can be reversed by hashing every possible resident ID — a few
billion, minutes on one graphics card. The key is therefore an HMAC-SHA256 under a secret
kept outside the database (`XINYONG_IDENTITY_KEY_FILE`), so a copy of the database alone
tells nobody whose records a key ties together. The secret is made on first use (32 random
bytes, file mode 0600) and must be kept with the backups of the server, not of the store:
without it, a person reported again would no longer match their earlier records.

Keys carry a version: `P2:` keyed, `P:` the legacy digest. Migration 0030 rewrites every `P:`
key from the identity document stored with the subject, so existing stores keep their matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, text

from xinyong.core.errors import XinyongError
from xinyong.core.settings import get_settings
from xinyong.subjects.error_codes import SubjectError

KEYED = "P2:"
LEGACY = "P:"
SECRET_BYTES = 32


class Identity(NamedTuple):
    """How a valid row of a file names its subject. Prepared chunks carry it across processes as a
    plain tuple of its fields (`IdentityFields`), which pickles without Python-level calls."""

    key: str
    kind: str
    name: str
    uscc: str | None
    region: str | None
    reg_no: str | None
    org_code: str | None
    legal_rep: str | None
    legal_rep_id_type: str | None
    legal_rep_id_number: str | None
    id_type: str | None
    id_number: str | None


# An `Identity`'s fields in order; `Identity._make` turns them back into one.
IdentityFields = tuple[str | None, ...]


class IdentityKeyMissing(XinyongError):
    code = SubjectError.IDENTITY_KEY_MISSING


def key_file() -> Path:
    """Where the secret is kept: `XINYONG_IDENTITY_KEY_FILE`, else `keys/identity.key` in
    the files folder."""
    settings = get_settings()
    return settings.identity_key_file or settings.files_dir / "keys" / "identity.key"


def person_key(id_type: str, id_number: str, secret: bytes | None = None) -> str:
    """The subject key of the person with this identity document."""
    mac = hmac.new(secret if secret is not None else current_secret(),
                   f"{id_type}:{id_number}".encode(), hashlib.sha256)
    return KEYED + mac.hexdigest()


def legacy_person_key(id_type: str, id_number: str) -> str:
    """The unsalted key of earlier versions (only to recognise and replace it)."""
    return LEGACY + hashlib.sha256(f"{id_type}:{id_number}".encode()).hexdigest()[:40]


def current_secret() -> bytes:
    return secret_at(key_file())


@lru_cache(maxsize=4)
def secret_at(path: Path) -> bytes:
    """The secret in `path`, made there first if there is none. Two processes starting at
    once make one: the file appears complete or not at all (written aside, then linked)."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    raw = path.read_text().strip()
    try:
        secret = bytes.fromhex(raw)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise IdentityKeyMissing(f"自然人标识密钥文件 {path} 内容无效（应为至少32位十六进制字符），"
                                 "请恢复备份的密钥文件")
    return secret


def ensure_secret(conn: Connection) -> bytes:
    """The secret, before an ingest keys any person. Refuses to make a new one while the
    store holds keys made with a lost one: new reports would silently stop matching."""
    path = key_file()
    if not path.exists() and conn.execute(text(
            "SELECT 1 FROM subject WHERE key LIKE 'P2:%' LIMIT 1")).first() is not None:
        raise IdentityKeyMissing(
            f"自然人标识密钥文件 {path} 不存在，但库中已有按密钥标识的自然人主体：请恢复备份的"
            "密钥文件（或设置 XINYONG_IDENTITY_KEY_FILE 指向它）后再归集")
    return secret_at(path)


def rekey_legacy(conn: Connection) -> int:
    """Rewrite every legacy `P:` key as its keyed `P2:` key, from the identity document kept
    with the subject; how many were rewritten. A key that does not match its document (none
    should) is left as it was."""
    rows = conn.execute(text("SELECT id, key, id_type, id_number FROM subject "
                             "WHERE key LIKE 'P:%'")).all()
    if not rows:
        return 0
    secret = current_secret()
    updates = []
    for sid, key, id_type, id_number in rows:
        document = (id_type or "", id_number or "")
        if legacy_person_key(*document) == key:
            updates.append({"id": sid, "key": person_key(*document, secret=secret)})
    if updates:
        conn.execute(text("UPDATE subject SET key = :key WHERE id = :id"), updates)
    return len(updates)
