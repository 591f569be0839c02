"""The demo city: a deterministic synthetic prefecture-level city whose departments send
their 双公示 (licence and penalty) submissions as files.

Why: every capability downstream of ingest — publicity, checks, evaluation, the monitor —
needs a city's worth of data that behaves like the real thing, and real 双公示 data about
named people cannot be shipped. So the generator invents one, and writes it the way
departments actually send it, for the platform's own ingest to load: nothing is inserted
behind ingest's back.

What is generated (`plan_city`, then `generate_city` writes it):

- the city, its districts and about thirty departments from `data/demo_city.yaml`; each
  department has a government-body code (11…, valid check characters);
- `entities` organisations with valid codes spread over the registration departments and
  categories as in a real city (mostly 91 enterprises; 92 个体工商户, 93 合作社, 12 事业单位,
  51/52/53 社会组织, a few N2 village collectives and Y1), region-prefixed names, some sharing
  their 字号, some renamed during the history (earlier records carry the former name), some
  个体工商户 reported with the 17-zeros placeholder and their 工商注册号, and deliberate
  重错码: one code used with two unrelated names, one organisation under two codes;
- legal representatives and natural persons with valid resident ID numbers (GB 11643);
- licences and penalties over the two to three years before `today` with realistic volumes,
  outcomes, fines (万元) and document numbers in each department's official style, decided
  on working days (the Chinese calendar of `core.workdays`);
- one file per department, kind and reporting period, received on the first working day
  from the Monday after the period: half-years and quarters for the oldest history (the
  backfill of a platform going live, so mostly late by the 7-working-day rule), then months,
  then weeks for the departments that report weekly (on time); some batches late, some rows
  reported months late. Finer periods throughout would put most rows on time but mean
  thousands of files; the windows are data (`reporting` in the YAML);
- file formats as departments send them: XLSX with date cells, CSV in UTF-8 with BOM or in
  GB18030, Chinese template headers or CF_*/XK_* codes, numeric enumeration codes, dates as
  `2024-09-27`, `2024/9/27` or `2024年9月27日`;
- about 2 % invalid rows of every kind real files contain (`BAD_KINDS`), and valid rows that
  exercise versioning: corrections (an earlier document number re-submitted with a changed
  field) and re-submissions of rejected rows.

Same arguments, same bytes: all randomness comes from one `random.Random(seed)`, and the only
date used is `today`.

`write_penalty_file` streams a large penalty CSV for the ingest benchmark.
"""

from __future__ import annotations

import csv
import io
import math
import random
import zipfile
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

from xinyong.core.amounts import format_wan
from xinyong.core.dates import add_months, add_years
from xinyong.core.uscc import ALPHABET, check_character, org_check_character, tables
from xinyong.core.workdays import WorkCalendar, load_calendar

KINDS = ("licence", "penalty")
ITEM_NAMES = {"licence": "行政许可", "penalty": "行政处罚"}
# Invalid rows: each must be returned by ingest with a reason.
BAD_KINDS = ("bad_uscc", "missing_field", "bad_date", "bad_enum", "duplicate_doc_no")
# Valid rows worth knowing about: reported long after the decision; an earlier document
# number re-submitted with a changed field (a new version); a rejected row sent again fixed.
VALID_ISSUES = ("late", "correction", "resubmission")

# GB 11643-1999 resident identity number: weights of the 17 digits, check character by sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_DIGITS = "0123456789"
_ONE_DAY = timedelta(days=1)
# Publicity tiers (shared/reference/rules.md §2): months of the maximum period, used as the
# 处罚有效期 departments fill in; and the categories that make a penalty serious.
_TIER_MONTHS = {"轻微": 3, "一般": 12, "严重": 36}
_TIER_ORDER = ("轻微", "一般", "严重")
_SERIOUS = frozenset({"吊销许可证件", "责令停产停业", "责令关闭", "限制从业",
                      "限制开展生产经营活动", "降低资质等级"})
_MINOR = frozenset({"警告", "通报批评", "罚款"})
_LONG_VALID = date(2099, 12, 31)  # how departments write a licence without an end date


@dataclass(frozen=True)
class DemoBatch:
    """One written file, in the order it should be ingested."""

    path: Path
    department: str
    kind: str  # "licence" | "penalty"
    received: date
    rows: int
    bad_rows: int  # rows ingest must return (BAD_KINDS); late rows and corrections are valid
    backfill: bool = False  # historical backfill of a platform going live (历史数据补录)
    department_uscc: str | None = None  # the department's own code, for its registration


# --- the city as data ---------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    categories: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Violation:
    type: str
    facts: str
    basis: str
    fine: tuple[int, int]  # yuan
    outcomes: tuple[Outcome, ...]
    severity: str | None
    persons: str  # "no" | "yes" | "only": may the subject be a natural person


@dataclass(frozen=True)
class LicenceType:
    certificate: str
    category: str
    years: int  # 0: no end date
    number: str  # format with region, year, seq
    weight: float
    content: tuple[str, ...]
    persons: bool  # issued to natural persons only


@dataclass(frozen=True)
class FileStyle:
    format: str  # xlsx | csv_utf8_bom | csv_gb18030
    headers: str  # label | code
    dates: str  # iso | slash | chinese
    coded: bool
    amount_decimals: int | None
    severity: bool

    @property
    def suffix(self) -> str:
        return ".xlsx" if self.format == "xlsx" else ".csv"


@dataclass(frozen=True)
class Department:
    key: str
    name: str
    uscc: str
    weekly: bool
    kinds: dict[str, float]
    focus: frozenset[str]
    persons: dict[str, float]
    weekend_share: float
    style: FileStyle
    volume: dict[str, float]
    doc_no: dict[str, str]
    doc_name: str
    licences: tuple[LicenceType, ...]
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class Reporting:
    half_years: int
    quarters: int
    monthly_months: int
    weekly_weeks: int
    licences_per_entity: float
    penalties_per_entity: float
    bad_row_share: float
    late_row_share: float
    late_batch_share: float
    correction_share: float
    resubmission_share: float
    renamed_share: float


@dataclass(frozen=True)
class OrgKind:
    code: str
    share: float
    category: str
    register: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str


@dataclass(frozen=True)
class Organisation:
    uscc: str
    name: str
    kind: str  # first two characters of the code, e.g. "91"
    category: str  # 行政相对人类别
    region: str
    tags: frozenset[str]
    legal_rep: Person
    activity: float
    former_name: str | None = None
    renamed_on: date | None = None
    reg_no: str | None = None  # 工商注册号, for a 个体工商户 reported with the placeholder
    alt_uscc: str | None = None  # the other code one department reports it under
    alt_department: str | None = None
    issue: str | None = None  # "shared_code" | "two_codes" | "placeholder"

    def name_on(self, day: date) -> str:
        if self.former_name and self.renamed_on and day < self.renamed_on:
            return self.former_name
        return self.name

    def code_for(self, department: str) -> str:
        return self.alt_uscc if self.alt_uscc and department == self.alt_department else self.uscc


