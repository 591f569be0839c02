"""Ingest rules: mapping a file's columns to catalog fields and validating rows. Pure.

A `RowValidator` is compiled once per file: every mapped column gets its converter, so the
per-row loop does no lookups by name. Converters of values that repeat across rows (codes,
dates, enumerations, amounts) are memoised — a million-row file names far fewer distinct
values than it has cells.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from xinyong.accounts.rules import Forbidden, Principal, can
from xinyong.catalog.rules import Catalog, Field, Item
from xinyong.core import uscc
from xinyong.core.amounts import format_wan, parse_wan
from xinyong.core.dates import parse_date
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.masking import validate_resident_id
from xinyong.departments.error_codes import DepartmentError
from xinyong.departments.rules import Bodies, fold
from xinyong.subjects import identity
from xinyong.subjects.rules import Identity as Identity  # the store kernel's, re-exported
from xinyong.subjects.rules import IdentityFields as IdentityFields

MULTI_SEPARATORS = re.compile(r"[;；,，、]")
REASONS = {
    "required": "必填项为空",
    "uscc": "统一社会信用代码错误",
    "date": "日期错误",
    "amount": "金额错误",
    "enum": "取值不在允许范围",
    "length": "超过最大长度",
    "identity": "主体标识不符合要求",
    "id_number": "证件号码错误",
    "date_order": "日期先后矛盾",
    "future_date": "决定日期晚于报送日期",
    "duplicate_in_batch": "同一批次内文书号重复",
    "columns": "列数与表头不符",
    "unreadable": "行无法读取",
    "other_department": "不是报送部门的数据",
    "stale": "与该记录的旧版本相同（过时数据）",
}


@dataclass(frozen=True, slots=True)
class RowError:
    field: str  # the field's Chinese label, or "" for the whole row
    code: str  # one of REASONS
    message: str

    @property
    def reason_key(self) -> str:
        return f"{self.code}:{self.field}" if self.field else self.code




@dataclass(frozen=True, slots=True)
class ValidRow:
    row_no: int
    values: dict[str, str]
    doc_no: str
    decision_date: date
    identity: Identity


def payload_hash(payload: bytes) -> int:
    """A version's payload as a signed 64-bit number: earlier versions are matched in SQL by
    it. Two different payloads of one record sharing it is a 2^-64 chance."""
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big", signed=True)


def normalise_header(text: str) -> str:
    """Fold the ways a header is typed: widths, blanks, a leading * for mandatory, case."""
    t = unicodedata.normalize("NFKC", text).strip().lstrip("*").strip()
    return re.sub(r"\s+", "", t).upper()


@dataclass(frozen=True)
class HeaderMap:
    columns: dict[str, int]  # field name -> column index
    unknown: tuple[str, ...]  # source columns no field took
    missing_required: tuple[str, ...]  # labels of mandatory fields with no column


def map_headers(item: Item, header: list[str]) -> HeaderMap:
    lookup: dict[str, str] = {}
    for f in item.fields:
        for h in f.headers():
            lookup.setdefault(normalise_header(h), f.name)
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for i, h in enumerate(header):
        name = lookup.get(normalise_header(h))
        if name is None or name in columns:
            if h.strip():
                unknown.append(h.strip())
            continue
        columns[name] = i
    missing = tuple(f.label for f in item.fields if f.required and f.name not in columns)
    return HeaderMap(columns, tuple(unknown), missing)


def detect_item(catalog: Catalog, header: list[str]) -> Item | None:
    """The catalog item whose fields the header names best, if it names most mandatory ones."""
    best: tuple[int, Item] | None = None
    for item in catalog.items.values():
        hm = map_headers(item, header)
        required = sum(1 for f in item.fields if f.required)
        if required and len(hm.missing_required) * 2 > required:
            continue
        score = len(hm.columns)
        if best is None or score > best[0]:
            best = (score, item)
    return best[1] if best else None


Converter = Callable[[str], str]


class Column:
    """Converts one column of a chunk at a time. Values that repeat (codes, dates,
    enumerations, amounts) are converted once per distinct value and remembered."""

    def __init__(self, convert: Converter, *, memo: bool, max_length: int | None = None) -> None:
        self.convert = convert
        self.memo = memo
        self.max_length = max_length
        self.cache: dict[str, str] = {"": ""}
        self.failed: dict[str, str] = {}  # raw value -> why it is not valid

    def run(self, col: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
        """Converted values ("" where empty) and (row index, message) for each failure."""
        if not self.memo:
            limit = self.max_length
            if limit is not None and max(map(len, col), default=0) > limit:
                return col, [(i, f"超过最大长度{limit}个字符（实际{len(c)}个）")
                             for i, c in enumerate(col) if len(c) > limit]
            return col, []
        cache, failed = self.cache, self.failed
        if len(cache) + len(failed) > 200_000:
            cache.clear()
            failed.clear()
            cache[""] = ""
        distinct = set(col)
        for raw in distinct.difference(cache, failed):
            try:
                cache[raw] = self.convert(raw)
            except ValueError as exc:
                failed[raw] = str(exc)
        if failed and not failed.keys().isdisjoint(distinct):
            errors = [(i, failed[c]) for i, c in enumerate(col) if c in failed]
            return [cache.get(c, "") for c in col], errors
        return [cache[c] for c in col], []


def _uscc(raw: str) -> str:
    code = uscc.normalise(raw)
    if code == uscc.tables().placeholder:
        return code
    errors = uscc.validate(code)
    if errors:
        raise ValueError("；".join(e.message for e in errors) + f"（“{raw}”）")
    return code


def _date(raw: str) -> str:
    return parse_date(raw).isoformat()


def _amount(raw: str) -> str:
    return format_wan(parse_wan(raw))


def _enum(catalog: Catalog, f: Field) -> Converter:
    assert f.enum is not None
    table = catalog.enum_lookup(f.enum)
    folded = {unicodedata.normalize("NFKC", k).strip(): v.value for k, v in table.items()}
    allowed = "、".join(v.value for v in catalog.enums[f.enum])

    def one(raw: str) -> str:
        value = folded.get(unicodedata.normalize("NFKC", raw).strip())
        if value is None:
            raise ValueError(f"“{raw}”不在允许范围（{allowed}）")
        return value

    if f.type == "enum":
        return one

    def many(raw: str) -> str:
        parts = [p for p in MULTI_SEPARATORS.split(raw) if p.strip()]
        if not parts:
            raise ValueError("没有有效取值")
        values = list(dict.fromkeys(one(p) for p in parts))
        return ";".join(values)

    return many


def _id_number(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip().upper()


REASON_BY_TYPE = {"text": "length", "uscc": "uscc", "date": "date", "amount_wan": "amount",
                  "enum": "enum", "enum_multi": "enum", "id_number": "id_number"}


def column(catalog: Catalog, f: Field) -> Column:
    if f.type == "text":
        return Column(str, memo=False, max_length=f.max_length)
    if f.type == "uscc":
        return Column(_uscc, memo=True)
    if f.type == "date":
        return Column(_date, memo=True)
    if f.type == "amount_wan":
        return Column(_amount, memo=True)
    if f.type in ("enum", "enum_multi"):
        return Column(_enum(catalog, f), memo=True)
    return Column(_id_number, memo=True)


def person_key(id_type: str, id_number: str) -> str:
    """A natural person's subject key: a keyed hash, so keys never carry identity numbers
    nor can be reversed by hashing every possible number (`subjects.identity`)."""
    return identity.person_key(id_type, id_number)


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    index: int
    column: Column
    required: bool
    label: str
    reason: str


IDENTITY_KEY = ("subject_name", "subject_category", "uscc", "reg_no", "org_code", "legal_rep",
                "legal_rep_id_type", "legal_rep_id_number", "id_type", "id_number")


class RowValidator:
    """Validates the rows of one file against one catalog item, a chunk at a time.

    Work is column-wise: each mapped column is stripped and converted as a list, and only
    rows with a problem get per-row attention (their readable reasons).
    """

    def __init__(self, catalog: Catalog, item: Item, header_map: HeaderMap,
                 received: date) -> None:
        self.item = item
        self.received = received
        self.slots = [
            _Slot(f.name, header_map.columns[f.name], column(catalog, f), f.required, f.label,
                  REASON_BY_TYPE[f.type])
            for f in item.fields if f.name in header_map.columns
        ]
        self.names = tuple(slot.name for slot in self.slots)
        self.width = max((slot.index + 1 for slot in self.slots), default=0)
        self.missing_required = [
            RowError(label, "required", f"缺少必填列“{label}”")
            for label in header_map.missing_required
        ]
        self.labels = {f.name: f.label for f in item.fields}
        self.checks = item.checks
        kinds = catalog.enum_lookup("subject_category") if item.field("subject_category") else {}
        self.kind_of = {ev.value: ev.kind or "organisation" for ev in kinds.values()}
        self.identification = catalog.identification
        self.placeholder = uscc.tables().placeholder
        self.identities: dict[tuple[str, ...], Identity | list[RowError]] = {}
        self.id_problems: dict[str, str | None] = {}
        self.days: dict[str, date] = {}

    def validate_chunk(
        self, rows: list[tuple[int, list[str]]]
    ) -> tuple[list[ValidRow], list[tuple[int, list[RowError]]]]:
        """Valid rows, and (position in `rows`, errors) for every invalid one."""
        width = self.width
        cells = [c if len(c) >= width else c + [""] * (width - len(c)) for _, c in rows]
        errors: dict[int, list[RowError]] = {}
        if self.missing_required:
            errors = {i: list(self.missing_required) for i in range(len(rows))}
        columns: list[list[str]] = []
        for slot in self.slots:
            col = list(map(str.strip, map(itemgetter(slot.index), cells)))
            values, failures = slot.column.run(col)
            for i, message in failures:
                errors.setdefault(i, []).append(
                    RowError(slot.label, slot.reason, f"“{slot.label}”{message}"))
            if slot.required and not all(values):
                for i, v in enumerate(values):
                    if not v and not col[i]:
                        errors.setdefault(i, []).append(RowError(
                            slot.label, "required", f"“{slot.label}”为必填项，不能为空"))
            columns.append(values)
        by_name = dict(zip(self.names, columns, strict=True))
        # Columns empty throughout the chunk (unused codes, remarks …) add nothing to a row.
        filled = [(n, col) for n, col in by_name.items() if any(col)] or list(by_name.items())[:1]
        names = tuple(n for n, _ in filled)
        columns = [col for _, col in filled]
        self._cross_checks(by_name, errors)
        empty = [""] * len(rows)
        identity_keys = zip(*(by_name.get(f, empty) for f in IDENTITY_KEY), strict=True)
        decisions = by_name[self.item.decision_date_field]
        doc_nos = by_name[self.item.key_field]
        valid: list[ValidRow] = []
        for i, (vals, key) in enumerate(zip(zip(*columns, strict=True), identity_keys,
                                            strict=True)):
            if i in errors:
                continue
            fields = {n: v for n, v in zip(names, vals, strict=True) if v}
            identity = self.identities.get(key)
            if identity is None:
                if len(self.identities) > 200_000:
                    self.identities.clear()
                found: list[RowError] = []
                identity = self._identity(fields, found) or found
                self.identities[key] = identity
            if isinstance(identity, list):
                errors[i] = identity
                continue
            valid.append(ValidRow(rows[i][0], fields, doc_nos[i], self._day(decisions[i]),
                                  identity))
        return valid, sorted(errors.items())

    def _day(self, iso: str) -> date:
        day = self.days.get(iso)
        if day is None:
            day = self.days[iso] = date.fromisoformat(iso)
        return day

    def _cross_checks(self, columns: dict[str, list[str]],
                      errors: dict[int, list[RowError]]) -> None:
        """Rules between fields, on whole columns of ISO dates (which compare as text)."""
        label = self.labels[self.item.decision_date_field]
        received = self.received.isoformat()
        decisions = columns[self.item.decision_date_field]
        for i in [i for i, d in enumerate(decisions) if d > received]:
            errors.setdefault(i, []).append(RowError(
                label, "future_date", f"“{label}”{decisions[i]}晚于报送日期{received}"))
        for check in self.checks:
            if check.field not in columns or check.other not in columns:
                continue
            late, early = columns[check.field], columns[check.other]
            for i in [i for i, (a, b) in enumerate(zip(late, early, strict=True))
                      if a and b and a < b]:
                errors.setdefault(i, []).append(
                    RowError(self.labels[check.field], "date_order", check.message))

    def _resident_id_problem(self, number: str) -> str | None:
        if number not in self.id_problems:
            self.id_problems[number] = validate_resident_id(number)
        return self.id_problems[number]

    def _identity(self, values: dict[str, str], errors: list[RowError]) -> Identity | None:
        category = values.get("subject_category")
        kind = self.kind_of.get(category or "", "organisation")
        rule = self.identification.get(kind, {})
        code = values.get("uscc")
        label = self.labels.get("uscc", "统一社会信用代码")

        def fail(field: str, message: str) -> None:
            errors.append(RowError(self.labels.get(field, field), "identity", message))

        for field in rule.get("require", ()):
            if not values.get(field) or (field == "uscc" and code == self.placeholder):
                fail(field, f"行政相对人类别为“{category}”时，“{self.labels.get(field, field)}”必填")
        one_of = rule.get("require_one_of", ())
        if one_of and not any(values.get(f) and values.get(f) != self.placeholder
                              for f in one_of):
            names = "或".join(f"“{self.labels.get(f, f)}”" for f in one_of)
            fail(one_of[0], f"行政相对人类别为“{category}”时，{names}至少填写一项")
        for field in rule.get("forbid", ()):
            if values.get(field):
                fail(field, f"行政相对人类别为“{category}”时不应填写“{self.labels.get(field, field)}”")
        if code and code != self.placeholder:
            prefix, not_prefix = rule.get("uscc_prefix"), rule.get("uscc_not_prefix")
            if prefix and not code.startswith(prefix):
                fail("uscc", f"{category}的{label}应以“{prefix}”开头")
            if not_prefix and code.startswith(not_prefix):
                fail("uscc", f"以“{not_prefix}”开头的代码属于个体工商户，行政相对人类别不应为“{category}”")
        if code == self.placeholder and rule.get("placeholder_needs") \
                and not values.get(rule["placeholder_needs"]):
            fail(rule["placeholder_needs"], "统一社会信用代码为占位码时，工商注册号必填")
        for type_field, number_field in (("id_type", "id_number"),
                                         ("legal_rep_id_type", "legal_rep_id_number")):
            number = values.get(number_field)
            if number and values.get(type_field, "身份证") == "身份证":
                problem = self._resident_id_problem(number)
                if problem:
                    errors.append(RowError(self.labels.get(number_field, number_field),
                                           "id_number", problem))
        if errors:
            return None
        name = values["subject_name"]
        if kind == "natural_person":
            key = person_key(values.get("id_type", ""), values.get("id_number", ""))
            region = None
        elif code and code != self.placeholder:
            key, region = code, code[2:8]
        else:
            key, region = "GSZC:" + values.get("reg_no", ""), None
        return Identity(
            key=key, kind=kind, name=name,
            uscc=code if code and code != self.placeholder else None, region=region,
            reg_no=values.get("reg_no"), org_code=values.get("org_code"),
            legal_rep=values.get("legal_rep"),
            legal_rep_id_type=values.get("legal_rep_id_type"),
            legal_rep_id_number=values.get("legal_rep_id_number"),
            id_type=values.get("id_type"), id_number=values.get("id_number"),
        )


class BodyCheck:
    """Whether a valid row's deciding body and source unit are the submitting department's
    (itself, an alias, or a body it reports for), and their codes not another registered
    department's. Compiled once per file; each distinct value is judged once."""

    def __init__(self, bodies: Bodies, item: Item) -> None:
        self.bodies = bodies
        f = bodies.fields
        wanted = [(n, "source") for n in f.source]
        if not bodies.any_authority:
            wanted = [(n, "deciding") for n in f.deciding] + wanted
        wanted += [(n, "code") for n in f.codes]
        self.fields = [(n, item.field(n).label, what)  # type: ignore[union-attr]
                       for n, what in wanted if item.field(n) is not None]
        self.verdicts: dict[tuple[str, str], RowError | None] = {}

    def errors(self, values: dict[str, str]) -> list[RowError]:
        out = []
        for name, label, what in self.fields:
            value = values.get(name)
            if not value:
                continue
            key = (name, value)
            if key not in self.verdicts:
                self.verdicts[key] = self._judge(label, what, value)
            error = self.verdicts[key]
            if error is not None:
                out.append(error)
        return out

    def _judge(self, label: str, what: str, value: str) -> RowError | None:
        b = self.bodies
        if what == "code":
            other = b.foreign_codes.get(value)
            if other is None:
                return None
            return RowError(label, "other_department",
                            f"“{label}”{value}是{other}的代码，不是报送部门{b.department}的；"
                            "只能报送本部门的数据")
        if fold(value) in b.names:
            return None
        if what == "deciding":
            return RowError(label, "other_department",
                            f"“{label}”{value}不是报送部门{b.department}，也不是其代为报送的单位；"
                            "其他部门的决定应由该部门报送")
        return RowError(label, "other_department",
                        f"“{label}”{value}不是报送部门{b.department}；只能报送本部门的数据")


