"""The Chinese working-day calendar: official holidays and make-up working days (调休).

Deadlines in working days (双公示 within 7 working days of the decision, objection and repair
decisions) are counted on this calendar. Its sources, each later one overriding the earlier
ones date by date:

1. the `chinese-calendar` package, which transcribes the State Council's yearly notices;
2. `data/calendar/*.yaml` shipped with xinyong, for years announced after that package;
3. `<data_dir>/calendar/*.yaml` of a locality (`XINYONG_DATA_DIR`), so a new year's notice is
   a file to drop in, not a release to wait for.

Files in a directory are read in name order. The YAML format is described at the top of
`data/calendar/extra.yaml`. For a year no source covers, Monday to Friday are working days:
the deadline is then provisional, which callers can tell with `covers()`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from xinyong.core.dates import MAX_YEAR, MIN_YEAR
from xinyong.core.errors import RuleDataError
from xinyong.core.settings import get_settings

_ONE_DAY = timedelta(days=1)
_YEAR_KEYS = frozenset({"holidays", "workdays", "basis"})


class WorkCalendar:
    """Working days from a set of exceptions to the Monday–Friday week.

    `exceptions` maps a date to whether it is worked; only the dates that differ from the
    plain week matter (a holiday on a weekday, a make-up working day at the weekend).
    """

    def __init__(self, exceptions: Mapping[date, bool], years: Iterable[int]) -> None:
        self._exceptions = {d: worked for d, worked in exceptions.items()
                            if worked != (d.weekday() < 5)}
        self._years = frozenset(years)
        # Sorted so that counting over a long span is two binary searches, not a walk.
        self._extra_workdays = sorted(d for d, worked in self._exceptions.items() if worked)
        self._extra_holidays = sorted(d for d, worked in self._exceptions.items() if not worked)
        self._added: dict[tuple[date, int], date] = {}

    def is_workday(self, d: date) -> bool:
        worked = self._exceptions.get(d)
        return d.weekday() < 5 if worked is None else worked

    def add_workdays(self, d: date, n: int) -> date:
        """The `n`-th working day after `d`; `d` itself never counts (n >= 1).

        Cached: ingest asks this for every row, and decision dates repeat.
        """
        key = (d, n)
        found = self._added.get(key)
        if found is None:
            found = self._step(d, n)
            self._added[key] = found
        return found

    def workdays_between(self, start: date, end: date) -> int:
        """How many working days w satisfy start < w <= end; 0 when end <= start."""
        if end <= start:
            return 0
        plain = _weekdays_up_to(end) - _weekdays_up_to(start)
        return (plain + _count_in(self._extra_workdays, start, end)
                - _count_in(self._extra_holidays, start, end))

    def covered_years(self) -> set[int]:
        """Years whose official holiday arrangement is known."""
        return set(self._years)

    def covers(self, d: date) -> bool:
        return d.year in self._years

    def _step(self, d: date, n: int) -> date:
        if n < 1:
            raise ValueError(f"工作日数应为正整数，实际为{n}")
        day = d
        while n:
            day += _ONE_DAY
            if self.is_workday(day):
                n -= 1
        return day


def _weekdays_up_to(d: date) -> int:
    # Day ordinal 1 (0001-01-01) is a Monday, so every full week adds five working days.
    weeks, rest = divmod(d.toordinal(), 7)
    return 5 * weeks + min(rest, 5)


def _count_in(days: Sequence[date], start: date, end: date) -> int:
    return bisect_right(days, end) - bisect_right(days, start)


def load_calendar(extra_dirs: Iterable[Path] = ()) -> WorkCalendar:
    """The calendar from the package data, the shipped YAML, then each of `extra_dirs`."""
    exceptions: dict[date, bool] = {}
    years: set[int] = set()
    _add_package_data(exceptions, years)
    shipped = resources.files("xinyong.data").joinpath("calendar")
    for directory in (shipped, *extra_dirs):
        for name, text in _yaml_files(directory):
            file_exceptions, file_years = parse_calendar_yaml(text, name)
            exceptions.update(file_exceptions)
            years |= file_years
    return WorkCalendar(exceptions, years)


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The calendar of this installation, with the locality's files from `data_dir`."""
    data_dir = get_settings().data_dir
    return load_calendar([data_dir / "calendar"] if data_dir is not None else [])


def is_workday(d: date) -> bool:
    return default_calendar().is_workday(d)


