"""The unified social credit code (GB 32100-2015): every rule of the standard, one row each."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.core.uscc import (
    ALPHABET,
    VALUES,
    WEIGHTS,
    check_character,
    department_and_category,
    is_placeholder,
    is_valid,
    normalise,
    org_check_character,
    region_code,
    tables,
    validate,
)

FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def build(prefix8: str, body8: str, org_check: str | None = None) -> str:
    """A code with the given prefix and organisation body whose check characters are right."""
    first17 = prefix8 + body8 + (org_check or org_check_character(body8))
    return first17 + check_character(first17)


def codes(code: str) -> tuple[str, ...]:
    return tuple(error.code for error in validate(code))


@pytest.mark.parametrize("code", [
    pytest.param("91350100M000100Y43", id="the standard's worked example"),
    pytest.param("91100000100003962T", id="registered by a national-level authority (100000)"),
    pytest.param("91350100m000100y43", id="lower case"),
    pytest.param(" 9135 0100 M000 100Y 43 ", id="blanks"),
    pytest.param("９１３５０１００Ｍ０００１００Ｙ４３", id="full-width"),
    pytest.param(build("A1110000", "MA00001X"), id="department A (military), stdnum rejects it"),
    pytest.param(build("N2350100", "MA2Y3K4L"), id="department N (agriculture), stdnum rejects"),
    pytest.param(build("Y1350100", "12345678"), id="department Y (other), stdnum rejects it"),
    pytest.param(build("12100000", "40000001"), id="department 1 category 2: 事业单位"),
    pytest.param(build("31440300", "K3172846"), id="department 3 category 1: 律师事务所"),
    pytest.param(build("52350100", "MJ0000AB"), id="department 5 category 2: 民办非企业单位"),
    pytest.param(build("92350203", "MA31GFX1"), id="department 9 category 2: 个体工商户"),
    pytest.param(build("93650100", "MA7X8Y9Q"), id="department 9 category 3: 农民专业合作社"),
    pytest.param(build("81820000", "00000001"), id="Macao region 82"),
])
def test_valid_codes(code: str) -> None:
    assert validate(code) == ()
    assert is_valid(code)


@pytest.mark.parametrize(("code", "expected"), [
    pytest.param("91350100M000100Y4", ("length",), id="17 characters is too short"),
    pytest.param("91350100M000100Y433", ("length",), id="19 characters is too long"),
    pytest.param("", ("length",), id="empty"),
    pytest.param("91350100M000100Y4Z", ("alphabet",), id="Z is not in the alphabet"),
    pytest.param("91350100M0001OOY43", ("alphabet",), id="O is not in the alphabet"),
    pytest.param("91350100M000100Y4-", ("alphabet",), id="punctuation"),
    pytest.param(build("B1350100", "M000100Y"), ("department",), id="department B does not exist"),
    pytest.param(build("01350100", "M000100Y"), ("department",), id="department 0 does not exist"),
    pytest.param(build("94350100", "M000100Y"), ("category",),
                 id="category 4 is not one of 工商's categories"),
    pytest.param(build("99350100", "M000100Y"), ("category",), id="工商 has no category 9"),
    pytest.param(build("Y2350100", "M000100Y"), ("category",), id="department Y has only 1"),
    pytest.param(build("9135A100", "M000100Y"), ("region",), id="region code with a letter"),
    pytest.param(build("91990100", "M000100Y"), ("region",), id="no province 99"),
    pytest.param(build("91000000", "M000100Y"), ("region",), id="region 000000"),
    pytest.param(build("91350100", "M000100Y", "5"), ("org_code",),
                 id="outer check right but organisation check wrong: a made-up code"),
    pytest.param("91350100M000100Y44", ("check_character",), id="wrong check character"),
    pytest.param("91350100M000100Y53", ("org_code", "check_character"),
                 id="a typo in the organisation check breaks both checks"),
    pytest.param(build("B9990100", "M000100Y", "5"), ("department", "region", "org_code"),
                 id="every independent failure is named"),
])
def test_invalid_codes_name_each_failure(code: str, expected: tuple[str, ...]) -> None:
    assert codes(code) == expected
    assert not is_valid(code)


def test_messages_are_for_people() -> None:
    (error,) = validate("91350100M000100Y44")
    assert error.as_dict() == {"code": "check_character", "message": "校验码错误，第18位应为“3”"}
    (error,) = validate("91350100M000100Y4")
    assert "长度应为18位，实际为17位" in error.message


def test_worked_example_of_the_standard() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    first17 = "91350100M000100Y4"
    assert sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True)) == 1640
    assert check_character(first17) == "3"


@pytest.mark.parametrize(("body", "check"), [
    pytest.param("M000100Y", "4", id="organisation code of the worked example"),
    pytest.param("10000396", "2", id="organisation code of a national registration"),
    pytest.param("40000000", "X", id="11 - 1 = 10 is written X"),
    pytest.param("00000000", "0", id="11 - 0 = 11 is written 0"),
])
def test_org_check_character(body: str, check: str) -> None:
    assert org_check_character(body) == check


@pytest.mark.parametrize("bad", ["91350100M000100Y", "91350100M000100YI", "91350100M000100Y43"])
def test_check_character_needs_17_alphabet_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="17位"):
        check_character(bad)


def test_placeholder_of_an_individual_business_without_code() -> None:
    assert is_placeholder("00000000000000000X")
    assert is_placeholder(" 00000000000000000x ")
    assert not is_placeholder("91350100M000100Y43")


def test_parts_of_a_code() -> None:
    assert region_code(" 91350100m000100y43") == "350100"
    assert department_and_category("n2350100MA2Y3K4LXK") == ("N", "2")


CHARACTER = st.sampled_from(ALPHABET)


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    t = tables()
    department = draw(st.sampled_from(sorted(t.departments)))
    category = draw(st.sampled_from(sorted(t.departments[department])))
    province = draw(st.sampled_from(sorted(t.provinces)))
    region = draw(st.one_of(st.just(t.national_region),
                            st.from_regex(r"[0-9]{4}", fullmatch=True).map(province.__add__)))
    body = "".join(draw(st.lists(CHARACTER, min_size=8, max_size=8)))
    return build(department + category + region, body)


@given(st.lists(CHARACTER, min_size=17, max_size=17).map("".join))
def test_any_17_characters_with_their_check_character_pass_the_outer_check(first17: str) -> None:
    assert "check_character" not in codes(first17 + check_character(first17))


@given(valid_codes())
def test_built_codes_are_valid(code: str) -> None:
    assert validate(code) == ()


@given(valid_codes(), st.integers(0, 17), st.integers(1, 30))
def test_changing_any_one_character_is_detected(code: str, position: int, shift: int) -> None:
    replaced = ALPHABET[(VALUES[code[position]] + shift) % 31]
    changed = code[:position] + replaced + code[position + 1:]
    assert "check_character" in codes(changed)


@given(valid_codes(), st.lists(st.sampled_from(["lower", "wide", "blank", "ideographic"]),
                               min_size=18, max_size=18))
def test_normalise_folds_width_case_and_blanks(code: str, styles: list[str]) -> None:
    typed = ""
    for ch, style in zip(code, styles, strict=True):
        typed += {"lower": ch.lower(), "wide": ch.translate(FULL_WIDTH),
                  "blank": " " + ch, "ideographic": ch + "\u3000"}[style]
    assert normalise(typed) == code
    assert is_valid(typed)
