"""The check console over HTTP: a check printed as a 核查报告, candidates of a check by name
linking to their subject, and 执行反馈 given through the report page's form (CSRF-protected,
a refused form keeps what was chosen, the feedback audited)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from xinyong.check import service

from ..factories import numbered_uscc
from .conftest import Platform
from .test_check_api import list_subject, store

MEASURE = "no_notify_commitment"


@pytest.fixture(autouse=True)
def _log_flushed(engine: Engine) -> Iterator[None]:
    yield
    service.flush_log()


def _console_check(staff: TestClient, query: str, matter: str = "licensing") -> str:
    r = staff.post("/console/checks", data={"query": query, "matter": matter,
                                            "csrf_token": staff.headers["X-CSRF-Token"]})
    assert r.status_code == 200, r.text
    return r.text


def _listed_and_checked(platform: Platform) -> tuple[TestClient, str]:
    store(platform, 1)
    staff = platform.as_role("staff")
    list_subject(staff, 1)
    page = _console_check(staff, numbered_uscc(1))
    found = re.search(r'id="report-link" href="/console/checks/(HC[0-9a-f]{24})"', page)
    assert found, "the result links to its report"
    return staff, found.group(1)


def test_a_check_prints_as_a_report(platform: Platform) -> None:
    staff, check_id = _listed_and_checked(platform)
    r = staff.get(f"/console/checks/{check_id}")
    assert r.status_code == 200
    html = r.text
    assert "<h1>信用核查报告</h1>" in html and check_id in html
    assert "厦门市思明区第1测试贸易有限公司" in html and numbered_uscc(1) in html
    assert "失信被执行人" in html  # the list's name, not its code
    assert "court_judgment_defaulter" not in html
    start = html.index('id="report-measures"')
    measures = html[start:html.index("</table>", start)]
    assert "待反馈" in measures and "惩戒" in measures and MEASURE not in re.sub(r"<[^>]+>", "", measures)
    assert "（北京时间）" in html and "行政许可" in html
    assert '<link rel="stylesheet" href="/static/report.css">' in html
    css = staff.get("/static/report.css").text
    assert "@media print" in css and ".no-print" in css
    assert "<script" not in html.split('id="report"')[1] and " onclick=" not in html
    # another department's account may not read the report
    reporter = platform.as_role("reporter", "厦门市湖里区市场监督管理局")
    assert reporter.get(f"/console/checks/{check_id}").status_code == 403
    assert staff.get("/console/checks/HC000000000000000000000000").status_code == 404
    assert staff.get("/console/checks/not-a-check").status_code == 422


def test_feedback_through_the_form_is_recorded_and_audited(platform: Platform) -> None:
    staff, check_id = _listed_and_checked(platform)
    url = f"/console/checks/{check_id}/feedback"
    form = {"csrf_token": staff.headers["X-CSRF-Token"], f"outcome:{MEASURE}": "not_applied",
            f"reason:{MEASURE}": "", f"result:{MEASURE}": "已提高审查标准"}
    refused = staff.post(url, data=form)
    assert refused.status_code == 422
    error = refused.text.split('id="feedback-error"')[1][:80]
    assert "未应用，请填写原因" in error and "reason" not in error
    assert '<option value="not_applied" selected>未应用</option>' in refused.text  # kept as chosen
    assert 'value="已提高审查标准"' in refused.text
    nothing = staff.post(url, data={"csrf_token": staff.headers["X-CSRF-Token"], f"outcome:{MEASURE}": ""})
    assert nothing.status_code == 422 and "请至少为一项措施选择执行情况" in nothing.text
    no_token = TestClient(platform.client.app, cookies=staff.cookies)
    assert no_token.post(url, data={f"outcome:{MEASURE}": "applied"}).status_code == 403

    done = staff.post(url, data={**form, f"reason:{MEASURE}": "申请人选择一般程序"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/console/checks/{check_id}?sent=true"
    report = staff.get(done.headers["location"]).text
    assert 'id="feedback-sent"' in report and "未应用：申请人选择一般程序；结果：已提高审查标准" in report
    assert 'id="feedback-form"' not in report  # nothing left to report
    api = staff.get(f"/api/v1/checks/{check_id}").json()
    assert api["feedback_status"]["status"] == "complete"
    assert [(f["outcome"], f["reason"]) for f in api["feedback"]] == [("not_applied", "申请人选择一般程序")]
    with platform.engine.connect() as conn:
        events = conn.execute(text("SELECT actor, role, source, object_id, detail FROM audit_event "
                                   "WHERE action = 'check.feedback'")).all()
    assert len(events) == 1
    assert (events[0].role, events[0].object_id, events[0].source) == ("staff", check_id, "testclient")
    assert f'"{MEASURE}":"not_applied"' in events[0].detail
    again = staff.post(url, data={**form, f"outcome:{MEASURE}": "applied"})
    assert again.status_code == 422 and "已反馈过" in again.text


def test_candidates_of_a_check_by_name_link_to_their_subject(platform: Platform) -> None:
    for n in (1, 2):
        store(platform, n)
    staff = platform.as_role("staff")
    page = _console_check(staff, "测试贸易有限公司")
    table = page[page.index('id="candidates"'):]
    table = table[:table.index("</table>")]
    for n in (1, 2):
        assert (f'<a href="/console/subjects/{numbered_uscc(n)}">厦门市思明区第{n}测试贸易有限公司</a>'
                in table)
        assert f'name="query" value="{numbered_uscc(n)}"' in table  # check this one instead
    subject = staff.get(f"/console/subjects/{numbered_uscc(1)}")
    assert subject.status_code == 200 and "厦门市思明区第1测试贸易有限公司" in subject.text
