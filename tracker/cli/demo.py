"""``tracker demo``."""

from __future__ import annotations

import click


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


COMMANDS = (demo,)
