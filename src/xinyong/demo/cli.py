"""`xinyong demo`: build the demo city through the real ingest path."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, select, text

from xinyong.accounts.rules import role_table
from xinyong.core.audit import SYSTEM
from xinyong.core.console import engine, err, out, percent
from xinyong.core.settings import get_settings
from xinyong.demo import accounts as accounts_demo
from xinyong.demo import service as demo_service
from xinyong.demo.accounts import DEMO_PASSWORD
from xinyong.demo.generator import DemoBatch, generate_city
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest
from xinyong.publicity.service import in_publicity
from xinyong.sampling import service as sampling
from xinyong.subjects.models import Record, Subject
from xinyong.web.cli import serve as serve_platform


def demo(
    entities: Annotated[int, typer.Option("--entities", "-n", min=10,
                                          help="演示城市的组织数量")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子：相同种子生成相同城市")] = 20261122,
    folder: Annotated[Path, typer.Option("--dir", help="生成的报送文件存放目录")] = Path("demo-city"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="建好后启动平台")] = True,
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="端口")] = 8000,
) -> None:
    """生成一个演示城市（约30个部门报送的行政许可、行政处罚文件，含约2%错误行），
    经真实归集流程入库，为每个角色建一个演示账号，然后启动平台（默认 http://127.0.0.1:8000）。"""
    eng = engine()
    with eng.connect() as conn:
        existing = conn.execute(text("SELECT COUNT(*) FROM batch")).scalar_one()
    if existing:
        out.print(f"数据库中已有 {existing} 个批次，跳过生成（{get_settings().database_url}）。"
                  "如需重建，请删除数据库文件后重试。")
    else:
        _build(eng, entities, seed, folder)
    _sign_ins(eng, f"http://{host}:{port}")
    if serve:
        sample = _sample(eng)
        if sample:
            out.print(f"有公示中行政处罚的主体：{sample[1]}  http://{host}:{port}/subjects/{sample[0]}")
        serve_platform(host, port, banner=f"演示平台：http://{host}:{port}/  "
                       f"（工作台 /console，接口文档 /api/v1/docs；Ctrl+C 停止）")


def _sign_ins(eng: Engine, base: str = "http://127.0.0.1:8000") -> None:
    """One demo account per role that signs in with a password, and a token for systems.
    The token's secret exists only when it is made, so it is printed on the first run only."""
    sample = _sample(eng)
    made, token = accounts_demo.sign_ins(eng, DEMO_PASSWORD, sample[0] if sample else None)
    table = Table("角色", "用户名", "密码", "部门或主体", header_style="bold", title="演示账号（仅供演示）")
    for a in made:
        table.add_row(role_table().role(a.role).name, a.username, DEMO_PASSWORD,
                      a.department or a.subject_uscc or "")
    out.print(table)
    if token:
        out.print(f"业务系统接口令牌（只显示这一次）：{token}")
        out.print(f"  curl -H 'Authorization: Bearer <令牌>' {base}/api/v1/batches")
    else:
        out.print("业务系统接口令牌已在首次生成时显示；可用 xinyong token create 另行签发。")


def _build(eng: Engine, entities: int, seed: int, folder: Path) -> None:
    started = time.perf_counter()
    out.print(f"生成演示城市：{entities:,} 个组织 → {folder}/")
    batches = generate_city(folder, entities=entities, seed=seed)
    generated = time.perf_counter() - started
    _register_departments(eng, batches)
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
    demo_service.refresh_search(eng)  # make the new subjects findable by name
    _supervise(eng)
    elapsed = time.perf_counter() - started
    out.print(f"完成：{len(batches)} 个批次，{totals['rows']:,} 行，接收 {totals['accepted']:,}，"
              f"退回 {totals['rejected']:,}，更正 {totals['corrected']:,}；"
              f"合规率 {percent(totals['accepted'] / totals['rows'] if totals['rows'] else None)}，"
              f"及时率 {percent(_share(totals['on_time'], totals['late']))}。"
              f"用时 {elapsed:.1f} 秒（生成 {generated:.1f} 秒）。")
    out.print("试试：")
    out.print("  xinyong quality                       # 各部门报送质量")
    out.print("  xinyong uscc issues                   # 重错码工作队列")
    sample = _sample(eng)
    if sample:
        out.print(f"  xinyong subject show {sample[0]}   # {sample[1]}（有公示中的行政处罚）")


def _register_departments(eng: Engine, batches: list[DemoBatch]) -> None:
    """The city's departments go into the registry before they report, each with its code,
    as a platform going live lists its departments first."""
    codes = {b.department: b.department_uscc for b in batches}
    demo_service.register_departments(eng, codes)
    out.print(f"登记报送部门：{len(codes)} 个")


def _supervise(eng: Engine) -> None:
    """What the credit office does once the data is in: grade every organisation, raise the
    risk warnings, and let the busiest department draw a random inspection plan — so the
    console's 综合评价, 风险预警 and 双随机抽查 pages have something to show."""
    for scorecard in ("public", "construction"):
        run = evaluation.evaluate(eng, SYSTEM, scorecard=scorecard)
        grades = "，".join(f"{g} {n:,}" for g, n in run.grades.items())
        out.print(f"综合评价（{scorecard} {run.version}）：{run.evaluated:,} 个组织（{grades}）")
    raised, department = demo_service.raise_warnings(eng)
    out.print(f"信用风险预警：新发 {raised} 条")
    plan = sampling.create_and_draw(eng, SYSTEM, {
        "name": f"{date.today().year}年度双随机抽查（演示）", "department": department,
        "base_ratio": "3%", "inspectors": [f"执法人员{n:02d}" for n in range(1, 13)],
        "inspectors_per_subject": 2, "seed": f"demo-{date.today().isoformat()}"})
    out.print(f"双随机抽查计划 {plan['plan']}（{department}）：抽取 {len(plan['sample'])} 个检查对象，"
              f"随机种子 {plan['seed']}")


def _sample(eng: Engine) -> tuple[str, str] | None:
    """A subject with a penalty in publicity today, to point people at."""
    t = Record.__table__
    with eng.connect() as conn:
        row = conn.execute(
            select(Subject.uscc, Subject.name).join(t, t.c.subject_id == Subject.id)
            .where(t.c.item_code == "penalty", t.c.status == "current", Subject.uscc.is_not(None),
                   in_publicity(t, date.today()))
            .order_by(Subject.id).limit(1)).first()
    return (str(row.uscc), str(row.name)) if row else None


def _share(part: int, rest: int) -> float | None:
    return part / (part + rest) if part + rest else None


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
