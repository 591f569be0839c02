"""Evaluation benchmark (issue 6). Prints figures; never a pass/fail test.

The store: 1,000,000 organisations (plus 20,000 natural persons, who are skipped) and about
10,000,000 records, generated DIRECTLY with bulk SQL (INSERT … SELECT over a number series)
into the real schema made by the migrations — it bypasses ingest (validation, versions,
search index) because the evaluation reads only the stored tables, and ingesting ten million
rows would take hours. Each subject gets 0–20 records (hash of its id, mean 10); one in five
subjects is "heavy" (60 % penalties), the rest hold mostly licences; penalties come from eight
departments with the three publicity tiers; a few subjects have list_entry records. Payloads
are short JSON (real ones are ~1 KB; the evaluation never reads them except list entries).
The store is kept under bench/out/ with a marker file, so reruns reuse it.

Figures, in one run per engine:
- full: `xinyong.evaluation.service.evaluate(full=True)` (the public scorecard);
- incremental: after 1 % of the organisations (10,000) get a new penalty record each;
- floor: the same indicator values computed by a hand-written Polars group-by from the same
  data exported to Parquet (export not timed; the group-by timed in the same run).
Bars: full on SQLite within 3× the floor and under 2 minutes; incremental under 10 s.

    python bench/evaluate.py [--subjects 1000000] [--postgres URL|auto] [--workdir bench/out]
                             [--build-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 20)
PERSONS = 20_000
SPAN_DAYS = 1800
DEPARTMENTS = ["厦门市市场监督管理局", "厦门市住房和城乡建设局", "厦门市应急管理局", "厦门市生态环境局",
               "国家税务总局厦门市税务局", "厦门市交通运输局", "厦门市卫生健康委员会",
               "厦门市城市管理行政执法局"]
WORDS = ["科技", "建筑工程", "贸易", "物流", "餐饮管理", "房地产开发", "软件", "食品", "文化传媒",
         "医疗器械", "装饰工程", "人力资源", "商行", "农业发展", "咨询"]
REGIONS = ["350203", "350205", "350206", "350211", "350212", "350213"]
TIERS = ["轻微", "一般", "严重"]


def _case(expr: str, values: list[str]) -> str:
    return "CASE " + " ".join(f"WHEN {expr} = {i} THEN '{v}'" for i, v in enumerate(values)) + " END"


def _series(pg: bool, n: int, name: str = "i") -> str:
    if pg:
        return f"(SELECT generate_series(1, {n}) AS {name})"
    return (f"(WITH RECURSIVE s({name}) AS (SELECT 1 UNION ALL SELECT {name} + 1 FROM s "
            f"WHERE {name} < {n}) SELECT {name} FROM s)")


def _days_before(pg: bool, days: str) -> str:
    if pg:
        return f"(DATE '{AS_OF.isoformat()}' - ({days})::int)"
    return f"date('{AS_OF.isoformat()}', '-' || ({days}) || ' days')"


def _plus_years(pg: bool, day: str, years: int) -> str:
    if pg:
        return f"(({day}) + INTERVAL '{years} years')::date"
    return f"date({day}, '+{years} years')"


def build_store(url: str, count: int) -> None:
    """Subjects and records by bulk SQL into the migrated schema (in a child process)."""
    os.environ["XINYONG_DATABASE_URL"] = url
    from sqlalchemy import text

    from xinyong.core.db import ensure_schema, make_engine, writing
    from xinyong.subjects.models import Record

    engine = make_engine()
    ensure_schema(engine)
    pg = not url.startswith("sqlite")
    heavy = "(s.id % 10 < 2)"
    h = "((s.id * 31 + n.i * 7919) % 100)"
    t0 = time.perf_counter()
    with writing(engine) as conn:
        conn.execute(text("INSERT INTO catalog_version (id, version, digest, sources, content, loaded_at) "
                          "VALUES (1, 'bench', 'bench', '[]', '{}', :now)"), {"now": "2026-11-20 00:00:00"})
        conn.execute(text("INSERT INTO batch (id, department, item_code, filename, format, source_path, "
                          "received_date, submitted_at, submitted_by, catalog_version_id, rows, accepted, "
                          "rejected, new, corrected, unchanged, on_time, late, rejection_reasons, "
                          "unknown_columns) VALUES (1, 'bench', 'penalty', 'bench', 'sql', '', :d, :now, "
                          "'bench', 1, 0, 0, 0, 0, 0, 0, 0, 0, '{}', '[]')"),
                     {"d": AS_OF if pg else AS_OF.isoformat(), "now": "2026-11-20 00:00:00"})
        total = count + PERSONS
        kind = (f"CASE WHEN i > {count} THEN 'natural_person' WHEN i % 10 = 0 THEN 'individual_business' "
                f"ELSE 'organisation' END")
        pad = "lpad(i::text, 8, '0')" if pg else "printf('%08d', i)"
        conn.execute(text(
            f"INSERT INTO subject (id, key, uscc, name, kind, region, created_at, updated_at) "
            f"SELECT i, 'B' || i, CASE WHEN i > {count} THEN NULL ELSE '91350203MA' || {pad} END, "
            f"CASE WHEN i > {count} THEN '自然人' || i ELSE '厦门' || i || "
            f"{_case('i % ' + str(len(WORDS)), WORDS)} || '有限公司' END, "
            f"{kind}, {_case('i % ' + str(len(REGIONS)), REGIONS)}, '2026-01-01', '2026-01-01' "
            f"FROM {_series(pg, total)} q"))
        print(f"  subjects: {total:,} in {time.perf_counter() - t0:.0f} s", flush=True)
        record = Record.__table__
        # Non-unique indexes are built after the load: much faster than maintaining them row by row.
        for index in record.indexes:
            conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
        if pg:
            conn.execute(text("ALTER TABLE record SET (autovacuum_enabled = false)"))
        t1 = time.perf_counter()
        item = (f"CASE WHEN {h} = 99 AND s.id % 50 = 0 THEN 'list_entry' "
                f"WHEN {heavy} AND {h} < 60 THEN 'penalty' WHEN NOT {heavy} AND {h} < 8 THEN 'penalty' "
                f"ELSE 'licence' END")
        decided = _days_before(pg, f"(s.id * 13 + n.i * 101) % {SPAN_DAYS}")
        conn.execute(text(
            f"INSERT INTO record (subject_id, source_key, item_code, department, doc_no, version, status, "
            f"decision_date, received_date, on_time, batch_id, row_no, catalog_version_id, payload, "
            f"publicity_tier, published, publicity_start, publicity_end, publicity_regime) "
            f"SELECT subject_id, source_key, item_code, department, doc_no, 1, status, decision_date, "
            f"decision_date, {'true' if pg else 1}, 1, row_no, 1, "
            f"CASE WHEN item_code = 'list_entry' "
            f"THEN '{{\"list_kind\": \"失信被执行人\", \"ends_on\": null}}' "
            f"ELSE '{{\"doc_no\": \"' || doc_no || '\"}}' END, "
            f"CASE WHEN item_code = 'penalty' THEN tier END, {'true' if pg else 1}, decision_date, "
            f"{_plus_years(pg, 'decision_date', 3)}, 'bench' FROM ("
            f"SELECT s.id AS subject_id, s.id * 32 + n.i AS source_key, {item} AS item_code, "
            f"{_case(f'((s.id + n.i) % {len(DEPARTMENTS)})', DEPARTMENTS)} AS department, "
            f"'D' || s.id || '-' || n.i AS doc_no, "
            f"CASE WHEN {h} % 50 = 1 THEN 'superseded' ELSE 'current' END AS status, "
            f"{decided} AS decision_date, n.i AS row_no, "
            f"CASE WHEN {h} % 10 = 0 THEN '严重' WHEN {h} % 3 = 0 THEN '一般' ELSE '轻微' END AS tier "
            f"FROM subject s JOIN {_series(pg, 20)} n ON n.i <= (s.id * 2654435761) % 21 "
            f"WHERE s.id <= {count} ORDER BY s.id, n.i) x"))
        rows = conn.execute(text("SELECT count(*) FROM record")).scalar_one()
        print(f"  records: {rows:,} in {time.perf_counter() - t1:.0f} s", flush=True)
        t2 = time.perf_counter()
        for index in record.indexes:
            index.create(conn)
        if pg:
            conn.execute(text("ALTER TABLE record SET (autovacuum_enabled = true)"))
        print(f"  record indexes: {time.perf_counter() - t2:.0f} s", flush=True)
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _migrate(url: str) -> None:
    """A kept store made by an older schema gets the migrations since (never rebuilt for it)."""
    from xinyong.core.db import make_engine, upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def store(workdir: Path, count: int, url: str) -> dict[str, Any]:
    marker = workdir / f"evaluate-{count}.{'pg' if url.startswith('postgres') else 'sqlite'}.json"
    if marker.exists():
        info: dict[str, Any] = json.loads(marker.read_text())
        if info.get("url") == url:
            print(f"store: reusing {url} (built in {info['seconds']:.0f} s)")
            _migrate(url)
            return info
    if url.startswith("sqlite"):
        db = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    else:
        import _store

        _store.recreate_postgres(url)
    print(f"store: building {url} ({count:,} organisations) …", flush=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child-build", url, "--subjects", str(count)],
                   check=True, cwd=ROOT)
    info = {"url": url, "subjects": count, "seconds": time.perf_counter() - t}
    marker.write_text(json.dumps(info))
    return info


PG_DATABASE = "xinyong_evaluate_bench"


def _pg_url(server: str) -> str:
    import _store

    return _store.postgres_database(server, PG_DATABASE)


# --- the floor --------------------------------------------------------------------------------

def export_parquet(url: str, workdir: Path, tag: str) -> tuple[Path, Path]:
    """The columns the evaluation reads, to Parquet through CSV (the sqlite3 shell, or COPY on
    PostgreSQL) so ten million rows never sit in Python objects (not timed)."""
    import polars as pl

    rec_path = workdir / f"evaluate-{tag}-records.parquet"
    subj_path = workdir / f"evaluate-{tag}-subjects.parquet"
    s, i = pl.String, pl.Int64
    for path, sql, schema in (
            (subj_path, "SELECT id, kind, name, region FROM subject",
             {"id": i, "kind": s, "name": s, "region": s}),
            (rec_path, "SELECT id, subject_id, item_code, status, decision_date, publicity_tier, "
                       "department FROM record",
             {"id": i, "subject_id": i, "item_code": s, "status": s, "decision_date": s,
              "publicity_tier": s, "department": s})):
        csv_path = path.with_suffix(".csv")
        if url.startswith("sqlite"):
            with csv_path.open("wb") as f:
                subprocess.run(["sqlite3", "-csv", "-header", url.removeprefix("sqlite:///"), sql],
                               stdout=f, check=True)
        else:
            import psycopg

            from xinyong.core.db import normalise_url
            plain = normalise_url(url).replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(plain) as pg, pg.cursor() as cur, csv_path.open("wb") as f, \
                    cur.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER") as copy:
                for chunk in copy:
                    f.write(chunk)
        frame = pl.read_csv(csv_path, schema=schema)
        if "decision_date" in frame.columns:
            frame = frame.with_columns(pl.col("decision_date").str.to_date())
        frame.write_parquet(path)
        csv_path.unlink()
    return rec_path, subj_path


def floor(rec_path: Path, subj_path: Path) -> tuple[float, Any]:
    """The public scorecard's record and list-free indicator values per organisation by a
    hand-written Polars group-by (timed: read + group-by + join)."""
    import polars as pl

    def months_ago(m: int) -> date:
        from xinyong.core.dates import add_months
        return add_months(AS_OF, -m)

    t = time.perf_counter()
    rec = pl.read_parquet(rec_path)
    subj = pl.read_parquet(subj_path)
    d = pl.col("decision_date")
    pen = pl.col("item_code") == "penalty"
    w12, w36 = d > months_ago(12), d > months_ago(36)
    agg = (rec.lazy().filter((pl.col("status") == "current") & (d <= AS_OF))
           .group_by("subject_id").agg(
               (pen & w12).sum().alias("penalties_12m"),
               (pen & w36 & (pl.col("publicity_tier") == "严重")).sum().alias("serious_penalties_36m"),
               pl.when(pen & w12).then(pl.col("department")).drop_nulls().n_unique()
               .alias("penalty_departments_12m"),
               (pl.col("item_code") == "licence").sum().alias("licences"),
               pl.when(pl.col("item_code") == "licence").then(d).min().alias("first"))
           .with_columns(((pl.lit(AS_OF) - pl.col("first")).dt.total_days() // 365).alias("record_years")))
    out = (subj.lazy().filter(pl.col("kind") != "natural_person")
           .join(agg, left_on="id", right_on="subject_id", how="left").collect())
    return time.perf_counter() - t, out


# --- the runs ---------------------------------------------------------------------------------

def change_one_percent(url: str, count: int) -> int:
    """A new current penalty record for 1 % of the organisations (as ingest would add it)."""
    from sqlalchemy import text

    from xinyong.core.db import make_engine, writing

    engine = make_engine(url)
    step = 100
    with writing(engine) as conn:
        top = int(conn.execute(text("SELECT max(source_key) FROM record")).scalar_one()) + 1
        pg = not url.startswith("sqlite")
        result = conn.execute(text(
            f"INSERT INTO record (subject_id, source_key, item_code, department, doc_no, version, status, "
            f"decision_date, received_date, on_time, batch_id, row_no, catalog_version_id, payload, "
            f"publicity_tier, published, publicity_start, publicity_end, publicity_regime) "
            f"SELECT s.id, :top + s.id, 'penalty', '{DEPARTMENTS[0]}', 'N' || s.id || '-' || :top, 1, "
            f"'current', :d, :d, {'true' if pg else 1}, 1, 0, 1, '{{}}', '一般', {'true' if pg else 1}, "
            f":d, NULL, 'bench' FROM subject s WHERE s.id % {step} = 7 AND s.id <= {count}"),
            {"top": top, "d": AS_OF - timedelta(days=1) if pg else (AS_OF - timedelta(days=1)).isoformat()})
        n = int(result.rowcount or 0)
    engine.dispose()
    return n


COMPARED = ("penalties_12m", "serious_penalties_36m", "penalty_departments_12m", "licences", "record_years")


def same_values(engine: Any, frame: Any) -> str:
    """The floor's values against the stored results for every 997th organisation."""
    import orjson
    from sqlalchemy import text

    sample = {int(r["id"]): r for r in frame.filter(frame["id"] % 997 == 1).iter_rows(named=True)}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT subject_id, indicators FROM evaluation_result "
                                 "WHERE scorecard = 'public' AND subject_id % 997 = 1")).all()
    wrong = 0
    for subject_id, indicators in rows:
        got = orjson.loads(indicators)
        want = sample[int(subject_id)]
        wrong += any(got[c]["value"] != int(want[c] or 0) for c in COMPARED)
    return f"{len(rows):,} sampled results, {wrong} differ from the floor's values"


