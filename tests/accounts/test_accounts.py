"""Accounts, roles and tokens: the rules as tables, the service on both engines, the CLI as
a person uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select, text, update

from xinyong.accounts import service
from xinyong.accounts.models import ApiToken
from xinyong.accounts.rules import (
    AuthenticationFailed,
    Forbidden,
    anonymous,
    can,
    load_roles,
    parse_roles,
    password_problems,
    require,
    role_table,
)
from xinyong.core import audit
from xinyong.core.audit import Actor
from xinyong.core.db import utcnow, writing
from xinyong.core.errors import InvalidInput, NotFound, RuleDataError

from ..factories import numbered_uscc
from ..tampering import drop_append_only_guard

ADMIN = Actor("cli:test", "admin", "cli")
GOOD = "correct-horse-battery-42"  # meets the privileged roles' policy too


# --- rules ---------------------------------------------------------------------------------

def test_shipped_role_table_loads_with_every_role() -> None:
    table = load_roles()
    assert set(table.roles) == {"public", "enterprise", "reporter", "staff", "reviewer", "auditor",
                                "admin", "system"}
    assert table.role("enterprise").subject == "required"
    assert table.role("reporter").subject == "none"
    assert table.role("reporter").name == "部门报送员"
    assert table.role("reporter").department == "required"
    assert table.role("system").department == "required"
    assert table.role("system").credentials == {"token"}
    assert table.role("public").credentials == frozenset()


@pytest.mark.parametrize(("role", "permission", "allowed"), [
    ("public", "subject.read_public", True),
    ("public", "subject.read_full", False),
    ("public", "objection.file", False),  # a subject objects signed in, as itself
    ("enterprise", "objection.file", True),
    ("enterprise", "repair.apply", True),
    ("enterprise", "batch.submit", False),
    ("reporter", "objection.decide", True),
    ("reporter", "batch.submit", True),
    ("reporter", "batch.read_own", True),
    ("reporter", "batch.read_all", False),
    ("staff", "batch.read_all", True),
    ("reviewer", "objection.decide", True),
    ("reviewer", "account.manage", False),
    ("auditor", "audit.read", True),
    ("auditor", "account.manage", False),
    # 三员分立: the administrator manages accounts but does not read the audit log.
    ("admin", "account.manage", True),
    ("admin", "audit.read", False),
    ("system", "check.run", True),
    ("system", "subject.read_full", False),
])
def test_who_may_do_what(role: str, permission: str, allowed: bool) -> None:
    from xinyong.accounts.rules import Principal

    r = role_table().role(role)
    principal = Principal("p", r.code, "部门", r.permissions)
    assert can(principal, permission) is allowed


def test_anonymous_is_the_public_role_and_require_refuses_clearly() -> None:
    anon = anonymous()
    assert anon.role == "public" and anon.kind == "anonymous"
    require(anon, "subject.read_public")
    with pytest.raises(Forbidden, match="查看信用主体的全部信息"):
        require(anon, "subject.read_full")


@pytest.mark.parametrize(("password", "reason"), [
    ("short1!", "至少需要 10 个字符"),
    ("123456789", "至少需要 10 个字符"),
    ("1234567890123", "不能全部是数字"),
    (" padded-password", "首尾不能是空白"),
    ("SameAsUser10", "不能与用户名相同"),
])
def test_password_policy_refuses(password: str, reason: str) -> None:
    problems = password_problems(password, username="sameasuser10")
    assert any(reason in p for p in problems), problems


@pytest.mark.parametrize("password", ["correct-horse-battery", "abcdefghij", "12345abcde",
                                      "信用信息平台的密码很长"])
def test_password_policy_accepts(password: str) -> None:
    assert password_problems(password, username="someone") == []


def _roles(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "permissions": {"catalog.read": "查看目录", "audit.read": "查阅审计日志"},
        "roles": {"public": {"name": "公众", "department": "none", "credentials": [],
                             "permissions": ["catalog.read"]},
                  "auditor": {"name": "审计", "credentials": ["password"],
                              "permissions": ["audit.read"]}},
    }
    content.update(overrides)
    return content


@pytest.mark.parametrize(("change", "entry", "reason"), [
    ({"roles": {"public": {"name": "公众", "credentials": [], "permissions": ["nope.read"]}}},
     "角色 public", "未定义的权限 nope.read"),
    ({"roles": {"public": {"name": "公众", "department": "sometimes", "credentials": []}}},
     "角色 public", "department 应为"),
    ({"roles": {"public": {"name": "公众", "credentials": ["fingerprint"]}}},
     "角色 public", "未知的登录方式 fingerprint"),
    ({"roles": {"public": {"credentials": []}}}, "角色 public", "缺少中文名称"),
    ({"roles": {"auditor": {"name": "审计", "credentials": ["password"]}}},
     "角色 public", "缺少匿名公众角色"),
    ({"roles": {"public": {"name": "公众", "credentials": ["password"]}}},
     "角色 public", "不能有登录方式"),
    ({"permissions": {"Audit Read": "x"}}, "权限 Audit Read", "对象.动作"),
    ({"permissions": {"audit.read": ""}}, "权限 audit.read", "缺少中文说明"),
    ({"roles": {"public": {"name": "公众", "credentials": [], "colour": "red"}}},
     "角色 public", "未知的键 colour"),
])
def test_role_file_errors_name_file_entry_and_reason(change: dict[str, Any], entry: str,
                                                     reason: str) -> None:
    with pytest.raises(RuleDataError) as info:
        parse_roles(_roles(**change), "roles.yaml")
    assert info.value.message.startswith("角色文件 roles.yaml：")
    assert entry in info.value.message and reason in info.value.message


def test_unreadable_role_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("roles: [unclosed", encoding="utf-8")
    with pytest.raises(RuleDataError, match=str(path)):
        load_roles(path)
    path.write_text(yaml.safe_dump(_roles(), allow_unicode=True), encoding="utf-8")
    assert set(load_roles(path).roles) == {"public", "auditor"}


# --- service: accounts ---------------------------------------------------------------------

def _events(engine: Engine, action: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return service.audit_events(conn, action=action, limit=1000)


def test_create_sign_in_and_deactivate(engine: Engine) -> None:
    with writing(engine) as conn:
        made = service.create_account(conn, ADMIN, "Zhang.San", "reporter", password=GOOD,
                                      department=" 市场监管局 ", display_name="张三")
    assert (made.username, made.department, made.display_name) == ("zhang.san", "市场监管局", "张三")
    assert made.active and made.last_login_at is None

    with writing(engine) as conn:
        who = service.authenticate_password(conn, "ZHANG.SAN", GOOD, source="127.0.0.1")
    assert (who.name, who.role, who.department, who.kind) == ("zhang.san", "reporter",
                                                               "市场监管局", "account")
    assert can(who, "batch.submit") and not can(who, "batch.read_all")
    with engine.connect() as conn:
        [listed] = service.list_accounts(conn)
    assert listed.last_login_at is not None

    with writing(engine) as conn:
        service.set_password(conn, ADMIN, "zhang.san", "another-good-one")
    with writing(engine) as conn:
        service.authenticate_password(conn, "zhang.san", "another-good-one")
    with writing(engine) as conn:
        assert not service.deactivate_account(conn, ADMIN, "zhang.san").active
    with pytest.raises(AuthenticationFailed), writing(engine) as conn:
        service.authenticate_password(conn, "zhang.san", "another-good-one")
    with pytest.raises(InvalidInput, match="已经停用"), writing(engine) as conn:
        service.deactivate_account(conn, ADMIN, "zhang.san")
    assert [e["detail"]["reason"] for e in _events(engine, "auth.failed")] == ["inactive"]


def test_wrong_password_and_unknown_user_look_alike_and_are_audited(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "li.si", "staff", password=GOOD)
    messages = []
    for username, password in (("li.si", "wrong-password"), ("nobody", GOOD)):
        with pytest.raises(AuthenticationFailed) as info, writing(engine) as conn:
            service.authenticate_password(conn, username, password, source="10.0.0.9")
        messages.append((info.value.code, info.value.message))
    assert messages[0] == messages[1]
    failed = _events(engine, "auth.failed")
    # The failures survive the caller's rollback.
    assert [(e["actor"], e["detail"]["reason"], e["source"]) for e in failed] == [
        ("nobody", "unknown_user", "10.0.0.9"), ("li.si", "wrong_password", "10.0.0.9")]
    assert all(GOOD not in str(e) and "wrong-password" not in str(e)
               for e in _events(engine))
    with engine.connect() as conn:
        assert audit.verify(conn).ok


@pytest.mark.parametrize(("username", "role", "department", "password", "code"), [
    ("wang.wu", "reporter", None, GOOD, "department"),
    ("wang.wu", "reporter", "   ", GOOD, "department"),
    ("wang.wu", "system", "发改委", GOOD, "role_credential"),
    ("wang.wu", "public", None, GOOD, "role_credential"),
    ("wang.wu", "boss", None, GOOD, "unknown_role"),
    ("wang.wu", "staff", None, "1234567890", "weak_password"),
    ("wang.wu", "staff", None, "short", "weak_password"),
    ("x", "staff", None, GOOD, "username"),
    ("has space", "staff", None, GOOD, "username"),
])
def test_accounts_that_cannot_be_created(engine: Engine, username: str, role: str,
                                         department: str | None, password: str,
                                         code: str) -> None:
    with pytest.raises(InvalidInput) as info, writing(engine) as conn:
        service.create_account(conn, ADMIN, username, role, password=password,
                               department=department)
    assert info.value.code == code
    with engine.connect() as conn:
        assert service.list_accounts(conn) == []


def test_usernames_are_unique_whatever_the_case(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "auditor1", "auditor", password=GOOD)
    with pytest.raises(InvalidInput, match="已存在"), writing(engine) as conn:
        service.create_account(conn, ADMIN, "Auditor1", "auditor", password=GOOD)
    with pytest.raises(NotFound), writing(engine) as conn:
        service.set_password(conn, ADMIN, "ghost", GOOD)


# --- service: tokens -----------------------------------------------------------------------

def test_token_lifecycle_create_use_expire_revoke(engine: Engine) -> None:
    with writing(engine) as conn:
        secret, token = service.create_token(conn, ADMIN, "system", "市行政审批局",
                                             scopes=["check.run"], name="审批系统")
    assert secret.startswith("xy_") and len(secret) == 43
    assert token.prefix == secret[:8] and token.status() == "active"
    assert token.expires_at - token.created_at == timedelta(days=90)

    with engine.connect() as conn:
        who = service.authenticate_token(conn, secret)
    assert (who.name, who.role, who.department, who.kind) == (f"token:{token.prefix}", "system",
                                                              "市行政审批局", "token")
    assert who.permissions == {"check.run"}

    with engine.connect() as conn, pytest.raises(AuthenticationFailed) as info:
        service.authenticate_token(conn, secret, now=token.expires_at)
    assert info.value.code == "token_expired"
    with writing(engine) as conn:  # an expiry already past, written as an old token would have it
        conn.execute(update(ApiToken).where(ApiToken.id == token.id)
                     .values(expires_at=utcnow() - timedelta(days=1)))
    with engine.connect() as conn, pytest.raises(AuthenticationFailed) as info:
        service.authenticate_token(conn, secret)
    assert info.value.code == "token_expired"
    with engine.connect() as conn:
        assert service.list_tokens(conn)[0].status() == "expired"

    with writing(engine) as conn:
        revoked = service.revoke_token(conn, ADMIN, token.prefix)
    assert revoked.status() == "revoked"
    with engine.connect() as conn, pytest.raises(AuthenticationFailed) as info:
        service.authenticate_token(conn, secret)
    assert info.value.code == "token_revoked"
    with pytest.raises(InvalidInput, match="已于") as again, writing(engine) as conn:
        service.revoke_token(conn, ADMIN, token.prefix)
    assert again.value.code == "token_already_revoked"
    with pytest.raises(NotFound), writing(engine) as conn:
        service.revoke_token(conn, ADMIN, "xy_nope0")
    with engine.connect() as conn, pytest.raises(AuthenticationFailed) as info:
        service.authenticate_token(conn, "xy_" + "a" * 40)
    assert info.value.code == "token_unknown"


def test_a_token_without_scopes_carries_the_whole_role(engine: Engine) -> None:
    with writing(engine) as conn:
        secret, token = service.create_token(conn, ADMIN, "reporter", "税务局", days=7)
    assert token.expires_at - token.created_at == timedelta(days=7)
    with engine.connect() as conn:
        who = service.authenticate_token(conn, secret)
    assert who.permissions == role_table().role("reporter").permissions


@pytest.mark.parametrize(("role", "department", "scopes", "days", "code"), [
    ("system", "发改委", ["audit.read"], 90, "scope_outside_role"),
    ("system", "发改委", ["check.run", "account.manage"], 90, "scope_outside_role"),
    ("system", None, [], 90, "department"),
    ("reporter", "", [], 90, "department"),
    ("public", None, [], 90, "role_credential"),
    ("auditor", None, [], 90, "role_credential"),
    ("system", "发改委", [], 0, "token_days"),
    ("system", "发改委", [], 10_000, "token_days"),
    ("nobody", None, [], 90, "unknown_role"),
])
def test_tokens_that_cannot_be_issued(engine: Engine, role: str, department: str | None,
                                      scopes: list[str], days: int, code: str) -> None:
    with pytest.raises(InvalidInput) as info, writing(engine) as conn:
        service.create_token(conn, ADMIN, role, department, scopes, days)
    assert info.value.code == code
    with engine.connect() as conn:
        assert service.list_tokens(conn) == []


def test_secrets_are_never_stored_in_clear_and_every_write_is_audited(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "zhao.liu", "reviewer", password=GOOD)
        service.set_password(conn, ADMIN, "zhao.liu", "second-password")
        secret, token = service.create_token(conn, ADMIN, "staff", None, ["check.run"], 30)
        service.revoke_token(conn, ADMIN, token.prefix)
        service.deactivate_account(conn, ADMIN, "zhao.liu")
    with engine.connect() as conn:
        dump = " ".join(
            str(value)
            for table in ("account", "api_token", "audit_event")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for value in row)
        stored_hash = conn.execute(select(ApiToken.token_hash)).scalar_one()
        password_hash = conn.execute(text("SELECT password_hash FROM account")).scalar_one()
        check = audit.verify(conn)
    for clear in (secret, secret[8:], GOOD, "second-password"):
        assert clear not in dump
    assert len(stored_hash) == 64 and password_hash.startswith("$argon2id$")
    assert [e["action"] for e in reversed(_events(engine))] == [
        "account.create", "account.password", "token.create", "token.revoke",
        "account.deactivate"]
    assert all(e["actor"] == "cli:test" for e in _events(engine))
    assert check.ok and check.events == 5


# --- the command line ----------------------------------------------------------------------

def xinyong(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xinyong", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120,
                          input=stdin if stdin is not None else "",
                          )


def test_token_create_json_shape_and_the_token_works(engine: Engine) -> None:
    r = xinyong("token", "create", "--role", "system", "-d", "市行政审批局", "--scope", "check.run",
                "--scope", "catalog.read", "--days", "30", "--name", "审批系统", "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert set(shown) == {"token", "prefix", "role", "department", "expires_at"}
    assert shown["token"].startswith(shown["prefix"]) and shown["role"] == "system"
    assert shown["department"] == "市行政审批局"
    with engine.connect() as conn:
        who = service.authenticate_token(conn, shown["token"])
    assert who.permissions == {"check.run", "catalog.read"}

    listed = json.loads(xinyong("token", "list", "--json").stdout)
    assert [(t["prefix"], t["status"]) for t in listed] == [(shown["prefix"], "active")]
    assert shown["token"] not in xinyong("token", "list").stdout
    assert xinyong("token", "revoke", shown["prefix"]).returncode == 0
    assert json.loads(xinyong("token", "list", "--json").stdout)[0]["status"] == "revoked"


def test_user_create_with_password_from_stdin_then_sign_in(engine: Engine) -> None:
    r = xinyong("user", "create", "Chen.Qi", "--role", "reporter", "--department", "生态环境局",
                "--name", "陈七", "--password-stdin", stdin=GOOD + "\n")
    assert r.returncode == 0, r.stderr
    assert "chen.qi" in r.stdout and GOOD not in r.stdout
    users = json.loads(xinyong("user", "list", "--json").stdout)
    assert [(u["username"], u["display_name"], u["role"], u["department"]) for u in users] == [
        ("chen.qi", "陈七", "reporter", "生态环境局")]
    assert "password_hash" not in users[0]
    with writing(engine) as conn:
        assert service.authenticate_password(conn, "chen.qi", GOOD).department == "生态环境局"


def test_user_create_without_a_terminal_generates_a_password_shown_once(engine: Engine) -> None:
    r = xinyong("user", "create", "audit.one", "--role", "auditor")
    assert r.returncode == 0, r.stderr
    password = r.stdout.strip().splitlines()[-1]
    assert password_problems(password) == []
    with writing(engine) as conn:
        assert service.authenticate_password(conn, "audit.one", password).role == "auditor"


def test_audit_verify_then_tamper_then_list(engine: Engine) -> None:
    xinyong("user", "create", "admin1", "--role", "admin", "--password-stdin", stdin=GOOD)
    xinyong("token", "create", "--role", "system", "-d", "公安局")
    ok = xinyong("audit", "verify", "--json")
    assert ok.returncode == 0, ok.stderr
    # the account, the department the token names (registered by naming it), the token
    # (and since the chain is anchored, the anchors it was held against: the first commit's)
    assert json.loads(ok.stdout) == {"ok": True, "events": 3, "first_bad_id": None, "reason": None,
                                     "anchors": 1, "anchored_id": 1}
    assert xinyong("audit", "verify").returncode == 0

    events = json.loads(xinyong("audit", "list", "--action", "token.create", "--json").stdout)
    assert [e["action"] for e in events] == ["token.create"]
    assert events[0]["detail"]["department"] == "公安局"
    first = json.loads(xinyong("audit", "list", "--limit", "1", "--json").stdout)
    assert first[0]["id"] == events[0]["id"]
    assert "admin1" in xinyong("audit", "list").stdout

    with writing(engine) as conn:
        first_id = conn.execute(text("SELECT MIN(id) FROM audit_event")).scalar_one()
        drop_append_only_guard(conn)  # as an attacker with DDL rights would
        conn.execute(text("UPDATE audit_event SET detail = '{\"role\": \"reporter\"}' WHERE id = :i"),
                     {"i": first_id})
    bad = xinyong("audit", "verify", "--json")
    assert bad.returncode == 1
    shown = json.loads(bad.stdout)
    assert (shown["ok"], shown["first_bad_id"]) == (False, first_id)
    assert "被修改" in shown["reason"]
    human = xinyong("audit", "verify")
    assert human.returncode == 1 and f"事件 {first_id}" in human.stdout


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["user", "create", "wu", "--role", "reporter", "--password-stdin"], GOOD, "必须指定所属部门"),
    (["user", "create", "wu.ba", "--role", "staff", "--password-stdin"], "1234567890",
     "不能全部是数字"),
    (["user", "create", "wu.ba", "--role", "boss", "--password-stdin"], GOOD, "未知角色 boss"),
    (["user", "create", "wu.ba", "--role", "system", "-d", "x", "--password-stdin"], GOOD,
     "不能使用账号"),
    (["token", "create", "--role", "system", "-d", "公安局", "--scope", "audit.read"], "",
     "没有这些权限"),
    (["token", "create", "--role", "system"], "", "必须指定所属部门"),
    (["token", "revoke", "xy_nope0"], "", "没有前缀为 xy_nope0"),
    (["audit", "list", "--limit", "0"], "", "条数应为正整数"),
])
def test_bad_input_gives_one_clear_line(args: list[str], stdin: str, message: str) -> None:
    r = xinyong(*args, stdin=stdin)
    assert r.returncode == 2, r.stdout
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_account_commands_document_themselves() -> None:
    for args in (["user", "create"], ["user", "list"], ["token", "create"], ["token", "list"],
                 ["token", "revoke"], ["audit", "verify"], ["audit", "list"]):
        r = xinyong(*args, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout


def test_enterprise_accounts_act_for_one_valid_subject(engine: Engine) -> None:
    with writing(engine) as conn:
        with pytest.raises(InvalidInput, match="必须指定所代表主体"):
            service.create_account(conn, ADMIN, "firm1", "enterprise", password=GOOD)
        with pytest.raises(InvalidInput, match="无效"):
            service.create_account(conn, ADMIN, "firm1", "enterprise", password=GOOD,
                           subject="91350203MA00000000")
        with pytest.raises(InvalidInput, match="不代表信用主体"):
            service.create_account(conn, ADMIN, "staff9", "staff", password=GOOD,
                           subject=numbered_uscc(1))
        made = service.create_account(conn, ADMIN, "firm1", "enterprise", password=GOOD,
                              subject=numbered_uscc(1).lower())
    assert made.subject_uscc == numbered_uscc(1)
    with writing(engine) as conn:
        principal = service.authenticate_password(conn, "firm1", GOOD)
    assert principal.subject == numbered_uscc(1) and principal.role == "enterprise"
