"""`xinyong lists …`: the list kinds in force and the entries active on a day."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from xinyong.core.console import engine, out, print_json
from xinyong.core.dates import parse_date
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.lists import service

app = typer.Typer(help="信用名单：名单种类（依据、告知、异议期、退出规则）和在列条目", no_args_is_help=True)


@app.command("kinds")
def kinds(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """列出可用的名单种类；没有法律依据而不能使用的种类单独列出并说明原因。"""
    view = service.kinds_view()
    if as_json:
        print_json(view)
        return
    t = Table()
    for column in ("代码", "名单", "类型", "认定单位", "设列依据", "告知/异议期", "期限", "修复"):
        t.add_column(column, overflow="fold")
    for k in view["kinds"]:
        t.add_row(k["code"], k["name"], k["type_name"], k["authority"],
                  k["basis"]["document"] + k["basis"]["articles"],
                  f"告知，{k['waiting_workdays']}个工作日" if k["notice_required"] else "不需事前告知",
                  k["term"], "可" if k["repair"] else "否")
    out.print(t)
    for r in view["refused"]:
        out.print(f"[red]不可用[/red] {r['code']}（{r['name']}，{r['source']}）：{r['reason']}")
    for p in view["problems"]:
        out.print(f"[yellow]注意[/yellow] {p}")


@app.command("entries")
def entries(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="名单种类代码或名称")] = None,
    on: Annotated[str | None, typer.Option("--on", help="日期（默认今天）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出某日在列的名单条目（认定流程列入的和部门报送的名单数据）。"""
    try:
        day = parse_date(on) if on else date.today()
    except ValueError as exc:
        raise InvalidInput(f"日期“{on}”无法识别：{exc}", code=CoreError.BAD_DATE) from exc
    found = service.usable_kind(kind) if kind else None
    with engine().connect() as conn:
        rows = service.all_entries(conn, day, found)
    if as_json:
        print_json([{k: v for k, v in r.items() if k != "subject_id"} for r in rows])
        return
    t = Table(title=f"{day.isoformat()} 在列的名单条目（{len(rows)} 条）")
    for column in ("名单", "主体", "统一社会信用代码", "认定单位", "文书号", "列入", "移出", "来源"):
        t.add_column(column, overflow="fold")
    for r in rows:
        t.add_row(r["kind_name"], r["subject"]["name"], r["subject"]["uscc"] or "—", r["authority"],
                  r["doc_no"], r["listed_on"], r["ends_on"] or "至移出",
                  "认定流程" if r["source"] == "workflow" else "报送数据")
    out.print(t)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lists")
