"""Masked identity numbers and names of natural persons, and the resident ID check.

SPEC §2.4: a person's identity number is masked in every output except the person's own
authorised view and the source department. Every public output goes through
`mask_id_number`, so what stays visible is decided here once.
"""

from __future__ import annotations

from datetime import date
from operator import mul

# GB 11643-1999: weights of the first 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def mask_id_number(value: str | None) -> str | None:
    """`350***********123X` for a resident ID; other documents keep first and last character.

    The visible ends let a clerk match a record against a document in hand without the
    output revealing the birth date and sequence that make the number identifying.
    """
    if not value:
        return value
    s = value.translate(_FULL_WIDTH).strip()
    if _looks_like_resident_id(s, 18):
        return _keep_ends(s, 3, 4)
    if _looks_like_resident_id(s, 15):
        return _keep_ends(s, 3, 3)
    if len(s) <= 2:
        return _keep_ends(s, 1, 0) if len(s) == 2 else "*" * len(s)
    return _keep_ends(s, 1, 1)


def mask_person_name(name: str | None) -> str | None:
    """Only the first character stays: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    s = name.strip()
    return s[:1] + "*" * (len(s) - 1)


def validate_resident_id(value: str) -> str | None:
    """None when `value` is a valid resident ID (GB 11643-1999), else the reason in Chinese.

    Legacy 15-digit numbers have no check digit, so only their digits and birth date are
    checked.
    """
    s = value.translate(_FULL_WIDTH).strip().upper()
    if not s:
        return "身份证号码不能为空"
    if len(s) == 15:
        if not s.isdigit():
            return "15位身份证号码应全部为数字"
        return _birth_date_problem("19" + s[6:12])
    if len(s) != 18:
        return f"身份证号码应为18位（或旧式15位），实际为{len(s)}位"
    if not (s[:17].isascii() and s[:17].isdigit()):
        return "身份证号码前17位应为数字"
    expected = _ID_CHECK[sum(map(mul, map(int, s[:17]), _ID_WEIGHTS)) % 11]
    if s[17] != expected:
        return f"身份证号码校验码错误，第18位应为“{expected}”"
    return _birth_date_problem(s[6:14])


def _birth_date_problem(yyyymmdd: str) -> str | None:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return f"身份证号码中的出生日期“{yyyymmdd}”不存在"
    if born > date.today():
        return f"身份证号码中的出生日期“{yyyymmdd}”晚于今天"
    return None


def _looks_like_resident_id(s: str, length: int) -> bool:
    if len(s) != length or not s.isascii():
        return False
    body, last = s[:-1], s[-1]
    return body.isdigit() and (last.isdigit() or (length == 18 and last in "Xx"))


def _keep_ends(s: str, head: int, tail: int) -> str:
    return s[:head] + "*" * (len(s) - head - tail) + s[len(s) - tail:]
