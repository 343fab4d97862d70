from __future__ import annotations

import pytest

from tracker.matcher import Matcher, load_rules


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture(scope="session")
def matcher(rules):
    return Matcher(rules)
