"""The catalog as typed values: loading, validating and merging catalog files. Pure: no I/O
beyond reading the files handed in.

A catalog file has `categories`, `enums`, `subject_identification` and `items`; a locality's
supplement file (same shape, any part optional) adds categories, enum values, items, and
fields to existing items (`extend_items`). Every problem is reported with the file, the
entry and the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from xinyong.core.errors import RuleDataError

FIELD_TYPES = {"text", "uscc", "date", "amount_wan", "enum", "enum_multi", "id_number"}
DISCLOSURE = {"public", "shared", "authorised", "internal"}
SUBJECT_KINDS = {"organisation", "individual_business", "natural_person"}
# What pages call the codes above (a page shows the name, the API and files the code).
DISCLOSURE_NAMES = {"public": "社会公开", "shared": "政务共享", "authorised": "授权查询",
                    "internal": "内部使用"}
FIELD_TYPE_NAMES = {"text": "文本", "uscc": "统一社会信用代码", "date": "日期",
                    "amount_wan": "金额（万元）", "enum": "代码值", "enum_multi": "代码值（可多选）",
                    "id_number": "证件号码"}
# Fields through which a row names its subject; the store keys records by these.
IDENTITY_FIELDS = ("subject_name", "subject_category", "uscc", "reg_no", "org_code",
                   "legal_rep", "legal_rep_id_type", "legal_rep_id_number", "id_type",
                   "id_number")


@dataclass(frozen=True)
class EnumValue:
    value: str
    aliases: tuple[str, ...] = ()
    kind: str | None = None  # subject kind, for 行政相对人类别


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool = False
    code: str | None = None
    enum: str | None = None
    max_length: int | None = None
    aliases: tuple[str, ...] = ()

    @property
    def personal(self) -> bool:
        return self.type == "id_number"

    def headers(self) -> tuple[str, ...]:
        """Every column header that names this field in a submitted file."""
        return tuple(h for h in (self.label, self.code, self.name, *self.aliases) if h)


@dataclass(frozen=True)
class Check:
    rule: str
    field: str
    other: str
    message: str


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    category: str
    legal_basis: str
    disclosure: str
    subject_kinds: tuple[str, ...]
    fields: tuple[Field, ...]
    key_field: str
    decision_date_field: str
    publicity: str | None = None
    timeliness_days: int | None = None
    timeliness_basis: str | None = None
    checks: tuple[Check, ...] = ()
    group: str | None = None

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Catalog:
    version: str
    categories: dict[str, str]
    enums: dict[str, tuple[EnumValue, ...]]
    identification: dict[str, dict[str, Any]]
    items: dict[str, Item]
    sources: tuple[str, ...] = ()
    digest: str = ""
    content: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def item(self, code: str) -> Item | None:
        return self.items.get(code)

    def enum_lookup(self, name: str) -> dict[str, EnumValue]:
        """Every accepted spelling (value and aliases) → the canonical value."""
        table: dict[str, EnumValue] = {}
        for ev in self.enums.get(name, ()):
            for spelling in (ev.value, *ev.aliases):
                table[spelling] = ev
        return table


class _Where:
    """Builds error messages that name the file and the entry."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, entry: str, reason: str) -> RuleDataError:
        return RuleDataError(f"目录文件 {self.source}：{entry}：{reason}")


