"""The web app (issue 6): server-rendered pages (FastAPI + Jinja2, htmx for progressive enhancement)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import make_engine, require_schema, session_factory
from tracker.config import Config
from tracker.web import (
    routes_admin,
    routes_api,
    routes_auth,
    routes_bills,
    routes_review,
    routes_search,
    routes_subscriptions,
    routes_track,
)
from tracker.web.deps import AuthMiddleware, LoginRequired, is_api, login_redirect, render

STATIC = Path(__file__).with_name("static")


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
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.add_middleware(AuthMiddleware, factory=app.state.sessionmaker)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    for module in (
        routes_auth,
        routes_search,
        routes_review,
        routes_bills,
        routes_subscriptions,
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

    return app


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or not accept or "*/*" in accept
