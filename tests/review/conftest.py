from __future__ import annotations

import pytest

from tracker.matcher.apply import current_rules


@pytest.fixture(autouse=True)
def _editor(monkeypatch):
    """Decisions default to $TRACKER_EDITOR; the tests' editor is fixed. These tests check the review
    workflow against the rules engine's exact scores and rules changes, so they match with the rules alone
    (TRACKER_MATCHER=rules, also in the child processes); the learned layer has its own tests
    (tests/matcher/test_learned*.py)."""
    monkeypatch.setenv("TRACKER_EDITOR", "test-editor")
    monkeypatch.setenv("TRACKER_MATCHER", "rules")
    monkeypatch.delenv("TRACKER_RULES", raising=False)


@pytest.fixture(scope="session")
def loaded_rules():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKER_MATCHER", "rules")
        return current_rules()


@pytest.fixture(scope="session")
def strict_rules(tmp_path_factory, loaded_rules):
    """The shipped rules with a much higher threshold: a "rules change" that makes fewer bills relevant."""
    from pathlib import Path

    text = Path(loaded_rules.path).read_text(encoding="utf-8")
    assert "threshold = 0.5" in text
    path = tmp_path_factory.mktemp("rules") / "strict.toml"
    path.write_text(text.replace("threshold = 0.5", "threshold = 0.995", 1), encoding="utf-8")
    return path
