"""Rules data files: where they are read from (the national defaults shipped in
`xinyong/data`, then the locality's file of the same name in `$XINYONG_DATA_DIR`, which
overrides them), how they are merged, and the checks and error messages every loader shares."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from xinyong.core.errors import RuleDataError
from xinyong.core.settings import get_settings

T = TypeVar("T")


def rule_paths(file: str, data_dir: Path | None = None) -> list[Path]:
    """The shipped `file`, then the locality's `<data_dir>/<file>` when there is one."""
    found = [Path(str(resources.files("xinyong.data").joinpath(file)))]
    local = data_dir if data_dir is not None else get_settings().data_dir
    if local is not None and (local / file).is_file():
        found.append(local / file)
    return found


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` laid over `base`: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_mapping(path: Path, what: str, name: str | None = None) -> dict[str, Any]:
    """A rules file's YAML, which must be a mapping; `what` names the kind of file in errors
    ("公示规则文件"), `name` how to call the file (its name by default)."""
    shown = name if name is not None else path.name
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RuleDataError(f"{what} {shown}：无法读取：{exc}") from exc
    if not isinstance(raw, dict):
        raise RuleDataError(f"{what} {shown}：顶层应为映射")
    return raw


def load_merged(paths: Sequence[Path], what: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The national defaults (first path) with each locality file merged over them in order,
    and the sources to name in errors: the shipped file by name, a locality's by full path —
    that is where to go and fix it."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge(merged, read_mapping(path, what))
    return merged, tuple(p.name if i == 0 else str(p) for i, p in enumerate(paths))


class Where:
    """Where a rules file went wrong: every error names the file(s), the entry and the reason."""

    def __init__(self, what: str, sources: tuple[str, ...]) -> None:
        self.what = what
        self.source = sources[0] + (f"（合并 {'、'.join(sources[1:])}）" if len(sources) > 1 else "")

    def fail(self, entry: str, reason: str) -> RuleDataError:
        return RuleDataError(f"{self.what} {self.source}：{entry}：{reason}")


def mapping(value: Any, where: Where, entry: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.fail(entry, "应为映射")
    return value


def text(value: Any, where: Where, entry: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.fail(entry, "应为非空文字")
    return value.strip()


def texts(value: Any, where: Where, entry: str) -> tuple[str, ...]:
    """A list of non-empty texts, each stripped."""
    if not isinstance(value, list):
        raise where.fail(entry, "应为列表")
    return tuple(text(v, where, f"{entry}[{i}]") for i, v in enumerate(value))


def whole(value: Any, where: Where, entry: str, *, minimum: int | None = None) -> int:
    """An integer (YAML's true/false are not), at least `minimum` when given."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise where.fail(entry, "应为整数")
    if minimum is not None and value < minimum:
        raise where.fail(entry, f"应不小于 {minimum}")
    return value


def positive(value: Any, where: Where, entry: str, key: str | None = None) -> int:
    """A whole number of at least 1; the error names the value found (and `key`, the setting
    within the entry, when given)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.fail(entry, f"{key + ' ' if key else ''}应为正整数，而不是 {value!r}")
    return value


def unknown_keys(raw: Mapping[str, Any], allowed: Collection[str], where: Where, entry: str) -> None:
    """Refuse settings the entry does not know (a typo would otherwise be silently ignored)."""
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        raise where.fail(entry, f"未知的设置 {'、'.join(extra)}（可用：{'、'.join(sorted(allowed))}）")


class UntilChanged(Generic[T]):
    """What `load` makes of a set of rule files, remembered until one of them changes (by its
    modification time) or another set is asked for: a locality edits its file and the next
    request sees the change, without a reload command or a restart."""

    def __init__(self, load: Callable[[tuple[Path, ...]], T]) -> None:
        self.load = load
        self.key: tuple[tuple[Path, ...], tuple[float, ...]] | None = None
        self.value: T | None = None

    def get(self, paths: Sequence[Path]) -> T:
        files = tuple(paths)
        key = (files, tuple(p.stat().st_mtime for p in files))
        if self.value is None or key != self.key:
            self.value, self.key = self.load(files), key
        return self.value
