"""The demo city: deterministic, valid where it should be, broken exactly where it means to be.

The files are read back the way a department's file is read (CSV by its BOM or as GB18030,
XLSX with openpyxl) and compared row by row with the plan that produced them.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from xinyong.core.dates import parse_date
from xinyong.core.masking import validate_resident_id
from xinyong.core.uscc import is_valid, tables
from xinyong.core.workdays import load_calendar
from xinyong.demo.generator import (
    BAD_KINDS,
    VALID_ISSUES,
    CityPlan,
    DemoBatch,
    PlannedBatch,
    generate_city,
    periods_for,
    plan_city,
    write_penalty_file,
    write_plan,
)

TODAY = date(2026, 3, 18)
ENTITIES = 600


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        return [str(h) for h in rows[0]], rows[1:]
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig") if raw.startswith(codecs.BOM_UTF8) else raw.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def catalog_fields() -> dict[str, list[dict[str, Any]]]:
    raw = yaml.safe_load(resources.files("xinyong.data").joinpath(
        "catalog", "national.yaml").read_text("utf-8"))
    return {item["code"]: item["fields"] for item in raw["items"]}


def enum_spellings() -> dict[str, set[str]]:
    raw = yaml.safe_load(resources.files("xinyong.data").joinpath(
        "catalog", "national.yaml").read_text("utf-8"))
    return {name: {str(s) for v in values for s in (v["value"], *v.get("aliases", ()))}
            for name, values in raw["enums"].items()}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[CityPlan, list[DemoBatch]]:
    plan = plan_city(ENTITIES, seed=7, today=TODAY)
    return plan, write_plan(plan, tmp_path_factory.mktemp("city"))


@pytest.fixture(scope="module")
def files(city: tuple[CityPlan, list[DemoBatch]]
          ) -> list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]:
    """Each batch with its file read back: header, and rows keyed by catalog field name."""
    plan, written = city
    fields = catalog_fields()
    out = []
    for planned, batch in zip(plan.batches, written, strict=True):
        header, rows = read_table(batch.path)
        by_header = {f.get("code") if planned.department.style.headers == "code"
                     else f["label"]: f["name"] for f in fields[batch.kind]}
        names = [by_header[h] for h in header]
        out.append((planned, batch, header,
                    [dict(zip(names, row, strict=True)) for row in rows]))
    return out


def cell(value: Any) -> str:
    return "" if value is None else str(value)


# --- determinism and shape ----------------------------------------------------------------

def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate_city(tmp_path / "a", entities=300, seed=3, today=TODAY)
    second = generate_city(tmp_path / "b", entities=300, seed=3, today=TODAY)
    assert [b.path.name for b in first] == [b.path.name for b in second]
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(first, second,
                                                                          strict=True))
    other = generate_city(tmp_path / "c", entities=300, seed=4, today=TODAY)
    assert [b.path.read_bytes() for b in other] != [b.path.read_bytes() for b in first]


def test_batches_come_in_ingest_order_and_match_their_files(
        city: tuple[CityPlan, list[DemoBatch]],
        files: list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]) -> None:
    _, written = city
    assert [b.received for b in written] == sorted(b.received for b in written)
    assert [b.path.name for b in written] == sorted(b.path.name for b in written)
    assert all(b.received <= TODAY for b in written)
    for planned, batch, _, rows in files:
        assert batch.rows == len(rows) == len(planned.rows) > 0
        assert batch.bad_rows == sum(r.issue in BAD_KINDS for r in planned.rows)
        assert batch.received >= planned.period.end
        assert batch.department == planned.department.name
        assert batch.kind in ("licence", "penalty")


def test_about_thirty_departments_each_with_a_valid_government_code(
        city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, written = city
    assert 25 <= len(plan.departments) <= 40
    for d in plan.departments:
        assert d.uscc.startswith("11350200") and is_valid(d.uscc), d
    assert len({d.uscc for d in plan.departments}) == len(plan.departments)
    assert {b.department for b in written} == {d.name for d in plan.departments}


def test_periods_are_contiguous_and_weekly_at_the_end(city: tuple[CityPlan, list[DemoBatch]]
                                                      ) -> None:
    plan, _ = city
    for d in plan.departments:
        periods = periods_for(d.weekly, TODAY, plan.reporting)
        assert periods[0].start == plan.start
        assert all(p.start <= p.end < TODAY for p in periods)
        assert all(a.end + timedelta(days=1) == b.start for a, b in pairwise(periods)), d.key
        if d.weekly:
            assert periods[-1].end == TODAY - timedelta(days=TODAY.weekday() + 1)
        backfill = [p.backfill for p in periods]
        assert backfill == sorted(backfill, reverse=True) and True in backfill
        rep = plan.reporting
        # whole periods only: what keeps the default demo near 1,000 files
        assert len(periods) <= rep.half_years + rep.quarters + rep.monthly_months \
            + rep.weekly_weeks + 1
    weekly = [b for b in plan.batches if "W" in b.period.label]
    assert weekly and all(b.department.weekly for b in weekly)
    assert all(b.period.end - b.period.start == timedelta(days=6) for b in weekly)
    assert all(b.period.start.weekday() == 0 for b in weekly)
    assert plan.today - timedelta(days=3 * 366) <= plan.start <= plan.today - timedelta(days=730)


def test_weekly_batches_arrive_within_seven_working_days(
        city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, _ = city
    cal = load_calendar()
    on_time = total = 0
    for b in plan.batches:
        if "W" not in b.period.label:
            continue
        for r in b.rows:
            if r.issue is None:
                total += 1
                on_time += b.received <= cal.add_workdays(r.values["decision_date"], 7)
    assert total and on_time / total > 0.9


def test_decisions_fall_on_working_days_mostly(city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, _ = city
    cal = load_calendar()
    days = [r.values["decision_date"] for b in plan.batches for r in b.rows
            if isinstance(r.values["decision_date"], date)]
    worked = sum(cal.is_workday(d) for d in days)
    assert 0.95 < worked / len(days) < 1


def test_volume_scales_with_entities() -> None:
    small = plan_city(300, seed=1, today=TODAY)
    large = plan_city(900, seed=1, today=TODAY)
    rows_small = sum(len(b.rows) for b in small.batches)
    rows_large = sum(len(b.rows) for b in large.batches)
    assert 2.6 < rows_large / rows_small < 3.4
    assert 3.0 < rows_small / 300 < 6.0  # about 4 records an organisation, as at 10,000
    assert len([o for o in large.organisations if o.issue != "shared_code"]) == 900


# --- headers and formats ------------------------------------------------------------------

def test_headers_are_the_catalog_labels_or_codes_in_template_order(
        files: list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]) -> None:
    fields = catalog_fields()
    styles = set()
    for planned, batch, header, _ in files:
        item = fields[batch.kind]
        if planned.department.style.headers == "code":
            expected = [f["code"] for f in item if f.get("code")]
        else:
            expected = [f["label"] for f in item if f["name"] != "severity"
                        or planned.department.style.severity]
        assert header == expected, batch.path.name
        styles.add((batch.path.suffix, planned.department.style.headers))
        required = {f["name"] for f in item if f.get("required")}
        assert required <= {f["name"] for f in item if
                            (f.get("code") if planned.department.style.headers == "code"
                             else f["label"]) in header}
    assert {(".xlsx", "label"), (".csv", "label"), (".csv", "code"), (".xlsx", "code")} <= styles


def test_files_come_in_the_encodings_and_date_forms_departments_use(
        files: list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]) -> None:
    encodings = Counter()
    date_forms = Counter()
    for _, batch, _, rows in files:
        raw = batch.path.read_bytes()
        encodings["xlsx" if raw.startswith(b"PK") else
                  "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "gb18030"] += 1
        for row in rows:
            value = row["decision_date"]
            if isinstance(value, datetime):
                date_forms["cell"] += 1
            elif "年" in cell(value):
                date_forms["chinese"] += 1
            elif "/" in cell(value):
                date_forms["slash"] += 1
            elif "-" in cell(value):
                date_forms["iso"] += 1
    assert set(encodings) == {"xlsx", "utf-8-sig", "gb18030"}
    assert set(date_forms) == {"cell", "chinese", "slash", "iso"}
    gb = next(b for _, b, _, _ in files if not b.path.read_bytes().startswith((b"PK",
                                                                               codecs.BOM_UTF8)))
    with pytest.raises(UnicodeDecodeError):
        gb.path.read_bytes().decode("utf-8")


# --- validity -----------------------------------------------------------------------------

def test_every_organisation_has_a_valid_unique_code(city: tuple[CityPlan, list[DemoBatch]]
                                                    ) -> None:
    plan, _ = city
    placeholder = tables().placeholder
    codes = Counter(o.uscc for o in plan.organisations if o.uscc != placeholder)
    assert all(is_valid(c) for c in codes)
    assert all(o.uscc[2:8] in ("350200", "350203", "350205", "350206", "350211", "350212",
                               "350213") for o in plan.organisations if o.uscc != placeholder)
    shared = [c for c, n in codes.items() if n > 1]
    assert shared == [o.uscc for o in plan.organisations if o.issue == "shared_code"]
    kinds = Counter(o.kind for o in plan.organisations)
    assert kinds["91"] > ENTITIES / 2
    assert {"91", "92", "93", "12", "51", "52", "53", "N2", "Y1"} <= set(kinds)
    for o in plan.organisations:
        assert validate_resident_id(o.legal_rep.id_number) is None


def test_codes_in_the_files_are_valid_except_the_deliberately_bad(
        files: list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]) -> None:
    placeholder = tables().placeholder
    for planned, _, _, rows in files:
        for p, row in zip(planned.rows, rows, strict=True):
            code = cell(row["uscc"])
            assert is_valid(cell(row["authority_uscc"]))
            assert is_valid(cell(row["source_unit_uscc"]))
            if p.issue == "bad_uscc":
                assert not is_valid(code)
            elif code and code != placeholder:
                assert is_valid(code), (code, row["subject_name"])
                category = cell(row["subject_category"])
                assert code.startswith("92") == (category in ("个体工商户", "04"))
            elif code == placeholder:
                assert len(cell(row["reg_no"])) == 15


def test_natural_persons_carry_a_valid_resident_id_and_no_code(
        files: list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]) -> None:
    persons = Counter()
    for _, batch, _, rows in files:
        for row in rows:
            if cell(row["subject_category"]) in ("自然人", "01"):
                persons[batch.kind] += 1
                assert cell(row["id_type"]) in ("身份证", "01")
                assert validate_resident_id(cell(row["id_number"])) is None
                assert not cell(row["uscc"])
            if cell(row.get("legal_rep_id_number")):
                assert validate_resident_id(cell(row["legal_rep_id_number"])) is None
    total = sum(len(rows) for _, b, _, rows in files if b.kind == "penalty")
    assert 0.02 < persons["penalty"] / total < 0.2
    assert persons["licence"] > 0


def test_bad_rows_are_about_two_percent_and_every_kind_is_there(
        city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, written = city
    issues = Counter(r.issue for b in plan.batches for r in b.rows)
    rows = sum(b.rows for b in written)
    bad = sum(b.bad_rows for b in written)
    assert bad == sum(issues[k] for k in BAD_KINDS)
    assert 0.015 < bad / rows < 0.025
    assert all(issues[k] > 0 for k in (*BAD_KINDS, *VALID_ISSUES))


def test_each_bad_row_has_exactly_its_defect_in_the_file(
        files: list[tuple[PlannedBatch, DemoBatch, list[str], list[dict[str, Any]]]]) -> None:
    spellings = enum_spellings()
    for planned, batch, _, rows in files:
        doc_nos = Counter(cell(r["doc_no"]) for r in rows)
        for p, row in zip(planned.rows, rows, strict=True):
            issue = p.issue
            date_value = row["decision_date"]
            if issue == "bad_date":
                with pytest.raises(ValueError):
                    parse_date(cell(date_value))
            elif not isinstance(date_value, datetime):
                parse_date(cell(date_value))
            required = "penalty_basis" if batch.kind == "penalty" else "licence_content"
            assert (cell(row[required]) == "") == (issue == "missing_field")
            if batch.kind == "penalty":
                categories = cell(row["penalty_categories"]).replace("；", ",").split(",")
                known = all(c in spellings["penalty_category"] for c in categories)
            else:
                known = cell(row["licence_category"]) in spellings["licence_category"]
            assert known == (issue != "bad_enum")
            if issue == "duplicate_doc_no":
                assert doc_nos[cell(row["doc_no"])] == 2
            elif issue in BAD_KINDS or issue is None:
                assert doc_nos[cell(row["doc_no"])] in (1, 2)


def test_document_numbers_are_unique_per_department_in_official_style(
        city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, _ = city
    seen: Counter[tuple[str, str]] = Counter()
    for b in plan.batches:
        for r in b.rows:
            if r.issue in (None, "late", "bad_uscc", "missing_field", "bad_date", "bad_enum"):
                seen[(b.department.key, r.values["doc_no"])] += 1
    assert max(seen.values()) == 1
    docs = {d for _, d in seen}
    assert any(d.startswith("厦市监罚〔") and d.endswith("号") for d in docs)
    assert any(d.startswith("厦住建许〔") for d in docs)


def test_corrections_resubmit_an_earlier_document_with_a_changed_field(
        city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, _ = city
    first_seen: dict[tuple[str, str, str], tuple[date, dict[str, Any]]] = {}
    corrections = 0
    for b in plan.batches:
        for r in b.rows:
            key = (b.department.key, b.kind, r.values["doc_no"])
            if r.issue == "correction":
                corrections += 1
                received, original = first_seen[key]
                assert received < b.received
                changed = {k for k in r.values if r.values[k] != original.get(k)}
                assert "remarks" in changed and len(changed) >= 2
            elif r.issue is None:
                first_seen.setdefault(key, (b.received, r.values))
    assert corrections > 0


def test_penalties_look_like_real_ones(city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, _ = city
    penalties = [r.values for b in plan.batches if b.kind == "penalty" for r in b.rows
                 if r.issue is None]
    categories = Counter(c for v in penalties for c in v["penalty_categories"])
    assert categories["罚款"] + categories["警告"] > 0.6 * sum(categories.values())
    assert categories["没收违法所得"] > 0
    fines = [v["fine_amount"] for v in penalties if v["fine_amount"] is not None]
    assert all(Decimal("0.005") <= f <= Decimal(200) for f in fines)
    assert min(fines) < 1 < max(fines)
    assert all(v["valid_until"] >= v["decision_date"] for v in penalties)


def test_names_share_trade_names_change_and_collide_on_purpose(
        city: tuple[CityPlan, list[DemoBatch]]) -> None:
    plan, _ = city
    orgs = plan.organisations
    for trade in ("鹭达", "嘉禾"):
        assert sum(trade in o.name for o in orgs) >= 3
    renamed = [o for o in orgs if o.former_name]
    assert renamed
    names_by_code: dict[str, set[str]] = {}
    for b in plan.batches:
        for r in b.rows:
            if r.values.get("uscc"):
                names_by_code.setdefault(r.values["uscc"], set()).add(r.values["subject_name"])
    for o in renamed:
        used = names_by_code.get(o.uscc, set())
        assert used <= {o.name, o.former_name}
    assert any(len(names_by_code.get(o.uscc, ())) == 2 for o in renamed)
    impostor = next(o for o in orgs if o.issue == "shared_code")
    assert impostor.name in names_by_code[impostor.uscc] and len(names_by_code[impostor.uscc]) > 1
    two = next(o for o in orgs if o.issue == "two_codes")
    assert two.alt_uscc and is_valid(two.alt_uscc)
    assert names_by_code[two.alt_uscc] == {two.name} and two.name in names_by_code[two.uscc]


# --- the benchmark file -------------------------------------------------------------------

def test_write_penalty_file_writes_the_rows_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "bench.csv"
    bad = write_penalty_file(path, 3000, seed=5)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    labels = [f["label"] for f in catalog_fields()["penalty"] if f["name"] != "severity"]
    assert rows[0] == labels
    assert len(rows) == 3001
    assert 30 < bad < 90
    doc_nos = Counter(r[13] for r in rows[1:])
    assert 0 < sum(n - 1 for n in doc_nos.values()) < bad
    # Kinds take turns, so about a fifth of the bad rows carry a wrong check character.
    invalid = sum(not is_valid(r[2]) for r in rows[1:] if r[2])
    assert 0 < invalid <= bad // len(BAD_KINDS) + 1
    assert sum(r[17] == "罚没" for r in rows[1:]) > 0
    again = tmp_path / "again.csv"
    assert write_penalty_file(again, 3000, seed=5) == bad
    assert again.read_bytes() == path.read_bytes()
