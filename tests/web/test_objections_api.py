"""Objections through the real app over HTTP (SQLite and PostgreSQL): an enterprise objects to
its own record with attachments, anyone holding the case number follows it, the source
department decides, and the public subject page changes with the decision."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from xinyong.accounts.rules import Principal, role_table
from xinyong.objections import service

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, Platform, published_penalty

REASON = "该处罚决定已被复议机关撤销，附复议决定书，请撤销公示。"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _load(p: Platform, *numbers: int) -> dict[int, int]:
    """Penalties in publicity for subjects `numbered_uscc(n)`; n → record id."""
    staff = p.as_role("staff")
    r = p.upload(staff, p.csv("load.csv", [published_penalty(n) for n in numbers]),
                 department=DEPARTMENT, kind="penalty")
    assert r.status_code == 201, r.text
    out = {}
    for n in numbers:
        records = p.client.get(f"/api/v1/subjects/{numbered_uscc(n)}").json()["records"]
        out[n] = records[0]["id"]
    return out


def _file(client: TestClient, record: int, reason: str = REASON,
          files: list[tuple[str, bytes, str]] | None = None) -> Any:
    return client.post("/api/v1/objections", data={"record": str(record), "reason": reason},
                       files=[("attachments", f) for f in files or []])


def _public_docs(p: Platform, n: int) -> list[str]:
    return [r["doc_no"] for r in p.client.get(f"/api/v1/subjects/{numbered_uscc(n)}").json()["records"]]


def test_object_follow_decide_and_the_public_page_changes(platform: Platform) -> None:
    record = _load(platform, 11)[11]
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(11))
    filed = _file(enterprise, record, files=[("复议决定书.pdf", PDF, "application/pdf"),
                                             ("现场照片.png", PNG, "image/png")])
    assert filed.status_code == 201, filed.text
    case = filed.json()
    no = case["case_no"]
    assert no.startswith("YY" + date.today().strftime("%Y%m%d")) and len(no) == 18
    assert case["status"] == "open" and case["under_objection"] and not case["overdue"]
    assert [a["name"] for a in case["attachments"]] == ["复议决定书.pdf", "现场照片.png"]

    # anyone holding the number follows it, without the filer's reason or materials
    public = platform.client.get(f"/api/v1/objections/{no}").json()
    assert public["status_label"] == "异议处理中" and public["reason"] is None
    assert public["attachments"] is None and public["record"]["id"] == record
    assert platform.client.get("/api/v1/objections/YY20260101AAAAAAAA").json()["code"] == "not_found"
    # under objection the record stays in publicity with its marker
    assert _public_docs(platform, 11) == ["厦思市监罚〔2026〕11号"]

    reporter = platform.as_role("reporter", DEPARTMENT)
    queue = reporter.get("/api/v1/objections").json()
    assert [(c["case_no"], c["overdue"]) for c in queue["items"]] == [(no, False)]
    full = reporter.get(f"/api/v1/objections/{no}").json()
    assert full["reason"] == REASON and "revoke" in full["actions"]
    other = platform.as_role("reporter", OTHER_DEPARTMENT)
    assert other.get("/api/v1/objections").json()["items"] == []
    refused = other.post(f"/api/v1/objections/{no}/decision", json={"action": "revoke"})
    assert refused.status_code == 403 and refused.json()["code"] == "other_department"

    decided = reporter.post(f"/api/v1/objections/{no}/decision",
                            json={"action": "revoke", "reason": "原处罚决定已被复议撤销"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "revoked"
    assert _public_docs(platform, 11) == []
    followed = platform.client.get(f"/api/v1/objections/{no}").json()
    assert followed["decision"]["reason"] == "原处罚决定已被复议撤销"
    assert [h["event"] for h in followed["history"]] == ["objection.filed", "objection.decided"]

    twice = reporter.post(f"/api/v1/objections/{no}/decision", json={"action": "reject", "reason": "x"})
    assert twice.status_code == 422 and twice.json()["code"] == "objection_closed"
    assert platform.client.get(f"/api/v1/objections/{no}").json()["status"] == "revoked"
    with platform.engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_event WHERE object_type = 'objection' "
                                    "ORDER BY id")).scalars().all()
    assert actions == ["objection.filed", "objection.decided"]


def test_filing_is_refused_with_clear_codes(platform: Platform) -> None:
    records = _load(platform, 12, 13)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(12))
    cases = [
        (records[13], REASON, [], 403, "not_own_subject"),
        (records[12], "太短", [], 422, "reason_invalid"),
        (records[12], REASON, [("决定书.pdf", b"MZ\x90\x00" + b"\x00" * 60, "application/pdf")],
         422, "file_type"),
        (records[12], REASON, [("决定书.docx", PDF, "application/octet-stream")], 422, "file_type"),
        (records[12], REASON, [(f"{i}.pdf", PDF, "application/pdf") for i in range(6)], 422,
         "too_many_files"),
        (records[12], REASON, [("大文件.pdf", PDF + b"\x00" * (10 << 20), "application/pdf")], 413,
         "too_large"),
        (999_999, REASON, [], 404, "not_found"),
    ]
    for record, reason, files, status, code in cases:
        r = _file(enterprise, record, reason, files)
        assert (r.status_code, r.json()["code"]) == (status, code), (code, r.text[:300])
        assert r.json()["message_en"]
    assert _file(enterprise, records[12]).status_code == 201
    again = _file(enterprise, records[12])
    assert again.status_code == 422 and again.json()["code"] == "objection_open"
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM objection")).scalar_one() == 1
    staging = list((platform.tmp / "files" / "objections" / ".staging").glob("*"))
    assert staging == [], "refused uploads leave nothing behind"


def test_a_correction_by_a_reviewer_replaces_the_public_record(platform: Platform) -> None:
    record = _load(platform, 14)[14]
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(14))
    no = _file(enterprise, record).json()["case_no"]
    reviewer = platform.as_role("reviewer")
    bad = reviewer.post(f"/api/v1/objections/{no}/decision",
                        json={"action": "correct", "changes": {"fine_amount": "很多"}})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_changes"
    done = reviewer.post(f"/api/v1/objections/{no}/decision",
                         json={"action": "correct", "reason": "金额录入错误",
                               "changes": {"fine_amount": "2", "penalty_content": "罚款2万元"}})
    assert done.status_code == 200, done.text
    new = done.json()["decision"]["corrected_record"]
    records = platform.client.get(f"/api/v1/subjects/{numbered_uscc(14)}").json()["records"]
    # 2万元 to an organisation is below the 10万元 low-fine threshold: 轻微, not published
    assert records == []
    with platform.engine.connect() as conn:
        tier = conn.execute(text("SELECT publicity_tier FROM record WHERE id = :i"), {"i": new}).scalar_one()
    assert tier == "轻微"


def test_overdue_cases_are_flagged_in_the_queue(platform: Platform) -> None:
    record = _load(platform, 15)[15]
    uscc = numbered_uscc(15)
    principal = Principal("enterprise-x", "enterprise", None,
                          role_table().role("enterprise").permissions, subject=uscc)
    # filed a month ago through the service, as a store built by calling services
    service.file_objection(platform.engine, principal.actor("test"), principal, record, REASON,
                           today=date.today() - timedelta(days=30))
    reporter = platform.as_role("reporter", DEPARTMENT)
    overdue = reporter.get("/api/v1/objections?overdue=true").json()["items"]
    assert len(overdue) == 1 and overdue[0]["overdue"] is True
    assert reporter.get("/api/v1/objections?overdue=false").json()["items"] == []
    page = reporter.get("/console/objections?overdue=true")
    assert page.status_code == 200 and "已超期" in page.text
    bad = reporter.get("/api/v1/objections?status=whatever")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_status"


def test_pages_file_follow_and_decide(platform: Platform) -> None:
    record = _load(platform, 16)[16]
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(16))
    form = enterprise.get(f"/objections/new?record={record}")
    assert form.status_code == 200 and "厦思市监罚〔2026〕16号" in form.text
    token = enterprise.headers.pop("X-CSRF-Token")
    posted = enterprise.post("/objections/new", data={"record": str(record), "reason": REASON,
                                                      "csrf_token": token},
                             files=[("attachments", ("", b"", "application/octet-stream"))],
                             follow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    no = location.split("/")[2].split("?")[0]
    page = platform.client.get(location)
    assert page.status_code == 200 and no in page.text and "异议处理中" in page.text
    assert "异议已提交" in page.text and REASON not in page.text
    follow = platform.client.get(f"/objections?case={no.lower()}", follow_redirects=False)
    assert follow.headers["location"] == f"/objections/{no}"
    reporter = platform.as_role("reporter", DEPARTMENT)
    queue = reporter.get("/console/objections")
    assert no in queue.text
    decide = reporter.get(f"/console/objections/{no}")
    assert decide.status_code == 200 and REASON in decide.text and 'value="suspend"' in decide.text
    done = reporter.post(f"/console/objections/{no}", data={"action": "suspend", "reason": "核实中"},
                         follow_redirects=False)
    assert done.status_code == 303
    assert "暂停公示" in platform.client.get(f"/objections/{no}").text
    assert _public_docs(platform, 16) == []
    other = platform.as_role("enterprise", subject=numbered_uscc(17))
    refused = other.get(f"/objections/new?record={record}")
    assert refused.status_code == 403 and "只能对本主体" in refused.text
