"""The 重错码 work queue: detection rules and the rate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from xinyong.core.db import writing
from xinyong.ingest import service as ingest
from xinyong.subjects import service

from ..factories import PENALTY_BODY, numbered_uscc, penalty, write_csv


def load(engine: Engine, tmp_path: Path, rows: list[dict[str, str]]) -> None:
    ingest.ingest_file(engine, write_csv(tmp_path / "p.csv", rows), PENALTY_BODY,
                       received=date(2025, 6, 30))


def row(n: int, name: str, code: str, day: str) -> dict[str, str]:
    return penalty(**{"行政处罚决定书文号": f"罚{n}", "行政相对人名称": name,
                      "行政相对人代码_1(统一社会信用代码)": code, "处罚决定日期": day,
                      "处罚有效期": "2025-12-31"})


def issues(engine: Engine) -> dict:  # type: ignore[type-arg]
    with writing(engine) as conn:
        return service.uscc_issues(conn)


def test_a_clean_rename_is_not_an_issue(engine: Engine, tmp_path: Path) -> None:
    code = numbered_uscc(1)
    load(engine, tmp_path, [row(1, "厦门旧名有限公司", code, "2024-03-01"),
                            row(2, "厦门新名有限公司", code, "2025-03-03")])
    result = issues(engine)
    assert result["issues"] == []
    assert result["rate"] == 0.0


def test_one_code_for_names_used_interleaved_is_an_issue(engine: Engine, tmp_path: Path) -> None:
    code = numbered_uscc(1)
    load(engine, tmp_path, [row(1, "厦门甲有限公司", code, "2024-03-01"),
                            row(2, "厦门乙有限公司", code, "2024-06-03"),
                            row(3, "厦门甲有限公司", code, "2025-03-03")])
    result = issues(engine)
    assert [(i["kind"], i["key"]) for i in result["issues"]] == [("code_multiple_names", code)]


def test_one_name_under_two_codes_is_an_issue(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [row(1, "厦门同名有限公司", numbered_uscc(1), "2024-03-01"),
                            row(2, "厦门同名有限公司", numbered_uscc(2), "2024-06-03"),
                            row(3, "厦门别家有限公司", numbered_uscc(3), "2024-06-03")])
    result = issues(engine)
    assert [(i["kind"], i["key"]) for i in result["issues"]] == [
        ("name_multiple_codes", "厦门同名有限公司")]
    assert result["codes"] == 3
    assert result["codes_with_issues"] == 2
    assert abs(result["rate"] - 2 / 3) < 1e-9


def test_invalid_codes_from_returned_rows_are_queued_once(engine: Engine,
                                                          tmp_path: Path) -> None:
    bad = numbered_uscc(1)[:-1] + ("0" if not numbered_uscc(1).endswith("0") else "1")
    load(engine, tmp_path, [row(1, "厦门错码有限公司", bad, "2024-03-01"),
                            row(2, "厦门错码有限公司", bad, "2024-03-04"),
                            row(3, "厦门好码有限公司", numbered_uscc(2), "2024-03-04")])
    first = issues(engine)
    again = issues(engine)
    assert [(i["kind"], i["key"]) for i in first["issues"]] == [("invalid_code", bad)]
    assert len(again["issues"]) == 1
    assert first["codes"] == 2 and first["codes_with_issues"] == 1
