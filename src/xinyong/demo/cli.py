"""`xinyong demo`: build the demo city through the real ingest path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text

from xinyong.core.console import engine, err, out, percent
from xinyong.core.db import writing
from xinyong.core.settings import get_settings
from xinyong.demo.generator import generate_city
from xinyong.ingest import service as ingest
from xinyong.subjects import search


def demo(
    entities: Annotated[int, typer.Option("--entities", "-n", min=10,
                                          help="演示城市的组织数量")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子：相同种子生成相同城市")] = 20261122,
    folder: Annotated[Path, typer.Option("--dir", help="生成的报送文件存放目录")] = Path("demo-city"),
) -> None:
    """生成一个演示城市（约30个部门报送的行政许可、行政处罚文件，含约2%错误行），
    经真实归集流程入库，并打印归集结果。"""
    eng = engine()
    with eng.connect() as conn:
        existing = conn.execute(text("SELECT COUNT(*) FROM batch")).scalar_one()
    if existing:
        out.print(f"数据库中已有 {existing} 个批次，跳过生成（{get_settings().database_url}）。"
                  "如需重建，请删除数据库文件后重试。")
        return
    started = time.perf_counter()
    out.print(f"生成演示城市：{entities:,} 个组织 → {folder}/")
    batches = generate_city(folder, entities=entities, seed=seed)
    generated = time.perf_counter() - started
    totals = {"rows": 0, "accepted": 0, "rejected": 0, "new": 0, "corrected": 0,
              "on_time": 0, "late": 0}
    with Progress(TextColumn("归集"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rows]:,} 行"), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("ingest", total=len(batches), rows=0)
        for b in batches:
            receipt = ingest.ingest_file(eng, b.path, b.department, kind=b.kind,
                                         received=b.received, backfill=b.backfill)
            for k in totals:
                totals[k] += getattr(receipt, k)
            bar.update(task, advance=1, rows=totals["rows"])
    with writing(eng) as conn:
        search.refresh(conn)  # make the new subjects findable by name
    elapsed = time.perf_counter() - started
    out.print(f"完成：{len(batches)} 个批次，{totals['rows']:,} 行，接收 {totals['accepted']:,}，"
              f"退回 {totals['rejected']:,}，更正 {totals['corrected']:,}；"
              f"合规率 {percent(totals['accepted'] / totals['rows'] if totals['rows'] else None)}，"
              f"及时率 {percent(_share(totals['on_time'], totals['late']))}。"
              f"用时 {elapsed:.1f} 秒（生成 {generated:.1f} 秒）。")
    with eng.connect() as conn:
        sample = conn.execute(text(
            "SELECT s.uscc, s.name FROM subject s JOIN record r ON r.subject_id = s.id "
            "WHERE r.item_code = 'penalty' AND s.uscc IS NOT NULL ORDER BY s.id LIMIT 1")).first()
    out.print("试试：")
    out.print("  xinyong quality                       # 各部门报送质量")
    out.print("  xinyong uscc issues                   # 重错码工作队列")
    if sample:
        out.print(f"  xinyong subject show {sample.uscc}   # {sample.name}")


def _share(part: int, rest: int) -> float | None:
    return part / (part + rest) if part + rest else None


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
