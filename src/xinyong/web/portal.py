"""What the public portal says about itself (`data/portal.yaml`, overridable by the locality's
file of the same name in `$XINYONG_DATA_DIR`): the platform's name and city, its 主办单位,
contact, filing numbers and the rules the objection form cites. Every page's layout reads it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xinyong.core.ruledata import UntilChanged, Where, load_merged, mapping, rule_paths, text

FILE = "portal.yaml"
WHAT = "门户配置文件"
KEYS = {"name", "full_name", "city", "host", "operator", "contact", "filing", "notice",
        "objection_rules", "repair_rules"}


@dataclass(frozen=True)
class Line:
    """A labelled line of the footer (联系方式) or a filing number with where it is verified."""

    label: str
    text: str
    url: str | None = None


@dataclass(frozen=True)
class Portal:
    name: str
    full_name: str
    city: str
    host: str
    operator: str
    contact: tuple[Line, ...]
    filing: tuple[Line, ...]
    notice: str
    objection_rules: str
    repair_rules: str


def _optional(value: Any, where: Where, entry: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise where.fail(entry, "应为文字")
    return value.strip()


def _lines(value: Any, where: Where, entry: str, *, labelled: bool) -> tuple[Line, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise where.fail(entry, "应为列表")
    found = []
    for i, raw in enumerate(value, 1):
        at = f"{entry} 第 {i} 项"
        item = mapping(raw, where, at)
        url = _optional(item.get("url"), where, f"{at} url") or None
        if url is not None and not url.startswith(("https://", "http://")):
            raise where.fail(f"{at} url", "应以 https:// 或 http:// 开头")
        found.append(Line(text(item.get("label"), where, f"{at} label") if labelled else "",
                          text(item.get("text"), where, f"{at} text"), url))
    return tuple(found)


def parse(raw: dict[str, Any], sources: tuple[str, ...]) -> Portal:
    where = Where(WHAT, sources)
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise where.fail("、".join(unknown), f"未知的配置项（可用：{'、'.join(sorted(KEYS))}）")
    return Portal(
        name=text(raw.get("name"), where, "name"),
        full_name=text(raw.get("full_name"), where, "full_name"),
        city=text(raw.get("city"), where, "city"),
        host=text(raw.get("host"), where, "host"),
        operator=_optional(raw.get("operator"), where, "operator"),
        contact=_lines(raw.get("contact"), where, "contact", labelled=True),
        filing=_lines(raw.get("filing"), where, "filing", labelled=False),
        notice=_optional(raw.get("notice"), where, "notice"),
        objection_rules=text(raw.get("objection_rules"), where, "objection_rules"),
        repair_rules=text(raw.get("repair_rules"), where, "repair_rules"))


def load(paths: Sequence[Path]) -> Portal:
    raw, sources = load_merged(paths, WHAT)
    return parse(raw, sources)


_current: UntilChanged[Portal] = UntilChanged(load)


def current_portal(data_dir: Path | None = None) -> Portal:
    """The portal configuration in force; a locality's edit is seen on the next request."""
    return _current.get(rule_paths(FILE, data_dir))
