"""Name matching benchmark (issue 5, item 5). Prints figures; never a pass/fail test.

Generates a labelled evaluation set from the demo city (`xinyong.demo.generator.plan_city`,
deterministic with a seed): the city's organisations are stored (with their former names)
through the subject service, as ingest does, and the search index is refreshed; then for a
sample of them, names someone might type:

  true variants (label: that subject) — bracket styles (厦门X科技 / X（厦门）科技 / X(厦门)科技),
  全角/半角 and blanks, traditional characters, region dropped, region written another way
  (厦门/厦门市/福建省厦门市, 思明区/厦门市思明区), legal form dropped or written another way
  (有限公司/有限责任公司), the subject's former name, and two of these at once;

  hard negatives (label: no subject; checked not to be the name of any stored subject) — the
  same name in another region (北京X科技有限公司, X（上海）…, a shop in another district), a
  branch (X有限公司思明分公司, …分店, …办事处), the same 字号 with another industry word, and a
  字号 one character off.

A query counts as a true positive when `matching.decide` (what `best_match` does) returns its
subject; as a false positive when it returns any subject for a negative, or another subject
for a variant. Prints precision, recall and F1 at `DEFAULT_THRESHOLD`, a threshold sweep, the
figures per kind of variant, and checks by name per second in-process (`candidates()`).

    python bench/names.py [--entities 10000] [--pairs 3000] [--seed 5] [--postgres URL|auto]
    python bench/names.py --entities 1500 --pairs 200 --fixture tests/subjects/data/names_sample.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SWEEP = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
OTHER_CITIES = ["北京", "北京市", "上海", "上海市", "福州", "泉州市", "深圳", "广州市", "杭州",
                "漳州", "南京市", "成都"]
BRANCHES = ["思明分公司", "湖里分公司", "分公司", "集美分店", "办事处", "翔安营业部", "福州分公司"]
FORM_SWAP = {"有限公司": "有限责任公司", "有限责任公司": "有限公司"}
POSITIVE_KINDS = ("bracket", "width_blanks", "traditional", "region_dropped", "region_other_form",
                  "form_dropped", "form_other_form", "former_name", "combined")
NEGATIVE_KINDS = ("other_region", "branch", "other_industry", "near_miss")


@dataclass
class Vocabulary:
    city: str
    short: str
    districts: list[str]
    industries: list[str]  # longest first
    forms: list[str]  # longest first
    trade_chars: list[str]
    to_traditional: dict[str, str]

    @classmethod
    def load(cls) -> Vocabulary:
        raw: dict[str, Any] = yaml.safe_load(
            resources.files("xinyong.data").joinpath("demo_city.yaml").read_text("utf-8"))
        names: dict[str, Any] = yaml.safe_load(
            resources.files("xinyong.data").joinpath("names.yaml").read_text("utf-8"))
        to_traditional: dict[str, str] = {}
        for line in names["traditional_simplified"]:
            for pair in line.split():
                to_traditional.setdefault(pair[1], pair[0])
        words = [i["word"] for i in raw["industries"]] + [s["word"] for s in raw["shops"]]
        return cls(raw["city"]["name"], raw["city"]["short"],
                   [d["name"] for d in raw["districts"]],
                   sorted(set(words), key=len, reverse=True),
                   sorted({f["word"] for f in raw["name_parts"]["legal_forms"]}, key=len,
                          reverse=True),
                   list(raw["name_parts"]["trade_chars"]), to_traditional)


@dataclass
class Shape:
    """A demo enterprise name taken apart by the generator's own patterns."""

    region: str  # 厦门 / 厦门市 / （厦门）
    trade: str
    industry: str
    form: str

    def name(self, region: str | None = None, bracket: bool | None = None) -> str:
        region = self.region if region is None else region
        if bracket if bracket is not None else region.startswith("（"):
            return f"{self.trade}（{region.strip('（）')}）{self.industry}{self.form}"
        return f"{region}{self.trade}{self.industry}{self.form}"


def shape(name: str, v: Vocabulary) -> Shape | None:
    form = next((f for f in v.forms if name.endswith(f)), None)
    if form is None:
        return None
    rest = name[:-len(form)]
    industry = next((w for w in v.industries if rest.endswith(w)), None)
    if industry is None:
        return None
    rest = rest[:-len(industry)]
    bracket = f"（{v.short}）"
    if rest.endswith(bracket):
        return Shape(bracket, rest[:-len(bracket)], industry, form)
    for region in (v.city, v.short):
        if rest.startswith(region) and len(rest) > len(region):
            return Shape(region, rest[len(region):], industry, form)
    return None


