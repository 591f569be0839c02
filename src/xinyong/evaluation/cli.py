"""`xinyong evaluate …`: run the batch evaluation (`xinyong evaluate [--scorecard] [--as-of]
[--full] [--json]`), the distribution report (`xinyong evaluate report`) and the scorecards in
force (`xinyong evaluate scorecards`)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.core.console import engine, err, operator, out, print_json
from xinyong.core.dates import option_day
from xinyong.evaluation import rules, service

app = typer.Typer(invoke_without_command=True,
                  help="公共信用综合评价：xinyong evaluate 计算全部组织的评价等级；report 查看分布")



@app.callback()
def evaluate(
    ctx: typer.Context,
    scorecard: Annotated[str, typer.Option("--scorecard", "-s", help="评分卡名称，默认 public")] = "public",
    as_of: Annotated[str | None, typer.Option("--as-of", help="评价日 YYYY-MM-DD，默认今天")] = None,
    full: Annotated[bool, typer.Option("--full", help="全量重算（不做增量）")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """计算全部组织（法人和非法人组织、个体工商户）的评价得分和等级；自然人从不评价。"""
    if ctx.invoked_subcommand is not None:
        return
    day = option_day(as_of)
    if sys.stderr.isatty() and not as_json:
        with Progress(TextColumn("评价中 {task.fields[step]}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("evaluate", total=1.0, step="")
            summary = service.evaluate(
                engine(), operator(), scorecard=scorecard, as_of=day, full=full,
                progress=lambda what, n, total: bar.update(task, completed=n / total, step=f"{what} ✓"))
    else:
        summary = service.evaluate(engine(), operator(), scorecard=scorecard, as_of=day, full=full)
    if as_json:
        print_json(summary.as_json())
        return
    out.print(f"评分卡 {summary.scorecard}（版本 {summary.version}）评价日 {summary.as_of} · "
              f"{'增量' if summary.mode == 'incremental' else '全量'}：评价 {summary.evaluated} 个组织，"
              f"跳过自然人 {summary.skipped_natural_persons} 个")
    with engine().connect() as conn:
        _grades_table(service.distribution(conn, summary.scorecard)["grades"])


def _grades_table(grades: list[dict[str, Any]], title: str = "等级分布") -> None:
    t = Table(title=title)
    for column in ("等级", "名称", "数量", "占比"):
        t.add_column(column)
    for g in grades:
        t.add_row(g["grade"], g["name"], str(g["count"]), f"{g['share'] * 100:.2f}%")
    out.print(t)


@app.command("report")
def report(
    scorecard: Annotated[str, typer.Option("--scorecard", "-s", help="评分卡名称")] = "public",
    by: Annotated[str | None, typer.Option("--by", help="分组：industry（行业）或 district（地区）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """评价结果分布：各等级的数量和占比，可按行业或地区分组。"""
    with engine().connect() as conn:
        found = service.distribution(conn, scorecard, by)
    if as_json:
        print_json(found)
        return
    out.print(f"{found['name']}（{found['scorecard']} 版本 {found['version']}）评价日 "
              f"{found['as_of'] or '尚未评价'} · 共 {found['total']} 个组织")
    _grades_table(found["grades"])
    for group in found.get("groups", []):
        _grades_table(group["grades"], f"{group['name']}（{group['key'] or '—'}）· {group['total']} 个")


@app.command("scorecards")
def scorecards(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """可用的评分卡及其指标。"""
    cards = [rules.cached(code) for code in rules.available()]
    if as_json:
        print_json([{"code": c.code, "name": c.name, "version": c.version,
                     "industries": list(c.industries),
                     "grades": [{"code": g.code, "name": g.name, "min": g.min} for g in c.grades],
                     "indicators": [{"code": i.code, "name": i.name, "feature": i.feature,
                                     "params": {k: list(v) if isinstance(v, tuple) else v
                                                for k, v in i.params.items()}} for i in c.indicators]}
                    for c in cards])
        return
    for c in cards:
        out.print(f"[bold]{c.code}[/bold] {c.name} 版本 {c.version}"
                  + (f" · 适用行业 {'、'.join(c.industries)}" if c.industries else ""))
        out.print("  等级：" + "；".join(f"{g.code} {g.name}（≥{g.min}）" for g in c.grades))
        for i in c.indicators:
            out.print(f"  {i.code} {i.name}：" + "；".join(
                f"[{b.low}, {'∞' if b.high is None else b.high}) {rules.signed(b.points)}" for b in i.bins))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="evaluate")
