"""The 1,000,000-subject store of the service benchmark, built through the real ingest path.

Every subject gets one licence and about half of them one or more penalties, so each subject
page has content. Rows are the demo city's own rows (`xinyong.demo.generator.plan_city`) with
the subject replaced by one of N subjects named in the demo city's style (`bench/search.py`
`Names`: 字号 of two trade characters, some shared, city prefixes, bracketed city names,
individual businesses), a unique document number, and dates moved by whole weeks into the
last eight months so most records are in publicity now. The files are then ingested as two
batches with `xinyong.ingest.service.ingest_file` (validation, subjects, versions, search
index) in a child process; the result is kept in the workdir with a marker file, so reruns
reuse it.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECEIVED = date(2026, 11, 20)
NEWEST = RECEIVED - timedelta(days=7)
SPAN_DAYS = 240
PENALTY_SHARE = 0.5
_DOC_NO = re.compile(r"〔\d{4}〕(第?)\d+号$")


def _code(head: str, n: int) -> str:
    from xinyong.core.uscc import ALPHABET, check_character, org_check_character

    body = "MA" + "".join(ALPHABET[(n // 31 ** i) % 31] for i in range(5, -1, -1))
    first17 = head + "350203" + body + org_check_character(body)
    return first17 + check_character(first17)


def _cell(value: Any) -> str:
    from xinyong.core.amounts import format_wan

    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_wan(value)
    if isinstance(value, tuple):
        return "；".join(value)
    return str(value)


def _templates() -> dict[str, list[dict[str, Any]]]:
    """Valid organisation rows of the demo city, by kind."""
    from xinyong.demo.generator import plan_city

    plan = plan_city(entities=600, today=RECEIVED)
    out: dict[str, list[dict[str, Any]]] = {"licence": [], "penalty": []}
    for batch in plan.batches:
        for row in batch.rows:
            if row.issue is None and row.values.get("subject_category") == "法人及非法人组织":
                out[batch.kind].append(row.values)
    return out


def _subjects(count: int, seed: int) -> Iterator[tuple[int, str, str, str, str, str]]:
    """(n, name, category, uscc, legal representative, their identity number) of each subject."""
    sys.path.insert(0, str(Path(__file__).parent))
    from search import Names

    from xinyong.demo.generator import resident_id_check

    names = Names(seed)
    rng = names.rng
    for n in range(count):
        kind, name = names.subject()
        while kind == "natural_person":  # the public search leaves persons out anyway
            kind, name = names.subject()
        business = kind == "individual_business"
        rep = rng.choice(names.surnames) + "".join(rng.choices(names.given, k=rng.choice((1, 2))))
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(15_000))
        first17 = f"350203{born:%Y%m%d}{rng.randrange(1000):03d}"
        yield (n, name, "个体工商户" if business else "法人及非法人组织",
               _code("92" if business else "91", n), rep, first17 + resident_id_check(first17))


def write_files(workdir: Path, count: int, seed: int) -> tuple[Path, Path, int]:
    """The licence and penalty CSV files; returns their paths and the number of rows."""
    from xinyong.demo.generator import FileStyle, columns_for

    style = FileStyle("csv_utf8_bom", "label", "iso", False, None, False)
    paths = {kind: workdir / f"service-{kind}-{count}.csv" for kind in ("licence", "penalty")}
    done = workdir / f"service-files-{count}.json"
    if done.exists() and all(p.exists() for p in paths.values()):
        print(f"store: reusing the generated files {', '.join(p.name for p in paths.values())}")
        return paths["licence"], paths["penalty"], int(json.loads(done.read_text())["rows"])
    templates = _templates()
    rng = random.Random(seed)
    files = {kind: path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
             for kind, path in paths.items()}
    writers = {kind: csv.writer(f) for kind, f in files.items()}
    columns = {kind: [c.name for c in columns_for(kind, style)] for kind in templates}
    for kind, w in writers.items():
        w.writerow([c.label for c in columns_for(kind, style)])
    serial = 0
    rows = 0
    for _, name, category, code, rep, rep_id in _subjects(count, seed):
        extra = 0
        if rng.random() < PENALTY_SHARE:
            extra = 1 + (int(rng.paretovariate(1.5)) - 1 if rng.random() < 0.2 else 0)
        for kind, times in (("licence", 1), ("penalty", min(extra, 20))):
            for _ in range(times):
                serial += 1
                v = dict(rng.choice(templates[kind]))
                target = NEWEST - timedelta(days=rng.randrange(SPAN_DAYS))
                shift = timedelta(weeks=round((target - v["decision_date"]).days / 7))
                if v["decision_date"] + shift > NEWEST:
                    shift -= timedelta(weeks=1)
                for k, x in v.items():
                    if isinstance(x, date) and x.year < 2090:  # not "long-term valid"
                        v[k] = x + shift
                year = v["decision_date"].year
                v.update(subject_name=name, subject_category=category, uscc=code, legal_rep=rep,
                         legal_rep_id_type="身份证", legal_rep_id_number=rep_id,
                         doc_no=_DOC_NO.sub(rf"〔{year}〕\g<1>{serial}号", v["doc_no"]))
                writers[kind].writerow([_cell(v.get(c)) for c in columns[kind]])
                rows += 1
    for f in files.values():
        f.close()
    done.write_text(json.dumps({"rows": rows, "seed": seed}))
    return paths["licence"], paths["penalty"], rows


def _child(url: str, files: str, *paths: str) -> None:
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ["XINYONG_FILES_DIR"] = files
    from xinyong.core.db import ensure_schema, make_engine, writing
    from xinyong.ingest.service import ingest_file
    from xinyong.subjects import search

    engine = make_engine()
    ensure_schema(engine)
    for path in paths:
        kind = "licence" if "licence" in Path(path).name else "penalty"
        t = time.perf_counter()
        receipt = ingest_file(engine, Path(path), "厦门市市场监督管理局", kind=kind,
                              received=RECEIVED)
        print(f"  ingest {kind}: {receipt.rows:,} rows, {receipt.accepted:,} accepted, "
              f"{receipt.rejected:,} rejected, {time.perf_counter() - t:.1f} s", flush=True)
    with writing(engine) as conn:
        t = time.perf_counter()
        n = search.refresh(conn)
        print(f"  search refresh: {n:,} subjects, {time.perf_counter() - t:.1f} s", flush=True)
    engine.dispose()


def database_url(workdir: Path, count: int, postgres: str | None) -> str:
    if postgres:
        return postgres
    return f"sqlite:///{workdir / f'service-{count}.db'}"


PG_DATABASE = "xinyong_service_bench"


def postgres_database(url: str, name: str = PG_DATABASE) -> str:
    """The benchmark's own database `name` beside the one `url` names."""
    from sqlalchemy.engine import make_url

    from xinyong.core.db import normalise_url

    return make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)


