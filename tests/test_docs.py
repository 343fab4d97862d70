"""The docs promise what the tool does: every command is documented, the quick start is two commands,
and CI runs the quick start's test command."""

from __future__ import annotations

import re

import click

from tests.conftest import REPO
from tracker.cli import cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = re.search(r"^## Quick start$(.*?)(?=^## )", README, re.M | re.S)
    assert section, "README has no Quick start section"
    blocks = re.findall(r"```[^\n]*\n(.*?)```", section.group(1), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    commands = quick_start_commands()
    assert commands == ["./dev demo", "./dev test"]
    assert "./dev test" in (REPO / ".ci" / "run").read_text()


def test_every_command_is_in_the_readme():
    missing = [name for name in cli.list_commands(click.Context(cli)) if f"tracker {name}" not in README]
    assert missing == []


def test_the_lazy_command_map_names_every_command_of_every_module():
    import importlib
    import pkgutil

    import tracker.cli
    from tracker.cli import COMMAND_MODULES

    found = {}
    for info in pkgutil.iter_modules(tracker.cli.__path__):
        module = importlib.import_module(f"tracker.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            found[command.name] = info.name
    assert found == COMMAND_MODULES


def test_every_configuration_key_is_documented():
    from tracker.config import Config, CrawlSettings
    from tracker.platforms import settings_classes

    doc = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md")))
    for model in (CrawlSettings, *settings_classes().values()):
        for name in model.model_fields:
            assert f"`{name}`" in doc, f"{model.__name__}.{name} is not documented in docs/"
    for table in Config.model_fields:
        if table not in ("source",):
            assert table in doc, table