def _as_list(value: Any, where: _Where, entry: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise where.fail(entry, "应为列表")
    return value


def _parse_field(raw: Any, where: _Where, entry: str, enums: dict[str, Any]) -> Field:
    if not isinstance(raw, dict):
        raise where.fail(entry, "字段定义应为映射")
    for key in ("name", "label", "type"):
        if not raw.get(key):
            raise where.fail(entry, f"字段缺少 {key}")
    ftype = raw["type"]
    if ftype not in FIELD_TYPES:
        raise where.fail(f"{entry} 字段 {raw['name']}", f"未知类型 {ftype}")
    if ftype in ("enum", "enum_multi") and raw.get("enum") not in enums:
        raise where.fail(f"{entry} 字段 {raw['name']}", f"引用了不存在的枚举 {raw.get('enum')}")
    return Field(
        name=str(raw["name"]), label=str(raw["label"]), type=ftype,
        required=bool(raw.get("required", False)),
        code=str(raw["code"]) if raw.get("code") else None,
        enum=raw.get("enum"), max_length=raw.get("max_length"),
        aliases=tuple(str(a) for a in raw.get("aliases", ())),
    )


def _parse_item(raw: Any, where: _Where, enums: dict[str, Any],
                categories: dict[str, str]) -> Item:
    if not isinstance(raw, dict) or not raw.get("code"):
        raise where.fail("items", "条目缺少 code")
    entry = f"条目 {raw['code']}"
    for key in ("name", "category", "legal_basis", "disclosure", "key_field",
                "decision_date_field"):
        if not raw.get(key):
            raise where.fail(entry, f"缺少 {key}" + ("（没有法律依据的目录条目不得归集）"
                                                   if key == "legal_basis" else ""))
    if str(raw["category"]) not in categories:
        raise where.fail(entry, f"类别 {raw['category']} 不在目录类别中")
    if raw["disclosure"] not in DISCLOSURE:
        raise where.fail(entry, f"公开属性应为 {sorted(DISCLOSURE)} 之一")
    kinds = tuple(raw.get("subject_kinds") or ())
    if not kinds or set(kinds) - SUBJECT_KINDS:
        raise where.fail(entry, f"subject_kinds 应为 {sorted(SUBJECT_KINDS)} 的子集")
    fields = tuple(_parse_field(f, where, entry, enums)
                   for f in _as_list(raw.get("fields"), where, entry))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise where.fail(entry, "字段名重复")
    for key in ("key_field", "decision_date_field"):
        target = next((f for f in fields if f.name == raw[key]), None)
        if target is None:
            raise where.fail(entry, f"{key} 指向不存在的字段 {raw[key]}")
        if not target.required:
            raise where.fail(entry, f"{key} 指向的字段 {raw[key]} 必须是必填项")
    checks = tuple(_parse_check(c, where, entry, set(names))
                   for c in _as_list(raw.get("checks"), where, entry))
    timeliness = raw.get("timeliness") or {}
    return Item(
        code=str(raw["code"]), name=str(raw["name"]), category=str(raw["category"]),
        legal_basis=str(raw["legal_basis"]), disclosure=raw["disclosure"],
        subject_kinds=kinds, fields=fields, key_field=raw["key_field"],
        decision_date_field=raw["decision_date_field"], publicity=raw.get("publicity"),
        timeliness_days=timeliness.get("working_days"),
        timeliness_basis=timeliness.get("basis"), checks=checks, group=raw.get("kinds"),
    )


def _parse_check(raw: Any, where: _Where, entry: str, names: set[str]) -> Check:
    if not isinstance(raw, dict) or raw.get("rule") != "date_not_after":
        raise where.fail(entry, f"未知的校验规则 {raw!r}")
    if raw.get("field") not in names or raw.get("other") not in names:
        raise where.fail(entry, f"校验规则引用了不存在的字段 {raw!r}")
    return Check(raw["rule"], raw["field"], raw["other"], str(raw.get("message", "")))


def _merge_enums(target: dict[str, list[dict[str, Any]]], raw: Any, where: _Where) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise where.fail("enums", "应为映射")
    for name, values in raw.items():
        bucket = target.setdefault(str(name), [])
        for v in _as_list(values, where, f"枚举 {name}"):
            if not isinstance(v, dict) or not v.get("value"):
                raise where.fail(f"枚举 {name}", f"取值缺少 value：{v!r}")
            bucket.append(v)


def load(paths: Iterable[Path]) -> Catalog:
    """Load the national file then supplements, in order. Later files add, never replace."""
    merged: dict[str, Any] = {"version": [], "categories": {}, "enums": {},
                              "subject_identification": {}, "items": [], "extend_items": []}
    sources: list[str] = []
    for path in paths:
        where = _Where(path.name)
        try:
            raw = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise where.fail("文件", f"无法读取：{exc}") from exc
        if not isinstance(raw, dict):
            raise where.fail("文件", "顶层应为映射")
        sources.append(path.name)
        if raw.get("version"):
            merged["version"].append(str(raw["version"]))
        for c in _as_list(raw.get("categories"), where, "categories"):
            merged["categories"][str(c["code"])] = str(c["name"])
        _merge_enums(merged["enums"], raw.get("enums"), where)
        merged["subject_identification"].update(raw.get("subject_identification") or {})
        merged["items"] += [(where, i) for i in _as_list(raw.get("items"), where, "items")]
        merged["extend_items"] += [(where, i)
                                   for i in _as_list(raw.get("extend_items"), where,
                                                     "extend_items")]
    return _build(merged, tuple(sources))


def _build(merged: dict[str, Any], sources: tuple[str, ...]) -> Catalog:
    enums = {name: tuple(EnumValue(str(v["value"]), tuple(str(a) for a in v.get("aliases", ())),
                                   v.get("kind"))
                         for v in values)
             for name, values in merged["enums"].items()}
    items: dict[str, Item] = {}
    raw_items: dict[str, dict[str, Any]] = {}
    for where, raw in merged["items"]:
        item = _parse_item(raw, where, enums, merged["categories"])
        if item.code in items:
            raise where.fail(f"条目 {item.code}", "与已有条目重复（补充目录请用 extend_items 增加字段）")
        items[item.code] = item
        raw_items[item.code] = raw
    for where, ext in merged["extend_items"]:
        code = ext.get("code") if isinstance(ext, dict) else None
        if code not in raw_items:
            raise where.fail(f"extend_items {code}", "要扩展的条目不存在")
        raw = dict(raw_items[code])
        raw["fields"] = list(raw.get("fields") or []) + list(ext.get("fields") or [])
        raw_items[code] = raw
        items[code] = _parse_item(raw, where, enums, merged["categories"])
    content = {
        "version": "+".join(merged["version"]) or "unversioned",
        "sources": list(sources), "categories": merged["categories"],
        "enums": merged["enums"], "subject_identification": merged["subject_identification"],
        "items": raw_items,
    }
    body = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return Catalog(
        version=content["version"], categories=merged["categories"], enums=enums,
        identification=merged["subject_identification"], items=items, sources=sources,
        digest=hashlib.sha256(body).hexdigest(), content=content,
    )
