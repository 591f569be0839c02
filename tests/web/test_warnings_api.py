"""Warnings over HTTP on both engines: three departments upload penalties against one subject,
the credit office scans, each department sees the warning addressed to it (and no other), one
closes it with an action; the console pages show the list, the facts and the close form."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from xinyong.core.audit import AuditEvent

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, Platform, published_penalty

TAX = "国家税务总局厦门市思明区税务局"
FIRE = "厦门市思明区消防救援大队"


def penalised_by_three(platform: Platform) -> dict[str, TestClient]:
    """Subject 1 penalised by three departments (each uploads its own), subject 2 by one."""
    clients = {}
    for i, department in enumerate((DEPARTMENT, TAX, FIRE)):
        client = platform.as_role("reporter", department)
        rows = [published_penalty(1, **{"行政处罚决定书文号": f"罚{i}-1", "处罚机关": department,
                                     "数据来源单位": department})]
        if i == 0:
            rows.append(published_penalty(2))
        r = platform.upload(client, platform.csv(f"p{i}.csv", rows))
        assert r.status_code in (200, 201) and r.json()["accepted"] == len(rows), r.text
        clients[department] = client
    return clients


def test_scan_list_scope_and_close(platform: Platform) -> None:
    reporters = penalised_by_three(platform)
    staff = platform.as_role("staff")
    r = staff.post("/api/v1/warnings/scan", json={})
    assert r.status_code == 200, r.text
    assert r.json()["raised"] == 1
    assert {x["code"]: x["raised"] for x in r.json()["rules"]}["penalties_departments"] == 1
    assert staff.post("/api/v1/warnings/scan", json={}).json()["raised"] == 0  # idempotent
    assert staff.post("/api/v1/warnings/scan", json={"as_of": "0001-01-01"}).json()["code"] == "bad_date"

    [w] = staff.get("/api/v1/warnings").json()["items"]
    assert w["subject"]["uscc"] == numbered_uscc(1) and w["rule"]["code"] == "penalties_departments"
    assert sorted(w["recipients"]) == sorted([DEPARTMENT, TAX, FIRE]) and "facts" not in w
    for client in reporters.values():
        assert [x["id"] for x in client.get("/api/v1/warnings").json()["items"]] == [w["id"]]
    other = platform.as_role("reporter", OTHER_DEPARTMENT)
    assert other.get("/api/v1/warnings").json()["items"] == []
    r = other.get(f"/api/v1/warnings/{w['id']}")
    assert r.status_code == 403 and r.json()["code"] == "other_department"
    r = other.get("/api/v1/warnings", params={"department": TAX})
    assert r.status_code == 403
    assert other.post(f"/api/v1/warnings/{w['id']}/close",
                      json={"action": "约谈", "note": "x"}).status_code == 403

    tax = reporters[TAX]
    detail = tax.get(f"/api/v1/warnings/{w['id']}").json()
    assert detail["facts"]["penalties"] == 3 and len(detail["facts"]["record_ids"]) == 3
    r = tax.post(f"/api/v1/warnings/{w['id']}/close", json={"action": "", "note": "已约谈"})
    assert r.status_code == 422 and r.json()["code"] == "action_required"
    r = tax.post(f"/api/v1/warnings/{w['id']}/close", json={"action": "interview", "note": "已约谈"})
    assert r.status_code == 200, r.text
    assert r.json()["closed"]["action_name"] == "约谈" and r.json()["closed"]["department"] == TAX
    r = tax.post(f"/api/v1/warnings/{w['id']}/close", json={"action": "整改", "note": "再次"})
    assert r.status_code == 422 and r.json()["code"] == "warning_closed"
    assert staff.get("/api/v1/warnings", params={"status": "open"}).json()["items"] == []
    assert len(staff.get("/api/v1/warnings", params={"status": "closed", "uscc": numbered_uscc(1)})
               .json()["items"]) == 1
    with platform.engine.connect() as conn:
        actions = [a for a in conn.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars()
                   if a.startswith("warning.")]
    assert [a for a in actions if a in ("warning.raised", "warning.closed")] == ["warning.raised",
                                                                               "warning.closed"]
    rules = staff.get("/api/v1/warnings/rules").json()
    assert {r["code"] for r in rules["rules"]} >= {"penalties_many", "penalties_departments",
                                                   "serious_lists", "grade_drop"}
    assert [a["name"] for a in rules["close_actions"]] == ["约谈", "整改", "信用修复", "移送", "其他"]


def test_reading_warnings_leaves_one_audit_event_per_list_and_per_detail(platform: Platform) -> None:
    reporters = penalised_by_three(platform)
    staff = platform.as_role("staff")
    [warning_id] = staff.post("/api/v1/warnings/scan", json={}).json()["warnings"]

    def reads() -> list[AuditEvent]:
        with platform.engine.connect() as conn:
            return list(conn.execute(select(AuditEvent).where(
                AuditEvent.action.in_(["warning.list_read", "warning.read"])).order_by(AuditEvent.id)))

    assert reads() == []
    tax = reporters[TAX]
    assert tax.get("/api/v1/warnings", params={"status": "open", "uscc": numbered_uscc(1)}).status_code == 200
    assert tax.get(f"/api/v1/warnings/{warning_id}").status_code == 200
    assert staff.get(f"/console/warnings/{warning_id}").status_code == 200
    listed, read, page = reads()
    assert (listed.action, listed.role) == ("warning.list_read", "reporter")
    assert orjson.loads(listed.detail)["filters"] == {"status": "open", "uscc": numbered_uscc(1),
                                                      "department": TAX}
    assert orjson.loads(listed.detail)["warnings"] == [warning_id] and listed.subject_id is not None
    assert (read.action, read.object_id, read.subject_id) == ("warning.read", str(warning_id),
                                                              listed.subject_id)
    assert (page.action, page.role) == ("warning.read", "staff")
    other = platform.as_role("reporter", OTHER_DEPARTMENT)
    assert other.get(f"/api/v1/warnings/{warning_id}").status_code == 403
    assert len(reads()) == 3  # a refused reading shows nothing and records nothing


def test_console_pages_list_facts_and_close(platform: Platform) -> None:
    reporters = penalised_by_three(platform)
    staff = platform.as_role("staff")
    r = staff.post("/console/warnings/scan", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/warnings?scanned=1"
    fire = reporters[FIRE]
    page = fire.get("/console/warnings")
    assert page.status_code == 200 and "一年内受到3个及以上部门行政处罚" in page.text
    assert 'id="scan"' not in page.text  # departments do not scan
    [wid] = [x["id"] for x in fire.get("/api/v1/warnings").json()["items"]]
    detail = fire.get(f"/console/warnings/{wid}")
    assert "触发事实" in detail.text and TAX in detail.text and 'id="close"' in detail.text
    r = fire.post(f"/console/warnings/{wid}/close", data={"action": "rectification", "note": "已责令整改"},
                  follow_redirects=False)
    assert r.status_code == 303
    assert "已责令整改" in fire.get(f"/console/warnings/{wid}").text
    assert fire.get("/console/warnings", params={"status": "closed"}).text.count(f'data-id="{wid}"') == 1
