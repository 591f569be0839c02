"""The department registry's rules: who the departments are, by which names they are written,
which bodies each reports for, and whether a row's deciding body and source unit belong to
the department submitting it. Pure.

The registry is the union of the rules files (`data/departments.yaml`, a locality's file over
it) and the departments registered at run time (kept in the database, `service`); an entry of
the files wins over a registered one of the same name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xinyong.core import uscc as uscc_rules
from xinyong.core.errors import InvalidInput
from xinyong.core.ruledata import Where, load_merged, mapping, text
from xinyong.departments.error_codes import DepartmentError

FILE = "departments.yaml"
WHAT = "报送部门文件"
NAME_MAX = 100  # the width of every `department` column
_BLANKS = re.compile(r"\s+")


def fold(name: str) -> str:
    """How names are compared: full- and half-width alike, blanks ignored."""
    return _BLANKS.sub("", unicodedata.normalize("NFKC", name))


@dataclass(frozen=True)
class Department:
    name: str
    aliases: tuple[str, ...] = ()
    # Bodies whose decisions the department submits (its 支队, 大队, 派出机构 …).
    reports_for: tuple[str, ...] = ()
    # Catalog items for which the deciding body may be any body: a 行政审批局 reporting the
    # licences other departments decided. The department stays the source unit.
    any_authority_for: tuple[str, ...] = ()
    uscc: str | None = None
    origin: str = "registered"  # "data" (a rules file) or "registered" (the database)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "aliases": list(self.aliases),
                "reports_for": list(self.reports_for),
                "any_authority_for": list(self.any_authority_for), "uscc": self.uscc,
                "origin": self.origin}


@dataclass(frozen=True)
class Fields:
    """The catalog fields naming the deciding body, the source unit, and their codes."""

    deciding: tuple[str, ...] = ("authority",)
    source: tuple[str, ...] = ("source_unit",)
    codes: tuple[str, ...] = ("authority_uscc", "source_unit_uscc")


@dataclass(frozen=True)
class Bodies:
    """What rows submitted by one department may name: plain values, so a preparing worker
    process gets them with its plan."""

    department: str
    names: frozenset[str]  # folded names of the department and the bodies it reports for
    foreign_codes: Mapping[str, str]  # code of another registered department -> its name
    any_authority: bool
    fields: Fields = field(default_factory=Fields)


@dataclass(frozen=True)
class Registry:
    departments: Mapping[str, Department]  # by name
    fields: Fields

    def __post_init__(self) -> None:
        by_name: dict[str, str] = {}
        for d in self.departments.values():
            for n in (d.name, *d.aliases):
                by_name.setdefault(fold(n), d.name)
        object.__setattr__(self, "_by_name", by_name)

    def find(self, name: str) -> Department | None:
        """The department written as `name` (its name or an alias), if registered."""
        found: str | None = self._by_name.get(fold(name))  # type: ignore[attr-defined]
        return self.departments[found] if found is not None else None

    def names(self) -> list[str]:
        return sorted(self.departments)

    def bodies(self, name: str, item_code: str) -> Bodies:
        """What the rows `name` submits of `item_code` may name as deciding body and source."""
        own = self.find(name)
        allowed: set[str] = {fold(name)}
        mine: set[str] = {name}
        if own is not None:
            mine.add(own.name)
            for body in (own.name, *own.aliases, *own.reports_for):
                allowed.add(fold(body))
                other = self.find(body)
                if other is not None:
                    mine.add(other.name)
                    allowed.update(fold(a) for a in (other.name, *other.aliases))
        codes = {d.uscc: d.name for d in self.departments.values()
                 if d.uscc and d.name not in mine}
        return Bodies(own.name if own else name, frozenset(allowed), codes,
                      own is not None and item_code in own.any_authority_for, self.fields)


def clean_name(raw: str | None) -> str:
    """A department name as typed, checked: not blank, no control characters, not too long."""
    name = (raw or "").strip()
    if not name:
        raise InvalidInput("请指明报送部门", code=DepartmentError.DEPARTMENT_REQUIRED)
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput("部门名称中含有控制字符", code=DepartmentError.INVALID_DEPARTMENT)
    if len(name) > NAME_MAX:
        raise InvalidInput(f"部门名称不能超过{NAME_MAX}个字符", code=DepartmentError.INVALID_DEPARTMENT)
    return name


def clean_uscc(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    code = uscc_rules.normalise(raw)
    errors = uscc_rules.validate(code)
    if errors:
        raise InvalidInput("部门的统一社会信用代码有误：" + "；".join(e.message for e in errors),
                           code=DepartmentError.INVALID_DEPARTMENT)
    return code


def _names(value: Any, where: Where, entry: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise where.fail(entry, "应为列表")
    return tuple(text(v, where, entry) for v in value)


def load(paths: Sequence[Path]) -> tuple[Fields, tuple[Department, ...]]:
    """The fields checked and the departments the rules files list; every error names the file,
    the entry and the reason."""
    raw, sources = load_merged(paths, WHAT)
    where = Where(WHAT, sources)
    f = mapping(raw.get("fields", {}), where, "fields")
    fields = Fields(*(_names(f.get(k, list(getattr(Fields, k))), where, f"fields.{k}")
                      for k in ("deciding", "source", "codes")))
    out = []
    for name, entry in mapping(raw.get("departments") or {}, where, "departments").items():
        label = f"departments.{name}"
        e = mapping(entry or {}, where, label)
        try:
            clean = clean_name(str(name))
            code = clean_uscc(e.get("uscc"))
        except InvalidInput as exc:
            raise where.fail(label, exc.message) from exc
        out.append(Department(clean, _names(e.get("aliases"), where, f"{label}.aliases"),
                              _names(e.get("reports_for"), where, f"{label}.reports_for"),
                              _names(e.get("any_authority_for"), where,
                                     f"{label}.any_authority_for"), code, "data"))
    return fields, tuple(out)


def combine(fields: Fields, from_data: Iterable[Department],
            registered: Iterable[Department]) -> Registry:
    merged = {d.name: d for d in registered}
    merged.update({d.name: d for d in from_data})
    return Registry(dict(sorted(merged.items())), fields)
