"""Receiving files: streamed to disk under the files directory with a size cap, so a large
upload never sits in memory and a too-large one is refused with a clear message; and before
any of that, `UploadGuard` refuses a body that is too large or whose caller may not send it,
without reading it."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile
from starlette.datastructures import UploadFile as AnyUpload  # fastapi's and a form's
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong.core.errors import CoreError, InvalidInput, XinyongError
from xinyong.core.settings import get_settings
from xinyong.core.xlsx import temp_dir  # swept at startup: a crash leaves nothing
from xinyong.web.error_codes import WebError

ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".json", ".txt")
CHUNK = 1 << 20


class TooLarge(InvalidInput):
    code = WebError.TOO_LARGE


async def save_upload(upload: UploadFile) -> Path:
    """The upload as a file of its own; the caller deletes it once ingested (ingest keeps
    its own copy of the source in the batch's folder)."""
    name = upload.filename or ""
    suffix = Path(name).suffix.lower()
    if not name:
        raise InvalidInput("请选择要上传的文件", code=WebError.FILE_REQUIRED)
    if suffix not in ACCEPTED_SUFFIXES:
        raise InvalidInput(f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 CSV、XLSX 或 JSON Lines 文件",
                           code=CoreError.FILE_TYPE)
    limit = get_settings().max_upload_mib << 20

    # A folder of its own keeps the name the person gave the file: a message about the file
    # ("文件 处罚.csv 为空") names it, not a random one.
    folder = temp_dir() / f"upload-{uuid.uuid4().hex}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _safe_name(name, suffix)
    try:
        await stream_to(upload, path, limit,
                        f"文件超过 {get_settings().max_upload_mib} MiB 的上限，请分批报送")
    except BaseException:
        discard(path)
        raise
    return path


async def stream_to(upload: AnyUpload, path: Path, limit: int, too_large: str, *,
                    head: bytes = b"", digest: Any = None) -> int:
    """The upload written to `path` block by block — from `head`, the start the caller already
    read to tell the file's kind — refused with `too_large` once it passes `limit` bytes, fed to
    `digest` (a hashlib object) when given. Returns its size; on any failure nothing of it is
    left. The one way every upload (batch files, objection attachments, repair materials)
    reaches the disk."""
    size = 0
    try:
        with path.open("wb") as out:
            block = head or await upload.read(CHUNK)
            while block:
                size += len(block)
                if size > limit:
                    raise TooLarge(too_large)
                if digest is not None:
                    digest.update(block)
                out.write(block)
                block = await upload.read(CHUNK)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return size


def _safe_name(name: str, suffix: str) -> str:
    """The file's own name without any folder part or character a file system refuses."""
    base = Path(name.replace("\\", "/")).name
    stem = "".join(c for c in base[: -len(suffix) or None] if c not in '<>:"|?*' and ord(c) >= 32)
    return (stem.strip(" .")[:100] or "上传文件") + suffix


def discard(path: Path) -> None:
    """Delete a saved upload and its folder."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty or gone: leave it
        path.parent.rmdir()


# --- before the body: the caller and the size -------------------------------------------------

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SLACK = 1 << 20  # the multipart framing and form fields around a file of the largest size
# Bodies this small are read as they come: checking the caller first would cost a look-up
# for every form post. Anything larger, a multipart form or a body of unknown length is
# let in only once the caller has been found allowed.
SMALL_BODY = 64 << 10


def request_cap() -> int:
    """The most bytes any request body may have: the largest upload and its framing."""
    return (get_settings().max_upload_mib << 20) + SLACK


class UploadGuard:
    """Pure ASGI: decides on a request before its body is read. A `Content-Length` above the
    cap is refused with 413 at once; a body that runs past the cap while being read (sent in
    chunks, or lying about its length) is cut off and answered with 413; a multipart or large
    body is read only after its caller is found to hold the route's permission (401 or 403
    otherwise). FastAPI parses a form before any dependency runs, so a check in the route
    would come after the whole upload was spooled to disk."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cap = request_cap()
        length = _length(request)
        if length is not None and length > cap:
            await _refuse(request, send, TooLarge(_too_large_message()))
            return
        if length is None or length > SMALL_BODY or request.headers.get(
                "content-type", "").startswith("multipart/form-data"):
            refusal = await _caller_refusal(request)
            if refusal is not None:
                await _refuse(request, send, refusal)
                return
        await self._capped(scope, receive, send, request, cap)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, request: Request,
                      cap: int) -> None:
        state = {"read": 0, "over": False, "started": False}

        async def counted() -> Message:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > cap:
                    state["over"] = True  # what the app answers now is replaced by the 413
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not state["over"]:
                state["started"] = state["started"] or message["type"] == "http.response.start"
                await send(message)
                return
            if message["type"] == "http.response.start" and not state["started"]:
                state["started"] = True
                await _refuse(request, send, TooLarge(_too_large_message()))

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not state["over"]:
                raise
            if not state["started"]:
                await _refuse(request, send, TooLarge(_too_large_message()))


