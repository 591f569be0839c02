"""Roles, permissions and who is acting. Pure: no I/O beyond reading the role file handed in.

The role table lives in `data/roles.yaml`; the code asks `can(principal, "batch.submit")`,
never "is this a reporter", so who may do what is changed in the data file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xinyong.accounts.error_codes import AccountError
from xinyong.core.audit import Actor
from xinyong.core.errors import ErrorCode, InvalidInput, RuleDataError, XinyongError

DEPARTMENT_RULES = {"required", "optional", "none"}
SUBJECT_RULES = {"required", "none"}
CREDENTIALS = {"password", "token"}
PERMISSION_NAME = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
ROLE_NAME = re.compile(r"^[a-z][a-z_]*$")
ANONYMOUS_ROLE = "public"


class AuthenticationFailed(XinyongError):
    """Sign-in or token refused. The message never says which part was wrong."""

    code = AccountError.AUTHENTICATION_FAILED


class Forbidden(XinyongError):
    code = AccountError.FORBIDDEN


class SignInRefused(XinyongError):
    """Sign-in refused before the password is even checked: too many wrong ones in a row
    (`sign_in_throttled`) or a lock (`account_locked`, `address_locked`). `retry_after` is
    the seconds until an attempt can be made again."""

    code = AccountError.SIGN_IN_THROTTLED

    def __init__(self, message: str, retry_after: int, *,
                 code: ErrorCode | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    department: str  # required | optional | none
    credentials: frozenset[str]
    permissions: frozenset[str]
    # required: the role acts for one credit subject (an enterprise or its agent), whose
    # 统一社会信用代码 its accounts must name
    subject: str = "none"
    # a second factor (TOTP) at sign-in and the stricter password policy
    privileged: bool = False


@dataclass(frozen=True)
class RoleTable:
    permissions: dict[str, str]  # name → Chinese description
    roles: dict[str, Role]
    source: str = ""

    def role(self, code: str) -> Role:
        role = self.roles.get(code)
        if role is None:
            raise InvalidInput(f"未知角色 {code}（{'/'.join(self.roles)}）",
                               code=AccountError.UNKNOWN_ROLE)
        return role


@dataclass(frozen=True)
class Principal:
    """Who is acting: an account (`name` is the username), an API token (`name` is
    `token:` and the token's prefix) or the anonymous public."""

    name: str
    role: str
    department: str | None
    permissions: frozenset[str]
    kind: str = "account"  # account | token | anonymous
    subject: str | None = None  # the USCC of the subject an enterprise account acts for

    def actor(self, source: str | None = None) -> Actor:
        """The same person as the audit log names them."""
        return Actor(self.name, self.role, source)


def can(principal: Principal, permission: str) -> bool:
    return permission in principal.permissions


def require(principal: Principal, permission: str, table: RoleTable | None = None) -> None:
    """Raise `Forbidden` unless the principal holds the permission."""
    if not can(principal, permission):
        label = (table or role_table()).permissions.get(permission, permission)
        raise Forbidden(f"没有权限：{label}（{permission}）")


def anonymous(table: RoleTable | None = None) -> Principal:
    role = (table or role_table()).role(ANONYMOUS_ROLE)
    return Principal("anonymous", role.code, None, role.permissions, kind="anonymous")


@dataclass(frozen=True)
class PasswordPolicy:
    """What a password must meet (figures from the settings); `privileged_*` apply to the
    accounts of privileged roles."""

    min_length: int = 10
    min_classes: int = 1
    privileged_min_length: int = 12
    privileged_min_classes: int = 3
    max_repeat: int = 3


def character_classes(password: str) -> int:
    """How many of lower-case, upper-case, digits and other characters the password uses."""
    kinds = {"lower" if c.islower() else "upper" if c.isupper() else "digit" if c.isdigit()
             else "other" for c in password}
    return len(kinds)


def longest_run(password: str) -> int:
    longest = run = 0
    previous = ""
    for c in password:
        run = run + 1 if c == previous else 1
        longest, previous = max(longest, run), c
    return longest


def password_problems(password: str, username: str | None = None, *, privileged: bool = False,
                      policy: PasswordPolicy | None = None) -> list[str]:
    """Every reason the password is refused, in Chinese; empty when it is acceptable."""
    policy = policy or PasswordPolicy()
    length = policy.privileged_min_length if privileged else policy.min_length
    classes = policy.privileged_min_classes if privileged else policy.min_classes
    problems = []
    if len(password) < length:
        problems.append(f"密码至少需要 {length} 个字符")
    if password.isdigit():
        problems.append("密码不能全部是数字")
    if character_classes(password) < classes:
        problems.append(f"密码须包含小写字母、大写字母、数字、其他符号中的至少 {classes} 类")
    if longest_run(password) > policy.max_repeat:
        problems.append(f"同一字符不能连续出现超过 {policy.max_repeat} 次")
    if password.strip() != password or not password.strip():
        problems.append("密码首尾不能是空白字符")
    if username and username.casefold() == password.casefold():
        problems.append("密码不能与用户名相同")
    elif username and username.casefold() in password.casefold():
        problems.append("密码不能包含用户名")
    return problems


def subject_problem(role: Role, uscc: str | None) -> str | None:
    """Why this subject binding does not fit the role, or None."""
    if role.subject == "required" and not uscc:
        return f"角色 {role.name}（{role.code}）必须指定所代表主体的统一社会信用代码"
    if role.subject == "none" and uscc:
        return f"角色 {role.name}（{role.code}）不代表信用主体"
    return None


def department_problem(role: Role, department: str | None) -> str | None:
    """Why this department does not fit the role, or None."""
    if role.department == "required" and not department:
        return f"角色 {role.name}（{role.code}）必须指定所属部门"
    if role.department == "none" and department:
        return f"角色 {role.name}（{role.code}）不属于任何部门"
    return None


class _Where:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, entry: str, reason: str) -> RuleDataError:
        return RuleDataError(f"角色文件 {self.source}：{entry}：{reason}")


