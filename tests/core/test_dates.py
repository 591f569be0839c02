"""Dates as departments send them, and calendar-month arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core.dates import add_months, add_years, format_date, parse_date

D = date.fromisoformat
EXCEL_DAY_ZERO = date(1899, 12, 30)
FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2024-09-27", D("2024-09-27"), id="canonical ISO"),
    pytest.param("2024-9-7", D("2024-09-07"), id="ISO without leading zeros"),
    pytest.param("2024/9/27", D("2024-09-27"), id="slashes"),
    pytest.param("2024.9.27", D("2024-09-27"), id="dots"),
    pytest.param("2024年9月27日", D("2024-09-27"), id="Chinese"),
    pytest.param("2024 年 9 月 27 日", D("2024-09-27"), id="Chinese with blanks"),
    pytest.param("２０２４年９月２７日", D("2024-09-27"), id="Chinese with full-width digits"),
    pytest.param("20240927", D("2024-09-27"), id="compact yyyymmdd"),
    pytest.param("2024-09-27 00:00:00", D("2024-09-27"), id="trailing midnight"),
    pytest.param("2024-09-27T10:00:00", D("2024-09-27"), id="ISO date-time"),
    pytest.param("2024-09-27T10:00:00+08:00", D("2024-09-27"), id="ISO date-time with zone"),
    pytest.param("2024/9/27 9:30", D("2024-09-27"), id="slashes with a short time"),
    pytest.param(" 2024-09-27 ", D("2024-09-27"), id="blank padding"),
    pytest.param("45562", D("2024-09-27"), id="Excel serial"),
    pytest.param("45562.0", D("2024-09-27"), id="Excel serial as a float"),
    pytest.param("45562.75", D("2024-09-27"), id="Excel serial with a time of day"),
    pytest.param("17899", D("1949-01-01"), id="Excel serial of the earliest accepted day"),
    pytest.param("1949-01-01", D("1949-01-01"), id="earliest accepted year"),
    pytest.param("2100-12-31", D("2100-12-31"), id="latest accepted year"),
    pytest.param("2024-02-29", D("2024-02-29"), id="leap day in a leap year"),
])
def test_accepted_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("2024-02-30", "日期“2024-02-30”不存在", id="30 February does not exist"),
    pytest.param("2023-02-29", "日期“2023-02-29”不存在", id="no leap day in a common year"),
    pytest.param("2024-13-01", "日期“2024-13-01”不存在", id="month 13 does not exist"),
    pytest.param("2024年9月31日", "不存在", id="31 September does not exist"),
    pytest.param("20240931", "不存在", id="compact form of a day that does not exist"),
    pytest.param("1948-12-31", "超出1949—2100年", id="before 1949"),
    pytest.param("2101-01-01", "超出1949—2100年", id="after 2100"),
    pytest.param("12345", "1933-10-18", id="Excel serial before 1949 names its date"),
    pytest.param("17898", "1948-12-31", id="Excel serial of the day before 1949"),
    pytest.param("60", "1900-02-29", id="Excel's phantom 29 February 1900"),
    pytest.param("0", "无法识别", id="Excel serial zero"),
    pytest.param("100000", "无法识别", id="six digits are neither serial nor yyyymmdd"),
    pytest.param("2024-9/27", "无法识别", id="mixed separators"),
    pytest.param("27/09/2024", "无法识别", id="day first"),
    pytest.param("昨天", "无法识别的日期格式“昨天”，应为 YYYY-MM-DD", id="words"),
    pytest.param("", "不能为空", id="empty"),
    pytest.param("   ", "不能为空", id="blank"),
])
def test_rejected_values_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(text)


def _serial(d: date) -> str:
    return str((d - EXCEL_DAY_ZERO).days)


FORMS: list[Callable[[date], str]] = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year}-{d.month}-{d.day}",
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}/{d.month:02}/{d.day:02}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year}年{d.month}月{d.day}日".translate(FULL_WIDTH),
    lambda d: d.strftime("%Y%m%d"),
    lambda d: f"{d.isoformat()} 00:00:00",
    lambda d: f"{d.isoformat()}T10:00:00",
    _serial,
    lambda d: _serial(d) + ".0",
]


@given(st.dates(date(1949, 1, 1), date(2100, 12, 31)), st.sampled_from(FORMS))
def test_every_accepted_form_parses_back_to_its_date(d: date, form: Callable[[date], str]) -> None:
    assert parse_date(form(d)) == d


@given(st.dates(date(1949, 1, 1), date(2100, 12, 31)))
def test_format_date_is_iso_and_round_trips(d: date) -> None:
    assert format_date(d) == d.isoformat()
    assert parse_date(format_date(d)) == d


@pytest.mark.parametrize(("start", "months", "expected"), [
    pytest.param(D("2024-01-31"), 1, D("2024-02-29"), id="31 Jan + 1 month is the leap day"),
    pytest.param(D("2023-01-31"), 1, D("2023-02-28"), id="31 Jan + 1 month in a common year"),
    pytest.param(D("2024-02-29"), 12, D("2025-02-28"), id="leap day + 12 months is 28 Feb"),
    pytest.param(D("2024-03-31"), 1, D("2024-04-30"), id="31 Mar + 1 month is 30 Apr"),
    pytest.param(D("2024-11-15"), 3, D("2025-02-15"), id="months roll over the year end"),
    pytest.param(D("2024-03-31"), -1, D("2024-02-29"), id="going back clamps too"),
    pytest.param(D("2024-01-15"), -13, D("2022-12-15"), id="going back over a year end"),
    pytest.param(D("2024-05-20"), 0, D("2024-05-20"), id="zero months is the same day"),
])
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(("start", "years", "expected"), [
    pytest.param(D("2024-02-29"), 1, D("2025-02-28"), id="leap day + 1 year is 28 Feb"),
    pytest.param(D("2024-02-29"), 4, D("2028-02-29"), id="leap day + 4 years is a leap day"),
    pytest.param(D("2024-09-27"), 3, D("2027-09-27"), id="a three-year publicity window"),
])
def test_add_years(start: date, years: int, expected: date) -> None:
    assert add_years(start, years) == expected


@given(st.dates(date(1949, 1, 1), date(2100, 12, 31)), st.integers(-600, 600))
def test_adding_months_keeps_the_day_unless_the_month_is_shorter(d: date, n: int) -> None:
    moved = add_months(d, n)
    assert (moved.year * 12 + moved.month) - (d.year * 12 + d.month) == n
    month_end = (moved + timedelta(days=1)).month != moved.month
    assert moved.day == d.day or (moved.day < d.day and month_end)
    if d.day <= 28:
        assert add_months(moved, -n) == d
