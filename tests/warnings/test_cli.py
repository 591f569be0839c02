"""`xinyong warnings …` in a subprocess: scan, list and close as JSON, and a clear message with a
non-zero exit for a close without a known action and for a malformed date; reading a list or a
warning is audited."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from xinyong.core.audit import AuditEvent
from xinyong.core.db import ensure_schema, make_engine

from ..factories import numbered_uscc
from ..test_cli import xinyong
from .test_service import FIRE, MARKET, TAX, penalties


def test_scan_list_close_as_json(tmp_path: Path) -> None:
    engine = make_engine()
    ensure_schema(engine)
    for department in (MARKET, TAX, FIRE):
        penalties(engine, tmp_path, 3, 1, department=department)
    engine.dispose()
    scanned = json.loads(xinyong("warnings", "scan", "--as-of", "2026-03-01", "--json", check=True).stdout)
    assert scanned["as_of"] == "2026-03-01" and scanned["raised"] == 1
    assert {r["code"] for r in scanned["rules"]} >= {"penalties_many", "penalties_departments"}
    [w] = json.loads(xinyong("warnings", "list", "--status", "open", "--json", check=True).stdout)
    assert w["subject"]["uscc"] == numbered_uscc(3) and w["id"] == scanned["warnings"][0]
    refused = xinyong("warnings", "close", str(w["id"]), "--action", "罚款", "--note", "x")
    assert refused.returncode != 0 and "未知的处置方式“罚款”" in refused.stderr
    assert "Traceback" not in refused.stderr
    closed = json.loads(xinyong("warnings", "close", str(w["id"]), "--action", "约谈", "--note",
                                "已约谈", "--department", TAX, "--json", check=True).stdout)
    assert closed["status"] == "closed" and closed["closed"]["action"] == "interview"
    bad = xinyong("warnings", "scan", "--as-of", "2026-13-01")
    assert bad.returncode != 0 and "无法识别" in bad.stderr
    shown = json.loads(xinyong("warnings", "show", str(w["id"]), "--json", check=True).stdout)
    assert shown["facts"]["penalties"] == 3
    engine = make_engine()
    with engine.connect() as conn:
        reads = list(conn.execute(select(AuditEvent.action, AuditEvent.source, AuditEvent.object_id)
                                  .where(AuditEvent.action.in_(["warning.list_read", "warning.read"]))
                                  .order_by(AuditEvent.id)))
    engine.dispose()
    assert [tuple(r) for r in reads] == [("warning.list_read", "cli", None),
                                         ("warning.read", "cli", str(w["id"]))]
