"""The portal's 双公示 listing page: filterable by kind, department, decision date, 严重程度 and
a keyword (文书号 or name), with the total and an export of what the filters select."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.catalog.service import current_catalog
from xinyong.core.dates import parse_date
from xinyong.publicity import service
from xinyong.publicity.rules import RULE_LABELS
from xinyong.web import export
from xinyong.web.ratelimit import limited
from xinyong.web.security import connection, requires
from xinyong.web.templating import last_day, render

router = APIRouter()
PAGE_SIZE = 30
# Rows one export holds at most; the page says so when the filters select more.
EXPORT_LIMIT = 10_000
KIND_NAMES = {"penalty": "行政处罚", "licence": "行政许可"}
# How a record's publicity rule reads on any page (the catalog, a subject's history).
TEMPLATE_FILTERS: dict[str, Any] = {
    "publicity_rule_name": lambda code: RULE_LABELS.get(code, "不公示") if code else "不公示"}


def warm_up() -> None:
    """Load the publicity rules (and the catalog under them) before the first request."""
    service.current_rules(current_catalog())


@dataclass
class Filters:
    """The listing's filters as typed, what they mean, and why some cannot be used."""

    kind: str
    department: str
    since: str
    until: str
    q: str
    tier: str
    errors: dict[str, str]
    since_day: date | None = None
    until_day: date | None = None

    def query(self) -> dict[str, Any]:
        return {"kind": self.kind, "department": self.department or None,
                "since": self.since_day, "until": self.until_day,
                "keyword": self.q or None, "tier": self.tier or None}


def _filters(kind: str, department: str, since: str, until: str, q: str, tier: str) -> Filters:
    kind = kind if kind in service.LISTED_KINDS else "penalty"
    tier = tier if kind == "penalty" and tier in service.published_tiers() else ""
    found = Filters(kind, department.strip(), since.strip(), until.strip(), q.strip(), tier, {})
    for name in ("since", "until"):
        typed = getattr(found, name)
        if not typed:
            continue
        try:
            setattr(found, f"{name}_day", parse_date(typed))
        except ValueError:
            found.errors[name] = f"“{typed}”不是有效的日期，请按 2026-01-31 的格式填写"
    if found.since_day and found.until_day and found.since_day > found.until_day:
        found.errors["until"] = (f"截止日期 {found.until_day} 早于起始日期 {found.since_day}，"
                                 "请调换两个日期或重新选择")
    return found


Kind = Annotated[str, Query(max_length=16)]
Department = Annotated[str, Query(max_length=100)]
Day = Annotated[str, Query(max_length=10)]
Keyword = Annotated[str, Query(max_length=100)]
TierName = Annotated[str, Query(max_length=8)]


@router.get("/publicity", response_class=HTMLResponse, dependencies=[Depends(limited)])
def publicity_page(
    request: Request, kind: Kind = "penalty", department: Department = "", since: Day = "",
    until: Day = "", q: Keyword = "", tier: TierName = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    conn: Connection = Depends(connection),
    _: Principal = requires("subject.read_public"),
) -> HTMLResponse:
    f = _filters(kind, department, since, until, q, tier)
    today = date.today()
    rows: list[dict[str, Any]] = []
    total = 0
    if not f.errors:
        rows = service.listing(conn, today, **f.query(), limit=PAGE_SIZE + 1,
                               offset=(page - 1) * PAGE_SIZE)
        total = service.listing_count(conn, today, **f.query())
    return render(request, "publicity/listing.html", {
        "rows": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page,
        "f": f, "kind": f.kind, "kind_name": KIND_NAMES[f.kind], "total": total,
        "tiers": service.published_tiers(), "export_limit": EXPORT_LIMIT,
        "departments": service.departments(conn), "today": today},
        status_code=422 if f.errors else 200)


HEADER = ("行政相对人", "统一社会信用代码", "文书号", "决定日期", "部门", "严重程度", "公示起始", "公示截止")


@router.get("/publicity/export", dependencies=[Depends(limited)])
def publicity_export(
    request: Request, kind: Kind = "penalty", department: Department = "", since: Day = "",
    until: Day = "", q: Keyword = "", tier: TierName = "",
    fmt: Annotated[str, Query(alias="format", max_length=8)] = "csv",
    conn: Connection = Depends(connection),
    _: Principal = requires("subject.read_public"),
) -> Response:
    """What the listing's filters select (at most EXPORT_LIMIT rows), as CSV or XLSX; a date
    filter that cannot be used shows the listing page with the reason instead."""
    f = _filters(kind, department, since, until, q, tier)
    if f.errors:
        return publicity_page(request, f.kind, f.department, f.since, f.until, f.q, f.tier, 1,
                              conn, _)
    today = date.today()
    rows = service.listing(conn, today, **f.query(), limit=EXPORT_LIMIT)
    penalty = f.kind == "penalty"
    table: list[list[Any]] = [
        [r["subject"]["name"], r["subject"]["uscc"], r["doc_no"], r["decision_date"],
         r["department"], *([r["tier"]] if penalty else []), r["start"], last_day(r["end"])]
        for r in rows]
    name = f"双公示-{KIND_NAMES[f.kind]}-{today.isoformat()}"
    header = HEADER if penalty else tuple(h for h in HEADER if h != "严重程度")
    return export.download(fmt if fmt in export.FORMATS else "csv", name, KIND_NAMES[f.kind],
                           header, table)
