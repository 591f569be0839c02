"""`xinyong sampling` through the real command: draw a plan file (`--json` exactly as issue 6
states), verify (exit 0, then non-zero after tampering), export the published inputs and re-run
them without the database; a bad plan file is one clear Chinese line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from xinyong.core.audit import SYSTEM, AuditEvent
from xinyong.core.db import ensure_schema, make_engine, writing
from xinyong.core.settings import get_settings
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest
from xinyong.sampling.models import SamplingDraw

from ..factories import write_csv
from ..test_cli import xinyong
from .test_service import DEPT, offender

DOCS = Path(__file__).parents[2] / "docs" / "sampling.md"
PLAN = """\
name: 2026年第四季度双随机抽查
department: 厦门市思明区市场监督管理局
scope: {districts: ["350203"], kinds: [organisation]}
base_ratio: 30%
multipliers: {D: 3}
inspectors: [张一, 李二, 王三]
inspectors_per_subject: 2
seed: cli-2026
"""


def test_draw_verify_export_rerun_and_tampering(tmp_path: Path) -> None:
    engine = make_engine(get_settings().database_url)
    ensure_schema(engine)
    try:
        rows = [offender(n, 0) for n in range(1, 21)]
        ingest.ingest_file(engine, write_csv(tmp_path / "p.csv", rows), DEPT)
        evaluation.evaluate(engine, SYSTEM)
        (tmp_path / "plan.yaml").write_text(PLAN, "utf-8")
        r = xinyong("sampling", "draw", str(tmp_path / "plan.yaml"), "--json", check=True)
        out = json.loads(r.stdout)
        assert set(out) == {"plan", "seed", "sample"} and out["seed"] == "cli-2026"
        assert out["sample"] and set(out["sample"][0]) == {"subject", "grade", "inspectors"}
        plan = str(out["plan"])
        assert xinyong("sampling", "verify", plan).returncode == 0
        xinyong("sampling", "export", plan, "-o", str(tmp_path / "inputs.json"), check=True)
        rerun = json.loads(xinyong("sampling", "rerun", str(tmp_path / "inputs.json"), "--json",
                                   check=True).stdout)
        assert rerun["ok"] is True and rerun["sample"] == out["sample"]
        assert json.loads((tmp_path / "inputs.json").read_text("utf-8"))["population_size"] == 20
        # the standalone snippet of docs/sampling.md, as printed there, re-runs the export
        snippet = DOCS.read_text("utf-8").split("```python\n", 1)[1].split("```", 1)[0]
        ran = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True)
        assert ran.stdout.strip() == "identical", ran.stderr

        d = SamplingDraw.__table__
        with writing(engine) as conn:
            conn.execute(update(d).where(d.c.plan_id == out["plan"], d.c.position == 0)
                         .values(inspectors='["冒名顶替"]'))
        failed = xinyong("sampling", "verify", plan)
        assert failed.returncode != 0 and "核验未通过" in failed.stderr

        (tmp_path / "bad.yaml").write_text(PLAN.replace("base_ratio: 30%", "base_ratio: 2"), "utf-8")
        bad = xinyong("sampling", "draw", str(tmp_path / "bad.yaml"), "--json")
        assert bad.returncode == 2 and bad.stdout == "" and "基础抽查比例" in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1

        # the export of the inputs (every subject's grade) is an audited read
        with engine.connect() as conn:
            reads = conn.execute(select(AuditEvent.actor).where(
                AuditEvent.action == "sampling.inputs_read", AuditEvent.object_id == plan)).scalars().all()
        assert len(reads) == 1 and reads[0].startswith("cli:")
        # an exported file whose ratios do not follow from its plan's parameters is refused
        doc = json.loads((tmp_path / "inputs.json").read_text("utf-8"))
        doc["ratios"]["D"] = "1"
        (tmp_path / "forged.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        forged = xinyong("sampling", "rerun", str(tmp_path / "forged.json"))
        assert forged.returncode == 1 and "比例与公开的计划参数不符" in forged.stderr
    finally:
        engine.dispose()


def test_a_plan_file_not_in_utf8_or_with_broken_yaml_is_one_chinese_line_with_its_line(
        tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes(PLAN.encode("gbk"))
    for path, words in [
            (gbk, "第 1 行不是 UTF-8"),
            (_write(tmp_path / "colon.yaml", PLAN.replace("base_ratio: 30%", "base_ratio: 30%: 40%")),
             "第 4 行"),
            (_write(tmp_path / "tab.yaml",
                    PLAN.replace("inspectors_per_subject", "\tinspectors_per_subject")),
             "制表符"),
            (_write(tmp_path / "open.yaml", PLAN.replace("[张一, 李二, 王三]", "[张一, 李二")), "行")]:
        r = xinyong("sampling", "draw", str(path), "--json")
        assert r.returncode == 2 and r.stdout == "", r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "抽查计划文件" in lines[0], lines
        assert "Error" not in lines[0] and "mapping values" not in lines[0] and "内部错误" not in lines[0]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path
