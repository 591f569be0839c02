"""`xinyong sampling` through the real command: draw a plan file (`--json` exactly as issue 6
states), verify (exit 0, then non-zero after tampering), export the published inputs and re-run
them without the database; a bad plan file is one clear Chinese line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import update

from xinyong.core.audit import SYSTEM
from xinyong.core.db import ensure_schema, make_engine, writing
from xinyong.core.settings import get_settings
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest
from xinyong.sampling.models import SamplingDraw

from ..factories import write_csv
from ..test_cli import xinyong
from .test_service import DEPT, offender

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
    finally:
        engine.dispose()
