"""The audit log resists what a plain hash chain does not: truncation (the newest events, or
all), recomputation of the chain by someone who can write to the database but not read the key
file, and UPDATE/DELETE at all (triggers). Each attack is carried out for real on the store."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from xinyong.core import audit, db
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings

from ..tampering import drop_append_only_guard

ACTOR = audit.Actor("张三", "staff", "127.0.0.1")


@pytest.fixture(autouse=True)
def _anchor_every_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_AUDIT_ANCHOR_EVERY_EVENTS", "10")
    get_settings.cache_clear()


def _append(engine: Engine, n: int, per_commit: int = 1) -> None:
    for start in range(0, n, per_commit):
        with writing(engine) as conn:
            for i in range(start, min(n, start + per_commit)):
                audit.record(conn, ACTOR, "test.event", "thing", i, detail={"n": i})


def _verify(engine: Engine, **kw: Any) -> audit.Verification:
    with engine.connect() as conn:
        return audit.verify(conn, **kw)


def _anchors() -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit.anchor_file().read_text().splitlines()]


def _recompute(engine: Engine, from_id: int, sign: Any, key_id: str | None) -> None:
    """Rewrite event `from_id` and every event after it with a chain recomputed by
    `sign(message)`."""
    with writing(engine) as conn:
        drop_append_only_guard(conn)
        prev = conn.execute(text("SELECT hash FROM audit_event WHERE id = :i"),
                            {"i": from_id - 1}).scalar_one()
        t = audit.AuditEvent.__table__
        rows = conn.execute(select(t).where(t.c.id >= from_id).order_by(t.c.id)).mappings().all()
        for row in rows:
            fields = dict(row, key_id=key_id)
            if row["id"] == from_id:  # the rewrite the recomputation is meant to hide
                fields["detail"] = '{"n": 99}'
            message = audit._message(prev, audit._fields(fields))
            new = sign(message)
            conn.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h, key_id = :k, "
                              "detail = :d WHERE id = :i"),
                         {"p": prev, "h": new, "k": key_id, "i": row["id"], "d": fields["detail"]})
            prev = new


def test_the_key_file_is_made_on_first_use_beside_the_data_folder_readable_by_its_owner_only(
        engine: Engine) -> None:
    path = audit.key_file()
    assert path == get_settings().files_dir.resolve().parent / "xinyong-audit.key"
    assert not path.exists()
    _append(engine, 2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_id = audit.load_keys().current
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT DISTINCT key_id FROM audit_event")).scalars().all()
        stored = " ".join(str(v) for row in conn.execute(text("SELECT * FROM audit_event"))
                          for v in row)
    assert ids == [key_id]
    assert audit.load_keys().keys[key_id].hex() not in stored  # the key is never in the database


def test_update_and_delete_of_audit_events_are_refused_by_the_database(engine: Engine) -> None:
    _append(engine, 3)
    for statement in ("UPDATE audit_event SET actor = 'x' WHERE id = 2",
                      "DELETE FROM audit_event WHERE id = 3", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), writing(engine) as conn:
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), writing(engine) as conn:
            conn.execute(text("TRUNCATE audit_event"))
    assert _verify(engine).ok and _verify(engine).events == 3


def test_deleting_the_newest_events_is_reported_against_the_anchors(engine: Engine) -> None:
    _append(engine, 120)
    assert _verify(engine).ok
    anchored = max(a["id"] for a in _anchors())
    assert anchored >= 110  # anchored after commits, every ten events
    with writing(engine) as conn:
        drop_append_only_guard(conn)
        conn.execute(text("DELETE FROM audit_event WHERE id > 70"))
    cut = _verify(engine)
    assert (cut.ok, cut.first_bad_id, cut.events) == (False, 71, 70)
    assert "最新的事件被删除" in (cut.reason or "") and f"事件 {anchored}" in (cut.reason or "")


def test_deleting_every_event_is_reported(engine: Engine) -> None:
    _append(engine, 12, per_commit=4)
    with writing(engine) as conn:
        drop_append_only_guard(conn)
        conn.execute(text("DELETE FROM audit_event"))
    empty = _verify(engine)
    assert (empty.ok, empty.events, empty.first_bad_id) == (False, 0, 1)
    assert "审计日志被清空" in (empty.reason or "")


@pytest.mark.parametrize("how", ["plain sha-256", "a key of its own"])
def test_a_chain_recomputed_without_the_key_is_reported_at_the_rewritten_event(
        engine: Engine, how: str) -> None:
    _append(engine, 8)
    if how == "plain sha-256":  # as the chain was before it was keyed
        _recompute(engine, 3, lambda m: hashlib.sha256(m).hexdigest(), None)
    else:
        own = os.urandom(32)
        _recompute(engine, 3, lambda m: hmac.new(own, m, hashlib.sha256).hexdigest(),
                   audit.load_keys().current)
    result = _verify(engine)
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert "重算" in (result.reason or "")


def test_a_chain_recomputed_with_the_key_disagrees_with_the_anchors(engine: Engine) -> None:
    """Even an insider holding the key cannot rewrite history below an anchor unnoticed."""
    _append(engine, 25)
    ring = audit.load_keys()
    assert ring.current is not None
    key_id = ring.current
    _recompute(engine, 5, lambda m: ring.mac(key_id, m), key_id)
    result = _verify(engine)
    first_anchor_above = min(a["id"] for a in _anchors() if a["id"] >= 5)
    assert (result.ok, result.first_bad_id) == (False, first_anchor_above)
    assert "锚点不符" in (result.reason or "")


def test_an_edited_anchor_line_is_reported(engine: Engine) -> None:
    _append(engine, 3)
    path = audit.anchor_file()
    entry = json.loads(path.read_text().splitlines()[0])
    entry["hash"] = "0" * 64
    path.write_text(json.dumps(entry) + "\n")
    result = _verify(engine)
    assert not result.ok and "锚点被篡改" in (result.reason or "")


def test_anchors_are_written_only_for_committed_events(engine: Engine) -> None:
    with pytest.raises(RuntimeError), writing(engine) as conn:
        audit.record(conn, ACTOR, "test.event", "thing", 1)
        raise RuntimeError("the change fails")
    assert not audit.anchor_file().exists()
    _append(engine, 1)
    assert [a["id"] for a in _anchors()] == [_head_id(engine)]
    assert _verify(engine).ok


def _head_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM audit_event")).scalar_one())


def test_rotated_keys_sign_new_events_and_old_events_still_verify(engine: Engine) -> None:
    _append(engine, 3)
    first = audit.load_keys().current
    second = audit.rotate_key()
    _append(engine, 3)
    with engine.connect() as conn:
        used = conn.execute(text("SELECT key_id FROM audit_event ORDER BY id")).scalars().all()
    assert used == [first] * 3 + [second] * 3
    assert _verify(engine).ok


def test_a_missing_key_file_is_refused_and_reported_not_replaced(engine: Engine) -> None:
    _append(engine, 2)
    audit.key_file().rename(audit.key_file().with_suffix(".elsewhere"))
    with pytest.raises(InvalidInput, match="找不到审计日志密钥文件"), writing(engine) as conn:
        audit.record(conn, ACTOR, "test.event", "thing", 9)
    assert not audit.key_file().exists()
    result = _verify(engine)
    assert (result.ok, result.first_bad_id) == (False, 1)
    assert "不在密钥文件" in (result.reason or "")


def test_events_from_before_the_key_are_anchored_by_the_upgrade_and_stay_protected(
        tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade(engine, "0026_hardening_merge")
    prev = audit.GENESIS
    with engine.begin() as conn:  # three events as the unkeyed chain wrote them
        for i in range(3):
            row = {"at": f"2026-01-0{i + 1}T00:00:00", "actor": "a", "role": None,
                   "action": "old.event", "object_type": "thing", "object_id": str(i),
                   "subject_id": None, "source": None, "detail": "{}"}
            digest = audit._legacy_digest(prev, row)
            conn.execute(text("INSERT INTO audit_event (at, actor, role, action, object_type, "
                              "object_id, subject_id, source, detail, prev_hash, hash) VALUES "
                              "(:at, :actor, :role, :action, :object_type, :object_id, "
                              ":subject_id, :source, :detail, :p, :h)"),
                         dict(row, p=prev, h=digest))
            prev = digest
    db.upgrade(engine)
    assert [a["id"] for a in _anchors()] == [3]
    _append(engine, 2)
    assert _verify(engine).ok
    # Rewriting the old events as unkeyed ones again is no longer possible unnoticed.
    _recompute(engine, 2, lambda m: hashlib.sha256(m).hexdigest(), None)
    result = _verify(engine)
    assert (result.ok, result.first_bad_id) == (False, 3)
    engine.dispose()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xinyong", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120)


def test_the_audit_commands_anchor_rotate_and_report_truncation(engine: Engine) -> None:
    _append(engine, 3, per_commit=3)
    _append(engine, 2)  # not yet due for an anchor (every ten)
    first = _cli("audit", "anchor")
    assert first.returncode == 0 and "已锚定到事件 5" in first.stdout, first.stderr
    assert "已是最新" in _cli("audit", "anchor").stdout
    rotated = _cli("audit", "rotate-key")
    assert rotated.returncode == 0 and "已启用新密钥" in rotated.stdout, rotated.stderr
    ok = json.loads(_cli("audit", "verify", "--json").stdout)
    assert ok["ok"] is True and ok["events"] == 6 and ok["anchored_id"] == 5
    assert "权限" not in _cli("audit", "verify").stdout
    audit.key_file().chmod(0o644)
    loose = _cli("audit", "verify")
    assert loose.returncode == 0 and "权限是 0644" in loose.stdout
    with writing(engine) as conn:
        drop_append_only_guard(conn)
        conn.execute(text("DELETE FROM audit_event WHERE id > 2"))
    bad = _cli("audit", "verify", "--json")
    shown = json.loads(bad.stdout)
    assert bad.returncode == 1 and (shown["ok"], shown["first_bad_id"]) == (False, 3)
    human = _cli("audit", "verify")
    assert human.returncode == 1 and "最新的事件被删除" in human.stdout


def test_anchor_lines_are_signed_json(engine: Engine) -> None:
    _append(engine, 1)
    (entry,) = _anchors()
    assert set(entry) == {"id", "hash", "at", "key_id", "mac"}
    body = orjson.dumps({k: v for k, v in entry.items() if k != "mac"}, option=orjson.OPT_SORT_KEYS)
    assert audit.load_keys().mac(entry["key_id"], body) == entry["mac"]


def _documented_grants() -> str:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text("utf-8")
    block = doc.split("<!-- app-role-grants", 1)[1].split("```sql", 1)[1]
    return block.split("```", 1)[0]


@pytest.mark.postgres
def test_the_documented_postgres_grants_let_the_app_insert_and_read_but_not_rewrite(
        postgres_url: str, postgres_template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name, role = f"xinyong_role_{os.urandom(4).hex()}", f"xinyong_app_{os.urandom(4).hex()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    owner_url = make_url(postgres_url).set(database=name)
    owner = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    app = db.make_engine(owner_url.set(username=role).render_as_string(hide_password=False))
    try:
        with owner.connect() as conn:
            conn.exec_driver_sql(_documented_grants().replace("xinyong_app", f'"{role}"'))
        monkeypatch.setenv("XINYONG_DATABASE_URL", app.url.render_as_string(hide_password=False))
        get_settings.cache_clear()
        _append(app, 3)
        with writing(app) as conn:  # what `evaluate` needs to settle its watermarks
            conn.execute(text("LOCK TABLE audit_event IN SHARE MODE"))
        for statement, refusal in [("DELETE FROM audit_event", "permission denied"),
                                   ("TRUNCATE audit_event", "permission denied"),
                                   ("UPDATE audit_event SET actor = 'x'", "append-only"),
                                   ("DROP TRIGGER audit_event_no_change ON audit_event", "owner"),
                                   ("ALTER TABLE audit_event DISABLE TRIGGER ALL", "owner")]:
            with pytest.raises(DBAPIError, match=refusal), writing(app) as conn:
                conn.execute(text(statement))
        assert _verify(app).ok and _verify(app).events == 3
    finally:
        app.dispose()
        owner.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
