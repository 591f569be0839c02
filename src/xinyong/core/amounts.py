"""Amounts in 万元 (ten thousand yuan), the unit of every 双公示 money field.

The commonest error in practice is a fine reported in 元 ("2000元" for 0.2 万元), which would
inflate it ten-thousandfold; `parse_wan` refuses any unit but 万元 and shows the right value.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal
from functools import lru_cache

# Six decimals of 万元 is one fen (0.01 元), the smallest amount a decision can state.
MAX_DECIMALS = 6
# 10^8 万元 is a trillion yuan: beyond any single fine or confiscation, so a unit mistake.
MAX_WAN = Decimal(10) ** 8

_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Thousands separators only in groups of three: "0,2" may be a European decimal comma.
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_UNITS_WAN = ("万元", "万")
_FORMAT_HINT = "应为以万元为单位的数字，如0.2"


@lru_cache(maxsize=65536)
def parse_wan(text: str) -> Decimal:
    """The amount in 万元 that `text` states, normalised (`Decimal("0.2")`, `Decimal("100")`).

    Raises `ValueError` with a Chinese message. Cached: amounts repeat across a large file.
    """
    s = text.strip()
    number = s if s.isascii() and _is_plain(s) else _strip_decorations(s)
    return _checked(Decimal(number), s)


def format_wan(amount: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: `0.2`, `100`, `1234.5`."""
    if amount == 0:
        return "0"
    return format(_normalised(amount), "f")


def _is_plain(s: str) -> bool:
    # Callers pass ASCII only, where isdigit() means 0-9; one dot allows "12.5", ".5", "5.".
    return s.replace(".", "", 1).isdigit()


def _bare_number(s: str) -> str | None:
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    return s if s.isascii() and _is_plain(s) else None


def _strip_decorations(shown: str) -> str:
    """The bare ASCII number in `shown` once width, unit and grouping are folded away."""
    s = shown.translate(_FULL_WIDTH).strip()
    if not s:
        raise ValueError("金额不能为空")
    if s.startswith(("-", "−")):
        raise ValueError(f"金额“{shown}”不能为负数")
    for unit in _UNITS_WAN:
        if s.endswith(unit):
            s = s[: -len(unit)].strip()
            break
    else:
        if s.endswith("元"):
            raise ValueError(_wrong_unit(shown, _bare_number(s[:-1].strip())))
    number = _bare_number(s)
    if number is None:
        raise ValueError(f"无法识别的金额“{shown}”，{_FORMAT_HINT}")
    return number


def _wrong_unit(shown: str, yuan: str | None) -> str:
    if yuan is None:
        return f"金额单位应为万元：“{shown}”{_FORMAT_HINT}"
    return f"金额单位应为万元：“{shown}”应填{format_wan(Decimal(yuan) / 10000)}"


def _checked(amount: Decimal, shown: str) -> Decimal:
    if amount > MAX_WAN:
        raise ValueError(
            f"金额“{shown}”超出合理范围（不超过{format_wan(MAX_WAN)}万元），请核对单位")
    value = _normalised(amount)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise ValueError(
            f"金额“{shown}”超过{MAX_DECIMALS}位小数（单位为万元，最小为0.000001万元即1分）")
    return value


def _normalised(amount: Decimal) -> Decimal:
    # A context as wide as the number keeps normalize() and quantize() from rounding it.
    _, digits, exponent = amount.as_tuple()
    width = len(digits) + (exponent if isinstance(exponent, int) and exponent > 0 else 0)
    exact = Context(prec=max(width, 28))
    value = amount.normalize(exact)
    exponent = value.as_tuple().exponent
    # normalize() writes 100 as 1E+2; quantizing back to an integer keeps plain notation.
    if isinstance(exponent, int) and exponent > 0:
        value = value.quantize(Decimal(1), context=exact)
    return value
