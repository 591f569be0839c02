"""`xinyong ingest` and `xinyong quality`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.core.console import engine, err, out, percent, print_json
from xinyong.core.dates import option_day
from xinyong.departments.cli import announce
from xinyong.ingest import service
from xinyong.ingest.rules import REASONS


def ingest(
    file: Annotated[Path, typer.Argument(help="要归集的文件：CSV（UTF-8/GBK）、XLSX 或 JSON Lines")],
    department: Annotated[str, typer.Option(
        "--department", "-d", help="报送部门名称或别名（尚未登记的部门会先登记，并提示）")],
    kind: Annotated[Optional[str], typer.Option(  # noqa: UP045 - typer needs Optional
        "--kind", "-k", help="信息类别：licence（行政许可）、penalty（行政处罚）或其他目录条目代码；"
        "省略时按表头识别")] = None,
    received: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--received", help="接收日期 YYYY-MM-DD（补录历史数据时使用），默认今天")] = None,
    backfill: Annotated[bool, typer.Option(
        "--backfill", help="历史数据补录：照常入库，但不评价及时性（平台上线前的存量数据）")] = False,
    correction: Annotated[bool, typer.Option(
        "--correction", help="更正现行版本：与记录旧版本相同的行也作为更正入库（有意恢复旧值时使用）；"
        "不给时这样的行作为过时数据退回，记录不变")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出回执")] = False,
) -> None:
    """归集一个部门报送的文件：校验每一行，入库有效数据，退回错误数据并生成错误报告。
    部门尚未登记时先登记（并提示）；行中的处罚机关/许可机关和数据来源单位须为该部门或其代报的单位。"""
    day = option_day(received)
    if sys.stderr.isatty() and not as_json:
        with Progress(TextColumn("归集中"), BarColumn(), TextColumn("{task.fields[rows]} 行"),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("ingest", total=1.0, rows=0)
            receipt = service.submit(
                engine(), file, department, kind=kind, received=day, backfill=backfill,
                correction=correction, register_new=True,
                progress=lambda rows, share: bar.update(task, completed=share, rows=rows))
    else:
        receipt = service.submit(engine(), file, department, kind=kind, received=day,
                                 backfill=backfill, correction=correction, register_new=True)
    if receipt.department_registered:
        announce(receipt.department)
    if as_json:
        print_json(receipt.as_dict())
        return
    _print_receipt(receipt)


def _print_receipt(r: service.Receipt) -> None:
    out.print(f"[bold]归集回执[/bold]  批次 {r.batch}  {r.department}  {r.kind_name}  {r.filename}")
    out.print(f"接收日期 {r.received}" + ("（历史数据补录，不评价及时性）" if r.backfill else "")
              + f"  格式 {r.format}"
              + (f"（{r.encoding}）" if r.encoding else "") + f"  目录版本 {r.catalog_version}")
    t = Table(show_header=True, header_style="bold")
    for col in ("报送行数", "接收", "退回", "新增", "更正", "未变", "过时", "及时", "迟报", "合规率",
                "及时率"):
        t.add_column(col, justify="right")
    t.add_row(str(r.rows), str(r.accepted), str(r.rejected), str(r.new), str(r.corrected),
              str(r.unchanged), str(r.stale), str(r.on_time), str(r.late),
              percent(r.compliance_rate), percent(r.timeliness_rate))
    out.print(t)
    if r.blank_rows:
        out.print(f"跳过空行 {r.blank_rows} 行")
    if r.free_text_ids:
        out.print(f"[yellow]{r.free_text_ids} 行的文字内容（如违法事实、备注）中写有身份证号码："
                  "公示时已遮蔽，今后报送请勿在文字内容中填写[/yellow]")
    if r.unknown_columns:
        out.print("[yellow]未识别的列（未入库）：[/yellow]" + "、".join(r.unknown_columns))
    if r.rejection_reasons:
        out.print("退回原因：" + "；".join(f"{service.reason_label(k)} {v}"
                                       for k, v in r.rejection_reasons.items()))
    if r.stale:
        out.print(f"[yellow]过时数据 {r.stale} 行：与记录已被更正的旧版本相同，未入库，记录不变；"
                  "如确要恢复旧值，请加 --correction 重新归集[/yellow]")
    if r.error_report:
        out.print(f"错误报告：{r.error_report}")


def quality(
    department: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--department", "-d", help="只看该部门")] = None,
    month: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--month", help="只看该月 YYYY-MM（按接收日期）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """各部门按月的报送质量：报送行数、合规率（接收/报送）、及时率（及时/首报）和退回原因。"""
    with engine().connect() as conn:
        rows = service.quality(conn, department=department, month=month)
    if as_json:
        print_json(rows)
        return
    t = Table(show_header=True, header_style="bold")
    t.add_column("部门", no_wrap=True)
    t.add_column("月份", no_wrap=True)
    for col in ("批次", "报送", "接收", "退回", "合规率", "及时率"):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("主要退回原因", overflow="fold")
    for g in rows:
        top = "；".join(f"{r['label']} {r['count']}" for r in g["rejections_by_reason"][:2])
        t.add_row(g["department"], g["month"], str(g["batches"]), str(g["rows"]),
                  str(g["accepted"]), str(g["rejected"]), percent(g["compliance_rate"]),
                  percent(g["timeliness_rate"]), top)
    out.print(t if rows else "没有报送记录")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("quality")(quality)


__all__ = ["REASONS", "register"]
