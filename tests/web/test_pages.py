"""Server-rendered pages: the portal without JavaScript, the console's sign-in with its
form token, rate limiting with a clear 429 page, and audited reads of non-public data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from xinyong.core.settings import get_settings
from xinyong.web.app import create_app

from ..factories import numbered_uscc, resident_id
from ..tampering import drop_append_only_guard
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, PASSWORD, Platform, published_penalty, recent


def _load(p: Platform, rows: list[dict[str, str]], department: str = DEPARTMENT) -> int:
    staff = p.as_role("staff")
    rows = [{**r, "处罚机关": department, "数据来源单位": department} for r in rows]  # its own
    r = p.upload(staff, p.csv("load.csv", rows), department=department, kind="penalty")
    assert r.status_code == 201, r.text
    batch: int = r.json()["batch"]
    return batch


def _sign_in_form(client: TestClient, username: str, next_: str = "/console") -> object:
    form = client.get(f"/console/sign-in?next={next_}")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/console/sign-in", data={
        "username": username, "password": PASSWORD, "form_token": token.group(1), "next": next_},
        follow_redirects=False)


def test_home_search_and_subject_page(platform: Platform) -> None:
    _load(platform, [published_penalty(1, **{"行政相对人名称": "厦门小米茶业有限公司",
                                             "法定代表人证件号码": resident_id()})])
    c = platform.client
    home = c.get("/")
    assert home.status_code == 200 and 'action="/search"' in home.text and "<script" not in home.text
    results = c.get("/search", params={"q": "小米"})
    assert results.status_code == 200
    assert f'href="/subjects/{numbered_uscc(1)}"' in results.text
    page = c.get(f"/subjects/{numbered_uscc(1)}")
    assert page.status_code == 200
    assert "厦门小米茶业有限公司" in page.text and "厦思市监罚〔2026〕1号" in page.text
    assert "一般" in page.text and "公示中 1 条" in page.text
    assert resident_id() not in page.text


def test_pages_show_errors_as_pages(platform: Platform) -> None:
    missing = platform.client.get(f"/subjects/{numbered_uscc(77)}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html") and "未找到" in missing.text
    assert platform.client.get("/nowhere").status_code == 404


def test_console_requires_sign_in_and_redirects_back(platform: Platform) -> None:
    c = platform.client
    r = c.get("/console/batches", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in?next=/console/batches"
    username = platform.account("reporter", DEPARTMENT)
    signed = _sign_in_form(c, username, "/console/batches")
    assert signed.status_code == 303 and signed.headers["location"] == "/console/batches"  # type: ignore[attr-defined]
    assert "报送批次" in c.get("/console/batches").text


def test_sign_in_form_needs_its_token_and_refuses_wrong_passwords(platform: Platform) -> None:
    username = platform.account("reporter", DEPARTMENT)  # a role that signs in with a password alone
    c = platform.client
    forged = c.post("/console/sign-in", data={"username": username, "password": PASSWORD,
                                              "form_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and "已过期" in forged.text
    form = c.get("/console/sign-in")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    wrong = c.post("/console/sign-in", data={"username": username, "password": "wrong-wrong-wrong",
                                             "form_token": token}, follow_redirects=False)
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    # an outside address in `next` is not followed
    ok = _sign_in_form(c, username, "//evil.example/")
    assert ok.headers["location"] == "/console"  # type: ignore[attr-defined]


def test_console_forms_need_the_session_csrf_token(platform: Platform) -> None:
    username = platform.account("reporter", DEPARTMENT)
    c = platform.client
    _sign_in_form(c, username)
    path = platform.csv("up.csv", [published_penalty(3)])
    with path.open("rb") as f:
        refused = c.post("/console/upload", files={"file": ("up.csv", f, "text/csv")},
                         follow_redirects=False)
    assert refused.status_code == 403 and "表单已过期" in refused.text
    form = c.get("/console/upload").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    with path.open("rb") as f:
        done = c.post("/console/upload", files={"file": ("up.csv", f, "text/csv")},
                      data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and re.match(r"/console/batches/\d+\?new=1", done.headers["location"])
    receipt = c.get(done.headers["location"])
    assert "文件已归集" in receipt.text and DEPARTMENT in receipt.text


def test_upload_streams_progress_as_json_lines(platform: Platform) -> None:
    client = platform.as_role("reporter", DEPARTMENT)
    path = platform.csv("s.csv", [published_penalty(n) for n in range(1, 4)])
    with path.open("rb") as f:
        r = client.post("/console/upload", files={"file": ("s.csv", f, "text/csv")},
                        headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 200
    events = [__import__("json").loads(line) for line in r.text.splitlines()]
    assert events[-1]["done"] is True and events[-1]["receipt"] == f"/console/batches/{events[-1]['batch']}"
    assert any("rows" in e for e in events[:-1])


def test_reporter_dashboard_shows_only_own_department(platform: Platform) -> None:
    _load(platform, [published_penalty(1)], department=DEPARTMENT)
    other = _load(platform, [published_penalty(2)], department=OTHER_DEPARTMENT)
    reporter = platform.as_role("reporter", DEPARTMENT)
    dashboard = reporter.get("/console").text
    assert DEPARTMENT in dashboard and OTHER_DEPARTMENT not in dashboard
    page = reporter.get(f"/console/batches/{other}")
    # another department's batch is shown as missing (issue 20 item 12: ids reveal nothing)
    assert page.status_code == 404 and f"批次 {other} 不存在" in page.text
    staff_view = platform.as_role("staff").get("/console").text
    assert DEPARTMENT in staff_view and OTHER_DEPARTMENT in staff_view


def test_staff_reading_the_full_history_is_audited(platform: Platform, engine: Engine) -> None:
    _load(platform, [published_penalty(4)])
    staff = platform.as_role("staff")
    page = staff.get(f"/console/subjects/{numbered_uscc(4)}")
    assert page.status_code == 200 and "已记入审计日志" in page.text
    with engine.connect() as conn:
        reads = conn.execute(text("SELECT actor, role, object_id, source FROM audit_event "
                                  "WHERE action = 'subject.read_full'")).all()
    assert [(r.role, r.object_id) for r in reads] == [("staff", numbered_uscc(4))]
    assert reads[0].source == "testclient"
    # sign-ins are audited too, with who, how and from where: this staff account's two are
    # setting up its authenticator in the fixture (a sign-in with a code, from no address) and
    # its session's sign-in over HTTP
    with engine.connect() as conn:
        sign_ins = conn.execute(text("SELECT source, detail FROM audit_event "
                                     "WHERE action = 'auth.sign_in' AND object_id = :who"),
                                {"who": reads[0].actor}).all()
    assert [r.source for r in sign_ins] == [None, "testclient"]
    assert all("password+totp" in str(r.detail) for r in sign_ins)


def test_auditor_browses_and_verifies_the_log_and_sees_an_edit(platform: Platform,
                                                              engine: Engine) -> None:
    _load(platform, [published_penalty(5)])
    auditor = platform.as_role("auditor")
    page = auditor.get("/console/audit", params={"action": "auth."})
    # actions are shown by their Chinese names (issue 21); the code stays on the row
    assert page.status_code == 200 and 'data-action="auth.sign_in"' in page.text
    assert '<td data-label="操作">登录</td>' in page.text
    assert 'data-action="ingest.batch"' not in page.text
    api = auditor.get("/api/v1/audit", params={"action": "ingest.batch"}).json()
    assert [e["action"] for e in api["items"]] == ["ingest.batch"]
    assert auditor.get("/api/v1/audit/verify").json()["ok"] is True
    with engine.begin() as conn:
        drop_append_only_guard(conn)  # as an attacker with DDL rights would
        conn.execute(text("UPDATE audit_event SET actor = 'someone-else' WHERE action = 'ingest.batch'"))
    broken = auditor.get("/api/v1/audit/verify").json()
    assert broken["ok"] is False and broken["first_bad_id"] == api["items"][0]["id"]
    assert "哈希链在事件" in auditor.get("/console/audit?verify=1").text


@pytest.fixture
def limited_client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("XINYONG_RATE_LIMIT_PER_MINUTE", "60")
    monkeypatch.setenv("XINYONG_RATE_LIMIT_BURST", "3")
    get_settings.cache_clear()
    return TestClient(create_app(engine))


def test_rate_limit_gives_a_clear_429(limited_client: TestClient) -> None:
    statuses = [limited_client.get("/search?q=测试").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    page = limited_client.get("/search?q=测试")
    assert page.status_code == 429 and "查询过于频繁" in page.text
    assert int(page.headers["retry-after"]) >= 1
    api = limited_client.get("/api/v1/subjects?q=测试")
    assert api.status_code == 429 and api.json()["code"] == "rate_limited"
    assert limited_client.get("/healthz").status_code == 200  # only search and subject routes


def test_publicity_listing_filters_by_kind_department_and_date(platform: Platform) -> None:
    _load(platform, [published_penalty(1), published_penalty(2, **{"处罚决定日期": recent(200),
                                                                    "处罚有效期": recent(100)})])
    _load(platform, [published_penalty(3)], department=OTHER_DEPARTMENT)
    c = platform.client
    everything = c.get("/api/v1/publicity").json()["items"]
    assert [r["doc_no"] for r in everything][:1] and len(everything) == 3
    assert everything[0]["decision_date"] >= everything[-1]["decision_date"]
    mine = c.get("/api/v1/publicity", params={"department": DEPARTMENT}).json()["items"]
    assert {r["department"] for r in mine} == {DEPARTMENT} and len(mine) == 2
    recent_only = c.get("/api/v1/publicity", params={"since": recent(60)}).json()["items"]
    assert len(recent_only) == 2
    assert c.get("/api/v1/publicity?kind=licence").json()["items"] == []
    assert c.get("/api/v1/publicity?kind=other").status_code == 422
    page = c.get("/publicity", params={"department": OTHER_DEPARTMENT})
    assert page.status_code == 200 and "厦思市监罚〔2026〕3号" in page.text
    assert "厦思市监罚〔2026〕1号" not in page.text and f"/subjects/{numbered_uscc(3)}" in page.text


def test_natural_persons_stay_off_the_portal_or_are_masked_where_published(
        platform: Platform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    person = {"行政相对人类别": "自然人", "行政相对人名称": "张三丰", "证件类型": "身份证",
              "行政相对人代码_1(统一社会信用代码)": "", "证件号码": resident_id(seq="456")}
    _load(platform, [published_penalty(1, **person, **{"行政处罚决定书文号": "厦思市监罚〔2026〕91号"})])
    listed = platform.client.get("/api/v1/publicity").json()["items"]
    assert listed == []  # by default natural persons' records are not published
    # a locality that publishes them: the name is masked and no identity is shown
    data = tmp_path / "rules"
    data.mkdir()
    (data / "publicity.yaml").write_text("natural_persons: {published: true}\n", encoding="utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(data))
    get_settings.cache_clear()
    _load(platform, [published_penalty(2, **person, **{"行政处罚决定书文号": "厦思市监罚〔2026〕92号"})])
    response = platform.client.get("/api/v1/publicity")
    [item] = response.json()["items"]
    assert item["subject"] == {"uscc": None, "name": "张**", "kind": "natural_person"}
    assert "张三丰" not in response.text and resident_id(seq="456") not in response.text
    page = platform.client.get("/publicity")
    assert "张**" in page.text and "张三丰" not in page.text
    assert "张三丰" not in platform.client.get("/api/v1/subjects?q=张三丰").text
