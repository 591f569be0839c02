"""Masking persons' identity numbers and names, and the resident ID check (GB 11643-1999)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core.masking import (
    mask_id_number,
    mask_ids_in_text,
    mask_ids_in_values,
    mask_person_name,
    validate_resident_id,
)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def resident_id(region: str, born: date, sequence: str) -> str:
    return with_check(f"{region}{born:%Y%m%d}{sequence}")


@pytest.mark.parametrize(("value", "masked"), [
    pytest.param("35010219900101123X", "350***********123X", id="resident ID keeps 3 and 4"),
    pytest.param("350102199001011234", "350***********1234", id="resident ID with digit check"),
    pytest.param("35010219900101123x", "350***********123x", id="lower-case check character"),
    pytest.param(" 35010219900101123X ", "350***********123X", id="blank padding"),
    pytest.param("350102900101123", "350*********123", id="legacy 15-digit ID keeps 3 and 3"),
    pytest.param("E12345678", "E*******8", id="passport keeps first and last"),
    pytest.param("H1234567801", "H*********1", id="Hong Kong and Macao permit"),
    pytest.param("35010219900101123", "3***************3", id="17 digits is not a resident ID"),
    pytest.param("AB", "A*", id="two characters never both shown"),
    pytest.param("A", "*", id="one character is hidden"),
    pytest.param("", "", id="empty stays empty"),
    pytest.param(None, None, id="missing stays missing"),
])
def test_mask_id_number(value: str | None, masked: str | None) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(("name", "masked"), [
    pytest.param("张三", "张*", id="two-character name"),
    pytest.param("王小明", "王**", id="three-character name"),
    pytest.param("欧阳娜娜", "欧***", id="compound surname keeps only its first character"),
    pytest.param("买买提·艾力", "买*****", id="name with a middle dot"),
    pytest.param(" 张三 ", "张*", id="blank padding"),
    pytest.param("", "", id="empty stays empty"),
    pytest.param(None, None, id="missing stays missing"),
])
def test_mask_person_name(name: str | None, masked: str | None) -> None:
    assert mask_person_name(name) == masked


@given(st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True))
def test_a_masked_resident_id_hides_birth_date_and_sequence(value: str) -> None:
    masked = mask_id_number(value)
    assert masked is not None
    assert len(masked) == 18
    assert masked[:3] == value[:3] and masked[-4:] == value[-4:]
    assert set(masked[3:14]) == {"*"}


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_masking_never_shows_a_whole_document_number(value: str) -> None:
    masked = mask_id_number(value)
    assert masked is not None
    assert "*" in masked


@pytest.mark.parametrize("value", [
    pytest.param("11010519491231002X", id="the standard's example"),
    pytest.param("11010519491231002x", id="lower-case check character"),
    pytest.param("１１０１０５１９４９１２３１００２Ｘ", id="full-width"),
    pytest.param(resident_id("350102", date(2000, 2, 29), "123"), id="born on a leap day"),
    pytest.param("110105491231002", id="legacy 15-digit ID"),
])
def test_valid_resident_ids(value: str) -> None:
    assert validate_resident_id(value) is None


@pytest.mark.parametrize(("value", "reason"), [
    pytest.param("110105194912310021", "校验码错误，第18位应为“X”", id="wrong check character"),
    pytest.param("11010519491231002Y", "校验码错误", id="check character not a digit or X"),
    pytest.param(with_check("11010519490230002"), "出生日期“19490230”不存在",
                 id="birth date 30 February"),
    pytest.param(with_check("11010519491331002"), "不存在", id="birth month 13"),
    pytest.param(with_check("11010520990101002"), "晚于今天", id="born in the future"),
    pytest.param("1101051949123100AX", "前17位应为数字", id="letter in the first 17"),
    pytest.param("11010519491231002", "应为18位", id="17 characters"),
    pytest.param("110105490230002", "不存在", id="legacy ID with an impossible birth date"),
    pytest.param("11010549123100X", "应全部为数字", id="legacy ID with a letter"),
    pytest.param("", "不能为空", id="empty"),
])
def test_invalid_resident_ids_say_why(value: str, reason: str) -> None:
    found = validate_resident_id(value)
    assert found is not None and reason in found


@given(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True),
       st.dates(date(1900, 1, 1), date(2020, 12, 31)),
       st.from_regex(r"[0-9]{3}", fullmatch=True))
def test_any_real_birth_date_with_its_check_character_is_valid(
    region: str, born: date, sequence: str
) -> None:
    value = resident_id(region, born, sequence)
    assert validate_resident_id(value) is None
    wrong = "0" if value[-1] == "X" else "X"
    assert validate_resident_id(value[:17] + wrong) is not None


PERSON = resident_id("350203", date(1980, 1, 1), "123")
WIDE = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}


@pytest.mark.parametrize(("text", "masked"), [
    pytest.param(f"当事人张三（身份证号码{PERSON}）于",
                 f"当事人张三（身份证号码350***********{PERSON[-4:]}）于", id="inside Chinese text"),
    pytest.param(f"{PERSON}，{PERSON}", f"350***********{PERSON[-4:]}，350***********{PERSON[-4:]}",
                 id="twice"),
    pytest.param(f"身份证号码{PERSON.translate(WIDE)}",
                 f"身份证号码３５０***********{PERSON[-4:].translate(WIDE)}", id="full-width digits"),
    pytest.param(f"身份证号码{PERSON[:17].lower()}x", None, id="no check character: left"),
])
def test_resident_ids_in_free_text_are_masked(text: str, masked: str | None) -> None:
    assert mask_ids_in_text(text) == (masked if masked is not None else text)


@pytest.mark.parametrize("text", [
    pytest.param(PERSON[:17] + ("0" if PERSON[-1] != "0" else "1"), id="wrong check character"),
    pytest.param("9" + PERSON, id="part of a longer number"),
    pytest.param(PERSON + "7", id="followed by a digit"),
    pytest.param("合同编号 HT" + PERSON, id="part of a code with letters"),
    pytest.param(with_check("35020319800230123"), id="no such birth date"),
    pytest.param("文号 2024123456789012345", id="a long document number"),
    pytest.param("罚款2000元", id="no number at all"),
])
def test_other_numbers_in_free_text_are_left_alone(text: str) -> None:
    assert mask_ids_in_text(text) == text


@given(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), st.dates(date(1900, 1, 1), date(2020, 12, 31)),
       st.from_regex(r"[0-9]{3}", fullmatch=True), st.text(max_size=20), st.text(max_size=20))
def test_no_valid_resident_id_survives_free_text_masking(region: str, born: date, sequence: str,
                                                         before: str, after: str) -> None:
    value = resident_id(region, born, sequence)
    masked = mask_ids_in_text(f"{before}，{value}。{after}")
    assert value not in masked and f"{value[:3]}***********{value[-4:]}" in masked


def test_values_mask_text_but_skip_the_named() -> None:
    values = {"violation_facts": f"身份证号码{PERSON}", "id_number": PERSON, "fine": 2}
    assert mask_ids_in_values(values, skip=("id_number",)) == {
        "violation_facts": f"身份证号码350***********{PERSON[-4:]}", "id_number": PERSON, "fine": 2}
