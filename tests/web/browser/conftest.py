"""End-to-end tests in a real headless browser: Debian's chromium (``/usr/bin/chromium``, or
``$TRACKER_CHROMIUM``) driven by Playwright's sync API, against the app served by a real ``tracker serve``
child process on loopback, over a real database made by ``tracker init``: a SQLite file only. What these
tests add is the browser's part (layout at each width and zoom, htmx swaps, keyboard shortcuts, forms,
scripts kept inert by the browser); every server path they drive runs on both engines in the tests through
the app without a browser: test_review_pages.py (decisions, corrections, notes, staff), test_search_pages.py
(filters, CSV), test_bills_pages.py (a bill's page), test_web_subscriptions.py (subscriptions, feed link),
test_web_auth.py (login, logout), test_hostile_input.py and test_rendered_from_database.py (hostile titles).
A second engine here would render the same pages again (twice the browser's CPU for no new check).

Nothing is downloaded: Playwright only drives the system chromium (``playwright install`` cannot fetch a
browser here; ``./dev test`` installs Debian's chromium when it is missing). Without chromium the tests
**fail** with a message saying how to install it; they are never skipped.

Fixtures:

- ``site`` (session): the served app: ``base_url``, ``engine`` (for the tests' own data,
  written with tests/factories.py, and for checking what a click wrote), and two accounts made
  with ``tracker users add`` (``editor`` with ``editor@example.org``, ``staff``), password ``PASSWORD``;
- ``browser`` (session): one chromium for the whole run;
- ``page``: a page in a fresh browser context (its own cookies), with ``base_url`` set; a JavaScript
  error on the page or any ``alert()``/``confirm()`` dialog fails the test;
- ``login(page, username)``: logs in through the real form.

Each test makes its own bills (in a jurisdiction of its own when it lists them: ``support.unique_slug()``), so
the tests share one server and one database without depending on each other's data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine

from db.engine import make_engine
from tests.conftest import REPO, run_tracker, write_config
from tests.digests.helpers import JURISDICTIONS
from tests.web.helpers import PASSWORD

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000  # any one wait of a test: a click's answer, a selector, a navigation
EDITOR_EMAIL = "editor@example.org"

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Site:
    base_url: str
    db_url: str
    engine: Engine
    log: Path


@dataclass
class PageWatch:
    """What a page did that a test never wants: JavaScript errors and dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"


def _serve(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``tracker serve`` in a child process; returns it and its base URL once /healthz answers 200."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "--config", str(config), "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO), env=env,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=base, timeout=2) as http:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"tracker serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if http.get("/healthz").status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError(f"tracker serve did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.05)  # polling for the server's start, not waiting for a page


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    """A SQLite database made by ``tracker init``, two accounts made by ``tracker users add``, and the app
    served over it by ``tracker serve`` on a free loopback port."""
    directory = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{directory}/tracker.db"
    config = write_config(directory / "tracker.toml", JURISDICTIONS, database_url=url)
    _check(run_tracker("--config", str(config), "init"), "tracker init")
    for username, role, email in (("editor", "editor", EDITOR_EMAIL), ("staff", "staff", None)):
        args = ["--config", str(config), "users", "add", username, "--role", role]
        args += ["--email", email] if email else []
        result = run_tracker(*args, env={"TRACKER_PASSWORD": PASSWORD})
        _check(result, "tracker users add")
    log = directory / "serve.log"
    proc, base = _serve(config, log)
    engine = make_engine(url)
    try:
        yield Site(base, url, engine, log)
    finally:
        _stop(proc)
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} (or $TRACKER_CHROMIUM): "
            "apt-get install chromium (./dev test installs it); `playwright install` cannot download "
            "a browser here",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A page in a fresh context (no cookies: logged out). JavaScript errors and dialogs fail the test."""
    context = browser.new_context(base_url=site.base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = PageWatch()
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))

    def on_dialog(dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.watch = watch  # type: ignore[attr-defined]  # the tests' helper, carried on the page
    try:
        yield page
    finally:
        context.close()
    assert watch.dialogs == [], f"the page opened dialogs: {watch.dialogs}"
    assert watch.errors == [], f"JavaScript errors on the page: {watch.errors}"


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Logs in through the form (from wherever the page is: the login page, or a fresh start)."""
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Logged in as {username}.")).to_be_visible()


@pytest.fixture
def login():
    return log_in
