"""Lists through the API: a proposal's whole way to a published entry, the subject's own
objection, refusals (no basis, too early, someone else's subject), and the public list."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.core.settings import get_settings

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty


def _subject(platform: Platform, n: int = 7) -> None:
    staff = platform.as_role("reporter", DEPARTMENT)
    r = platform.upload(staff, platform.csv("p.csv", [published_penalty(n)]))
    assert r.status_code == 201, r.text


def test_proposal_notice_objection_decision_and_public_list(platform: Platform, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "lists.yaml").write_text(
        "kinds:\n  - {code: market_serious_illegal, waiting_workdays: 0}\n"
        "  - {code: local_bad, name: 本地失信名单, list_type: black, authority: 某局, criteria: 某标准,"
        " exit: 三年}\n", "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    _subject(platform)
    staff = platform.as_role("staff")
    body = {"uscc": numbered_uscc(7), "kind": "market_serious_illegal", "facts": "吊销营业执照",
            "basis": "总局令第44号第二条"}
    refused = staff.post("/api/v1/list-proposals", json={**body, "kind": "local_bad"})
    assert refused.status_code == 422 and refused.json()["code"] == "list_kind_without_basis"
    r = staff.post("/api/v1/list-proposals", json=body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    early = staff.post(f"/api/v1/list-proposals/{pid}/decision", json={"doc_no": "厦市监列1号"})
    assert early.status_code == 422 and early.json()["code"] == "notice_required"
    r = staff.post(f"/api/v1/list-proposals/{pid}/notice", json={"content": "拟列入严重违法失信名单"})
    assert r.json()["status"] == "notified" and r.json()["objection_until"] is None

    other = platform.as_role("enterprise", subject=numbered_uscc(8))
    assert other.post(f"/api/v1/list-proposals/{pid}/objection",
                      json={"note": "不是我"}).json()["code"] == "not_the_subject"
    anonymous = platform.client.post(f"/api/v1/list-proposals/{pid}/objection", json={"note": "x"})
    assert anonymous.status_code == 401
    # no waiting period in this locality: an objection has no window
    own = platform.as_role("enterprise", subject=numbered_uscc(7))
    r = own.post(f"/api/v1/list-proposals/{pid}/objection", json={"note": "已整改"})
    assert r.status_code == 422 and r.json()["code"] == "no_waiting_period"

    r = staff.post(f"/api/v1/list-proposals/{pid}/decision", json={"doc_no": "厦市监列〔2026〕1号"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "decided" and r.json()["entry"]["active"]
    again = staff.post(f"/api/v1/list-proposals/{pid}/decision", json={"doc_no": "x"})
    assert again.status_code == 422 and again.json()["code"] == "illegal_transition"

    entries = platform.client.get("/api/v1/lists/market_serious_illegal/entries").json()
    assert [e["doc_no"] for e in entries["items"]] == ["厦市监列〔2026〕1号"]
    assert entries["has_more"] is False
    kinds = platform.client.get("/api/v1/lists").json()
    assert next(k for k in kinds["kinds"] if k["code"] == "market_serious_illegal")["active"] == 1
    assert kinds["refused"] == []  # the public sees usable kinds only
    assert staff.get("/api/v1/lists").json()["refused"][0]["code"] == "local_bad"
    assert platform.client.get("/api/v1/lists/local_bad/entries").status_code == 404

    listed = staff.get("/api/v1/list-proposals?open=true").json()
    assert listed["items"] == []
    entry = r.json()["entry"]["id"]
    r = staff.post(f"/api/v1/list-entries/{entry}/removal",
                   json={"reason": "法院撤销处罚", "doc_no": "厦市监移1号"})
    assert r.status_code == 200, r.text
    assert platform.client.get("/api/v1/lists/market_serious_illegal/entries").json()["items"] == []


def test_the_subject_objects_within_the_waiting_period(platform: Platform) -> None:
    _subject(platform)
    staff = platform.as_role("staff")
    pid = staff.post("/api/v1/list-proposals", json={
        "uscc": numbered_uscc(7), "kind": "tax_major_violation", "facts": "偷税",
        "basis": "第六条"}).json()["id"]
    r = staff.post(f"/api/v1/list-proposals/{pid}/notice", json={"content": "拟列入"})
    until = r.json()["objection_until"]
    assert until and r.json()["in_waiting_period"]
    too_early = staff.post(f"/api/v1/list-proposals/{pid}/decision", json={"doc_no": "厦税1号"})
    assert too_early.status_code == 422 and too_early.json()["code"] == "waiting_period"
    own = platform.as_role("enterprise", subject=numbered_uscc(7))
    r = own.post(f"/api/v1/list-proposals/{pid}/objection", json={"note": "税款已补缴"})
    assert r.status_code == 200 and r.json()["objection"] == "税款已补缴"
    page = own.get("/console/list-notices")
    assert "税款已补缴" in page.text
    r = staff.post(f"/api/v1/list-proposals/{pid}/withdrawal", json={"reason": "采纳异议"})
    assert r.json()["status"] == "withdrawn"
    notice = staff.get(f"/console/list-proposals/{pid}/notice")
    assert notice.status_code == 200 and until in notice.text
