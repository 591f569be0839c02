"""Each console role's home over HTTP: its to-do counts, on data made through the platform's own
services and routes, and the links they carry."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import quote_plus

from fastapi.testclient import TestClient

from xinyong.accounts.rules import Principal, role_table
from xinyong.objections import service as objections

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, PASSWORD, Platform, published_penalty, recent

REASON = "该处罚决定已被复议机关撤销，附复议决定书，请撤销公示。"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TAX = "国家税务总局厦门市思明区税务局"
FIRE = "厦门市思明区消防救援大队"
FIGURE = re.compile(r'<a class="figure[^"]*" href="([^"]*)" data-count="(\d+)"><b>\d+</b>([^<]+)</a>')


def figures(html: str, card: str) -> dict[str, tuple[int, str]]:
    """The counts of one card of the home page: label → (count, link)."""
    found = re.search(rf'<section class="card todo" id="todo-{card}".*?</section>', html, re.S)
    assert found, f"no card {card}"
    return {label.strip(): (int(n), href.replace("&amp;", "&"))
            for href, n, label in FIGURE.findall(found.group(0))}


def _record_of(p: Platform, n: int) -> int:
    return int(p.client.get(f"/api/v1/subjects/{numbered_uscc(n)}").json()["records"][0]["id"])


def _objection(p: Platform, n: int, days_ago: int) -> None:
    """An objection of subject n's enterprise to its record, filed `days_ago` days ago."""
    uscc = numbered_uscc(n)
    principal = Principal(f"enterprise-{n}", "enterprise", None,
                          role_table().role("enterprise").permissions, subject=uscc)
    objections.file_objection(p.engine, principal.actor("test"), principal, _record_of(p, n), REASON,
                              today=date.today() - timedelta(days=days_ago))


def _busy_city(p: Platform) -> None:
    """Penalties of three departments on subject 1 (a warning), two objections (one overdue), a
    repair application, a list proposal and a batch with a returned row."""
    for i, department in enumerate((DEPARTMENT, TAX, FIRE)):
        client = p.as_role("reporter", department)
        rows = [published_penalty(1, **{"行政处罚决定书文号": f"罚{i}-1", "处罚机关": department,
                                     "数据来源单位": department})]
        if i == 0:
            rows += [published_penalty(2), published_penalty(3),
                     published_penalty(4, **{"行政相对人代码_1(统一社会信用代码)": "not-a-code"})]
        r = p.upload(client, p.csv(f"p{i}.csv", rows))
        assert r.status_code in (200, 201), r.text
    staff = p.as_role("staff")
    assert staff.post("/api/v1/warnings/scan", json={}).json()["raised"] == 1
    _objection(p, 2, days_ago=40)
    _objection(p, 3, days_ago=0)
    old = published_penalty(5, **{"处罚决定日期": recent(120)})
    r = p.upload(staff, p.csv("old.csv", [old]), kind="penalty", department=DEPARTMENT, backfill="true")
    assert r.status_code == 201, r.text
    enterprise = p.as_role("enterprise", subject=numbered_uscc(5))
    r = enterprise.post("/api/v1/repairs", data={"record": str(_record_of(p, 5)), "statement": "罚款已缴清"},
                        files=[("commitment", ("承诺书.pdf", PDF, "application/pdf")),
                               ("performance", ("缴款凭证.pdf", PDF, "application/pdf"))])
    assert r.status_code == 201, r.text
    r = staff.post("/api/v1/list-proposals", json={
        "uscc": numbered_uscc(1), "kind": "market_serious_illegal", "facts": "吊销营业执照",
        "basis": "总局令第44号第二条"})
    assert r.status_code == 201, r.text


def test_staff_reviewer_and_reporter_homes_count_their_work(platform: Platform) -> None:
    _busy_city(platform)
    staff = platform.as_role("staff").get("/console").text
    assert figures(staff, "lists")["待告知"][0] == 1
    assert figures(staff, "lists")["办理中的认定申请"] == (1, "/console/lists")
    assert figures(staff, "warnings")["未处置的预警"] == (1, "/console/warnings?status=open")
    batches = figures(staff, "batches")
    assert batches["退回的数据行"][0] == 1 and batches["报送批次"][0] == 4
    assert "todo-objections" not in staff and "todo-security" not in staff  # not staff's work

    reviewer = platform.as_role("reviewer").get("/console").text
    found = figures(reviewer, "objections")
    assert found["待处理（异议处理中）"] == (2, "/console/objections?status=open")
    assert found["已超期"] == (1, "/console/objections?status=open&overdue=true")
    repairs = figures(reviewer, "repairs")
    assert repairs["待受理"] == (1, "/console/repairs?status=submitted")
    assert repairs["已超期"][0] == 0
    assert "todo-batches" not in reviewer and "todo-lists" not in reviewer

    # the reporter decides objections to its own records only and sees its own batches
    reporter = platform.as_role("reporter", DEPARTMENT).get("/console").text
    assert figures(reporter, "objections")["待处理（异议处理中）"][0] == 2
    mine = figures(reporter, "batches")
    assert mine["报送批次"][0] == 2 and mine["退回的数据行"][0] == 1 and mine["有退回记录的批次"][0] == 1
    assert mine["退回的数据行"][1] == f"/console/batches?department={quote_plus(DEPARTMENT)}"
    assert figures(reporter, "warnings")["未处置的预警"][0] == 1  # subject 1's warning is sent to it
    other = platform.as_role("reporter", OTHER_DEPARTMENT).get("/console").text
    assert figures(other, "objections")["待处理（异议处理中）"][0] == 0
    assert figures(other, "batches")["报送批次"][0] == 0

    # each link opens its queue, and the queue shows what was counted
    reviewer_client = platform.as_role("reviewer")
    queue = reviewer_client.get("/console/objections?status=open&overdue=true")
    assert queue.status_code == 200 and queue.text.count("已超期</span>") == 1


def test_auditor_home_shows_security_events_and_the_chain(platform: Platform) -> None:
    name = platform.account("reporter", DEPARTMENT)
    bad = TestClient(platform.client.app)
    r = bad.post("/api/v1/session", json={"username": name, "password": PASSWORD + "x"})
    assert r.status_code == 401
    auditor = platform.as_role("auditor")
    page = auditor.get("/console")
    assert page.status_code == 200
    security = figures(page.text, "security")
    assert security["登录失败"][0] == 1
    assert security["登录失败"][1].startswith("/console/audit?action=auth.failed&since=")
    assert security["账号和令牌变更"][0] >= 2  # the two accounts made (reporter, auditor)
    assert 'id="chain-status"' in page.text and "哈希链完整" in page.text
    table = page.text[page.text.index('id="security-events"'):]
    assert "登录失败" in table and "auth.failed" not in table
    # looking at the events is itself audited
    log = auditor.get("/console/audit?action=audit.read").text
    assert "查阅审计日志" in log


def test_admin_home_counts_accounts(platform: Platform) -> None:
    platform.account("reporter", DEPARTMENT)
    admin = platform.as_role("admin")
    accounts = figures(admin.get("/console").text, "accounts")
    assert accounts["在用账号"] == (2, "/console/accounts")
    assert accounts["已停用"][0] == 0 and accounts["已锁定"][0] == 0


def test_the_home_asks_anonymous_visitors_to_sign_in(platform: Platform) -> None:
    r = platform.client.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in?next=/console"
