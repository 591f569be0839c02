"""Credit checks over HTTP: system tokens and staff check by code, name or batch; bad input is a
clear 4xx with a stable code; two app instances over one store (two server processes) see a
list entry removed in the other at the next check; the console checks one subject and answers
an Excel upload with an Excel file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.check import service
from xinyong.core.audit import Actor
from xinyong.core.db import make_engine, writing
from xinyong.ingest import service as ingest
from xinyong.web.app import create_app

from ..factories import numbered_uscc, write_csv, write_xlsx
from .conftest import DEPARTMENT, Platform, published_penalty

FINANCE = "厦门市财政局"


@pytest.fixture(autouse=True)
def _log_flushed(engine: Engine) -> Iterator[None]:
    yield
    service.flush_log()


def store(platform: Platform, n: int) -> None:
    ingest.submit(platform.engine, write_csv(platform.tmp / f"p{n}.csv", [published_penalty(n)]),
                  DEPARTMENT, kind="penalty")


def system(platform: Platform) -> TestClient:
    client = TestClient(platform.client.app)
    client.headers["Authorization"] = f"Bearer {platform.token('system', FINANCE)}"
    return client


def list_subject(staff: TestClient, n: int) -> int:
    r = staff.post("/api/v1/list-proposals", json={
        "uscc": numbered_uscc(n), "kind": "court_judgment_defaulter", "facts": "有履行能力而拒不履行",
        "basis": "法释〔2017〕7号第一条"})
    assert r.status_code == 201, r.text
    r = staff.post(f"/api/v1/list-proposals/{r.json()['id']}/decision",
                   json={"doc_no": f"(2026)闽0203执{n}号"})
    assert r.status_code == 200, r.text
    entry: int = r.json()["entry"]["id"]
    return entry


def test_system_token_checks_by_code_and_every_measure_has_a_basis(platform: Platform) -> None:
    store(platform, 1)
    list_subject(platform.as_role("staff"), 1)
    client = system(platform)
    r = client.post("/api/v1/checks", json={"uscc": numbered_uscc(1), "matter": "行政许可"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["check_id"].startswith("HC") and body["subject"]["uscc"] == numbered_uscc(1)
    assert [e["kind"] for e in body["lists"]] == ["court_judgment_defaulter"]
    assert [m["code"] for m in body["measures"]] == ["no_notify_commitment"]
    assert all(m["basis"].strip() and m["triggered_by"]["type"] and "until" in m for m in body["measures"])
    measures = client.get("/api/v1/measures").json()
    assert measures and all(m["basis"]["document"] for m in measures)
    assert {m["code"] for m in client.get("/api/v1/matters").json()} >= {"bidding", "licensing"}


def test_bad_input_is_a_clear_4xx(platform: Platform) -> None:
    client = system(platform)
    for body, status, code in (
            ({"uscc": "91350203MA2Y0000X1", "matter": "bidding"}, 422, "invalid_uscc"),
            ({"name": "   ", "matter": "bidding"}, 422, "empty_name"),
            ({"matter": "bidding"}, 422, "empty_name"),
            ({"uscc": numbered_uscc(1), "matter": "买房"}, 422, "unknown_matter"),
            ({"uscc": numbered_uscc(1)}, 422, "invalid_input")):
        r = client.post("/api/v1/checks", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), body
        assert r.json()["message"]
    unknown = client.post("/api/v1/checks", json={"uscc": numbered_uscc(42), "matter": "bidding"})
    assert unknown.status_code == 200 and unknown.json()["subject"] is None
    big = client.post("/api/v1/checks/batch", json={
        "matter": "bidding", "subjects": [{"uscc": numbered_uscc(1)}] * 10_001})
    assert (big.status_code, big.json()["code"]) == (422, "batch_too_large")
    assert TestClient(platform.client.app).post(
        "/api/v1/checks", json={"uscc": numbered_uscc(1), "matter": "bidding"}).status_code == 401
    assert platform.as_role("reporter", DEPARTMENT).post(
        "/api/v1/checks", json={"uscc": numbered_uscc(1), "matter": "bidding"}).status_code == 403


def test_batch_of_bidders(platform: Platform) -> None:
    store(platform, 2)
    r = system(platform).post("/api/v1/checks/batch", json={"matter": "招标投标", "subjects": [
        {"uscc": numbered_uscc(2)}, {"uscc": numbered_uscc(3)}, {"name": "厦门市思明区第2测试贸易有限公司"},
        {"uscc": "bad"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 4 and body["checked"] == 3
    assert [x["subject"]["uscc"] if x["subject"] else None for x in body["results"][:3]] == [
        numbered_uscc(2), None, numbered_uscc(2)]
    assert body["results"][3]["error"]["code"] == "invalid_uscc"


def test_two_server_processes_see_a_removal_at_the_next_check(platform: Platform, engine: Engine) -> None:
    store(platform, 4)
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with TestClient(create_app(other_engine)) as other:
            staff = TestClient(other.app)
            csrf = platform.sign_in(platform.account("staff"), staff)
            staff.headers["X-CSRF-Token"] = csrf
            entry = list_subject(staff, 4)
            client = system(platform)
            ask = {"uscc": numbered_uscc(4), "matter": "supervision"}
            assert [m["code"] for m in client.post("/api/v1/checks", json=ask).json()["measures"]] == [
                "closer_supervision"]
            r = staff.post(f"/api/v1/list-entries/{entry}/removal",
                           json={"reason": "已履行全部义务", "doc_no": "(2026)闽0203执恢4号"})
            assert r.status_code == 200, r.text
            after = client.post("/api/v1/checks", json=ask).json()
            assert after["measures"] == [] and after["lists"] == []
    finally:
        other_engine.dispose()


def test_console_check_and_excel_upload(platform: Platform, tmp_path: Path) -> None:
    store(platform, 5)
    staff = platform.as_role("staff")
    page = staff.get("/console/checks")
    assert page.status_code == 200 and "信用核查" in page.text
    r = staff.post("/console/checks", data={"query": numbered_uscc(5), "matter": "government_procurement",
                                            "csrf_token": staff.headers["X-CSRF-Token"]})
    assert r.status_code == 200 and "核查编号 HC" in r.text and "厦门市思明区第5测试贸易有限公司" in r.text
    bad = staff.post("/console/checks", data={"query": "x", "matter": "买房"})
    assert bad.status_code == 422 and "未知的办理事项类型" in bad.text
    book = write_xlsx(tmp_path / "bidders.xlsx", [{"统一社会信用代码": numbered_uscc(5), "名称": ""},
                                                   {"统一社会信用代码": "", "名称": "不存在的公司"},
                                                   {"统一社会信用代码": "123", "名称": ""}])
    with book.open("rb") as f:
        r = staff.post("/console/checks/upload", data={"matter": "bidding"},
                       files={"file": ("bidders.xlsx", f, "application/octet-stream")})
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "核查编号" and len(rows) == 4
    assert rows[1][3] == numbered_uscc(5) and rows[2][-1] == "未找到该主体"
    assert "统一社会信用代码不正确" in str(rows[3][-1])



def test_the_check_result_workbook_keeps_formulas_as_text(platform: Platform,
                                                          tmp_path: Path) -> None:
    """Issue 20 item 5: a query that looks like a formula comes back as text, not a formula."""
    from openpyxl import Workbook

    formulas = ['=HYPERLINK("http://evil.example/","点此")', "=1+1", "@SUM(1)", "+1+2"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["统一社会信用代码", "名称"])
    for n, formula in enumerate(formulas, start=2):
        sheet.cell(n, 2, formula).data_type = "s"  # typed in as text by whoever made the list
    book.save(tmp_path / "names.xlsx")
    staff = platform.as_role("staff")
    with (tmp_path / "names.xlsx").open("rb") as f:
        r = staff.post("/console/checks/upload", data={"matter": "bidding"},
                       files={"file": ("names.xlsx", f, "application/octet-stream")})
    assert r.status_code == 200, r.text
    import zipfile

    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    result = load_workbook(io.BytesIO(r.content)).active
    assert result is not None
    asked = [row[2] for row in result.iter_rows(min_row=2)]
    assert [c.value for c in asked] == formulas and {c.data_type for c in asked} == {"s"}


def test_a_revoked_token_is_refused_at_the_next_call(platform: Platform) -> None:
    """Tokens are cached for a few seconds per process; revoking one forgets it at once."""
    secret = platform.token("system", FINANCE)
    client = TestClient(platform.client.app)
    client.headers["Authorization"] = f"Bearer {secret}"
    body = {"uscc": numbered_uscc(1), "matter": "bidding"}
    assert client.post("/api/v1/checks", json=body).status_code == 200
    assert client.post("/api/v1/checks", json=body).status_code == 200  # from the cache
    with writing(platform.engine) as conn:
        accounts.revoke_token(conn, Actor("cli:test", "admin", "cli"), secret[:8])
    refused = client.post("/api/v1/checks", json=body)
    assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"


def test_a_hostile_workbook_of_subjects_is_refused_within_bounds(platform: Platform,
                                                                 tmp_path: Path) -> None:
    """The check list is an untrusted workbook too: read in the bounded child process, a
    shared-strings bomb is refused with the bound it passed, and the form stays usable."""
    from ..ingest.test_untrusted_files import MAIN, inline_row, repeated, sheet_of, workbook

    strings = ['<?xml version="1.0"?><sst xmlns="' + MAIN + '">',
               *repeated("<si><t>x</t></si>", 5_000_000), "</sst>"]
    bomb = workbook(tmp_path / "bidders.xlsx", sheet_of([inline_row(1, ["统一社会信用代码"])]), strings)
    staff = platform.as_role("staff")
    with bomb.open("rb") as f:
        r = staff.post("/console/checks/upload", data={"matter": "bidding"},
                       files={"file": ("bidders.xlsx", f, "application/octet-stream")})
    assert r.status_code == 422 and "共享字符串超过 2000000 个" in r.text
    assert "Traceback" not in r.text and "<form" in r.text
