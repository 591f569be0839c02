"""Ingest benchmark (issues: foundation, real-shaped data). Prints figures; never a pass/fail test.

Input (`--shape`):
- `real` (the default): a penalty file shaped like a real department's, from
  `xinyong.demo.realshape` — one department; about 80 % of rows name a subject new to the
  file (the repeats a skewed tail of frequent offenders), about 20 % natural persons, unique
  document numbers, 违法事实 and 处罚内容 distinct per case, 2 % bad rows of eight kinds. The
  cardinalities actually written are printed with the input.
- `easy`: the old input (`write_penalty_file`: subjects from a pool of rows // 10, 64
  outcome texts per department, the whole city's departments in one file), for comparison
  only — it flatters the platform.

On each engine, alternately `--repeat` times (this machine's speed drifts by ±20 % between
minutes, so a single pair can mislead):
- the floor: parse the same file with the csv module and load the rows into one plain table
  (SQLite: executemany; PostgreSQL: COPY), in one transaction;
- the whole wait: the `xinyong ingest FILE …` process from start to exit (imports, schema
  check, validation, store, commit, search-index refresh), on a store already migrated with
  the department registered, as an operator would run it; its peak RSS from the kernel.
Then once, in-process, where the time goes (`--split`, on by default): validation (time
waiting on the prepared chunks, parsing included), subjects (resolving and creating),
records, rejected rows and their report, commit, and the search-index refresh.
Bar: whole wait within 3x the floor and under 1 GiB RSS.

    python bench/ingest.py [--rows 1000000] [--shape real|easy] [--repeat 3]
                           [--postgres URL|auto] [--workdir bench/out] [--no-split]
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECEIVED = "2026-11-20"


REAL_DEPARTMENT = "厦门市思明区市场监督管理局"
REAL_DEPARTMENT_USCC = "11350203MB0000019C"


def generate(path: Path, rows: int, shape: str) -> None:
    stats_path = path.with_suffix(".json")
    if path.exists() and stats_path.exists():
        print(f"input: reusing {path} ({path.stat().st_size / 2**20:.0f} MiB): "
              f"{stats_path.read_text().strip()}")
        return
    t = time.perf_counter()
    if shape == "real":
        from xinyong.demo.realshape import write_real_penalty_file

        stats = write_real_penalty_file(path, rows, department=REAL_DEPARTMENT,
                                        department_uscc=REAL_DEPARTMENT_USCC).as_dict()
    else:
        from xinyong.demo.generator import write_penalty_file

        stats = {"rows": rows, "bad_rows": write_penalty_file(path, rows, seed=1),
                 "subject_pool": max(100, min(rows // 10, 200_000)), "outcome_texts": 64}
    stats_path.write_text(json.dumps(stats, ensure_ascii=False) + "\n")
    print(f"input ({shape}): {path.stat().st_size / 2**20:.0f} MiB, generated in "
          f"{time.perf_counter() - t:.1f} s: {json.dumps(stats, ensure_ascii=False)}")


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


EASY_DEPARTMENT = "厦门市市场监督管理局"


def department_for(shape: str) -> str:
    return REAL_DEPARTMENT if shape == "real" else EASY_DEPARTMENT


def register_department(engine: object, shape: str) -> None:
    """Register the loading department. A real file holds its own department's decisions;
    the easy file holds every department of the demo city, so there its loader is registered
    as reporting for all of them, and its rows pass the registry's check as they would."""
    from importlib import resources

    import yaml

    from xinyong.core.audit import SYSTEM
    from xinyong.core.db import writing
    from xinyong.departments import service as departments

    if shape == "real":
        with writing(engine) as conn:  # type: ignore[arg-type]
            departments.register(conn, SYSTEM, REAL_DEPARTMENT, uscc=REAL_DEPARTMENT_USCC)
        return
    city = yaml.safe_load(resources.files("xinyong.data").joinpath("demo_city.yaml").read_text())
    bodies = [d["name"] for d in city["departments"] if d["name"] != EASY_DEPARTMENT]
    with writing(engine) as conn:  # type: ignore[arg-type]
        departments.register(conn, SYSTEM, EASY_DEPARTMENT, reports_for=bodies)


def prepare_store(url: str, files: Path, shape: str) -> None:
    """A migrated store with the department registered: what an operator has before a load."""
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ["XINYONG_FILES_DIR"] = str(files)
    from xinyong.core.db import ensure_schema, make_engine

    engine = make_engine()
    ensure_schema(engine)
    register_department(engine, shape)
    engine.dispose()


def _env(url: str, files: Path) -> dict[str, str]:
    return {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_FILES_DIR": str(files)}


def whole_wait(path: Path, url: str, files: Path, shape: str) -> tuple[dict[str, float], float]:
    """`xinyong ingest` from spawn to exit, and its peak RSS (MiB)."""
    shutil.rmtree(files, ignore_errors=True)
    subprocess.run([sys.executable, __file__, "--prepare", url, str(files), shape], check=True)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "xinyong", "ingest", str(path),
                             "-d", department_for(shape), "--kind", "penalty",
                             "--received", RECEIVED, "--json"],
                            stdout=subprocess.PIPE, text=True, env=_env(url, files))
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"xinyong ingest failed ({os.waitstatus_to_exitcode(status)})")
    receipt = json.loads(output)
    return ({"seconds": seconds, "rows": receipt["rows"], "accepted": receipt["accepted"],
             "rejected": receipt["rejected"]}, usage.ru_maxrss / 1024)


