"""Ingest end to end on both engines: formats, validation, corrections, timeliness, atomicity."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select, text

from xinyong.core import audit
from xinyong.core.db import writing
from xinyong.core.errors import BadFile, InvalidInput
from xinyong.core.settings import get_settings
from xinyong.departments import service as departments
from xinyong.ingest import service
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Record, Subject

from ..factories import (
    licence,
    numbered_uscc,
    penalty,
    resident_id,
    write_csv,
    write_jsonl,
    write_xlsx,
)

DEPT = "厦门市思明区市场监督管理局"
RECEIVED = date(2025, 2, 10)


def ingest(engine: Engine, path: Path, **kw: object) -> service.Receipt:
    kw.setdefault("received", RECEIVED)
    return service.ingest_file(engine, path, kw.pop("department", DEPT), **kw)  # type: ignore[arg-type]


def shown(engine: Engine, code: str) -> dict:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return subjects.show(conn, code)


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


# --- formats ----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_every_encoding_departments_use(engine: Engine, tmp_path: Path,
                                               encoding: str) -> None:
    path = write_csv(tmp_path / "p.csv", [penalty()], encoding=encoding)
    r = ingest(engine, path)
    assert (r.rows, r.accepted, r.rejected, r.kind) == (1, 1, 0, "penalty")
    view = shown(engine, numbered_uscc(1))
    assert view["subject"]["name"] == "厦门市思明区测试贸易有限公司"
    assert view["records"][0]["fields"]["penalty_categories"] == "警告;罚款"


def test_xlsx_with_real_date_cells_and_numbers(engine: Engine, tmp_path: Path) -> None:
    row: dict[str, object] = dict(penalty())
    row["处罚决定日期"] = datetime(2025, 1, 24)
    row["处罚有效期"] = date(2025, 12, 31)
    row["罚款金额（万元）"] = 0.2
    r = ingest(engine, write_xlsx(tmp_path / "p.xlsx", [row]))
    assert (r.format, r.accepted) == ("xlsx", 1)
    rec = shown(engine, numbered_uscc(1))["records"][0]
    assert rec["decision_date"] == "2025-01-24"
    assert rec["fields"]["fine_amount"] == "0.2"


def test_json_lines_with_field_codes_as_keys(engine: Engine, tmp_path: Path) -> None:
    by_code = {"CF_XDR_MC": "厦门某某有限公司", "CF_XDR_LB": "法人及非法人组织",
               "CF_XDR_SHXYM": numbered_uscc(5), "CF_WSH": "厦罚〔2025〕5号",
               "CF_WFXW": "无证经营", "CF_SY": "事实", "CF_YJ": "依据", "CF_CFLB": "罚款",
               "CF_NR": "罚款", "CF_NR_FK": 1.5, "CF_JDRQ": "2025年1月24日",
               "CF_YXQ": "2025/12/31", "CF_CFJG": DEPT, "CF_CFJGDM": penalty()["处罚机关统一社会信用代码"],
               "CF_SJLY": DEPT, "CF_SJLYDM": penalty()["处罚机关统一社会信用代码"]}
    r = ingest(engine, write_jsonl(tmp_path / "p.jsonl", [by_code]))
    assert (r.format, r.accepted, r.rejected) == ("jsonl", 1, 0)


def test_kind_is_detected_from_headers_and_unknown_columns_reported(
        engine: Engine, tmp_path: Path) -> None:
    row = licence(**{"经办人": "赵六", "许可机关": DEPT, "数据来源单位": DEPT})
    r = ingest(engine, write_csv(tmp_path / "l.csv", [row]), received=date(2025, 3, 5))
    assert r.kind == "licence"
    assert r.unknown_columns == ["经办人"]
    assert r.accepted == 1


def test_semicolon_delimited_csv(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [penalty(**{"处罚类别": "警告、罚款"})], delimiter=";")
    assert ingest(engine, path).accepted == 1


# --- bad files ------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    (b"", "为空"),
    (b"   \n\n", "为空"),
    (b"\x00\x01\x02binary", "不是表格文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", ".xls"),
    (b'[{"a": 1}]', "JSON Lines"),
    (b"just one line of prose without any separators\n", "不是表格"),
    (b"PK\x03\x04not really a zip", "XLSX"),
])
def test_unreadable_files_fail_with_one_clear_line(engine: Engine, tmp_path: Path,
                                                   content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(BadFile, match=message):
        ingest(engine, path)
    assert count(engine, "SELECT COUNT(*) FROM batch") == 0


def test_header_only_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(",".join(penalty()) + "\n", encoding="utf-8")
    with pytest.raises(BadFile, match="没有数据行"):
        ingest(engine, path)
    assert count(engine, "SELECT COUNT(*) FROM batch") == 0


def test_unknown_kind_and_unrecognisable_headers(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [penalty()])
    with pytest.raises(InvalidInput, match="未知的信息类别"):
        ingest(engine, path, kind="parking_tickets")
    other = tmp_path / "o.csv"
    other.write_text("姓名,年龄\n张三,30\n", encoding="utf-8")
    with pytest.raises(BadFile, match="无法从表头识别"):
        ingest(engine, other)


def test_encoding_broken_mid_file_rolls_back(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [penalty()] * 1)
    with path.open("ab") as f:
        f.write("厦门".encode("gb18030") + b"," * 18 + b"\n")
    with pytest.raises(BadFile, match="编码"):
        ingest(engine, path)
    assert count(engine, "SELECT COUNT(*) FROM record") == 0


# --- row validation -------------------------------------------------------------------------

BAD_ROWS = [
    ("bad check character", {"行政相对人代码_1(统一社会信用代码)": numbered_uscc(1)[:-1] + "0"
                             if not numbered_uscc(1).endswith("0") else numbered_uscc(1)[:-1] + "1"},
     "uscc"),
    ("inner organisation-code check fails", {"行政相对人代码_1(统一社会信用代码)": "91350203MA0000019Q"},
     "uscc"),
    ("missing mandatory 处罚依据", {"处罚依据": ""}, "required"),
    ("impossible date", {"处罚决定日期": "2024-02-30"}, "date"),
    ("month 13", {"处罚决定日期": "2024/13/01"}, "date"),
    ("unknown penalty category", {"处罚类别": "罚没"}, "enum"),
    ("unknown subject category", {"行政相对人类别": "外星人"}, "enum"),
    ("negative fine", {"罚款金额（万元）": "-1"}, "amount"),
    ("fine in yuan", {"罚款金额（万元）": "2000元"}, "amount"),
    ("organisation without a code", {"行政相对人代码_1(统一社会信用代码)": ""}, "identity"),
    ("organisation with a 个体工商户 code", {"行政相对人代码_1(统一社会信用代码)":
                                      numbered_uscc(3, "92350203")}, "identity"),
    ("decision after receipt", {"处罚决定日期": "2025-02-11", "处罚有效期": "2025-12-31"},
     "future_date"),
    ("validity before decision", {"处罚有效期": "2025-01-01"}, "date_order"),
    ("bad legal representative ID", {"法定代表人证件号码": "350203198001011234"}, "id_number"),
]


@pytest.mark.parametrize(("case", "change", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_each_kind_of_bad_row_is_returned_with_its_reason(
        engine: Engine, tmp_path: Path, case: str, change: dict[str, str], reason: str) -> None:
    good = penalty(**{"行政处罚决定书文号": "好〔2025〕1号"})
    bad = penalty(**{"行政处罚决定书文号": "坏〔2025〕2号", **change})
    r = ingest(engine, write_csv(tmp_path / "p.csv", [good, bad]))
    assert (r.rows, r.accepted, r.rejected) == (2, 1, 1), case
    assert any(k.split(":")[0] == reason for k in r.rejection_reasons), r.rejection_reasons
    assert r.error_report is not None
    with open(r.error_report, encoding="utf-8-sig", newline="") as f:
        returned = list(csv.DictReader(f))
    assert len(returned) == 1
    assert returned[0]["行号"] == "3"
    assert returned[0]["行政处罚决定书文号"] == "坏〔2025〕2号"
    assert returned[0]["错误原因"]
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT row_no, reasons, raw FROM rejection")).one()
    assert kept.row_no == 3
    assert orjson.loads(kept.raw)[6] == "坏〔2025〕2号"
    assert orjson.loads(kept.reasons)[0]["code"] == reason


GOOD_VARIANTS = [
    ("date with slashes", {"处罚决定日期": "2025/1/24"}),
    ("date in Chinese", {"处罚决定日期": "2025年1月24日"}),
    ("categories with full-width separators", {"处罚类别": "警告；罚款，没收违法所得"}),
    ("older numeric subject category", {"行政相对人类别": "02"}),
    ("code typed in lower case with blanks", {"行政相对人代码_1(统一社会信用代码)":
                                          " " + numbered_uscc(1).lower() + " "}),
    ("individual business with its 92 code", {"行政相对人类别": "个体工商户",
                                               "行政相对人代码_1(统一社会信用代码)":
                                               numbered_uscc(4, "92350203")}),
    ("individual business with placeholder and registration number",
     {"行政相对人类别": "个体工商户", "行政相对人代码_1(统一社会信用代码)": "00000000000000000X",
      "行政相对人代码_2(工商注册号)": "350203600123456"}),
    ("natural person with identity card", {"行政相对人类别": "自然人", "行政相对人名称": "张三",
                                           "行政相对人代码_1(统一社会信用代码)": "",
                                           "证件类型": "身份证", "证件号码": resident_id(seq="456")}),
]


@pytest.mark.parametrize(("case", "change"), GOOD_VARIANTS, ids=[c[0] for c in GOOD_VARIANTS])
def test_forms_departments_really_send_are_accepted(engine: Engine, tmp_path: Path, case: str,
                                                    change: dict[str, str]) -> None:
    r = ingest(engine, write_csv(tmp_path / "p.csv", [penalty(**change)]))
    assert (r.accepted, r.rejected) == (1, 0), (case, r.rejection_reasons)


def test_natural_person_key_and_output_never_show_the_identity_number(
        engine: Engine, tmp_path: Path) -> None:
    number = resident_id(seq="456")
    row = penalty(**{"行政相对人类别": "自然人", "行政相对人名称": "张三",
                     "行政相对人代码_1(统一社会信用代码)": "", "证件类型": "身份证",
                     "证件号码": number})
    ingest(engine, write_csv(tmp_path / "p.csv", [row]))
    with engine.connect() as conn:
        key, kind = conn.execute(text("SELECT key, kind FROM subject")).one()
    assert kind == "natural_person"
    assert number not in key


def test_identity_numbers_masked_in_subject_view(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]))
    view = shown(engine, numbered_uscc(1))
    assert resident_id() not in orjson.dumps(view).decode()
    assert view["subject"]["legal_rep_id_number"].startswith("350")
    assert "*" in view["records"][0]["fields"]["legal_rep_id_number"]


# --- corrections and idempotency --------------------------------------------------------------

def test_resubmitting_identical_rows_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [penalty()])
    ingest(engine, path)
    again = ingest(engine, path, received=date(2025, 2, 12))
    assert (again.new, again.corrected, again.unchanged) == (0, 0, 1)
    assert count(engine, "SELECT COUNT(*) FROM record") == 1


def test_changed_row_becomes_a_new_version_keeping_the_old(engine: Engine,
                                                           tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "a.csv", [penalty()]))
    fixed = ingest(engine, write_csv(tmp_path / "b.csv", [penalty(**{"罚款金额（万元）": "0.3"})]),
                   received=date(2025, 3, 1))
    assert (fixed.new, fixed.corrected) == (0, 1)
    records = shown(engine, numbered_uscc(1))["records"]
    assert [(r["version"], r["status"], r["fields"]["fine_amount"]) for r in records] == [
        (1, "superseded", "0.2"), (2, "current", "0.3")]
    assert records[1]["on_time"] is True  # a correction keeps its first report's timeliness
    with engine.connect() as conn:
        actions = [a for (a,) in conn.execute(text("SELECT action FROM audit_event ORDER BY id"))]
        assert actions == ["ingest.batch", "ingest.batch", "record.corrected"]
        assert audit.verify(conn).ok


def test_same_document_number_from_another_department_is_another_record(
        engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]))
    other = "厦门市生态环境局"
    path = write_csv(tmp_path / "q.csv", [penalty(处罚机关=other, 数据来源单位=other)])
    r = ingest(engine, path, department=other)
    assert r.new == 1
    assert count(engine, "SELECT COUNT(*) FROM record WHERE status = 'current'") == 2


def test_duplicate_document_number_within_a_batch_is_returned_even_across_chunks(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_INGEST_CHUNK_ROWS", "2")
    get_settings.cache_clear()
    rows = [penalty(**{"行政处罚决定书文号": f"罚〔2025〕{i}号"}) for i in range(3)]
    rows.append(penalty(**{"行政处罚决定书文号": "罚〔2025〕0号", "罚款金额（万元）": "9"}))
    r = ingest(engine, write_csv(tmp_path / "p.csv", rows))
    assert (r.new, r.rejected) == (3, 1)
    assert r.rejection_reasons == {"duplicate_in_batch:行政处罚决定书文号": 1}


def test_fixed_rows_from_the_error_report_can_be_resubmitted(engine: Engine,
                                                            tmp_path: Path) -> None:
    bad = penalty(**{"处罚依据": ""})
    r = ingest(engine, write_csv(tmp_path / "p.csv", [bad]))
    assert r.rejected == 1 and r.error_report
    report = Path(r.error_report)
    with report.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["处罚依据"] = "《中华人民共和国反不正当竞争法》第二十条"
    fixed = write_csv(tmp_path / "fixed.csv", rows)
    again = ingest(engine, fixed)
    assert (again.accepted, again.new) == (1, 1)
    assert set(again.unknown_columns) == {"行号", "错误原因"}


def test_error_report_in_the_input_format(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    r = ingest(engine, write_xlsx(tmp_path / "p.xlsx", [penalty(**{"处罚类别": "罚没"})]))
    assert r.error_report and r.error_report.endswith(".xlsx")
    ws = load_workbook(r.error_report).active
    values = list(ws.values)
    assert values[0][-2:] == ("行号", "错误原因")
    assert values[1][-2] == 2 and "罚没" in values[1][-1]
    j = ingest(engine, write_jsonl(tmp_path / "p.jsonl", [penalty(**{"处罚类别": "罚没"})]))
    assert j.error_report and j.error_report.endswith(".jsonl")
    line = orjson.loads(Path(j.error_report).read_bytes().splitlines()[0])
    assert line["行号"] == 1 and "罚没" in line["错误原因"]


# --- timeliness ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("received", "on_time"), [
    (date(2025, 2, 10), True),   # the 7th working day after Fri 2025-01-24 (Spring Festival)
    (date(2025, 2, 11), False),
])
def test_timeliness_counts_chinese_working_days(engine: Engine, tmp_path: Path,
                                                received: date, on_time: bool) -> None:
    r = ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]), received=received)
    assert (r.on_time, r.late) == ((1, 0) if on_time else (0, 1))


def test_quality_report_per_department_and_month(engine: Engine, tmp_path: Path) -> None:
    rows = [penalty(**{"行政处罚决定书文号": f"罚〔2025〕{i}号"}) for i in range(3)]
    rows.append(penalty(**{"行政处罚决定书文号": "罚〔2025〕9号", "处罚类别": "罚没"}))
    ingest(engine, write_csv(tmp_path / "p.csv", rows))
    tax_row = penalty(**{"行政处罚决定书文号": "X1", "处罚机关": "厦门市税务局",
                         "数据来源单位": "厦门市税务局"})
    ingest(engine, write_csv(tmp_path / "q.csv", [tax_row]),
           department="厦门市税务局", received=date(2025, 3, 20))
    with engine.connect() as conn:
        report = service.quality(conn)
        only = service.quality(conn, department=DEPT, month="2025-02")
        with pytest.raises(InvalidInput):
            service.quality(conn, month="2025-2")
    assert len(report) == 2
    g = only[0]
    assert (g["rows"], g["accepted"], g["rejected"]) == (4, 3, 1)
    assert g["compliance_rate"] == 0.75
    assert g["timeliness_rate"] == 1.0
    assert g["rejections_by_reason"][0]["label"] == "取值不在允许范围（处罚类别）"
    tax = next(x for x in report if x["department"] == "厦门市税务局")
    assert tax["timeliness_rate"] == 0.0


# --- atomicity --------------------------------------------------------------------------------

def test_a_failure_in_the_middle_leaves_no_half_batch(engine: Engine, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_INGEST_CHUNK_ROWS", "10")
    get_settings.cache_clear()
    rows = [penalty(**{"行政处罚决定书文号": f"罚〔2025〕{i}号",
                       "行政相对人代码_1(统一社会信用代码)": numbered_uscc(i)}) for i in range(35)]
    calls = {"n": 0}
    real = subjects.store_versions

    def failing(*args: object, **kw: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(subjects, "store_versions", failing)
    with pytest.raises(RuntimeError):
        ingest(engine, write_csv(tmp_path / "p.csv", rows))
    for table in ("batch", "record", "subject", "rejection"):
        assert count(engine, f"SELECT COUNT(*) FROM {table}") == 0, table
    # The failure is audited, in its own transaction; nothing of the batch is left on disk.
    with engine.connect() as conn:
        events = conn.execute(text("SELECT action, object_id FROM audit_event")).all()
    assert [e[0] for e in events] == ["batch.failed"]
    files = get_settings().files_dir
    assert not (files / "batches").exists() or not list((files / "batches").iterdir())
    assert not list((files / "tmp").glob("batch-*"))
    monkeypatch.setattr(subjects, "store_versions", real)
    receipt = ingest(engine, write_csv(tmp_path / "p.csv", rows))
    assert receipt.new == 35
    if engine.dialect.name == "sqlite":  # the failed batch's id stays used (never reused)
        assert events[0][1] is not None and receipt.batch == int(events[0][1]) + 1
    assert sorted(p.name for p in (files / "batches").iterdir()) == [str(receipt.batch)]


def test_subjects_are_created_once_and_track_former_names(engine: Engine,
                                                          tmp_path: Path) -> None:
    old = penalty(**{"行政处罚决定书文号": "A1", "行政相对人名称": "厦门旧名有限公司",
                     "处罚决定日期": "2024-05-06"})
    new = penalty(**{"行政处罚决定书文号": "A2", "行政相对人名称": "厦门新名有限公司",
                     "处罚决定日期": "2025-01-24"})
    ingest(engine, write_csv(tmp_path / "p.csv", [new, old]))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Subject.__table__)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(Record.__table__)).scalar() == 2
    view = shown(engine, numbered_uscc(1))
    assert view["subject"]["name"] == "厦门新名有限公司"
    assert [n["name"] for n in view["subject"]["former_names"]] == ["厦门旧名有限公司"]


def test_backfilled_history_is_stored_but_not_judged_for_timeliness(engine: Engine,
                                                                   tmp_path: Path) -> None:
    r = ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]), received=date(2025, 6, 30),
               backfill=True)
    assert (r.new, r.on_time, r.late, r.backfill) == (1, 0, 0, True)
    assert shown(engine, numbered_uscc(1))["records"][0]["on_time"] is None


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted-cells"])
def test_parallel_preparation_gives_the_same_batch_as_in_process(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quoted: bool) -> None:
    """Large files are read and validated by worker processes, each taking every other
    chunk and passing over the others' by their document numbers only (or parsing them, when
    quoted cells make lines and rows differ); the result — stored rows, returned rows,
    duplicates across chunks of different workers, the error report — must not depend on it."""
    rows = [penalty(**{"行政处罚决定书文号": f"罚〔2025〕{i}号",
                       "行政相对人代码_1(统一社会信用代码)": numbered_uscc(i % 7)})
            for i in range(40)]
    rows[5]["处罚类别"] = "罚没"  # invalid, chunk 1
    rows[13] = {**rows[2], "罚款金额（万元）": "3"}  # duplicate of a row in another chunk
    rows[13]["行政处罚决定书文号"] = f" {rows[2]['行政处罚决定书文号']} "  # the same, once stripped
    rows[22]["处罚决定日期"] = "2025-02-30"
    if quoted:
        rows[9]["违法事实"] = '在包装上标注"特效",\n并拒不改正'  # a line break inside a row
    path = write_csv(tmp_path / "p.csv", rows)
    assert (b'"' in path.read_bytes()) is quoted

    def run(parallel: bool, department: str) -> tuple[service.Receipt, list[tuple[int, str]]]:
        monkeypatch.setenv("XINYONG_INGEST_CHUNK_ROWS", "4")
        monkeypatch.setenv("XINYONG_INGEST_PARALLEL_BYTES", "0" if parallel else str(1 << 40))
        monkeypatch.setenv("XINYONG_INGEST_WORKERS", "2")
        get_settings.cache_clear()
        r = ingest(engine, path, department=department)
        assert r.error_report
        with open(r.error_report, encoding="utf-8-sig", newline="") as f:
            returned = [(int(x["行号"]), x["错误原因"]) for x in csv.DictReader(f)]
        return r, returned

    with writing(engine) as conn:  # two departments, one file: both report for its authority
        for name in ("甲部门", "乙部门"):
            departments.register(conn, audit.SYSTEM, name, reports_for=[DEPT])
    serial, serial_returned = run(False, "甲部门")
    parallel, parallel_returned = run(True, "乙部门")
    assert (parallel.rows, parallel.new, parallel.rejected) == (40, 37, 3)
    assert (serial.rows, serial.new, serial.rejected, serial.rejection_reasons) == (
        parallel.rows, parallel.new, parallel.rejected, parallel.rejection_reasons)
    assert serial_returned == parallel_returned
    assert [n for n, _ in parallel_returned] == [7, 15, 24]
    assert "与本批次第4行重复" in parallel_returned[1][1]


def test_a_broken_file_found_by_a_worker_fails_the_batch_cleanly(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_INGEST_PARALLEL_BYTES", "0")
    monkeypatch.setenv("XINYONG_INGEST_CHUNK_ROWS", "2")
    get_settings.cache_clear()
    path = write_csv(tmp_path / "p.csv", [penalty(**{"行政处罚决定书文号": f"X{i}"})
                                          for i in range(6)])
    with path.open("ab") as f:
        f.write("厦门".encode("gb18030") + b"," * 18 + b"\n")
    with pytest.raises(BadFile, match="编码"):
        ingest(engine, path)
    assert count(engine, "SELECT COUNT(*) FROM record") == 0
    assert count(engine, "SELECT COUNT(*) FROM batch") == 0


def test_the_newest_record_gives_the_current_name_and_legal_representative(
        engine: Engine, tmp_path: Path) -> None:
    def row(doc: str, name: str, rep: str, day: str) -> dict[str, str]:
        return penalty(**{"行政处罚决定书文号": doc, "行政相对人名称": name, "法定代表人": rep,
                          "处罚决定日期": day})

    # A is used before and after B: B is an older name, not the current one.
    ingest(engine, write_csv(tmp_path / "a.csv", [row("1", "厦门甲有限公司", "王五", "2024-01-08"),
                                                  row("2", "厦门甲有限公司", "王五", "2024-12-02")]))
    ingest(engine, write_csv(tmp_path / "b.csv", [row("3", "厦门乙有限公司", "王五", "2024-06-03")]))
    view = shown(engine, numbered_uscc(1))
    assert view["subject"]["name"] == "厦门甲有限公司"
    assert [n["name"] for n in view["subject"]["former_names"]] == ["厦门乙有限公司"]
    # A newer record with another legal representative updates it; an older one does not.
    ingest(engine, write_csv(tmp_path / "c.csv", [row("4", "厦门甲有限公司", "赵六", "2025-01-06"),
                                                  row("5", "厦门甲有限公司", "钱七", "2024-02-05")]))
    view = shown(engine, numbered_uscc(1))
    assert (view["subject"]["name"], view["subject"]["legal_rep"]) == ("厦门甲有限公司", "赵六")


# --- references checked once a batch -----------------------------------------------------------

def _orphan_record_refused(engine: Engine) -> bool:
    """A record naming no subject, written on a pooled connection the usual way."""
    from sqlalchemy.exc import IntegrityError

    from xinyong.core.db import writing

    try:
        with writing(engine) as conn:
            conn.execute(text(
                "INSERT INTO record (subject_id, source_key, item_code, department, doc_no, version, "
                "status, decision_date, received_date, batch_id, row_no, catalog_version_id, payload) "
                "SELECT 987654, 1, 'penalty', 'x', 'x', 1, 'current', '2025-01-01', '2025-01-01', "
                "id, 0, catalog_version_id, '{}' FROM batch LIMIT 1"))
    except IntegrityError:
        return True
    return False


def test_foreign_keys_are_on_again_for_every_write_after_a_batch(engine: Engine,
                                                                 tmp_path: Path) -> None:
    """A batch skips SQLite's per-row foreign-key look-ups; the pooled connection it used
    must not keep that, after a stored batch or a refused one."""
    ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]))
    assert _orphan_record_refused(engine)
    bad = tmp_path / "bad.csv"
    bad.write_text("行政相对人名称,处罚决定日期\n", encoding="utf-8")
    with pytest.raises(BadFile):
        ingest(engine, bad)
    assert _orphan_record_refused(engine)
    assert count(engine, "SELECT COUNT(*) FROM record") == 1


def test_a_batch_referring_to_a_subject_that_is_not_there_is_rolled_back(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The set-based check that replaces the per-row foreign keys: a defect that hands out a
    subject id nobody stored (injected here) must fail the batch, not store orphans."""
    real = subjects.SubjectResolver.resolve

    def broken(self: subjects.SubjectResolver, rows: object) -> dict[str, int]:
        ids = real(self, rows)  # type: ignore[arg-type]
        return {k: v + 1000 for k, v in ids.items()}

    monkeypatch.setattr(subjects.SubjectResolver, "resolve", broken)
    # SQLite: the batch's own check; PostgreSQL keeps its row-by-row foreign keys
    with pytest.raises(Exception, match=r"不存在|foreign key"):
        ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]))
    assert count(engine, "SELECT COUNT(*) FROM record") == 0
    assert count(engine, "SELECT COUNT(*) FROM batch") == 0


def test_unknown_subjects_names_the_ids_without_a_subject(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "p.csv", [penalty()]))
    with engine.connect() as conn:
        (sid,) = conn.execute(text("SELECT id FROM subject")).one()
        assert subjects.unknown_subjects(conn, [sid]) == []
        assert subjects.unknown_subjects(conn, [sid, sid + 5, sid + 9]) == [sid + 5, sid + 9]
        assert subjects.unknown_subjects(conn, []) == []
