"""The web app: server-rendered pages (FastAPI + Jinja2, htmx for progressive enhancement)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import HEAD_REVISION, current_revision, make_engine, require_schema, session_factory
from tracker.config import Config, load_config
from tracker.web import (
    routes_admin,
    routes_api,
    routes_auth,
    routes_bills,
    routes_calendar,
    routes_members,
    routes_review,
    routes_search,
    routes_subscriptions,
    routes_track,
)
from tracker.web.deps import _DB_SESSIONS, AuthMiddleware, LoginRequired, is_api, login_redirect, render
from tracker.web.queries import template_helpers

STATIC = Path(__file__).with_name("static")
log = logging.getLogger(__name__)


def create_app(config: Config, *, engine: Engine | None = None) -> FastAPI:
    """The app over ``config``'s database (or ``engine``, which the caller then owns and disposes of)."""
    own_engine = engine is None
    if engine is None:
        engine = make_engine(config.database_url)
    require_schema(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_engine:
            engine.dispose()

    app = FastAPI(
        title="Sanctuary Tracker", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.config = config
    template_helpers.set_display_zone(config.display_timezone)  # every page's times (h.when)
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.add_middleware(AuthMiddleware, factory=app.state.sessionmaker)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    head = HEAD_REVISION  # Alembic's head (tests/ops/test_schema_head.py), without loading every migration

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        """No session needed: 200 when the database answers and its schema is at the latest migration, else
        503 with a one-line reason (for load balancers and service managers; /healthz: the process is up)."""
        try:
            current = current_revision(engine)
        except Exception as exc:  # any database failure: not ready; the details go to the log only
            why = _first_line(getattr(exc, "orig", exc))
            log.warning("readiness check: the database does not answer: %s", why)
            return JSONResponse({"status": "error", "reason": "database unreachable"}, status_code=503)
        if current != head:
            reason = f"database schema at {current or 'nothing'}, needs {head}: run `tracker init`"
            return JSONResponse({"status": "error", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "revision": current})

    for module in (
        routes_auth,
        routes_search,
        routes_review,
        routes_bills,
        routes_members,
        routes_subscriptions,
        routes_calendar,
        routes_admin,
        routes_api,
        routes_track,
    ):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if is_api(request.url.path):
            return JSONResponse({"error": "login required"}, status_code=401)
        return login_redirect(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Error."
        if exc.status_code == 404 and message == "Not Found":
            message = "Not found."
        if is_api(request.url.path) or not _wants_html(request):
            return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", status_code=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        message = f"invalid {where}: {first.get('msg', 'bad value')}"
        if is_api(request.url.path) or not _wants_html(request):
            return JSONResponse({"error": message}, status_code=400)
        return render(request, "error.html", status_code=400, message=message[:1].upper() + message[1:] + ".")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, _exc: OverflowError) -> Response:
        # A number no database column holds (an id or offset past 64 bits that slipped through): it names
        # nothing. The drivers raise this before anything is sent.
        await _roll_back(request)
        return _error(request, 404, "Not found.")

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # A value the database refuses (a NUL in text on PostgreSQL, a number out of range): bad input.
        await _roll_back(request)
        log.info("refused input: %s %s: %s", request.method, request.url.path, _first_line(exc.orig))
        return _error(request, 400, "Invalid input: a value out of range or a character not allowed.")

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        await _roll_back(request)
        if _is_timeout(exc):  # SET LOCAL statement_timeout of a search (tracker.web.queries)
            return _error(
                request,
                503,
                "The search took too long and was stopped: try fewer or more specific words.",
                {"Retry-After": "10"},
            )
        log.error("database error: %s %s: %s", request.method, request.url.path, _first_line(exc.orig))
        return _error(request, 503, "The database is not available right now; try again in a moment.")

    return app


def app_from_environment() -> FastAPI:
    """The app factory of ``tracker serve --workers N`` (uvicorn imports it in each worker process): the
    configuration named by ``$TRACKER_CONFIG`` (the serve command sets it from ``--config``), the database of
    ``$TRACKER_DATABASE_URL`` or the configuration."""
    from tracker.logs import setup_logging

    config = load_config()
    secrets = [j.token_env for j in config.jurisdictions if j.token_env]
    if config.email and config.email.password_env:
        secrets.append(config.email.password_env)
    setup_logging(0, secret_env=secrets)
    app = create_app(config)
    settle_memory_for_serving()
    return app


def settle_memory_for_serving() -> None:
    """Before a server process answers its first request: what start-up built (modules, the app, its
    templates) moves to the collector's permanent generation (``gc.freeze``), so the full collections
    that long answers (a 700 KB list, a CSV export) set off scan only what requests made, instead of
    every object of every imported module; those collections made the slowest answers of the long lists."""
    import gc

    gc.collect()
    gc.freeze()


async def _roll_back(request: Request) -> None:
    sessions = request.scope.get("state", {}).get(_DB_SESSIONS) or []
    pending = list(sessions)
    sessions.clear()  # nothing to commit when the error response goes out
    for session in pending:
        await run_in_threadpool(session.rollback)


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _is_timeout(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "57014"  # query_canceled


def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if is_api(request.url.path) or not _wants_html(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    response = render(request, "error.html", status_code=status, message=message)
    response.headers.update(headers or {})
    return response


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or not accept or "*/*" in accept
