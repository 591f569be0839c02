"""The measures catalog and what applies, as pure rules: every shipped measure has a basis, a
measure without one refuses the catalog at load, matter types by code or name, and which list
entries and penalty records trigger which measures on which day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from xinyong.check import rules, service
from xinyong.core.errors import InvalidInput, RuleDataError
from xinyong.lists import service as lists

DAY = date(2026, 6, 1)
KINDS = {k.code: k.list_type for k in lists.current_kinds().kinds.values()}


def catalog(tmp_path: Path, measures: str, matters: str | None = None) -> rules.Catalog:
    m = tmp_path / "measures.yaml"
    m.write_text(measures, "utf-8")
    files = [m]
    if matters is not None:
        (tmp_path / "matters.yaml").write_text(matters, "utf-8")
    matter_files = service.paths("matters.yaml") + ([tmp_path / "matters.yaml"] if matters else [])
    return rules.load(service.paths("measures.yaml") + files, matter_files, KINDS)


MEASURE = """
measures:
  - code: local_honours_ban
    name: 不得参加评先评优
    group: 限制评先评优
    kind: penalty
    triggers: {lists: [court_judgment_defaulter]}
    matters: [honours]
    applied_by: 各评选单位
"""


def test_every_shipped_measure_has_a_basis_and_known_triggers() -> None:
    shipped = service.current_catalog()
    assert len(shipped.measures) >= 6
    for m in shipped.measures.values():
        assert m.basis.document and str(m.basis)
        assert m.matters and (m.lists or m.records)
    assert {m.kind for m in shipped.measures.values()} == {"penalty", "incentive"}


@pytest.mark.parametrize("basis", ["", "basis: {document: ''}\n", "basis: {article: 第一条}\n",
                                   "basis: '  '\n"])
def test_a_measure_without_a_basis_refuses_the_catalog_at_load(tmp_path: Path, basis: str) -> None:
    with pytest.raises(RuleDataError) as caught:
        catalog(tmp_path, MEASURE + ("    " + basis if basis else ""))
    assert "local_honours_ban" in caught.value.message and "measures.yaml" in caught.value.message
    assert "法律依据" in caught.value.message


def test_a_locality_adds_a_measure_with_its_basis(tmp_path: Path) -> None:
    found = catalog(tmp_path, MEASURE + "    basis: {document: 《某市失信惩戒办法》, article: 第十条}\n")
    added = found.measures["local_honours_ban"]
    assert str(added.basis) == "《某市失信惩戒办法》 第十条" and added.source == "measures.yaml"
    assert [m.code for m in found.by_matter["honours"]] == ["local_honours_ban"]


def test_a_locality_adds_a_matter_type(tmp_path: Path) -> None:
    found = catalog(tmp_path, "measures: []\n", "matters:\n  - {code: housing, name: 保障性住房}\n")
    assert found.matter("保障性住房").code == "housing"


@pytest.mark.parametrize(("fragment", "reason"), [
    ("    triggers: {lists: [no_such_kind]}\n", "不存在"),
    ("    matters: [no_such_matter]\n", "办理事项类型"),
    ("    kind: reward\n", "kind"),
    ("    triggers: {lists: [tax_a_grade]}\n", "不能由"),
    ("    colour: red\n", "未知的键"),
])
def test_bad_measure_rows_are_refused_with_the_reason(tmp_path: Path, fragment: str, reason: str) -> None:
    text = MEASURE + "    basis: {document: 《某办法》}\n"
    key = fragment.split(":")[0]
    text = "\n".join(line for line in text.splitlines() if not line.startswith(key + ":")) + "\n" + fragment
    with pytest.raises(RuleDataError) as caught:
        catalog(tmp_path, text)
    assert reason in caught.value.message


@pytest.mark.parametrize("value", ["bidding", "招标投标", "招投标", " 行政许可 ", "licensing"])
def test_matter_by_code_name_or_alias(value: str) -> None:
    assert service.matter(value).code in {"bidding", "licensing"}


def test_unknown_matter_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        service.matter("买房")
    assert caught.value.code == "unknown_matter" and "招标投标（bidding）" in caught.value.message


def entry(kind: str, listed: date, ends: date | None, list_type: str = "black") -> rules.Entry:
    return rules.Entry(kind, kind, list_type, "某机关", "文书1号", listed, ends, "entry:7")


def penalty(tier: str, decided: date, end: date | None, basis: str = "《某法》第一条",
            stops: tuple[rules.Stop, ...] = ()) -> rules.Penalty:
    return rules.Penalty(11, "罚1号", tier, decided, decided, end, rules.basis_key(basis), stops)


MEASURES = service.current_catalog().measures


@pytest.mark.parametrize(("case", "measure", "entries", "penalties", "applies", "until"), [
    ("wage-arrears list triggers the bidding ban", "bidding_ban",
     [entry("wage_arrears", date(2025, 1, 1), date(2028, 1, 1))], [], True, "2028-01-01"),
    ("a list entry stops applying on its end day", "bidding_ban",
     [entry("wage_arrears", date(2023, 6, 1), DAY)], [], False, None),
    ("and applies the day before", "bidding_ban",
     [entry("wage_arrears", date(2023, 6, 2), date(2026, 6, 2))], [], True, "2026-06-02"),
    ("an entry listed from tomorrow does not apply yet", "closer_supervision",
     [entry("market_serious_illegal", date(2026, 6, 2), None)], [], False, None),
    ("another list kind does not trigger it", "bidding_ban",
     [entry("tax_major_violation", date(2025, 1, 1), None)], [], False, None),
    ("a 严重 penalty in publicity within 3 years: procurement ban", "procurement_ban", [],
     [penalty("严重", date(2025, 1, 10), date(2028, 1, 10))], True, "2028-01-10"),
    ("until is the earlier of publicity end and 3 years", "procurement_ban", [],
     [penalty("严重", date(2025, 1, 10), date(2029, 1, 10))], True, "2028-01-10"),
    ("a 一般 penalty does not trigger the procurement ban", "procurement_ban", [],
     [penalty("一般", date(2026, 1, 10), date(2027, 1, 10))], False, None),
    ("a repaired penalty (publicity stopped) triggers nothing", "procurement_ban", [],
     [penalty("严重", date(2025, 1, 10), date(2028, 1, 10), stops=(rules.Stop(date(2026, 5, 1), None),))],
     False, None),
    ("a suspension that ended counts again", "procurement_ban", [],
     [penalty("严重", date(2025, 1, 10), date(2028, 1, 10),
              stops=(rules.Stop(date(2026, 5, 1), date(2026, 5, 20)),))], True, "2028-01-10"),
    ("licensing fraud penalty: licensing ban", "licensing_ban", [],
     [penalty("一般", date(2026, 1, 10), date(2027, 1, 10), "《中华人民共和国行政许可法》第七十九条")],
     True, "2027-01-10"),
    ("A级纳税人: green channel incentive", "tax_a_green_channel",
     [entry("tax_a_grade", date(2026, 4, 1), date(2027, 4, 1), "red")], [], True, "2027-04-01"),
])
def test_what_applies(case: str, measure: str, entries: list[rules.Entry],
                      penalties: list[rules.Penalty], applies: bool, until: str | None) -> None:
    found = rules.applicable([MEASURES[measure]], entries, penalties, DAY)
    assert bool(found) is applies, case
    if applies:
        assert found[0]["until"] == until and found[0]["basis"] and found[0]["code"] == measure
        assert found[0]["triggered_by"]["type"] in ("list_entry", "record")


def test_status_from_active_entries() -> None:
    assert rules.status([entry("wage_arrears", date(2025, 1, 1), None)], DAY) == "dishonest"
    assert rules.status([entry("tax_a_grade", date(2025, 1, 1), None, "red")], DAY) == "honoured"
    assert rules.status([entry("wage_arrears", date(2025, 1, 1), DAY)], DAY) == "normal"


@pytest.mark.parametrize(("text", "code"), [
    ("91350203MA2Y0000X1", True), ("９１３５０２０３ＭＡ２Ｙ００００Ｘ１", True),
    ("厦门市甲乙贸易有限公司", False), ("913502", False)])
def test_looks_like_code(text: str, code: bool) -> None:
    assert rules.looks_like_code(text) is code
