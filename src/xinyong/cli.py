"""The `xinyong` command. Each capability registers its own sub-commands; this file only
assembles them and turns typed errors into one clear line and an exit status."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from xinyong import __version__
from xinyong.core import db
from xinyong.core.console import err, out
from xinyong.core.errors import XinyongError
from xinyong.core.settings import get_settings
from xinyong.web import capabilities
from xinyong.web import cli as web_cli

app = typer.Typer(
    help="xinyong 公共信用信息平台：归集、公示、核查、权益保护与信用评价。",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
)
db_app = typer.Typer(help="数据库", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库升级到当前结构（首次使用时各命令也会自动升级）。"""
    engine = db.make_engine()
    before = db.current_revision(engine)
    db.upgrade(engine)
    out.print(f"数据库结构：{before or '空'} → {db.current_revision(engine)}")


@app.command("version")
def version() -> None:
    """显示版本。"""
    out.print(f"xinyong {__version__}")


app.add_typer(db_app, name="db")
# Each capability's `cli.py` registers its own commands, found the way the web app finds their
# routers (the web kit's own commands — serve — beside them).
for register in [*capabilities.offered("cli", "register"), web_cli.register]:
    register(app)


def main() -> None:
    try:
        app()
    except XinyongError as exc:
        err.print(f"[red]错误：[/red]{exc.message}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("已中断：未完成的批次没有提交，数据库未改变。")
        sys.exit(130)
    except DBAPIError as exc:
        if get_settings().debug:
            raise
        err.print(f"[red]数据库错误：[/red]{str(exc.orig).strip().splitlines()[0]}"
                  f"（数据库：{make_url(get_settings().database_url).render_as_string()}）")
        sys.exit(3)
    except Exception as exc:
        if get_settings().debug:
            raise
        err.print(f"[red]内部错误：[/red]{type(exc).__name__}: {exc}"
                  "（设置 XINYONG_DEBUG=1 可查看详细信息，请报告此问题）")
        sys.exit(4)
