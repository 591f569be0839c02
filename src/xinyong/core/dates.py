"""Dates as departments really send them, and calendar-month arithmetic.

Departments export from Excel and type by hand, so one column holds `2024-09-27`, `2024/9/27`,
`2024年9月27日`, `20240927` and Excel serial day numbers side by side. `parse_date` accepts
all of them and otherwise says, in Chinese, what is wrong with the value.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from xinyong.core.errors import CoreError, InvalidInput

# No public credit record predates the People's Republic, and a year after 2100 is a typo;
# rejecting them early keeps a mistyped year from silently opening a century-long window.
MIN_YEAR = 1949
MAX_YEAR = 2100

# Full-width digits and punctuation are common in hand-typed cells (Chinese input methods).
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Exports often carry a midnight time or an ISO time zone that says nothing about the day.
_TIME = r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_SEPARATED = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME, re.ASCII)
_CHINESE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日?" + _TIME, re.ASCII)
_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})" + _TIME, re.ASCII)
# Serials stay below 100000 (year 2173), so they never collide with 8-digit yyyymmdd.
_SERIAL = re.compile(r"(\d{1,5})(?:\.\d+)?", re.ASCII)

# Excel's 1900 date system counts a 29 February 1900 that never existed (serial 60, kept
# from Lotus 1-2-3), so from serial 61 on, day 0 is 1899-12-30 rather than 1899-12-31.
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_PHANTOM_LEAP_DAY = 60


@lru_cache(maxsize=65536)
def parse_date(text: str) -> date:
    """The day `text` names; `ValueError` with a Chinese message when it names none.

    Cached: a million-row file repeats a few thousand distinct dates.
    """
    s = text.strip()
    if len(s) == 10 and s[4] == "-" and s[7] == "-" and s.isascii():
        y, m, d = s[:4], s[5:7], s[8:]
        if y.isdigit() and m.isdigit() and d.isdigit():
            return _make(int(y), int(m), int(d), s)
    return _parse_other(s.translate(_FULL_WIDTH).strip(), s)


def _parse_other(s: str, shown: str) -> date:
    if not s:
        raise ValueError("日期不能为空")
    for pattern in (_SEPARATED, _CHINESE, _COMPACT):
        match = pattern.fullmatch(s)
        if match:
            return _make(int(match["y"]), int(match["m"]), int(match["d"]), shown)
    match = _SERIAL.fullmatch(s)
    if match:
        return _from_excel_serial(int(match.group(1)), shown)
    raise ValueError(f"无法识别的日期格式“{shown}”，应为 YYYY-MM-DD")


def _make(year: int, month: int, day: int, shown: str) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"日期“{shown}”的年份超出{MIN_YEAR}—{MAX_YEAR}年范围")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"日期“{shown}”不存在") from None


def _from_excel_serial(serial: int, shown: str) -> date:
    if serial == 0:
        raise ValueError(f"无法识别的日期格式“{shown}”，应为 YYYY-MM-DD")
    if serial == _EXCEL_PHANTOM_LEAP_DAY:
        raise ValueError(f"日期“{shown}”（Excel日期序号，即1900-02-29）不存在")
    offset = serial if serial > _EXCEL_PHANTOM_LEAP_DAY else serial + 1
    d = _EXCEL_EPOCH + timedelta(days=offset)
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(f"日期“{shown}”（Excel日期序号，即{d.isoformat()}）的年份超出"
                         f"{MIN_YEAR}—{MAX_YEAR}年范围")
    return d


def format_date(d: date) -> str:
    """The one date form xinyong writes: ISO `YYYY-MM-DD`."""
    return d.isoformat()


def iso(value: date | str | None) -> str | None:
    """A day (or an instant) as ISO text for a view or an audit detail, None kept as None;
    text passes as it is (a stored date SQLite hands back as text)."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def iso_seconds(value: date | None) -> str | None:
    """`iso`, an instant cut to the whole second; a plain day stays a day."""
    return value.replace(microsecond=0).isoformat() if isinstance(value, datetime) else iso(value)


def iso_utc(at: datetime | None) -> str | None:
    """A stored (naive UTC) instant to the whole second, marked `Z` for readers elsewhere."""
    return None if at is None else at.replace(microsecond=0).isoformat() + "Z"


def stored_day(value: date | str | None) -> date | None:
    """A day as the store or a stored view hands it back: a date, ISO text (SQLite, JSON;
    a time after the day is ignored), or nothing (None, "")."""
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def day_or_none(text: str | None) -> date | None:
    """The ISO day `text` names, or None when it is empty or names none (a filter left blank
    or mistyped narrows nothing)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def typed_day(text: str, bad: str, *, forms: bool = False, why: bool = False) -> date:
    """The day a person typed (an option, a form field): ISO `YYYY-MM-DD`, or with `forms`
    every form `parse_date` reads. One that names no day is `InvalidInput` with code
    `bad_date` and the message `bad` — followed by what `parse_date` found wrong, with `why`."""
    try:
        return parse_date(text) if forms else date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{bad}：{exc}" if why else bad, code=CoreError.BAD_DATE) from exc


def option_day(value: str | None) -> date | None:
    """A command-line option's ISO day, None when the option is not given."""
    return None if value is None else typed_day(value, f"日期“{value}”格式应为 YYYY-MM-DD")


def add_months(d: date, n: int) -> date:
    """`d` moved by `n` calendar months, the day clamped to the end of a shorter month.

    Publicity and repair periods are set in months ("公示期三年"), and the law counts a
    month from 31 January as ending on the last day of February.
    """
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, n: int) -> date:
    """`d` moved by `n` years; 29 February becomes 28 February in a common year."""
    return add_months(d, 12 * n)


# The store keeps instants as naive UTC; people read Beijing time (UTC+8, no daylight saving).
BEIJING_OFFSET = timedelta(hours=8)


def beijing_text(at: datetime | None) -> str:
    """A naive UTC instant as Beijing time, the zh-CN way: 2026年3月5日 14:07:09."""
    if at is None:
        return "—"
    local = at + BEIJING_OFFSET
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"
