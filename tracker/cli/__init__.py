"""The ``tracker`` command: the root group, its options and :func:`main`.

Each command group lives in a module of this package: ``crawl`` (crawl, track), ``bills`` (export,
changes), ``review``, ``matcher`` (classify, evaluate, match), ``documents``, ``digests`` (subscriptions,
digest), ``status``, ``schedule``, ``web`` (serve, users), ``ops`` (init, db copy, doctor) and ``demo``;
``context`` is the object every command receives, ``output`` the terminal-safe ``echo`` and the id
arguments, ``params`` the shared parameters. All terminal output is written in this package; the modules
the commands call return data. Every user error is printed as one line, ``Error: ...``, with a non-zero
exit (2 for usage and configuration errors, 1 for run-time failures).

A command's module is imported only when that command runs (``COMMAND_MODULES``), and commands import
their heavy modules (Scrapy, the matcher's model, the web app) inside the command function: ``tracker``
starts fast.
"""

from __future__ import annotations

import importlib
import os
import sys

import click
from sqlalchemy.exc import DatabaseError, OperationalError

from tracker.cli.context import Context
from tracker.cli.output import echo
from tracker.errors import TrackerError
from tracker.safe_output import terminal_text


def config_first(args: list[str]) -> list[str]:
    """``--config PATH`` (or ``--config=PATH``) given after the subcommand, moved before it, so that
    ``tracker review list --config x.toml`` works like ``tracker --config x.toml review list``. Nothing after
    a ``--`` is touched."""
    out, moved = list(args), []
    i = 0
    while i < len(out):
        arg = out[i]
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(out):
            moved += out[i : i + 2]
            del out[i : i + 2]
            continue
        if arg.startswith("--config="):
            moved.append(out.pop(i))
            continue
        i += 1
    return moved + out


#: Each command's module in this package, imported when the command runs (or help lists it): a command
#: does not pay for importing every other one. tests/test_docs.py checks it against the modules' COMMANDS.
COMMAND_MODULES: dict[str, str] = {
    "crawl": "crawl",
    "track": "crawl",
    "export": "bills",
    "changes": "bills",
    "review": "review",
    "classify": "matcher",
    "evaluate": "matcher",
    "match": "matcher",
    "documents": "documents",
    "subscriptions": "digests",
    "digest": "digests",
    "status": "status",
    "schedule": "schedule",
    "serve": "web",
    "users": "web",
    "init": "ops",
    "db": "ops",
    "doctor": "ops",
    "demo": "demo",
}


class TrackerGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, config_first(args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"tracker.cli.{module_name}")
        commands: list[click.Command] = module.COMMANDS
        return next(c for c in commands if c.name == cmd_name)


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Configuration file (default: $TRACKER_CONFIG, else ./tracker.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--json-logs", is_flag=True, help="Log one JSON object per line.")
@click.version_option(package_name="sanctuary-tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, json_logs: bool) -> None:
    """Sanctuary Tracker: city legislation that expands or rolls back sanctuary."""
    ctx.obj = Context(config_path, verbose, json_logs)


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return terminal_text(lines[0]) if lines else type(exc).__name__


def undecodable_argument(args: list[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8 (Python hands them over as lone surrogates,
    which no database, URL or file write accepts), shown with those bytes as ``\\xNN``; None if all are
    sound. Every command refuses such an argument up front (a usage error) rather than each on its own."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(arg).decode("utf-8", "backslashreplace")
            return terminal_text(shown if len(shown) <= 60 else shown[:59] + "…")
    return None


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    bad = undecodable_argument(args)
    if bad is not None:
        echo(f"Error: an argument is not UTF-8 text: '{bad}'", err=True)
        sys.exit(2)
    try:
        rv = cli.main(args=args, prog_name="tracker", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group named alone: its help
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # one line, like every other error; the help names the command
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        echo(f"Error: {' '.join(exc.format_message().split()).rstrip('.')}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TrackerError as exc:
        echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        echo(f"Error: database: {_first_line(exc.orig)}", err=True)
        sys.exit(1)
    except DatabaseError as exc:  # e.g. a database URL naming a file that is not a database
        echo(f"Error: database: {_first_line(exc.orig)} (check the database URL)", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if isinstance(rv, int) and rv:
        sys.exit(rv)