Subject = Organisation | Person


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str  # 2024H2 | 2025Q1 | 2025-04 | 2025W18

    @property
    def backfill(self) -> bool:
        """Historical backfill (half-years, quarters): late by nature, not by negligence."""
        return self.label[4] in "HQ"


@dataclass
class PlannedRow:
    values: dict[str, Any]  # catalog field name -> str | date | Decimal | tuple[str, ...] | None
    issue: str | None = None  # a BAD_KINDS or VALID_ISSUES entry


@dataclass
class PlannedBatch:
    department: Department
    kind: str
    period: Period
    received: date
    rows: list[PlannedRow] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return sum(1 for r in self.rows if r.issue in BAD_KINDS)


@dataclass
class CityPlan:
    """Everything generated, before it is written: tests and demos read the truth here."""

    city: str
    start: date
    today: date
    reporting: Reporting
    departments: list[Department]
    organisations: list[Organisation]
    batches: list[PlannedBatch]  # in ingest order


@dataclass(frozen=True)
class _CityData:
    raw: dict[str, Any]
    reporting: Reporting
    kinds: tuple[OrgKind, ...]
    departments: tuple[dict[str, Any], ...]
    default_outcomes: tuple[Outcome, ...]


@lru_cache(maxsize=1)
def _city_data() -> _CityData:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("xinyong.data").joinpath("demo_city.yaml").read_text("utf-8"))
    rep = raw["reporting"]
    reporting = Reporting(
        half_years=int(rep["half_years"]), quarters=int(rep["quarters"]),
        monthly_months=int(rep["monthly_months"]),
        weekly_weeks=int(rep["weekly_weeks"]),
        licences_per_entity=float(rep["licences_per_entity"]),
        penalties_per_entity=float(rep["penalties_per_entity"]),
        bad_row_share=float(rep["bad_row_share"]), late_row_share=float(rep["late_row_share"]),
        late_batch_share=float(rep["late_batch_share"]),
        correction_share=float(rep["correction_share"]),
        resubmission_share=float(rep["resubmission_share"]),
        renamed_share=float(rep["renamed_share"]))
    kinds = tuple(OrgKind(str(k["code"]), float(k["share"]), str(k["category"]),
                          str(k["register"]), tuple(str(b) for b in k["body"]))
                  for k in raw["organisation_kinds"])
    return _CityData(raw, reporting, kinds, tuple(raw["departments"]),
                     _outcomes(raw["penalty_outcomes"]))


def _outcomes(raw: Sequence[dict[str, Any]]) -> tuple[Outcome, ...]:
    return tuple(Outcome(tuple(str(c) for c in o["categories"]), float(o["weight"])) for o in raw)


def _department(raw: dict[str, Any], uscc: str, default_outcomes: tuple[Outcome, ...]
                ) -> Department:
    f = raw["file"]
    style = FileStyle(str(f["format"]), str(f["headers"]), str(f["dates"]),
                      bool(f.get("coded", False)),
                      int(f["amount_decimals"]) if f.get("amount_decimals") else None,
                      bool(f.get("severity", False)))
    volume = {k: float(raw[k]["weight"]) for k in KINDS if k in raw}
    doc_no = {k: str(raw[k]["doc_no"]) for k in KINDS if k in raw}
    licences = tuple(
        LicenceType(str(t["certificate"]), str(t["category"]), int(t["years"]), str(t["number"]),
                    float(t["weight"]), tuple(str(c) for c in t["content"]),
                    bool(t.get("persons", False)))
        for t in raw.get("licences", ()))
    violations = tuple(
        Violation(str(v["type"]), str(v["facts"]), str(v["basis"]),
                  (int(v["fine"][0]), int(v["fine"][1])),
                  _outcomes(v["outcomes"]) if "outcomes" in v else default_outcomes,
                  v.get("severity"),
                  "only" if v.get("persons") == "only" else "yes" if v.get("persons") else "no")
        for v in raw.get("violations", ()))
    persons = {k: float(raw["persons"].get(k, 0)) for k in KINDS}
    dept = Department(
        key=str(raw["key"]), name=str(raw["name"]), uscc=uscc, weekly=bool(raw["weekly"]),
        kinds={str(k): float(v) for k, v in raw["kinds"].items()},
        focus=frozenset(str(t) for t in raw["focus"]), persons=persons,
        weekend_share=float(raw.get("weekend_share", 0.0)), style=style, volume=volume,
        doc_no=doc_no, doc_name=str(raw.get("licence", {}).get("doc_name", "")),
        licences=licences, violations=violations)
    _check_department(dept)
    return dept


def _check_department(d: Department) -> None:
    """The data file promises what the generator relies on; say which entry breaks it."""
    where = f"demo_city.yaml 部门 {d.key}"
    if "licence" in d.volume and not any(not t.persons for t in d.licences):
        raise ValueError(f"{where}：有行政许可量但没有面向组织的许可类型")
    if "penalty" in d.volume and not any(v.persons != "only" for v in d.violations):
        raise ValueError(f"{where}：有行政处罚量但没有面向组织的违法行为")
    if d.persons["licence"] and not any(t.persons for t in d.licences):
        raise ValueError(f"{where}：自然人许可比例大于0但没有面向自然人的许可类型")
    if d.persons["penalty"] and not any(v.persons != "no" for v in d.violations):
        raise ValueError(f"{where}：自然人处罚比例大于0但没有可处罚自然人的违法行为")


# --- catalog columns ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Column:
    name: str
    label: str
    code: str | None
    type: str
    enum: str | None


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, tuple[_Column, ...]], dict[str, dict[str, str]]]:
    """The penalty and licence columns in template order, and each enumeration's numeric code."""
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("xinyong.data").joinpath("catalog", "national.yaml").read_text("utf-8"))
    columns = {
        item["code"]: tuple(_Column(str(f["name"]), str(f["label"]), f.get("code"), str(f["type"]),
                                    f.get("enum"))
                            for f in item["fields"])
        for item in raw["items"] if item["code"] in KINDS}
    numeric: dict[str, dict[str, str]] = {}
    for name, values in raw["enums"].items():
        for v in values:
            code = next((str(a) for a in v.get("aliases", ()) if str(a).isdigit()), None)
            if code:
                numeric.setdefault(str(name), {})[str(v["value"])] = code
    return columns, numeric


def columns_for(kind: str, style: FileStyle) -> tuple[_Column, ...]:
    cols, _ = _catalog()
    if style.headers == "code":
        return tuple(c for c in cols[kind] if c.code)
    return tuple(c for c in cols[kind] if c.name != "severity" or style.severity)


def header_for(kind: str, style: FileStyle) -> list[str]:
    return [str(c.code) if style.headers == "code" else c.label for c in columns_for(kind, style)]


# --- small value generators -----------------------------------------------------------------

