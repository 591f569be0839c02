"""Check feedback over HTTP: the system that checked reports per measure and reads the check
back with its feedback; another department's system is refused (`not_your_check`), a measure
not returned, a second report and a missing reason are clear 422s; statistics per department
for staff and for a department's own system; the console statistics page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from xinyong.check import service

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform
from .test_check_api import FINANCE, list_subject, store, system

HOUSING = "厦门市住房和建设局"


@pytest.fixture(autouse=True)
def _log_flushed(engine: Engine) -> Iterator[None]:
    yield
    service.flush_log()


def checked(platform: Platform, client: TestClient, n: int = 1) -> str:
    r = client.post("/api/v1/checks", json={"uscc": numbered_uscc(n), "matter": "行政许可"})
    assert r.status_code == 200, r.text
    assert [m["code"] for m in r.json()["measures"]] == ["no_notify_commitment"]
    check_id: str = r.json()["check_id"]
    return check_id


def test_report_read_back_and_refusals(platform: Platform) -> None:
    store(platform, 1)
    list_subject(platform.as_role("staff"), 1)
    client = system(platform)
    check_id = checked(platform, client)
    url = f"/api/v1/checks/{check_id}/feedback"
    for body, code in (
            ([{"measure": "bidding_ban", "outcome": "applied"}], "measure_not_in_check"),
            ([{"measure": "no_notify_commitment", "outcome": "not_applied"}], "reason_required"),
            ([{"measure": "no_notify_commitment", "outcome": "maybe"}], "invalid_input"),
            ([], "empty_feedback")):
        r = client.post(url, json=body)
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
        assert r.json()["message"]
    other = TestClient(platform.client.app)
    other.headers["Authorization"] = f"Bearer {platform.token('system', HOUSING)}"
    r = other.post(url, json=[{"measure": "no_notify_commitment", "outcome": "applied"}])
    assert (r.status_code, r.json()["code"]) == (403, "not_your_check")
    assert other.get(f"/api/v1/checks/{check_id}").status_code == 403
    r = client.post(url, json=[{"measure": "no_notify_commitment", "outcome": "not_applied",
                                "reason": "申请人选择一般程序", "result": "按一般程序受理"}])
    assert r.status_code == 200, r.text
    assert r.json()["feedback"][0]["outcome"] == "not_applied"
    again = client.post(url, json=[{"measure": "no_notify_commitment", "outcome": "applied"}])
    assert (again.status_code, again.json()["code"]) == (422, "feedback_exists")
    got = client.get(f"/api/v1/checks/{check_id}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["department"] == FINANCE and body["matter"]["code"] == "licensing"
    assert body["feedback_status"]["status"] == "complete"
    assert [(f["measure"], f["reason"], f["result"]) for f in body["feedback"]] == [
        ("no_notify_commitment", "申请人选择一般程序", "按一般程序受理")]
    missing = client.get("/api/v1/checks/HC000000000000000000000000")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_check")
    assert TestClient(platform.client.app).post(url, json=[]).status_code == 401
    assert platform.as_role("reporter", DEPARTMENT).post(url, json=[]).status_code == 403


def test_stats_for_staff_and_for_a_department(platform: Platform) -> None:
    store(platform, 2)
    list_subject(platform.as_role("staff"), 2)
    finance, housing = system(platform), TestClient(platform.client.app)
    housing.headers["Authorization"] = f"Bearer {platform.token('system', HOUSING)}"
    first = checked(platform, finance, 2)
    checked(platform, finance, 2)
    checked(platform, housing, 2)
    r = finance.post(f"/api/v1/checks/{first}/feedback",
                     json=[{"measure": "no_notify_commitment", "outcome": "applied"}])
    assert r.status_code == 200, r.text
    staff = platform.as_role("staff")
    view = staff.get("/api/v1/checks/stats").json()
    by = {d["department"]: d for d in view["departments"]}
    assert set(by) == {FINANCE, HOUSING}
    assert (by[FINANCE]["checks"], by[FINANCE]["measures_returned"], by[FINANCE]["feedback_given"],
            by[FINANCE]["feedback_rate"], by[FINANCE]["overdue"]) == (2, 2, 1, 0.5, 0)
    assert by[HOUSING]["feedback_rate"] == 0.0
    own = finance.get("/api/v1/checks/stats").json()
    assert [d["department"] for d in own["departments"]] == [FINANCE]
    refused = finance.get("/api/v1/checks/stats", params={"department": HOUSING})
    assert (refused.status_code, refused.json()["code"]) == (403, "other_department")
    bad = staff.get("/api/v1/checks/stats", params={"since": "2026-13-01"})
    assert bad.status_code == 422
    for far in ({"until": "0001-01-01"}, {"since": "0001-01-01"}, {"until": "9999-12-31"}):
        out_of_range = staff.get("/api/v1/checks/stats", params=far)
        assert (out_of_range.status_code, out_of_range.json()["code"]) == (422, "bad_date"), far
    page = staff.get("/console/checks/stats")
    assert page.status_code == 200 and "核查反馈" in page.text and HOUSING in page.text
    assert 'href="/console/checks/stats"' in page.text
    assert platform.as_role("reporter", DEPARTMENT).get("/console/checks/stats").status_code == 403
