"""Issue 21's integrity holes over HTTP: a reporter uploading another department's file, a
typed department name, and re-uploading an old file after corrections."""

from __future__ import annotations

from pathlib import Path

from ..factories import licence, numbered_uscc, penalty
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, Platform

OCEAN = "厦门市海洋发展局"


def test_a_reporter_cannot_submit_another_departments_records(platform: Platform) -> None:
    reporter = platform.as_role("reporter", DEPARTMENT)
    rows = [penalty(**{"行政处罚决定书文号": f"厦海罚〔2025〕{n}号", "处罚机关": OCEAN,
                       "数据来源单位": OCEAN}) for n in range(1, 20)]
    r = platform.upload(reporter, platform.csv("ocean.csv", rows))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows"], body["accepted"], body["rejected"]) == (19, 0, 19)
    assert body["rejection_reasons"]["other_department:处罚机关"] == 19
    report = reporter.get(body["error_report_url"])
    assert report.status_code == 200 and "不是报送部门" in report.content.decode("utf-8-sig")
    subject = platform.client.get(f"/api/v1/subjects/{numbered_uscc(1)}")
    assert subject.status_code == 404 or not subject.json().get("records")


def test_staff_pick_a_registered_department_and_a_typo_is_refused(platform: Platform) -> None:
    staff = platform.as_role("staff")
    listed = staff.get("/api/v1/departments").json()["items"]
    assert {d["name"] for d in listed} == {DEPARTMENT, OTHER_DEPARTMENT}
    form = staff.get("/console/upload").text
    assert f'<option value="{OTHER_DEPARTMENT}">' in form and 'name="correction"' in form
    typo = DEPARTMENT.replace("监督", "监")
    r = platform.upload(staff, platform.csv("p.csv", [penalty()]), department=typo)
    assert r.status_code == 422 and r.json()["code"] == "unknown_department"
    batches = staff.get("/api/v1/batches").json()["items"]
    assert batches == []
    ok = platform.upload(staff, platform.csv("p.csv", [penalty(**{
        "处罚机关": OTHER_DEPARTMENT, "数据来源单位": OTHER_DEPARTMENT})]),
        department=OTHER_DEPARTMENT)
    assert ok.status_code == 201 and ok.json()["new"] == 1


def test_reuploading_an_old_file_is_stale_unless_marked_as_a_correction(
        platform: Platform, tmp_path: Path) -> None:
    reporter = platform.as_role("reporter", DEPARTMENT)
    mine = {"许可机关": DEPARTMENT, "数据来源单位": DEPARTMENT}
    old = platform.csv("old.csv", [licence(**mine, **{"有效期至": "2028-08-04"})])
    new = platform.csv("new.csv", [licence(**mine, **{"有效期至": "2029-08-04"})])
    assert platform.upload(reporter, old).json()["new"] == 1
    assert platform.upload(reporter, new).json()["corrected"] == 1
    again = platform.upload(reporter, old).json()
    assert (again["stale"], again["corrected"], again["rejection_reasons"]) == (1, 0,
                                                                                {"stale": 1})
    page = reporter.get(f"/console/batches/{again['batch']}").text
    assert "过时未入库 1" in page
    view = reporter.get(f"/api/v1/batches/{again['batch']}").json()
    assert view["stale"] == 1 and view["compliance_rate"] == 1.0
    restored = platform.upload(reporter, old, correction="true").json()
    assert (restored["corrected"], restored["stale"], restored["correction"]) == (1, 0, True)
