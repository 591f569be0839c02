"""Checks on both engines: measures with their basis and trigger from list entries and penalty
records, the check log, names, batches; a list entry ending at term stops applying the next day
with no job; and two server processes (two engines, two indexes, one store) see each other's
changes — an entry removed or a repair approved in one — at the very next check."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from xinyong.check import service
from xinyong.check.models import CheckLog
from xinyong.core import audit
from xinyong.core.db import make_engine, writing
from xinyong.core.errors import InvalidInput
from xinyong.ingest import service as ingest
from xinyong.lists import service as lists
from xinyong.repair import service as repair
from xinyong.subjects.models import Record

from ..factories import AUTHORITY_USCC, numbered_uscc, penalty, write_csv
from ..repair.test_service import applicant

DEPT = "厦门市思明区市场监督管理局"
TODAY = date.today()
STAFF = audit.Actor("staff1", "staff", "test")
CALLER = service.Caller("token:xy_test", "system", "厦门市财政局", "xy_test")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def serious_penalty(engine: Engine, tmp_path: Path, n: int, days_ago: int = 400) -> int:
    """A 严重 penalty (a fine of 200万元) to subject n, decided `days_ago` days ago."""
    decided = TODAY - timedelta(days=days_ago)
    row = penalty(**{"行政相对人名称": f"厦门市思明区第{n}测试贸易有限公司",
                     "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n),
                     "行政处罚决定书文号": f"厦思市监罚〔2025〕{n}号", "处罚类别": "罚款",
                     "处罚内容": "罚款200万元", "罚款金额（万元）": "200",
                     "处罚决定日期": decided.isoformat(),
                     "处罚有效期": (decided + timedelta(days=800)).isoformat()})
    ingest.submit(engine, write_csv(tmp_path / f"p{n}.csv", [row]), DEPT, kind="penalty",
                       backfill=True)
    with engine.connect() as conn:
        return int(conn.execute(select(Record.id).where(Record.doc_no == row["行政处罚决定书文号"]))
                   .scalar_one())


def listed(engine: Engine, n: int, kind: str = "court_judgment_defaulter",
           record_id: int | None = None) -> int:
    """Subject n put on a list by the workflow today (a kind decided without prior notice)."""
    with writing(engine) as conn:
        pid = lists.propose(conn, STAFF, lists.usable_kind(kind), numbered_uscc(n), "事实", "依据",
                            TODAY, record_id=record_id)
        return lists.decide(conn, STAFF, pid, TODAY, f"(2026)闽0203执{n}号")


def list_row(n: int, listed_on: date, ends_on: date) -> dict[str, str]:
    return {"主体名称": f"厦门市思明区第{n}测试贸易有限公司", "主体类别": "法人及非法人组织",
            "统一社会信用代码": numbered_uscc(n), "名单种类": "拖欠农民工工资失信联合惩戒对象名单",
            "认定单位": "厦门市人力资源和社会保障局", "认定单位统一社会信用代码": AUTHORITY_USCC,
            "认定文书号": f"厦人社欠薪〔2026〕{n}号", "列入依据": "《保障农民工工资支付条例》第四十八条",
            "列入日期": listed_on.isoformat(), "移出日期": ends_on.isoformat()}


def codes(answer: dict[str, object]) -> list[str]:
    return [m["code"] for m in answer["measures"]]  # type: ignore[attr-defined]


def test_check_by_uscc_returns_measures_with_basis_trigger_and_end(engine: Engine, tmp_path: Path) -> None:
    serious_penalty(engine, tmp_path, 1, days_ago=10)
    entry = listed(engine, 1)
    answer = service.check(engine, CALLER, "日常监管", uscc=numbered_uscc(1).lower())
    subject = answer["subject"]
    assert subject["uscc"] == numbered_uscc(1) and subject["name"] == "厦门市思明区第1测试贸易有限公司"
    assert subject["status"] == "dishonest" and subject["status_name"] == "失信惩戒对象（在失信名单上）"
    assert [e["kind"] for e in answer["lists"]] == ["court_judgment_defaulter"]
    (m,) = answer["measures"]
    assert m["code"] == "closer_supervision" and m["kind"] == "penalty" and "国办发〔2019〕35号" in m["basis"]
    assert m["triggered_by"]["type"] == "list_entry" and m["triggered_by"]["id"] == entry
    assert m["until"] == answer["lists"][0]["ends_on"]
    procurement = service.check(engine, CALLER, "government_procurement", uscc=numbered_uscc(1))
    assert codes(procurement) == ["procurement_ban"]
    assert procurement["measures"][0]["triggered_by"]["type"] == "record"
    assert all(m["basis"] for a in (answer, procurement) for m in a["measures"])
    service.flush_log(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(CheckLog.__table__).order_by(CheckLog.id)).all()
    assert [r.check_id for r in rows] == [answer["check_id"], procurement["check_id"]]
    assert rows[0].department == "厦门市财政局" and rows[0].system == "xy_test"
    assert rows[0].matter == "supervision" and rows[0].query == numbered_uscc(1)
    assert orjson.loads(rows[0].result) == {"lists": ["court_judgment_defaulter"],
                                            "measures": ["closer_supervision"], "records_marked": [],
                                            "candidates": 0}
    assert rows[0].check_id.startswith("HC") and len(rows[0].check_id) == 26


def test_unknown_malformed_empty_and_unknown_matter(engine: Engine) -> None:
    unknown = service.check(engine, CALLER, "bidding", uscc=numbered_uscc(99))
    assert unknown["subject"] is None and unknown["measures"] == [] and unknown["check_id"]
    for matter, uscc, name, code in (("bidding", "91350203MA2Y0000X1", None, "invalid_uscc"),
                                     ("bidding", None, "  ", "empty_name"),
                                     ("买房", numbered_uscc(1), None, "unknown_matter")):
        with pytest.raises(InvalidInput) as caught:
            service.check(engine, CALLER, matter, uscc=uscc, name=name)
        assert caught.value.code == code


def test_list_entry_ending_at_term_stops_its_measures_the_next_day_without_a_job(
        engine: Engine, tmp_path: Path) -> None:
    ends = TODAY + timedelta(days=1)
    ingest.ingest_file(engine, write_csv(tmp_path / "l.csv", [list_row(2, TODAY - timedelta(days=30), ends)]),
                       "厦门市人力资源和社会保障局", kind="list_entry")
    today = service.check(engine, CALLER, "bidding", uscc=numbered_uscc(2), day=TODAY)
    assert codes(today) == ["bidding_ban"] and today["measures"][0]["until"] == ends.isoformat()
    assert today["measures"][0]["triggered_by"]["source"] == "data"
    tomorrow = service.check(engine, CALLER, "bidding", uscc=numbered_uscc(2), day=ends)
    assert tomorrow["measures"] == [] and tomorrow["lists"] == []
    assert tomorrow["subject"]["status"] == "normal"


def test_two_processes_see_removal_and_repair_at_the_next_check(engine: Engine, tmp_path: Path) -> None:
    """Two engines on one store stand for two server processes, each with its own index."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        record = serious_penalty(engine, tmp_path, 3)
        entry = listed(engine, 3)
        assert codes(service.check(engine, CALLER, "supervision", uscc=numbered_uscc(3))) == [
            "closer_supervision"]
        assert codes(service.check(engine, CALLER, "政府采购", uscc=numbered_uscc(3))) == ["procurement_ban"]
        with writing(other) as conn:
            lists.remove(conn, STAFF, entry, TODAY, "已履行", "(2026)闽0203执恢1号")
        assert service.check(engine, CALLER, "supervision", uscc=numbered_uscc(3))["measures"] == []
        files = []
        for material in ("commitment", "performance"):
            path = tmp_path / f"{material}.pdf"
            path.write_bytes(PDF)
            files.append(repair.Staged(material, path.name, path, "pdf", len(PDF),
                                       hashlib.sha256(PDF).hexdigest()))
        case = repair.apply(other, audit.Actor("e3", "enterprise", "test"), applicant(numbered_uscc(3)),
                            record, "罚款已缴清", files, TODAY)
        marked = service.check(engine, CALLER, "政府采购", uscc=numbered_uscc(3))
        assert marked["records_marked"] == [{"record_id": record, "doc_no": "厦思市监罚〔2025〕3号",
                                             "marker": "信用修复中", "case_no": case["case_no"]}]
        for action in ("accept", "approve"):
            with writing(other) as conn:
                repair.decide(conn, STAFF, case["case_no"], action, "已履行义务", day=TODAY)
        after = service.check(engine, CALLER, "政府采购", uscc=numbered_uscc(3))
        assert after["measures"] == [] and after["records_marked"] == []
    finally:
        other.dispose()


