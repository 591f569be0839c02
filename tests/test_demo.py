"""The demo city through the real ingest path: every bad row returned, nothing else lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from xinyong.demo.accounts import DEMO_PASSWORD
from xinyong.demo.generator import generate_city
from xinyong.ingest import service as ingest

from .test_cli import xinyong
from .web.browser_server import free_port, wait_until_serving


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
    first = xinyong("demo", "--entities", "200", "--dir", str(tmp_path / "city"), "--no-serve",
                    check=True)
    assert "完成" in first.stdout and "xinyong subject show" in first.stdout
    assert "demo-reporter" in first.stdout and DEMO_PASSWORD in first.stdout
    assert "xy_" in first.stdout  # the system token, shown on the first run only
    quality = json.loads(xinyong("quality", "--json", check=True).stdout)
    assert len({q["department"] for q in quality}) >= 20
    second = xinyong("demo", "--entities", "200", "--dir", str(tmp_path / "city"), "--no-serve",
                     check=True)
    assert "跳过生成" in second.stdout and "demo-auditor" in second.stdout
    assert "xy_" not in second.stdout


def test_demo_serves_the_platform(tmp_path: Path) -> None:
    """`xinyong demo` builds the city and serves it: search, a subject page with a penalty
    in publicity, and a demo account that signs in."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "xinyong", "demo", "--entities", "200", "--dir", str(tmp_path / "city"),
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, lambda: server.poll() is None, 120)
        with httpx.Client(base_url=base) as client:
            uscc = client.get("/api/v1/publicity?kind=penalty&limit=1").json()["items"][0]["subject"]["uscc"]
            page = client.get(f"/subjects/{uscc}")
            assert page.status_code == 200 and "公示中" in page.text
            me = client.post("/api/v1/session", json={"username": "demo-reporter",
                                                      "password": DEMO_PASSWORD}).json()
            assert me["role"] == "reporter" and me["department"]
            assert client.get("/api/v1/batches").json()["items"]
    finally:
        server.terminate()
        server.wait(timeout=20)
