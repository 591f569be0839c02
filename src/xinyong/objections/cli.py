"""`xinyong objection …`: the objection queue and one case, for the credit office's operators."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from xinyong.core.console import engine, out, print_json
from xinyong.objections import service

app = typer.Typer(help="异议：处理队列、案件详情", no_args_is_help=True)


@app.command("list")
def list_cases(
    overdue: Annotated[bool, typer.Option("--overdue", help="只列超期未办的异议")] = False,
    status: Annotated[str, typer.Option(
        "--status", help="状态（open、suspended、corrected、revoked、rejected、resumed；"
                         "under_objection：处理中和暂停公示；all：全部）")] = "under_objection",
    department: Annotated[str | None, typer.Option("--department", help="提供部门")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """列出异议案件，处理期限最早的在前；超期（处理中且已过期限）的标出。"""
    with engine().connect() as conn:
        rows = service.queue(conn, department=department,
                             status=None if status == "all" else status,
                             overdue=True if overdue else None, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("没有符合条件的异议。")
        return
    t = Table()
    for col in ("案件编号", "信用主体", "文书号", "提供部门", "提出日期", "处理期限", "状态"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["case_no"], r["subject"]["name"] or "—", r["doc_no"], r["department"],
                  r["filed_on"], r["due_date"] + (" [red]已超期[/red]" if r["overdue"] else ""),
                  r["status_label"])
    out.print(t)


@app.command("show")
def show(
    case_no: Annotated[str, typer.Argument(help="异议案件编号")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示一件异议：状态、期限、异议理由、材料、处理决定和处理经过。"""
    with engine().connect() as conn:
        case = service.case_view(conn, case_no.strip().upper(), full=True)
    if as_json:
        print_json(case)
        return
    t = Table(show_header=False)
    t.add_column("项目", style="bold", no_wrap=True)
    t.add_column("内容", overflow="fold")
    t.add_row("案件编号", case["case_no"])
    t.add_row("状态", case["status_label"] + ("（已超期）" if case["overdue"] else ""))
    rec = case["record"]
    t.add_row("信用记录", f"{rec['id']} {rec['kind_name']} {rec['doc_no']}")
    t.add_row("信用主体", f"{rec['subject']['name']} {rec['subject']['uscc'] or ''}".strip())
    t.add_row("提供部门", case["department"])
    t.add_row("提出", f"{case['filed_on']}（{case['filed_by']}）")
    t.add_row("处理期限", case["due_date"])
    t.add_row("异议理由", case["reason"])
    t.add_row("材料", "、".join(a["name"] for a in case["attachments"]) or "—")
    if case["decision"]:
        d = case["decision"]
        t.add_row("处理决定", d["label"] + (f"：{d['reason']}" if d["reason"] else ""))
        if d["corrected_record"]:
            t.add_row("更正后的记录", str(d["corrected_record"]))
    t.add_row("处理经过", "\n".join(f"{h['at']} {h['label']}" for h in case["history"]))
    out.print(t)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="objection")
