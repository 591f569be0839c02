"""`xinyong publicity …`: a record's publicity window, and recomputing stored windows."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.core.console import engine, err, out, print_json
from xinyong.publicity import service

app = typer.Typer(help="公示期：信用记录何时公示、何时可申请信用修复、何时停止公示", no_args_is_help=True)


def _shown(value: str | None, empty: str = "—") -> str:
    return value if value is not None else empty


@app.command("window")
def window(
    record: Annotated[int, typer.Option("--record", "-r", help="信用记录编号")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="以 JSON 输出 {record, tier, published, start, earliest_repair, end}")] = False,
) -> None:
    """显示一条信用记录的公示期：失信严重程度、是否公示、公示起止日期、最早可申请修复日期及认定理由。"""
    w = service.window(engine(), record)
    if as_json:
        print_json({"record": w["record"], "tier": w["tier"], "published": w["published"],
                    "start": w["start"], "earliest_repair": w["earliest_repair"],
                    "end": w["end"]})
        return
    out.print(f"[bold]信用记录 {w['record']}[/bold]  {w['item_code']}  {w['doc_no']}"
              f"  第{w['version']}版（{'现行' if w['status'] == 'current' else '已被更正'}）")
    t = Table(show_header=False)
    t.add_column("项目", style="bold", no_wrap=True)
    t.add_column("内容", overflow="fold")
    t.add_row("决定日期", w["decision_date"])
    t.add_row("失信严重程度", w["tier"] or "不分级（按有效期公示）")
    t.add_row("是否公示", "公示" if w["published"] else "不公示")
    t.add_row("公示开始", _shown(w["start"]))
    t.add_row("最早可申请修复", _shown(w["earliest_repair"]))
    t.add_row("公示截止（当日起不再公示）", _shown(w["end"], "—" if not w["published"] else "不设截止"))
    t.add_row("认定理由", w["reason"])
    regime = w["regime"] + ("" if w["stored"] else "（尚未入库，请运行 xinyong publicity recompute）")
    if w["stored"] and w["regime"] != w["current_regime"]:
        regime += f"（现行规则为 {w['current_regime']}，理由按现行规则说明）"
    elif w["basis"]:
        regime += f"（{w['basis']}）"
    t.add_row("适用规则", regime)
    out.print(t)


@app.command("recompute")
def recompute(
    all_records: Annotated[bool, typer.Option(
        "--all", help="按现行规则重算所有记录（默认只计算尚无公示期的记录，如升级前入库的记录）")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出计数")] = False,
) -> None:
    """计算已入库记录的公示期（分批提交，可中断后继续），并记入审计日志。"""
    if sys.stderr.isatty() and not as_json:
        with Progress(TextColumn("计算公示期"), BarColumn(), TextColumn("{task.completed}/{task.total} 条"),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("recompute", total=None)
            counts = service.recompute(
                engine(), all_records=all_records,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        counts = service.recompute(engine(), all_records=all_records)
    if as_json:
        print_json(counts)
        return
    tiers = "，".join(f"{k} {v}" for k, v in counts["tiers"].items())
    out.print(f"已按规则 {counts['regime']} 计算 {counts['records']} 条记录的公示期，"
              f"其中公示 {counts['published']} 条" + (f"（{tiers}）" if tiers else ""))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="publicity")
