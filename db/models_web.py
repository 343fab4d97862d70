"""Web app accounts (issue 6)."""

from __future__ import annotations
