"""`xinyong check …`: check a subject for a matter type (`xinyong check USCC|NAME --matter T`),
and list the measures and the matter types in force."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from xinyong.check import rules, service
from xinyong.core.console import engine, out, print_json

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
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return service.Caller(f"cli:{user}"[:128], "cli", department, "cli")


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


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="check")
