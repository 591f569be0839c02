"""The staff history of a subject through the API: each record version shows its window and
why (the tier and period in the words of the rules), and every publicity stop with the case
that decided it — here an objection's suspension that was later resumed, then a repair."""

from __future__ import annotations

from datetime import date, timedelta

from ..factories import numbered_uscc
from .conftest import Platform
from .test_repair_api import apply, eligible_record


def test_history_shows_the_window_and_the_stops_with_their_cases(platform: Platform) -> None:
    record = eligible_record(platform, 41)
    uscc = numbered_uscc(41)
    enterprise = platform.as_role("enterprise", subject=uscc)
    filed = enterprise.post("/api/v1/objections", data={"record": str(record),
                                                         "reason": "处罚金额有误，请核实并暂停公示。"})
    assert filed.status_code == 201, filed.text
    objection = filed.json()["case_no"]
    reporter = platform.as_role("reporter", "厦门市思明区市场监督管理局")
    for action, reason in (("suspend", "核实期间暂停公示"), ("resume", "经核实信息无误，恢复公示")):
        r = reporter.post(f"/api/v1/objections/{objection}/decision",
                          json={"action": action, "reason": reason})
        assert r.status_code == 200, r.text

    staff = platform.as_role("staff")
    history = staff.get(f"/api/v1/subjects/{uscc}/history")
    assert history.status_code == 200, history.text
    (version,) = history.json()["records"]
    window = version["publicity"]
    assert window["tier"] == "一般" and window["published"] is True
    end = date.fromisoformat(window["end"])
    assert window["last_day"] == (end - timedelta(days=1)).isoformat()
    assert "一般" in window["reason"] and "公示3个月至1年" in window["reason"]
    today = date.today().isoformat()
    assert [(s["reason"], s["since"], s["until"], s["case_type"], s["case_id"], s["case_url"])
            for s in version["stops"]] == [
        ("suspended", today, today, "objection", objection, f"/objections/{objection}")]
    assert version["stops"][0]["label"] == "异议处理期间暂停公示"

    # back in publicity, the subject repairs it: the second stop, with the repair case
    case_no = apply(enterprise, record).json()["case_no"]
    reviewer = platform.as_role("reviewer")
    for action in ("accept", "approve"):
        r = reviewer.post(f"/api/v1/repairs/{case_no}/decision",
                          json={"action": action, "reason": "已缴清罚款，准予修复"})
        assert r.status_code == 200, r.text
    stops = staff.get(f"/api/v1/subjects/{uscc}/history").json()["records"][0]["stops"]
    assert [(s["reason"], s["until"], s["case_type"], s["case_id"], s["case_url"]) for s in stops] == [
        ("suspended", today, "objection", objection, f"/objections/{objection}"),
        ("repaired", None, "repair", case_no, f"/repairs/{case_no}")]
    page = staff.get(f"/console/subjects/{uscc}")
    assert page.status_code == 200
    assert f'href="/objections/{objection}"' in page.text and f'href="/repairs/{case_no}"' in page.text
    assert "信用修复完成，停止公示" in page.text
