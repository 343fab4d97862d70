"""Click parameter types shared by the commands (a value a person types in more than one spelling)."""

from __future__ import annotations

from typing import Any

import click

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Weekday(click.ParamType):
    """A day of the week, in full or short, any case (``monday``, ``Mon``, ``MON``): its short name
    (``mon``). Anything else is a usage error (exit status 2) listing the choices."""

    name = "weekday"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[mon|tue|...|sun]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if text in WEEKDAYS:
            return text
        if text in _FULL:
            return WEEKDAYS[_FULL.index(text)]
        self.fail(
            f"{str(value)[:40]!r} is not a day of the week: one of {', '.join(_FULL)} "
            f"(or {', '.join(WEEKDAYS)})",
            param,
            ctx,
        )


WEEKDAY = Weekday()
