"""`xinyong catalog …`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from xinyong.catalog.service import item_view, items_view
from xinyong.core.console import out, print_json

app = typer.Typer(help="公共信用信息目录", no_args_is_help=True)


@app.command("list")
def list_items(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """列出目录条目及其法律依据和公开属性。"""
    view = items_view()
    if as_json:
        print_json(view)
        return
    out.print(f"目录版本 {view['version']}（{'、'.join(view['sources'])}）")
    t = Table("代码", "名称", "类别", "公开属性", "字段数", "法律依据", header_style="bold")
    for i in view["items"]:
        t.add_row(i["code"], i["name"], i["category"], i["disclosure"], str(i["fields"]),
                  i["legal_basis"])
    out.print(t)


@app.command("show")
def show(code: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """显示一个目录条目的字段：中文表头、代码、类型、是否必填。"""
    item = item_view(code)
    if as_json:
        print_json(item)
        return
    out.print(f"[bold]{item['name']}[/bold]（{item['code']}）  依据：{item['legal_basis']}")
    t = Table("字段", "表头", "代码", "类型", "必填", header_style="bold")
    for f in item["fields"]:
        t.add_row(str(f["name"]), str(f["label"]), str(f["code"] or ""), str(f["type"]),
                  "是" if f["required"] else "")
    out.print(t)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="catalog")
