"""Leaving a list by repair through the HTTP API and the pages: the entry's eligibility (with
why), the application with the list kind's materials (`entry` instead of `record`), acceptance
and approval — the entry leaves the subject's lists the same day; refusals change nothing.
Also `xinyong repair eligibility --entry … --json`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from xinyong.core.audit import SYSTEM
from xinyong.core.db import writing
from xinyong.lists import service as lists

from ..factories import numbered_uscc
from ..test_cli import xinyong
from .conftest import DEPARTMENT, Platform, published_penalty

PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = date.today()


def listed(platform: Platform, n: int, days_ago: int, kind: str = "market_serious_illegal") -> str:
    """Subject n (with a penalty) listed by the workflow `days_ago` days ago; the entry's ref."""
    reporter = platform.as_role("reporter", DEPARTMENT)
    r = platform.upload(reporter, platform.csv(f"p{n}.csv", [published_penalty(n)]))
    assert r.status_code == 201, r.text
    k = lists.usable_kind(kind)
    proposed = TODAY - timedelta(days=days_ago + 20)
    with writing(platform.engine) as conn:
        pid = lists.propose(conn, SYSTEM, k, numbered_uscc(n), "吊销许可证件", "总局令第44号", proposed)
        if k.notice_required:
            lists.notify(conn, SYSTEM, pid, proposed, "拟列入")
        return f"L{lists.decide(conn, SYSTEM, pid, TODAY - timedelta(days=days_ago), f'列〔2025〕{n}号')}"


def files(*extra: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(code, (f"{code}.pdf", PDF, "application/pdf"))
            for code in ("commitment", "performance", *extra)]


def apply(client: TestClient, entry: str, file_list: Any = None) -> Any:
    return client.post("/api/v1/repairs", data={"entry": entry, "statement": "已整改并缴清罚款"},
                       files=file_list if file_list is not None else files())


def lists_of(platform: Platform, n: int) -> list[str]:
    return [e["kind"] for e in platform.client.get(f"/api/v1/subjects/{numbered_uscc(n)}").json()["lists"]]


def test_leave_a_list_from_eligibility_to_approval(platform: Platform) -> None:
    entry = listed(platform, 21, 400)
    assert lists_of(platform, 21) == ["market_serious_illegal"]
    found = platform.client.get(f"/api/v1/list-entries/{entry}/repair-eligibility")
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["entry"] == entry and body["eligible"] is True and "列入已满1年" in body["reasons"][0]
    assert body["to_prove"]
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(21))
    page = enterprise.get(f"/repairs/new?entry={entry}")
    assert page.status_code == 200 and "移出严重失信主体名单" in page.text
    assert page.text.index('id="eligibility"') < page.text.index('id="repair-form"')
    assert f'name="entry" value="{entry}"' in page.text

    r = apply(enterprise, entry)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["kind"] == "list_exit" and case["entry"]["ref"] == entry and case["record"] is None
    no = case["case_no"]
    public = platform.client.get(f"/api/v1/repairs/{no}").json()
    assert public["statement"] is None and public["entry"]["kind_name"] == "严重违法失信名单"
    assert platform.client.get(f"/repairs/{no}").status_code == 200
    reviewer = platform.as_role("reviewer")
    queue = reviewer.get("/api/v1/repairs").json()["items"]
    assert [(q["case_no"], q["kind"], q["entry"]) for q in queue] == [(no, "list_exit", entry)]
    assert reviewer.get(f"/console/repairs/{no}").status_code == 200
    wrong = reviewer.post(f"/api/v1/repairs/{no}/decision", json={"action": "approve", "reason": "同意"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "illegal_transition"
    assert lists_of(platform, 21) == ["market_serious_illegal"]  # nothing changed
    for action in ("accept", "approve"):
        r = reviewer.post(f"/api/v1/repairs/{no}/decision", json={"action": action, "reason": "准予移出"})
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["entry"]["ended_on"] == TODAY.isoformat()
    assert lists_of(platform, 21) == []  # off the list the same day
    again = platform.client.get(f"/api/v1/list-entries/{entry}/repair-eligibility").json()
    assert again["eligible"] is False and "经信用修复移出" in again["reasons"][0]
    twice = reviewer.post(f"/api/v1/repairs/{no}/decision", json={"action": "approve", "reason": "再次"})
    assert twice.status_code == 422 and twice.json()["code"] == "illegal_transition"


def test_refusals_through_the_api(platform: Platform) -> None:
    young = listed(platform, 22, 60)
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(22))
    r = apply(enterprise, young)
    assert r.status_code == 422 and r.json()["code"] == "not_eligible"
    assert "列入满1年后方可申请" in r.json()["message"]
    page = enterprise.get(f"/repairs/new?entry={young}")
    assert 'data-eligible="false"' in page.text and 'id="repair-form"' not in page.text
    other = platform.as_role("enterprise", subject=numbered_uscc(23))
    r = apply(other, young)
    assert r.status_code == 403 and r.json()["code"] == "not_own_subject"
    both = enterprise.post("/api/v1/repairs", data={"entry": young, "record": "1", "statement": "x"},
                           files=files())
    assert both.status_code == 422
    missing = platform.client.get("/api/v1/list-entries/L999999/repair-eligibility")
    assert missing.status_code == 404 and missing.json()["code"] == "entry_not_found"
    bad = platform.client.get("/api/v1/list-entries/X1/repair-eligibility")
    assert bad.status_code == 422
    tax = listed(platform, 24, 30, kind="tax_major_violation")
    taxpayer = platform.as_role("enterprise", subject=numbered_uscc(24))
    r = apply(taxpayer, tax)
    assert r.status_code == 422 and r.json()["code"] == "materials_missing"
    assert "缴清税款" in r.json()["message"]
    r = apply(taxpayer, tax, files("tax_cleared"))
    assert r.status_code == 201, r.text
    assert platform.as_role("reviewer").get("/api/v1/repairs").json()["items"][0]["entry"] == tax


def test_cli_eligibility_of_an_entry(platform: Platform, engine: Engine) -> None:
    entry = listed(platform, 25, 100)
    r = xinyong("repair", "eligibility", "--entry", entry, "--on", TODAY.isoformat(), "--json", check=True)
    found = json.loads(r.stdout)
    assert set(found) == {"entry", "eligible", "eligible_from", "reasons"}
    assert found["entry"] == entry and found["eligible"] is False
    assert found["eligible_from"] and "列入满1年后方可申请" in found["reasons"][0]
    later = xinyong("repair", "eligibility", "--entry", entry, "--on", found["eligible_from"], "--json",
                    check=True)
    assert json.loads(later.stdout)["eligible"] is True
    assert xinyong("repair", "eligibility", "--json").returncode != 0