class _Clock:
    """Seconds spent inside the wrapped functions, by part."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self.last_audit = 0.0

    def wrap(self, part: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.parts[part] = self.parts.get(part, 0.0) + time.perf_counter() - t
        return timed

    def wrap_iterator(self, part: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            it = iter(fn(*args, **kwargs))
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    self.parts[part] = self.parts.get(part, 0.0) + time.perf_counter() - t
                yield item
        return timed


def split_child(path: Path, url: str, files: Path, shape: str) -> None:
    """One in-process ingest with its parts timed (run in a fresh process)."""
    prepare_store(url, files, shape)
    from xinyong.core import audit
    from xinyong.core.db import make_engine
    from xinyong.ingest import service
    from xinyong.subjects import search
    from xinyong.subjects import service as subjects

    clock = _Clock()
    service.prepared = clock.wrap_iterator("validate (wait on prepared chunks)", service.prepared)
    subjects.SubjectResolver.resolve = clock.wrap(  # type: ignore[method-assign]
        "subjects (resolve and create)", subjects.SubjectResolver.resolve)
    subjects.store_versions = clock.wrap("records (store versions)", subjects.store_versions)
    service.bulk_insert = clock.wrap("rejected rows", service.bulk_insert)
    service.ErrorReport.add = clock.wrap(  # type: ignore[method-assign]
        "rejected rows", service.ErrorReport.add)
    search.refresh = clock.wrap("search-index refresh", search.refresh)
    record = audit.record

    def audited(*args: Any, **kwargs: Any) -> Any:
        result = record(*args, **kwargs)
        clock.last_audit = time.perf_counter()
        return result
    service.audit.record = audited  # type: ignore[assignment]
    original_ingest = service.ingest_file

    def ingest_then_commit(*args: Any, **kwargs: Any) -> Any:
        receipt = original_ingest(*args, **kwargs)
        clock.parts["commit"] = time.perf_counter() - clock.last_audit
        return receipt
    service.ingest_file = ingest_then_commit  # type: ignore[assignment]
    engine = make_engine()
    t = time.perf_counter()
    service.submit(engine, path, department_for(shape), kind="penalty",
                   received=date.fromisoformat(RECEIVED))
    total = time.perf_counter() - t
    clock.parts["other (batch, references, audit, files)"] = total - sum(clock.parts.values())
    print(json.dumps({"total": total, **clock.parts}, ensure_ascii=False))


def split(path: Path, url: str, files: Path, shape: str) -> dict[str, float]:
    shutil.rmtree(files, ignore_errors=True)
    out = subprocess.run([sys.executable, __file__, "--split", str(path), url, str(files), shape],
                         check=True, capture_output=True, text=True).stdout
    parts: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return parts


def report(engine: str, rows: int, runs: list[tuple[float, dict[str, float], float]],
           parts: dict[str, float] | None) -> None:
    loader = "COPY" if engine == "postgresql" else "executemany"
    print(f"\n[{engine}]")
    for i, (floor, result, rss) in enumerate(runs, 1):
        print(f"  run {i}: floor (csv + {loader} into one plain table) {floor:.2f} s, "
              f"whole wait of xinyong ingest {result['seconds']:.2f} s, "
              f"ratio {result['seconds'] / floor:.2f}x, peak RSS {rss:,.0f} MiB")
    floor = statistics.median(f for f, _, _ in runs)
    seconds = statistics.median(r["seconds"] for _, r, _ in runs)
    ratio = statistics.median(r["seconds"] / f for f, r, _ in runs)
    rss = max(m for _, _, m in runs)
    result = runs[0][1]
    print(f"  median floor: {floor:.2f} s  ({rows / floor:,.0f} rows/s)")
    print(f"  median whole wait: {seconds:.2f} s  ({rows / seconds:,.0f} rows/s), "
          f"accepted {int(result['accepted']):,}, rejected {int(result['rejected']):,}")
    print(f"  median ratio to floor: {ratio:.2f}x  (bar 3.00x: {'met' if ratio <= 3 else 'NOT met'})")
    print(f"  peak RSS: {rss:,.0f} MiB  (bar 1024 MiB: {'met' if rss < 1024 else 'NOT met'})")
    if parts:
        total = parts.pop("total")
        print(f"  in-process split of one ingest ({total:.2f} s, without process start-up):")
        for part, value in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"    {part:<42} {value:7.2f} s  {value / total:6.1%}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        prepare_store(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--split":
        split_child(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), sys.argv[5])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--shape", choices=("real", "easy"), default="real",
                   help="real: shaped like a department's file (default); easy: the old input")
    p.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--repeat", type=int, default=3, help="floor/ingest pairs per engine")
    p.add_argument("--postgres", help="PostgreSQL URL, or 'auto' to start a private server")
    p.add_argument("--no-split", action="store_true", help="skip the in-process split")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"penalties-{args.shape}-{args.rows}.csv"
    generate(path, args.rows, args.shape)

    db = args.workdir / "bench.db"

    def fresh_sqlite() -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{db}"

    runs = []
    for _ in range(args.repeat):
        floor = floor_sqlite(path, args.workdir / "floor.db")
        runs.append((floor, *whole_wait(path, fresh_sqlite(), args.workdir / "files", args.shape)))
    parts = None if args.no_split else split(path, fresh_sqlite(), args.workdir / "files",
                                             args.shape)
    report("sqlite", args.rows, runs, parts)

    if args.postgres:
        with postgres_server(args.postgres) as url:
            runs = []
            for _ in range(args.repeat):
                fresh = fresh_database(url)
                floor = floor_postgres(path, fresh)
                runs.append((floor, *whole_wait(path, fresh, args.workdir / "files-pg", args.shape)))
                drop_database(url, fresh)
            parts = None
            if not args.no_split:
                fresh = fresh_database(url)
                parts = split(path, fresh, args.workdir / "files-pg", args.shape)
                drop_database(url, fresh)
            report("postgresql", args.rows, runs, parts)


if __name__ == "__main__":
    main()
