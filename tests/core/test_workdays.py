"""The working-day calendar: official holidays, make-up working days and locality files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core import workdays
from xinyong.core.errors import RuleDataError
from xinyong.core.settings import get_settings
from xinyong.core.workdays import WorkCalendar, default_calendar, load_calendar

D = date.fromisoformat

# A made-up arrangement for a year no official source covers yet: test data only.
FICTIONAL_2027 = """\
years:
  2027:
    basis: 测试用虚构安排
    holidays:
      - 2027-01-01
      - 2027-02-05..2027-02-11
    workdays:
      - 2027-02-13
"""


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return load_calendar()


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    get_settings.cache_clear()
    default_calendar.cache_clear()
    yield
    monkeypatch.delenv("XINYONG_DATA_DIR", raising=False)
    get_settings.cache_clear()
    default_calendar.cache_clear()


def calendar_dir(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "calendar"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text, "utf-8")
    return directory


@pytest.mark.parametrize(("decided", "n", "due"), [
    pytest.param(D("2025-01-24"), 7, D("2025-02-10"),
                 id="7th working day after Spring Festival 2025 decision (Fri 01-24) is Feb 10"),
    pytest.param(D("2025-01-24"), 1, D("2025-01-26"),
                 id="1st working day after Fri 2025-01-24 is the make-up Sunday 01-26"),
    pytest.param(D("2025-01-26"), 1, D("2025-01-27"),
                 id="the decision day never counts, even when it is a working day"),
    pytest.param(D("2025-01-27"), 1, D("2025-02-05"),
                 id="Spring Festival holiday 2025-01-28..02-04 is skipped"),
    pytest.param(D("2024-09-27"), 7, D("2024-10-12"),
                 id="7th working day after Fri 2024-09-27 is the make-up Saturday 10-12"),
    pytest.param(D("2024-09-27"), 1, D("2024-09-29"),
                 id="Sat 2024-09-29 is a make-up working day before National Day"),
    pytest.param(D("2024-09-30"), 1, D("2024-10-08"),
                 id="National Day holiday 2024-10-01..10-07 is skipped"),
    pytest.param(D("2024-10-03"), 1, D("2024-10-08"),
                 id="a decision taken on a holiday counts from the next working day"),
    pytest.param(D("2024-06-17"), 7, D("2024-06-26"),
                 id="plain week: 7th working day after Mon 2024-06-17 is the next Wednesday"),
    pytest.param(D("2024-06-21"), 1, D("2024-06-24"),
                 id="plain weekend: Friday's next working day is Monday"),
    pytest.param(D("2099-06-05"), 7, D("2099-06-16"),
                 id="a year without official data falls back to Monday to Friday"),
])
def test_add_workdays(cal: WorkCalendar, decided: date, n: int, due: date) -> None:
    assert cal.add_workdays(decided, n) == due


@pytest.mark.parametrize(("day", "worked"), [
    pytest.param(D("2025-01-26"), True, id="Sun 2025-01-26 make-up working day"),
    pytest.param(D("2025-01-28"), False, id="Tue 2025-01-28 Spring Festival eve holiday"),
    pytest.param(D("2025-02-04"), False, id="Tue 2025-02-04 last day of Spring Festival"),
    pytest.param(D("2025-02-08"), True, id="Sat 2025-02-08 make-up working day"),
    pytest.param(D("2024-09-29"), True, id="Sat 2024-09-29 make-up working day"),
    pytest.param(D("2024-10-01"), False, id="Tue 2024-10-01 National Day"),
    pytest.param(D("2024-10-07"), False, id="Mon 2024-10-07 last day of National Day"),
    pytest.param(D("2024-10-12"), True, id="Sat 2024-10-12 make-up working day"),
    pytest.param(D("2024-06-21"), True, id="an ordinary Friday"),
    pytest.param(D("2024-06-22"), False, id="an ordinary Saturday"),
    pytest.param(D("2099-01-01"), True, id="uncovered year: a Thursday 1 January is worked"),
])
def test_is_workday(cal: WorkCalendar, day: date, worked: bool) -> None:
    assert cal.is_workday(day) is worked


@pytest.mark.parametrize(("start", "end", "count"), [
    pytest.param(D("2025-01-24"), D("2025-02-10"), 7, id="Spring Festival 2025 span holds 7"),
    pytest.param(D("2024-09-27"), D("2024-10-12"), 7, id="National Day 2024 span holds 7"),
    pytest.param(D("2024-06-17"), D("2024-06-26"), 7, id="plain span holds 7"),
    pytest.param(D("2024-06-17"), D("2024-06-17"), 0, id="same day holds none"),
    pytest.param(D("2024-06-26"), D("2024-06-17"), 0, id="end before start holds none"),
    pytest.param(D("2024-06-21"), D("2024-06-23"), 0, id="a plain weekend holds none"),
])
def test_workdays_between(cal: WorkCalendar, start: date, end: date, count: int) -> None:
    assert cal.workdays_between(start, end) == count


def test_years_of_the_package_data_are_covered(cal: WorkCalendar) -> None:
    assert {2004, 2024, 2025, 2026} <= cal.covered_years()
    assert cal.covers(D("2025-06-01"))
    assert not cal.covers(D("2099-06-01"))


def test_zero_working_days_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="正整数"):
        cal.add_workdays(D("2025-01-24"), 0)


@given(st.dates(date(2003, 1, 1), date(2028, 12, 31)), st.integers(1, 40))
def test_the_nth_working_day_is_n_working_days_away(cal: WorkCalendar, day: date, n: int) -> None:
    due = cal.add_workdays(day, n)
    assert cal.is_workday(due)
    assert cal.workdays_between(day, due) == n


@given(st.dates(date(2003, 1, 1), date(2028, 12, 31)), st.integers(0, 800))
def test_counting_agrees_with_walking_day_by_day(
    cal: WorkCalendar, start: date, span: int
) -> None:
    walked = sum(cal.is_workday(start + timedelta(days=i)) for i in range(1, span + 1))
    assert cal.workdays_between(start, start + timedelta(days=span)) == walked


def test_an_extension_file_adds_a_year(tmp_path: Path) -> None:
    cal = load_calendar([calendar_dir(tmp_path, **{"2027": FICTIONAL_2027})])
    assert cal.covers(D("2027-03-01"))
    assert not cal.is_workday(D("2027-02-08"))
    assert cal.is_workday(D("2027-02-13"))
    assert cal.add_workdays(D("2027-02-04"), 7) == D("2027-02-19")


def test_without_the_extension_file_2027_is_a_plain_week(cal: WorkCalendar) -> None:
    assert not cal.covers(D("2027-03-01"))
    assert cal.add_workdays(D("2027-02-04"), 7) == D("2027-02-15")


def test_a_later_file_overrides_an_earlier_one(tmp_path: Path) -> None:
    later = "years:\n  2027:\n    holidays: [2027-02-13]\n"
    cal = load_calendar([calendar_dir(tmp_path, a=FICTIONAL_2027, b=later)])
    assert not cal.is_workday(D("2027-02-13"))


def test_a_locality_file_overrides_the_package_data(tmp_path: Path) -> None:
    local = "years:\n  2025:\n    basis: 地方补充放假\n    holidays: [2025-02-10]\n"
    cal = load_calendar([calendar_dir(tmp_path, local=local)])
    assert cal.add_workdays(D("2025-01-24"), 7) == D("2025-02-11")


def test_default_calendar_reads_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    calendar_dir(tmp_path, **{"2027": FICTIONAL_2027})
    monkeypatch.setenv("XINYONG_DATA_DIR", str(tmp_path))
    assert workdays.add_workdays(D("2027-02-04"), 7) == D("2027-02-19")
    assert not workdays.is_workday(D("2027-02-08"))
    assert workdays.workdays_between(D("2027-02-04"), D("2027-02-19")) == 7


def test_default_calendar_without_data_dir_has_the_2025_facts(fresh_default: None) -> None:
    assert workdays.add_workdays(D("2025-01-24"), 7) == D("2025-02-10")


@pytest.mark.parametrize(("text", "reason"), [
    pytest.param("years: [", "YAML", id="broken YAML"),
    pytest.param("2027: {}", "years", id="no years key"),
    pytest.param("years: {1800: {}}", "年份", id="year out of range"),
    pytest.param("years: {2027: {holiday: [2027-01-01]}}", "holidays", id="misspelt key"),
    pytest.param("years: {2027: {basis: [1]}}", "basis", id="basis that is not text"),
    pytest.param("years: {2027: {holidays: [2027-13-01]}}", "不存在的日期", id="impossible date"),
    pytest.param("years: {2027: {holidays: ['2027-02-30']}}", "不是日期",
                 id="impossible quoted date"),
    pytest.param("years: {2027: {holidays: ['2027-02-11..2027-02-05']}}", "早于",
                 id="range ending before it starts"),
    pytest.param("years: {2027: {holidays: [2072-01-01]}}", "安排范围", id="mistyped year"),
    pytest.param("years: {2027: {holidays: [2027-02-13], workdays: [2027-02-13]}}", "同时",
                 id="a day both off and worked"),
])
def test_an_invalid_file_names_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    directory = calendar_dir(tmp_path, broken=text)
    with pytest.raises(RuleDataError, match=reason) as raised:
        load_calendar([directory])
    assert "broken.yaml" in raised.value.message


def test_the_shipped_calendar_files_are_valid(cal: WorkCalendar) -> None:
    shipped = resources.files("xinyong.data").joinpath("calendar")
    names = [entry.name for entry in shipped.iterdir() if entry.name.endswith(".yaml")]
    assert "extra.yaml" in names
    for name in names:
        text = shipped.joinpath(name).read_text("utf-8")
        _, years = workdays.parse_calendar_yaml(text, name)
        assert years <= cal.covered_years()
