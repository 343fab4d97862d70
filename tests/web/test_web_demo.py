"""`tracker demo` ends by serving the web app (real process, real HTTP) with a demo editor whose password is
printed once and stored nowhere; Ctrl-C stops it with status 0. This is the session's one demo run
(tests/conftest.py ``demo_run``, tests/demo_serve.py), which also crawls and prints what tests/demo read.
The demo is SQLite only, by design (a fresh local database per run)."""

from __future__ import annotations


def test_demo_serves_the_web_app_with_a_demo_editor(demo_run):
    web, result = demo_run.web, demo_run.result
    assert "error" not in web, (web, result.stderr[-2000:])
    assert result.returncode == 0, result.stderr[-2000:]  # after Ctrl-C
    assert "Sanctuary-related measures found by the matcher" in result.stdout
    assert web["username"] == "editor"
    assert f"http://127.0.0.1:{web['port']}/" in result.stdout
    assert web["login"] == 303
    assert web["review"] == 200
    assert web["subscriber_shown"]
    assert web["bills_total"] > 0
    assert web["password"] not in (demo_run.dir / "tracker.toml").read_text()
