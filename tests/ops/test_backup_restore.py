"""The backups of docs/deploy.md, run as documented and restored: `tracker export` of the restored database is
the original's. SQLite's online backup (Python's ``sqlite3.Connection.backup``, the command docs/deploy.md
gives, and the ``sqlite3`` shell's ``.backup``)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.conftest import run_tracker
from tests.portal import portal_config

# The commands of docs/deploy.md, "Backups" (test_docs_show_these_commands keeps them in step).
PYTHON_BACKUP = (
    "import sqlite3, sys; src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2]); "
    "src.backup(dst); dst.close(); src.close()"
)


def _export(cfg, url: str) -> str:
    done = run_tracker("--config", str(cfg), "export", env={"TRACKER_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sqlite_backup_restores_to_the_same_export(tmp_path, portal, server):
    live = tmp_path / "tracker.db"
    cfg = portal_config(tmp_path / "t.toml", server, portal, f"sqlite:///{live}", clients=["riverton"])
    for args in (("init",), ("crawl",)):
        done = run_tracker("--config", str(cfg), *args)
        assert done.returncode == 0, done.stderr
    # a matched bill stored (the demo portal's files depend on the day; O2025-0008 was gone on 8 Dec)
    with sqlite3.connect(live) as conn:
        (identifier,) = conn.execute(
            "SELECT b.identifier FROM bills b JOIN bill_matches m ON m.bill_id = b.id "
            "WHERE m.review_state = 'pending' ORDER BY b.id LIMIT 1"
        ).fetchone()
    done = run_tracker("--config", str(cfg), "review", "confirm", f"riverton:{identifier}", "--by", "erin")
    assert done.returncode == 0, done.stderr
    original = _export(cfg, f"sqlite:///{live}")
    assert original.count("\n") > 50 and '"review_state": "confirmed"' in original

    # back up (online: the database stays in use), then restore into a new file
    backup = tmp_path / "backups" / "tracker-backup.db"
    backup.parent.mkdir()
    subprocess.run([sys.executable, "-c", PYTHON_BACKUP, str(live), str(backup)], check=True)
    restored = tmp_path / "restored" / "tracker.db"
    restored.parent.mkdir()
    subprocess.run([sys.executable, "-c", PYTHON_BACKUP, str(backup), str(restored)], check=True)
    assert _export(cfg, f"sqlite:///{restored}") == original

    shell_backup = tmp_path / "backups" / "shell.db"
    subprocess.run(["sqlite3", str(live), f".backup '{shell_backup}'"], check=True)
    assert _export(cfg, f"sqlite:///{shell_backup}") == original


def test_docs_show_these_commands():
    from tests.conftest import REPO

    deploy = (REPO / "docs" / "deploy.md").read_text()
    assert PYTHON_BACKUP in deploy
    assert (
        "sqlite3 /var/lib/tracker/tracker.db \".backup '/var/backups/tracker/tracker-$(date +%F).db'\""
        in deploy
    )
