"""Helpers of the browser tests (imported by the tests; fixtures are in conftest.py)."""

from __future__ import annotations

import re
import uuid


def unique_slug(prefix: str = "b") -> str:
    """A jurisdiction slug of one test's own (make_bill creates it), for lists filtered to that test."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def label(text: str) -> re.Pattern[str]:
    """A form control by the start of its label: a <select> inside a <label> is named by the label's text
    and then its options' ("City any Riverton..."), so an exact or substring match would not do."""
    return re.compile(rf"^{re.escape(text)}\b")
