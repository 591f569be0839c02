"""`xinyong check …`: check a subject for a matter type (`xinyong check USCC|NAME --matter T`),
and list the measures and the matter types in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from xinyong.accounts.rules import Principal, role_table
from xinyong.check import feedback, rules, service
from xinyong.core.console import engine, fail, operator_name, out, percent, print_json

SUBJECT = "subject"


class _CheckGroup(TyperGroup):
    """`xinyong check X …` runs the hidden `subject` command unless X names a sub-command, so a
    code or name goes straight after `check`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [SUBJECT, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_CheckGroup, no_args_is_help=True,
                  help="信用核查（逢办必查）：xinyong check 代码或名称 --matter 事项；措施清单和事项类型")


def _caller(department: str | None) -> service.Caller:
    return service.Caller(operator_name(), "cli", department, "cli")


@app.command(SUBJECT, hidden=True)
def check_subject(
    query: Annotated[str, typer.Argument(help="统一社会信用代码，或主体名称")],
    matter: Annotated[str, typer.Option("--matter", "-m",
                                        help="办理事项类型代码或名称，如 bidding、招标投标")],
    department: Annotated[str | None, typer.Option("--department", help="核查单位（记入核查记录）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """核查一个主体在某类事项中适用的惩戒和激励措施。"""
    by_code = rules.looks_like_code(query)
    result = service.check(engine(), _caller(department), matter,
                           uscc=query if by_code else None, name=None if by_code else query)
    service.flush_log(engine())
    if as_json:
        print_json(result)
        return
    _show(result)


def _show(result: dict[str, Any]) -> None:
    out.print(f"核查编号 {result['check_id']} · {result['matter']['name']}")
    s = result["subject"]
    if s is None:
        if not result["candidates"]:
            out.print("没有找到该主体。")
        for c in result["candidates"]:
            out.print(f"可能是：{c['name']}（{c['uscc'] or '无代码'}）匹配度 {c['score']}："
                      f"{'；'.join(c['reasons'])}")
        return
    out.print(f"{s['name']}（{s['uscc'] or '无代码'}）· {s['status_name']}")
    for e in result["lists"]:
        out.print(f"在列名单：{e['kind_name']} · {e['authority']} · {e['doc_no']} · "
                  f"{e['listed_on']} 至 {e['ends_on'] or '移出时'}")
    t = Table(title="适用措施")
    for column in ("代码", "措施", "类型", "法律依据", "触发", "截止"):
        t.add_column(column, overflow="fold")
    for m in result["measures"]:
        t.add_row(m["code"], m["name"], "惩戒" if m["kind"] == "penalty" else "激励", m["basis"],
                  m["triggered_by"]["description"], m["until"] or "—")
    out.print(t if result["measures"] else "该事项无适用的惩戒或激励措施。")
    for r in result["records_marked"]:
        out.print(f"{r['doc_no']}：{r['marker']}（{r['case_no']}）")


@app.command("measures")
def measures(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """列出惩戒和激励措施（法律依据、触发条件、适用事项、实施主体）。"""
    view = service.measures_view()
    if as_json:
        print_json(view)
        return
    t = Table()
    for column in ("代码", "措施", "类型", "触发", "适用事项", "实施主体", "法律依据"):
        t.add_column(column, overflow="fold")
    for m in view:
        t.add_row(m["code"], m["name"], m["kind_name"], m["triggers_text"], "、".join(m["matters"]),
                  m["applied_by"], m["basis"]["text"])
    out.print(t)


@app.command("matters")
def matters(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """列出办理事项类型及其适用的措施。"""
    view = service.matters_view()
    if as_json:
        print_json(view)
        return
    t = Table()
    for column in ("代码", "事项", "别名", "适用措施"):
        t.add_column(column, overflow="fold")
    for m in view:
        t.add_row(m["code"], m["name"], "、".join(m["aliases"]), "、".join(m["measures"]) or "—")
    out.print(t)


def _principal(department: str | None) -> Principal:
    """The CLI is run by the platform's operators on the server: it acts as credit-office staff."""
    caller = _caller(department)
    return Principal(caller.name, "staff", department, role_table().role("staff").permissions)


@app.command("feedback")
def report_feedback(
    check_id: Annotated[str, typer.Argument(help="核查编号（HC…）")],
    measure: Annotated[str, typer.Option("--measure", help="核查返回的措施代码")],
    outcome: Annotated[str, typer.Option("--outcome",
                                         help="applied 已应用 | not_applied 未应用 | not_relevant 不适用")],
    reason: Annotated[str | None, typer.Option("--reason", help="未应用的原因（not_applied 时必填）")] = None,
    result: Annotated[str | None, typer.Option("--result", help="办理结果")] = None,
    department: Annotated[str | None, typer.Option("--department", help="反馈单位")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """反馈一次核查中某项措施的执行情况（执行反馈）。"""
    summary = feedback.report(engine(), _principal(department), check_id,
                              [{"measure": measure, "outcome": outcome, "reason": reason, "result": result}],
                              source="cli")
    if as_json:
        print_json(summary)
        return
    status = summary["feedback_status"]
    out.print(f"已记录核查 {summary['check_id']} 的反馈：{measure} · {feedback.OUTCOMES[outcome]}")
    out.print("全部措施已反馈。" if not status["pending"] else f"待反馈措施：{'、'.join(status['pending'])}")


@app.command("stats")
def feedback_stats(
    since: Annotated[str | None, typer.Option("--since",
                                              help="起始日期（含），YYYY-MM-DD；默认 30 天前")] = None,
    until: Annotated[str | None, typer.Option("--until", help="截止日期（含），默认今天")] = None,
    department: Annotated[str | None, typer.Option("--department", help="只看该单位")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """按单位统计核查次数、返回措施、反馈数、反馈率和逾期未反馈的核查。"""
    view = feedback.stats(engine(), _principal(None), since=_day(since, "--since"),
                          until=_day(until, "--until"), department=department)
    if as_json:
        print_json(view)
        return
    t = Table(title=f"核查反馈统计 {view['since']} 至 {view['until']}"
                    f"（{view['due_working_days']}个工作日内反馈）")
    for column in ("单位", "核查次数", "返回措施", "已反馈", "反馈率", "逾期未反馈"):
        t.add_column(column, overflow="fold")
    for d in [*view["departments"], {**view["total"], "department": "合计"}]:
        t.add_row(d["department"] or "（未注明单位）", str(d["checks"]), str(d["measures_returned"]),
                  str(d["feedback_given"]), percent(d["feedback_rate"]), str(d["overdue"]))
    out.print(t)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} 应为日期 YYYY-MM-DD，而不是 {value}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="check")
