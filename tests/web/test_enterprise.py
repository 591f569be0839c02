"""The enterprise's workspace over HTTP: its own sign-in, its home on real records (windows,
repair dates, cases, what it is asked to do, list notices), a notification for every change of
its objections, repairs and list proposals made through the real services, seen only by the
subject's own accounts, marked read, and delivered by `xinyong notifications deliver`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, PASSWORD, Platform, published_penalty, recent

PDF = b"%PDF-1.4\n%%EOF\n"
REASON = "该处罚决定已被复议机关撤销，附复议决定书，请撤销公示。"


def _load(platform: Platform, n: int, days_ago: int = 120) -> int:
    """One 一般 penalty of subject n decided `days_ago` days ago; its record id."""
    staff = platform.as_role("staff")
    row = published_penalty(n, **{"处罚决定日期": recent(days_ago),
                                  "行政处罚决定书文号": f"厦思市监罚〔2026〕{n}-{days_ago}号"})
    r = platform.upload(staff, platform.csv(f"p{n}-{days_ago}.csv", [row]), kind="penalty",
                        department=DEPARTMENT, backfill="true")
    assert r.status_code == 201, r.text
    with platform.engine.connect() as conn:
        return int(conn.execute(text("SELECT r.id FROM record r JOIN subject s ON s.id = r.subject_id "
                                     "WHERE s.uscc = :u ORDER BY r.id DESC"),
                                {"u": numbered_uscc(n)}).scalars().first())


def _events(client: TestClient) -> list[str]:
    page = client.get("/enterprise/notifications")
    assert page.status_code == 200, page.text
    return re.findall(r'data-event="([a-z_.]+)"', page.text)


def _apply(client: TestClient, record: int) -> Any:
    return client.post("/api/v1/repairs", data={"record": str(record), "statement": "罚款已缴清"},
                       files=[("commitment", ("承诺书.pdf", PDF, "application/pdf")),
                              ("performance", ("缴款凭证.pdf", PDF, "application/pdf"))])


def test_enterprise_signs_in_at_its_own_door_and_lands_on_its_home(platform: Platform) -> None:
    _load(platform, 61)
    username = platform.account("enterprise", subject=numbered_uscc(61))
    client = TestClient(platform.client.app)
    form = client.get("/enterprise/sign-in")
    assert form.status_code == 200 and "<h1>企业登录</h1>" in form.text
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token is not None
    r = client.post("/enterprise/sign-in", data={"username": username, "password": PASSWORD,
                                                  "form_token": token.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/enterprise"
    home = client.get("/enterprise")
    assert home.status_code == 200
    assert "厦门市思明区第61测试贸易有限公司" in home.text and "企业主页" in home.text
    # the console is not its workspace: an enterprise there is sent home
    console = client.get("/console", follow_redirects=False)
    assert console.status_code == 303 and console.headers["location"] == "/enterprise"
    # the public site links to the enterprise entrance; anonymous visitors are sent there
    assert 'href="/enterprise/sign-in"' in platform.client.get("/").text
    anonymous = TestClient(platform.client.app).get("/enterprise", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/enterprise/sign-in?next=/enterprise")


def test_a_wrong_password_at_the_enterprise_door_keeps_the_name(platform: Platform) -> None:
    username = platform.account("enterprise", subject=numbered_uscc(62))
    client = TestClient(platform.client.app)
    token = re.search(r'name="form_token" value="([^"]+)"', client.get("/enterprise/sign-in").text)
    assert token is not None
    r = client.post("/enterprise/sign-in", data={"username": username, "password": "wrong-one-123",
                                                  "form_token": token.group(1)})
    assert r.status_code == 401 and f'value="{username}"' in r.text and "企业登录" in r.text


def test_home_shows_records_with_windows_repair_dates_and_cases(platform: Platform) -> None:
    old = _load(platform, 63, days_ago=120)  # past its 3-month minimum: repair may be applied for
    new = _load(platform, 63, days_ago=20)   # not yet: the page says from when
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(63))
    assert _apply(enterprise, old).status_code == 201
    filed = enterprise.post("/api/v1/objections", data={"record": str(new), "reason": REASON})
    assert filed.status_code == 201, filed.text
    home = enterprise.get("/enterprise").text
    cards = dict(re.findall(r'data-record="(\d+)">(.*?)</article>', home, re.S))
    assert set(cards) == {str(old), str(new)}
    decided = date.today() - timedelta(days=20)
    assert "公示中" in cards[str(new)]
    assert f"自 {_add_months(decided, 3).isoformat()} 起可申请" in cards[str(new)]
    assert "异议处理中" in cards[str(new)] and filed.json()["case_no"] in cards[str(new)]
    assert "信用修复中" in cards[str(old)]
    assert re.search(r"\d{4}-\d{2}-\d{2} 至 \d{4}-\d{2}-\d{2}", cards[str(old)])
    section = home.split('id="repairs"')[1].split("</section>")[0]
    assert 'data-status="submitted"' in section
    section = home.split('id="objections"')[1].split("</section>")[0]
    assert 'data-status="open"' in section


def _add_months(day: date, months: int) -> date:
    from xinyong.core.dates import add_months
    return add_months(day, months)


def test_every_change_of_an_objection_is_notified(platform: Platform) -> None:
    record = _load(platform, 64, days_ago=30)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(64))
    no = enterprise.post("/api/v1/objections", data={"record": str(record), "reason": REASON}
                         ).json()["case_no"]
    assert _events(enterprise) == ["objection.filed"]
    reporter = platform.as_role("reporter", DEPARTMENT)
    r = reporter.post(f"/api/v1/objections/{no}/decision", json={"action": "suspend"})
    assert r.status_code == 200, r.text
    r = reporter.post(f"/api/v1/objections/{no}/decision",
                      json={"action": "revoke", "reason": "原处罚决定已被复议撤销"})
    assert r.status_code == 200, r.text
    assert _events(enterprise) == ["objection.decided", "objection.decided", "objection.filed"]
    page = enterprise.get("/enterprise/notifications").text
    assert "异议处理结果：异议成立，信息已撤销" in page and "原处罚决定已被复议撤销" in page
    assert f'href="/objections/{no}"' in page
    # a refused decision changes nothing, so tells nothing
    assert reporter.post(f"/api/v1/objections/{no}/decision", json={"action": "reject",
                                                                    "reason": "x"}).status_code == 422
    assert len(_events(enterprise)) == 3


def test_every_change_of_a_repair_is_notified_and_the_return_is_asked(platform: Platform) -> None:
    record = _load(platform, 65)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(65))
    no = _apply(enterprise, record).json()["case_no"]
    reviewer = platform.as_role("reviewer")
    r = reviewer.post(f"/api/v1/repairs/{no}/decision",
                      json={"action": "return", "reason": "承诺书未盖章", "missing": ["盖章的信用承诺书"]})
    assert r.status_code == 200, r.text
    home = enterprise.get("/enterprise").text
    asks = home.split('id="asks"')[1].split("</section>")[0]
    assert "补正信用修复材料" in asks and "盖章的信用承诺书" in asks and f"/repairs/{no}#resub" in asks
    r = enterprise.post(f"/api/v1/repairs/{no}/materials", data={"statement": "已补盖公章"},
                        files=[("commitment", ("承诺书.pdf", PDF, "application/pdf"))])
    assert r.status_code == 200, r.text
    for action in ("accept", "approve"):
        r = reviewer.post(f"/api/v1/repairs/{no}/decision",
                          json={"action": action, "reason": "材料齐全，准予修复"})
        assert r.status_code == 200, r.text
    assert _events(enterprise) == ["repair.approved", "repair.accepted", "repair.resubmitted",
                                   "repair.returned", "repair.applied"]
    assert "补正信用修复材料" not in enterprise.get("/enterprise").text.split('id="asks"')[1].split(
        "</section>")[0]
    page = enterprise.get("/enterprise/notifications").text
    assert "请补正信用修复材料" in page and "信用修复成功" in page


def test_list_notices_are_notified_and_the_answer_asked(platform: Platform) -> None:
    _load(platform, 66, days_ago=30)
    staff = platform.as_role("staff")
    pid = staff.post("/api/v1/list-proposals", json={
        "uscc": numbered_uscc(66), "kind": "tax_major_violation", "facts": "偷税",
        "basis": "第六条"}).json()["id"]
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(66))
    assert _events(enterprise) == []  # a proposal not yet notified is not the subject's news
    r = staff.post(f"/api/v1/list-proposals/{pid}/notice", json={"content": "拟列入重大税收违法失信主体名单"})
    assert r.status_code == 200, r.text
    home = enterprise.get("/enterprise").text
    assert "提出陈述、申辩" in home.split('id="asks"')[1].split("</section>")[0]
    assert enterprise.post(f"/api/v1/list-proposals/{pid}/objection",
                           json={"note": "税款已补缴"}).status_code == 200
    assert staff.post(f"/api/v1/list-proposals/{pid}/withdrawal",
                      json={"reason": "采纳异议"}).status_code == 200
    assert _events(enterprise) == ["list.withdrawn", "list.objected", "list.notified"]


def test_only_the_subjects_own_accounts_see_and_mark_its_notifications(platform: Platform) -> None:
    record = _load(platform, 67, days_ago=30)
    own = platform.as_role("enterprise", subject=numbered_uscc(67))
    own.post("/api/v1/objections", data={"record": str(record), "reason": REASON})
    colleague = platform.as_role("enterprise", subject=numbered_uscc(67))
    other = platform.as_role("enterprise", subject=numbered_uscc(68))
    assert _events(colleague) == ["objection.filed"]
    assert _events(other) == []
    with platform.engine.connect() as conn:
        nid = conn.execute(text("SELECT id FROM notification")).scalar_one()
    refused = other.post("/enterprise/notifications/read", data={"id": str(nid)},
                         follow_redirects=False)
    assert refused.status_code == 403
    assert 'id="unread-count"' in own.get("/enterprise").text
    staff = platform.as_role("staff")
    assert staff.get("/enterprise/notifications").status_code == 403
    assert staff.get("/enterprise").status_code == 403
    # the same through the API
    assert [n["event"] for n in colleague.get("/api/v1/notifications").json()["items"]] == [
        "objection.filed"]
    assert other.get("/api/v1/notifications").json()["items"] == []
    assert other.post("/api/v1/notifications/read", json={"ids": [nid]}).status_code == 403
    r = own.post("/enterprise/notifications/read", data={"id": str(nid)}, follow_redirects=False)
    assert r.status_code == 303
    assert "1 条未读" not in own.get("/enterprise").text
    assert "0 条未读" in colleague.get("/enterprise/notifications").text
    assert colleague.get("/api/v1/notifications?unread=true").json()["items"] == []
    assert colleague.post("/api/v1/notifications/read", json={}).json() == {"marked": 0, "unread": 0}
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'notification.read'"
                                 )).scalar_one() == 1


@pytest.fixture
def cli_env(platform: Platform) -> dict[str, str]:
    env = os.environ.copy()
    env["XINYONG_DATABASE_URL"] = platform.engine.url.render_as_string(hide_password=False)
    return env


def test_notifications_deliver_through_the_log_channel(platform: Platform, cli_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    record = _load(platform, 69, days_ago=30)
    own = platform.as_role("enterprise", subject=numbered_uscc(69))
    no = own.post("/api/v1/objections", data={"record": str(record), "reason": REASON}).json()["case_no"]

    def run(*args: str, env: dict[str, str] = cli_env) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "xinyong", "notifications", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    first = run("deliver", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"channel": "log", "delivered": 1, "failed": 0, "pending": 0}
    assert f"异议已提交：{no}" in first.stderr and "厦门市思明区第69测试贸易有限公司" in first.stderr
    again = run("deliver")
    assert again.returncode == 0 and "已发送 0 条" in again.stdout
    listed = json.loads(run("list", numbered_uscc(69), "--json").stdout)
    assert [(n["event"], n["delivered"]) for n in listed] == [("objection.filed", True)]

    # a channel of the locality's own, named in the setting; its failure leaves it pending
    (tmp_path / "failing_channel.py").write_text(
        "class Sms:\n    name = 'sms'\n    def send(self, message):\n"
        "        raise RuntimeError('短信网关不可用')\n", "utf-8")
    reporter = platform.as_role("reporter", DEPARTMENT)
    reporter.post(f"/api/v1/objections/{no}/decision", json={"action": "reject", "reason": "证据不足"})
    env = {**cli_env, "XINYONG_NOTIFICATION_CHANNEL": "failing_channel:Sms",
           "PYTHONPATH": f"{tmp_path}{os.pathsep}{cli_env.get('PYTHONPATH', '')}"}
    failed = run("deliver", "--json", env=env)
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout) == {"channel": "sms", "delivered": 0, "failed": 1, "pending": 1}
    bad = run("deliver", "--channel", "no such channel")
    assert bad.returncode == 2 and "通知渠道" in bad.stderr and "Traceback" not in bad.stderr
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT last_error FROM notification WHERE delivered_at IS NULL")
                            ).scalar_one().endswith("短信网关不可用")
