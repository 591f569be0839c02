"""The catalog as data: the shipped national file, supplements, refusals and versions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from xinyong.catalog import rules, service
from xinyong.core.errors import RuleDataError
from xinyong.core.settings import get_settings
from xinyong.ingest import service as ingest

from ..factories import penalty, write_csv

NATIONAL = service.catalog_paths(Path("/nonexistent"))[0]


def test_national_catalog_has_both_double_publicity_items_with_their_fields() -> None:
    catalog = rules.load([NATIONAL])
    assert len(catalog.categories) == 13
    penalty_item, licence_item = catalog.item("penalty"), catalog.item("licence")
    assert penalty_item and licence_item
    assert len(penalty_item.fields) >= 30 and len(licence_item.fields) >= 28
    assert penalty_item.field("doc_no").code == "CF_WSH"  # type: ignore[union-attr]
    assert licence_item.field("doc_no").code == "XK_WSH"  # type: ignore[union-attr]
    assert penalty_item.legal_basis and licence_item.legal_basis
    assert penalty_item.timeliness_days == 7
    assert {e.value for e in catalog.enums["penalty_category"]} >= {
        "警告", "通报批评", "罚款", "没收违法所得", "吊销许可证件", "责令关闭", "限制从业"}
    assert [e.value for e in catalog.enums["licence_category"]] == [
        "普通", "特许", "认可", "核准", "登记", "其他"]


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_supplement_adds_fields_and_enum_values(tmp_path: Path) -> None:
    sup = write(tmp_path, "xiamen.yaml", """
version: xm-1
enums:
  penalty_category:
    - {value: 限期整改}
extend_items:
  - code: penalty
    fields:
      - {name: case_no, label: 案件编号, type: text, max_length: 64}
""")
    catalog = rules.load([NATIONAL, sup])
    assert catalog.item("penalty").field("case_no").label == "案件编号"  # type: ignore[union-attr]
    assert "限期整改" in catalog.enum_lookup("penalty_category")
    assert catalog.version.endswith("+xm-1")
    assert catalog.digest != rules.load([NATIONAL]).digest


@pytest.mark.parametrize(("body", "message"), [
    ("items:\n  - {code: x, name: X, category: '03', disclosure: public, subject_kinds: "
     "[organisation], key_field: a, decision_date_field: a, fields: [{name: a, label: A, "
     "type: date}]}\n", "legal_basis"),
    ("items:\n  - {code: x, name: X, category: '03', legal_basis: 法, disclosure: public, "
     "subject_kinds: [organisation], key_field: a, decision_date_field: a, "
     "fields: [{name: a, label: A, type: colour}]}\n", "未知类型"),
    ("items:\n  - {code: penalty, name: X, category: '03', legal_basis: 法, disclosure: public, "
     "subject_kinds: [organisation], key_field: a, decision_date_field: a, "
     "fields: [{name: a, label: A, type: date, required: true}]}\n", "重复"),
    ("extend_items:\n  - {code: nothing, fields: []}\n", "不存在"),
    ("items: [1, 2", "无法读取"),
])
def test_invalid_supplements_are_refused_naming_file_and_entry(tmp_path: Path, body: str,
                                                               message: str) -> None:
    sup = write(tmp_path, "bad.yaml", body)
    with pytest.raises(RuleDataError, match=message) as exc:
        rules.load([NATIONAL, sup])
    assert "bad.yaml" in str(exc.value)


def test_a_catalog_change_never_rewrites_stored_records(engine: Engine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    department = "厦门市思明区市场监督管理局"  # the deciding body the factory's rows name
    first = ingest.ingest_file(engine, write_csv(tmp_path / "a.csv", [penalty()]), department,
                               received=date(2025, 2, 10))
    local = tmp_path / "local"
    (local / "catalog").mkdir(parents=True)
    write(local / "catalog", "local.yaml", """
version: local-2
extend_items:
  - code: penalty
    fields:
      - {name: case_no, label: 案件编号, type: text}
""")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    second = ingest.ingest_file(
        engine, write_csv(tmp_path / "b.csv", [penalty(**{"行政处罚决定书文号": "新1",
                                                          "案件编号": "A-1"})]),
        department, received=date(2025, 2, 10))
    assert second.catalog_version.endswith("+local-2") and first.catalog_version != second.catalog_version
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT COUNT(*) FROM catalog_version")).scalar_one()
        rows = conn.execute(text(
            "SELECT r.doc_no, r.payload, v.version FROM record r "
            "JOIN catalog_version v ON v.id = r.catalog_version_id ORDER BY r.id")).all()
    assert versions == 2
    assert rows[0].version == first.catalog_version and "case_no" not in rows[0].payload
    assert rows[1].version == second.catalog_version and "A-1" in rows[1].payload
