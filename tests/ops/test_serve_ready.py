"""`tracker serve --workers 2` (a real uvicorn child with worker processes) answers /healthz and /readyz;
/readyz answers 503 with a one-line reason while the database is unreachable (PostgreSQL behind a loopback
TCP relay the test stops) or behind the latest migration."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import head_revision, make_engine
from tests.conftest import REPO, write_config
from tests.digests.helpers import free_port, wait_for


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _answers(url: str) -> bool:
    try:
        _get(url)
    except (OSError, urllib.error.URLError):
        return False
    return True


def _serve(cfg: Path, port: int, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(cfg), "serve", "--port", str(port), *args],
        cwd=str(REPO),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:  # pragma: no cover
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_two_workers_answers_readyz(tmp_path, sqlite_db):
    url, _engine = sqlite_db
    cfg = write_config(tmp_path / "t.toml", [], database_url=url)
    port = free_port()
    proc = _serve(cfg, port, "--workers", "2", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{base}/readyz"), 90, "the web app")
        status, body = _get(f"{base}/readyz")
        assert status == 200 and body["status"] == "ok" and body["revision"] == head_revision(_engine)
        assert _get(f"{base}/healthz")[0] == 200
        # uvicorn's supervisor runs the workers as child processes
        wait_for(lambda: len(_children(proc.pid)) >= 2, 30, "two worker processes")
    finally:
        _stop(proc)
    assert proc.returncode == 0


class Relay:
    """A TCP relay on loopback to PostgreSQL: stopping it makes the database unreachable for its clients."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.running = False
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the relay's thread (Linux)
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def test_readyz_is_503_while_the_database_is_unreachable_or_behind(tmp_path, db_url):
    if not db_url.startswith("postgresql"):
        # SQLite: a file cannot be "unreachable"; a schema behind the latest migration is not ready
        engine = make_engine(db_url)
        _check_behind(tmp_path, db_url, engine)
        return
    parsed = make_url(db_url)
    relay = Relay(parsed.host, parsed.port or 5432)
    relayed = parsed.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    cfg = write_config(tmp_path / "t.toml", [], database_url=relayed)
    port = free_port()
    proc = _serve(cfg, port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{base}/readyz"), 90, "the web app")
        assert _get(f"{base}/readyz")[0] == 200
        relay.stop()
        status, body = _get(f"{base}/readyz")
        assert status == 503
        assert body == {"status": "error", "reason": "database unreachable"}
    finally:
        relay.stop()
        _stop(proc)
    _check_behind(tmp_path, db_url, make_engine(db_url))


def _check_behind(tmp_path, db_url, engine) -> None:
    """The app in process over a database whose schema is then set one migration back."""
    from fastapi.testclient import TestClient

    from tracker.config import load_config
    from tracker.web.app import create_app

    cfg = write_config(tmp_path / "behind.toml", [], database_url=db_url)
    app = create_app(load_config(cfg), engine=engine)
    try:
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = '0010_crawl_supervision'"))
            r = client.get("/readyz")
            assert r.status_code == 503
            needs = f"database schema at 0010_crawl_supervision, needs {head_revision(engine)}"
            assert r.json()["reason"].startswith(needs)
    finally:
        engine.dispose()
