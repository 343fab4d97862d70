"""The session's one demo run (``demo_run`` in tests/conftest.py): the README's quick-start command,
``tracker demo``, as a user runs it: a child process that crawls the demo portal, prints what it found,
then serves the web app and prints a demo editor's login. While it serves, :func:`run_serving_demo` logs
in over real HTTP and records what the app answered; then it presses Ctrl-C (SIGINT) and records how
the command ended. tests/demo and tests/web/test_web_demo.py read what it printed, stored and answered."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.clock import wait_for

SUBSCRIBER = "demo-subscriber@example.org"
LOGIN = re.compile(r"Log in as (\S+) / (\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(base: str, username: str, password: str) -> dict[str, Any]:
    """What the served demo answers a new user: health, the login form and its POST, the review queue, the
    subscriptions page (with the demo subscriber) and the bills API."""
    from tests.web.helpers import form_csrf

    with httpx.Client(base_url=base, timeout=10) as http:

        def answering() -> bool:  # uvicorn starts right after the printed login
            try:
                return http.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answering, 60, interval=0.05, what="the demo's web server to answer /healthz")
        page = http.get("/login")
        login = http.post(
            "/login", data={"username": username, "password": password, "csrf_token": form_csrf(page.text)}
        )
        return {
            "login": login.status_code,
            "review": http.get("/review").status_code,
            "subscriber_shown": SUBSCRIBER in http.get("/subscriptions").text,
            "bills_total": http.get("/api/bills").json()["total"],
        }


def run_serving_demo(directory: Path, repo: Path, timeout: float = 300) -> tuple[
    subprocess.CompletedProcess[str], dict[str, Any]
]:  # fmt: skip
    """Run ``tracker demo --dir DIRECTORY --port PORT`` until it serves, probe it, press Ctrl-C. Returns
    the command's outcome (its output and exit status after Ctrl-C) and what the web app answered (with
    ``error`` when something went wrong before or during the probe)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    env["PYTHONUNBUFFERED"] = "1"  # the login line arrives while the server runs
    args = [".venv/bin/tracker", "demo", "--dir", str(directory), "--port", str(port)]
    proc = subprocess.Popen(
        args, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )  # fmt: skip
    out: list[str] = []
    err: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None  # PIPE
    readers = [
        threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True),  # type: ignore[arg-type]
        threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True),  # type: ignore[arg-type]
    ]
    for reader in readers:
        reader.start()
    web: dict[str, Any] = {"port": port}
    try:
        deadline = time.monotonic() + timeout
        login = None
        while login is None and time.monotonic() < deadline and proc.poll() is None:
            login = next((m for m in map(LOGIN.search, list(out)) if m), None)
            time.sleep(0.2)
        if login is None:
            web["error"] = "the demo never printed its login"
        else:
            web["username"], web["password"] = login.groups()
            try:
                web.update(probe(f"http://127.0.0.1:{port}", *login.groups()))
            except Exception as exc:  # recorded for the test to report; the demo is still stopped below
                web["error"] = f"{type(exc).__name__}: {exc}"
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                web.setdefault("error", "the demo did not stop within 30 s of Ctrl-C")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    return subprocess.CompletedProcess(args, proc.returncode, "".join(out), "".join(err)), web