def recreate_postgres(url: str) -> None:
    """The database `url` names, dropped (with any sessions on it) and created empty."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def build(workdir: Path, count: int, seed: int, url: str) -> dict[str, Any]:
    """Build the store at `url` unless the marker says it is already there; returns the marker."""
    marker = workdir / f"service-{count}.{'pg' if url.startswith('postgres') else 'sqlite'}.json"
    if marker.exists():
        info: dict[str, Any] = json.loads(marker.read_text())
        if info.get("url") == url and info.get("subjects") == count:
            print(f"store: reusing {url} ({count:,} subjects, built in {info['seconds']:.0f} s)")
            return info
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    else:
        recreate_postgres(url)
    t = time.perf_counter()
    licences, penalties, rows = write_files(workdir, count, seed)
    generated = time.perf_counter() - t
    print(f"store: {rows:,} rows for {count:,} subjects generated in {generated:.0f} s")
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, url, str(workdir / "service-files"), str(licences),
                    str(penalties)], check=True)
    ingested = time.perf_counter() - t
    info = {"url": url, "subjects": count, "rows": rows, "generate_seconds": generated,
            "ingest_seconds": ingested, "seconds": generated + ingested}
    print(f"store: ingested in {ingested:.0f} s")
    if not url.startswith("sqlite"):
        from sqlalchemy import create_engine, text

        # what autovacuum does soon after a million rows arrive: the planner needs statistics
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    marker.write_text(json.dumps(info))
    return info


if __name__ == "__main__":
    _child(*sys.argv[1:])
