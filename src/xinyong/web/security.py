"""Who is asking, and may they: bearer tokens for systems, session cookies with CSRF
protection for people, the anonymous public otherwise.

Every route declares its rule with `requires("permission")` (or `requires(OPEN)` for the
few routes anyone may reach without a permission, such as the sign-in form). The role test
walks the app's routes and fails on any route without one.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong.accounts import service as accounts
from xinyong.accounts.error_codes import AccountError
from xinyong.accounts.rules import AuthenticationFailed, Forbidden, Principal, anonymous, can, role_table
from xinyong.core.audit import Actor
from xinyong.core.settings import get_settings
from xinyong.web.errors import AuthenticationRequired, CsrfFailed

SESSION_COOKIE = "xinyong_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN = "open"  # the rule of a route anyone may reach, checked by no permission
# Names a developer's own machine is reached by: cookies there go over plain HTTP.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def connection(request: Request) -> Iterator[Connection]:
    """A read connection for one request (writes go through the service verbs, given the
    engine: each opens its own transaction)."""
    with engine_of(request).connect() as conn:
        yield conn


def client_address(request: Request) -> str:
    """The client's address: the peer's, or behind `trusted_proxies` reverse proxies the one
    the outermost of them was reached from. Each proxy appends the address it was reached
    from to X-Forwarded-For, so that is the `trusted_proxies`-th entry from the right; the
    entries to its left are whatever the client sent, and are never believed."""
    peer = request.client.host if request.client else "unknown"
    settings = get_settings()
    if not settings.trust_proxy:
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    hops = [h for h in hops if h]
    if not hops:
        return peer
    chosen = hops[-min(max(1, settings.trusted_proxies), len(hops))]
    try:
        return str(ipaddress.ip_address(chosen))
    except ValueError:  # not an address: a proxy misconfigured, or a header made up
        return peer


def actor(request: Request, principal: Principal) -> Actor:
    return principal.actor(client_address(request))


def cookie_secure(request: Request) -> bool:
    """Whether cookies carry the Secure flag: as configured, else on unless the site is
    reached as localhost (where there is no TLS to speak of)."""
    forced = get_settings().cookie_secure
    if forced is not None:
        return forced
    return (request.url.hostname or "") not in LOCAL_HOSTS


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it for the route
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("表单已过期或不是从本站提交的，请刷新页面后重试")


async def current_principal(request: Request) -> Principal:
    """Resolved once per request and kept on `request.state`."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await _resolve(request)
    request.state.principal = principal
    return principal


async def caller_of(request: Request) -> Principal:
    """Who sent the request, from its headers alone: no CSRF check (that needs the form) and
    nothing kept, so the route still resolves and checks its caller in full. For deciding on
    a request before its body is read (`uploads.UploadGuard`)."""
    return await _resolve(request, csrf=False)


async def _resolve(request: Request, *, csrf: bool = True) -> Principal:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationFailed("Authorization 头应为 Bearer 接口令牌",
                                       code=AccountError.TOKEN_UNKNOWN)
        seconds = get_settings().token_cache_seconds
        cached = accounts.token_cache.principal(secret, seconds) if seconds > 0 else None
        if cached is not None:
            return cached
        return await run_in_threadpool(_token_principal, engine_of(request), secret, seconds)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = await run_in_threadpool(_session, engine_of(request), cookie)
        if session is not None:
            if not csrf:
                return session.principal
            request.state.csrf_token = session.csrf_token
            if request.method not in SAFE_METHODS:
                request.state.principal = session.principal  # named if the check refuses
                await _check_csrf(request, session.csrf_token)
            return session.principal
    return anonymous()


def _token_principal(engine: Engine, secret: str, cache_seconds: float) -> Principal:
    with engine.connect() as conn:
        grant = accounts.token_grant(conn, secret)
    if cache_seconds > 0:
        accounts.token_cache.keep(secret, grant)
    return grant.principal


def _session(engine: Engine, cookie: str) -> accounts.SessionView | None:
    with engine.connect() as conn:
        session = accounts.session_for(conn, cookie)
    if session is not None and accounts.needs_touch(session):
        accounts.touch_session(engine, cookie)
    return session


def requires(permission: str) -> Any:
    """The route's rule: the principal must hold `permission` (or `OPEN`: anyone)."""

    # async: a check this small is not worth a thread-pool round trip
    async def check(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        if permission != OPEN and not can(principal, permission):
            label = role_table().permissions.get(permission, permission)
            if principal.kind == "anonymous":
                raise AuthenticationRequired(f"请先登录：{label}需要相应的账号或接口令牌")
            raise Forbidden(f"没有权限：{label}（{permission}）")
        if is_public_read(permission):
            await limit_public_read(request, principal)
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def is_public_read(permission: str) -> bool:
    """Whether routes of this permission are public reads: the anonymous public holds it."""
    return permission in anonymous().permissions


async def limit_public_read(request: Request, principal: Principal) -> None:
    """Every public read route is rate limited (`web.ratelimit`), whoever asks: the limiter
    decides whose requests count."""
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        await limiter.check(request, principal)


def rule_of(dependency: Callable[..., Any]) -> str | None:
    """The permission a `requires` dependency checks (for the role table test)."""
    value = getattr(dependency, "permission", None)
    return value if isinstance(value, str) else None


def csrf_token(request: Request) -> str | None:
    value = getattr(request.state, "csrf_token", None)
    return value if isinstance(value, str) else None


# --- Response headers (issue 20 item 8) -------------------------------------------------

# Scripts and styles only from this site's own files (no inline script or handler can run
# even if some text ever escaped its escaping), and no page may be framed (clickjacking).
CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'"
# The interactive API reference (Swagger UI, served from the package) draws icons from
# data: URIs; it is otherwise held to the same policy.
DOCS_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
DOCS_PATH = "/api/v1/docs"
HSTS = "max-age=31536000"
# Paths whose answers concern a signed-in person whoever asks: never kept by any cache.
PRIVATE_PREFIXES = ("/console", "/api/v1/session", "/api/v1/me")


class SecurityHeaders:
    """Adds the security headers to every response: the content security policy,
    `nosniff`, the referrer policy, HSTS when cookies are Secure (the site is served over
    HTTPS), and `Cache-Control: no-store` on every answer that is not public — console pages,
    and any request made with credentials (a session cookie or a bearer token), since what a
    signed-in person sees must not stay in a shared or browser cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in response_headers(scope, headers).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def response_headers(scope: Scope, sent: MutableHeaders) -> dict[str, str]:
    """The security headers a response to `scope` carries (set over any the route chose)."""
    request = Request(scope)
    out = {
        "content-security-policy": (DOCS_SECURITY_POLICY if request.url.path == DOCS_PATH
                                    else CONTENT_SECURITY_POLICY),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",  # what frame-ancestors says, for browsers that predate it
        "referrer-policy": "same-origin",
    }
    if cookie_secure(request):
        out["strict-transport-security"] = HSTS
    if not is_public_response(request, sent):
        out["cache-control"] = "no-store"
    return out


def is_public_response(request: Request, sent: MutableHeaders) -> bool:
    """Whether an answer is the same for everyone: asked without credentials, outside the
    console, setting no cookie, by the anonymous public."""
    path = request.url.path
    if path.startswith("/static/"):
        return True  # the same files for everyone, whoever asks
    if path.startswith(PRIVATE_PREFIXES):
        return False
    if request.headers.get("authorization") or SESSION_COOKIE in request.cookies:
        return False
    if "set-cookie" in sent:
        return False
    principal = request.scope.get("state", {}).get("principal")
    return principal is None or principal.kind == "anonymous"
