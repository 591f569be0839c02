"""Amounts in 万元: what departments type, what is refused, how it is written back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core.amounts import format_wan, parse_wan

FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
AMOUNTS = st.decimals(min_value=0, max_value=10**8, places=6, allow_nan=False,
                      allow_infinity=False)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("0.2", "0.2", id="a 2000-yuan fine is 0.2"),
    pytest.param("12", "12", id="whole number"),
    pytest.param("1,234.5", "1234.5", id="thousands separators"),
    pytest.param("12,345,678", "12345678", id="several thousands groups"),
    pytest.param("１２.５", "12.5", id="full-width digits"),
    pytest.param("１２，３４５．５", "12345.5", id="full-width separators"),
    pytest.param("12万元", "12", id="unit 万元"),
    pytest.param("0.2万", "0.2", id="unit 万"),
    pytest.param("3 万元", "3", id="blank before the unit"),
    pytest.param(" 100 ", "100", id="blank padding"),
    pytest.param("100.000", "100", id="trailing zeros dropped"),
    pytest.param("0.2000000", "0.2", id="trailing zeros beyond six decimals are harmless"),
    pytest.param("0.000001", "0.000001", id="one fen is the smallest amount"),
    pytest.param(".5", "0.5", id="leading dot"),
    pytest.param("0", "0", id="zero"),
    pytest.param("100000000", "100000000", id="the largest plausible amount"),
])
def test_accepted_amounts(text: str, expected: str) -> None:
    value = parse_wan(text)
    assert value == Decimal(expected)
    assert format_wan(value) == expected


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("2000元", "金额单位应为万元：“2000元”应填0.2", id="yuan instead of 万元"),
    pytest.param("2,000 元", "应填0.2", id="grouped yuan"),
    pytest.param("500美元", "金额单位应为万元", id="another currency"),
    pytest.param("1万美元", "金额单位应为万元", id="万 of another currency"),
    pytest.param("-0.2", "不能为负数", id="negative"),
    pytest.param("－0.2万元", "不能为负数", id="full-width minus"),
    pytest.param("0.0000001", "超过6位小数", id="below one fen"),
    pytest.param("100000000.000001", "超出合理范围", id="more than 10^8 万元"),
    pytest.param("1e3", "无法识别", id="scientific notation"),
    pytest.param("0,2", "无法识别", id="decimal comma is ambiguous"),
    pytest.param("1,23", "无法识别", id="misplaced thousands separator"),
    pytest.param("十二", "无法识别", id="Chinese numerals"),
    pytest.param("12千元", "金额单位应为万元", id="thousand yuan"),
    pytest.param("NaN", "无法识别", id="not a number"),
    pytest.param("", "不能为空", id="empty"),
])
def test_rejected_amounts_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_wan(text)


@pytest.mark.parametrize(("amount", "text"), [
    pytest.param(Decimal("1E+2"), "100", id="no exponent"),
    pytest.param(Decimal("0.200"), "0.2", id="no trailing zeros"),
    pytest.param(Decimal("0E-6"), "0", id="zero with an exponent"),
    pytest.param(Decimal("1234.5"), "1234.5", id="no grouping"),
])
def test_format_wan(amount: Decimal, text: str) -> None:
    assert format_wan(amount) == text


@given(AMOUNTS)
def test_formatted_amounts_parse_back(amount: Decimal) -> None:
    assert parse_wan(format_wan(amount)) == amount


@given(AMOUNTS, st.sampled_from(["{:f}", "{:,f}", "{:f}万元", "{:,f}万"]), st.booleans())
def test_decorated_amounts_parse_back(amount: Decimal, pattern: str, full_width: bool) -> None:
    text = pattern.format(amount)
    assert parse_wan(text.translate(FULL_WIDTH) if full_width else text) == amount


@given(AMOUNTS.filter(lambda a: a > 0))
def test_negative_amounts_are_refused(amount: Decimal) -> None:
    with pytest.raises(ValueError, match="负数"):
        parse_wan(f"-{amount:f}")


@given(AMOUNTS.filter(lambda a: a < 10**8), st.integers(1, 9))
def test_a_seventh_significant_decimal_is_refused(amount: Decimal, digit: int) -> None:
    with pytest.raises(ValueError, match="6位小数"):
        parse_wan(f"{amount:.6f}{digit}")
