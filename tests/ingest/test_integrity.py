"""The two integrity holes of issue 21, on both engines: a department submitting another
department's decisions as its own, and a re-uploaded old file reverting later corrections."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from xinyong.core import audit
from xinyong.core.db import writing
from xinyong.departments import service as departments
from xinyong.departments.service import UnknownDepartment
from xinyong.ingest import service

from ..factories import AUTHORITY_USCC, licence, numbered_uscc, penalty, write_csv

TRANSPORT = "厦门市交通运输局"
OCEAN = "厦门市海洋发展局"
RECEIVED = date(2025, 3, 10)


def ocean_penalty(n: int) -> dict[str, str]:
    return penalty(**{"行政处罚决定书文号": f"厦海罚〔2025〕{n}号", "处罚机关": OCEAN,
                      "数据来源单位": OCEAN,
                      "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n)})


def ingest(engine: Engine, path: Path, department: str, **kw: object) -> service.Receipt:
    kw.setdefault("received", RECEIVED)
    return service.ingest_file(engine, path, department, **kw)  # type: ignore[arg-type]


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def returned(receipt: service.Receipt) -> list[str]:
    assert receipt.error_report
    with open(receipt.error_report, encoding="utf-8-sig", newline="") as f:
        return [row["错误原因"] for row in csv.DictReader(f)]


# --- 1. another department's records ---------------------------------------------------------

def test_a_department_cannot_submit_another_departments_decisions(engine: Engine,
                                                                  tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ocean.csv", [ocean_penalty(n) for n in range(1, 4)])
    mine = ingest(engine, path, OCEAN)
    assert (mine.new, mine.rejected) == (3, 0)
    theirs = ingest(engine, path, TRANSPORT)
    assert (theirs.rows, theirs.accepted, theirs.rejected) == (3, 0, 3)
    assert theirs.rejection_reasons == {"other_department:处罚机关": 3,
                                        "other_department:数据来源单位": 3}
    reasons = returned(theirs)
    assert len(reasons) == 3 and all(OCEAN in r and TRANSPORT in r for r in reasons)
    # the decisions exist once, under the department that made them; nothing is lost
    assert count(engine, "SELECT COUNT(*) FROM record") == 3
    assert count(engine, f"SELECT COUNT(*) FROM record WHERE department = '{TRANSPORT}'") == 0
    assert count(engine, f"SELECT COUNT(*) FROM rejection WHERE batch_id = {theirs.batch}") == 3


def test_the_source_unit_alone_naming_another_department_is_returned(engine: Engine,
                                                                     tmp_path: Path) -> None:
    row = penalty(**{"处罚机关": TRANSPORT, "数据来源单位": OCEAN})
    r = ingest(engine, write_csv(tmp_path / "p.csv", [row]), TRANSPORT)
    assert (r.accepted, r.rejection_reasons) == (0, {"other_department:数据来源单位": 1})


def test_bodies_a_department_reports_for_aliases_and_approval_bureaus(engine: Engine,
                                                                      tmp_path: Path) -> None:
    squad = "厦门市交通运输综合执法支队"
    approval = "厦门市行政审批管理局"
    with writing(engine) as conn:
        departments.register(conn, audit.SYSTEM, TRANSPORT, aliases=["市交通局"],
                             reports_for=[squad])
        departments.register(conn, audit.SYSTEM, approval, any_authority_for=["licence"])
    rows = [penalty(**{"行政处罚决定书文号": "交罚1", "处罚机关": squad, "数据来源单位": TRANSPORT}),
            penalty(**{"行政处罚决定书文号": "交罚2", "处罚机关": "市交通局",
                       "数据来源单位": "厦门市 交通运输局"}),
            penalty(**{"行政处罚决定书文号": "交罚3", "处罚机关": OCEAN, "数据来源单位": TRANSPORT})]
    r = ingest(engine, write_csv(tmp_path / "p.csv", rows), "市交通局")
    assert r.department == TRANSPORT  # an alias stands for the registered name
    assert (r.new, r.rejected) == (2, 1)
    assert r.rejection_reasons == {"other_department:处罚机关": 1}
    # a 审批局 reports licences other departments decided, as their source unit
    lic = [licence(**{"许可机关": OCEAN, "数据来源单位": approval}),
           licence(**{"行政许可决定文书号": "许2", "许可机关": OCEAN, "数据来源单位": OCEAN})]
    r = ingest(engine, write_csv(tmp_path / "l.csv", lic), approval)
    assert (r.new, r.rejection_reasons) == (1, {"other_department:数据来源单位": 1})
    # …but not penalties
    r = ingest(engine, write_csv(tmp_path / "o.csv", [ocean_penalty(1) | {"数据来源单位": approval}]),
               approval)
    assert r.rejection_reasons == {"other_department:处罚机关": 1}


def test_the_code_of_another_registered_department_is_returned(engine: Engine,
                                                               tmp_path: Path) -> None:
    with writing(engine) as conn:
        departments.register(conn, audit.SYSTEM, OCEAN, uscc=AUTHORITY_USCC)
        departments.register(conn, audit.SYSTEM, TRANSPORT)
    row = penalty(**{"处罚机关": TRANSPORT, "数据来源单位": TRANSPORT})  # codes: the ocean's
    r = ingest(engine, write_csv(tmp_path / "p.csv", [row]), TRANSPORT)
    assert r.accepted == 0
    assert r.rejection_reasons == {"other_department:处罚机关统一社会信用代码": 1,
                                   "other_department:数据来源单位统一社会信用代码": 1}
    assert ingest(engine, write_csv(tmp_path / "o.csv", [ocean_penalty(1) | {
        "行政处罚决定书文号": "海1"}]), OCEAN).new == 1


def test_only_registered_departments_when_asked(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ocean.csv", [ocean_penalty(1)])
    with pytest.raises(UnknownDepartment) as caught:
        ingest(engine, path, "厦门市海洋发展居", registered_only=True)  # a typo
    assert caught.value.code == "unknown_department"
    assert count(engine, "SELECT COUNT(*) FROM batch") == 0
    with writing(engine) as conn:
        departments.register(conn, audit.SYSTEM, OCEAN)
    assert ingest(engine, path, OCEAN, registered_only=True).new == 1


# --- 2. stale re-uploads -----------------------------------------------------------------------

def test_reuploading_an_old_file_after_corrections_changes_nothing(engine: Engine,
                                                                   tmp_path: Path) -> None:
    dept = "厦门市湖里区市场监督管理局"
    rows = [licence(**{"行政许可决定文书号": f"许〔2025〕{n}号", "有效期至": "2028-08-04",
                       "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n, "91350206")})
            for n in range(1, 6)]
    old = write_csv(tmp_path / "old.csv", rows)
    assert ingest(engine, old, dept).new == 5
    fixed = [dict(r, **{"有效期至": "2029-08-04"}) if i < 4 else r for i, r in enumerate(rows)]
    corrected = ingest(engine, write_csv(tmp_path / "fixed.csv", fixed), dept,
                       received=date(2025, 3, 20))
    assert (corrected.corrected, corrected.unchanged) == (4, 1)

    again = ingest(engine, old, dept, received=date(2025, 4, 1))
    assert (again.stale, again.corrected, again.unchanged, again.new) == (4, 0, 1, 0)
    assert again.rejected == 0 and again.rejection_reasons == {"stale": 4}
    assert again.compliance_rate == 1.0  # stale rows are valid rows, only old
    reasons = returned(again)
    assert len(reasons) == 4 and all("第1版" in r and "第2版" in r for r in reasons)
    with engine.connect() as conn:
        current = conn.execute(text(
            "SELECT payload FROM record WHERE status = 'current' ORDER BY doc_no")).scalars().all()
        batch = conn.execute(text(f"SELECT stale FROM batch WHERE id = {again.batch}")).scalar_one()
        detail = conn.execute(text("SELECT detail FROM audit_event WHERE action = 'ingest.batch' "
                                   "ORDER BY id DESC LIMIT 1")).scalar_one()
    assert sum("2029-08-04" in p for p in current) == 4 and len(current) == 5
    assert batch == 4 and '"stale": 4' in detail.replace('"stale":4', '"stale": 4')
    assert count(engine, "SELECT COUNT(*) FROM record") == 9

    # marked as a correction of the current versions, the old values are restored on purpose
    restored = ingest(engine, old, dept, received=date(2025, 4, 2), correction=True)
    assert (restored.corrected, restored.stale, restored.unchanged) == (4, 0, 1)
    assert count(engine, "SELECT COUNT(*) FROM record WHERE status = 'current' "
                         "AND payload LIKE '%2028-08-04%'") == 5


def test_resubmitting_the_error_report_does_not_turn_duplicates_into_corrections(
        engine: Engine, tmp_path: Path) -> None:
    dept = "厦门市思明区市场监督管理局"
    first = penalty(**{"行政处罚决定书文号": "罚〔2025〕7号"})
    duplicate = penalty(**{"行政处罚决定书文号": "罚〔2025〕7号", "罚款金额（万元）": "9"})
    broken = penalty(**{"行政处罚决定书文号": "罚〔2025〕8号", "处罚依据": ""})
    r = ingest(engine, write_csv(tmp_path / "p.csv", [first, duplicate, broken]), dept)
    assert (r.new, r.rejected) == (1, 2)
    assert r.error_report
    again = ingest(engine, Path(r.error_report), dept, received=date(2025, 3, 12))
    assert (again.corrected, again.stale, again.rejected, again.new) == (0, 1, 1, 0)
    assert any("已因文书号重复被退回" in reason for reason in returned(again))
    with engine.connect() as conn:
        fine = conn.execute(text("SELECT payload FROM record WHERE status = 'current'")).scalar_one()
    assert '"fine_amount":"0.2"' in fine.replace(" ", "")


def test_versions_stored_without_a_hash_are_compared_by_their_payload(
        engine: Engine, tmp_path: Path) -> None:
    """Records stored before payload hashes existed (migrated stores) are still recognised."""
    dept = "厦门市思明区市场监督管理局"
    old = write_csv(tmp_path / "a.csv", [penalty()])
    ingest(engine, old, dept)
    ingest(engine, write_csv(tmp_path / "b.csv", [penalty(**{"罚款金额（万元）": "0.3"})]), dept)
    with writing(engine) as conn:
        conn.execute(text("UPDATE record SET payload_hash = NULL"))
    again = ingest(engine, old, dept)
    assert (again.stale, again.corrected) == (1, 0)
