"""One real ``tracker demo --no-serve`` run (a child process, as ``./dev demo`` runs it) shared by the demo
tests that read what it printed and stored: it takes about a minute, so it runs once per test session."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO


@dataclass(frozen=True)
class DemoRun:
    dir: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    demo = tmp_path_factory.mktemp("demo-run") / "demo"
    result = subprocess.run(
        [".venv/bin/tracker", "demo", "--no-serve", "--dir", str(demo)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return DemoRun(demo, result)
