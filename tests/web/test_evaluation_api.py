"""Evaluation over HTTP: staff run it, departments read the distribution and a subject's
reasons, the subject sees its own result, the public sees nothing unless grades are disclosed;
console pages; the subject page; reads of a result are audited."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from sqlalchemy import select

from xinyong.core.audit import AuditEvent
from xinyong.core.settings import get_settings
from xinyong.evaluation import rules

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty


def _store(platform: Platform) -> None:
    staff = platform.as_role("staff")
    rows = [published_penalty(1), published_penalty(2),
            published_penalty(1, **{"行政处罚决定书文号": "厦思市监罚〔2026〕101号"}),
            published_penalty(1, **{"行政处罚决定书文号": "厦思市监罚〔2026〕102号"})]
    r = platform.upload(staff, platform.csv("p.csv", rows), department=DEPARTMENT, kind="penalty")
    assert r.status_code == 201, r.text


def test_staff_run_and_departments_read(platform: Platform) -> None:
    _store(platform)
    staff = platform.as_role("staff")
    r = staff.post("/api/v1/evaluations", json={})
    assert r.status_code == 200, r.text
    body = r.json()
    # subject 1: 3 penalties in 12 months (-120) → 880 B; subject 2: 1 (-40) → 960 B
    assert {k: body[k] for k in ("scorecard", "evaluated", "skipped_natural_persons", "grades", "mode")} == {
        "scorecard": "public", "evaluated": 2, "skipped_natural_persons": 0,
        "grades": {"A": 0, "B": 2, "C": 0, "D": 0}, "mode": "full"}
    reporter = platform.as_role("reporter", DEPARTMENT)
    assert reporter.post("/api/v1/evaluations", json={}).status_code == 403
    dist = reporter.get("/api/v1/evaluations/distribution", params={"by": "district"}).json()
    assert dist["total"] == 2 and dist["groups"][0]["key"] == "350203"
    assert [g["count"] for g in dist["grades"]] == [0, 2, 0, 0]
    one = reporter.get(f"/api/v1/subjects/{numbered_uscc(1)}/evaluation").json()
    assert (one["grade"], one["grade_name"], one["score"]) == ("B", "信用风险一般", 880)
    assert one["reasons"] == ["近12个月受到3次行政处罚（-120分）"]
    assert {i["code"]: i["value"] for i in one["indicators"]}["penalties_12m"] == 3
    assert one["history"][0]["previous_grade"] is None
    runs = reporter.get("/api/v1/evaluations/runs").json()
    assert runs[0]["evaluated"] == 2 and runs[0]["mode"] == "full"
    with platform.engine.connect() as conn:
        reads = conn.execute(select(AuditEvent.actor).where(AuditEvent.action == "evaluation.read")).all()
    assert len(reads) == 1


def test_the_subject_sees_its_own_reasons_the_public_sees_nothing(platform: Platform) -> None:
    _store(platform)
    platform.as_role("staff").post("/api/v1/evaluations", json={})
    own = platform.as_role("enterprise", subject=numbered_uscc(1))
    mine = own.get(f"/api/v1/subjects/{numbered_uscc(1)}/evaluation").json()
    assert mine["score"] == 880 and mine["reasons"] and "history" not in mine
    other = own.get(f"/api/v1/subjects/{numbered_uscc(2)}/evaluation")
    assert other.status_code == 404 and other.json()["code"] == "evaluation_not_public"
    public = platform.client.get(f"/api/v1/subjects/{numbered_uscc(1)}/evaluation")
    assert public.status_code == 404 and public.json()["code"] == "evaluation_not_public"
    page = platform.client.get(f"/subjects/{numbered_uscc(1)}").text
    assert "公共信用综合评价" not in page
    own_page = own.get(f"/subjects/{numbered_uscc(1)}").text
    assert "近12个月受到3次行政处罚（-120分）" in own_page and "信用风险一般" in own_page


def test_a_disclosed_grade_is_shown_to_the_public_without_reasons(
        platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    (local / "scorecards").mkdir(parents=True)
    (local / "scorecards" / "public.yaml").write_text(yaml.safe_dump({"disclose_grade": True}), "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    rules.cached.cache_clear()
    try:
        _store(platform)
        platform.as_role("staff").post("/api/v1/evaluations", json={})
        public = platform.client.get(f"/api/v1/subjects/{numbered_uscc(1)}/evaluation").json()
        assert public["grade"] == "B" and "reasons" not in public and "score" not in public
        page = platform.client.get(f"/subjects/{numbered_uscc(1)}").text
        assert "信用风险一般" in page and "行政处罚（-120分）" not in page
    finally:
        rules.cached.cache_clear()


def test_console_pages(platform: Platform) -> None:
    _store(platform)
    staff = platform.as_role("staff")
    r = staff.post("/console/evaluations", data={"scorecard": "public", "as_of": "", "full": "1",
                                                 "csrf_token": staff.headers["X-CSRF-Token"]},
                   follow_redirects=False)
    assert r.status_code == 303, r.text
    page = staff.get("/console/evaluations").text
    assert "等级分布" in page and "批发和零售业" in page and "350203" in page
    redirect = staff.get("/console/evaluations", params={"uscc": numbered_uscc(1)}, follow_redirects=False)
    assert redirect.headers["location"].startswith(f"/console/evaluations/subjects/{numbered_uscc(1)}")
    detail = staff.get(f"/console/evaluations/subjects/{numbered_uscc(1)}").text
    assert "近12个月行政处罚次数" in detail and "（首次评价）" in detail and "880" in detail
    missing = staff.get(f"/console/evaluations/subjects/{numbered_uscc(9)}")
    assert missing.status_code == 404
    with platform.engine.connect() as conn:
        detail_json = conn.execute(select(AuditEvent.detail)
                                   .where(AuditEvent.action == "evaluation.run")).scalar_one()
    assert orjson.loads(detail_json)["mode"] == "full"


def test_bad_requests(platform: Platform) -> None:
    staff = platform.as_role("staff")
    assert staff.post("/api/v1/evaluations", json={"scorecard": "nope"}).json()["code"] == "unknown_scorecard"
    assert staff.get("/api/v1/evaluations/distribution", params={"by": "colour"}).status_code == 422
    assert staff.get(f"/api/v1/subjects/{numbered_uscc(7)}/evaluation").json()["code"] == "unknown_subject"


@pytest.mark.parametrize("day", ["0001-01-01", "1900-06-01", "2099-01-01", "9999-12-31"])
def test_a_day_out_of_range_or_in_the_future_is_bad_date(platform: Platform, day: str) -> None:
    _store(platform)
    r = platform.as_role("staff").post("/api/v1/evaluations", json={"as_of": day})
    assert 400 <= r.status_code < 500 and r.json()["code"] == "bad_date", r.text


def test_a_past_dated_run_after_todays_is_refused(platform: Platform) -> None:
    _store(platform)
    staff = platform.as_role("staff")
    assert staff.post("/api/v1/evaluations", json={"as_of": "2025-06-01"}).status_code == 200
    assert staff.post("/api/v1/evaluations", json={}).status_code == 200
    r = staff.post("/api/v1/evaluations", json={"as_of": "2025-06-01"})
    assert r.status_code == 422 and r.json()["code"] == "as_of_before_current", r.text
    assert "评价只能向前推进" in r.json()["message"]
