"""What every command-line verb shares: the store it opens, JSON output, clear failures."""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, NoReturn

import orjson
import typer
from rich.console import Console
from sqlalchemy import Engine

from xinyong.core.db import ensure_schema, make_engine

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The configured store, migrated to the current schema on first use."""
    eng = make_engine()
    ensure_schema(eng)
    return eng


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                                  default=str).decode() + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"
