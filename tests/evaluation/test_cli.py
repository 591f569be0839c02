"""`xinyong evaluate …` and `xinyong subject show --json` in a subprocess: the exact JSON of the
issue, the report, and a clear message with a non-zero exit for bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from xinyong.core.audit import AuditEvent

from ..factories import numbered_uscc, penalty, resident_id, write_csv
from ..test_cli import xinyong


def test_evaluate_json_report_and_subject_show(tmp_path: Path) -> None:
    rows = [penalty(), penalty(**{"行政相对人名称": "张三", "行政相对人类别": "自然人",
                                  "行政相对人代码_1(统一社会信用代码)": "", "证件类型": "身份证",
                                  "证件号码": resident_id(seq="777"),
                                  "行政处罚决定书文号": "厦思市监罚〔2025〕2号"})]
    xinyong("ingest", str(write_csv(tmp_path / "p.csv", rows)), "-d", "厦门市思明区市场监督管理局",
            "--backfill", check=True)
    found = json.loads(xinyong("evaluate", "--as-of", "2025-06-01", "--json", check=True).stdout)
    # one penalty on 2025-01-24 within 12 months (-40) → 960 → B
    assert found == {"scorecard": "public", "version": "2026.2", "evaluated": 1,
                     "skipped_natural_persons": 1, "grades": {"A": 0, "B": 1, "C": 0, "D": 0}}
    report = json.loads(xinyong("evaluate", "report", "--by", "industry", "--json", check=True).stdout)
    assert report["total"] == 1 and report["groups"][0]["key"] == "F"
    shown = json.loads(xinyong("subject", "show", numbered_uscc(1), "--json", check=True).stdout)
    assert shown["evaluation"] == {"score": 960, "grade": "B",
                                   "reasons": ["近12个月受到1次行政处罚（-40分）"]}
    with create_engine(os.environ["XINYONG_DATABASE_URL"]).connect() as conn:  # the read is audited
        reads = conn.execute(select(AuditEvent.actor, AuditEvent.object_id)
                             .where(AuditEvent.action == "evaluation.read")).all()
    assert [(a.startswith("cli:"), o) for a, o in reads] == [(True, numbered_uscc(1))]
    assert "B" in xinyong("evaluate", "report", check=True).stdout
    assert "penalties_12m" in xinyong("evaluate", "scorecards", check=True).stdout


@pytest.mark.parametrize(("args", "message"), [
    (("evaluate", "--scorecard", "nope"), "没有评分卡“nope”"),
    (("evaluate", "--as-of", "2025-13-01"), "日期“2025-13-01”格式应为 YYYY-MM-DD"),
    (("evaluate", "--as-of", "0001-01-01"), "评价日 0001-01-01 不在 1950—2100 年之间"),
    (("evaluate", "--as-of", "2099-01-01"), "评价日 2099-01-01 晚于今天"),
    (("evaluate", "report", "--by", "colour"), "分组只能是 industry（行业）或 district（地区）"),
])
def test_bad_input_exits_non_zero_with_a_clear_message(args: tuple[str, ...], message: str) -> None:
    result = xinyong(*args, "--json")
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
