"""The tests' fork server (tests/forkserver.py) runs a ``tracker`` command as a new interpreter does: the
same output, error lines and exit status, the command's environment and directory, a timeout that kills
it. Each case runs the command both ways, forked and as a real ``python -m tracker`` child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests import forkserver
from tests.conftest import REPO, write_config


def both_ways(args: list[str], env: dict[str, str] | None = None, cwd: str = str(REPO)):
    full_env = {**os.environ, **(env or {})}
    server = forkserver.server()
    assert server is not None and server.can_run(full_env)
    forked = server.run(args, full_env, cwd, timeout=120)
    real = subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120, check=False,
    )  # fmt: skip
    return forked, real


def same(forked: subprocess.CompletedProcess[str], real: subprocess.CompletedProcess[str]) -> None:
    assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout, real.stderr)
    assert forked.args == real.args


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["review", "--help"],
        ["no-such-command"],
        ["crawl", "--since", "yesterday-ish"],
    ],
)
def test_output_and_exit_status_as_a_new_interpreter(args):
    forked, real = both_ways(args)
    same(forked, real)


def test_environment_and_directory_are_the_commands(tmp_path, sqlite_db):
    url, _engine = sqlite_db
    config = write_config(
        tmp_path / "t.toml", [{"slug": "x", "name": "X", "platform": "legistar", "client": "x"}]
    )
    # The configuration from the environment, the database from a relative path in the command's directory.
    env = {"TRACKER_CONFIG": str(config), "TRACKER_DATABASE_URL": "sqlite:///./nothing-here.db"}
    forked, real = both_ways(["review", "list"], env, cwd=str(tmp_path))
    same(forked, real)
    assert forked.returncode != 0 and "nothing-here.db" in forked.stderr
    forked, real = both_ways(["review", "list"], {"TRACKER_CONFIG": str(config), "TRACKER_DATABASE_URL": url})
    same(forked, real)
    assert forked.returncode == 0


def test_a_command_past_its_timeout_is_killed(tmp_path, sqlite_db):
    url, _engine = sqlite_db
    server = forkserver.server()
    assert server is not None
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(subprocess.TimeoutExpired):  # the web server runs until it is stopped
        server.run(["serve", "--port", str(port)], env, str(tmp_path), timeout=3)


def test_start_settings_that_differ_run_as_a_real_child_process():
    server = forkserver.server()
    assert server is not None
    assert not server.can_run({**os.environ, "PYTHONIOENCODING": "latin-1"})
    assert not server.can_run({**os.environ, "LC_ALL": "C.UTF-8-not-the-servers"})
    assert server.can_run({**os.environ, "TRACKER_MATCHER": "rules"})
