"""A form refused for its input comes back (422) with what the person typed and chose, and
the reason beside the field (aria-describedby), never a dead-end error page: the objection,
repair, list decision, check and upload forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty, recent

PDF = b"%PDF-1.4\n%%EOF\n"


def _record(platform: Platform, n: int, days_ago: int = 120) -> int:
    staff = platform.as_role("staff")
    row = published_penalty(n, **{"处罚决定日期": recent(days_ago)})
    r = platform.upload(staff, platform.csv(f"p{n}.csv", [row]), kind="penalty",
                        department=DEPARTMENT, backfill="true")
    assert r.status_code == 201, r.text
    return int(platform.client.get(f"/api/v1/subjects/{numbered_uscc(n)}").json()["records"][0]["id"])


def _beside(html: str, name: str, message: str) -> None:
    """The field `name` is marked invalid and described by the message right after it."""
    field = re.search(rf'<(input|textarea|select)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert field is not None, f"no field {name}"
    assert 'aria-invalid="true"' in field.group(0), field.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', field.group(0))
    assert described is not None, field.group(0)
    error = re.search(rf'id="{re.escape(described.group(1))}"[^>]*>([^<]*)<', html)
    assert error is not None and message in error.group(1), html[:2000]


def test_objection_form_keeps_the_reason(platform: Platform) -> None:
    record = _record(platform, 81, days_ago=30)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(81))
    typed = "太短了          "
    r = enterprise.post("/objections/new", data={"record": str(record), "reason": typed})
    assert r.status_code == 422 and "对信用记录提出异议" in r.text
    assert ">太短了          </textarea>" in r.text
    _beside(r.text, "reason", "异议理由至少")
    reason = "处罚决定已被复议撤销，请撤销公示。"
    r = enterprise.post("/objections/new", data={"record": str(record), "reason": reason},
                        files=[("attachments", ("说明.txt", b"plain text", "text/plain"))])
    assert r.status_code == 422 and "处罚决定已被复议撤销，请撤销公示。</textarea>" in r.text
    _beside(r.text, "attachments", "说明.txt")


def test_repair_form_keeps_the_statement(platform: Platform) -> None:
    record = _record(platform, 82)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(82))
    r = enterprise.post("/repairs", data={"record": str(record), "statement": "罚款已于上月缴清"},
                        files=[("commitment", ("承诺书.pdf", PDF, "application/pdf"))])
    assert r.status_code == 422 and "申请信用修复" in r.text
    assert ">罚款已于上月缴清</textarea>" in r.text
    assert re.search(r'<fieldset id="materials" aria-describedby="materials-error"', r.text)
    assert re.search(r'id="materials-error"[^>]*>缺少必须提交的材料', r.text)
    r = enterprise.post("/repairs", data={"record": str(record), "statement": "   "},
                        files=[("commitment", ("承诺书.pdf", PDF, "application/pdf")),
                               ("performance", ("凭证.pdf", PDF, "application/pdf"))])
    assert r.status_code == 422
    _beside(r.text, "statement", "请填写申请说明")


def test_repair_resubmission_keeps_the_note(platform: Platform) -> None:
    record = _record(platform, 86)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(86))
    no = enterprise.post("/api/v1/repairs", data={"record": str(record), "statement": "已缴清"},
                         files=[("commitment", ("承诺书.pdf", PDF, "application/pdf")),
                                ("performance", ("凭证.pdf", PDF, "application/pdf"))]).json()["case_no"]
    platform.as_role("reviewer").post(f"/api/v1/repairs/{no}/decision", json={
        "action": "return", "reason": "未盖章", "missing": ["盖章的承诺书"]})
    r = enterprise.post(f"/repairs/{no}/materials", data={"statement": "已补盖公章"})
    assert r.status_code == 422 and ">已补盖公章</textarea>" in r.text
    assert re.search(r'id="materials-error"[^>]*>请上传需补正的材料', r.text)


def test_list_decision_form_keeps_the_document_number(platform: Platform) -> None:
    _record(platform, 83, days_ago=30)
    staff = platform.as_role("staff")
    pid = staff.post("/api/v1/list-proposals", json={
        "uscc": numbered_uscc(83), "kind": "tax_major_violation", "facts": "偷税",
        "basis": "第六条"}).json()["id"]
    staff.post(f"/api/v1/list-proposals/{pid}/notice", json={"content": "拟列入"})
    # inside the waiting period: the decision is refused, the number typed is kept
    r = staff.post(f"/console/list-proposals/{pid}/decision", data={"doc_no": "厦税列〔2026〕9号"})
    assert r.status_code == 422 and 'value="厦税列〔2026〕9号"' in r.text
    assert re.search(r'id="form-error"[^>]*>异议期尚未届满', r.text)
    r = staff.post(f"/console/list-proposals/{pid}/withdrawal", data={"reason": "  "})
    assert r.status_code == 422
    _beside(r.text, "reason", "请填写撤回理由")
    # a list with no notice or waiting period (红名单): the empty number is the field's fault
    red = staff.post("/api/v1/list-proposals", json={
        "uscc": numbered_uscc(83), "kind": "tax_a_grade", "facts": "纳税信用A级",
        "basis": "纳税信用管理办法"}).json()["id"]
    r = staff.post(f"/console/list-proposals/{red}/decision", data={"doc_no": "   "})
    assert r.status_code == 422
    _beside(r.text, "doc_no", "请填写认定决定文书号")


def test_check_form_keeps_query_and_matter(platform: Platform) -> None:
    staff = platform.as_role("staff")
    matters = re.findall(r'<option value="([a-z_]+)"', staff.get("/console/checks").text)
    chosen = matters[-1]
    r = staff.post("/console/checks", data={"query": "91350100M000100Y44", "matter": chosen})
    assert r.status_code == 422 and 'value="91350100M000100Y44"' in r.text
    assert f'<option value="{chosen}" selected>' in r.text
    _beside(r.text, "query", "统一社会信用代码不正确")
    r = staff.post("/console/checks/upload", data={"matter": chosen},
                   files={"file": ("名单.csv", b"a,b\n", "text/csv")})
    assert r.status_code == 422 and "请上传 Excel" in r.text
    _beside(r.text, "file", "请上传 Excel")
    assert re.search(rf'<select name="matter" id="upload_matter"[^>]*>.*?<option value="{chosen}" selected>',
                     r.text, re.S)


def test_upload_form_keeps_kind_department_and_correction(platform: Platform) -> None:
    staff = platform.as_role("staff")
    path = platform.csv("only-header.csv", [])
    path.write_text("行政相对人名称,处罚决定日期\n", "utf-8")
    with path.open("rb") as f:
        r = staff.post("/console/upload", data={"kind": "penalty", "department": DEPARTMENT,
                                                "correction": "true"},
                       files={"file": ("only-header.csv", f, "text/csv")})
    assert r.status_code == 422 and "上传报送文件" in r.text
    assert '<option value="penalty" selected>' in r.text
    assert f'<option value="{DEPARTMENT}" selected>' in r.text
    assert re.search(r'id="correction" value="true" checked', r.text)
    assert "only-header.csv" in r.text
    _beside(r.text, "file", "")
    with path.open("rb") as f:
        r = staff.post("/console/upload", data={"kind": "penalty", "department": "不存在的局"},
                       files={"file": ("only-header.csv", f, "text/csv")})
    assert r.status_code == 422
    _beside(r.text, "department", "不存在的局")


def test_a_refusal_that_is_not_about_input_is_still_an_error_page(platform: Platform) -> None:
    record = _record(platform, 84, days_ago=30)
    other = platform.as_role("enterprise", subject=numbered_uscc(85))
    r = other.post("/objections/new", data={"record": str(record), "reason": "x" * 20})
    assert r.status_code == 403 and isinstance(other, TestClient)
