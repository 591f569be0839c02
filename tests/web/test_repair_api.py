"""Credit repair end to end through the HTTP API: eligibility → application with two PDFs →
accept → approve → the record leaves the public subject view the same day."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ..factories import numbered_uscc
from .conftest import Platform, published_penalty, recent

PDF = b"%PDF-1.4\n%%EOF\n"


def eligible_record(platform: Platform, n: int, days_ago: int = 120) -> int:
    staff = platform.as_role("staff")
    row = published_penalty(n, **{"处罚决定日期": recent(days_ago)})
    r = platform.upload(staff, platform.csv(f"p{n}.csv", [row]), kind="penalty",
                        department="厦门市思明区市场监督管理局", backfill="true")
    assert r.status_code == 201, r.text
    view = platform.client.get(f"/api/v1/subjects/{numbered_uscc(n)}").json()
    return int(view["records"][0]["id"])


def files(**extra: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("commitment", ("承诺书.pdf", PDF, "application/pdf")),
            ("performance", ("缴款凭证.pdf", PDF, "application/pdf")), *extra.items()]


def apply(client: TestClient, record: int, file_list: Any = None) -> Any:
    return client.post("/api/v1/repairs", data={"record": str(record), "statement": "罚款已缴清"},
                       files=file_list if file_list is not None else files())


def test_repair_from_eligibility_to_approval(platform: Platform) -> None:
    record = eligible_record(platform, 11)
    eligibility = platform.client.get(f"/api/v1/records/{record}/repair-eligibility")
    assert eligibility.status_code == 200 and eligibility.json()["eligible"] is True
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(11))
    r = apply(enterprise, record)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "submitted" and [m["material"] for m in case["materials"]] == [
        "commitment", "performance"]
    public = platform.client.get(f"/api/v1/repairs/{case['case_no']}").json()
    assert public["statement"] is None and public["materials"][0]["filename"] is None
    reviewer = platform.as_role("reviewer")
    queue = reviewer.get("/api/v1/repairs").json()
    assert [c["case_no"] for c in queue["items"]] == [case["case_no"]]
    wrong = reviewer.post(f"/api/v1/repairs/{case['case_no']}/decision",
                          json={"action": "approve", "reason": "同意"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "illegal_transition"
    for action in ("accept", "approve"):
        r = reviewer.post(f"/api/v1/repairs/{case['case_no']}/decision",
                          json={"action": action, "reason": "材料齐全，准予修复"})
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    twice = reviewer.post(f"/api/v1/repairs/{case['case_no']}/decision",
                          json={"action": "approve", "reason": "再次"})
    assert twice.status_code == 422 and twice.json()["code"] == "illegal_transition"
    view = platform.client.get(f"/api/v1/subjects/{numbered_uscc(11)}").json()
    assert view["records"] == []
    again = platform.client.get(f"/api/v1/records/{record}/repair-eligibility").json()
    assert again["eligible"] is False and "完成信用修复" in again["reasons"][0]


def test_ineligible_and_others_records_are_refused(platform: Platform) -> None:
    record = eligible_record(platform, 12, days_ago=30)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(12))
    r = apply(enterprise, record)
    assert r.status_code == 422 and r.json()["code"] == "not_eligible"
    assert "最短公示期3个月未满" in r.json()["message"]
    other = platform.as_role("enterprise", subject=numbered_uscc(13))
    r = apply(other, record)
    assert r.status_code == 403 and r.json()["code"] == "not_own_subject"
    assert platform.as_role("reviewer").get("/api/v1/repairs").json()["items"] == []


def test_files_are_checked_by_content_and_size(platform: Platform) -> None:
    record = eligible_record(platform, 14)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(14))
    fake = [("commitment", ("承诺书.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")),
            ("performance", ("缴款凭证.pdf", PDF, "application/pdf"))]
    r = apply(enterprise, record, fake)
    assert r.status_code == 422 and r.json()["code"] == "file_type"
    big = [("commitment", ("承诺书.pdf", PDF + b"0" * (10 << 20), "application/pdf")),
           ("performance", ("缴款凭证.pdf", PDF, "application/pdf"))]
    r = apply(enterprise, record, big)
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    r = apply(enterprise, record, [("performance", ("x.png", b"\x89PNG\r\n\x1a\n....", "image/png"))])
    assert r.status_code == 422 and r.json()["code"] == "materials_missing"


def test_return_for_completion_and_resubmit(platform: Platform) -> None:
    record = eligible_record(platform, 15)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(15))
    case_no = apply(enterprise, record).json()["case_no"]
    reviewer = platform.as_role("reviewer")
    r = reviewer.post(f"/api/v1/repairs/{case_no}/decision",
                      json={"action": "return", "reason": "凭证不清", "missing": ["罚款缴纳凭证原件扫描件"]})
    assert r.json()["status"] == "returned"
    page = enterprise.get(f"/repairs/{case_no}")
    assert "罚款缴纳凭证原件扫描件" in page.text and 'id="resubmit"' in page.text
    r = enterprise.post(f"/api/v1/repairs/{case_no}/materials", data={"statement": "补交"},
                        files=[("performance", ("凭证.png", b"\x89PNG\r\n\x1a\nxxxx", "image/png"))])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted" and r.json()["rounds"] == 2


def test_notice_page_and_pages(platform: Platform) -> None:
    record = eligible_record(platform, 16)
    notice = platform.client.get(f"/records/{record}/repair-notice")
    assert notice.status_code == 200 and "信用修复告知书" in notice.text and "信用承诺书" in notice.text
    assert 'data-eligible="true"' in notice.text
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(16))
    form = enterprise.get(f"/repairs/new?record={record}")
    assert form.status_code == 200
    assert form.text.index('id="eligibility"') < form.text.index('id="repair-form"')  # why, then the form
    reviewer = platform.as_role("reviewer")
    assert reviewer.get("/console/repairs").status_code == 200


def test_unpublished_records_stay_hidden_from_the_public(platform: Platform) -> None:
    staff = platform.as_role("staff")
    row = published_penalty(17, **{"处罚类别": "警告", "处罚内容": "警告", "罚款金额（万元）": "",
                                   "处罚决定日期": recent(120)})
    r = platform.upload(staff, platform.csv("p17.csv", [row]), kind="penalty",
                        department="厦门市思明区市场监督管理局", backfill="true")
    assert r.status_code == 201 and r.json()["accepted"] == 1, r.text
    record = int(staff.get(f"/api/v1/subjects/{numbered_uscc(17)}/history").json()["records"][0]["id"])
    assert platform.client.get(f"/api/v1/records/{record}/repair-eligibility").status_code == 404
    assert platform.client.get(f"/records/{record}/repair-notice").status_code == 404
    own = platform.as_role("enterprise", subject=numbered_uscc(17))
    answer = own.get(f"/api/v1/records/{record}/repair-eligibility").json()
    assert answer["eligible"] is False and answer["eligible_from"] is None
    assert answer["reasons"] == ["失信程度轻微的行政处罚信息不予公示，无需信用修复"]
    page = own.get(f"/repairs/new?record={record}")
    assert page.status_code == 200 and 'id="repair-form"' not in page.text
