"""Random inspections over HTTP on both engines: a department creates a plan, draws it, records a
result; the public sees the plan, its seed, sample and result — never a grade — and can ask for
a verification; another department is refused; bad plans get a clear 422."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from xinyong.core.audit import SYSTEM, AuditEvent
from xinyong.evaluation import service as evaluation

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, Platform, published_penalty


def _store(platform: Platform) -> None:
    staff = platform.as_role("staff")
    rows = [published_penalty(n) for n in range(1, 11)]
    assert platform.upload(staff, platform.csv("p.csv", rows), department=DEPARTMENT).status_code == 201
    evaluation.evaluate(platform.engine, SYSTEM)


PLAN = {"name": "2026年食品经营双随机抽查", "base_ratio": "40%", "inspectors": ["张一", "李二", "王三"],
        "inspectors_per_subject": 2, "seed": "api-seed"}


def test_a_department_plans_draws_records_and_the_public_sees_it_without_grades(platform: Platform) -> None:
    _store(platform)
    reporter = platform.as_role("reporter", DEPARTMENT)
    created = reporter.post("/api/v1/sampling-plans", json=PLAN)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["department"] == DEPARTMENT and plan["status"] == "created" and plan["seed"] is None
    drawn = reporter.post(f"/api/v1/sampling-plans/{plan['id']}/draw", json={})
    assert drawn.status_code == 200, drawn.text
    body = drawn.json()
    assert body["plan"] == plan["id"] and body["seed"] == "api-seed" and body["sample"]
    assert all(len(s["inspectors"]) == 2 and s["grade"] for s in body["sample"])
    target = body["sample"][0]["subject"]
    result = reporter.post(f"/api/v1/sampling-plans/{plan['id']}/results", json={
        "subject": target, "outcome": "no_problem", "inspected_on": date.today().isoformat()})
    assert result.status_code == 201, result.text
    again = reporter.post(f"/api/v1/sampling-plans/{plan['id']}/results", json={
        "subject": target, "outcome": "no_problem", "inspected_on": date.today().isoformat()})
    assert again.status_code == 422 and again.json()["code"] == "result_exists"

    inputs = reporter.get(f"/api/v1/sampling-plans/{plan['id']}/inputs").json()
    assert inputs["population_size"] == 10 and inputs["sample"] == body["sample"]
    with platform.engine.connect() as conn:  # every subject's grade: an audited read (SPEC §2.3)
        reads = conn.execute(select(AuditEvent.object_id, AuditEvent.role).where(
            AuditEvent.action == "sampling.inputs_read")).all()
    assert [(r.object_id, r.role) for r in reads] == [(str(plan["id"]), "reporter")]
    shown = reporter.get(f"/api/v1/sampling-plans/{plan['id']}").json()
    assert {item["grade"] for item in shown["sample"]} <= {"A", "B", "C", "D", None}
    assert reporter.get(f"/console/sampling/{plan['id']}").status_code == 200
    with platform.engine.connect() as conn:  # the supervisors' view shows grades too
        views = conn.execute(select(AuditEvent.object_id).where(
            AuditEvent.action == "sampling.plan_read")).scalars().all()
    assert views == [str(plan["id"])] * 2

    public = platform.client
    listed = public.get("/api/v1/sampling/plans").json()["items"]
    assert [p["id"] for p in listed] == [plan["id"]] and listed[0]["seed"] == "api-seed"
    view = public.get(f"/api/v1/sampling/plans/{plan['id']}").json()
    assert [s["subject"] for s in view["sample"]] == [s["subject"] for s in body["sample"]]
    assert all(s["grade"] is None for s in view["sample"])
    assert view["ratios"] is None
    assert view["sample"][0]["result"]["outcome_name"] == "未发现问题"
    check = public.get(f"/api/v1/sampling/plans/{plan['id']}/verification").json()
    assert check["ok"] is True and check["sampled"] == len(body["sample"])
    page = public.get(f"/sampling/{plan['id']}")
    assert page.status_code == 200 and "api-seed" in page.text and target in page.text
    assert public.get("/api/v1/sampling-plans").status_code == 401


def test_another_department_is_refused_and_bad_plans_get_clear_reasons(platform: Platform) -> None:
    _store(platform)
    own = platform.as_role("reporter", DEPARTMENT)
    plan_id = own.post("/api/v1/sampling-plans", json=PLAN).json()["id"]
    other = platform.as_role("reporter", OTHER_DEPARTMENT)
    for response in (other.get(f"/api/v1/sampling-plans/{plan_id}"),
                     other.post(f"/api/v1/sampling-plans/{plan_id}/draw", json={}),
                     other.post("/api/v1/sampling-plans", json={**PLAN, "department": DEPARTMENT})):
        assert response.status_code == 403 and response.json()["code"] == "other_department"
    assert other.get("/api/v1/sampling-plans").json()["items"] == []
    bad = own.post("/api/v1/sampling-plans", json={**PLAN, "scope": {"kinds": ["natural_person"]}})
    assert bad.status_code == 422 and bad.json()["code"] == "natural_person_refused"
    assert "自然人" in bad.json()["message"]
    bad = own.post("/api/v1/sampling-plans", json={**PLAN, "multipliers": {"X": 2}})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_grade"
    bad = own.post("/api/v1/sampling-plans", json={**PLAN, "scorecard": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_scorecard"
    # the credit office (no department) names the department; the public never sees an open plan
    staff = platform.as_role("staff")
    missing = staff.post("/api/v1/sampling-plans", json=PLAN)
    assert missing.status_code == 422 and missing.json()["code"] == "missing_department"
    assert platform.client.get(f"/api/v1/sampling/plans/{plan_id}").status_code == 404
    cancelled = own.post(f"/api/v1/sampling-plans/{plan_id}/cancellation", json={"reason": "计划调整"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    drawn = own.post(f"/api/v1/sampling-plans/{plan_id}/draw", json={})
    assert drawn.status_code == 422 and drawn.json()["code"] == "plan_not_open"
    assert numbered_uscc(1) not in platform.client.get("/sampling").text
