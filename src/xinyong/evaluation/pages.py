"""The console's evaluation pages: the distribution per grade (overall, by industry and by
district, with district names) with the recent runs and a run form; from any count the list of
subjects of that grade (and industry or district); both exported to Excel (`core.cells`); and
one subject's result with its indicators, points, reasons and grade history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts.rules import Principal
from xinyong.core import cells
from xinyong.core.dates import beijing_text
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.evaluation import rules, service
from xinyong.web.security import actor, engine_of, requires
from xinyong.web.templating import render

router = APIRouter()


ListFilter = Annotated[str, Query(max_length=8)]
LIST_PAGE_SIZE = 50
EXPORT_LIMIT = 50_000  # subjects in one export


def _distribution(request: Request, scorecard: str) -> dict[str, Any]:
    with engine_of(request).connect() as conn:
        views = {by: service.distribution(conn, scorecard, by) for by in ("industry", "district")}
        runs = service.runs(conn, scorecard, limit=10)
    for run in runs:  # stored as naive UTC, read as Beijing time
        for key in ("started_at", "finished_at"):
            run[f"{key}_text"] = beijing_text(datetime.fromisoformat(run[key])) if run[key] else "—"
    return {"view": views["industry"], "districts": views["district"]["groups"], "runs": runs}


@router.get("/console/evaluations", response_class=HTMLResponse)
def distribution_page(request: Request, scorecard: Annotated[str, Query(max_length=64)] = "public",
                      uscc: Annotated[str, Query(max_length=40)] = "",
                      _: Principal = requires("evaluation.read")) -> Response:
    if uscc.strip():
        return RedirectResponse(f"/console/evaluations/subjects/{uscc.strip().upper()}?scorecard={scorecard}",
                                303)
    return render(request, "evaluation/distribution.html", {
        **_distribution(request, scorecard), "unknown": service.UNKNOWN,
        "scorecards": [(code, rules.cached(code).name) for code in rules.available()],
        "scorecard": scorecard, "today": date.today()})


@router.get("/console/evaluations/list", response_class=HTMLResponse)
def list_page(request: Request, scorecard: Annotated[str, Query(max_length=64)] = "public",
              grade: ListFilter = "", industry: ListFilter = "", district: ListFilter = "",
              page: Annotated[int, Query(ge=1, le=10_000)] = 1,
              principal: Principal = requires("evaluation.read")) -> HTMLResponse:
    found = service.graded_subjects(
        engine_of(request), actor(request, principal), scorecard, grade=grade or None,
        industry=industry or None, district=district or None, limit=LIST_PAGE_SIZE,
        offset=(page - 1) * LIST_PAGE_SIZE)
    return render(request, "evaluation/list.html", {
        "found": found, "page": page, "has_more": page * LIST_PAGE_SIZE < found["total"],
        "pages": max(1, -(-found["total"] // LIST_PAGE_SIZE)), "scorecard": scorecard,
        "filters": {"scorecard": scorecard, "grade": grade, "industry": industry, "district": district}})


def _groups_sheet(title: str, view: dict[str, Any], groups: list[dict[str, Any]]) -> cells.Sheet:
    grades = [g["grade"] for g in view["grades"]]
    return cells.Sheet(title, [title[1:3], "合计", *grades, *(f"{g}占比" for g in grades)],
                       [[row["name"], row["total"], *(g["count"] for g in row["grades"]),
                         *(g["share"] for g in row["grades"])] for row in groups])


@router.get("/console/evaluations/export")
def distribution_export(request: Request, scorecard: Annotated[str, Query(max_length=64)] = "public",
                        format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
                        _: Principal = requires("evaluation.read")) -> Response:
    """The distribution (overall, by industry, by district) as a workbook; CSV: overall only."""
    found = _distribution(request, scorecard)
    view = found["view"]
    overall = cells.Sheet("等级分布", ["等级", "名称", "数量", "占比"],
                          [[g["grade"], g["name"], g["count"], g["share"]] for g in view["grades"]])
    sheets = [overall, _groups_sheet("按行业", view, view["groups"]),
              _groups_sheet("按地区", view, found["districts"])]
    body, media, headers = cells.download(sheets, format, f"综合评价等级分布-{view['as_of'] or '未评价'}")
    return Response(body, media_type=media, headers=headers)


@router.get("/console/evaluations/list/export")
def list_export(request: Request, scorecard: Annotated[str, Query(max_length=64)] = "public",
                grade: ListFilter = "", industry: ListFilter = "", district: ListFilter = "",
                format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
                principal: Principal = requires("evaluation.read")) -> Response:
    """The drill-down's subjects (all of them, up to `EXPORT_LIMIT`), audited as an export."""
    found = service.graded_subjects(
        engine_of(request), actor(request, principal), scorecard, grade=grade or None,
        industry=industry or None, district=district or None, limit=EXPORT_LIMIT, purpose="export")
    header = ["统一社会信用代码", "主体名称", "得分", "等级", "等级名称", "行业", "地区", "评价日"]
    sheet = cells.Sheet("主体名单", header,
                        [[i["uscc"], i["name"], i["score"], i["grade"], i["grade_name"], i["industry_name"],
                          i["district_name"], i["as_of"]] for i in found["items"]])
    title = "-".join(x for x in (found["grade"] and f"{found['grade']}级", found["industry_name"],
                                 found["district_name"]) if x)
    body, media, headers = cells.download([sheet], format, f"综合评价主体名单-{title or '全部'}")
    return Response(body, media_type=media, headers=headers)


@router.post("/console/evaluations")
def run_form(request: Request, scorecard: Annotated[str, Form(max_length=64)] = "public",
             as_of: Annotated[str, Form(max_length=10)] = "", full: Annotated[str, Form(max_length=8)] = "",
             principal: Principal = requires("evaluation.run")) -> RedirectResponse:
    day = None
    if as_of.strip():
        try:
            day = date.fromisoformat(as_of.strip())
        except ValueError:
            raise InvalidInput(f"评价日应为日期 YYYY-MM-DD，而不是 {as_of[:10]}",
                               code=CoreError.BAD_DATE) from None
    service.evaluate(engine_of(request), actor(request, principal), scorecard=scorecard, as_of=day,
                     full=bool(full))
    return RedirectResponse(f"/console/evaluations?scorecard={scorecard}", 303)


@router.get("/console/evaluations/subjects/{uscc}", response_class=HTMLResponse)
def subject_page(request: Request, uscc: str, scorecard: Annotated[str, Query(max_length=64)] = "public",
                 principal: Principal = requires("evaluation.read")) -> HTMLResponse:
    view = service.view_as(engine_of(request), principal, actor(request, principal), uscc[:40], scorecard)
    card = rules.cached(scorecard)
    view["district_name"] = service.district_name(view.get("district"))
    view["industry_name"] = service.industry_names().get(view.get("industry") or "", "未识别")
    return render(request, "evaluation/subject.html", {"e": view, "card": card})
