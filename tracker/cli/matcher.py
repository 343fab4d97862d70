"""``tracker classify`` and ``tracker evaluate`` (neither touches the database), and ``tracker match`` (the
matcher over the stored bills).

``classify`` and ``evaluate`` use the rules and the shipped learned model (:func:`make_matcher`) unless
``--rules-only`` is given. User errors are :class:`~tracker.errors.TrackerError` subclasses, which the
``tracker`` command prints as one line, ``Error: ...``. Editors trying a rules change run
``tracker classify "some title"`` (no configuration or database needed).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

import click

from tracker.cli.output import echo
from tracker.cli.params import NON_EMPTY
from tracker.cli.review import BY_OPTION
from tracker.errors import ConfigError, TrackerError
from tracker.safe_output import json_text

if TYPE_CHECKING:
    from tracker.matcher.engine import Matcher, MatchResult
    from tracker.matcher.hybrid import HybridMatcher

#: Titles classified per call by ``tracker classify`` (memory stays flat on a file of any length).
CLASSIFY_BATCH = 2000

RULES_OPTION = click.option(
    "--rules",
    "rules_path",
    metavar="PATH",
    help="Rules file to use instead of the one shipped with the tracker (tracker/matcher/rules.toml).",
)
RULES_ONLY_OPTION = click.option(
    "--rules-only",
    is_flag=True,
    help="The rules engine alone, without the learned layer (default: the rules and the shipped model).",
)


def make_matcher(rules_path: str | None, rules_only: bool) -> Matcher | HybridMatcher:
    """The rules engine with the shipped learned model on top; the rules alone with ``rules_only``, or when
    the model cannot be read (one warning line on standard error)."""
    from tracker.matcher.embed import EmbeddingCache, load_embedder
    from tracker.matcher.engine import Matcher
    from tracker.matcher.hybrid import HybridMatcher
    from tracker.matcher.learned import load_shipped_model
    from tracker.matcher.rules import load_rules
    from tracker.matcher.rules import rules_path as rules_file

    rules = Matcher(load_rules(rules_path or rules_file()))
    if rules_only:
        return rules
    try:
        model = load_shipped_model()
        return HybridMatcher(rules, model, EmbeddingCache(load_embedder()))
    except ConfigError as exc:
        click.echo(f"Warning: {exc}; matching with the rules alone", err=True)
        return rules


@click.command("classify")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file_path",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="Classify every line of this file (one title per line).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per input line, in order.")
@RULES_OPTION
@RULES_ONLY_OPTION
def classify(
    text: str | None, file_path: str | None, as_json: bool, rules_path: str | None, rules_only: bool
) -> None:
    """Classify ad-hoc titles against the sanctuary taxonomy, without touching the database.

    TEXT is one title; with --file PATH, every line of the file; with neither, every line of standard
    input. Each title gets a relevance, a score (0..1), its categories, a direction and the evidence.
    By default the learned layer reads each title after the rules (its probability is the score, and
    --json adds "learned"); --rules-only shows the rules engine alone.
    """
    if text is not None and file_path is not None:
        raise click.UsageError("give TEXT or --file, not both")
    from tracker.matcher.engine import FIELD_LIMITS

    matcher = make_matcher(rules_path, rules_only)
    limit = FIELD_LIMITS["title"]  # what the matcher reads of a title, as at ingest
    lines = iter(_inputs(text, file_path))
    while batch := list(islice(lines, CLASSIFY_BATCH)):
        # one call per batch: the learned layer embeds and compares many titles at once (one at a time,
        # 20,000 titles took minutes); a blank line keeps its place, as not relevant
        titles = [line[:limit] for line in batch]
        filled = [t for t in titles if t.strip()]
        results = iter(matcher.classify_many(filled) if filled else [])
        for line, title in zip(batch, titles, strict=True):
            result = next(results) if title.strip() else _blank()
            if as_json:
                row = result.to_dict()
                row.setdefault("learned", None)  # the same keys with --rules-only
                click.echo(json_text(json.dumps(row, ensure_ascii=False)))
            else:
                echo(_plain(line, result))  # the typed or read text, inert for the terminal


@click.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@RULES_OPTION
@RULES_ONLY_OPTION
def evaluate(file: str, as_json: bool, rules_path: str | None, rules_only: bool) -> None:
    """Measure the matcher on a labelled CSV (title, relevant, category, direction, jurisdiction, source).

    Prints precision, recall and F1 of "relevant", category and direction accuracy on the true positives,
    and every misclassified title. The labelled sets live in tracker/matcher/devset/. By default the
    rules and the learned layer are measured; --rules-only measures the rules engine alone.
    """
    from tracker.matcher.evaluate import evaluate as run_evaluation
    from tracker.matcher.evaluate import read_labelled

    try:
        items = read_labelled(file)
    except UnicodeDecodeError:
        raise InputError(f"{file}: not UTF-8 text") from None
    report = run_evaluation(file, make_matcher(rules_path, rules_only), items=items)
    if as_json:
        click.echo(json_text(json.dumps(report.to_dict(), ensure_ascii=False)))
    else:
        echo(report.text())  # it quotes the file's titles


@click.command("match")
@click.option(
    "--rescore", is_flag=True, help="Re-run the matcher on every bill (after a change of the rules)."
)
@click.option(
    "--train",
    is_flag=True,
    help="First train a new model from the shipped labelled titles and the editors' decisions, then match.",
)
@click.option(
    "--jurisdiction", "jurisdiction", metavar="SLUG", type=NON_EMPTY, help="Only this jurisdiction's bills."
)
@BY_OPTION
@click.pass_obj
def match(obj: Any, rescore: bool, train: bool, jurisdiction: str | None, by: str | None) -> None:
    """Run the matcher on stored bills and print what changed.

    Without --rescore, only bills that have no match yet or whose title, name or text changed since their
    match, or that were matched under other rules or another model. With --rescore, every bill (of one
    jurisdiction). With --train, a new model is trained first (from the shipped labelled titles and every
    confirmed, corrected or rejected bill), stored with its version, the hash of its training data and its
    evaluation, and used from then on. The machine's fields are rewritten; editors' decisions never are.
    Rules: $TRACKER_RULES, else the shipped tracker/matcher/rules.toml.
    """
    from db.engine import session_scope
    from tracker.matcher.apply import match_stored
    from tracker.review import list_reviews

    if train and jurisdiction:
        # the new model is every city's: matching only one city's bills would leave the others stale
        raise click.UsageError("--train matches every city's bills with the new model: drop --jurisdiction")
    engine = obj.engine()
    if train:
        from tracker.matcher.retrain import retrain

        t = retrain(engine, by=by)
        if t.unchanged:
            click.echo(f"Model {t.version} is already trained on these {t.examples} examples: kept.")
        else:
            holdout = t.evaluation.get("holdout", {})
            cv = t.evaluation.get("decisions_cross_validated")
            agreement = f", agrees with {cv['agreement']:.0%} of decisions (5-fold)" if cv else ""
            click.echo(
                f"Trained model {t.version} on {t.examples} examples ({t.decisions} editors' decisions): "
                f"holdout F1 {holdout.get('f1', 0):.3f}{agreement}."
            )
    s = match_stored(engine, rescore=rescore, jurisdiction=jurisdiction)
    verb = "Rescored" if rescore else "Matched"
    unchanged = "" if rescore else f" ({s.considered - s.classified} unchanged)"
    click.echo(
        f"{verb} {s.classified} bills with rules {s.rules}{unchanged}: {s.newly_relevant} newly relevant, "
        f"{s.no_longer_relevant} no longer relevant, {s.flagged} flagged for another look."
    )
    with session_scope(engine) as session:
        queue = list_reviews(session, states=["pending", "flagged"], jurisdiction=jurisdiction)
    pending = sum(1 for r in queue if r["review_state"] == "pending")
    near = sum(1 for r in queue if r["near_miss"])
    near_misses = f" ({near} of them near misses, not on the list)" if near else ""
    flagged = sum(1 for r in queue if r["needs_review"])
    click.echo(f"Review queue: {pending} pending{near_misses}, {flagged} flagged (`tracker review list`).")


COMMANDS = (classify, evaluate, match)


def _inputs(text: str | None, file_path: str | None) -> Iterator[str]:
    if text is not None:
        yield text
        return
    if file_path is not None:
        try:
            with open(file_path, encoding="utf-8") as fh:
                yield from (line.rstrip("\r\n") for line in fh)
        except OSError as exc:
            raise InputError(f"{file_path}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"{file_path}: not UTF-8 text") from None
        return
    # Decoded here, strictly: the interpreter's own standard input turns bytes that are not UTF-8 into lone
    # surrogates, which the learned layer's tokenizer refuses with a TypeError.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict")
    try:
        yield from (line.rstrip("\r\n") for line in stdin)
    except UnicodeDecodeError:
        raise InputError("standard input: not UTF-8 text") from None
    finally:
        stdin.detach()  # sys.stdin keeps its buffer


def _blank() -> MatchResult:
    """A blank line's result: nothing to read, not relevant (it keeps the line's place in the output)."""
    from tracker.matcher.engine import MatchResult

    return MatchResult(relevant=False, score=0.0, categories=[], direction=None)


class InputError(TrackerError):
    """An input of ``classify`` or ``evaluate`` (a file, standard input) cannot be read."""


def _plain(title: str, result: MatchResult) -> str:
    shown = title if len(title) <= 100 else title[:99] + "…"
    if not result.relevant:
        why = ""
        negs = sorted({e.rule for e in result.evidence if e.kind == "negative"})
        if negs:
            why = f"  [{', '.join(negs)}]"
        return f"not relevant  {result.score:.2f}  {shown}{why}"
    terms = [f"{e.phrase!r}" for e in result.evidence if e.kind == "term"][:4]
    cats = ", ".join(result.categories)
    return f"RELEVANT      {result.score:.2f}  {result.direction:<9}  {cats}  {shown}  <- {', '.join(terms)}"
