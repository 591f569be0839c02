"""Name search benchmark (issue 3, "Search that scales"). Prints figures; never a pass/fail test.

On each engine: stores N subjects at once (bulk inserts of names built from the demo city's
name parts, many sharing a two-character 字号, a few with former names), times the first
`refresh` of the search index over all of them and a refresh with nothing to do, then times
`xinyong.subjects.search.search` in-process for queries of 1, 2 and 4 characters, codes
(USCC), and the commonest words of company names. Reports p50 / p99 per kind of query.
Issue 3's bar is p99 under 50 ms over HTTP at 200 requests/s; in-process must be far below.

    python bench/search.py [--subjects 1000000] [--queries 300] [--postgres URL|auto] [--workdir bench/out]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BAR_MS = 50.0
CHUNK = 100_000


class Names:
    """Subject names in the demo city's style: 字号 of two trade characters (so each is
    shared by ~150 subjects per million), some 字号 shared on purpose, city prefixes and
    bracketed city names, individual businesses and natural persons."""

    def __init__(self, seed: int) -> None:
        raw: dict[str, Any] = yaml.safe_load(
            resources.files("xinyong.data").joinpath("demo_city.yaml").read_text("utf-8"))
        parts = raw["name_parts"]
        self.rng = random.Random(seed)
        self.trade_chars: list[str] = parts["trade_chars"]
        self.shared: list[str] = parts["shared_trade_names"]
        self.places: list[str] = parts["places"]
        self.surnames: list[str] = parts["surnames"]
        self.given: list[str] = parts["given"]
        self.forms = [f["word"] for f in parts["legal_forms"]]
        self.form_weights = [f["weight"] for f in parts["legal_forms"]]
        self.industries = [i["word"] for i in raw["industries"]]
        self.industry_weights = [i["weight"] for i in raw["industries"]]
        self.districts = [d["name"] for d in raw["districts"]]
        self.city = raw["city"]["name"]
        self.short_city = raw["city"]["short"]

    def trade(self) -> str:
        r = self.rng
        if r.random() < 0.03:
            return r.choice(self.shared)
        if r.random() < 0.1:
            return r.choice(self.places)
        return r.choice(self.trade_chars) + r.choice(self.trade_chars)

    def subject(self) -> tuple[str, str]:
        """(kind, name)."""
        r = self.rng
        x = r.random()
        if x < 0.05:
            return "natural_person", r.choice(self.surnames) + "".join(
                r.choices(self.given, k=r.choice((1, 2))))
        if x < 0.15:
            return "individual_business", (f"{self.city}{r.choice(self.districts)}"
                                           f"{self.trade()}{r.choice(('商行', '餐饮店', '便利店'))}")
        industry = r.choices(self.industries, self.industry_weights)[0]
        form = r.choices(self.forms, self.form_weights)[0]
        style = r.random()
        if style < 0.7:
            return "organisation", f"{self.short_city}{self.trade()}{industry}{form}"
        if style < 0.92:
            return "organisation", f"{self.city}{self.trade()}{industry}{form}"
        return "organisation", f"{self.trade()}（{self.short_city}）{industry}{form}"


def uscc(n: int) -> str:
    from xinyong.core.uscc import ALPHABET, check_character, org_check_character

    body = "MA" + "".join(ALPHABET[(n // 31 ** i) % 31] for i in range(5, -1, -1))
    first17 = "91350203" + body + org_check_character(body)
    return first17 + check_character(first17)


def build(url: str, count: int, seed: int) -> tuple[list[tuple[str, str, str]], float]:
    """Store `count` subjects; returns (code, kind, name) of each and the seconds taken."""
    from sqlalchemy import text

    from xinyong.core.db import bulk_insert, ensure_schema, make_engine, utcnow, writing
    from xinyong.subjects.service import SUBJECT_COLUMNS

    engine = make_engine(url)
    ensure_schema(engine)
    names = Names(seed)
    subjects = []
    now = str(utcnow())
    t = time.perf_counter()
    with writing(engine) as conn:
        for start in range(0, count, CHUNK):
            rows = []
            for n in range(start, min(start + CHUNK, count)):
                kind, name = names.subject()
                code = uscc(n) if kind != "natural_person" else ""
                subjects.append((code, kind, name))
                rows.append((f"b{n}", code or None, name, "2024-01-01", kind, "350203", None,
                             None, None, None, None, None, None, now, now))
            bulk_insert(conn, "subject", SUBJECT_COLUMNS, rows)
        # about 3 % renamed: their earlier name becomes a former name
        first = conn.execute(text("SELECT MIN(id) FROM subject")).scalar_one()
        renamed = [(first + n, names.subject()[1]) for n in range(0, count, 33)]
        bulk_insert(conn, "subject_name", ("subject_id", "name"), renamed)
    engine.dispose()
    return subjects, time.perf_counter() - t


def timed_refresh(url: str) -> tuple[int, float, float]:
    from sqlalchemy import text

    from xinyong.core.db import is_sqlite, make_engine, writing
    from xinyong.subjects import search

    engine = make_engine(url)
    with writing(engine) as conn:
        t = time.perf_counter()
        count = search.refresh(conn)
        first = time.perf_counter() - t
    if not is_sqlite(engine):
        # what autovacuum does soon after a million rows arrive: the planner needs the
        # token statistics, and the emptied queue must lose its dead rows
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE subject_search, subject_search_queue"))
    with writing(engine) as conn:
        t = time.perf_counter()
        search.refresh(conn)
        again = time.perf_counter() - t
    engine.dispose()
    return count, first, again


def queries(subjects: Sequence[tuple[str, str, str]], n: int, seed: int
            ) -> dict[str, list[str]]:
    rng = random.Random(seed)
    orgs = [s for s in subjects if s[1] != "natural_person"]
    names = Names(seed)

    def part(size: int) -> str:
        while True:
            name = rng.choice(orgs)[2]
            if len(name) >= size:
                start = rng.randrange(len(name) - size + 1)
                text = name[start:start + size]
                if "（" not in text and "）" not in text:
                    return text

    return {
        "1 char": [rng.choice(names.trade_chars) for _ in range(n)],
        "2 chars": [names.trade() for _ in range(n)],
        "4 chars": [part(4) for _ in range(n)],
        "uscc": [rng.choice(orgs)[0] for _ in range(n)],
        "common words": [rng.choice(["有限", "公司", "厦门", "有限公司", "科技", "限"])
                         for _ in range(n)],
    }


def latencies(url: str, qs: dict[str, list[str]]
              ) -> dict[str, tuple[float, float, float, tuple[float, str]]]:
    from xinyong.core.db import make_engine
    from xinyong.subjects import search

    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for q in next(iter(qs.values()))[:20]:  # warm the caches
            search.search(conn, q)
        for kind, items in qs.items():
            timed = []
            hits = 0
            for q in items:
                t = time.perf_counter()
                result = search.search(conn, q)
                timed.append(((time.perf_counter() - t) * 1000, q))
                hits += len(result.items)
            timed.sort()
            times = [ms for ms, _ in timed]
            out[kind] = (statistics.median(times), times[int(len(times) * 0.99) - 1],
                         hits / len(items), timed[-1])
            conn.rollback()
    engine.dispose()
    return out


def run(engine_name: str, url: str, count: int, n: int, seed: int) -> None:
    print(f"\n[{engine_name}] {count:,} subjects")
    subjects, seconds = build(url, count, seed)
    print(f"  stored in {seconds:.1f} s (bulk insert; triggers queue them for the index)")
    indexed, first, again = timed_refresh(url)
    print(f"  index build (refresh of {indexed:,} subjects): {first:.1f} s "
          f"({indexed / first:,.0f} subjects/s); refresh with nothing to do: "
          f"{again * 1000:.2f} ms")
    for kind, (p50, p99, hits, (slowest, q)) in latencies(url, queries(subjects, n, seed)
                                                          ).items():
        print(f"  {kind:<13} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {slowest:7.2f} ms "
              f"({q})  {hits:.1f} hits/page; bar p99 {BAR_MS:.0f} ms over HTTP: "
              f"{'met' if p99 < BAR_MS else 'NOT met'} in-process")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--subjects", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=300, help="queries of each kind")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--postgres", help="PostgreSQL URL, or 'auto' to start a private server")
    p.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not args.no_sqlite:
        db = args.workdir / "search.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        run("sqlite", f"sqlite:///{db}", args.subjects, args.queries, args.seed)
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(ROOT / "bench"))
        from ingest import drop_database, fresh_database, postgres_server

        with postgres_server(args.postgres) as url:
            fresh = fresh_database(url)
            run("postgresql", fresh, args.subjects, args.queries, args.seed)
            drop_database(url, fresh)


if __name__ == "__main__":
    main()