def key(name: str) -> str:
    """Compared without region, brackets and legal form: what makes two names the same."""
    from xinyong.subjects.rules import search_key

    return search_key(name)


def core_key(name: str, v: Vocabulary) -> str:
    s = shape(name, v)
    return key(s.trade + s.industry) if s else key(name.removeprefix(v.city))


class Generator:
    def __init__(self, orgs: Sequence[dict[str, Any]], seed: int) -> None:
        self.v = Vocabulary.load()
        self.rng = random.Random(seed)
        self.orgs = orgs
        self.keys = {key(o["name"]) for o in orgs} | {key(o["former"]) for o in orgs if o["former"]}
        self.cores = Counter(core_key(o["name"], self.v) for o in orgs)
        self.cores.update(core_key(o["former"], self.v) for o in orgs if o["former"])

    def unused(self, name: str, *, core: bool = False) -> bool:
        if core:
            return self.cores[core_key(name, self.v)] == 0
        return key(name) not in self.keys

    def traditional(self, name: str) -> str:
        return "".join(self.v.to_traditional.get(c, c) for c in name)

    def blanks(self, name: str) -> str:
        chars = list(name.replace("（", "(").replace("）", ")"))
        for _ in range(2):
            chars.insert(self.rng.randrange(1, len(chars)), self.rng.choice([" ", "\u3000"]))
        return "".join(chars)

    def positive(self, kind: str, o: dict[str, Any]) -> str | None:
        name, rng, v = o["name"], self.rng, self.v
        s = shape(name, v)
        if kind == "traditional":
            out = self.traditional(name)
            return out if out != name else None
        if kind == "width_blanks":
            return self.blanks(name)
        if kind == "former_name":
            return o["former"]
        if s is None:
            district = next((d for d in v.districts if name.startswith(d)), None)
            if kind == "region_other_form" and district:
                return v.city + name
            if kind == "region_other_form" and name.startswith(v.city):
                return name[len(v.city):]
            return None
        if kind == "bracket":
            if s.region.startswith("（"):
                return rng.choice([s.name(v.short, bracket=False), name.replace("（", "(")
                                   .replace("）", ")")])
            return s.name(f"（{v.short}）")
        if kind == "region_dropped":
            return s.name("", bracket=False)
        if kind == "region_other_form":
            return s.name(rng.choice([r for r in (v.short, v.city, "福建省" + v.city, "福建" + v.short)
                                      if r != s.region]), bracket=False)
        if kind == "form_dropped":
            return s.name().removesuffix(s.form)
        if kind == "form_other_form":
            return s.name().removesuffix(s.form) + FORM_SWAP[s.form] if s.form in FORM_SWAP else None
        if kind == "combined":
            first, second = rng.sample(["traditional", "form_dropped", "region_dropped", "bracket",
                                        "form_other_form"], 2)
            step = self.positive(first, o)
            if step is None:
                return None
            again = self.positive(second, {**o, "name": step}) if second != "traditional" else (
                self.traditional(step))
            return again
        raise ValueError(kind)

    def negative(self, kind: str, o: dict[str, Any]) -> str | None:
        name, rng, v = o["name"], self.rng, self.v
        s = shape(name, v)
        if kind == "branch":
            return name + rng.choice(BRANCHES)
        if s is None:
            if kind == "other_region":
                district = next((d for d in v.districts if name.startswith(d)), None)
                if district:
                    other = rng.choice([d for d in v.districts if d != district])
                    out = other + name[len(district):]
                    return out if self.unused(out) else None
            return None
        if kind == "other_region":
            city = rng.choice(OTHER_CITIES)
            return s.name(f"（{city}）" if rng.random() < 0.25 else city)
        if kind == "other_industry":
            industries = [w for w in v.industries if w != s.industry and not w.endswith("店")]
            out = Shape(s.region, s.trade, rng.choice(industries), s.form).name()
            return out if self.unused(out, core=True) else None
        if kind == "near_miss":
            i = rng.randrange(len(s.trade))
            if s.trade[i] not in v.trade_chars:
                return None
            trade = s.trade[:i] + rng.choice([c for c in v.trade_chars if c != s.trade[i]]) + \
                s.trade[i + 1:]
            out = Shape(s.region, trade, s.industry, s.form).name()
            return out if self.unused(out, core=True) else None
        raise ValueError(kind)

    def pairs(self, count: int) -> list[dict[str, Any]]:
        """`count` labelled pairs, about 60 % true variants."""
        # Only subjects no other subject's name equals once region and legal form are set
        # aside (厦门市X有限公司 and 厦门X有限责任公司 are, in the demo, two subjects): for the
        # others no answer is right, and `decide` rightly gives none.
        pool = [o for o in self.orgs if self.cores[core_key(o["name"], self.v)] == 1]
        renamed = [o for o in pool if o["former"]]
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        tries = 0
        while len(out) < count and tries < count * 50:
            tries += 1
            positive = self.rng.random() < 0.6
            kind = self.rng.choice(POSITIVE_KINDS if positive else NEGATIVE_KINDS)
            o = self.rng.choice(renamed if kind == "former_name" else pool)
            if kind == "former_name" and self.cores[core_key(o["former"], self.v)] != 1:
                continue  # another subject is called so now
            query = (self.positive if positive else self.negative)(kind, o)
            if not query or query in seen or (not positive and not self.unused(query)):
                continue
            seen.add(query)
            out.append({"query": query, "subject": o["key"] if positive else None,
                        "near": o["key"], "kind": kind})
        return out


