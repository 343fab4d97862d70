"""Sanctuary Tracker: city legislation that expands or rolls back sanctuary."""

__version__ = "0.1.0"
