"""Every error code of the platform is declared once, in an `ErrorCode` enum, with its HTTP
status and its Chinese and English message; every error the code raises names such a code,
and the status the code declares is the status the edges answer that error with."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import xinyong
from xinyong.core.errors import Concealed, CoreError, ErrorCode, XinyongError
from xinyong.web import errors as web_errors

SOURCE = Path(xinyong.__file__).parent
# The defaults of the base classes: a raise that leaves its code to one of these says nothing
# a caller could act on, so it must name its code (one of these, explicitly, where the generic
# answer is the contract, as `bad_file` is for any file that is not a table).
GENERIC = frozenset({CoreError.ERROR, CoreError.NOT_FOUND, CoreError.INVALID_INPUT, CoreError.BAD_FILE})
# Answered as "not found" by design: another department's batch must read exactly like a
# missing one, code and all.
DELIBERATELY_GENERIC: frozenset[type[XinyongError]] = frozenset({Concealed})
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
MISSING = object()


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=1)
def _modules() -> dict[Path, ModuleType]:
    """Every module of the package (not the command's entry point, not the migrations)."""
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        name = _module_name(path)
        if name.endswith("__main__") or ".migrations" in name:
            continue
        found[path] = importlib.import_module(name)
    return found


def _resolve(module: ModuleType, node: ast.expr) -> Any:
    """What a name or dotted name means at module level (MISSING: a local, or not a name)."""
    if isinstance(node, ast.Name):
        return getattr(module, node.id, MISSING)
    if isinstance(node, ast.Attribute):
        base = _resolve(module, node.value)
        return MISSING if base is MISSING else getattr(base, node.attr, MISSING)
    return MISSING


@dataclass(frozen=True)
class Site:
    """An error built in the code: a raise, or an error made to be raised by the caller."""

    where: str
    cls: type[XinyongError]
    code: Any  # the ErrorCode named by `code=` or the class; MISSING when not one
    spelled: str | None  # the `code=` expression as written, None without one


@lru_cache(maxsize=1)
def _sites() -> list[Site]:
    sites = []
    for path, module in _modules().items():
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            cls = _resolve(module, node.func)
            if not (isinstance(cls, type) and issubclass(cls, XinyongError)):
                continue
            keyword = next((k for k in node.keywords if k.arg == "code"), None)
            where = f"{path.relative_to(SOURCE.parent)}:{node.lineno}"
            if keyword is None:
                sites.append(Site(where, cls, cls.code, None))
            else:
                sites.append(Site(where, cls, _resolve(module, keyword.value),
                                  ast.unparse(keyword.value)))
    return sites


def _error_classes() -> set[type[XinyongError]]:
    _modules()
    found: set[type[XinyongError]] = set()
    todo = [XinyongError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return {c for c in found if c.__module__.startswith("xinyong.")}


def test_every_code_has_a_status_and_both_messages() -> None:
    _modules()  # an ErrorCode declared anywhere is found, not only in error_codes.py
    codes = web_errors.registry()
    assert set(CoreError) <= set(codes.values())
    assert {"authentication_required", "forbidden", "token_unknown", "unknown_department",
            "too_large", "internal_error"} <= set(codes)
    enums = _subclasses(ErrorCode)
    assert len(enums) >= 5  # the walk finds the capabilities' enums
    for enum in enums:
        for member in enum:
            what = f"{enum.__qualname__}.{member.name}"
            assert CODE.match(member.value), f"{what}: code {member.value!r} is not snake_case"
            assert codes[member.value] is member, f"{what}: not in the registry"
            assert member.status in set(HTTPStatus) and 400 <= member.status < 600, \
                f"{what}: status {member.status} is not an HTTP error status"
            assert member.zh.strip() and CJK.search(member.zh), f"{what}: no Chinese message"
            assert member.en.strip() and not CJK.search(member.en), f"{what}: no English message"


def _subclasses(cls: type[Enum]) -> list[type[ErrorCode]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_every_raise_names_a_specific_code() -> None:
    sites = _sites()
    assert len(sites) > 150  # the walk finds the raises (sign-in, ingest, cases …)
    problems = []
    for site in sites:
        name = site.cls.__qualname__
        if site.spelled is not None:
            if not isinstance(site.code, ErrorCode):
                problems.append(f"{site.where}: {name}(…, code={site.spelled}) names no ErrorCode "
                                "member (write code=<Capability>Error.NAME)")
        elif site.cls in DELIBERATELY_GENERIC:
            continue
        elif not isinstance(site.code, ErrorCode) or site.code in GENERIC:
            problems.append(f"{site.where}: {name}(…) without code=: its class answers only the "
                            f"generic {site.code!s}")
    assert problems == [], "\n" + "\n".join(problems)


# Raises answered with another status than their code declares, on purpose, each with why.
ANSWERED_OTHERWISE = {
    # A plan naming a scorecard that does not exist is a bad plan (422, as clients of the
    # sampling API are told); asking evaluation for that scorecard is not found (404).
    ("xinyong/sampling/service.py", "unknown_scorecard"),
}


def test_a_code_declares_the_status_its_error_is_answered_with() -> None:
    problems = []
    exempted = set()
    for site in _sites():
        if isinstance(site.code, ErrorCode):
            status = web_errors.status_of_class(site.cls)
            if (where := (site.where.rsplit(":", 1)[0], str(site.code))) in ANSWERED_OTHERWISE:
                exempted.add(where)
                continue
            if site.code.status != status:
                problems.append(f"{site.where}: {site.cls.__qualname__} is answered with {status}, "
                                f"its code {site.code!s} declares {site.code.status}")
    for cls in _error_classes():
        if not isinstance(cls.code, ErrorCode):
            problems.append(f"{cls.__module__}.{cls.__qualname__}: code {cls.code!r} is not an "
                            "ErrorCode member")
        elif cls.code.status != web_errors.status_of_class(cls):
            problems.append(f"{cls.__module__}.{cls.__qualname__}: answered with "
                            f"{web_errors.status_of_class(cls)}, its code {cls.code!s} declares "
                            f"{cls.code.status}")
    problems += [f"{where}: exempted, but no such raise any more" for where in
                 sorted(ANSWERED_OTHERWISE - exempted)]
    assert problems == [], "\n" + "\n".join(problems)


def test_the_english_table_covers_every_code() -> None:
    table = web_errors.english_table()
    for code, member in web_errors.registry().items():
        assert table[code] == member.en
        assert web_errors.english(code, member.status) == member.en
    # A code nobody declares (yet) still reads by its status, as it always did.
    assert web_errors.english("no_such_code", 404) == "Not found."
    assert web_errors.english("no_such_code", 403) == "Your role does not allow this."
    assert web_errors.english("no_such_code", 422) == "The request is not valid."
    assert web_errors.english("no_such_code", 401) == "Sign in or send an API token to use this."
