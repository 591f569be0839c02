"""The JSON API through the real app over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from ..factories import numbered_uscc, penalty, resident_id
from .conftest import DEPARTMENT, OTHER_DEPARTMENT, Platform, published_penalty, recent


def _load(p: Platform, rows: list[dict[str, str]], department: str = DEPARTMENT) -> dict:
    staff = p.as_role("staff")
    rows = [{**r, "处罚机关": department, "数据来源单位": department} for r in rows]  # its own
    r = p.upload(staff, p.csv("load.csv", rows), department=department, kind="penalty")
    assert r.status_code == 201, r.text
    return r.json()


def test_health_and_openapi(platform: Platform) -> None:
    assert platform.client.get("/healthz").json()["status"] == "ok"
    assert platform.client.get("/healthz/db").json()["database"] == "ok"
    doc = platform.client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/subjects", "/api/v1/subjects/{uscc}", "/api/v1/batches",
                 "/api/v1/batches/{batch_id}", "/api/v1/batches/{batch_id}/errors", "/api/v1/catalog"):
        assert path in doc["paths"], path


def test_search_by_name_former_name_and_code(platform: Platform) -> None:
    _load(platform, [published_penalty(1, **{"行政相对人名称": "厦门市思明区小米茶叶有限公司"}),
                     published_penalty(2, **{"行政相对人名称": "厦门茅台酒业有限公司"})])
    c = platform.client
    hits = c.get("/api/v1/subjects", params={"q": "小米"}).json()
    assert [h["name"] for h in hits["items"]] == ["厦门市思明区小米茶叶有限公司"]
    assert hits["has_more"] is False and hits["limit"] == 20
    # one character works too
    assert any(h["uscc"] == numbered_uscc(2) for h in c.get("/api/v1/subjects?q=茅").json()["items"])
    by_code = c.get("/api/v1/subjects", params={"q": numbered_uscc(2).lower()}).json()
    assert [h["name"] for h in by_code["items"]] == ["厦门茅台酒业有限公司"]


def test_search_pages_and_validates(platform: Platform) -> None:
    _load(platform, [published_penalty(n) for n in range(1, 6)])
    c = platform.client
    first = c.get("/api/v1/subjects?q=测试贸易&limit=2").json()
    second = c.get("/api/v1/subjects?q=测试贸易&limit=2&offset=2").json()
    last = c.get("/api/v1/subjects?q=测试贸易&limit=2&offset=4").json()
    names = [h["name"] for h in first["items"] + second["items"] + last["items"]]
    assert len(set(names)) == 5 and first["has_more"] and not last["has_more"]
    bad = c.get("/api/v1/subjects?q=测试&limit=1000")
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "invalid_input" and "limit" in body["message"] and body["message_en"]
    assert c.get("/api/v1/subjects").status_code == 422  # q is required


def test_subject_shows_only_records_in_publicity_with_masked_numbers(platform: Platform) -> None:
    uscc = numbered_uscc(7)
    minor = penalty(**{"行政相对人代码_1(统一社会信用代码)": uscc, "行政相对人名称": "厦门七号有限公司",
                       "行政处罚决定书文号": "厦思市监罚〔2026〕70号", "处罚决定日期": recent(20),
                       "处罚有效期": recent(-30)})  # 警告 + 0.2万: 轻微, never published
    old = published_penalty(7, **{"行政相对人名称": "厦门七号有限公司",
                                  "行政处罚决定书文号": "厦思市监罚〔2024〕71号",
                                  "处罚决定日期": recent(800), "处罚有效期": recent(700)})
    current = published_penalty(7, **{"行政相对人名称": "厦门七号有限公司",
                                      "法定代表人证件号码": resident_id()})
    _load(platform, [minor, old, current])
    view = platform.client.get(f"/api/v1/subjects/{uscc}")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["subject"]["name"] == "厦门七号有限公司"
    assert [r["doc_no"] for r in body["records"]] == ["厦思市监罚〔2026〕7号"]
    record = body["records"][0]
    assert record["publicity"]["tier"] == "一般" and record["publicity"]["start"] == recent(30)
    assert resident_id() not in view.text
    shown = {f["name"]: f["value"] for f in record["fields"]}
    assert shown["legal_rep_id_number"].startswith("350") and "*" in shown["legal_rep_id_number"]


def test_subject_errors_are_json_with_stable_codes(platform: Platform) -> None:
    c = platform.client
    missing = c.get(f"/api/v1/subjects/{numbered_uscc(99)}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert missing.json()["message_en"] == "Not found."
    bad = c.get("/api/v1/subjects/12345")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_uscc"
    assert c.get("/api/v1/nowhere").json()["code"] == "not_found"


def test_catalog(platform: Platform) -> None:
    items = platform.client.get("/api/v1/catalog").json()["items"]
    assert {"penalty", "licence"} <= {i["code"] for i in items}
    penalty_item = platform.client.get("/api/v1/catalog/penalty").json()
    assert any(f["label"] == "行政处罚决定书文号" and f["required"] for f in penalty_item["fields"])
    assert platform.client.get("/api/v1/catalog/nothing").status_code == 404


def test_reporter_uploads_for_own_department_and_reads_error_report(platform: Platform) -> None:
    reporter = platform.as_role("reporter", DEPARTMENT)
    rows = [published_penalty(1), published_penalty(2, **{"行政相对人代码_1(统一社会信用代码)": "123"})]
    r = platform.upload(reporter, platform.csv("bad.csv", rows))
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["department"] == DEPARTMENT and receipt["rows"] == 2
    assert receipt["accepted"] == 1 and receipt["rejected"] == 1
    assert receipt["error_report_url"] == f"/api/v1/batches/{receipt['batch']}/errors"
    report = reporter.get(receipt["error_report_url"])
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(lines) == 2 and "123" in lines[1]
    batch = reporter.get(f"/api/v1/batches/{receipt['batch']}").json()
    assert batch["rejected"] == 1 and batch["has_error_report"] is True
    assert batch["submitted_by"].startswith("reporter")
    listed = reporter.get("/api/v1/batches").json()
    assert [b["id"] for b in listed["items"]] == [receipt["batch"]]
    # the new subject is searchable at once
    assert platform.client.get("/api/v1/subjects?q=第1测试").json()["items"]


def test_reporter_cannot_see_or_submit_for_another_department(platform: Platform) -> None:
    other = _load(platform, [published_penalty(3)], department=OTHER_DEPARTMENT)
    reporter = platform.as_role("reporter", DEPARTMENT)
    # Another department's batch looks like a missing one (its id reveals nothing), and the
    # attempt is audited as a refusal.
    missing = reporter.get("/api/v1/batches/999999")
    for path in (f"/api/v1/batches/{other['batch']}", f"/api/v1/batches/{other['batch']}/errors"):
        r = reporter.get(path)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
        assert r.json()["message"] == missing.json()["message"].replace("999999", str(other["batch"]))
    with platform.engine.connect() as conn:
        refusals = conn.execute(text("SELECT detail FROM audit_event WHERE action = 'access.denied'"
                                     )).scalars().all()
    assert len(refusals) == 2 and all("other_department" in d for d in refusals)
    r = reporter.get(f"/api/v1/batches?department={OTHER_DEPARTMENT}")
    assert r.status_code == 403 and r.json()["code"] == "other_department"
    assert reporter.get("/api/v1/batches").json()["items"] == []
    r = platform.upload(reporter, platform.csv("x.csv", [published_penalty(4)]),
                        department=OTHER_DEPARTMENT)
    assert r.status_code == 403
    with platform.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM batch")).scalar_one() == 1


def test_upload_refuses_unreadable_files_clearly(platform: Platform) -> None:
    reporter = platform.as_role("reporter", DEPARTMENT)
    path = platform.tmp / "notes.pdf"
    path.write_bytes(b"%PDF-1.4")
    r = platform.upload(reporter, path)
    assert r.status_code == 422 and r.json()["code"] == "file_type"
    empty = platform.tmp / "empty.csv"
    empty.write_text("行政相对人名称,行政处罚决定书文号\n", encoding="utf-8")
    r = platform.upload(reporter, empty, kind="penalty")
    assert r.status_code == 422 and r.json()["code"] == "bad_file"


def test_system_token_submits_and_staff_reads_history(platform: Platform) -> None:
    secret = platform.token("system", DEPARTMENT)
    client = platform.client
    path = platform.csv("sys.csv", [published_penalty(5)])
    with path.open("rb") as f:
        r = client.post("/api/v1/batches", files={"file": ("sys.csv", f, "text/csv")},
                        headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 201, r.text
    assert r.json()["department"] == DEPARTMENT
    bad = client.get("/api/v1/batches", headers={"Authorization": "Bearer xy_nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "token_unknown"
    staff = platform.as_role("staff")
    history = staff.get(f"/api/v1/subjects/{numbered_uscc(5)}/history").json()
    assert history["records"][0]["submitted_by"] == f"token:{secret[:8]}"
    assert history["records"][0]["publicity"]["published"] is True


def test_session_sign_in_out_and_csrf(platform: Platform) -> None:
    username = platform.account("staff")
    client = platform.client
    wrong = client.post("/api/v1/session", json={"username": username, "password": "nope-nope-nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "authentication_failed"
    csrf = platform.sign_in(username)
    me = client.get("/api/v1/me").json()
    assert me["name"] == username and me["role"] == "staff" and me["csrf_token"] == csrf
    assert "subject.read_full" in me["permissions"]
    path = platform.csv("c.csv", [published_penalty(1)])
    # an unsafe request with the cookie but without the token is refused
    with path.open("rb") as f:
        r = client.post("/api/v1/batches", files={"file": ("c.csv", f, "text/csv")},
                        data={"department": DEPARTMENT})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/me").json()["kind"] == "anonymous"