def organisations(entities: int, seed: int) -> list[dict[str, Any]]:
    from xinyong.core.uscc import tables
    from xinyong.demo.generator import plan_city

    plan = plan_city(entities, seed=seed, today=date(2026, 1, 5))
    return [{"key": f"org-{n}", "uscc": o.uscc if o.uscc != tables().placeholder else None,
             "name": o.name, "former": o.former_name, "region": o.region}
            for n, o in enumerate(plan.organisations)]


def store(url: str, orgs: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store the organisations through the subject service (former name first, then the
    current one), refresh the search index; returns subject id by key."""
    from xinyong.core.db import ensure_schema, make_engine, writing
    from xinyong.subjects import search
    from xinyong.subjects.rules import Identity
    from xinyong.subjects.service import SubjectResolver

    engine = make_engine(url)
    ensure_schema(engine)

    def identity(o: dict[str, Any], name: str) -> Identity:
        return Identity(o["key"], "organisation", name, o["uscc"], o["region"], None, None, None,
                        None, None, None, None)

    with writing(engine) as conn:
        resolver = SubjectResolver(conn)
        resolver.resolve([(identity(o, o["former"]), date(2024, 1, 2)) for o in orgs if o["former"]])
        ids = resolver.resolve([(identity(o, o["name"]), date(2025, 1, 2)) for o in orgs])
        search.refresh(conn)
    engine.dispose()
    return ids


def pad(url: str, count: int, seed: int) -> None:
    """Bulk insert `count` subjects named like the demo city's but in other cities (as
    bench/search.py stores them), and refresh the index: throughput at scale only, since
    they would change which answers are right."""
    sys.path.insert(0, str(ROOT / "bench"))
    from search import Names, uscc

    from xinyong.core.db import bulk_insert, make_engine, utcnow, writing
    from xinyong.subjects import search
    from xinyong.subjects.service import SUBJECT_COLUMNS

    names = Names(seed)
    cities = ["泉州", "福州", "漳州", "莆田", "龙岩"]
    now = str(utcnow())
    engine = make_engine(url)
    with writing(engine) as conn:
        for start in range(0, count, 100_000):
            rows = []
            for n in range(start, min(start + 100_000, count)):
                kind, name = names.subject()
                if kind == "natural_person":
                    continue
                city = cities[n % len(cities)]
                rows.append((f"pad{n}", uscc(n), name.replace(names.short_city, city),
                             "2024-01-01", kind, "350500", None, None, None, None, None, None,
                             None, now, now))
            bulk_insert(conn, "subject", SUBJECT_COLUMNS, rows)
        search.refresh(conn)
    engine.dispose()


def evaluate(url: str, pairs: Sequence[dict[str, Any]], ids: dict[str, int]
             ) -> tuple[list[tuple[dict[str, Any], list[Any]]], float]:
    """Candidates of every query, and the checks by name per second."""
    from xinyong.core.db import make_engine
    from xinyong.subjects import matching

    engine = make_engine(url)
    out = []
    with engine.connect() as conn:
        for p in pairs[:20]:  # warm the caches
            matching.candidates(conn, p["query"])
        t = time.perf_counter()
        for p in pairs:
            out.append((p, matching.candidates(conn, p["query"])))
        seconds = time.perf_counter() - t
    engine.dispose()
    return out, len(pairs) / seconds


def scores(results: Sequence[tuple[dict[str, Any], list[Any]]], ids: dict[str, int],
           threshold: float) -> tuple[float, float, float, Counter[str], Counter[str]]:
    """(precision, recall, F1, correct per kind, total per kind)."""
    from xinyong.subjects import matching

    tp = fp = fn = 0
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p, found in results:
        chosen = matching.decide(found, threshold)
        total[p["kind"]] += 1
        if p["subject"] is None:
            fp += chosen is not None
            right[p["kind"]] += chosen is None
        elif chosen is not None and chosen.subject_id == ids[p["subject"]]:
            tp += 1
            right[p["kind"]] += 1
        else:
            fn += 1
            fp += chosen is not None
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, right, total


def run(engine_name: str, url: str, args: argparse.Namespace) -> None:
    from xinyong.subjects.matching import DEFAULT_THRESHOLD, decide

    orgs = organisations(args.entities, args.seed)
    pairs = Generator(orgs, args.seed).pairs(args.pairs)
    t = time.perf_counter()
    ids = store(url, orgs)
    positives = sum(1 for p in pairs if p["subject"])
    print(f"\n[{engine_name}] {len(orgs):,} demo organisations stored and indexed in "
          f"{time.perf_counter() - t:.1f} s; {len(pairs):,} labelled pairs "
          f"({positives:,} true variants, {len(pairs) - positives:,} hard negatives)")
    results, per_second = evaluate(url, pairs, ids)
    p, r, f1, right, total = scores(results, ids, DEFAULT_THRESHOLD)
    print(f"  at the default threshold {DEFAULT_THRESHOLD}: precision {p:.3f}  recall {r:.3f}  "
          f"F1 {f1:.3f}")
    print("  sweep: " + "  ".join(
        f"{th:.2f}: P {sp:.3f} R {sr:.3f} F1 {sf:.3f}"
        for th in SWEEP for sp, sr, sf, _, _ in [scores(results, ids, th)]))
    print("  right per kind at the default threshold: " + ", ".join(
        f"{k} {right[k]}/{total[k]}" for k in (*POSITIVE_KINDS, *NEGATIVE_KINDS) if total[k]))
    print(f"  checks by name: {per_second:,.0f}/s in-process (candidates(), one connection)")
    if args.padding:
        pad(url, args.padding, args.seed)
        _, padded = evaluate(url, pairs, ids)
        print(f"  checks by name with {args.padding:,} more subjects (the same 字号 in other "
              f"cities): {padded:,.0f}/s in-process")
    if args.show_misses:
        for pair, found in results:
            chosen = decide(found)
            ok = (chosen is None) if pair["subject"] is None else (
                chosen is not None and chosen.subject_id == ids[pair["subject"]])
            if not ok:
                print("   MISS", pair["kind"], pair["query"], [(c.name, c.score) for c in found[:2]])
    if args.fixture:
        line = lambda item: json.dumps(item, ensure_ascii=False)  # noqa: E731
        args.fixture.write_text(
            '{"about": ' + line("bench/names.py " + " ".join(sys.argv[1:])) + ',\n"organisations": [\n'
            + ",\n".join(map(line, orgs)) + '],\n"pairs": [\n' + ",\n".join(map(line, pairs))
            + "]}\n", "utf-8")
        print(f"  wrote {args.fixture}")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--entities", type=int, default=10_000, help="demo city organisations")
    p.add_argument("--pairs", type=int, default=3000, help="labelled pairs")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    p.add_argument("--postgres", help="PostgreSQL URL, or 'auto' to start a private server")
    p.add_argument("--fixture", type=Path, help="also write the organisations and pairs as JSON")
    p.add_argument("--show-misses", action="store_true")
    p.add_argument("--padding", type=int, default=0,
                   help="then add this many subjects of other cities and time again")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "names.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    run("sqlite", f"sqlite:///{db}", args)
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(ROOT / "bench"))
        from ingest import drop_database, fresh_database, postgres_server

        with postgres_server(args.postgres) as url:
            fresh = fresh_database(url)
            args.fixture = None
            run("postgresql", fresh, args)
            drop_database(url, fresh)


if __name__ == "__main__":
    main()
