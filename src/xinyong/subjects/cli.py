"""`xinyong uscc …` and `xinyong subject …` (`subject show`, which presents the profile, is
`xinyong.profile.cli`'s)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Column, Table

from xinyong.core import uscc
from xinyong.core.console import engine, out, percent, print_json
from xinyong.subjects import search, service

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
    result = service.uscc_issues(engine())
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


KIND_NAMES = {"organisation": "法人和非法人组织", "individual_business": "个体工商户",
              "natural_person": "自然人"}


@subject_app.command("search")
def search_subjects(
    query: Annotated[str, typer.Argument(help="名称的任意部分（一个字起，含曾用名），或统一社会信用代码")],
    limit: Annotated[int, typer.Option("--limit", help="最多列出多少个主体（1–100）")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 {query, items, …}")] = False,
) -> None:
    """按名称或统一社会信用代码查找主体（不含自然人）。全角/半角、括号、空格和大小写不影响匹配；
    完全相同的名称排在最前，其次是以查询开头的名称，再按名称由短到长。"""
    eng = engine()
    with eng.connect() as conn:
        stale = search.pending(conn)
    if stale:  # a store filled before the index existed, or written by another tool
        search.refresh(eng)
    with eng.connect() as conn:
        result = search.search(conn, query, limit=limit)
    if as_json:
        print_json(result.as_dict())
        return
    if not result.items:
        out.print(f"没有找到与“{query}”匹配的主体")
        return
    # fold, not cut: a Chinese name has no spaces to wrap at, and a cut name is no answer
    t = Table(*(Column(h, overflow="fold") for h in ("统一社会信用代码", "名称", "曾用名（匹配）")),
              "类型", "区划", header_style="bold")
    for i in result.items:
        t.add_row(i.uscc or "—", i.name, "" if i.matched_name == i.name else i.matched_name,
                  KIND_NAMES.get(i.kind, i.kind), i.region or "—")
    out.print(t)
    if result.has_more:
        out.print(f"仅列出前 {limit} 个；请输入更完整的名称以缩小范围")


def register(app: typer.Typer) -> None:
    app.add_typer(uscc_app, name="uscc")
    app.add_typer(subject_app, name="subject")
