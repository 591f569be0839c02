"""The app factory: one FastAPI application serving the JSON API under /api/v1, the public
portal and the staff console, over the store the settings name."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine, text

from xinyong import __version__
from xinyong.core.db import ensure_schema, make_engine
from xinyong.core.settings import get_settings
from xinyong.web import capabilities, errors, logs
from xinyong.web.guards import Admission, RejectNul
from xinyong.web.logs import AccessLog
from xinyong.web.ratelimit import make_limiter
from xinyong.web.security import OPEN, SecurityHeaders, engine_of, requires
from xinyong.web.templating import templates
from xinyong.web.uploads import UploadGuard

API_PREFIX = "/api/v1"

DESCRIPTION = """公共信用信息平台接口。

- 公众可匿名查询主体和公示信息（有频率限制）；
- 部门报送员、信用办工作人员以账号登录（会话 Cookie，写操作须带 `X-CSRF-Token`）；
- 业务系统以接口令牌调用：`Authorization: Bearer xy_…`（`xinyong token create` 签发）。

错误统一返回 `{"code", "message", "message_en"}`，`code` 稳定可供程序判断；列表统一以
`limit`/`offset` 分页，返回 `has_more`。"""


class Health(BaseModel):
    status: str
    version: str
    database: str


def _health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_model=Health, tags=["运维"], summary="健康检查",
                dependencies=[requires(OPEN)])
    async def healthz() -> Any:
        return Health(status="ok", version=__version__, database="ok")

    @router.get("/healthz/db", response_model=Health, tags=["运维"], summary="健康检查（含数据库）",
                dependencies=[requires(OPEN)])
    def healthz_db(engine: Engine = Depends(engine_of)) -> Any:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Health(status="ok", version=__version__, database="ok")

    return router


# Swagger UI's assets ship in the package (web/static/swagger, see its README): on a
# government intranet a page loading them from a CDN stays blank.
SWAGGER = "/static/swagger"
DOCS_PATH = f"{API_PREFIX}/docs"


def _docs_router() -> APIRouter:
    router = APIRouter()

    @router.get(DOCS_PATH, include_in_schema=False, dependencies=[requires(OPEN)])
    async def docs() -> HTMLResponse:
        # Swagger UI starts from a static file (the content security policy runs no inline
        # script); the validator is off in it, which would send the schema to swagger.io.
        return HTMLResponse(f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>xinyong 公共信用信息平台 · 接口文档</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi="{API_PREFIX}/openapi.json"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="{SWAGGER}/init.js"></script></body></html>""")

    return router


@asynccontextmanager
async def _warm(app: FastAPI) -> AsyncIterator[None]:
    """Compile every template and load the rule files before the first request, so that the
    first visitors of each server process do not wait for it (~0.5 s, and a queue behind)."""
    logs.configure_worker()
    warm_up()
    _sweep(app)
    yield


def _sweep(app: FastAPI) -> None:
    """The capabilities' start-up work (ingest moves into place or deletes what a crash left in
    the files folder), before the first request."""
    for at_startup in capabilities.offered("api", "at_startup"):
        try:
            found = at_startup(app.state.engine)
        except Exception:  # a folder that cannot be cleaned must not keep the server down
            logging.getLogger("xinyong.web").exception("startup work %s failed", at_startup.__module__)
            continue
        if found and any(found.values()):
            logging.getLogger("xinyong.web").info("startup sweep: %s", found)


def warm_up() -> None:
    env = templates().env
    for name in env.list_templates():
        if name.endswith(".html"):
            env.get_template(name)
    for capability_warm_up in capabilities.offered("pages", "warm_up"):
        capability_warm_up()


def create_app(engine: Engine | None = None) -> FastAPI:
    settings = get_settings()
    if engine is None:
        engine = make_engine(pool_size=settings.max_concurrent_requests)
        ensure_schema(engine)
    app = FastAPI(title="xinyong 公共信用信息平台", version=__version__, description=DESCRIPTION,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None,
                  redoc_url=None, responses=errors.ERROR_RESPONSES, lifespan=_warm)
    app.state.engine = engine
    app.state.limiter = make_limiter(engine)
    errors.install(app)
    app.include_router(_health_router())
    app.include_router(_docs_router())
    for api in capabilities.modules("api"):
        app.include_router(api.router, prefix=API_PREFIX)
    for pages in capabilities.modules("pages"):
        app.include_router(pages.router, include_in_schema=False)
    static = resources.files("xinyong.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(UploadGuard)
    app.add_middleware(Admission, limit=settings.max_concurrent_requests)
    app.add_middleware(RejectNul)
    app.add_middleware(SecurityHeaders)  # outside Admission: a queued request's answer has them too
    app.add_middleware(AccessLog)
    return app
