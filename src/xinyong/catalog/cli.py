"""`xinyong catalog …`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from xinyong.catalog.service import current_catalog
from xinyong.core.console import fail, out, print_json

app = typer.Typer(help="公共信用信息目录", no_args_is_help=True)


@app.command("list")
def list_items(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """列出目录条目及其法律依据和公开属性。"""
    catalog = current_catalog()
    items: list[dict[str, str]] = [
             {"code": i.code, "name": i.name, "category": catalog.categories[i.category],
              "disclosure": i.disclosure, "legal_basis": i.legal_basis, "fields": str(len(i.fields))}
             for i in catalog.items.values()]
    if as_json:
        print_json({"version": catalog.version, "sources": list(catalog.sources), "items": items})
        return
    out.print(f"目录版本 {catalog.version}（{'、'.join(catalog.sources)}）")
    t = Table("代码", "名称", "类别", "公开属性", "字段数", "法律依据", header_style="bold")
    for i in items:
        t.add_row(i["code"], i["name"], i["category"], i["disclosure"], i["fields"],
                  i["legal_basis"])
    out.print(t)


@app.command("show")
def show(code: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """显示一个目录条目的字段：中文表头、代码、类型、是否必填。"""
    item = current_catalog().item(code)
    if item is None:
        fail(f"目录中没有条目“{code}”")
    fields: list[dict[str, Any]] = [{"name": f.name, "label": f.label, "code": f.code, "type": f.type,
               "required": f.required, "enum": f.enum} for f in item.fields]
    if as_json:
        print_json({"code": item.code, "name": item.name, "legal_basis": item.legal_basis,
                    "fields": fields})
        return
    out.print(f"[bold]{item.name}[/bold]（{item.code}）  依据：{item.legal_basis}")
    t = Table("字段", "表头", "代码", "类型", "必填", header_style="bold")
    for f in fields:
        t.add_row(str(f["name"]), str(f["label"]), str(f["code"] or ""), str(f["type"]),
                  "是" if f["required"] else "")
    out.print(t)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="catalog")
