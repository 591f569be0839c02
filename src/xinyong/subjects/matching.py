"""Name matching: which subjects a name given without a code most likely means (checks by
name, issue 5), each with a score from 0 to 1 and the reasons for it.

Candidates are found with the name search index (by the name's core — 字号 and 行业 — and by
its 字号 alone, so 鹭达（厦门）科技 is found from 厦门鹭达科技; current and former names), then
every name of each is compared part by part (`names.compare`). A candidate at or above
`DEFAULT_THRESHOLD` counts as a match; `best_match` answers only when one candidate does, or
one is clearly ahead, so two subjects of nearly the same name are never silently taken for
one another. Precision and recall on a labelled set from the demo city: `bench/names.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from xinyong.core.db import in_list, list_param
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.subjects import search
from xinyong.subjects.error_codes import SubjectError
from xinyong.subjects.names import NameParts, best_of, normalise_for_matching
from xinyong.subjects.rules import search_key

__all__ = ["AMBIGUITY_MARGIN", "DEFAULT_THRESHOLD", "MAX_CANDIDATES", "Candidate", "best_match",
           "candidates", "decide"]

# From `bench/names.py` on the demo city (3,000 labelled pairs): at 0.80 the first hard
# negatives (another industry word) get through; 0.85 to 0.95 keep precision and recall at
# 0.999 or better. The lowest of those leaves room for names written more loosely.
DEFAULT_THRESHOLD = 0.85
# A best candidate this close to the next one above the threshold is not taken as the match.
AMBIGUITY_MARGIN = 0.05
MAX_CANDIDATES = 100
# Subjects read from the index per query (core, then 字号): the 字号 of a small shop may be
# shared by dozens of subjects across a city.
RETRIEVE = 50


@dataclass(frozen=True)
class Candidate:
    subject_id: int
    uscc: str | None
    name: str
    # the current or former name that matched best
    matched_name: str
    score: float
    reasons: list[str]


def candidates(conn: Connection, name: str, limit: int = 10) -> list[Candidate]:
    """The subjects (organisations) `name` most likely means, best first, with a score from 0
    to 1 and the reasons for it in Chinese. Empty when none resembles it."""
    if not name or not name.strip():
        raise InvalidInput("请输入要核查的主体名称", code=CoreError.EMPTY_NAME)
    if not 1 <= limit <= MAX_CANDIDATES:
        raise InvalidInput(f"候选数量应在 1 到 {MAX_CANDIDATES} 之间（收到 {limit}）",
                           code=SubjectError.INVALID_LIMIT)
    if not search_key(name):
        raise InvalidInput(f"名称“{name.strip()}”中没有文字或数字", code=CoreError.EMPTY_NAME)
    query = normalise_for_matching(name)
    found: dict[int, search.SearchItem] = {}
    for q in _queries(query):
        for item in search.search(conn, q, limit=RETRIEVE).items:
            found.setdefault(item.subject_id, item)
    if not found:
        return []
    former: dict[int, list[str]] = {}
    for sid, other in conn.execute(text(
            "SELECT subject_id, name FROM subject_name WHERE "
            + in_list(conn, "subject_id", "ids") + " ORDER BY subject_id, id"),
            {"ids": list_param(conn, list(found))}):
        former.setdefault(sid, []).append(other)
    out = []
    for sid, item in found.items():
        names = [(item.name, False)] + [(n, True) for n in former.get(sid, []) if n != item.name]
        matched, scored = best_of(query, names, item.region)
        out.append(Candidate(sid, item.uscc, item.name, matched, scored.score,
                             list(scored.reasons)))
    out.sort(key=lambda c: (-c.score, c.subject_id))
    return out[:limit]


def _queries(query: NameParts) -> list[str]:
    """What to look up in the search index: the core, and the 字号 alone when it differs."""
    wanted = [q for q in (query.core, query.trade_name) if len(search_key(q)) >= 2]
    return list(dict.fromkeys(wanted)) or [query.normalised]


def decide(found: Sequence[Candidate], threshold: float = DEFAULT_THRESHOLD) -> Candidate | None:
    """The match among ranked candidates: the first, when it reaches `threshold` and no other
    candidate reaching it is within `AMBIGUITY_MARGIN` of it."""
    if not found or found[0].score < threshold:
        return None
    if len(found) > 1 and found[1].score >= threshold and (
            found[0].score - found[1].score < AMBIGUITY_MARGIN):
        return None
    return found[0]


def best_match(conn: Connection, name: str) -> Candidate | None:
    """The subject `name` means, when one candidate is a clear match; None otherwise."""
    return decide(candidates(conn, name))