def timed_runs(url: str, count: int, frame: Any) -> dict[str, float]:
    os.environ["XINYONG_DATABASE_URL"] = url
    from xinyong.core.audit import Actor
    from xinyong.core.db import make_engine
    from xinyong.evaluation import service

    engine = make_engine(url)
    actor = Actor("bench", "staff", "bench")
    steps: list[tuple[str, float]] = []
    last = [time.perf_counter()]

    def progress(what: str, step: int, total: int) -> None:
        now = time.perf_counter()
        steps.append((what, now - last[0]))
        last[0] = now

    t = time.perf_counter()
    summary = service.evaluate(engine, actor, as_of=AS_OF, full=True, progress=progress)
    full = time.perf_counter() - t
    print(f"  full: {summary.evaluated:,} evaluated, {summary.skipped_natural_persons:,} natural persons "
          f"skipped, grades {summary.grades}, {full:.1f} s")
    print("    steps: " + "; ".join(f"{w} {s:.1f}s" for w, s in steps))
    print(f"  check: {same_values(engine, frame)}")
    changed = change_one_percent(url, count)
    steps.clear()
    last[0] = time.perf_counter()
    t = time.perf_counter()
    inc = service.evaluate(engine, actor, as_of=AS_OF, progress=progress)
    incremental = time.perf_counter() - t
    print(f"  incremental after {changed:,} subjects changed: mode {inc.mode}, {inc.evaluated:,} "
          f"evaluated, {incremental:.2f} s")
    engine.dispose()
    return {"full": full, "incremental": incremental}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=None, help="URL of a server, or auto")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child-build", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    if args.child_build:
        build_store(args.child_build, args.subjects)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    targets: list[tuple[str, str]] = []
    if not args.skip_sqlite:
        targets.append(("sqlite", f"sqlite:///{args.workdir / f'evaluate-{args.subjects}.db'}"))
    from ingest import postgres_server

    with postgres_server(args.postgres) if args.postgres else _nothing() as server:
        if server:
            targets.append(("postgresql", _pg_url(server)))
        for tag, url in targets:
            print(f"== {tag}")
            store(args.workdir, args.subjects, url)
            if args.build_only:
                continue
            rec_path, subj_path = export_parquet(url, args.workdir, tag)
            seconds, frame = floor(rec_path, subj_path)
            print(f"  floor (Polars group-by from Parquet): {frame.height:,} organisations, {seconds:.2f} s")
            figures = timed_runs(url, args.subjects, frame)
            ratio = figures["full"] / seconds
            print(f"  {tag}: full {figures['full']:.1f} s = {ratio:.1f}× the floor "
                  f"(bar: 3× and < 120 s {'met' if ratio <= 3 and figures['full'] < 120 else 'NOT met'}); "
                  f"incremental {figures['incremental']:.2f} s (bar: < 10 s "
                  f"{'met' if figures['incremental'] < 10 else 'NOT met'})")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
