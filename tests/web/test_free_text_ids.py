"""Resident ID numbers written into free text (a 违法事实 naming the person) are masked in
every public output and counted in the receipt (issue 20 item 6)."""

from __future__ import annotations

from ..factories import numbered_uscc, resident_id
from .conftest import DEPARTMENT, Platform, published_penalty

PERSON = resident_id("350203", "19800101", "123")
MASKED = f"350***********{PERSON[-4:]}"
# 18 digits that are no resident ID (wrong check character): a document or account number.
ACCOUNT = PERSON[:17] + ("0" if PERSON[-1] != "0" else "1")


def test_an_identity_number_in_the_facts_is_masked_on_the_portal_and_in_the_api(
        platform: Platform) -> None:
    facts = f"当事人雇员张三（身份证号码{PERSON}）经手销售，货款转入账户{ACCOUNT}"
    staff = platform.as_role("staff")
    rows = [published_penalty(1, **{"违法事实": facts, "备注": f"身份证：{PERSON}",
                                    "处罚机关": DEPARTMENT, "数据来源单位": DEPARTMENT}),
            published_penalty(2, **{"处罚机关": DEPARTMENT, "数据来源单位": DEPARTMENT})]
    r = platform.upload(staff, platform.csv("facts.csv", rows), department=DEPARTMENT, kind="penalty")
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["accepted"] == 2 and receipt["free_text_ids"] == 1

    c = platform.client
    page = c.get(f"/subjects/{numbered_uscc(1)}")
    assert page.status_code == 200
    assert PERSON not in page.text and MASKED in page.text and ACCOUNT in page.text
    api = c.get(f"/api/v1/subjects/{numbered_uscc(1)}")
    assert api.status_code == 200
    assert PERSON not in api.text and MASKED in api.text and ACCOUNT in api.text
    history = staff.get(f"/api/v1/subjects/{numbered_uscc(1)}/history")
    assert history.status_code == 200 and PERSON not in history.text and MASKED in history.text
    listing = c.get("/api/v1/publicity")
    assert listing.status_code == 200 and PERSON not in listing.text
