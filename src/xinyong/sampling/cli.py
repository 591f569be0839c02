"""`xinyong sampling …`: draw a plan from a plan file, verify a draw, export its published
inputs, re-run a draw from an exported file, list and show plans, record a result."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml
from rich.table import Table

from xinyong.core.console import engine, fail, operator, out, print_json
from xinyong.core.errors import InvalidInput
from xinyong.sampling import rules, service
from xinyong.sampling.error_codes import SamplingError

app = typer.Typer(no_args_is_help=True,
                  help="双随机一公开：按信用等级抽取检查对象和检查人员，核验抽取，登记并公开检查结果")
AsJson = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]



def _plan_file(path: Path) -> dict[str, Any]:
    """A plan file's YAML as a mapping; an unreadable file, text that is not UTF-8 or broken
    YAML is one Chinese message naming the file and the line."""
    name = f"抽查计划文件 {path}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{name}：无法读取（{exc.strerror or exc}）",
                           code=SamplingError.BAD_PLAN_FILE) from exc
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidInput(f"{name}：第 {line} 行不是 UTF-8 编码的文字（请以 UTF-8 保存，"
                           "如用 GBK 保存的文件须先转换）", code=SamplingError.BAD_PLAN_FILE) from exc
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{name}：{_yaml_problem(exc)}", code=SamplingError.BAD_PLAN_FILE) from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"{name}：顶层应为映射（name、department、scope、base_ratio …）",
                           code=SamplingError.BAD_PLAN_FILE)
    return raw


# PyYAML's problems, in words a department's staff can act on (the rest: a general hint).
YAML_HINTS = (
    ("mapping values are not allowed", "此处不能出现冒号：值中含冒号时请加引号，或检查缩进"),
    ("found character '\\t'", "不能用制表符（Tab）缩进，请改用空格"),
    ("could not find expected ':'", "缺少冒号“:”（每行应为 键: 值）"),
    ("found unexpected end of stream", "引号或括号没有闭合"),
    ("found duplicate anchor", "锚点重复"),
    ("expected ',' or ']'", "方括号列表 [...] 没有正确闭合或缺少逗号"),
    ("expected ',' or '}'", "花括号映射 {...} 没有正确闭合或缺少逗号"),
    ("did not find expected key", "缩进不一致或缺少键"),
    ("expected <block end>", "缩进不一致"),
    ("did not find expected '-' indicator", "列表项“- ”的缩进不一致"),
)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = str(getattr(exc, "problem", "") or "")
    hint = next((h for key, h in YAML_HINTS if key in problem), "YAML 格式有误，请检查缩进、冒号和引号")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return hint
    return f"第 {mark.line + 1} 行第 {mark.column + 1} 列：{hint}"


@app.command("draw")
def draw(plan_file: Annotated[Path, typer.Argument(help="抽查计划文件（YAML），格式见 docs/sampling.md")],
         as_json: AsJson = False) -> None:
    """按计划文件制定抽查计划并立即抽取（未给随机种子时随机生成并公布）。"""
    result = service.create_and_draw(engine(), operator(), _plan_file(plan_file))
    if as_json:
        print_json(result)
        return
    out.print(f"抽查计划 {result['plan']} 已抽取：随机种子 {result['seed']}，抽中 {len(result['sample'])} 户")
    _sample_table(result["sample"])


def _sample_table(sample: list[dict[str, Any]]) -> None:
    t = Table()
    for column in ("统一社会信用代码", "等级", "检查人员"):
        t.add_column(column, overflow="fold")
    for s in sample:
        t.add_row(s["subject"], s["grade"] or "未评级", "、".join(s["inspectors"]))
    out.print(t)


@app.command("verify")
def verify(plan_id: Annotated[int, typer.Argument(help="抽查计划编号")], as_json: AsJson = False) -> None:
    """用公开的输入重新抽取，核验与公布的样本和检查人员完全相同（相同退出码 0，否则非 0）。"""
    v = service.verify(engine(), plan_id)
    if as_json:
        print_json({"plan": v.plan, "ok": v.ok, "reason": v.reason, "sampled": v.sampled,
                    "population": v.population})
    elif v.ok:
        out.print(f"核验通过：{v.reason}")
    if not v.ok:
        fail(f"抽查计划 {plan_id} 核验未通过：{v.reason}", code=1)


@app.command("export")
def export(plan_id: Annotated[int, typer.Argument(help="抽查计划编号")],
           output: Annotated[Path | None, typer.Option("--output", "-o",
                                                       help="写入文件（默认输出到屏幕）")] = None) -> None:
    """导出一次抽取的公开输入（计划参数、随机种子、比例、含等级的名录及其 SHA-256、样本），供平台外核验。"""
    # grades are not public: the export is an audited read
    inputs = service.published_inputs(engine(), plan_id, reader=operator())
    if output is None:
        print_json(inputs)
        return
    output.write_bytes(orjson.dumps(inputs, option=orjson.OPT_INDENT_2) + b"\n")
    out.print(f"已导出抽查计划 {plan_id} 的公开输入：{output}（名录 {inputs['population_size']} 户）")


@app.command("rerun")
def rerun(inputs_file: Annotated[Path, typer.Argument(help="export 导出的公开输入（JSON）")],
          as_json: AsJson = False) -> None:
    """只凭导出的公开输入重新抽取（不读数据库），并与其中的样本比较。"""
    try:
        inputs = orjson.loads(inputs_file.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        fail(f"无法读取公开输入 {inputs_file}：{exc}")
    pairs = [(u, g) for u, g in inputs.get("population", [])]
    if rules.population_digest(pairs) != inputs.get("population_sha256"):
        fail("名录与文件中的 SHA-256 不符（名录被改动）", code=1)
    mismatch = service.ratio_mismatch(inputs)
    if mismatch is not None:
        fail(mismatch, code=1)
    again = [d.as_dict() for d in service.rerun(inputs)]
    same = again == inputs.get("sample")
    if as_json:
        print_json({"plan": inputs.get("plan_id"), "ok": same, "sample": again})
    elif same:
        out.print(f"重新抽取的 {len(again)} 户及检查人员与公布的完全相同。")
    if not same:
        fail("重新抽取的结果与文件中的样本不同", code=1)


@app.command("list")
def list_plans(department: Annotated[str | None, typer.Option("--department", help="只看该部门")] = None,
               as_json: AsJson = False) -> None:
    """列出抽查计划（最新在前）。"""
    rows = service.plans(engine(), department=department, limit=200)
    if as_json:
        print_json(rows)
        return
    t = Table()
    for column in ("编号", "计划", "部门", "状态", "随机种子", "名录", "抽中", "已登记结果"):
        t.add_column(column, overflow="fold")
    for p in rows:
        t.add_row(str(p["id"]), p["name"], p["department"], p["status_name"], p["seed"] or "—",
                  str(p["population_size"] or "—"), str(p["sampled"]), str(p["results"]))
    out.print(t if rows else "还没有抽查计划。")


@app.command("show")
def show(plan_id: Annotated[int, typer.Argument(help="抽查计划编号")], as_json: AsJson = False) -> None:
    """显示一个抽查计划：参数、随机种子、样本、检查人员和检查结果。"""
    view = service.plan_view(engine(), plan_id, reader=operator())
    if as_json:
        print_json(view)
        return
    out.print(f"抽查计划 {view['id']} {view['name']} · {view['department']} · {view['status_name']}")
    out.print(f"基础比例 {view['base_ratio']}，各层比例 "
              + "、".join(f"{g} {r}" for g, r in view["ratios"].items()))
    if view["seed"]:
        out.print(f"随机种子 {view['seed']} · 名录 {view['population_size']} 户 · "
                  f"SHA-256 {view['population_sha256']}")
    t = Table()
    for column in ("统一社会信用代码", "名称", "等级", "检查人员", "检查结果"):
        t.add_column(column, overflow="fold")
    for s in view["sample"]:
        r = s["result"]
        t.add_row(s["subject"], s["name"], s["grade"] or "未评级", "、".join(s["inspectors"]),
                  "—" if r is None else f"{r['outcome_name']}（{r['inspected_on']}）")
    out.print(t)


@app.command("result")
def record_result(
    plan_id: Annotated[int, typer.Argument(help="抽查计划编号")],
    uscc: Annotated[str, typer.Argument(help="抽中的检查对象的统一社会信用代码")],
    outcome: Annotated[str, typer.Option("--outcome",
                                         help="检查结果代码（见 data/sampling.yaml 的 outcomes）")],
    findings: Annotated[str | None, typer.Option("--findings", help="发现的问题")] = None,
    inspected_on: Annotated[str | None, typer.Option("--date", help="检查日期 YYYY-MM-DD，默认今天")] = None,
    inspector: Annotated[list[str] | None,
                         typer.Option("--inspector", help="实际检查人员（可多次；默认抽中的人员）")] = None,
    as_json: AsJson = False,
) -> None:
    """登记一户的检查结果（同时作为信用记录归集）。"""
    try:
        day = date.fromisoformat(inspected_on.strip()) if inspected_on else date.today()
    except ValueError:
        fail(f"--date 应为日期 YYYY-MM-DD，而不是 {inspected_on}")
    result = service.record_result(engine(), operator(), plan_id, uscc, outcome, inspected_on=day,
                                   findings=findings, inspectors=inspector)
    if as_json:
        print_json(result)
        return
    out.print(f"已登记 {result['subject']} 的检查结果：{result['outcome_name']}"
              f"（归集批次 {result['batch']}）")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sampling")
