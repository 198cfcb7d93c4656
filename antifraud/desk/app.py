"""The console's web application: `create_app(settings)` wires the view, Kafka, Redis, pages,
the JSON API (`/api/v1`, described at `/openapi.json`) and the live-update stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from antifraud.desk.auth import LoginRequired, is_background
from antifraud.desk.authz import Denied
from antifraud.desk.bus import ProduceError
from antifraud.desk.config import Clock, DeskConfig, system_clock
from antifraud.desk.console import Console
from antifraud.desk.web import build_templates, render
from antifraud.settings import Settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def kafka_bootstrap_of(settings: Settings) -> str:
    """KAFKA_BOOTSTRAP, or the embedded broker that `antifraud up` runs."""
    return settings.kafka_bootstrap or f"{settings.host}:{settings.embedded_kafka_port}"


def redis_url_of(settings: Settings) -> str:
    """REDIS_URL, or the embedded Redis that `antifraud up` runs."""
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    return f"redis://{settings.host}:{settings.embedded_redis_port}/0"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(
    settings: Settings,
    *,
    config: DeskConfig | None = None,
    clock: Clock = system_clock,
    kafka_bootstrap: str | None = None,
    redis_url: str | None = None,
) -> FastAPI:
    config = config or DeskConfig.from_settings(settings)
    console = Console(
        config,
        clock,
        kafka_bootstrap or kafka_bootstrap_of(settings),
        redis_url or redis_url_of(settings),
        settings.redis_prefix,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await console.start()
        try:
            yield
        finally:
            await console.stop()

    app = FastAPI(
        title="antifraud joint-operations center console",
        summary="96110 desk, bank liaison and station queues of the anti-fraud pipeline.",
        description=(
            "Authenticate with `Authorization: Bearer <token>` (issued with "
            "`antifraud desk users token NAME`) or with the console's session cookie plus an "
            "`X-CSRF-Token` header on every POST. Phone numbers and accounts are masked except "
            "where the caller's role needs them in full; such reads are audited on `jocc.audit`."
        ),
        version="1",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is enough
        redoc_url=None,
    )
    app.state.console = console
    app.state.config = config
    app.state.templates = build_templates(config.utc_offset_h)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request) or is_background(request):
            return JSONResponse(
                {"detail": "authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="antifraud-desk"'},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> Response:
        if _is_api(request) or is_background(request):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return render(
            request, "error.html", None, exc.status, status=exc.status, message=exc.message
        )

    @app.exception_handler(ProduceError)
    async def not_recorded(request: Request, exc: ProduceError) -> Response:
        message = "Kafka did not acknowledge the record; nothing was recorded. Try again."
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=503)
        return render(request, "error.html", None, 503, status=503, message=message)

    from antifraud.desk import api, pages

    app.include_router(pages.router)
    app.include_router(api.router)
    static_dir = resources.files("antifraud.desk").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    return app
