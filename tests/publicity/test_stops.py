"""Leaving publicity early: a stop (revocation, suspension, repair) takes a record out of
publicity from its day on; lifting a suspension brings it back; both are audited."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from xinyong.core.audit import SYSTEM
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.ingest.service import ingest_file
from xinyong.publicity.service import in_publicity, resume_publicity, stop_publicity, stops
from xinyong.subjects.models import Record

from ..factories import PENALTY_BODY, penalty, write_csv


def _visible(engine: Engine, day: date) -> list[int]:
    t = Record.__table__
    with engine.connect() as conn:
        return list(conn.execute(select(t.c.id).where(in_publicity(t, day))).scalars())


def test_stop_and_resume_change_publicity_on_their_days(engine: Engine, tmp_path: Path) -> None:
    decided = date.today() - timedelta(days=30)
    row = penalty(**{"处罚类别": "罚款", "罚款金额（万元）": "20", "处罚决定日期": decided.isoformat(),
                     "处罚有效期": (decided + timedelta(days=400)).isoformat()})
    ingest_file(engine, write_csv(tmp_path / "p.csv", [row]), PENALTY_BODY)
    with engine.connect() as conn:
        record = conn.execute(text("SELECT id FROM record")).scalar_one()
    today = date.today()
    assert _visible(engine, today) == [record]
    with writing(engine) as conn:
        stop = stop_publicity(conn, SYSTEM, record, "suspended", today, "objection", "YY1")
    assert _visible(engine, today) == [] and _visible(engine, today - timedelta(days=1)) == [record]
    with writing(engine) as conn:
        resume_publicity(conn, SYSTEM, stop, today + timedelta(days=3))
    assert _visible(engine, today + timedelta(days=2)) == []
    assert _visible(engine, today + timedelta(days=3)) == [record]
    with writing(engine) as conn:
        with pytest.raises(InvalidInput, match="已于"):
            resume_publicity(conn, SYSTEM, stop, today)
        with pytest.raises(InvalidInput, match="未知的停止公示原因"):
            stop_publicity(conn, SYSTEM, record, "bored", today, "objection", "YY1")
        with pytest.raises(NotFound):
            stop_publicity(conn, SYSTEM, 999_999, "repaired", today, "repair", "XF1")
        stop_publicity(conn, SYSTEM, record, "repaired", today + timedelta(days=10), "repair", "XF1")
    assert _visible(engine, today + timedelta(days=9)) == [record]
    assert _visible(engine, today + timedelta(days=10)) == []
    with engine.connect() as conn:
        history = stops(conn, [record])[record]
        actions = conn.execute(text("SELECT action FROM audit_event WHERE action LIKE 'publicity.%' "
                                    "ORDER BY id")).scalars().all()
    assert [h["reason"] for h in history] == ["suspended", "repaired"]
    assert history[0]["until"] == (today + timedelta(days=3)).isoformat()
    assert history[1]["label"].startswith("信用修复")
    assert actions == ["publicity.stopped", "publicity.resumed", "publicity.stopped"]
