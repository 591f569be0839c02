"""`xinyong serve`: the platform over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from xinyong.core.console import engine, out


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "info",
          banner: str | None = None) -> None:
    import uvicorn

    from xinyong.web import logs

    engine()  # migrate once, before any worker starts
    logs.configure(log_level)
    out.print(banner or f"平台已启动：http://{host}:{port}/  （接口文档 http://{host}:{port}/api/v1/docs，"
                        "Ctrl+C 停止）")
    from xinyong.web.server import NoDelayHTTPProtocol

    uvicorn.run("xinyong.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, proxy_headers=False, server_header=False,
                http=NoDelayHTTPProtocol)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        host: Annotated[str, typer.Option(help="监听地址（对外服务请放在反向代理之后）")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="端口")] = 8000,
        workers: Annotated[int, typer.Option(min=1, max=64, help="工作进程数")] = 1,
        log_level: Annotated[str, typer.Option(help="日志级别：debug/info/warning/error")] = "info",
    ) -> None:
        """启动平台：公众门户、工作人员后台和 /api/v1 接口（日志为每行一个 JSON）。"""
        serve(host, port, workers, log_level)
