"""`xinyong notifications …`: deliver pending notifications through the configured channel,
and list a subject's notifications (for operators answering an enterprise's question)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.table import Table

from xinyong.accounts.rules import Principal
from xinyong.core.audit import SYSTEM
from xinyong.core.console import engine, out, print_json
from xinyong.core.uscc import normalise
from xinyong.notifications import service

app = typer.Typer(help="通知：向企业发送其案件变化的通知", no_args_is_help=True)


def _log_to_stderr() -> None:
    """The log channel writes to the application log; on the command line that is stderr."""
    logger = logging.getLogger("xinyong")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@app.command("deliver")
def deliver(
    channel: Annotated[str | None, typer.Option(
        "--channel", help="发送渠道（默认取 XINYONG_NOTIFICATION_CHANNEL，即 log：写入应用日志；"
                          "或“模块:类名”指定的自定义渠道，如短信、电子邮件）")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1_000_000,
                                       help="本次最多发送的条数")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果")] = False,
) -> None:
    """发送尚未发送的通知（最早的在前）。发送失败的留待下次重试；可由定时任务每几分钟运行一次。"""
    _log_to_stderr()
    report = service.deliver(engine(), SYSTEM, service.channel(channel), limit=limit)
    if as_json:
        print_json(report.as_json())
    else:
        out.print(f"通知发送（渠道 {report.channel}）：已发送 {report.delivered} 条，"
                  f"失败 {report.failed} 条，仍待发送 {report.pending} 条。")
    if report.failed:  # a scheduler sees the run did not get everything out
        raise typer.Exit(1)


@app.command("list")
def list_notifications(
    uscc: Annotated[str, typer.Argument(help="信用主体的统一社会信用代码")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """列出一个主体的通知（最新的在前），含是否已读、是否已发送。"""
    code = normalise(uscc)
    reader = Principal("operator", "enterprise", None, frozenset(), kind="account", subject=code)
    with engine().connect() as conn:
        rows = service.for_subject(conn, reader, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("该主体没有通知。")
        return
    t = Table()
    for col in ("编号", "时间", "标题", "已读", "已发送"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r["id"]), r["created_at"].strftime("%Y-%m-%d %H:%M"), r["title"],
                  "是" if r["read"] else "否", "是" if r["delivered"] else "否")
    out.print(t)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="notifications")
