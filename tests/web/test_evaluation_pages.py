"""The evaluation console pages over HTTP: district names, the drill-down from a grade (and an
industry or district) to its subjects, page by page, and the Excel exports of both."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from xinyong.core.audit import AuditEvent
from xinyong.evaluation import pages

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty

FORMULA_NAME = "=HYPERLINK(\"http://evil.example\")厦门测试贸易有限公司"


def _evaluated(platform: Platform) -> None:
    """Subject 1 penalised three times (880, B), 2 and 3 once (960, B), all in 思明区; subject
    3 is named like a spreadsheet formula."""
    rows = [published_penalty(1), published_penalty(2),
            published_penalty(3, **{"行政相对人名称": FORMULA_NAME}),
            published_penalty(1, **{"行政处罚决定书文号": "厦思市监罚〔2026〕101号"}),
            published_penalty(1, **{"行政处罚决定书文号": "厦思市监罚〔2026〕102号"})]
    staff = platform.as_role("staff")
    r = platform.upload(staff, platform.csv("p.csv", rows), department=DEPARTMENT, kind="penalty")
    assert r.status_code == 201 and r.json()["accepted"] == 5, r.text
    assert staff.post("/api/v1/evaluations", json={}).status_code == 200


def test_distribution_names_districts_and_links_each_count(platform: Platform) -> None:
    _evaluated(platform)
    page = platform.as_role("staff").get("/console/evaluations").text
    districts = page[page.index('id="by-district"'):]
    districts = districts[:districts.index("</table>")]
    shown = re.sub(r"<[^>]+>", "", districts)  # the text people read; links carry the code
    assert "思明区" in shown and "350203" not in shown
    assert '/console/evaluations/list?scorecard=public&amp;grade=B&amp;district=350203">3</a>' in districts
    assert '/console/evaluations/list?scorecard=public&amp;grade=B">3</a>' in page
    assert "/console/evaluations/export?scorecard=public&amp;format=xlsx" in page
    assert "/api/v1" not in page and "xinyong evaluate" not in page


def test_drill_down_lists_the_grade_page_by_page_and_is_audited(platform: Platform,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _evaluated(platform)
    staff = platform.as_role("staff")
    listed = staff.get("/console/evaluations/list?scorecard=public&grade=B&district=350203")
    assert listed.status_code == 200
    html = listed.text
    assert 'id="list-total">3<' in html and "B 级（信用风险一般）" in html and "思明区" in html
    assert html.index(numbered_uscc(2)) < html.index(numbered_uscc(1))  # 960 before 880
    assert f'href="/console/evaluations/subjects/{numbered_uscc(1)}?scorecard=public"' in html
    monkeypatch.setattr(pages, "LIST_PAGE_SIZE", 2)
    first = staff.get("/console/evaluations/list?grade=B").text
    second = staff.get("/console/evaluations/list?grade=B&page=2").text
    assert "第 1 / 2 页" in first and 'rel="next"' in first
    assert numbered_uscc(1) in second and numbered_uscc(1) not in first and 'rel="next"' not in second
    assert 'id="list-total">0<' in staff.get("/console/evaluations/list?grade=A").text
    bad = staff.get("/console/evaluations/list?grade=Z")
    assert bad.status_code == 422 and "没有等级 Z" in bad.text
    with platform.engine.connect() as conn:
        reads = conn.execute(select(AuditEvent.detail)
                             .where(AuditEvent.action == "evaluation.list_read")).all()
    assert len(reads) == 4  # the refused grade Z showed nothing and recorded nothing


def test_exports_hold_the_list_and_the_distribution(platform: Platform) -> None:
    _evaluated(platform)
    staff = platform.as_role("staff")
    r = staff.get("/console/evaluations/list/export?scorecard=public&grade=B&district=350203&format=xlsx")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["主体名单"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["统一社会信用代码", "主体名称", "得分", "等级", "等级名称", "行业", "地区", "评价日"]
    assert sorted(r[0] for r in rows[1:]) == sorted(numbered_uscc(n) for n in (1, 2, 3))
    formula = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == numbered_uscc(3))
    assert formula[1].value == FORMULA_NAME and formula[1].data_type == "s" and formula[1].quotePrefix
    assert {r[2] for r in rows[1:]} == {880, 960} and {r[6] for r in rows[1:]} == {"思明区"}
    csv = staff.get("/console/evaluations/list/export?grade=B&format=csv").content.decode("utf-8-sig")
    assert "'" + FORMULA_NAME.replace('"', '""') in csv

    book = openpyxl.load_workbook(io.BytesIO(staff.get("/console/evaluations/export?format=xlsx").content))
    assert book.sheetnames == ["等级分布", "按行业", "按地区"]
    overall = [[c.value for c in row] for row in book["等级分布"].iter_rows()]
    assert overall[0] == ["等级", "名称", "数量", "占比"] and ["B", "信用风险一般", 3, 1.0] in overall
    districts = [[c.value for c in row] for row in book["按地区"].iter_rows()]
    assert districts[1][:4] == ["思明区", 3, 0, 3]
    with platform.engine.connect() as conn:
        exports = conn.execute(select(AuditEvent.detail)
                               .where(AuditEvent.action == "evaluation.list_read")).all()
    assert all('"purpose":"export"' in d for (d,) in exports)
    reporter = platform.as_role("reporter", DEPARTMENT)
    assert reporter.get("/console/evaluations/list/export?grade=B").status_code == 200  # evaluation.read
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(1))
    assert enterprise.get("/console/evaluations/list?grade=B").status_code == 403


def test_a_subjects_result_names_its_industry_district_and_indicators(platform: Platform) -> None:
    _evaluated(platform)
    page = platform.as_role("staff").get(f"/console/evaluations/subjects/{numbered_uscc(1)}").text
    result = page[page.index('id="result"'):page.index("</section>")]
    assert "思明区" in result and "批发和零售业" in result and "350203" not in result
    indicators = page[page.index('id="indicators"'):]
    indicators = re.sub(r"<[^>]+>", "|", indicators[:indicators.index("</table>")])
    assert "近12个月行政处罚" in indicators or "行政处罚" in indicators
    assert "penalties_12m" not in indicators
