"""The auditor's audit log page over HTTP: Chinese names, Beijing time, readable details,
filters and the Excel/CSV export (formula-looking text stays text)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import text

from xinyong.core.db import utcnow

from .conftest import DEPARTMENT, Platform

FORMULA_NAME = '=HYPERLINK("http://evil.example","点此")'


def _failed_sign_in(platform: Platform, username: str) -> None:
    r = TestClient(platform.client.app).post("/api/v1/session",
                                             json={"username": username, "password": "wrong-password-1"})
    assert r.status_code == 401


def test_the_log_reads_in_chinese_with_beijing_time(platform: Platform) -> None:
    platform.account("reporter", DEPARTMENT)
    _failed_sign_in(platform, "nobody")
    auditor = platform.as_role("auditor")
    page = auditor.get("/console/audit")
    assert page.status_code == 200
    html = page.text
    assert "创建账号" in html and "登录失败" in html and "登录" in html
    assert "部门报送员" in html and "审计人员" in html  # role names, not codes
    shown = html.split('id="audit-events"')[1].replace('data-action="account.create"', "")
    assert "account.create" not in shown  # the code is kept only as the row's data attribute
    assert "{&#34;" not in html and '{"' not in html  # details are not raw JSON
    # the newest sign-in, shown in Beijing time
    with platform.engine.connect() as conn:
        at = conn.execute(text("SELECT at FROM audit_event WHERE action = 'auth.sign_in' "
                               "ORDER BY id DESC LIMIT 1")).scalar_one()
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    local = at + timedelta(hours=8)
    assert f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}" in html
    assert "时间（UTC）" not in html


def test_filters_by_action_family_role_and_beijing_day(platform: Platform) -> None:
    platform.account("reporter", DEPARTMENT)
    _failed_sign_in(platform, "nobody")
    auditor = platform.as_role("auditor")
    failed = auditor.get("/console/audit?action=auth.failed").text
    assert failed.count('data-action="auth.failed"') == 1 and 'data-action="account.create"' not in failed
    assert '<option value="auth.failed" selected>登录失败</option>' in failed
    family = auditor.get("/console/audit?action=account.").text
    assert 'data-action="account.create"' in family and 'data-action="auth.failed"' not in family
    by_role = auditor.get("/console/audit?role=auditor").text
    assert 'data-action="auth.sign_in"' in by_role and 'data-action="account.create"' not in by_role
    today = (utcnow() + timedelta(hours=8)).date()
    same_day = auditor.get(f"/console/audit?action=auth.failed&since={today}&until={today}").text
    assert same_day.count('data-action="auth.failed"') == 1
    later = auditor.get(f"/console/audit?action=auth.failed&since={today + timedelta(days=1)}").text
    assert 'data-action="auth.failed"' not in later and "没有符合条件的事件" in later
    bad = auditor.get(f"/console/audit?since={today}&until={today - timedelta(days=3)}")
    assert bad.status_code == 422 and "起始日期晚于截止日期" in bad.text
    assert "Traceback" not in bad.text


def test_export_as_excel_keeps_formula_looking_text_as_text(platform: Platform) -> None:
    _failed_sign_in(platform, FORMULA_NAME)
    auditor = platform.as_role("auditor")
    page = auditor.get("/console/audit?action=auth.failed").text
    assert "/console/audit/export?format=xlsx&amp;action=auth.failed" in page
    r = auditor.get("/console/audit/export?format=xlsx&action=auth.failed")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["审计日志"]
    rows = list(sheet.iter_rows(values_only=False))
    header = [c.value for c in rows[0]][:6]
    assert header == ["序号", "时间（北京时间）", "操作人", "角色", "操作", "操作代码"]
    assert len(rows) == 2
    actor, action_name, action = rows[1][2], rows[1][4], rows[1][5]
    assert actor.value == FORMULA_NAME and actor.data_type == "s" and actor.quotePrefix
    assert action_name.value == "登录失败" and action.value == "auth.failed"
    assert "年" in rows[1][1].value
    csv = auditor.get("/console/audit/export?format=csv&action=auth.failed")
    body = csv.content.decode("utf-8-sig")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "'" + FORMULA_NAME.replace('"', '""') in body and "登录失败" in body
    # exporting is reading the log: audited with its filters
    with platform.engine.connect() as conn:
        reads = conn.execute(text("SELECT detail FROM audit_event "
                                  "WHERE action = 'audit.read'")).scalars().all()
    assert sum('"auth.failed"' in d for d in reads) >= 3


def test_only_the_auditor_reads_or_exports_the_log(platform: Platform) -> None:
    staff = platform.as_role("staff")
    assert staff.get("/console/audit").status_code == 403
    assert staff.get("/console/audit/export?format=xlsx").status_code == 403
    admin = platform.as_role("admin")
    assert admin.get("/console/audit/export?format=csv").status_code == 403