def test_check_by_name_gives_candidates_and_resolves_an_exact_name(engine: Engine, tmp_path: Path) -> None:
    serious_penalty(engine, tmp_path, 5, days_ago=10)
    exact = service.check(engine, CALLER, "government_procurement", name="厦门市思明区第5测试贸易有限公司")
    assert exact["subject"]["uscc"] == numbered_uscc(5) and codes(exact) == ["procurement_ban"]
    assert exact["candidates"][0]["score"] == 1.0 and exact["candidates"][0]["reasons"]
    part = service.check(engine, CALLER, "government_procurement", name="测试贸易")
    assert part["subject"] is None and part["measures"] == []
    assert part["candidates"][0]["uscc"] == numbered_uscc(5) and 0 < part["candidates"][0]["score"] < 1


def test_batch_answers_each_item_and_logs_them_under_one_batch(engine: Engine, tmp_path: Path) -> None:
    serious_penalty(engine, tmp_path, 6, days_ago=10)
    batch = service.check_batch(engine, CALLER, "政府采购", [
        {"uscc": numbered_uscc(6)}, {"uscc": numbered_uscc(7)}, {"uscc": "123"}, {"name": "第6测试"}])
    assert batch["count"] == 4 and batch["checked"] == 3
    first, unknown, bad, by_name = batch["results"]
    assert codes(first) == ["procurement_ban"] and unknown["subject"] is None
    assert bad["error"]["code"] == "invalid_uscc" and bad["check_id"] is None
    assert by_name["candidates"]
    service.flush_log(engine)
    with engine.connect() as conn:
        logged = conn.execute(select(CheckLog.batch_id)).scalars().all()
    assert logged == [batch["batch_id"]] * 3
    with pytest.raises(InvalidInput) as caught:
        service.check_batch(engine, CALLER, "bidding", [{"uscc": numbered_uscc(1)}] * 10_001)
    assert caught.value.code == "batch_too_large"
