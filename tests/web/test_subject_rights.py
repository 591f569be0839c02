"""The subject page brings the rights together: 异议处理中 and 信用修复中 markers on records,
active list entries, and the enterprise's own links to object and to apply for repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.core.settings import get_settings

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty, recent


def _record_id(platform: Platform, uscc: str) -> int:
    body = platform.client.get(f"/api/v1/subjects/{uscc}").json()
    record_id: int = body["records"][0]["id"]
    return record_id


def test_objection_marker_and_enterprise_links(platform: Platform) -> None:
    uscc = numbered_uscc(11)
    reporter = platform.as_role("reporter", DEPARTMENT)
    assert platform.upload(reporter, platform.csv("p.csv", [published_penalty(11)])).status_code == 201
    record = _record_id(platform, uscc)
    firm = platform.as_role("enterprise", subject=uscc)
    page = firm.get(f"/subjects/{uscc}").text
    assert f"/objections/new?record={record}" in page and f"/repairs/new?record={record}" in page
    assert f"/objections/new?record={record}" not in platform.client.get(f"/subjects/{uscc}").text
    filed = firm.post("/api/v1/objections", data={"record": str(record),
                                                  "reason": "处罚决定已被行政复议撤销，请核实更正"})
    assert filed.status_code == 201, filed.text
    case_no = filed.json()["case_no"]
    view = platform.client.get(f"/api/v1/subjects/{uscc}").json()
    [marker] = view["records"][0]["markers"]
    assert marker == {"kind": "objection", "label": "异议处理中", "case_no": case_no,
                      "status": "open", "url": f"/objections/{case_no}"}
    page = platform.client.get(f"/subjects/{uscc}").text
    assert "异议处理中" in page and f'href="/objections/{case_no}"' in page


def test_active_list_entries_on_the_subject_page(platform: Platform, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "lists.yaml").write_text("kinds:\n  - {code: market_serious_illegal, waiting_workdays: 0}\n",
                                      "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    uscc = numbered_uscc(12)
    reporter = platform.as_role("reporter", DEPARTMENT)
    platform.upload(reporter, platform.csv("p.csv", [published_penalty(12, **{
        "处罚决定日期": recent(40), "处罚有效期": recent(-300)})]))
    staff = platform.as_role("staff")
    pid = staff.post("/api/v1/list-proposals", json={
        "uscc": uscc, "kind": "market_serious_illegal", "facts": "吊销营业执照",
        "basis": "总局令第44号第二条"}).json()["id"]
    staff.post(f"/api/v1/list-proposals/{pid}/notice", json={"content": "拟列入"})
    decided = staff.post(f"/api/v1/list-proposals/{pid}/decision", json={"doc_no": "厦市监列〔2026〕9号"})
    assert decided.status_code == 200, decided.text
    view = platform.client.get(f"/api/v1/subjects/{uscc}").json()
    [entry] = view["lists"]
    assert entry["kind"] == "market_serious_illegal" and entry["list_type"] == "black"
    assert entry["doc_no"] == "厦市监列〔2026〕9号"
    page = platform.client.get(f"/subjects/{uscc}").text
    assert "名单信息（1）" in page and "厦市监列〔2026〕9号" in page
    assert entry["ref"].startswith("L") and entry["repair"] is True
    assert f"/repairs/new?entry={entry['ref']}" not in page
    own = platform.as_role("enterprise", subject=uscc).get(f"/subjects/{uscc}").text
    assert f"/repairs/new?entry={entry['ref']}" in own


def test_enterprise_pages_send_the_anonymous_to_sign_in_and_back(platform: Platform) -> None:
    r = platform.client.get("/repairs/new?record=5", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/sign-in?next=/repairs/new%3Frecord%3D5"
    form = platform.client.get(r.headers["location"]).text
    assert 'name="next" value="/repairs/new?record=5"' in form
