"""Masked identity numbers and names of natural persons, and the resident ID check.

SPEC §2.4: a person's identity number is masked in every output except the person's own
authorised view and the source department. Every public output goes through
`mask_id_number`, so what stays visible is decided here once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from operator import mul
from typing import Any

# GB 11643-1999: weights of the first 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# An 18-character resident ID inside text (after full-width folding, which keeps every
# position): not part of a longer run of digits or letters; region 1-9, a birth year 18xx-20xx,
# a month and a day. Each candidate is then held to its check character and real date, so a
# document number or account number of 18 digits is left alone ten times out of eleven and
# the rest only if it also reads as a real birth date.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
                         r"(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])")


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


def resident_ids_in(text: str) -> list[tuple[int, int]]:
    """(start, end) of each valid resident ID number written inside `text`."""
    if not text or len(text) < 18:
        return []
    folded = text.translate(_FULL_WIDTH)
    return [m.span() for m in _ID_IN_TEXT.finditer(folded)
            if validate_resident_id(m.group()) is None]


def has_resident_id(text: str) -> bool:
    return bool(resident_ids_in(text))


def mask_ids_in_text(text: str) -> str:
    """Free text with every resident ID number in it masked like `mask_id_number`:
    "身份证号码350203198001011234" → "身份证号码350***********1234". Other text, and numbers
    that are no resident ID (no valid check character or birth date), stay as they are."""
    spans = resident_ids_in(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], _keep_ends(text[start:end], 3, 4)]
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_ids_in_values(values: Mapping[str, Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of `values` with resident IDs masked in every text value (but `skip`'s)."""
    left = frozenset(skip)
    return {k: mask_ids_in_text(v) if isinstance(v, str) and k not in left else v
            for k, v in values.items()}


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
