"""The stable error codes of sign-in, accounts, tokens and permissions."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class AccountError(ErrorCode):
    # Signing in and permissions
    AUTHENTICATION_FAILED = (
        "authentication_failed", 401, "登录失败：用户名或密码错误，或账号已停用",
        "Sign-in failed: wrong username or password, or the account is inactive.")
    FORBIDDEN = "forbidden", 403, "当前角色没有该权限", "Your role does not allow this."
    SIGN_IN_THROTTLED = ("sign_in_throttled", 429, "密码连续错误，请稍后再试",
                         "Too many wrong passwords in a row; wait before trying again.")
    ACCOUNT_LOCKED = (
        "account_locked", 429, "账号因连续登录失败已被锁定",
        "The account is locked after too many wrong passwords; wait, or ask an administrator "
        "to unlock it.")
    ADDRESS_LOCKED = ("address_locked", 429, "本机登录失败次数过多，已暂停登录",
                      "Too many failed sign-ins from this address; wait before trying again.")
    SECOND_FACTOR_REQUIRED = (
        "second_factor_required", 401, "该账号登录须同时提供动态验证码",
        "This account also needs the 6-digit code of its authenticator app.")
    SECOND_FACTOR_ENROLMENT = (
        "second_factor_enrolment", 401, "该账号须先在控制台登录页绑定动态验证码",
        "Set up the authenticator app by signing in on the console first.")
    # API tokens
    TOKEN_UNKNOWN = "token_unknown", 401, "接口令牌无效", "The API token is not valid."
    TOKEN_REVOKED = "token_revoked", 401, "接口令牌已吊销", "The API token has been revoked."
    # Revoking it again is a mistake in the request, not a failed sign-in: 422, not 401.
    TOKEN_ALREADY_REVOKED = ("token_already_revoked", 422, "接口令牌此前已吊销",
                             "The API token was revoked already.")
    TOKEN_EXPIRED = "token_expired", 401, "接口令牌已过期", "The API token has expired."
    TOKEN_ROLE = ("token_role", 401, "接口令牌的角色已不能使用令牌",
                  "The API token's role may no longer use tokens.")
    TOKEN_DAYS = ("token_days", 422, "令牌有效期天数超出允许范围",
                  "The token's validity in days is outside the allowed range.")
    SCOPE_OUTSIDE_ROLE = ("scope_outside_role", 422, "令牌不能授予其角色没有的权限",
                          "A token cannot be granted a permission its role does not have.")
    UNKNOWN_TOKEN = ("unknown_token", 404, "没有该前缀的接口令牌",
                     "No API token has this prefix.")
    # Accounts
    UNKNOWN_ACCOUNT = "unknown_account", 404, "没有该账号", "No account has this username."
    UNKNOWN_ROLE = "unknown_role", 422, "未知角色", "The role is not known."
    ROLE_CREDENTIAL = ("role_credential", 422, "该角色不能使用这种登录方式",
                       "This role cannot sign in this way.")
    DEPARTMENT = ("department", 422, "部门与角色不符",
                  "The department does not fit the role.")
    SUBJECT = ("subject", 422, "所代表的信用主体与角色不符",
               "The credit subject does not fit the role.")
    USERNAME = ("username", 422, "用户名格式不正确",
                "A username has 2–64 letters, digits or _ . @ - and starts with a letter or digit.")
    ACCOUNT_EXISTS = "account_exists", 422, "账号已存在", "An account with this username exists."
    ACCOUNT_INACTIVE = ("account_inactive", 422, "账号已经停用",
                        "The account is already inactive.")
    ACCOUNT_ACTIVE = "account_active", 422, "账号已经启用", "The account is already active."
    NOT_LOCKED = "not_locked", 422, "账号没有被锁定", "The account is not locked."
    NOT_AN_ACCOUNT = ("not_an_account", 422, "接口令牌没有密码",
                      "An API token has no password.")
    # Passwords and the second factor
    WEAK_PASSWORD = ("weak_password", 422, "密码不符合密码策略",
                     "The password does not meet the password policy.")
    WRONG_CURRENT_PASSWORD = ("wrong_current_password", 422, "当前密码不正确",
                              "The current password is not correct.")
    NO_PASSWORD = ("no_password", 422, "标准输入中没有密码",
                   "No password was given on standard input.")
    TOTP_ENROLLED = (
        "totp_enrolled", 422, "该账号已绑定动态验证码",
        "The account already has an authenticator; an administrator's reset clears it.")
    # The audit log
    AUDIT_PAGING = ("audit_paging", 422, "条数应为正整数，偏移量不能为负",
                    "The limit must be positive and the offset not negative.")
