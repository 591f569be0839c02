"""The public portal through the real HTTP app: its configuration (data/portal.yaml, overridden
by the locality's file), the home page's figures and entrances, the 异议 and 信用修复
entrances, the 双公示 listing's search, filters, count and export, the offline API docs, and
page validation errors in Chinese."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xinyong.core.errors import RuleDataError
from xinyong.core.settings import get_settings
from xinyong.web import portal
from xinyong.web.export import csv_cell
from xinyong.web.templating import templates

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty, recent


def _load(p: Platform, rows: list[dict[str, str]]) -> None:
    staff = p.as_role("staff")
    rows = [{**r, "处罚机关": DEPARTMENT, "数据来源单位": DEPARTMENT} for r in rows]
    r = p.upload(staff, p.csv("load.csv", rows), department=DEPARTMENT, kind="penalty")
    assert r.status_code == 201, r.text


def _three(p: Platform) -> None:
    """Two 一般 penalties and one 严重, decided 30, 20 and 10 days ago."""
    _load(p, [
        published_penalty(1),
        published_penalty(2, **{"行政相对人名称": "厦门鹭岛茶叶有限公司", "处罚决定日期": recent(20)}),
        published_penalty(3, **{"处罚类别": "吊销许可证件", "处罚内容": "吊销食品经营许可证",
                                "罚款金额（万元）": "", "处罚决定日期": recent(10)}),
    ])


# --- configuration -----------------------------------------------------------------------

def test_the_shipped_portal_is_the_demo_city() -> None:
    shipped = portal.current_portal()
    assert (shipped.name, shipped.city) == ("信用厦门", "厦门市")
    assert "上海" not in shipped.objection_rules


def test_a_locality_file_overrides_the_shipped_portal(platform: Platform, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "portal.yaml").write_text(
        "name: 信用泉州\ncity: 泉州市\nfull_name: 泉州市公共信用信息平台\n"
        "host: 泉州市发展和改革委员会\nnotice: ''\n"
        "objection_rules: 《泉州市公共信用信息异议处理办法》\n"
        "filing:\n  - {text: 闽ICP备12345678号, url: 'https://beian.miit.gov.cn/'}\n", "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    home = platform.client.get("/").text
    assert "<title>首页 · 信用泉州</title>" in home and "泉州市" in home
    assert "主办单位：泉州市发展和改革委员会" in home
    assert '<a href="https://beian.miit.gov.cn/" rel="noopener">闽ICP备12345678号</a>' in home
    assert 'class="foot-notice"' not in home and "信用厦门" not in home
    assert "12345（政务服务便民热线）" in home  # what the locality did not set stays
    assert "《泉州市公共信用信息异议处理办法》" in platform.client.get("/objections").text


@pytest.mark.parametrize(("extra", "reason"), [
    ("colour: red\n", "未知的配置项"),
    ("name: ''\n", "name：应为非空文字"),
    ("filing:\n  - {text: 备案, url: 'beian.miit.gov.cn'}\n", "应以 https:// 或 http:// 开头"),
])
def test_a_bad_portal_file_names_the_file_the_entry_and_the_reason(tmp_path: Path, extra: str,
                                                                   reason: str) -> None:
    (tmp_path / "portal.yaml").write_text(extra, "utf-8")
    with pytest.raises(RuleDataError) as failed:
        portal.current_portal(tmp_path)
    assert "门户配置文件 portal.yaml" in str(failed.value) and str(tmp_path) in str(failed.value)
    assert reason in str(failed.value)


# --- home and entrances ------------------------------------------------------------------

def test_home_names_the_city_links_the_entrances_and_counts_live(platform: Platform) -> None:
    empty = platform.client.get("/").text
    assert re.search(r'id="figure-records"><b>0</b>', empty)
    platform.client.app.state.portal_figures = None  # the figures are reused for a minute
    _three(platform)
    home = platform.client.get("/")
    assert home.status_code == 200 and "<script" not in home.text
    assert "<h1>信用厦门</h1>" in home.text and "厦门市公共信用信息平台" in home.text
    for href in ("/publicity", "/lists", "/objections", "/repairs"):
        assert f'href="{href}"' in home.text
    assert 'action="/objections"' in home.text and 'action="/repairs"' in home.text
    figures = dict(re.findall(r'id="figure-(\w+)"><b>([\d,]+)</b>', home.text))
    assert figures == {"records": "3", "departments": "1", "publicity": "3"}


@pytest.mark.parametrize(("path", "prefix"), [("/objections", "YY"), ("/repairs", "XF")])
def test_objection_and_repair_entrances_look_cases_up(platform: Platform, path: str,
                                                      prefix: str) -> None:
    c = platform.client
    page = c.get(path)
    assert page.status_code == 200 and 'name="case"' in page.text and "如何" in page.text
    wrong = c.get(path, params={"case": "12345"})
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text
    assert f"案件编号应为 {prefix}" in wrong.text and 'value="12345"' in wrong.text
    case = f"{prefix.lower()}20260105abcdefgh"
    found = c.get(path, params={"case": case}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"{path}/{case.upper()}"
    missing = c.get(found.headers["location"])
    assert missing.status_code == 404 and "未找到" in missing.text


def test_a_repair_form_without_a_record_goes_to_the_entrance(platform: Platform) -> None:
    enterprise = platform.as_role("enterprise", subject=numbered_uscc(1))
    r = enterprise.get("/repairs/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/repairs"


# --- the 双公示 listing --------------------------------------------------------------------

def _docs(html: str) -> list[str]:
    return re.findall(r'class="doc-no">([^<]+)<', html)


def test_listing_searches_by_document_number_or_name_and_filters_by_tier(platform: Platform) -> None:
    _three(platform)
    c = platform.client
    everything = c.get("/publicity").text
    assert _docs(everything) == ["厦思市监罚〔2026〕3号", "厦思市监罚〔2026〕2号", "厦思市监罚〔2026〕1号"]
    assert "共 <strong>3</strong> 条" in everything
    assert _docs(c.get("/publicity", params={"q": "〔2026〕2号"}).text) == ["厦思市监罚〔2026〕2号"]
    by_name = c.get("/publicity", params={"q": "鹭岛茶叶"}).text
    assert _docs(by_name) == ["厦思市监罚〔2026〕2号"] and "共 <strong>1</strong> 条" in by_name
    assert _docs(c.get("/publicity", params={"q": "100%"}).text) == []  # % is a character
    serious = c.get("/publicity", params={"tier": "严重"}).text
    assert _docs(serious) == ["厦思市监罚〔2026〕3号"]
    assert '<option selected>严重</option>' in serious
    ordinary = c.get("/publicity", params={"tier": "一般", "since": recent(25)}).text
    assert _docs(ordinary) == ["厦思市监罚〔2026〕2号"]


def test_a_reversed_or_unreadable_date_range_says_why(platform: Platform) -> None:
    _three(platform)
    reversed_ = platform.client.get("/publicity", params={"since": recent(5), "until": recent(25)})
    assert reversed_.status_code == 422
    assert f"截止日期 {recent(25)} 早于起始日期 {recent(5)}" in reversed_.text
    assert 'id="until" value="' + recent(25) in reversed_.text  # what was typed stays
    assert _docs(reversed_.text) == []
    unreadable = platform.client.get("/publicity", params={"since": "2026-13-45"})
    assert unreadable.status_code == 422 and "“2026-13-45”不是有效的日期" in unreadable.text


def test_export_holds_what_the_filters_select_with_formulas_kept_as_text(platform: Platform) -> None:
    formula = "=HYPERLINK(\"http://example.com\",\"点此\")"
    _load(platform, [published_penalty(1, **{"行政相对人名称": "厦门测试贸易有限公司"}),
                     published_penalty(2, **{"行政处罚决定书文号": formula})])
    c = platform.client
    listing = c.get("/publicity").text
    assert 'href="/publicity/export?kind=penalty' not in listing  # no filter typed: none added
    assert 'id="export-csv" href="/publicity/export?format=csv"' in listing
    got = c.get("/publicity/export", params={"format": "csv", "q": "HYPERLINK"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''%E5%8F%8C%E5%85%AC%E7%A4%BA" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["行政相对人", "统一社会信用代码", "文书号"] and len(rows) == 2
    assert rows[1][2] == "'" + formula
    xlsx = c.get("/publicity/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = {cell.value: cell.data_type for row in sheet.iter_rows(min_row=2) for cell in row}
    assert cells[formula] == "s" and "厦门测试贸易有限公司" in cells


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+86", "'+86"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("厦门", "厦门"), (None, ""), ("a=b", "a=b"),
])
def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(value: str | None,
                                                               written: str) -> None:
    assert csv_cell(value) == written


# --- API docs, errors, times -------------------------------------------------------------

def test_api_docs_load_nothing_from_another_host(platform: Platform) -> None:
    c = platform.client
    docs = c.get("/api/v1/docs")
    assert docs.status_code == 200
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w", docs.text) == []
    for asset in re.findall(r'(?:src|href)="([^"]+)"', docs.text):
        assert asset.startswith("/static/"), asset
        served = c.get(asset)
        assert served.status_code == 200 and len(served.content) > 100, asset
    assert "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert c.get("/api/v1/openapi.json").json()["info"]["title"].startswith("xinyong")


def test_a_page_validation_error_is_chinese_and_the_api_keeps_field_names(platform: Platform) -> None:
    page = platform.client.get("/publicity", params={"page": "1001"})
    assert page.status_code == 422 and "页码不能大于 1000。" in page.text
    assert "Input should" not in page.text and "page：" not in page.text
    api = platform.client.get("/api/v1/publicity", params={"limit": "100000"})
    assert api.status_code == 422 and api.json()["code"] == "invalid_input"
    assert "limit" in api.json()["message"]


def test_page_times_are_beijing_time() -> None:
    day = templates().env.filters["day"]
    assert day(datetime(2026, 1, 1, 16, 30)) == "2026-01-02 00:30"  # stored as naive UTC
    assert day("2026-01-01T16:30:00") == "2026-01-02 00:30"
    assert day("2026-01-01") == "2026-01-01"


def test_a_message_about_an_uploaded_file_names_it_as_the_person_did(platform: Platform) -> None:
    staff = platform.as_role("staff")
    empty = platform.tmp / "空的处罚文件.csv"
    empty.write_bytes(b"")
    r = platform.upload(staff, empty, department=DEPARTMENT, kind="penalty")
    assert r.status_code == 422, r.text
    assert "空的处罚文件.csv" in r.json()["message"]
    assert not re.search(r"[0-9a-f]{32}", r.json()["message"])
    uploads = get_settings().files_dir / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []  # nothing left behind


def test_an_unrecognised_header_asks_for_the_kind_without_a_command_flag(platform: Platform) -> None:
    staff = platform.as_role("staff")
    odd = platform.tmp / "其他.csv"
    odd.write_text("甲,乙\n1,2\n", "utf-8")
    r = platform.upload(staff, odd, department=DEPARTMENT)
    assert r.status_code == 422 and "请指定信息类别" in r.json()["message"]
    assert "--" not in r.json()["message"]


def test_json_on_a_page_writes_chinese_as_itself() -> None:
    rendered = templates().env.from_string("{{ x | tojson }}").render(x={"部门": "厦门市<税务局>"})
    assert rendered == '{"部门": "厦门市\\u003c税务局\\u003e"}'  # still safe in HTML
