"""`xinyong objection list|show` in a subprocess against a real store (both engines)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine

from xinyong.objections import service

from ..test_cli import xinyong
from .test_service import ENTERPRISE, REASON, _actor, _record


def test_list_overdue_and_show_as_json(engine: Engine, tmp_path: Path) -> None:
    late = service.file_objection(engine, _actor(ENTERPRISE), ENTERPRISE, _record(engine, tmp_path),
                                  REASON, today=date.today() - timedelta(days=30))["case_no"]
    listed = xinyong("objection", "list", "--json", check=True)
    assert [c["case_no"] for c in orjson.loads(listed.stdout)] == [late]
    overdue = orjson.loads(xinyong("objection", "list", "--overdue", "--json", check=True).stdout)
    assert [(c["case_no"], c["overdue"]) for c in overdue] == [(late, True)]
    shown = orjson.loads(xinyong("objection", "show", late, "--json", check=True).stdout)
    assert shown["status"] == "open" and shown["overdue"] and shown["reason"] == REASON
    assert "异议处理中" in xinyong("objection", "show", late, check=True).stdout
    missing = xinyong("objection", "show", "YY20260101AAAAAAAA")
    assert missing.returncode == 2 and "没有编号为" in missing.stderr
