"""`xinyong uscc …` and `xinyong subject …`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from xinyong.core import uscc
from xinyong.core.console import engine, out, percent, print_json
from xinyong.core.db import writing
from xinyong.core.masking import mask_id_number
from xinyong.subjects import service

uscc_app = typer.Typer(help="统一社会信用代码：校验与重错码工作队列", no_args_is_help=True)
subject_app = typer.Typer(help="信用主体", no_args_is_help=True)


@uscc_app.command("check")
def check(
    codes: Annotated[list[str], typer.Argument(help="一个或多个统一社会信用代码")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """按 GB 32100-2015 校验代码：长度、字符集、校验码、组织机构代码校验、登记管理部门和
    机构类别码、行政区划码。全部有效时退出码为 0，否则为 1。"""
    results: list[dict[str, Any]] = [
        {"code": c, "valid": not errs, "errors": [e.as_dict() for e in errs]}
        for c in codes for errs in (uscc.validate(c),)]
    if as_json:
        print_json(results)
    else:
        for r in results:
            if r["valid"]:
                out.print(f"[green]✓[/green] {r['code']} 有效")
            else:
                out.print(f"[red]✗[/red] {r['code']} " + "；".join(e["message"] for e in r["errors"]))
    raise typer.Exit(0 if all(r["valid"] for r in results) else 1)


KIND_LABELS = {"code_multiple_names": "一码多名", "name_multiple_codes": "一名多码",
               "invalid_code": "错误代码"}


@uscc_app.command("issues")
def issues(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """重错码工作队列：一码多名、一名多码、校验不通过的代码，以及重错码率。"""
    with writing(engine()) as conn:
        result = service.uscc_issues(conn)
    if as_json:
        print_json(result)
        return
    out.print(f"代码总数 {result['codes']}，存在问题 {result['codes_with_issues']}，"
              f"重错码率 {percent(result['rate'])}")
    t = Table("编号", "类型", "代码/名称", "说明", "状态", header_style="bold")
    for i in result["issues"]:
        t.add_row(str(i["id"]), KIND_LABELS.get(i["kind"], i["kind"]), i["key"],
                  str(i.get("name") or i.get("reason") or ""), i["status"])
    out.print(t)


@subject_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="统一社会信用代码")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 {subject, records}")] = False,
) -> None:
    """显示一个主体及其全部信用记录（含更正历史），身份证件号码脱敏。"""
    with engine().connect() as conn:
        result = service.show(conn, code)
    if as_json:
        print_json(result)
        return
    s = result["subject"]
    out.print(f"[bold]{s['name']}[/bold]  {s['uscc']}  类型 {s['kind']}  区划 {s['region'] or '—'}")
    if s["legal_rep"]:
        out.print(f"法定代表人 {s['legal_rep']} {mask_id_number(s['legal_rep_id_number']) or ''}")
    if s["former_names"]:
        out.print("曾用名：" + "、".join(n["name"] for n in s["former_names"]))
    t = Table("记录", "类别", "文书号", "决定日期", "部门", "版本", "状态", header_style="bold")
    for r in result["records"]:
        t.add_row(str(r["id"]), r["kind"], r["doc_no"], r["decision_date"], r["department"],
                  str(r["version"]), r["status"])
    out.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(uscc_app, name="uscc")
    app.add_typer(subject_app, name="subject")