def add_workdays(d: date, n: int) -> date:
    return default_calendar().add_workdays(d, n)


def workdays_between(start: date, end: date) -> int:
    return default_calendar().workdays_between(start, end)


def _add_package_data(exceptions: dict[date, bool], years: set[int]) -> None:
    holidays: dict[date, str] = chinese_calendar.holidays
    workdays: dict[date, str] = chinese_calendar.workdays
    exceptions.update(dict.fromkeys(holidays, False))
    exceptions.update(dict.fromkeys(workdays, True))
    known = [d.year for d in holidays]
    years.update(range(min(known), max(known) + 1))


def _yaml_files(directory: Traversable | Path) -> Iterator[tuple[str, str]]:
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and entry.is_file():
            yield str(entry), entry.read_text("utf-8")


def parse_calendar_yaml(text: str, source: str) -> tuple[dict[date, bool], set[int]]:
    """Date → worked? and the years one calendar file declares; `RuleDataError` if invalid."""
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        # PyYAML raises a bare ValueError for an unquoted impossible date such as 2027-02-30.
        raise RuleDataError(f"{source}：不是有效的YAML或含有不存在的日期：{exc}") from None
    if not isinstance(raw, dict) or set(raw) != {"years"}:
        raise RuleDataError(f"{source}：顶层应只有“years”一项")
    entries = raw["years"] or {}
    if not isinstance(entries, dict):
        raise RuleDataError(f"{source}：“years”应为“年份: 安排”的映射")
    exceptions: dict[date, bool] = {}
    years: set[int] = set()
    for key, arrangement in entries.items():
        year = _year(key, source)
        exceptions.update(_parse_year(year, arrangement, f"{source}：{year}年"))
        years.add(year)
    return exceptions, years


def _year(key: Any, source: str) -> int:
    year = int(key) if isinstance(key, int) or (isinstance(key, str) and key.isdigit()) else 0
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise RuleDataError(f"{source}：年份“{key}”无效，应为{MIN_YEAR}—{MAX_YEAR}之间的整数")
    return year


def _parse_year(year: int, arrangement: Any, where: str) -> dict[date, bool]:
    if not isinstance(arrangement, dict) or not set(arrangement) <= _YEAR_KEYS:
        raise RuleDataError(f"{where}：应为含 holidays、workdays（可选 basis）的映射")
    if not isinstance(arrangement.get("basis", ""), str):
        raise RuleDataError(f"{where}：basis 应为通知名称文字")
    holidays = _dates(year, arrangement.get("holidays"), f"{where} holidays")
    workdays = _dates(year, arrangement.get("workdays"), f"{where} workdays")
    both = sorted(holidays & workdays)
    if both:
        raise RuleDataError(f"{where}：{both[0].isoformat()} 同时列为放假日和调休上班日")
    return dict.fromkeys(holidays, False) | dict.fromkeys(workdays, True)


def _dates(year: int, items: Any, where: str) -> set[date]:
    if items is None:
        return set()
    if not isinstance(items, list):
        raise RuleDataError(f"{where}：应为日期列表")
    found: set[date] = set()
    for item in items:
        first, last = _date_range(item, where)
        # A notice for year Y may reach back into December of Y-1 (New Year's holiday) and
        # forward into January of Y+1; anything further is a mistyped year.
        if first < date(year - 1, 12, 1) or last >= date(year + 1, 2, 1):
            raise RuleDataError(f"{where}：“{item}”不在{year}年的安排范围内")
        day = first
        while day <= last:
            found.add(day)
            day += _ONE_DAY
    return found


def _date_range(item: Any, where: str) -> tuple[date, date]:
    """`2027-01-01` (YAML date or text) or the inclusive range `2027-02-05..2027-02-11`."""
    if isinstance(item, date) and not isinstance(item, datetime):
        return item, item
    if isinstance(item, str):
        first_text, _, last_text = item.partition("..")
        try:
            first = date.fromisoformat(first_text.strip())
            last = date.fromisoformat(last_text.strip()) if last_text else first
        except ValueError:
            raise RuleDataError(f"{where}：“{item}”不是日期（YYYY-MM-DD）或日期区间"
                                "（YYYY-MM-DD..YYYY-MM-DD）") from None
        if last < first:
            raise RuleDataError(f"{where}：区间“{item}”的结束日早于开始日")
        return first, last
    raise RuleDataError(f"{where}：“{item}”不是日期（YYYY-MM-DD）或日期区间")