def _length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return None


def _too_large_message() -> str:
    return f"文件超过 {get_settings().max_upload_mib} MiB 的上限，请分批报送"


async def _caller_refusal(request: Request) -> XinyongError | None:
    """Why the caller may not send this body (None: they may, or the route is open to all)."""
    from xinyong.accounts.rules import can, role_table
    from xinyong.web.errors import AuthenticationRequired
    from xinyong.web.security import OPEN, caller_of

    permission = route_permission(request)
    if permission is None or permission == OPEN:
        return None
    try:
        principal = await caller_of(request)
    except XinyongError as exc:
        return exc
    if can(principal, permission):
        return None
    label = role_table().permissions.get(permission, permission)
    if principal.kind == "anonymous":
        return AuthenticationRequired(f"请先登录：{label}需要相应的账号或接口令牌")
    from xinyong.accounts.rules import Forbidden

    request.state.principal = principal  # named in the audited refusal
    return Forbidden(f"没有权限：{label}（{permission}）")


def route_permission(request: Request) -> str | None:
    """The permission the route this request goes to declares with `requires`, if any (the
    first route whose path and method match, as the router would choose)."""
    app = request.scope.get("app")
    if app is None:
        return None
    path, method = request.scope["path"], request.scope["method"]
    for methods, pattern, rule in _rules(app):
        if method in methods and pattern.match(path):
            return rule
    return None


def _rules(app: Any) -> list[tuple[frozenset[str], re.Pattern[str], str | None]]:
    """(methods, path pattern, permission) of each route of the app, worked out once."""
    found: list[tuple[frozenset[str], re.Pattern[str], str | None]] | None = getattr(
        app.state, "route_rules", None)
    if found is None:
        from fastapi.routing import APIRoute, iter_route_contexts
        from starlette.routing import compile_path

        found = []
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute) and context.path:
                found.append((frozenset(route.methods or ()), compile_path(context.path)[0],
                              _rule_of(route.dependant)))
        app.state.route_rules = found
    return found


def _rule_of(dependant: Any) -> str | None:
    from xinyong.web.security import rule_of

    for d in dependant.dependencies:
        rule = (rule_of(d.call) if d.call is not None else None) or _rule_of(d)
        if rule is not None:
            return rule
    return None


async def _refuse(request: Request, send: Send, exc: XinyongError) -> None:
    """Answer with the refusal (the same body the route would have sent), audited."""
    from xinyong.web import refusals
    from xinyong.web.errors import error_response, status_of

    status = status_of(exc)
    await refusals.record(request, exc.code, action="upload.refused")
    response = error_response(request, status, exc.code, exc.message)
    response.headers["connection"] = "close"  # the unread body is not worth keeping it open for
    await response(request.scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
