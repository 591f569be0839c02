"""Natural persons' subject keys are keyed hashes with a secret outside the database, and a
store made with the old unsalted keys still matches the same people after the upgrade
(issue 20 item 6)."""

from __future__ import annotations

import hashlib
import stat
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from xinyong.core import db
from xinyong.core.settings import get_settings
from xinyong.ingest import service
from xinyong.subjects import identity

from ..factories import penalty, resident_id, write_csv

DEPT = "厦门市思明区市场监督管理局"
NUMBER = resident_id(seq="456")


def _person_row(doc_no: str) -> dict[str, str]:
    return penalty(**{"行政相对人类别": "自然人", "行政相对人名称": "张三",
                      "行政相对人代码_1(统一社会信用代码)": "", "证件类型": "身份证",
                      "证件号码": NUMBER, "行政处罚决定书文号": doc_no})


def _ingest(engine: Engine, tmp_path: Path, doc_no: str) -> service.Receipt:
    path = write_csv(tmp_path / f"{doc_no[-3:]}.csv", [_person_row(doc_no)])
    return service.ingest_file(engine, path, DEPT, received=date(2025, 2, 10))


def _subjects(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
            "SELECT id, key FROM subject WHERE kind = 'natural_person' ORDER BY id"))]


def test_a_person_key_is_keyed_with_a_secret_kept_outside_the_database(
        engine: Engine, tmp_path: Path) -> None:
    _ingest(engine, tmp_path, "厦思市监罚〔2025〕101号")
    [(_, key)] = _subjects(engine)
    unsalted = hashlib.sha256(f"身份证:{NUMBER}".encode()).hexdigest()
    assert key.startswith("P2:") and NUMBER not in key and unsalted[:40] not in key
    secret_file = get_settings().files_dir / "keys" / "identity.key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert key == identity.person_key("身份证", NUMBER, bytes.fromhex(secret_file.read_text()))
    # The same person reported again is the same subject.
    _ingest(engine, tmp_path, "厦思市监罚〔2025〕102号")
    assert len(_subjects(engine)) == 1


def test_the_secret_file_can_live_elsewhere(engine: Engine, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "secrets" / "person.key"
    monkeypatch.setenv("XINYONG_IDENTITY_KEY_FILE", str(elsewhere))
    get_settings.cache_clear()
    _ingest(engine, tmp_path, "厦思市监罚〔2025〕101号")
    [(_, key)] = _subjects(engine)
    assert key == identity.person_key("身份证", NUMBER, bytes.fromhex(elsewhere.read_text()))
    assert not (get_settings().files_dir / "keys").exists()


def test_a_lost_secret_is_refused_rather_than_silently_replaced(
        engine: Engine, tmp_path: Path) -> None:
    _ingest(engine, tmp_path, "厦思市监罚〔2025〕101号")
    (get_settings().files_dir / "keys" / "identity.key").unlink()
    identity.secret_at.cache_clear()
    with pytest.raises(identity.IdentityKeyMissing, match="请恢复备份的密钥文件"):
        _ingest(engine, tmp_path, "厦思市监罚〔2025〕102号")
    assert len(_subjects(engine)) == 1


def test_a_store_keyed_the_old_way_still_matches_the_person_after_the_upgrade(
        engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:  # the store as the previous release left it
        command.downgrade(db._alembic_config(conn), "0026_hardening_merge")
    legacy = "P:" + hashlib.sha256(f"身份证:{NUMBER}".encode()).hexdigest()[:40]
    assert identity.legacy_person_key("身份证", NUMBER) == legacy
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO subject (key, name, kind, id_type, id_number, created_at, updated_at) "
            "VALUES (:key, '张三', 'natural_person', '身份证', :number, :now, :now)"),
            {"key": legacy, "number": NUMBER, "now": db.utcnow()})
    [(old_id, _)] = _subjects(engine)

    db.upgrade(engine)
    [(upgraded_id, key)] = _subjects(engine)
    assert upgraded_id == old_id and key.startswith("P2:")
    receipt = _ingest(engine, tmp_path, "厦思市监罚〔2025〕101号")
    assert receipt.new == 1
    assert _subjects(engine) == [(old_id, key)]  # no second subject for the same person
    with engine.connect() as conn:
        assert conn.execute(text("SELECT subject_id FROM record")).scalar_one() == old_id
