"""`xinyong warnings …`: scan the store with the warning rules, list warnings, close one."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.core.console import engine, err, operator, out, print_json
from xinyong.core.dates import parse_date
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.warnings import service

app = typer.Typer(help="信用风险预警：按预警规则扫描、查看和处置预警", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="扫描日 YYYY-MM-DD（默认今天）")]
Rules = Annotated[list[str] | None, typer.Option("--rule", help="只扫描这条规则（可多次给出）")]
Status = Annotated[str | None, typer.Option("--status", help="open（待处置）或 closed（已处置）")]
Action = Annotated[str, typer.Option("--action", help="处置方式：约谈、整改、信用修复、移送、其他（或代码）")]



def _day(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InvalidInput(f"日期“{value}”无法识别：{exc}", code=CoreError.BAD_DATE) from exc


@app.command("scan")
def scan(as_of: AsOf = None, rule: Rules = None,
         as_json: Json = False) -> None:
    """按预警规则扫描全部主体，产生新的预警（同一规则和主体不重复预警）。
    JSON：{"as_of", "raised", "rules": [{"code", "name", "raised"}], "warnings": [编号]}。"""
    day = _day(as_of)
    if sys.stderr.isatty() and not as_json:
        with Progress(TextColumn("扫描预警规则"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("scan", total=len(rule or service.current_rules().rules))
            result = service.scan(engine(), operator(), day, only=rule,
                                  progress=lambda done, _total: bar.update(task, completed=done))
    else:
        result = service.scan(engine(), operator(), day, only=rule)
    if as_json:
        print_json(result)
        return
    t = Table(title=f"{result['as_of']} 预警扫描：新产生 {result['raised']} 条")
    t.add_column("规则")
    t.add_column("代码")
    t.add_column("新预警", justify="right")
    for r in result["rules"]:
        t.add_row(r["name"], r["code"], str(r["raised"]))
    out.print(t)


@app.command("list")
def list_warnings(
        status: Status = None,
        rule: Annotated[str | None, typer.Option("--rule", help="规则代码")] = None,
        department: Annotated[str | None, typer.Option("--department", help="接收部门")] = None,
        uscc: Annotated[str | None, typer.Option("--uscc", help="统一社会信用代码")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
        as_json: Json = False) -> None:
    """列出预警，待处置的在前。JSON：预警的列表（不含触发事实，见 show）。"""
    rows = service.warnings(engine(), operator(), None, status=status, rule=rule,  # audited
                            department=department, uscc=uscc, limit=limit)
    if as_json:
        print_json(rows)
        return
    t = Table(title=f"信用风险预警（{len(rows)} 条）")
    for column in ("编号", "主体", "规则", "级别", "情况", "接收部门", "扫描日", "状态"):
        t.add_column(column, overflow="fold")
    for w in rows:
        t.add_row(str(w["id"]), f"{w['subject']['name']}\n{w['subject']['uscc'] or ''}", w["rule"]["name"],
                  w["severity_name"], w["summary"], "、".join(w["recipients"]) or "—", w["as_of"] or "",
                  w["status_name"] + (f"（{w['closed']['action_name']}）" if w["closed"] else ""))
    out.print(t)


@app.command("show")
def show(warning_id: Annotated[int, typer.Argument(min=1, help="预警编号")], as_json: Json = False) -> None:
    """一条预警及其触发事实。"""
    view = service.warning(engine(), operator(), None, warning_id)  # the reading is audited
    if as_json:
        print_json(view)
        return
    _print(view)


@app.command("close")
def close(warning_id: Annotated[int, typer.Argument(min=1, help="预警编号")],
          action: Action,
          note: Annotated[str, typer.Option("--note", help="处置情况说明")],
          department: Annotated[str | None, typer.Option("--department", help="处置部门")] = None,
          as_json: Json = False) -> None:
    """处置（办结）一条预警：须给出处置方式和处置情况说明。"""
    view = service.close(engine(), operator(), None, warning_id, action, note, department=department)
    if as_json:
        print_json(view)
        return
    _print(view)


def _print(w: dict[str, Any]) -> None:
    out.print(f"[bold]预警 {w['id']}[/bold]  {w['status_name']}  "
              f"{w['rule']['name']}（级别{w['severity_name']}）")
    out.print(f"主体：{w['subject']['name']} {w['subject']['uscc'] or ''}")
    out.print(f"情况：{w['summary']}")
    out.print(f"接收部门：{'、'.join(w['recipients']) or '—'}")
    if w["closed"]:
        c = w["closed"]
        out.print(f"处置：{c['on']} {c['action_name']} {c['department'] or ''} {c['by']}：{c['note']}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="warnings")
