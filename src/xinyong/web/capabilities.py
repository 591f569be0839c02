"""The capabilities the web app serves: every `xinyong.<capability>` package with an `api.py`
(JSON routes), a `pages.py` (pages) or a `templates/` folder. Found, not listed, so a new
capability only adds its own files."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from types import ModuleType
from typing import Any

import xinyong

NOT_CAPABILITIES = {"core", "data", "web"}


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(xinyong.__path__)
                        if m.ispkg and m.name not in NOT_CAPABILITIES))


def modules(room: str) -> list[ModuleType]:
    """Each capability's `api` or `pages` module, where it has one."""
    found = []
    for name in names():
        if find_spec(f"xinyong.{name}.{room}") is not None:
            found.append(importlib.import_module(f"xinyong.{name}.{room}"))
    return found


def with_templates() -> list[str]:
    return [n for n in names() if resources.files(f"xinyong.{n}").joinpath("templates").is_dir()]


def offered(room: str, name: str) -> list[Any]:
    """What each capability's `room` module offers under `name` (a start-up hook, its template
    filters), where it offers it: the kit asks for it without naming the capability, so no
    arrow points from the kit up to them."""
    return [getattr(m, name) for m in modules(room) if hasattr(m, name)]
