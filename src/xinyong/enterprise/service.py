"""The enterprise's own workspace, read across capabilities (a read model above them): all its
subject's records with their publicity windows and the day repair may be applied for, its
objections and repairs with their status, what it is asked to do, list notices about it and
its notifications. It asks each owner through its service; it writes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from xinyong.accounts.rules import Forbidden, Principal
from xinyong.catalog.service import current_catalog
from xinyong.core.errors import CoreError, NotFound
from xinyong.lists import service as lists
from xinyong.notifications import service as notifications
from xinyong.objections import service as objections
from xinyong.publicity import service as publicity
from xinyong.repair import queries as repair
from xinyong.subjects import service as subjects

RECENT_NOTIFICATIONS = 10


def own_subject(principal: Principal) -> str:
    """The USCC the principal acts for; refused for any account not bound to a subject."""
    if not principal.subject:
        raise Forbidden("企业主页只对绑定了信用主体的企业账号开放", code=CoreError.NOT_OWN_SUBJECT)
    return principal.subject


def _in_force(stops: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    today = day.isoformat()
    return [s for s in stops if s["since"] <= today and (s["until"] is None or s["until"] > today)]


STOP_LABELS = {"repaired": "信用修复后停止公示", "revoked": "异议成立，已撤销",
               "suspended": "异议核实期间暂停公示", "corrected": "已更正为新版本"}


def _window(brief: dict[str, Any], stops: list[dict[str, Any]], day: date) -> dict[str, Any]:
    """The record's publicity window as a person reads it: from, last day (the stored end is
    exclusive), whether it is shown today and why not."""
    start, end = brief["publicity_start"], brief["publicity_end"]
    stopped = _in_force(stops, day)
    if not brief["published"]:
        state = "不予公示"
    elif stopped:
        state = STOP_LABELS.get(stopped[0]["reason"], "已停止公示")
    elif start is not None and day < start:
        state = "尚未开始公示"
    elif end is not None and day >= end:
        state = "公示期已届满"
    else:
        state = "公示中"
    return {"published": bool(brief["published"]), "start": start,
            "last_day": end - timedelta(days=1) if end else None, "state": state,
            "shown": state == "公示中"}


def records(conn: Connection, uscc: str, subject_id: int, day: date) -> list[dict[str, Any]]:
    """Every current record held about the subject (published or not), newest decision first,
    each with its window, whether and from when repair may be applied for, and open cases."""
    held = [r for r in subjects.show(conn, uscc)["records"] if r["status"] == "current"]
    ids = [r["id"] for r in held]
    stops = publicity.stops(conn, ids)
    under_objection = objections.open_cases(conn, ids)
    in_repair = repair.open_cases(conn, ids)
    catalog = current_catalog()
    out = []
    for r in sorted(held, key=lambda r: (r["decision_date"] or "", r["id"]), reverse=True):
        brief = repair.record_brief(conn, r["id"])
        found = repair.eligibility_of(conn, brief, day) if r["kind"] == "penalty" else None
        item = catalog.item(r["kind"])
        out.append({
            "id": r["id"], "kind": r["kind"], "kind_name": item.name if item else "其他信用信息",
            "doc_no": r["doc_no"], "department": r["department"],
            "decision_date": r["decision_date"], "tier": brief["publicity_tier"],
            "window": _window(brief, stops.get(r["id"], []), day),
            "repair": None if found is None else {
                "eligible": found.eligible, "from": found.eligible_from,
                "reasons": list(found.reasons)},
            "earliest_repair": brief["publicity_repair_from"],
            "objection": under_objection.get(r["id"]), "repair_case": in_repair.get(r["id"]),
            "subject_id": subject_id})
    return out


def _asks(conn: Connection, repairs: list[dict[str, Any]], notices: list[dict[str, Any]],
          day: date) -> list[dict[str, Any]]:
    """What the enterprise is asked to do: returned repair applications (with what is
    missing) and list notices it may still answer."""
    asks = []
    for case in repairs:
        if case["status"] == "returned":
            view = repair.case_view(conn, case["case_no"], day)
            asks.append({"what": "补正信用修复材料", "case_no": case["case_no"],
                         "detail": "、".join(view["missing"]) or view["reason"] or "",
                         "link": f"/repairs/{case['case_no']}#resub",
                         "action": "去补正"})
    for p in notices:
        if ("objection" in p["steps"] and not p["objection"] and p["objection_until"]
                and day.isoformat() <= p["objection_until"]):
            asks.append({"what": f"对拟列入{p['kind_name']}提出陈述、申辩", "case_no": str(p["id"]),
                         "detail": f"异议期至 {p['objection_until']}",
                         "link": "/console/list-notices", "action": "去答复"})
    return asks


def home(conn: Connection, principal: Principal, day: date) -> dict[str, Any]:
    """Everything the enterprise's home shows."""
    uscc = own_subject(principal)
    try:
        subject = subjects.show(conn, uscc)["subject"]
    except NotFound:
        subject = None  # an account made before any record of its subject arrived
    unread = notifications.unread_count(conn, principal)
    recent = notifications.for_subject(conn, principal, limit=RECENT_NOTIFICATIONS)
    if subject is None:
        return {"subject": None, "uscc": uscc, "records": [], "objections": [], "repairs": [],
                "asks": [], "notices": [], "entries": [], "unread": unread,
                "notifications": recent, "today": day}
    sid = int(subject["id"])
    cases = objections.queue(conn, subject_id=sid, today=day, limit=200)
    repairs = repair.queue(conn, day, everything=True, subject_id=sid, newest_first=True, limit=200)
    notices = [p for p in lists.proposals(conn, day, uscc=uscc, limit=100) if p["notified_on"]]
    entries = lists.active_entries(conn, sid, day)
    return {"subject": subject, "uscc": uscc, "records": records(conn, uscc, sid, day),
            "objections": cases, "repairs": repairs, "asks": _asks(conn, repairs, notices, day),
            "notices": notices, "entries": entries, "unread": unread,
            "notifications": recent, "today": day}
