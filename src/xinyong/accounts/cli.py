"""`xinyong user …`, `xinyong token …` and `xinyong audit …`."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from xinyong.accounts import service
from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.rules import role_table
from xinyong.core import audit
from xinyong.core.console import engine, operator, out, print_json
from xinyong.core.errors import InvalidInput
from xinyong.departments.cli import announce

user_app = typer.Typer(help="账号：创建、查看、停用、重置密码、解锁、结束会话", no_args_is_help=True)
token_app = typer.Typer(help="接口令牌：供业务系统和脚本调用接口", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志：校验、锚定、换密钥、查看事件", no_args_is_help=True)

STATUS_LABELS = {"active": "有效", "expired": "已过期", "revoked": "已吊销"}



def _time(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M}"


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="用户名（登录名，不区分大小写）")],
    role: Annotated[str, typer.Option("--role", "-r", help="角色，如 reporter、staff、reviewer、"
                                                           "auditor、admin、enterprise")],
    department: Annotated[str | None, typer.Option("--department", "-d",
                                                   help="所属部门（部门报送员必填）")] = None,
    subject: Annotated[str | None, typer.Option(
        "--subject", "-s", help="所代表信用主体的统一社会信用代码（enterprise 必填）")] = None,
    name: Annotated[str | None, typer.Option("--name", help="显示名，如姓名")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="从标准输入读取密码（一行）")] = False,
) -> None:
    """创建登录账号。不给 --password-stdin 时：在终端上提示输入两次密码；否则生成一个强密码并
    只显示这一次。密码须符合密码策略（XINYONG_PASSWORD_*：默认至少 10 个字符，系统管理员、
    审计人员和信用办工作人员至少 12 个字符并含三类字符；不能包含用户名，同一字符不能连续
    出现 4 次以上）。这些角色首次登录控制台时绑定动态验证码。"""
    generated = False
    given = _read_password(password_stdin)
    if given is not None:
        password = given
    elif sys.stdin.isatty():
        password = typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    else:
        password, generated = service.generated_password(role), True
    account, registered = service.create_account_registering(
        engine(), operator("admin"), operator(), username, role, password=password,
        department=department, display_name=name, subject=subject)
    if registered:
        announce(account.department or "")
    role_name = role_table().role(account.role).name
    where = (f"，部门 {account.department}" if account.department else "") + (
        f"，代表主体 {account.subject_uscc}" if account.subject_uscc else "")
    out.print(f"已创建账号 {account.username}（{account.display_name}，{role_name}{where}）")
    if generated:
        out.print("初始密码（只显示这一次，请立即转交并要求修改）：")
        sys.stdout.write(password + "\n")


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """列出全部账号（不含密码）。"""
    with engine().connect() as conn:
        accounts = service.list_accounts(conn)
    if as_json:
        print_json([a.as_dict() for a in accounts])
        return
    roles = role_table().roles
    t = Table("用户名", "显示名", "角色", "部门", "状态", "创建时间", "最近登录", header_style="bold")
    for a in accounts:
        role = roles[a.role].name if a.role in roles else a.role
        t.add_row(a.username, a.display_name, role, a.department or "—",
                  "启用" if a.active else "停用", _time(a.created_at), _time(a.last_login_at))
    out.print(t)


def _read_password(password_stdin: bool) -> str | None:
    if not password_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput("标准输入中没有密码", code=AccountError.NO_PASSWORD)
    return password


@user_app.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """停用账号：不能再登录，原有会话立即结束。账号不会被删除（审计日志仍指向它）。"""
    account = service.deactivate_account(engine(), operator("admin"), username)
    out.print(f"已停用账号 {account.username}（{account.display_name}），其会话已全部结束")


@user_app.command("reset-password")
def user_reset_password(
    username: Annotated[str, typer.Argument(help="用户名")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="从标准输入读取新密码（一行）；不给时生成一个并只显示这一次")] = False,
) -> None:
    """重置密码，用于忘记密码或丢失动态验证码（手机）时：同时清除动态验证码绑定（下次登录时
    重新绑定）、解除锁定、结束全部会话。"""
    chosen = _read_password(password_stdin)
    password = service.reset_password(engine(), operator("admin"), username, chosen)
    out.print(f"已重置账号 {username.strip().lower()} 的密码，动态验证码绑定已清除，会话已全部结束")
    if chosen is None:
        out.print("新密码（只显示这一次，请立即转交）：")
        sys.stdout.write(password + "\n")


@user_app.command("unlock")
def user_unlock(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """解除因连续登录失败而加的锁定（锁定到期也会自动解除）。"""
    lock = service.unlock(engine(), operator("admin"), username)
    out.print(f"已解锁账号 {username.strip().lower()}（此前连续 {lock.failures} 次登录失败）")


@user_app.command("end-sessions")
def user_end_sessions(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """结束账号的全部登录会话（如电脑丢失、人员离岗），该账号须重新登录。"""
    ended = service.end_sessions(engine(), operator("admin"), username)
    out.print(f"已结束账号 {username.strip().lower()} 的 {ended} 个会话")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option("--role", "-r", help="角色，如 system、reporter、staff")],
    department: Annotated[str | None, typer.Option("--department", "-d",
                                                   help="调用方所属部门（system、reporter 必填）")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="授予的权限，可重复；不给时为该角色的全部权限")] = None,
    days: Annotated[int, typer.Option("--days", help="有效天数")] = service.TOKEN_DEFAULT_DAYS,
    name: Annotated[str | None, typer.Option("--name", help="令牌名称，如调用系统的名字")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="以 JSON 输出 {token, prefix, role, department, expires_at}")] = False,
) -> None:
    """签发接口令牌。令牌只显示这一次，数据库只保存其哈希。"""
    secret, token, registered = service.create_token_registering(
        engine(), operator("admin"), operator(), role, department, scope or (), days, name)
    if registered:
        announce(token.department or "")
    if as_json:
        print_json({"token": secret, "prefix": token.prefix, "role": token.role,
                    "department": token.department, "expires_at": token.expires_at.isoformat()})
        return
    out.print(f"已签发令牌 {token.prefix}（{token.name}），有效期至 {_time(token.expires_at)}")
    out.print("令牌（只显示这一次，请妥善保存）：")
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """列出全部接口令牌（只显示前缀，不显示令牌本身）。"""
    with engine().connect() as conn:
        tokens = service.list_tokens(conn)
    if as_json:
        print_json([t.as_dict() for t in tokens])
        return
    t = Table("前缀", "名称", "角色", "部门", "权限", "有效期至", "状态", "签发人", header_style="bold")
    for tok in tokens:
        t.add_row(tok.prefix, tok.name, tok.role, tok.department or "—",
                  "、".join(tok.scopes) or "角色全部权限", _time(tok.expires_at),
                  STATUS_LABELS[tok.status()], tok.created_by)
    out.print(t)


@token_app.command("revoke")
def token_revoke(
    prefix: Annotated[str, typer.Argument(help="令牌前缀（token list 中显示的 8 个字符）")],
) -> None:
    """吊销接口令牌，立即失效。"""
    token = service.revoke_token(engine(), operator("admin"), prefix)
    out.print(f"已吊销令牌 {token.prefix}（{token.name}）")


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option(
        "--json", help="以 JSON 输出 {ok, events, first_bad_id, reason, anchors, anchored_id}")] = False,
) -> None:
    """校验审计日志：按密钥文件逐个核对事件的校验码和哈希链，并与锚点文件中的每个锚点核对。

    完整时退出码为 0；事件被修改、删除、插入，最新的事件被删除，或链被重算时为 1，
    并给出第一个出错的事件和原因。"""
    with engine().connect() as conn:
        result = audit.verify(conn)
    if as_json:
        print_json({"ok": result.ok, "events": result.events, "first_bad_id": result.first_bad_id,
                    "reason": result.reason, "anchors": result.anchors,
                    "anchored_id": result.anchored_id})
    elif result.ok:
        anchored = (f"，{result.anchors} 个锚点相符（最近锚定到事件 {result.anchored_id}）"
                    if result.anchors else "，尚无锚点")
        out.print(f"[green]✓[/green] 审计日志完整：{result.events} 个事件，哈希链无断裂{anchored}")
    else:
        out.print(f"[red]✗[/red] 审计日志在事件 {result.first_bad_id} 处断裂：{result.reason}",
                  soft_wrap=True)
    loose = audit.key_file_too_open()
    if loose and not as_json:
        out.print(f"[yellow]注意：[/yellow]密钥文件 {audit.key_file()} 的权限是 {loose}，"
                  "其他账号也能读取；应为 0600（chmod 600）", soft_wrap=True)
    raise typer.Exit(0 if result.ok else 1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """把审计日志当前的最新事件（编号和哈希）签名写入锚点文件。

    提交时已按设置定期锚定；可由定时任务每分钟运行一次，使最新的事件也尽快受到保护。"""
    with engine().connect() as conn:
        entry = audit.anchor(conn)
    if entry is None:
        out.print(f"锚点已是最新（{audit.anchor_file()}）", soft_wrap=True)
    else:
        out.print(f"已锚定到事件 {entry['id']}（{audit.anchor_file()}）", soft_wrap=True)


@audit_app.command("rotate-key")
def audit_rotate_key() -> None:
    """生成新的审计日志密钥，此后的事件和锚点用它签名；旧密钥留在密钥文件中，用于校验旧事件。"""
    key_id, path = service.rotate_audit_key(engine(), operator("admin"))
    out.print(f"已启用新密钥 {key_id}（{path}）；请另行备份密钥文件", soft_wrap=True)


@audit_app.command("list")
def audit_list(
    action: Annotated[str | None, typer.Option("--action", "-a",
                                               help="只看这一种操作，如 auth.failed")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="最多显示条数")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 数组输出")] = False,
) -> None:
    """查看最近的审计事件（新的在前）。"""
    with engine().connect() as conn:
        events = service.audit_events(conn, action=action, limit=limit)
    if as_json:
        print_json(events)
        return
    t = Table("编号", "时间", "操作人", "角色", "操作", "对象", "来源", header_style="bold")
    for e in events:
        obj = e["object_type"] + (f" {e['object_id']}" if e["object_id"] else "")
        t.add_row(str(e["id"]), _time(e["at"]), e["actor"], e["role"] or "—", e["action"], obj,
                  e["source"] or "—")
    out.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")
