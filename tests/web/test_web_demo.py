"""`tracker demo` ends by serving the web app (real process, real HTTP); `--no-serve` stops after the crawls.
The demo is SQLite only, by design (a fresh local database per run)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from tests.clock import wait_for
from tests.conftest import REPO
from tests.web.helpers import form_csrf


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_no_serve_stops_after_the_crawls(demo_run):
    """The session's one ``tracker demo --no-serve`` run (tests/conftest.py), which tests/demo reads."""
    result = demo_run.result
    assert result.returncode == 0, result.stderr
    assert "Sanctuary-related measures found by the matcher" in result.stdout
    assert "Log in as" not in result.stdout


def test_demo_serves_the_web_app_with_a_demo_editor(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TRACKER_DATABASE_URL", None)
    env.pop("TRACKER_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "demo", "--dir", str(tmp_path / "demo"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(REPO),
        env=env,
    )
    lines: list[str] = []
    assert proc.stdout is not None  # stdout=PIPE
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        login = None
        while login is None and time.monotonic() < deadline and proc.poll() is None:
            login = next((m for m in map(re.compile(r"Log in as (\S+) / (\S+)").search, lines) if m), None)
            time.sleep(0.2)
        assert login, "".join(lines)
        username, password = login.groups()
        assert username == "editor"
        assert f"http://127.0.0.1:{port}/" in "".join(lines)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:

            def answering() -> bool:  # uvicorn starts right after the line
                try:
                    return http.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(answering, 60, interval=0.05, what="the demo's web server to answer /healthz")
            page = http.get("/login")
            r = http.post(
                "/login",
                data={"username": username, "password": password, "csrf_token": form_csrf(page.text)},
            )
            assert r.status_code == 303, r.text
            review = http.get("/review")
            assert review.status_code == 200, (review.headers, r.headers)
            assert "demo-subscriber@example.org" in http.get("/subscriptions").text
            bills = http.get("/api/bills").json()
            assert bills["total"] > 0
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        proc.stdout.close()
    assert password not in (tmp_path / "demo" / "tracker.toml").read_text()
