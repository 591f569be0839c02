"""`xinyong repair …`: a record's eligibility, the cases, and the 信用修复告知书."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from xinyong.core.console import engine, fail, out, print_json
from xinyong.core.dates import parse_date
from xinyong.repair import notice as notices
from xinyong.repair import queries, rules

app = typer.Typer(help="信用修复：能否申请、案件列表、信用修复告知书", no_args_is_help=True)


def _day(on: str | None) -> date:
    if not on:
        return date.today()
    try:
        return parse_date(on)
    except ValueError:
        fail(f"日期“{on}”无法识别，请写成 YYYY-MM-DD")


@app.command("eligibility")
def eligibility(
    record: Annotated[int | None, typer.Option("--record", "-r", help="信用记录编号（终止公示）")] = None,
    entry: Annotated[str | None, typer.Option(
        "--entry", "-e", help="名单条目编号（移出名单）：L+条目编号，或 R+名单信息记录编号")] = None,
    on: Annotated[str | None, typer.Option("--on", help="按哪一天判断（默认今天），YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="以 JSON 输出 {record|entry, eligible, eligible_from, reasons}")] = False,
) -> None:
    """判断一条行政处罚信息（--record）或一个名单条目（--entry）在某日能否申请信用修复，
    自何日起可申请，及理由。"""
    if (record is None) == (entry is None):
        fail("请给出 --record（信用记录编号）或 --entry（名单条目编号）之一")
    day = _day(on)
    found: rules.Eligibility | rules.EntryEligibility
    with engine().connect() as conn:
        if entry is not None:
            found = queries.entry_eligibility(conn, entry, day)
            what = f"名单条目 {found.entry}"
        else:
            assert record is not None
            found = queries.eligibility(conn, record, day)
            what = f"信用记录 {record}"
    if as_json:
        print_json(found.as_json())
        return
    verdict = "可以申请" if found.eligible else (
        f"暂不能申请，自 {found.eligible_from} 起可申请" if found.eligible_from else "不能申请")
    out.print(f"[bold]{what}[/bold]（{day.isoformat()}）：{verdict}")
    for reason in found.reasons:
        out.print(f"  · {reason}")
    for item in found.to_prove:
        out.print(f"  须证明：{item}")


@app.command("list")
def list_cases(
    status: Annotated[str | None, typer.Option("--status", help="只列出某一状态："
                                                + "、".join(rules.STATUSES))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出信用修复案件（新的在前），含办理期限和是否超期。"""
    if status is not None and status not in rules.STATUSES:
        fail(f"未知的状态“{status}”（可用：{'、'.join(rules.STATUSES)}）")
    with engine().connect() as conn:
        cases = queries.list_cases(conn, date.today(), status)
    if as_json:
        print_json(cases)
        return
    if not cases:
        out.print("没有信用修复案件")
        return
    t = Table()
    for column in ("案件编号", "主体", "决定书文号", "状态", "申请日期", "办理期限"):
        t.add_column(column)
    for c in cases:
        t.add_row(c["case_no"], c["subject"]["name"], c["doc_no"], c["status_label"], c["applied_on"],
                  (c["due_on"] or "—") + ("（已超期）" if c["overdue"] else ""))
    out.print(t)


@app.command("notice")
def notice(record: Annotated[int, typer.Option("--record", "-r", help="行政处罚信息的记录编号")]) -> None:
    """打印一条行政处罚信息的信用修复告知书（何时、如何申请）。"""
    with engine().connect() as conn:
        text = notices.notice_text(notices.notice(conn, record, date.today()))
    out.print(text, markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="repair")
