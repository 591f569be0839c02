"""What every command-line verb shares: the store it opens, JSON output, clear failures."""

from __future__ import annotations

import getpass
import sys
from functools import lru_cache
from typing import Any, NoReturn

import orjson
import typer
from rich.console import Console
from sqlalchemy import Engine

from xinyong.core.audit import Actor
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


def operator_name() -> str:
    """Whoever runs a command on the server, as the audit log names them: `cli:<login>`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return f"cli:{user}"[:128]


def operator(role: str = "staff") -> Actor:
    """The operator as an actor. Whoever has the server's database acts for the credit office
    (`staff`), or as `admin` for accounts and tokens."""
    return Actor(operator_name(), role, "cli")
