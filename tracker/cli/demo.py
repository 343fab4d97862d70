"""``tracker demo``."""

from __future__ import annotations

from typing import Any

import click

from tracker.cli.output import cut


@click.command()
@click.option(
    "--dir", "directory", default="tracker-demo", show_default=True, help="Where the demo keeps its files."
)
@click.option("--days", default=14, show_default=True, help="How far the demo clock advances between crawls.")
@click.option("--no-serve", is_flag=True, help="Stop after the crawls instead of serving the web app.")
@click.option("--port", type=click.IntRange(1, 65535), help="Web app port (default 8000, else any free one).")
def demo(directory: str, days: int, no_serve: bool, port: int | None) -> None:
    """Run the whole main job offline against a built-in demo portal, then serve the web app over it."""
    from tracker.demo.run import run_demo

    run_demo(directory, days=days)
    if not no_serve:
        from tracker.web.demo import serve_demo

        serve_demo(directory, port=port)


def format_matched_measures(groups: list[dict[str, Any]]) -> str:
    """The demo's list: by jurisdiction, then direction; each measure with its categories and the matched
    phrases (and direction cues) that made it relevant."""
    total = sum(len(g["bills"]) for g in groups)
    if not total:
        return "No sanctuary-related measures found."
    lines = []
    for g in groups:
        n = len(g["bills"])
        lines.append(click.style(f"{g['name']} ({g['slug']}): {n} measure{'s' if n != 1 else ''}", bold=True))
        by_direction: dict[str, list[dict[str, Any]]] = {}
        for b in g["bills"]:
            by_direction.setdefault(b["direction"] or "neutral", []).append(b)
        for direction in ("expands", "restricts", "neutral"):
            bills = by_direction.get(direction, [])
            if not bills:
                continue
            lines.append(f"  {direction} ({len(bills)})")
            for b in bills:
                state = f" [{b['review_state']}]" if b["review_state"] in ("confirmed", "rejected") else ""
                file = cut(b["identifier"] or b["ref"], 13)
                lines.append(f"    {file:<13} {cut(b['title'], 100)}{state}")
                why = [", ".join(b["categories"])]
                if b["phrases"]:
                    why.append("matched " + ", ".join(f'"{cut(p, 40)}"' for p in b["phrases"][:3]))
                if b["cues"]:
                    why.append("cue " + ", ".join(f'"{cut(c, 30)}"' for c in b["cues"][:2]))
                lines.append(f"    {'':<13} {' | '.join(why)}")
    return "\n".join(lines)


COMMANDS = (demo,)