def _names(value: Any, where: _Where, entry: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.fail(entry, "应为字符串列表")
    return value


def _parse_role(code: Any, raw: Any, permissions: dict[str, str], where: _Where) -> Role:
    entry = f"角色 {code}"
    if not isinstance(code, str) or not ROLE_NAME.match(code):
        raise where.fail(entry, "角色代码只能由小写字母和下划线组成")
    if not isinstance(raw, dict):
        raise where.fail(entry, "角色定义应为映射")
    unknown = set(raw) - {"name", "department", "subject", "credentials", "permissions",
                          "privileged"}
    if unknown:
        raise where.fail(entry, f"未知的键 {'、'.join(sorted(unknown))}")
    if not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise where.fail(entry, "缺少中文名称 name")
    department = raw.get("department", "optional")
    if department not in DEPARTMENT_RULES:
        raise where.fail(entry, f"department 应为 {'、'.join(sorted(DEPARTMENT_RULES))} 之一，"
                                f"而不是 {department}")
    subject = raw.get("subject", "none")
    if subject not in SUBJECT_RULES:
        raise where.fail(entry, f"subject 应为 {'、'.join(sorted(SUBJECT_RULES))} 之一，而不是 {subject}")
    credentials = _names(raw.get("credentials"), where, f"{entry} credentials")
    for c in credentials:
        if c not in CREDENTIALS:
            raise where.fail(entry, f"未知的登录方式 {c}（可选：password、token）")
    granted = _names(raw.get("permissions"), where, f"{entry} permissions")
    for p in granted:
        if p not in permissions:
            raise where.fail(entry, f"引用了未定义的权限 {p}")
    if len(set(granted)) != len(granted):
        raise where.fail(entry, "权限重复")
    privileged = raw.get("privileged", False)
    if not isinstance(privileged, bool):
        raise where.fail(entry, "privileged 应为 true 或 false")
    if privileged and "password" not in credentials:
        raise where.fail(entry, "privileged 只用于以密码登录的角色")
    return Role(code, raw["name"].strip(), department, frozenset(credentials), frozenset(granted),
                subject, privileged)


def parse_roles(content: Any, source: str) -> RoleTable:
    where = _Where(source)
    if not isinstance(content, dict):
        raise where.fail("文件", "应为包含 permissions 和 roles 的映射")
    raw_perms = content.get("permissions")
    if not isinstance(raw_perms, dict) or not raw_perms:
        raise where.fail("permissions", "应为非空映射：权限名 → 中文说明")
    permissions: dict[str, str] = {}
    for name, label in raw_perms.items():
        if not isinstance(name, str) or not PERMISSION_NAME.match(name):
            raise where.fail(f"权限 {name}", "权限名应形如 对象.动作（小写字母和下划线）")
        if not isinstance(label, str) or not label.strip():
            raise where.fail(f"权限 {name}", "缺少中文说明")
        permissions[name] = label.strip()
    raw_roles = content.get("roles")
    if not isinstance(raw_roles, dict) or not raw_roles:
        raise where.fail("roles", "应为非空映射：角色代码 → 定义")
    roles = {code: _parse_role(code, raw, permissions, where) for code, raw in raw_roles.items()}
    public = roles.get(ANONYMOUS_ROLE)
    if public is None:
        raise where.fail(f"角色 {ANONYMOUS_ROLE}", "缺少匿名公众角色")
    if public.credentials:
        raise where.fail(f"角色 {ANONYMOUS_ROLE}", "匿名公众角色不能有登录方式")
    unused = set(content) - {"permissions", "roles"}
    if unused:
        raise where.fail("文件", f"未知的键 {'、'.join(sorted(map(str, unused)))}")
    return RoleTable(permissions, roles, source)


def load_roles(path: Path | None = None) -> RoleTable:
    """Read and validate a role file (the shipped `data/roles.yaml` by default)."""
    if path is None:
        path = Path(str(resources.files("xinyong.data").joinpath("roles.yaml")))
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleDataError(f"角色文件 {path}：无法读取：{exc}") from exc
    return parse_roles(content, str(path))


@lru_cache(maxsize=1)
def role_table() -> RoleTable:
    return load_roles()
