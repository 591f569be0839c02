"""What each console home shows: per permission the principal holds, a card of to-do counts
with the page each count links to. Only reads, and only through the owning capabilities'
services (their `counts` functions): this folder owns no table.

Cards follow permissions, never role names (data/roles.yaml decides who holds what): whoever
decides objections sees the objections waiting, whoever reads the audit log the security
events, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.accounts.rules import Principal, can, role_table
from xinyong.catalog.service import items_view
from xinyong.check import feedback
from xinyong.core import audit
from xinyong.core.db import writing
from xinyong.ingest import rules as ingest_rules
from xinyong.ingest import service as ingest
from xinyong.lists import service as lists
from xinyong.objections import rules as objection_rules
from xinyong.objections import service as objections
from xinyong.repair import queries as repair
from xinyong.warnings import service as warnings

RECENT_DAYS = 30  # the reporter's batches and the auditor's security events: this many days
SECURITY_EVENTS_SHOWN = 10
# Walking the whole chain on every visit of the auditor's home is fine for a city's log; past
# this many events the home links to the audit log page's check instead.
VERIFY_ON_HOME_LIMIT = 200_000


@dataclass(frozen=True)
class Count:
    label: str
    value: int
    href: str
    alert: bool = False  # drawn as needing attention (overdue, locked …) when above zero


@dataclass
class Card:
    key: str
    title: str
    counts: list[Count] = field(default_factory=list)
    note: str | None = None


@dataclass
class Home:
    today: date
    cards: list[Card]
    batches_today: list[dict[str, Any]] | None = None
    summary_today: list[dict[str, Any]] | None = None
    security_events: list[dict[str, Any]] | None = None
    verification: audit.Verification | None = None
    verification_skipped: bool = False


def _link(path: str, **query: Any) -> str:
    params = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urlencode(params) if params else "")


def _objections(conn: Any, principal: Principal, today: date) -> Card:
    own = objection_rules.decider_department(principal, role_table().role(principal.role))
    found = objections.counts(conn, own, today)
    by_status = found["by_status"]
    return Card("objections", "异议", [
        Count("待处理（异议处理中）", int(by_status.get("open", 0)),
              _link("/console/objections", status="open")),
        Count("暂停公示核实中", int(by_status.get("suspended", 0)),
              _link("/console/objections", status="suspended")),
        Count("已超期", int(found["overdue"]), _link("/console/objections", status="open", overdue="true"),
              alert=True),
    ], note=f"本部门（{own}）的信息" if own else None)


def _repairs(conn: Any, today: date) -> Card:
    found = repair.counts(conn, today)
    return Card("repairs", "信用修复", [
        Count("待受理", found.get("submitted", 0), _link("/console/repairs", status="submitted")),
        Count("审核中", found.get("accepted", 0), _link("/console/repairs", status="accepted")),
        Count("退回补正，待申请人补充", found.get("returned", 0),
              _link("/console/repairs", status="returned")),
        Count("已超期", found.get("overdue", 0), _link("/console/repairs", overdue="true"), alert=True),
    ])


def _lists(conn: Any, today: date) -> Card:
    found = lists.counts(conn, today)
    return Card("lists", "名单认定", [
        Count("办理中的认定申请", found["open"], "/console/lists"),
        Count("待告知", found["to_notify"], "/console/lists"),
        Count("可作出认定决定", found["ready"], "/console/lists"),
        Count("超过决定期限", found["overdue"], "/console/lists", alert=True),
    ])


def _warnings(conn: Any, principal: Principal) -> Card:
    own = warnings.scope_of(principal)
    found = warnings.counts(conn, principal)
    return Card("warnings", "风险预警", [
        Count("未处置的预警", found["open"], _link("/console/warnings", status="open")),
        Count("其中高风险", found.get("high", 0), _link("/console/warnings", status="open", severity="high"),
              alert=True),
    ], note=f"发给本部门（{own}）的预警" if own else None)


def _batches(conn: Any, principal: Principal, today: date) -> tuple[Card, list[dict[str, Any]],
                                                                       list[dict[str, Any]]]:
    own = ingest_rules.readable_department(principal)
    since = today - timedelta(days=RECENT_DAYS - 1)
    found = ingest.counts(conn, since=since, department=own)
    card = Card("batches", f"报送（近{RECENT_DAYS}天）", [
        Count("报送批次", found["batches"], _link("/console/batches", department=own)),
        Count("数据行", found["rows"], _link("/console/batches", department=own)),
        Count("退回的数据行", found["rejected"], _link("/console/batches", department=own), alert=True),
        Count("有退回记录的批次", found["with_rejections"], _link("/console/batches", department=own),
              alert=True),
    ], note=f"本部门（{own}）" if own else "所有部门")
    names = {i["code"]: i["name"] for i in items_view()["items"]}
    batches = [{**b, "item_name": names.get(b["item_code"], b["item_code"])}
               for b in ingest.list_batches(conn, department=own, since=today, limit=50)]
    summary = ingest.department_summary(conn, since=today, department=own)
    return card, batches, summary


def _feedback(engine: Engine, principal: Principal) -> Card:
    view = feedback.stats(engine, principal)
    total = view["total"]
    return Card("feedback", "核查与执行反馈（近30天）", [
        Count("核查次数", total["checks"], "/console/checks/stats"),
        Count("返回措施待反馈", max(0, total["measures_returned"] - total["feedback_given"]),
              "/console/checks/stats"),
        Count("逾期未反馈的核查", total["overdue"], "/console/checks/stats", alert=True),
    ])


def _accounts(conn: Any) -> Card:
    found = accounts.account_counts(conn)
    return Card("accounts", "账号", [
        Count("在用账号", found["active"], "/console/accounts"),
        Count("已停用", found["inactive"], "/console/accounts"),
        Count("已锁定", found["locked"], "/console/accounts", alert=True),
        Count("未设置身份验证器的特权账号", found["without_second_factor"], "/console/accounts", alert=True),
    ])


SECURITY_LABELS = {"auth.failed": "登录失败", "auth.locked": "账号或地址被锁定",
                   "auth.refused": "登录被拒绝（锁定期内）", "access.denied": "越权访问被拒绝",
                   "access.csrf_failed": "表单令牌校验失败"}


def _security(engine: Engine, principal: Principal, source: str, today: date) -> tuple[
        Card, list[dict[str, Any]], audit.Verification | None, bool]:
    since_day = today - timedelta(days=RECENT_DAYS - 1)
    # the log's times are naive UTC; Beijing's day starts eight hours earlier
    since = datetime.combine(since_day, datetime.min.time()) - timedelta(hours=8)
    with writing(engine) as conn:
        found = accounts.security_counts(conn, since)
        events = accounts.read_security_events(conn, principal.actor(source), limit=SECURITY_EVENTS_SHOWN)
        skipped = accounts.audit_event_count(conn) > VERIFY_ON_HOME_LIMIT
        verification = None if skipped else audit.verify(conn)
    counts = [Count(label, found.get(action, 0),
                    _link("/console/audit", action=action, since=since_day.isoformat()),
                    alert=action != "auth.failed")
              for action, label in SECURITY_LABELS.items()]
    changes = sum(n for a, n in found.items() if a.startswith(("account.", "token.")))
    counts.append(Count("账号和令牌变更", changes, _link("/console/audit", action="account.",
                                                   since=since_day.isoformat())))
    return Card("security", f"安全事件（近{RECENT_DAYS}天）", counts), events, verification, skipped


def home(engine: Engine, principal: Principal, source: str, today: date | None = None) -> Home:
    """The principal's home: a card per kind of work it may do."""
    today = today or date.today()
    view = Home(today, [])
    with engine.connect() as conn:
        if can(principal, "objection.decide"):
            view.cards.append(_objections(conn, principal, today))
        if can(principal, "repair.decide"):
            view.cards.append(_repairs(conn, today))
        if can(principal, "list.manage"):
            view.cards.append(_lists(conn, today))
        if can(principal, "warning.read"):
            view.cards.append(_warnings(conn, principal))
        if can(principal, "batch.read_own") or can(principal, "batch.read_all"):
            card, view.batches_today, view.summary_today = _batches(conn, principal, today)
            view.cards.append(card)
        if can(principal, "account.manage"):
            view.cards.append(_accounts(conn))
    if can(principal, "quality.read"):
        view.cards.append(_feedback(engine, principal))
    if can(principal, "audit.read"):
        card, view.security_events, view.verification, view.verification_skipped = _security(
            engine, principal, source, today)
        view.cards.append(card)
    return view