def resident_id_check(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def registration_number_check(first14: str) -> str:
    """Check digit of a 15-digit 工商注册号 (GB/T 17710, ISO 7064 MOD 11,10)."""
    p = 10
    for ch in first14:
        s = (p + int(ch)) % 10 or 10
        p = s * 2 % 11
    return str((11 - p) % 10)


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _pick(rng: random.Random, items: Sequence[Any], cum: Sequence[float]) -> Any:
    if not cum[-1]:
        return items[0]
    return items[min(len(items) - 1, bisect_right(cum, rng.random() * cum[-1]))]


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    if hi <= lo:
        return lo
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _round_yuan(yuan: float) -> int:
    step = 50 if yuan < 1000 else 100 if yuan < 100_000 else 1000
    return max(step, round(yuan / step) * step)


def _wan(yuan: Decimal) -> Decimal:
    return yuan / Decimal(10000)


def _yuan_text(yuan: Decimal) -> str:
    return format_wan(yuan)  # plain notation without trailing zeros, whatever the unit


class _Names:
    """Names of people and organisations, unique where they must be."""

    def __init__(self, rng: random.Random, data: _CityData) -> None:
        self.rng = rng
        raw = data.raw
        parts = raw["name_parts"]
        self.city = str(raw["city"]["name"])
        self.city_short = str(raw["city"]["short"])
        self.surnames: list[str] = list(parts["surnames"])
        self.given: list[str] = list(parts["given"])
        self.trade_chars: list[str] = list(parts["trade_chars"])
        self.places: list[str] = list(parts["places"])
        self.products: list[str] = list(raw["products"])
        self.forms = [str(f["word"]) for f in parts["legal_forms"]]
        self.forms_cum = _cumulative([float(f["weight"]) for f in parts["legal_forms"]])
        self.styles = [str(s["style"]) for s in parts["city_styles"]]
        self.styles_cum = _cumulative([float(s["weight"]) for s in parts["city_styles"]])
        self.industries = [(str(i["word"]), frozenset(str(t) for t in i["tags"]))
                           for i in raw["industries"]]
        self.industries_cum = _cumulative([float(i["weight"]) for i in raw["industries"]])
        self.shops = [(str(s["word"]), frozenset(str(t) for t in s["tags"])) for s in raw["shops"]]
        self.shops_cum = _cumulative([float(s["weight"]) for s in raw["shops"]])
        self.other = {str(k): [(str(p["pattern"]), frozenset(str(t) for t in p["tags"]))
                               for p in v]
                      for k, v in raw["other_names"].items()}
        self.used: set[str] = set()

    def person(self) -> str:
        given = self.rng.choice(self.given)
        if self.rng.random() < 0.7:
            given += self.rng.choice(self.given)
        return self.rng.choice(self.surnames) + given

    def trade(self) -> str:
        n = 3 if self.rng.random() < 0.15 else 2
        return "".join(self.rng.sample(self.trade_chars, n))

    def _unique(self, make: Callable[[], tuple[str, frozenset[str]]]
                ) -> tuple[str, frozenset[str]]:
        for _ in range(200):
            name, tags = make()
            if name not in self.used:
                self.used.add(name)
                return name, tags
        # Only at benchmark scale do the narrow patterns (schools, village collectives) run
        # out; a numbered name keeps codes and names one-to-one there.
        n = 2
        while f"{name}（{n}）" in self.used:
            n += 1
        self.used.add(f"{name}（{n}）")
        return f"{name}（{n}）", tags

    def enterprise(self, trade: str | None = None) -> tuple[str, frozenset[str]]:
        def make() -> tuple[str, frozenset[str]]:
            t = trade or self.trade()
            word, tags = _pick(self.rng, self.industries, self.industries_cum)
            form = _pick(self.rng, self.forms, self.forms_cum)
            style = _pick(self.rng, self.styles, self.styles_cum)
            if style == "bracket":
                return f"{t}（{self.city_short}）{word}{form}", tags
            prefix = self.city if style == "city" else self.city_short
            return f"{prefix}{t}{word}{form}", tags
        return self._unique(make)

    def shop(self, district: str) -> tuple[str, frozenset[str]]:
        def make() -> tuple[str, frozenset[str]]:
            word, tags = _pick(self.rng, self.shops, self.shops_cum)
            r = self.rng.random()
            if r < 0.45:
                middle = self.rng.choice(self.surnames) + "记"
            elif r < 0.55:
                middle = self.person()
            else:
                middle = self.trade()
            prefix = district if self.rng.random() < 0.8 else self.city + district
            return f"{prefix}{middle}{word}", tags
        return self._unique(make)

    def other_kind(self, kind: str, district: str, town: str) -> tuple[str, frozenset[str]]:
        def make() -> tuple[str, frozenset[str]]:
            pattern, tags = self.rng.choice(self.other[kind])
            industry = _pick(self.rng, self.industries, self.industries_cum)[0]
            name = pattern.format(district=district, place=self.rng.choice(self.places),
                                  trade=self.trade(), industry=industry, town=town,
                                  product=self.rng.choice(self.products))
            return name, tags
        return self._unique(make)


# --- the plan -------------------------------------------------------------------------------

class _Planner:
    def __init__(self, entities: int, seed: int, today: date) -> None:
        if entities < 1:
            raise ValueError("entities 至少为1")
        self.rng = random.Random(seed)
        self.data = _city_data()
        self.rep = self.data.reporting
        self.today = today
        self.calendar = _calendar()
        self.names = _Names(self.rng, self.data)
        raw = self.data.raw
        self.city_code = str(raw["city"]["code"])
        self.districts = [(str(d["code"]), str(d["name"])) for d in raw["districts"]]
        self.districts_cum = _cumulative([float(d["weight"]) for d in raw["districts"]])
        self.district_names = dict(self.districts)
        self.rural = [str(c) for c in raw["rural_districts"]]
        self.towns = {str(k): [str(t) for t in v] for k, v in raw["towns"].items()}
        self.birthplaces = [str(b["code"]) for b in raw["birthplaces"]]
        self.birthplaces_cum = _cumulative([float(b["weight"]) for b in raw["birthplaces"]])
        self.codes: set[str] = set()
        self.start = history_start(today, self.rep)
        self.entities = entities

    # people and codes

    def person(self, born_from: int = 1958, born_to: int = 2002) -> Person:
        place = _pick(self.rng, self.birthplaces, self.birthplaces_cum)
        first = date(born_from, 1, 1).toordinal()
        born = date.fromordinal(self.rng.randrange(first, date(born_to, 12, 31).toordinal()))
        first17 = f"{place}{born:%Y%m%d}{self.rng.randrange(1, 1000):03d}"
        return Person(self.names.person(), first17 + resident_id_check(first17))

    def code(self, head: str, region: str, bodies: Sequence[str]) -> str:
        letters = ALPHABET
        while True:
            body = self.rng.choice(bodies)
            pool = letters if body[0].isalpha() else _DIGITS
            body += "".join(self.rng.choice(pool) for _ in range(8 - len(body)))
            first17 = head + region + body + org_check_character(body)
            code = first17 + check_character(first17)
            if code not in self.codes:
                self.codes.add(code)
                return code

    def district(self) -> tuple[str, str]:
        code: str = _pick(self.rng, [c for c, _ in self.districts], self.districts_cum)
        return code, self.district_names[code]

    # organisations

    def departments(self) -> list[Department]:
        return [_department(d, self.code("11", self.city_code, ["MB"]), self.data.default_outcomes)
                for d in self.data.departments]

    def organisations(self) -> list[Organisation]:
        kinds = self.data.kinds
        counts = _apportion(self.entities, [k.share for k in kinds])
        shared = [str(t) for t in self.data.raw["name_parts"]["shared_trade_names"]]
        per_shared = max(3, self.entities // 1500)
        orgs: list[Organisation] = []
        for kind, count in zip(kinds, counts, strict=True):
            for i in range(count):
                trade = None
                if kind.code == "91" and i < per_shared * len(shared):
                    trade = shared[i % len(shared)]
                orgs.append(self.organisation(kind, trade))
        self.rng.shuffle(orgs)
        return orgs

    def organisation(self, kind: OrgKind, trade: str | None = None) -> Organisation:
        rng = self.rng
        district, district_name = self.district()
        if kind.register == "rural":
            district = rng.choice(self.rural)
            district_name = self.district_names[district]
        if kind.register == "city" or (kind.register == "city_or_district" and rng.random() < 0.55):
            region = self.city_code
        else:
            region = district
        town = rng.choice(self.towns.get(district, [""]))
        if kind.code == "91":
            name, tags = self.names.enterprise(trade)
        elif kind.code == "92":
            name, tags = self.names.shop(district_name)
        else:
            name, tags = self.names.other_kind(kind.code, district_name, town)
        code = self.code(kind.code, region, kind.body)
        rep = self.person()
        activity = min(40.0, rng.paretovariate(1.4))
        former = renamed = None
        if kind.code == "91" and trade is None and rng.random() < self.rep.renamed_share:
            former = self.names.enterprise()[0]
            span = (self.today - self.start).days
            renamed = self.start + timedelta(days=rng.randrange(span // 5, span * 4 // 5))
        reg_no = issue = None
        placeholder_share = float(self.data.raw["placeholder_share"])
        if kind.code == "92" and rng.random() < placeholder_share:
            first14 = f"{district}6{rng.randrange(10**7):07d}"
            reg_no = first14 + registration_number_check(first14)
            code, issue = tables().placeholder, "placeholder"
        return Organisation(code, name, kind.code, kind.category, region, tags, rep, activity,
                            former, renamed, reg_no, issue=issue)

    def wrong_codes(self, orgs: list[Organisation], departments: list[Department]
                    ) -> list[tuple[Organisation, Department, int]]:
        """重错码: one code used with an unrelated second name; one organisation under two
        codes in one department's reports. Returns the records that must exist for them."""
        rng = self.rng
        cases = max(1, self.entities // 5000)
        plain = [i for i, o in enumerate(orgs) if o.kind == "91" and o.issue is None
                 and o.former_name is None]
        chosen = rng.sample(plain, min(len(plain), 2 * cases))
        reporters = [d for d in departments if "licence" in d.volume and "91" in d.kinds]
        forced: list[tuple[Organisation, Department, int]] = []
        kind91 = next(k for k in self.data.kinds if k.code == "91")
        for n, index in enumerate(chosen):
            org = orgs[index]
            first, second = rng.sample(reporters, 2)
            if n % 2 == 0:
                impostor_name, tags = self.names.enterprise()
                impostor = Organisation(org.uscc, impostor_name, "91", kind91.category, org.region,
                                        tags, self.person(), 1.0, issue="shared_code")
                orgs.append(impostor)
                forced += [(impostor, first, 3), (org, second, 2)]
            else:
                alt = self.code("91", org.region, kind91.body)
                orgs[index] = Organisation(
                    org.uscc, org.name, org.kind, org.category, org.region, org.tags, org.legal_rep,
                    org.activity, alt_uscc=alt, alt_department=first.key, issue="two_codes")
                forced += [(orgs[index], first, 3), (orgs[index], second, 2)]
        return forced


def _apportion(total: int, shares: Sequence[float]) -> list[int]:
    """Integer counts proportional to `shares` summing to `total` (largest remainder)."""
    s = sum(shares)
    exact = [total * x / s for x in shares]
    counts = [int(e) for e in exact]
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


@lru_cache(maxsize=1)
def _calendar() -> WorkCalendar:
    # The shipped calendar only, not a locality's files: the demo must not depend on where
    # it is generated.
    return load_calendar()


# --- periods --------------------------------------------------------------------------------

def _month_start(d: date) -> date:
    return d.replace(day=1)


def _quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)


def _next_monday(d: date) -> date:
    return d + timedelta(days=7 - d.weekday())


def _half_start(d: date) -> date:
    return date(d.year, 1 if d.month <= 6 else 7, 1)


def _phase(first: date, count: int, months: int, end: date, label: Callable[[date], str]
           ) -> list[Period]:
    """`count` calendar periods of `months` months from `first`; the last one stretched to
    `end`, so the days before the next phase starts are not a period of their own."""
    out = []
    for i in range(count):
        start = add_months(first, i * months)
        stop = end if i == count - 1 else add_months(start, months) - _ONE_DAY
        out.append(Period(start, stop, label(start)))
    return out


def _phase_starts(today: date, rep: Reporting) -> tuple[date, date, date, date]:
    """Where the half-yearly, quarterly, monthly and weekly phases begin."""
    monday = today - timedelta(days=today.weekday())
    weekly_start = monday - timedelta(weeks=rep.weekly_weeks)
    monthly_start = add_months(_month_start(weekly_start), -rep.monthly_months)
    quarterly_start = add_months(_quarter_start(monthly_start), -3 * rep.quarters)
    start = add_months(_half_start(quarterly_start), -6 * rep.half_years)
    return start, quarterly_start, monthly_start, weekly_start


def history_start(today: date, rep: Reporting) -> date:
    return _phase_starts(today, rep)[0]


def periods_for(weekly: bool, today: date, rep: Reporting) -> list[Period]:
    """Reporting periods of a department, oldest first and without gaps: half-years and then
    quarters of historical backfill, then months, then (for weekly reporters) the last
    complete weeks. Counted back from `today` in whole periods, so a department has the same
    number of periods whatever the day; every period has ended and its report is due."""
    start, quarterly_start, monthly_start, weekly_start = _phase_starts(today, rep)
    out = _phase(start, rep.half_years, 6, quarterly_start - _ONE_DAY,
                 lambda d: f"{d.year}H{1 if d.month == 1 else 2}")
    out += _phase(quarterly_start, rep.quarters, 3, monthly_start - _ONE_DAY,
                  lambda d: f"{d.year}Q{(d.month - 1) // 3 + 1}")
    if weekly:
        out += _phase(monthly_start, rep.monthly_months, 1, weekly_start - _ONE_DAY,
                      lambda d: f"{d:%Y-%m}")
        for w in range(rep.weekly_weeks):
            first = weekly_start + timedelta(weeks=w)
            year, week, _ = first.isocalendar()
            out.append(Period(first, first + timedelta(days=6), f"{year}W{week:02d}"))
        return out
    m = monthly_start
    while _next_monday(add_months(m, 1) - _ONE_DAY) <= today:
        out.append(Period(m, add_months(m, 1) - _ONE_DAY, f"{m:%Y-%m}"))
        m = add_months(m, 1)
    return out


# --- records --------------------------------------------------------------------------------

@dataclass
class _Record:
    department: Department
    decision: date
    subject: Subject
    values: dict[str, Any] = field(default_factory=dict)


class _Values:
    """The catalog fields of one record, as the department fills them in."""

    def __init__(self, rng: random.Random, city_code: str) -> None:
        self.rng = rng
        self.city_code = city_code
        self.seq: dict[tuple[str, str], int] = {}

    def subject(self, s: Subject, dept: Department, day: date) -> dict[str, Any]:
        if isinstance(s, Person):
            return {"subject_name": s.name, "subject_category": "自然人", "id_type": "身份证",
                    "id_number": s.id_number}
        v: dict[str, Any] = {
            "subject_name": s.name_on(day), "subject_category": s.category,
            "uscc": s.code_for(dept.key), "legal_rep": s.legal_rep.name,
            "legal_rep_id_type": "身份证", "legal_rep_id_number": s.legal_rep.id_number}
        if s.reg_no:
            v["reg_no"] = s.reg_no
        return v

    def _licence_number(self, dept: Department, t: LicenceType, region: str, year: int) -> str:
        key = (dept.key, t.certificate)
        self.seq[key] = self.seq.get(key, 0) + 1
        return t.number.format(region=region, year=year, seq=self.seq[key])

    def licence(self, dept: Department, s: Subject, day: date, doc_no: str) -> dict[str, Any]:
        rng = self.rng
        person = isinstance(s, Person)
        types = [t for t in dept.licences if t.persons == person]
        t = _pick(rng, types, _cumulative([x.weight for x in types]))
        region = self.city_code if isinstance(s, Person) else s.region
        valid_from = day if rng.random() < 0.9 else day + _ONE_DAY
        valid_to = (add_years(valid_from, t.years) - _ONE_DAY) if t.years else _LONG_VALID
        v = self.subject(s, dept, day)
        v.update({
            "doc_name": dept.doc_name, "doc_no": doc_no, "licence_category": t.category,
            "certificate_name": t.certificate,
            "licence_no": self._licence_number(dept, t, region, day.year),
            "licence_content": rng.choice(t.content), "decision_date": day,
            "valid_from": valid_from, "valid_to": valid_to, "authority": dept.name,
            "authority_uscc": dept.uscc, "status": "1" if dept.style.coded else "有效",
            "source_unit": dept.name, "source_unit_uscc": dept.uscc})
        return v

    def penalty(self, dept: Department, s: Subject, day: date, doc_no: str) -> dict[str, Any]:
        rng = self.rng
        person = isinstance(s, Person)
        violations = [x for x in dept.violations if (x.persons != "no" if person
                                                     else x.persons != "only")]
        viol: Violation = rng.choice(violations)
        outcome: Outcome = _pick(rng, viol.outcomes, _cumulative([o.weight for o in viol.outcomes]))
        cats = outcome.categories
        exact_cents = dept.style.amount_decimals in (None, 6)
        parts: list[str] = []
        fine = confiscated = None
        affected = None
        for c in cats:
            if c == "罚款":
                lo, hi = viol.fine
                fine = Decimal(_round_yuan(_log_uniform(rng, max(lo, 50), max(hi, 50))))
                parts.append(f"罚款人民币{_yuan_text(fine)}元")
            elif c in ("没收违法所得", "没收非法财物"):
                raw = _log_uniform(rng, 200, max(2000, viol.fine[1] / 2))
                confiscated = (Decimal(f"{raw:.2f}") if exact_cents and rng.random() < 0.3
                               else Decimal(int(raw)))
                what = "违法所得" if c == "没收违法所得" else "非法财物（价值）"
                parts.append(f"没收{what}人民币{_yuan_text(confiscated)}元")
            elif c in ("暂扣许可证件", "吊销许可证件"):
                affected = self._affected_licence(dept, s)
                cert = affected.split("（")[0]
                parts.append(f"暂扣{cert}{rng.randint(1, 6)}个月" if c == "暂扣许可证件"
                             else f"吊销{cert}")
            elif c == "责令停产停业":
                parts.append(f"责令停产停业{rng.choice((7, 15, 30))}日")
            elif c == "行政拘留":
                parts.append(f"行政拘留{rng.randint(3, 10)}日")
            elif c == "其他":
                parts.append("责令限期改正")
            else:
                parts.append(c)
        tier = _tier(cats, fine, person or (isinstance(s, Organisation) and s.kind == "92"),
                     viol.severity)
        valid_until = add_months(day, _TIER_MONTHS[tier])
        # 公示截止期 is the last day shown: the platform's window for a period of N months runs
        # from the decision up to and including the day before the same day N months later
        # (publicity/rules.py), so the file the department writes says that day, not the next.
        publicity_until = valid_until - _ONE_DAY
        v = self.subject(s, dept, day)
        v.update({
            "doc_no": doc_no, "violation_type": viol.type, "violation_facts": viol.facts,
            "penalty_basis": viol.basis, "penalty_categories": cats,
            "penalty_content": "；".join(parts),
            "fine_amount": _wan(fine) if fine is not None else None,
            "confiscated_amount": _wan(confiscated) if confiscated is not None else None,
            "licence_affected": affected, "decision_date": day, "valid_until": valid_until,
            "publicity_until": publicity_until if dept.style.headers == "label" else None,
            "authority": dept.name, "authority_uscc": dept.uscc, "source_unit": dept.name,
            "source_unit_uscc": dept.uscc, "severity": tier})
        return v

    def _affected_licence(self, dept: Department, s: Subject) -> str:
        types = [t for t in dept.licences if not t.persons]
        if not types:
            return "相关许可证件"
        t = self.rng.choice(types)
        region = s.region if isinstance(s, Organisation) else self.city_code
        number = t.number.format(region=region, year=2020 + self.rng.randrange(5),
                                 seq=self.rng.randrange(1, 10000))
        return f"{t.certificate}（{number}）"


def _tier(cats: tuple[str, ...], fine: Decimal | None, low_threshold_person: bool,
          declared: str | None) -> str:
    if _SERIOUS.intersection(cats):
        return "严重"
    threshold = Decimal(10_000) if low_threshold_person else Decimal(100_000)
    base = "轻微" if set(cats) <= _MINOR and (fine is None or fine < threshold) else "一般"
    if declared and _TIER_ORDER.index(declared) > _TIER_ORDER.index(base):
        return declared
    return base


def plan_city(entities: int = 10_000, seed: int = 20261122, today: date | None = None
              ) -> CityPlan:
    """Generate the demo city in memory: organisations, departments and every batch's rows."""
    today = today or date.today()
    p = _Planner(entities, seed, today)
    rng, rep, cal = p.rng, p.rep, p.calendar
    departments = p.departments()
    orgs = p.organisations()
    forced = p.wrong_codes(orgs, departments)
    persons = [p.person() for _ in range(max(20, entities // 5))]
    values = _Values(rng, p.city_code)

    periods = {d.key: periods_for(d.weekly, today, rep) for d in departments}
    totals = {"licence": entities * rep.licences_per_entity,
              "penalty": entities * rep.penalties_per_entity}
    weight_sums = {k: sum(d.volume.get(k, 0.0) for d in departments) for k in KINDS}
    pool = [o for o in orgs if o.issue != "shared_code"]

    records: dict[tuple[str, str], list[_Record]] = {}
    for dept in departments:
        last = periods[dept.key][-1].end
        workdays, offdays = _days(cal, p.start, last)
        for kind in KINDS:
            if kind not in dept.volume:
                continue
            n = round(totals[kind] * dept.volume[kind] / weight_sums[kind])
            cum = _cumulative([_subject_weight(o, dept, kind) for o in pool])
            stream = records.setdefault((dept.key, kind), [])
            for _ in range(n):
                day = _decision_day(rng, workdays, offdays, dept.weekend_share)
                person = rng.random() < dept.persons[kind]
                subject: Subject = rng.choice(persons) if person else _pick(rng, pool, cum)
                stream.append(_Record(dept, day, subject))
    for org, dept, count in forced:
        last = periods[dept.key][-1].end
        workdays, _ = _days(cal, p.start, last)
        for _ in range(count):
            records[(dept.key, "licence")].append(
                _Record(dept, rng.choice(workdays), org))

    # Document numbers run through each department's year in decision order.
    for (_, kind), stream in records.items():
        stream.sort(key=lambda r: r.decision)
        counter: dict[int, int] = {}
        for r in stream:
            counter[r.decision.year] = counter.get(r.decision.year, 0) + 1
            doc_no = r.department.doc_no[kind].format(year=r.decision.year,
                                                      n=counter[r.decision.year])
            make = values.licence if kind == "licence" else values.penalty
            r.values = make(r.department, r.subject, r.decision, doc_no)

    batches = _batches(rng, cal, departments, periods, records, rep, today)
    corrected = _corrections(rng, batches, rep)
    _bad_rows(rng, batches, rep, values, pool, persons, corrected)
    ordered = sorted((b for bs in batches.values() for b in bs if b.rows),
                     key=lambda b: (b.received, b.period.start, b.department.key, b.kind))
    return CityPlan(str(p.data.raw["city"]["name"]), p.start, today, rep, departments, orgs,
                    ordered)


def _subject_weight(o: Organisation, dept: Department, kind: str) -> float:
    w = dept.kinds.get(o.kind, 0.0)
    if not w:
        return 0.0
    if o.tags & dept.focus:
        w *= 4.0
    return w * (o.activity if kind == "penalty" else o.activity ** 0.3)


@lru_cache(maxsize=64)
def _days(cal: WorkCalendar, start: date, end: date) -> tuple[list[date], list[date]]:
    work: list[date] = []
    off: list[date] = []
    d = start
    while d <= end:
        (work if cal.is_workday(d) else off).append(d)
        d += _ONE_DAY
    return work, off


def _decision_day(rng: random.Random, workdays: list[date], offdays: list[date],
                  weekend_share: float) -> date:
    if offdays and rng.random() < weekend_share:
        return rng.choice(offdays)
    return rng.choice(workdays)


def _first_workday(cal: WorkCalendar, d: date) -> date:
    while not cal.is_workday(d):
        d += _ONE_DAY
    return d


def _batches(rng: random.Random, cal: WorkCalendar, departments: list[Department],
             periods: dict[str, list[Period]], records: dict[tuple[str, str], list[_Record]],
             rep: Reporting, today: date) -> dict[tuple[str, str], list[PlannedBatch]]:
    out: dict[tuple[str, str], list[PlannedBatch]] = {}
    for dept in departments:
        ps = periods[dept.key]
        starts = [x.start for x in ps]
        for kind in KINDS:
            if kind not in dept.volume:
                continue
            stream: list[PlannedBatch] = []
            for period in ps:
                received = _first_workday(cal, _next_monday(period.end))
                if period.end - period.start > timedelta(days=7):
                    received = cal.add_workdays(received, rng.randint(1, 4))
                elif rng.random() < 0.25:
                    received = cal.add_workdays(received, 1)
                if rng.random() < rep.late_batch_share:
                    received = cal.add_workdays(received, rng.randint(10, 30))
                stream.append(PlannedBatch(dept, kind, period, min(received, today)))
            for r in records[(dept.key, kind)]:
                i = bisect_right(starts, r.decision) - 1
                issue = None
                if rng.random() < rep.late_row_share:
                    later = bisect_right(starts, r.decision + timedelta(days=45))
                    if later < len(ps):
                        i, issue = min(len(ps) - 1, later + rng.randint(0, 2)), "late"
                stream[i].rows.append(PlannedRow(r.values, issue))
            out[(dept.key, kind)] = stream
    return out


def _later(rng: random.Random, stream: list[PlannedBatch], after: PlannedBatch
           ) -> PlannedBatch | None:
    """A batch of the same stream received strictly after `after`, soon after it."""
    later = [b for b in stream if b.received > after.received]
    later.sort(key=lambda b: b.received)
    return later[min(len(later) - 1, rng.randint(0, 3))] if later else None


def _corrections(rng: random.Random, batches: dict[tuple[str, str], list[PlannedBatch]],
                 rep: Reporting) -> set[tuple[str, str, str]]:
    """Re-submit some rows with a changed field in a later batch; returns their documents."""
    corrected: set[tuple[str, str, str]] = set()
    for stream in batches.values():
        for batch in list(stream):
            for row in list(batch.rows):
                if row.issue is not None or rng.random() >= rep.correction_share:
                    continue
                target = _later(rng, stream, batch)
                if target is not None:
                    target.rows.append(PlannedRow(_corrected(rng, row.values), "correction"))
                    corrected.add((batch.department.key, batch.kind, row.values["doc_no"]))
    return corrected


def _corrected(rng: random.Random, values: dict[str, Any]) -> dict[str, Any]:
    v = dict(values)
    if v.get("fine_amount") is not None:
        old = v["fine_amount"] * 10000
        new = Decimal(_round_yuan(float(old) * rng.choice((0.5, 2.0, 1.5))))
        v["fine_amount"] = _wan(new)
        v["penalty_content"] = str(v["penalty_content"]).replace(
            f"罚款人民币{_yuan_text(old)}元", f"罚款人民币{_yuan_text(new)}元")
        v["remarks"] = "更正：罚款金额"
    elif "violation_facts" in v:
        v["violation_facts"] = "经复核，" + str(v["violation_facts"])
        v["remarks"] = "更正：违法事实"
    elif v["valid_to"] != _LONG_VALID:
        v["valid_to"] = add_years(v["valid_to"], 1)
        v["remarks"] = "更正：有效期至"
    else:
        v["licence_content"] = str(v["licence_content"]) + "（经复核更正）"
        v["remarks"] = "更正：许可内容"
    return v


def _bad_rows(rng: random.Random, batches: dict[tuple[str, str], list[PlannedBatch]],
              rep: Reporting, values: _Values, pool: list[Organisation],
              persons: list[Person], corrected: set[tuple[str, str, str]]) -> None:
    """Turn a share of rows into the errors real files contain, each kind at least once.

    Rows whose document is corrected later stay valid: a re-submission landing in the same
    batch as the correction would put one document number twice into one file."""
    flat = [(stream, batch, i) for stream in batches.values() for batch in stream
            for i, row in enumerate(batch.rows)
            if row.issue is None
            and (batch.department.key, batch.kind, row.values["doc_no"]) not in corrected]
    n = max(len(BAD_KINDS), round(len(flat) * rep.bad_row_share))
    chosen = rng.sample(flat, min(n, len(flat)))
    inserts: list[tuple[PlannedBatch, int, PlannedRow]] = []
    for k, (stream, batch, i) in enumerate(chosen):
        row = batch.rows[i]
        kind = BAD_KINDS[k] if k < len(BAD_KINDS) else rng.choice(BAD_KINDS)
        if kind == "bad_uscc" and not _has_real_code(row.values):
            kind = "missing_field"
        if kind == "duplicate_doc_no":
            dept = batch.department
            subject = rng.choice(persons) if "uscc" not in row.values else rng.choice(pool)
            day = row.values["decision_date"]
            make = values.licence if batch.kind == "licence" else values.penalty
            inserts.append((batch, i, PlannedRow(make(dept, subject, day, row.values["doc_no"]),
                                                 "duplicate_doc_no")))
            continue
        original = row.values
        row.values = _broken(rng, kind, batch.kind, dict(original))
        row.issue = kind
        if rng.random() < rep.resubmission_share:
            target = _later(rng, stream, batch)
            if target is not None:
                target.rows.append(PlannedRow(original, "resubmission"))
    # Insert from the end so earlier positions stay right; the duplicate follows its original.
    for batch, i, dup in sorted(inserts, key=lambda x: -x[1]):
        batch.rows.insert(i + 1, dup)


def _has_real_code(v: dict[str, Any]) -> bool:
    code = v.get("uscc")
    return bool(code) and code != tables().placeholder


def _broken(rng: random.Random, kind: str, item: str, v: dict[str, Any]) -> dict[str, Any]:
    if kind == "bad_uscc":
        code = str(v["uscc"])
        wrong = rng.choice([c for c in ALPHABET if c != code[17]])
        v["uscc"] = code[:17] + wrong
    elif kind == "missing_field":
        v["penalty_basis" if item == "penalty" else "licence_content"] = None
    elif kind == "bad_date":
        day: date = v["decision_date"]
        v["decision_date"] = _Impossible(day.year, *rng.choice(((2, 30), (13, 1), (4, 31),
                                                                (6, 31), (2, 31))))
    elif kind == "bad_enum":
        if item == "penalty":
            v["penalty_categories"] = ("罚没",)
        else:
            v["licence_category"] = "特批"
    return v


@dataclass(frozen=True)
class _Impossible:
    """A date as typed that names no day (2024-02-30, 2024/13/1)."""

    year: int
    month: int
    day: int


# --- writing --------------------------------------------------------------------------------

def generate_city(out_dir: Path, entities: int = 10_000, seed: int = 20261122,
                  today: date | None = None) -> list[DemoBatch]:
    """Write the demo city's submissions into `out_dir`, one file per batch, and list them in
    the order they should be ingested (by received date). File names start with that order."""
    plan = plan_city(entities, seed, today)
    return write_plan(plan, out_dir)


def write_plan(plan: CityPlan, out_dir: Path) -> list[DemoBatch]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[DemoBatch] = []
    for n, batch in enumerate(plan.batches, start=1):
        dept = batch.department
        name = (f"{n:04d}_{batch.received:%Y%m%d}_{dept.key}_{batch.kind}_{batch.period.label}"
                f"{dept.style.suffix}")
        path = out_dir / name
        write_batch(batch, path)
        written.append(DemoBatch(path, dept.name, batch.kind, batch.received, len(batch.rows),
                                 batch.bad_rows, batch.period.backfill, dept.uscc))
    return written


def write_batch(batch: PlannedBatch, path: Path) -> None:
    style = batch.department.style
    columns = columns_for(batch.kind, style)
    header = header_for(batch.kind, style)
    _, numeric = _catalog()
    if style.format == "xlsx":
        rows = [[_xlsx_cell(r.values.get(c.name), c, style, numeric) for c in columns]
                for r in batch.rows]
        _write_xlsx(path, ITEM_NAMES[batch.kind], header, rows, batch.received)
        return
    encoding = "utf-8-sig" if style.format == "csv_utf8_bom" else "gb18030"
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in batch.rows:
            writer.writerow([_text(r.values.get(c.name), c, style, numeric) for c in columns])


def _text(value: Any, column: _Column, style: FileStyle, numeric: dict[str, dict[str, str]]
          ) -> str:
    if value is None:
        return ""
    if isinstance(value, _Impossible | date):
        return _date_text(value.year, value.month, value.day, style.dates)
    if isinstance(value, Decimal):
        if style.amount_decimals is not None:
            return f"{value:.{style.amount_decimals}f}"
        return format_wan(value)
    if isinstance(value, tuple):
        return ("," if style.coded else "；").join(value)
    text = str(value)
    if style.coded and column.enum:
        return numeric.get(column.enum, {}).get(text, text)
    return text


def _xlsx_cell(value: Any, column: _Column, style: FileStyle,
               numeric: dict[str, dict[str, str]]) -> Any:
    if isinstance(value, date) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, _Impossible):
        return _date_text(value.year, value.month, value.day, "iso")
    return _text(value, column, style, numeric)


def _date_text(year: int, month: int, day: int, form: str) -> str:
    if form == "slash":
        return f"{year}/{month}/{day}"
    if form == "chinese":
        return f"{year}年{month}月{day}日"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _write_xlsx(path: Path, title: str, header: list[str], rows: list[list[Any]],
                received: date) -> None:
    """A one-sheet XLSX with inline strings, numbers and real date cells.

    Written directly rather than through openpyxl: without lxml, openpyxl's write-only mode
    costs about a millisecond a row, ten times the rest of the demo, and it stamps files with
    the current time. Every part carries the received date instead, so runs are byte-identical.
    """
    letters = [_column_letter(i) for i in range(len(header))]
    out = io.StringIO()
    out.write(f'{_XML}<worksheet xmlns="{_SS}"><dimension ref="A1:{letters[-1]}{len(rows) + 1}"/>'
              "<sheetData>")
    for r, row in enumerate([header, *rows], start=1):
        out.write(f'<row r="{r}">')
        for letter, value in zip(letters, row, strict=True):
            out.write(_xlsx_xml_cell(f"{letter}{r}", value))
        out.write("</row>")
    out.write("</sheetData></worksheet>")
    stamp = f"{received.isoformat()}T09:00:00Z"
    parts = {
        "[Content_Types].xml": _XLSX_TYPES,
        "_rels/.rels": _XLSX_ROOT_RELS,
        "docProps/core.xml": _XLSX_CORE.format(stamp=stamp),
        "xl/workbook.xml": _XLSX_WORKBOOK.format(title=_xml_escape(title)),
        "xl/_rels/workbook.xml.rels": _XLSX_WORKBOOK_RELS,
        "xl/styles.xml": _XLSX_STYLES,
        "xl/worksheets/sheet1.xml": out.getvalue(),
    }
    zip_time = (received.year, received.month, received.day, 9, 0, 0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            entry = zipfile.ZipInfo(name, date_time=zip_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, text.encode("utf-8"))


_EXCEL_EPOCH = date(1899, 12, 30)


def _xlsx_xml_cell(ref: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return f'<c r="{ref}" s="1"><v>{(value - _EXCEL_EPOCH).days}</v></c>'
    if isinstance(value, float | int | Decimal):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{_xml_escape(str(value))}</t></is></c>'


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XLSX_TYPES = (
    f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>')
_XLSX_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Target="docProps/core.xml" Type="http://schemas.openxmlformats.org/'
    'package/2006/relationships/metadata/core-properties"/></Relationships>')
_XLSX_CORE = (
    _XML + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
    'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>xinyong demo</dc:creator>'
    '<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
    "</cp:coreProperties>")
_XLSX_WORKBOOK = (
    _XML + f'<workbook xmlns="{_SS}" xmlns:r="{_REL}">'
    '<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_XLSX_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')
# Style 1 is the date format: a cell with it is a date to Excel and to openpyxl.
_XLSX_STYLES = (
    f'{_XML}<styleSheet xmlns="{_SS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs><cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/>"
    "</cellStyles></styleSheet>")


# --- benchmark file -------------------------------------------------------------------------

def write_penalty_file(path: Path, rows: int, seed: int = 1, bad_ratio: float = 0.02,
                       subjects: int | None = None) -> int:
    """Stream `rows` penalty rows (Chinese template headers, UTF-8 CSV) for the ingest benchmark;
    returns how many of them are invalid.

    Memory stays bounded: subjects, outcomes and dates are drawn from pools built once, and
    rows go to the file one at a time. Document numbers are unique per department except in
    the `duplicate_doc_no` bad rows.
    """
    today = date(2026, 1, 5)  # fixed, so the file depends on its arguments only
    p = _Planner(max(1, subjects or max(100, min(rows // 10, 200_000))), seed, today)
    rng = p.rng
    departments = [d for d in p.departments() if "penalty" in d.volume]
    orgs = [o for o in p.organisations() if o.issue != "placeholder"]
    persons = [p.person() for _ in range(max(20, len(orgs) // 10))]
    values = _Values(rng, p.city_code)
    workdays, _ = _days(p.calendar, p.start, today - timedelta(days=7))
    dept_cum = _cumulative([d.volume["penalty"] for d in departments])
    org_cum = _cumulative([o.activity for o in orgs])
    subject_pool: list[list[str]] = []
    for o in orgs:
        v = values.subject(o, departments[0], today)
        subject_pool.append([v["subject_name"], v["subject_category"], v["uscc"], "", "", "", "",
                             "", v["legal_rep"], "身份证", v["legal_rep_id_number"], "", ""])
    person_pool = [[x.name, "自然人", "", "", "", "", "", "", "", "", "", "身份证", x.id_number]
                   for x in persons]
    # Per department, a pool of decided outcomes (the columns after the document number).
    outcome_pools: list[list[list[str]]] = []
    for dept in departments:
        dept_pool = []
        for _ in range(64):
            subject: Subject = rng.choice(orgs)
            v = values.penalty(dept, subject, rng.choice(workdays), "")
            dept_pool.append([
                v["violation_type"], v["violation_facts"], v["penalty_basis"],
                "；".join(v["penalty_categories"]), v["penalty_content"],
                _text(v["fine_amount"], _NO_COLUMN, _BENCH_STYLE, {}),
                _text(v["confiscated_amount"], _NO_COLUMN, _BENCH_STYLE, {}),
                v["licence_affected"] or "", v["severity"]])
        outcome_pools.append(dept_pool)
    date_pool = [(d.isoformat(), d.year,
                  {t: add_months(d, m).isoformat() for t, m in _TIER_MONTHS.items()})
                 for d in workdays]
    counters = [0] * len(departments)
    last_doc = [""] * len(departments)
    header = [c.label for c in columns_for("penalty", _BENCH_STYLE)]
    bad = 0
    with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for _ in range(rows):
            di = bisect_right(dept_cum, rng.random() * dept_cum[-1])
            dept = departments[di]
            if rng.random() < dept.persons["penalty"]:
                subject_cells = person_pool[int(rng.random() * len(person_pool))]
            else:
                subject_cells = subject_pool[bisect_right(org_cum, rng.random() * org_cum[-1])]
            out = outcome_pools[di][int(rng.random() * 64)]
            day, year, until = date_pool[int(rng.random() * len(date_pool))]
            counters[di] += 1
            doc_no = dept.doc_no["penalty"].format(year=year, n=counters[di])
            row = [*subject_cells, doc_no, out[0], out[1], out[2], out[3], out[4], out[5],
                   out[6], out[7], day, until[out[8]], until[out[8]], dept.name, dept.uscc,
                   dept.name, dept.uscc, ""]
            if rng.random() < bad_ratio:
                kind = BAD_KINDS[bad % len(BAD_KINDS)]
                if kind == "duplicate_doc_no" and not last_doc[di]:
                    kind = "missing_field"
                _break_bench_row(rng, row, kind, last_doc[di])
                bad += 1
            else:
                last_doc[di] = doc_no
            writer.writerow(row)
    return bad


_BENCH_STYLE = FileStyle("csv_utf8_bom", "label", "iso", False, None, False)
_NO_COLUMN = _Column("", "", None, "text", None)
# Positions in the benchmark row (template order, without 失信严重程度).
_B_USCC, _B_DOC_NO, _B_BASIS, _B_CATEGORIES, _B_DECISION = 2, 13, 16, 17, 22


def _break_bench_row(rng: random.Random, row: list[str], kind: str, previous_doc_no: str) -> None:
    if kind == "bad_uscc" and row[_B_USCC]:
        code = row[_B_USCC]
        row[_B_USCC] = code[:17] + rng.choice([c for c in ALPHABET if c != code[17]])
    elif kind == "bad_date":
        row[_B_DECISION] = row[_B_DECISION][:4] + rng.choice(("-02-30", "-13-01", "-04-31"))
    elif kind == "bad_enum":
        row[_B_CATEGORIES] = "罚没"
    elif kind == "duplicate_doc_no":
        row[_B_DOC_NO] = previous_doc_no
    else:
        row[_B_BASIS] = ""
