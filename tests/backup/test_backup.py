"""Backup and restore as an operator runs them: real processes, a writer busy meanwhile, a
store held open by another process, a tampered backup, and PostgreSQL's pg_dump/pg_restore."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from xinyong.core.settings import get_settings

from ..factories import numbered_uscc, penalty, write_csv
from ..pg_server import find_bindir

DEPARTMENT = "厦门市思明区市场监督管理局"

WRITER = """
import sys
from pathlib import Path
from xinyong.core import audit, db
engine = db.make_engine()
stop = Path(sys.argv[1])
n = 0
while True:
    with db.writing(engine) as conn:
        audit.record(conn, audit.SYSTEM, "test.write", "thing", n)
    n += 1
    if n == 20:
        print("started", flush=True)
    if n > 20 and stop.exists():
        break
print(n, flush=True)
"""

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM audit_event").fetchall()
print("open", flush=True)
sys.stdin.read()
"""


def xinyong(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xinyong", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=300)


def _store() -> Path:
    database = make_url(get_settings().database_url).database
    assert database
    return Path(database)


def _counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("subject", "record", "batch", "audit_event", "department")}


def _load(tmp_path: Path) -> None:
    rows = [penalty(**{"行政处罚决定书文号": f"B{i}", "行政相对人名称": f"厦门备份{i}有限公司",
                       "统一社会信用代码": numbered_uscc(i)}) for i in range(3)]
    r = xinyong("ingest", str(write_csv(tmp_path / "p.csv", rows)), "--department", DEPARTMENT,
                "--received", "2025-02-10")
    assert r.returncode == 0, r.stderr


@contextmanager
def _process(script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def test_a_backup_taken_while_a_writer_writes_restores_with_its_chain_and_counts(
        tmp_path: Path) -> None:
    _load(tmp_path)
    stop, copy = tmp_path / "stop", tmp_path / "backups" / "b.db"
    with _process(WRITER, str(stop)) as writer:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "started"
        made = xinyong("backup", str(copy), "--json")  # the writer keeps committing meanwhile
        stop.touch()
        written = int(writer.stdout.readline())
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    backed = _counts(copy)
    assert shown["audit"]["ok"] is True
    assert {k: shown["counts"][k] for k in backed} == backed
    assert backed["record"] == 3 and backed["audit_event"] == shown["audit"]["events"]
    live = _counts(_store())
    assert live["audit_event"] > backed["audit_event"]  # the writer went on after the copy
    assert written >= 20 and live["audit_event"] >= written
    assert xinyong("audit", "verify").returncode == 0

    restored = xinyong("restore", str(copy), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["counts"]["record"] == 3
    after = _counts(_store())
    assert after == dict(backed, audit_event=backed["audit_event"] + 1)
    verified = xinyong("audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["events"] == after["audit_event"]
    last = json.loads(xinyong("audit", "list", "--limit", "1", "--json").stdout)[0]
    assert last["action"] == "store.restored" and last["detail"]["head_id"] == backed["audit_event"]
    human = xinyong("restore", str(copy))
    assert human.returncode == 0 and "审计日志完整" in human.stdout and "信用记录" in human.stdout


def test_restore_refuses_a_store_another_process_has_open_unless_forced(tmp_path: Path) -> None:
    _load(tmp_path)
    copy = tmp_path / "b.db"
    assert xinyong("backup", str(copy)).returncode == 0
    before = _counts(_store())
    with _process(HOLDER, str(_store())) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        refused = xinyong("restore", str(copy))
        assert refused.returncode == 2 and "正被使用" in refused.stderr
        assert _counts(_store()) == before
        forced = xinyong("restore", str(copy), "--force")
        assert forced.returncode == 0, forced.stderr
    assert _counts(_store())["audit_event"] == before["audit_event"] + 1
    assert xinyong("audit", "verify").returncode == 0


def test_a_tampered_backup_is_detected_and_not_restored(tmp_path: Path) -> None:
    _load(tmp_path)
    copy = tmp_path / "b.db"
    assert xinyong("backup", str(copy)).returncode == 0
    with closing(sqlite3.connect(copy)) as conn:  # an attacker with the file and DDL
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET detail = '{}' WHERE id = 2")
        conn.commit()
    before = _counts(_store())
    refused = xinyong("restore", str(copy))
    assert refused.returncode == 1
    assert "事件 2 处断裂" in refused.stderr and "数据库未改动" in refused.stderr
    assert _counts(_store()) == before
    assert xinyong("audit", "verify").returncode == 0


def test_backup_and_restore_refuse_clearly(tmp_path: Path) -> None:
    _load(tmp_path)
    copy = tmp_path / "b.db"
    assert xinyong("backup", str(copy)).returncode == 0
    again = xinyong("backup", str(copy))
    assert again.returncode == 2 and "已存在" in again.stderr
    assert xinyong("backup", str(copy), "--force").returncode == 0
    (tmp_path / "not.db").write_text("名称,代码\n")
    wrong = xinyong("restore", str(tmp_path / "not.db"))
    assert wrong.returncode == 2 and "不是 xinyong 的备份文件" in wrong.stderr
    missing = xinyong("restore", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "不存在" in missing.stderr
    assert "Traceback" not in wrong.stderr + missing.stderr + again.stderr


@pytest.mark.postgres
def test_postgres_pg_dump_then_pg_restore_into_a_new_database_verifies_with_equal_counts(
        tmp_path: Path, postgres_url: str, postgres_template: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented procedure (docs/backup.md), step by step."""
    bindir = find_bindir()
    assert bindir is not None
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    source, target = (f"xinyong_bk_{uuid.uuid4().hex[:8]}" for _ in range(2))
    base = make_url(postgres_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{source}" TEMPLATE "{postgres_template}"'))
            conn.execute(text(f'CREATE DATABASE "{target}"'))
        urls = {n: base.set(database=n).render_as_string(hide_password=False)
                for n in (source, target)}
        monkeypatch.setenv("XINYONG_DATABASE_URL", urls[source])
        _load(tmp_path)
        conn_args = ["-h", str(base.query["host"]), "-p", str(base.query["port"]), "-U", "postgres"]
        dump = tmp_path / "xinyong.dump"
        subprocess.run([str(bindir / "pg_dump"), *conn_args, "-Fc", "-f", str(dump), source],
                       check=True, capture_output=True)
        subprocess.run([str(bindir / "pg_restore"), *conn_args, "--no-owner", "-d", target,
                        str(dump)], check=True, capture_output=True)

        def counts(url: str) -> dict[str, int]:
            eng = create_engine(url)
            with eng.connect() as c:
                found = {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                         for t in ("subject", "record", "batch", "audit_event", "department")}
            eng.dispose()
            return found

        original = counts(urls[source])
        monkeypatch.setenv("XINYONG_DATABASE_URL", urls[target])
        checked = xinyong("restore", "--json")
        assert checked.returncode == 0, checked.stderr
        shown = json.loads(checked.stdout)
        assert shown["audit"]["ok"] is True
        assert {k: shown["counts"][k] for k in original} == original
        assert counts(urls[target]) == dict(original, audit_event=original["audit_event"] + 1)
        assert xinyong("audit", "verify").returncode == 0
        eng = create_engine(urls[target])  # the restored table is append-only still
        with pytest.raises(Exception, match="append-only"), eng.begin() as c:
            c.execute(text("DELETE FROM audit_event"))
        eng.dispose()
        refused = xinyong("backup", str(tmp_path / "b.db"))
        assert refused.returncode == 2 and "pg_dump" in refused.stderr
    finally:
        with admin.connect() as conn:
            for name in (source, target):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
