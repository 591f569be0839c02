"""The demo city through the real ingest path: every bad row returned, nothing else lost."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text

from xinyong.demo.generator import generate_city
from xinyong.ingest import service as ingest

from .test_cli import xinyong


def test_demo_city_ingests_with_exactly_the_planted_bad_rows_returned(
        engine: Engine, tmp_path: Path) -> None:
    batches = generate_city(tmp_path / "city", entities=300, seed=7)
    receipts = [ingest.ingest_file(engine, b.path, b.department, kind=b.kind,
                                   received=b.received, backfill=b.backfill) for b in batches]
    assert sum(r.rejected for r in receipts) == sum(b.bad_rows for b in batches) > 0
    assert sum(r.rows for r in receipts) == sum(b.rows for b in batches)
    assert sum(r.corrected for r in receipts) > 0
    for b, r in zip(batches, receipts, strict=True):
        if b.backfill:
            assert (r.on_time, r.late) == (0, 0)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM record")).scalar_one()
        kinds = {k for (k,) in conn.execute(text("SELECT DISTINCT kind FROM subject"))}
    assert stored == sum(r.new + r.corrected for r in receipts)
    assert kinds == {"organisation", "individual_business", "natural_person"}


def test_demo_command_builds_once_and_then_leaves_the_store_alone(tmp_path: Path) -> None:
    first = xinyong("demo", "--entities", "200", "--dir", str(tmp_path / "city"), check=True)
    assert "完成" in first.stdout and "xinyong subject show" in first.stdout
    quality = json.loads(xinyong("quality", "--json", check=True).stdout)
    assert len({q["department"] for q in quality}) >= 20
    second = xinyong("demo", "--entities", "200", "--dir", str(tmp_path / "city"), check=True)
    assert "跳过生成" in second.stdout
