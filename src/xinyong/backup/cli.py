"""`xinyong backup PATH` and `xinyong restore [PATH]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xinyong.backup import service
from xinyong.core.console import err, operator, out, print_json
from xinyong.core.settings import get_settings

# Chinese names of the tables an operator looks at first; the others show by table name.
LABELS = {
    "subject": "主体", "record": "信用记录", "batch": "报送批次", "rejection": "退回的行",
    "audit_event": "审计事件", "account": "账号", "api_token": "接口令牌", "department": "报送部门",
    "objection": "异议", "repair_case": "信用修复", "list_entry": "名单",
}


def _show(summary: service.Summary, title: str, as_json: bool) -> None:
    v = summary.verification
    if as_json:
        print_json({"path": summary.path, "counts": summary.counts, "head_id": summary.head_id,
                    "audit": {"ok": v.ok, "events": v.events, "first_bad_id": v.first_bad_id,
                              "reason": v.reason}})
        return
    out.print(title, soft_wrap=True)
    if v.ok:
        out.print(f"[green]✓[/green] 审计日志完整：{v.events} 个事件，哈希链无断裂，与锚点相符")
    else:
        out.print(f"[red]✗[/red] 审计日志在事件 {v.first_bad_id} 处断裂：{v.reason}", soft_wrap=True)
    for note in summary.notes:
        out.print(note)
    t = Table("表", "行数", header_style="bold")
    for name, n in summary.counts.items():
        if n or name in LABELS:
            t.add_row(LABELS.get(name, name), str(n))
    out.print(t)


def backup(
    path: Annotated[Path, typer.Argument(help="备份文件（SQLite 数据库文件）")],
    force: Annotated[bool, typer.Option("--force", help="覆盖已有的备份文件")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出记录数和校验结果")] = False,
) -> None:
    """备份 SQLite 数据库：服务运行时也可进行，得到某一时刻完整一致的副本，并校验副本的审计日志。

    PostgreSQL 请用 pg_dump（见 docs/backup.md）。密钥文件和锚点文件不在数据库中，需另行备份。"""
    summary = service.backup(get_settings().database_url, path, force=force)
    _show(summary, f"已备份到 {summary.path}", as_json)
    raise typer.Exit(0 if summary.verification.ok else 1)


def restore(
    path: Annotated[Path | None, typer.Argument(
        help="备份文件；不给时只核对已用其他方式（如 pg_restore）恢复的数据库并登记这次恢复")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="数据库正被其他进程使用时也恢复（先停止服务更稳妥）")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出记录数和校验结果")] = False,
) -> None:
    """用备份文件恢复 SQLite 数据库：先校验备份（完整性、审计日志与密钥和锚点），通过后才覆盖数据库，
    并显示各表记录数。

    数据库正被使用（服务在运行）时拒绝，除非加 --force。备份的审计日志断裂时不恢复，退出码为 1。"""
    url = get_settings().database_url
    try:
        if path is None:
            summary = service.restore_done(url, operator("admin"))
        else:
            summary = service.restore(url, path, operator("admin"), force=force)
    except service.BackupBroken as exc:
        err.print(f"[red]✗[/red] {exc.message}")
        raise typer.Exit(1) from None
    _show(summary, "已核对恢复的数据库并登记这次恢复" if path is None
          else f"已从 {summary.path} 恢复数据库", as_json)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
