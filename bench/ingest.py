"""Ingest benchmark (issue: foundation). Prints figures; never a pass/fail test.

Generates N penalty rows in the national template (CSV, UTF-8), then on each engine:
- the floor: parse the same file with the csv module and load the parsed rows into one plain
  table (SQLite: executemany; PostgreSQL: COPY), in one transaction;
- the full ingest through `xinyong.ingest.service.ingest_file` in a child process (validation,
  subjects, versions, indexes, rejected rows, receipt, audit), timed inside the child and its
  peak RSS read from the kernel when it exits.
Bar: full ingest within 3x the floor and under 1 GiB RSS.

    python bench/ingest.py [--rows 1000000] [--postgres URL|auto] [--workdir bench/out]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
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


def drop_database(url: str, _fresh: str) -> None:
    from sqlalchemy import create_engine, text

    from xinyong.core.db import normalise_url

    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
    admin.dispose()


def child(path: Path, url: str, files: Path) -> None:
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ["XINYONG_FILES_DIR"] = str(files)
    from xinyong.core.db import ensure_schema, make_engine
    from xinyong.ingest.service import ingest_file

    engine = make_engine()
    ensure_schema(engine)
    t = time.perf_counter()
    receipt = ingest_file(engine, path, "厦门市市场监督管理局", kind="penalty",
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


def report(engine: str, rows: int, floor: float, result: dict[str, float], rss: float) -> None:
    ratio = result["seconds"] / floor
    print(f"\n[{engine}]")
    print(f"  floor (csv + {'COPY' if engine == 'postgresql' else 'executemany'} into one plain "
          f"table): {floor:.2f} s  ({rows / floor:,.0f} rows/s)")
    print(f"  full ingest: {result['seconds']:.2f} s  ({rows / result['seconds']:,.0f} rows/s), "
          f"accepted {int(result['accepted']):,}, rejected {int(result['rejected']):,}")
    print(f"  ratio to floor: {ratio:.2f}x  (bar 3.00x: {'met' if ratio <= 3 else 'NOT met'})")
    print(f"  peak RSS: {rss:,.0f} MiB  (bar 1024 MiB: {'met' if rss < 1024 else 'NOT met'})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--postgres", help="PostgreSQL URL, or 'auto' to start a private server")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"penalties-{args.rows}.csv"
    generate(path, args.rows)

    db = args.workdir / "bench.db"
    floor = floor_sqlite(path, args.workdir / "floor.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    result, rss = full_ingest(path, f"sqlite:///{db}", args.workdir / "files")
    report("sqlite", args.rows, floor, result, rss)

    if args.postgres:
        server = None
        url = args.postgres
        if url == "auto":
            sys.path.insert(0, str(ROOT))
            from tests.pg_server import TempPostgres

            server = TempPostgres()
            url = server.start()
        fresh = fresh_database(url)
        try:
            floor = floor_postgres(path, fresh)
            result, rss = full_ingest(path, fresh, args.workdir / "files-pg")
            report("postgresql", args.rows, floor, result, rss)
        finally:
            drop_database(url, fresh)
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
