"""`xinyong departments list|add|show`: the department registry on the command line, and the
notice every command taking `--department` gives when it registered a department it names."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from xinyong.core.console import engine, err, operator, out, print_json
from xinyong.departments import service
from xinyong.departments.rules import Department

app = typer.Typer(help="报送部门登记簿：部门名称、别名、代为报送的单位", no_args_is_help=True)


def announce(name: str) -> None:
    """The notice that a command registered a new department (scripted loads keep working)."""
    err.print(f"[yellow]提示：部门“{name}”此前未登记，现已登记为新部门"
              "（用 xinyong departments show 查看；如为笔误请联系管理员）[/yellow]")


def _origin(d: Department) -> str:
    return "规则文件" if d.origin == "data" else "已登记"


@app.command("list")
def list_departments(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """列出全部已登记的报送部门。"""
    with engine().connect() as conn:
        found = list(service.registry(conn).departments.values())
    if as_json:
        print_json([d.as_dict() for d in found])
        return
    t = Table("部门", "别名", "代为报送的单位", "统一社会信用代码", "来源", header_style="bold")
    for d in found:
        t.add_row(d.name, "、".join(d.aliases) or "—", "、".join(d.reports_for) or "—",
                  d.uscc or "—", _origin(d))
    out.print(t if found else "还没有登记任何部门")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="部门全称，如 厦门市交通运输局")],
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help="别名（文件中可能的其他写法），可重复")] = None,
    reports_for: Annotated[list[str] | None, typer.Option(
        "--reports-for", help="代为报送的单位（如所属支队、大队），可重复")] = None,
    any_authority_for: Annotated[list[str] | None, typer.Option(
        "--any-authority-for", help="该类信息的决定机关可为任何单位（如审批局报送其他部门作出的"
        "行政许可：licence），可重复")] = None,
    uscc: Annotated[str | None, typer.Option("--uscc", help="部门的统一社会信用代码")] = None,
) -> None:
    """登记一个报送部门。"""
    d = service.register(engine(), operator("admin"), name, aliases=alias or (),
                         reports_for=reports_for or (), any_authority_for=any_authority_for or (),
                         uscc=uscc)
    out.print(f"已登记部门 {d.name}")


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="部门名称或别名")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示一个部门的登记信息。"""
    with engine().connect() as conn:
        d = service.show(conn, name)
    if as_json:
        print_json(d.as_dict())
        return
    out.print(f"[bold]{d.name}[/bold]（{_origin(d)}）")
    out.print(f"别名：{'、'.join(d.aliases) or '—'}")
    out.print(f"代为报送的单位：{'、'.join(d.reports_for) or '—'}")
    out.print(f"决定机关可为任何单位的信息类别：{'、'.join(d.any_authority_for) or '—'}")
    out.print(f"统一社会信用代码：{d.uscc or '—'}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="departments")