# Who sees which batches -------------------------------------------------------------------

def readable_department(principal: Principal) -> str | None:
    """The one department whose batches the principal may read, or None for all of them.
    Raises `Forbidden` when it may read none."""
    if can(principal, "batch.read_all"):
        return None
    if can(principal, "batch.read_own") and principal.department:
        return principal.department
    raise Forbidden("没有权限：查看报送批次（batch.read_own）")


def check_batch_readable(principal: Principal, department: str) -> None:
    wanted = readable_department(principal)
    if wanted is not None and wanted != department:
        raise Forbidden(f"只能查看本部门（{wanted}）报送的批次", code=CoreError.OTHER_DEPARTMENT)


def submitting_department(principal: Principal, asked: str | None) -> str:
    """The department a submission is for: a reporter or system submits for its own; staff
    who may read every batch may submit for any department they name."""
    asked = (asked or "").strip() or None
    if asked and "\x00" in asked:
        raise InvalidInput("部门名称中含有空字符", code=DepartmentError.INVALID_DEPARTMENT)
    if principal.department and not can(principal, "batch.read_all"):
        if asked and asked != principal.department:
            raise Forbidden(f"只能报送本部门（{principal.department}）的数据",
                            code=CoreError.OTHER_DEPARTMENT)
        return principal.department
    if asked is None:
        if principal.department:
            return principal.department
        raise InvalidInput("请指明报送部门", code=DepartmentError.DEPARTMENT_REQUIRED)
    return asked
