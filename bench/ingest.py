"""Ingest benchmark (issue: foundation). Prints figures; never a pass/fail test.

Generates N penalty rows in the national template (CSV, UTF-8), then on each engine:
- the floor: parse the same file with the csv module and load the parsed rows into one plain
  table (SQLite: executemany; PostgreSQL: COPY), in one transaction;
- the full ingest through `xinyong.ingest.service.ingest_file` in a child process (validation,
  subjects, versions, indexes, rejected rows, receipt, audit), timed inside the child and its
  peak RSS read from the kernel when it exits.
Floor and ingest run alternately `--repeat` times (this machine's speed drifts by ±20 %
between minutes, so a single pair can mislead); the report gives every pair and the median.
Bar: full ingest within 3x the floor and under 1 GiB RSS.

    python bench/ingest.py [--rows 1000000] [--repeat 3] [--postgres URL|auto] [--workdir bench/out]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECEIVED = "2026-11-20"


def generate(path: Path, rows: int) -> None:
    from xinyong.demo.generator import write_penalty_file

    if path.exists():
        print(f"input: reusing {path} ({path.stat().st_size / 2**20:.0f} MiB)")
        return
    t = time.perf_counter()
    bad = write_penalty_file(path, rows, seed=1)
    print(f"input: {rows:,} rows, {bad:,} bad, {path.stat().st_size / 2**20:.0f} MiB, "
          f"generated in {time.perf_counter() - t:.1f} s")


def floor_sqlite(path: Path, db: Path) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    t = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        con.execute(f"CREATE TABLE t ({', '.join(f'c{i} TEXT' for i in range(len(header)))})")
        con.execute("BEGIN")
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(header))})", reader)
        con.execute("COMMIT")
    con.close()
    return time.perf_counter() - t


def floor_postgres(path: Path, url: str) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t = time.perf_counter()
    with psycopg.connect(dsn) as con, con.cursor() as cur:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            cols = ", ".join(f"c{i} TEXT" for i in range(len(header)))
            cur.execute("DROP TABLE IF EXISTS floor_t")
            cur.execute(f"CREATE TABLE floor_t ({cols})")
            with cur.copy("COPY floor_t FROM STDIN") as copy:
                for row in reader:
                    copy.write_row(row)
        con.commit()
    return time.perf_counter() - t


BENCH_DB = "xinyong_bench"


def fresh_database(url: str) -> str:
    """An empty database beside the one `url` names, so every run starts from nothing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from xinyong.core.db import normalise_url

    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    admin.dispose()
    return make_url(normalise_url(url)).set(database=BENCH_DB).render_as_string(
        hide_password=False)


@contextmanager
def postgres_server(arg: str) -> Iterator[str]:
    """The server a `--postgres` argument names; with `auto`, a private one started from the
    installed binaries for the run and stopped after it."""
    if arg != "auto":
        yield arg
        return
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import TempPostgres

    server = TempPostgres()
    try:
        yield server.start()
    finally:
        server.stop()


def drop_database(url: str, _fresh: str) -> None:
    from sqlalchemy import create_engine, text

    from xinyong.core.db import normalise_url

    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
    admin.dispose()


DEPARTMENT = "厦门市市场监督管理局"


def register_reporter(engine: object) -> None:
    """The file holds the decisions of every department of the demo city (real files hold one
    department's, but the benchmark keeps its input): register the loading department as
    reporting for all of them, so its rows pass the registry's check as they would."""
    from importlib import resources

    import yaml

    from xinyong.core.audit import SYSTEM
    from xinyong.core.db import writing
    from xinyong.departments import service as departments

    city = yaml.safe_load(resources.files("xinyong.data").joinpath("demo_city.yaml").read_text())
    bodies = [d["name"] for d in city["departments"] if d["name"] != DEPARTMENT]
    with writing(engine) as conn:  # type: ignore[arg-type]
        departments.register(conn, SYSTEM, DEPARTMENT, reports_for=bodies)


def child(path: Path, url: str, files: Path) -> None:
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ["XINYONG_FILES_DIR"] = str(files)
    from xinyong.core.db import ensure_schema, make_engine
    from xinyong.ingest.service import ingest_file

    engine = make_engine()
    ensure_schema(engine)
    register_reporter(engine)
    t = time.perf_counter()
    receipt = ingest_file(engine, path, DEPARTMENT, kind="penalty",
                          received=date.fromisoformat(RECEIVED))
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "rows": receipt.rows, "accepted": receipt.accepted,
                      "rejected": receipt.rejected}))


def full_ingest(path: Path, url: str, files: Path) -> tuple[dict[str, float], float]:
    shutil.rmtree(files, ignore_errors=True)
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(path), url, str(files)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode})")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def report(engine: str, rows: int, runs: list[tuple[float, dict[str, float], float]]) -> None:
    loader = "COPY" if engine == "postgresql" else "executemany"
    print(f"\n[{engine}]")
    for i, (floor, result, rss) in enumerate(runs, 1):
        print(f"  run {i}: floor (csv + {loader} into one plain table) {floor:.2f} s, "
              f"full ingest {result['seconds']:.2f} s, ratio {result['seconds'] / floor:.2f}x, "
              f"peak RSS {rss:,.0f} MiB")
    floor = statistics.median(f for f, _, _ in runs)
    seconds = statistics.median(r["seconds"] for _, r, _ in runs)
    ratio = statistics.median(r["seconds"] / f for f, r, _ in runs)
    rss = max(m for _, _, m in runs)
    result = runs[0][1]
    print(f"  median floor: {floor:.2f} s  ({rows / floor:,.0f} rows/s)")
    print(f"  median full ingest: {seconds:.2f} s  ({rows / seconds:,.0f} rows/s), "
          f"accepted {int(result['accepted']):,}, rejected {int(result['rejected']):,}")
    print(f"  median ratio to floor: {ratio:.2f}x  (bar 3.00x: {'met' if ratio <= 3 else 'NOT met'})")
    print(f"  peak RSS: {rss:,.0f} MiB  (bar 1024 MiB: {'met' if rss < 1024 else 'NOT met'})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--repeat", type=int, default=3, help="floor/ingest pairs per engine")
    p.add_argument("--postgres", help="PostgreSQL URL, or 'auto' to start a private server")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"penalties-{args.rows}.csv"
    generate(path, args.rows)

    db = args.workdir / "bench.db"
    runs = []
    for _ in range(args.repeat):
        floor = floor_sqlite(path, args.workdir / "floor.db")
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        runs.append((floor, *full_ingest(path, f"sqlite:///{db}", args.workdir / "files")))
    report("sqlite", args.rows, runs)

    if args.postgres:
        with postgres_server(args.postgres) as url:
            runs = []
            for _ in range(args.repeat):
                fresh = fresh_database(url)
                floor = floor_postgres(path, fresh)
                runs.append((floor, *full_ingest(path, fresh, args.workdir / "files-pg")))
                drop_database(url, fresh)
            report("postgresql", args.rows, runs)


if __name__ == "__main__":
    main()
