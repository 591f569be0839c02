"""Public name search over subjects: by any part of a current or former name, one character
upwards, or by unified social credit code.

The index (`subject_search`, one row per name) is brought up to date by `refresh`, which
ingest calls in every batch's transaction; triggers queue the subjects whose names changed.
A row's id is its order key (`rules.order_key`), so matches can be read in ranking order
and the reading stops at the end of the page: SQLite's FTS5 table always reads that way, so
a one-character query matching half a million names costs what a rare one costs.
PostgreSQL reads a window of the index in ranking order first, checking each name itself,
and goes on through the GIN index only when the window held less than a page of matches —
that is, when the matches are few enough to sort (see `_postgres_matches`). Ranking: the code
itself, then names starting with the query (exact matches first, being the shortest), then
names containing it, shorter names first, then by subject id.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import Connection, text

from xinyong.core import uscc as uscc_rules
from xinyong.core.db import Db, bulk_insert, in_list, is_sqlite, list_param, lock_for_append, transaction
from xinyong.core.errors import InvalidInput
from xinyong.subjects import rules
from xinyong.subjects.error_codes import SubjectError
from xinyong.subjects.models import SEARCH_FTS_TABLE
from xinyong.subjects.rules import name_tokens, normalise_name

__all__ = ["SearchItem", "SearchResult", "name_tokens", "normalise_name", "pending", "refresh",
           "search"]

MAX_LIMIT = 100
MAX_OFFSET = 10_000
NATURAL_PERSON = "natural_person"
FTS = SEARCH_FTS_TABLE
_TOKEN = re.compile(rf"{rules.START}?[^\W_]+")
# Subjects re-indexed per round trip: bounded memory for a first build of millions.
REFRESH_CHUNK = 20_000


@dataclass(frozen=True)
class SearchItem:
    subject_id: int
    uscc: str | None
    name: str
    # the name that matched: the current name, or the former name the subject was found by
    matched_name: str
    kind: str
    region: str | None


@dataclass
class SearchResult:
    query: str
    limit: int
    offset: int
    has_more: bool
    items: list[SearchItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def search(conn: Connection, q: str, *, limit: int = 20, offset: int = 0,
           include_natural_persons: bool = False) -> SearchResult:
    """One page of subjects whose code is `q` or whose current or former name contains it
    (compared in normalised form: 全角/半角, brackets, blanks and case do not matter).
    Natural persons only with `include_natural_persons`."""
    if not q or not q.strip():
        raise InvalidInput("请输入要查询的主体名称或统一社会信用代码", code=SubjectError.EMPTY_QUERY)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"每页条数应在 1 到 {MAX_LIMIT} 之间（收到 {limit}）",
                           code=SubjectError.INVALID_LIMIT)
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"起始位置应在 0 到 {MAX_OFFSET} 之间（收到 {offset}），请缩小查询范围",
                           code=SubjectError.INVALID_OFFSET)
    q = q.strip()
    wanted = offset + limit + 1
    hits = chain(_by_code(conn, q, include_natural_persons),
                 _by_name(conn, rules.search_key(q), include_natural_persons, wanted))
    seen: set[int] = set()
    items: list[SearchItem] = []
    for item in hits:
        if item.subject_id not in seen:
            seen.add(item.subject_id)
            items.append(item)
            if len(items) == wanted:
                break
    return SearchResult(q, limit, offset, len(items) == wanted, items[offset:offset + limit])


def _by_code(conn: Connection, q: str, persons: bool) -> Iterator[SearchItem]:
    code = uscc_rules.normalise(q)
    if len(code) != uscc_rules.LENGTH or not set(code) <= set(uscc_rules.ALPHABET):
        return
    rows = conn.execute(text(
        "SELECT id, uscc, name, kind, region FROM subject WHERE uscc = :code ORDER BY id"),
        {"code": code})
    for r in rows:
        if persons or r.kind != NATURAL_PERSON:
            yield SearchItem(r.id, r.uscc, r.name, r.name, r.kind, r.region)


def _by_name(conn: Connection, key: str, persons: bool, wanted: int) -> Iterator[SearchItem]:
    if not key:
        return
    for starting in (True, False):
        streams = [_matches(conn, key, starting, natural_persons=False, page=wanted)]
        if persons:
            streams.append(_matches(conn, key, starting, natural_persons=True, page=wanted))
        for _, item in heapq.merge(*streams, key=lambda hit: hit[0] & ~rules.PERSON_BIT):
            yield item


def _matches(conn: Connection, key: str, starting: bool, natural_persons: bool,
             page: int) -> Iterator[tuple[int, SearchItem]]:
    """(order key, item) of the names containing `key` — those starting with it, or the
    others — of organisations or of natural persons, in order, read `page` rows at first
    (what the caller needs when no subject has two matching names), then more at a time."""
    if natural_persons:
        after, below = rules.PERSON_BIT - 1, (1 << 63) - 1
        kind = ""
    else:
        after, below = 0, rules.PERSON_BIT
        kind = f"AND s.kind <> '{NATURAL_PERSON}'"
    if is_sqlite(conn):
        sql, order_by, params = _sqlite_query(key, starting)
        yield from _paged(conn, text(sql.format(kind=kind, order_by=order_by)), params,
                          after, below, page)
        return
    yield from _postgres_matches(conn, key, starting, kind, after, below, page)


def _paged(conn: Connection, statement: Any, params: dict[str, Any], after: int, below: int,
           page: int) -> Iterator[tuple[int, SearchItem]]:
    while True:
        rows = conn.execute(statement, {**params, "after": after, "below": below,
                                        "page": page}).all()
        for r in rows:
            yield r.id, SearchItem(r.subject_id, r.uscc, r.name, r.matched, r.kind, r.region)
        if len(rows) < page:
            return
        after = rows[-1].id
        page = min(page * 4, 4096)


# PostgreSQL first reads this many index rows in ranking order and checks each name itself.
# A common query ("有限公司", "限") fills its page there in a few milliseconds, where the GIN
# index would hand over hundreds of thousands of matches to sort. A window with some matches
# but less than a page is followed by larger ones (matches may start only among longer
# names), up to PG_WINDOWS_READ windows' worth of rows; a window without a match, or the
# budget spent, hands the rest to the GIN index, whose matches are then few.
PG_WINDOW = 1024
PG_WINDOWS_READ = 16
_WINDOW = text("SELECT max(id) AS edge, count(*) AS n FROM (SELECT id FROM subject_search "
               "WHERE id > :after AND id < :below ORDER BY id LIMIT :window) w")


def _postgres_matches(conn: Connection, key: str, starting: bool, kind: str, after: int,
                      below: int, page: int) -> Iterator[tuple[int, SearchItem]]:
    scan_sql, gin_sql, params = _postgres_query(key, starting)
    scan = text(scan_sql.format(kind=kind, order_by="x.id"))
    size, budget = PG_WINDOW, PG_WINDOW * PG_WINDOWS_READ
    while True:
        window = conn.execute(_WINDOW, {"after": after, "below": below, "window": size}).one()
        if not window.n:
            return
        rows = conn.execute(scan, {**params, "after": after, "edge": window.edge,
                                   "page": page}).all()
        for r in rows:
            yield r.id, SearchItem(r.subject_id, r.uscc, r.name, r.matched, r.kind, r.region)
        if len(rows) == page:  # dense: the next page from the next window
            after = rows[-1].id
            page = min(page * 4, 4096)
            continue
        if window.n < size:  # the window reached the end of the index
            return
        budget -= window.n
        after = window.edge
        if not rows or budget <= 0:
            break
        size = min(size * 4, budget)
    # sparse: the rest of the matches, after the windows, from the GIN index
    yield from _paged(conn, text(gin_sql.format(kind=kind, order_by="x.id")), params,
                      after, below, page)


SELECT = ("SELECT x.id, x.subject_id, x.name AS matched, s.uscc, s.name, s.kind, s.region "
          "FROM {source} JOIN subject s ON s.id = x.subject_id WHERE {match} "
          "AND {order} > :after AND {order} < :below {{kind}} {check} "
          "ORDER BY {{order_by}} LIMIT :page")

def _phrase(tokens: Sequence[str]) -> str:
    return '"' + " ".join(tokens) + '"'


def _sqlite_query(key: str, starting: bool) -> tuple[str, str, dict[str, Any]]:
    tokens = rules.query_tokens(key)
    start = _phrase([rules.start_token(key)])
    check = ""
    if starting:
        match = start if len(key) <= 2 else f"{start} AND {_phrase(tokens)}"
        if len(key) > 2:
            check = "AND substr(x.key, 1, :n) = :key"
    elif len(key) <= 2:
        match = f"{_phrase(tokens)} NOT {start}"
    else:
        match = _phrase(tokens)
        check = "AND substr(x.key, 1, :n) <> :key"
    # FTS5 reads its matches in rowid order (= rank order) and stops at the page's end.
    sql = SELECT.format(source=f"{FTS} f JOIN subject_search x ON x.id = f.rowid",
                        match=f"{FTS} MATCH :match", order="f.rowid", check=check)
    return sql, "f.rowid", {"match": match, "n": len(key), "key": key}


def _postgres_query(key: str, starting: bool) -> tuple[str, str, dict[str, Any]]:
    """The window statement (names checked one by one, in index order, up to :edge) and the
    GIN statement (the tokens looked up in the index, the matches sorted)."""
    tokens = rules.query_tokens(key)
    if starting:
        wanted = [rules.start_token(key)] + (tokens if len(key) > 2 else [])
        check = "AND left(x.key, :n) = :key" if len(key) > 2 else ""
        substring = "left(x.key, :n) = :key"
    else:
        wanted = tokens
        check = "AND left(x.key, :n) <> :key"
        if len(key) > 2:
            # the pairs are all there, but maybe not in a row: confirm the substring
            check += " AND strpos(x.key, :key) > 0"
        substring = "strpos(x.key, :key) > 0 AND left(x.key, :n) <> :key"
    # The tokens are written into the statement, not bound: a prepared statement's generic
    # plan cannot tell a token in half the names from one in ten. A token holds only
    # letters, digits and START, never a quote.
    assert all(_TOKEN.fullmatch(t) for t in wanted), wanted
    match = ("string_to_array(x.tokens, ' ') @> ARRAY["
             + ", ".join(f"'{t}'" for t in wanted) + "]::text[]")
    scan = (SELECT.format(source="subject_search x", match=substring, order="x.id", check="")
            .replace("x.id < :below", "x.id <= :edge"))
    # `x.id + 0` hides the key's index: the matches are read from the GIN index and sorted
    # (cost grows with the number of matches, which the window has shown to be few); only
    # the page's rows are then joined to their subjects.
    ranked = ("(SELECT x.id, x.subject_id, x.name FROM subject_search x WHERE " + match
              + " AND x.id > :after AND x.id < :below " + check
              + " ORDER BY x.id + 0 LIMIT :page) x")
    gin = SELECT.format(source=ranked, match="TRUE", order="x.id", check="")
    return scan, gin, {"n": len(key), "key": key}


# Index upkeep -----------------------------------------------------------------------------

def pending(conn: Connection) -> bool:
    """Whether subjects are waiting to be (re)indexed."""
    return conn.execute(text("SELECT 1 FROM subject_search_queue LIMIT 1")).first() is not None


def refresh(db: Db) -> int:
    """Bring the index up to date with the subjects created, renamed, given former names or
    deleted since the last refresh (queued by triggers; given a connection, inside the
    caller's transaction — ingest's batch). Returns how many subjects were (re)indexed;
    costs one statement when none were."""
    with transaction(db) as conn:
        queued = sorted({r[0] for r in conn.execute(text(
            "DELETE FROM subject_search_queue RETURNING subject_id"))})
        if queued:
            # Two writers re-indexing one subject at once (say, each adding a former name)
            # would insert the same order key; on PostgreSQL they take turns.
            lock_for_append(conn, "subject_search")
        for i in range(0, len(queued), REFRESH_CHUNK):
            _reindex(conn, queued[i:i + REFRESH_CHUNK])
        return len(queued)


def _reindex(conn: Connection, ids: list[int]) -> None:
    param = {"ids": list_param(conn, ids)}
    old = conn.execute(text("SELECT id, tokens FROM subject_search WHERE "
                            + in_list(conn, "subject_id", "ids")), param).all()
    if old:
        if is_sqlite(conn):
            bulk_insert(conn, FTS, (FTS, "rowid", "tokens"),
                        [("delete", r.id, r.tokens) for r in old])
        conn.execute(text("DELETE FROM subject_search WHERE "
                          + in_list(conn, "subject_id", "ids")), param)
    names: dict[int, list[str]] = {}
    persons: set[int] = set()
    for sid, name, kind in conn.execute(text(
            "SELECT id, name, kind FROM subject WHERE " + in_list(conn, "id", "ids")), param
                                        ).all():
        names[sid] = [name]
        if kind == NATURAL_PERSON:
            persons.add(sid)
    for sid, name in conn.execute(text(
            "SELECT subject_id, name FROM subject_name WHERE "
            + in_list(conn, "subject_id", "ids") + " ORDER BY subject_id, id"), param).all():
        if sid in names:
            names[sid].append(name)
    rows = []
    for sid, all_names in names.items():
        keys: set[str] = set()
        for name in all_names:
            key = rules.search_key(name)
            # a former name differing only in brackets or width adds nothing to find
            if key and key not in keys and len(keys) < rules.MAX_NAMES_PER_SUBJECT:
                rows.append((rules.order_key(sid, len(keys), len(key), sid in persons),
                             sid, name, key, " ".join(rules.key_tokens(key))))
                keys.add(key)
    if rows:
        # FTS5 writes out its pending terms whenever a rowid is not above the last one:
        # inserting in id order keeps that to once per chunk (unsorted: 4x the time).
        rows.sort()
        bulk_insert(conn, "subject_search", ("id", "subject_id", "name", "key", "tokens"), rows)
        if is_sqlite(conn):
            bulk_insert(conn, FTS, ("rowid", "tokens"), [(r[0], r[4]) for r in rows])

