"""`xinyong subject show`: a subject, every version of its records and its evaluation. It joins
the `subject` command group of subjects (`xinyong.subjects.cli`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from xinyong.core.console import engine, operator, out, print_json
from xinyong.core.masking import mask_id_number
from xinyong.profile import queries
from xinyong.subjects.cli import subject_app


@subject_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="统一社会信用代码")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="以 JSON 输出 {subject, records, evaluation}")] = False,
) -> None:
    """显示一个主体及其全部信用记录（含更正历史）和公共信用综合评价，身份证件号码脱敏。"""
    # the score, grade and reasons are not public data: the read is logged (SPEC §2.3)
    result, found = queries.show_with_evaluation(engine(), operator(), code)
    # natural persons are never evaluated, so theirs is always null
    result["evaluation"] = None if found is None else {
        "score": found.score, "grade": found.grade, "reasons": found.reasons}
    if as_json:
        print_json(result)
        return
    s = result["subject"]
    out.print(f"[bold]{s['name']}[/bold]  {s['uscc']}  类型 {s['kind']}  区划 {s['region'] or '—'}")
    if s["legal_rep"]:
        out.print(f"法定代表人 {s['legal_rep']} {mask_id_number(s['legal_rep_id_number']) or ''}")
    if s["former_names"]:
        out.print("曾用名：" + "、".join(n["name"] for n in s["former_names"]))
    if found is not None:
        out.print(f"综合评价：{found.grade} {found.grade_name} · 得分 {found.score}（{found.as_of}）"
                  + ("：" + "；".join(found.reasons) if found.reasons else ""))
    t = Table("记录", "类别", "文书号", "决定日期", "部门", "版本", "状态", header_style="bold")
    for r in result["records"]:
        t.add_row(str(r["id"]), r["kind"], r["doc_no"], r["decision_date"], r["department"],
                  str(r["version"]), r["status"])
    out.print(t)


# `xinyong subject --help` lists `show` first, where it stood before the profile had a room
subject_app.registered_commands.insert(0, subject_app.registered_commands.pop())


def register(app: typer.Typer) -> None:
    """Nothing to add at the top level: `show` joined subjects' `subject` group above, which
    `xinyong.subjects.cli.register` adds."""
