"""The unified social credit code (统一社会信用代码, GB 32100-2015) as a value type.

`validate` names every failure instead of answering yes/no, so a department sees why a
row was returned. The tables of department, category and region codes are data
(`data/uscc.yaml`); only the arithmetic of the standard lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from operator import mul
from typing import Any

import yaml

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
LENGTH = 18


@dataclass(frozen=True, slots=True)
class UsccError:
    """One reason a code is not valid. `code` is stable, `message` is for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class UsccTables:
    departments: dict[str, dict[str, str]]  # department code -> category code -> name
    department_names: dict[str, str]
    provinces: dict[str, str]
    national_region: str
    placeholder: str


@lru_cache(maxsize=1)
def tables() -> UsccTables:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("xinyong.data").joinpath("uscc.yaml").read_text("utf-8")
    )
    departments = {str(k): {str(c): n for c, n in v["categories"].items()}
                   for k, v in raw["departments"].items()}
    return UsccTables(
        departments=departments,
        department_names={str(k): v["name"] for k, v in raw["departments"].items()},
        provinces={str(k): v for k, v in raw["provinces"].items()},
        national_region=str(raw["national_region"]),
        placeholder=str(raw["placeholder"]),
    )


# Full-width ASCII (U+FF01–U+FF5E) to ASCII, and blanks (including the ideographic space)
# removed: how departments' spreadsheets garble codes.
_FOLD = {o: o - 0xFEE0 for o in range(0xFF01, 0xFF5F)} | {ord(c): None for c in " \t\r\n\u3000\xa0"}


def normalise(code: str) -> str:
    """Strip blanks and fold full-width characters and lower case, as departments type them."""
    if len(code) == LENGTH and code.isascii() and code.isalnum():
        return code.upper()  # the usual case, without the slow path
    return code.translate(_FOLD).upper()


def check_character(first17: str) -> str:
    """The check character (position 18) for the first 17 characters."""
    if len(first17) != 17 or any(ch not in VALUES for ch in first17):
        raise ValueError("需要17位统一社会信用代码字符")
    total = sum(map(mul, map(VALUES.__getitem__, first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


ORG_VALUES = {ch: i for i, ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def org_check_character(body8: str) -> str:
    """The GB 11714 organisation-code check character for its 8 body characters."""
    if len(body8) != 8 or not all(map(ORG_VALUES.__contains__, body8)):
        raise ValueError("需要8位组织机构代码本体")
    c9 = 11 - sum(map(mul, map(ORG_VALUES.__getitem__, body8), ORG_WEIGHTS)) % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def is_placeholder(code: str) -> bool:
    return normalise(code) == tables().placeholder


@lru_cache(maxsize=65536)
def validate(code: str) -> tuple[UsccError, ...]:
    """Every reason `code` is not a valid USCC; empty when valid.

    Cached: a million-row file names far fewer distinct subjects than rows.
    """
    c = normalise(code)
    if len(c) != LENGTH:
        return (UsccError("length", f"长度应为18位，实际为{len(c)}位"),)
    if not all(map(VALUES.__contains__, c)):
        bad = [f"第{i + 1}位“{ch}”" for i, ch in enumerate(c) if ch not in VALUES]
        return (UsccError("alphabet", "含有不允许的字符：" + "、".join(bad)
                          + "（不得使用I、O、Z、S、V）"),)
    errors: list[UsccError] = []
    t = tables()
    categories = t.departments.get(c[0])
    if categories is None:
        errors.append(UsccError("department", f"登记管理部门码“{c[0]}”不存在"))
    elif c[1] not in categories:
        errors.append(UsccError(
            "category", f"机构类别码“{c[1]}”不属于登记管理部门“{t.department_names[c[0]]}”"))
    region = c[2:8]
    if not region.isdigit():
        errors.append(UsccError("region", f"登记管理机关行政区划码“{region}”应为6位数字"))
    elif region != t.national_region and region[:2] not in t.provinces:
        errors.append(UsccError("region", f"登记管理机关行政区划码“{region}”不是有效的行政区划"))
    body = c[8:16]
    if not all(map(ORG_VALUES.__contains__, body)):
        errors.append(UsccError("org_code", "主体标识码（组织机构代码）本体含无效字符"))
    elif org_check_character(body) != c[16]:
        errors.append(UsccError(
            "org_code", f"主体标识码（组织机构代码）校验位错误，应为“{org_check_character(body)}”"))
    expected = check_character(c[:17])
    if expected != c[17]:
        errors.append(UsccError("check_character", f"校验码错误，第18位应为“{expected}”"))
    return tuple(errors)


def is_valid(code: str) -> bool:
    return not validate(code)


def region_code(code: str) -> str:
    return normalise(code)[2:8]


def department_and_category(code: str) -> tuple[str, str]:
    c = normalise(code)
    return c[0], c[1]
