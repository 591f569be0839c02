"""Pure rules of the store kernel: how a subject is named by a report (`Identity`), and of
name search: how a subject name is normalised, which tokens index it, and
the order key each indexed name gets.

Chinese names have no spaces, and people search them by two characters (小米, 茅台, a shop's
字号), so a name is indexed by all its single characters and all its pairs of adjacent
characters: a query of one character is one token, a longer query is the phrase of its
adjacent pairs. Matching is done on the *search key* of a name — its normalised form with
only letters and digits left — so the usual variants (全角/半角, brackets, blanks, case)
all find each other.
"""

from __future__ import annotations

import re
import unicodedata
from operator import add

# Brackets NFKC leaves alone; all become the ASCII pair.
_BRACKETS = str.maketrans({c: "(" for c in "【〔［｛〈《「『〖〘"} | {c: ")" for c in "】〕］｝〉》」』〗〙"}
                          | {"[": "(", "]": ")", "{": "(", "}": ")"})
_BLANKS = re.compile(r"\s+")
# everything but letters and digits: str.isalnum() is exactly Unicode L* and N*
_NOT_ALNUM = re.compile(r"[\W_]+")
# Marks the tokens at the start of a name (a name *starting* with the query ranks higher).
# A private-use character: it is never part of a search key, and SQLite's unicode61
# tokenizer keeps it inside a token.
START = "\ue000"
# The highest order key; also the bit set on the order key of natural persons' names.
PERSON_BIT = 1 << 62
_SUBJECT_BITS = 46
MAX_NAMES_PER_SUBJECT = 256
MAX_SUBJECT_ID = (1 << _SUBJECT_BITS) - 1


def normalise_name(text: str) -> str:
    """The comparable form of a name: NFKC (full-width → half-width), brackets unified to
    `()`, blanks removed, Latin letters in upper case."""
    return _BLANKS.sub("", unicodedata.normalize("NFKC", text).translate(_BRACKETS)).upper()


def search_key(text: str) -> str:
    """The normalised name with only letters and digits (Unicode L* and N*): what search
    matches on, so that "小米科技北京" finds "小米科技（北京）有限公司"."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).upper())


def name_tokens(name: str) -> list[str]:
    """Index tokens of a name: its distinct characters, markers of its first character and
    first pair, then every pair of adjacent characters in order (a query's pairs match as a
    phrase, so their order must be kept)."""
    return key_tokens(search_key(name))


def key_tokens(key: str) -> list[str]:
    """`name_tokens` of a name whose search key is `key`."""
    if not key:
        return []
    return [*dict.fromkeys(key), START + key[0], START + key[:2], *map(add, key, key[1:])]


def query_tokens(key: str) -> list[str]:
    """Tokens a search key must match in order: the character itself, or its pairs."""
    if len(key) == 1:
        return [key]
    return [key[i:i + 2] for i in range(len(key) - 1)]


def start_token(key: str) -> str:
    """The marker token of names starting like `key` (first character, or first pair)."""
    return START + key[:2]


def order_key(subject_id: int, nth: int, key_length: int, natural_person: bool) -> int:
    """The id of an indexed name, chosen so that ascending ids are the search ranking:
    organisations before natural persons (they are searched apart), then shorter names,
    then subject id, then the subject's n-th name. Both engines can then read matches in
    index order and stop at the page's end instead of sorting every match."""
    if not 0 < subject_id <= MAX_SUBJECT_ID or not 0 <= nth < MAX_NAMES_PER_SUBJECT:
        raise ValueError(f"subject {subject_id} / name {nth} out of the search index's range")
    return ((PERSON_BIT if natural_person else 0) | min(key_length, 255) << 54
            | subject_id << 8 | nth)
