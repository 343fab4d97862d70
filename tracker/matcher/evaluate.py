"""Measure the matcher on a labelled CSV (``tracker evaluate FILE``).

The CSV (or TSV) has the columns ``title, relevant, category, direction`` and optionally ``note``,
``jurisdiction`` (or ``council``) and ``source`` (see ``tracker/matcher/devset/README.md`` and
``tracker/matcher/labels/README.md``). A row with a ``note`` is *borderline* (an editor could go either
way): borderline rows are scored apart from the clear ones, and each jurisdiction apart as well.
``category`` may hold several codes separated by ``|`` when the taxonomy legitimately places the measure in
more than one category; the first is the primary one.

Definitions (also in docs/matching.md):

* precision, recall and F1 are those of the ``relevant`` flag;
* **category accuracy** is measured on the true positives only: a true positive counts as right when the
  matcher's *top* category (``categories[0]``) is one of the gold codes. ``category_accuracy_strict``
  requires it to be the *first* gold code;
* **direction accuracy** is measured on the true positives only: the predicted direction equals the gold one.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tracker.errors import DataError
from tracker.matcher.engine import Matcher, MatchResult
from tracker.matcher.rules import CATEGORY_CODES, DIRECTIONS, load_rules

COLUMNS = ("title", "relevant", "category", "direction")
OPTIONAL_COLUMNS = ("note", "jurisdiction", "council", "source")


@dataclass(frozen=True)
class LabelledTitle:
    line: int
    title: str
    relevant: bool
    categories: tuple[str, ...]
    direction: str | None
    jurisdiction: str
    source: str
    note: str = ""  # why an editor could go either way; empty for a clear row
    unread: bool = False  # a stream row nobody labelled, counted as not relevant
    eval_only: bool = False  # read in the full pass, clearly not relevant: scored, never trained on

    @property
    def borderline(self) -> bool:
        return bool(self.note)


@dataclass(frozen=True)
class Miss:
    """One title the matcher got wrong (relevance, category or direction)."""

    kind: str  # "false positive" | "false negative" | "wrong category" | "wrong direction"
    title: str
    gold: str
    predicted: str
    line: int
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scored:
    """Counts and rates of one group of rows."""

    total: int
    gold_relevant: int
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float
    category_accuracy: float
    category_accuracy_strict: float
    direction_accuracy: float
    misses: list[Miss]

    # A rate with nothing to count is undefined: shown as "n/a", not as a 0.000 that reads as a failure (a
    # council with no relevant row and no match). The numbers (and --json) keep 0.0.
    def shown(self) -> dict[str, str]:
        """The rates as printed: three decimals, or "n/a" where the rate counts nothing."""

        def rate(value: float, defined: bool) -> str:
            return f"{value:.3f}" if defined else "n/a"

        matched = self.tp > 0
        return {
            "precision": rate(self.precision, self.tp + self.fp > 0),
            "recall": rate(self.recall, self.tp + self.fn > 0),
            "f1": rate(self.f1, self.tp + self.fp + self.fn > 0),
            "category": rate(self.category_accuracy, matched),
            "category_strict": rate(self.category_accuracy_strict, matched),
            "direction": rate(self.direction_accuracy, matched),
        }

    def summary(self) -> str:
        r = self.shown()
        return (
            f"P {r['precision']}  R {r['recall']}  F1 {r['f1']}  (tp {self.tp}, fp {self.fp}, "
            f"fn {self.fn}; {self.total} rows, {self.gold_relevant} relevant)  category "
            f"{r['category']}  direction {r['direction']}"
        )


@dataclass(frozen=True)
class Report(Scored):
    """The figures of the clear rows (those of :class:`Scored`), and the groups scored apart."""

    path: str = ""
    borderline: int = 0  # rows with a note, scored apart (in groups), not in the figures above
    groups: dict[str, Scored] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["misses"] = [asdict(m) for m in self.misses]
        return out

    def text(self) -> str:
        r = self.shown()
        lines = [
            f"{self.path}: {self.total} titles, {self.gold_relevant} relevant"
            + (f" (clear rows; {self.borderline} borderline rows scored apart)" if self.borderline else ""),
            f"  relevant   precision {r['precision']}  recall {r['recall']}  F1 {r['f1']}"
            f"   (tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn})",
            f"  category   {r['category']} of true positives (top category among the gold codes;"
            f" strict, first gold code: {r['category_strict']})",
            f"  direction  {r['direction']} of true positives",
        ]
        for name, group in self.groups.items():
            lines.append(f"  {name}: {group.summary()}")
        if self.misses:
            lines.append(f"  {len(self.misses)} misclassified:")
            for m in self.misses:
                lines.append(f"  - [{m.kind}] line {m.line}: {_shorten(m.title, 110)}")
                lines.append(f"      gold: {m.gold}   predicted: {m.predicted}")
                if m.evidence:
                    lines.append(f"      evidence: {'; '.join(m.evidence)}")
        return "\n".join(lines)


def read_labelled(path: str | Path) -> list[LabelledTitle]:
    """Read and validate a labelled CSV; a malformed row is a :class:`DataError` naming file and line."""
    p = Path(path)
    name = p.name
    try:
        # a BOM (Excel's "CSV UTF-8") is not part of the first column's name
        fh = p.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{name}: cannot read: {exc.strerror}") from None
    out = []
    with fh:
        reader = csv.DictReader(fh, delimiter="\t" if p.suffix.lower() == ".tsv" else ",")
        header = reader.fieldnames or []
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise DataError(f"{name}: missing column(s): {', '.join(missing)}")
        try:
            for row in reader:
                out.append(_row(name, reader.line_num, row))
        except csv.Error as exc:
            raise DataError(f"{name}: line {reader.line_num}: {exc}") from None
    if not out:
        raise DataError(f"{name}: no labelled titles")
    return out


def _row(name: str, line: int, row: dict[str, str | None]) -> LabelledTitle:
    def cell(key: str) -> str:
        return (row.get(key) or "").strip()

    title = cell("title")
    if not title:
        raise DataError(f"{name}: line {line}: empty title")
    flag = cell("relevant")
    if flag not in ("0", "1"):
        raise DataError(f"{name}: line {line}: 'relevant' must be 0 or 1, not {flag!r}")
    relevant = flag == "1"
    cats = tuple(c.strip() for c in cell("category").split("|") if c.strip())
    for c in cats:
        if c not in CATEGORY_CODES:
            raise DataError(f"{name}: line {line}: unknown category '{c}'")
    direction = cell("direction") or None
    if direction is not None and direction not in DIRECTIONS:
        raise DataError(
            f"{name}: line {line}: direction must be one of {', '.join(DIRECTIONS)}, not '{direction}'"
        )
    if relevant and (not cats or direction is None):
        raise DataError(f"{name}: line {line}: a relevant title needs a category and a direction")
    if not relevant and (cats or direction):
        raise DataError(f"{name}: line {line}: a title that is not relevant has no category or direction")
    where = cell("jurisdiction") or cell("council")
    return LabelledTitle(line, title, relevant, cats, direction, where, cell("source"), note=cell("note"))


def score(items: list[LabelledTitle], results: list[MatchResult]) -> Scored:
    """Compare results with gold labels, row by row."""
    tp = fp = fn = tn = cat_ok = cat_strict = dir_ok = 0
    misses: list[Miss] = []
    for item, res in zip(items, results, strict=True):
        if res.relevant and item.relevant:
            tp += 1
            top = res.categories[0] if res.categories else ""
            if top in item.categories:
                cat_ok += 1
            else:
                misses.append(_miss("wrong category", item, res))
            if item.categories and top == item.categories[0]:
                cat_strict += 1
            if res.direction == item.direction:
                dir_ok += 1
            else:
                misses.append(_miss("wrong direction", item, res))
        elif res.relevant:
            fp += 1
            misses.append(_miss("false positive", item, res))
        elif item.relevant:
            fn += 1
            misses.append(_miss("false negative", item, res))
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    order = {"false negative": 0, "false positive": 1, "wrong category": 2, "wrong direction": 3}
    misses.sort(key=lambda m: (order[m.kind], m.line))
    return Scored(
        total=len(items),
        gold_relevant=sum(i.relevant for i in items),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        category_accuracy=round(cat_ok / tp, 4) if tp else 0.0,
        category_accuracy_strict=round(cat_strict / tp, 4) if tp else 0.0,
        direction_accuracy=round(dir_ok / tp, 4) if tp else 0.0,
        misses=misses,
    )


def evaluate(
    path: str | Path, matcher: Any | None = None, items: list[LabelledTitle] | None = None
) -> Report:
    """Classify every title of a labelled CSV and compare with the gold labels.

    The headline figures are those of the *clear* rows; borderline rows (with a ``note``) and each
    jurisdiction are scored apart in ``groups``. ``matcher``: anything with ``classify_many``.
    """
    items = items if items is not None else read_labelled(path)
    matcher = matcher or Matcher(load_rules())
    results = list(matcher.classify_many([i.title for i in items]))
    clear = [k for k, i in enumerate(items) if not i.borderline]
    main = score([items[k] for k in clear], [results[k] for k in clear])
    groups: dict[str, Scored] = {}
    border = [k for k, i in enumerate(items) if i.borderline]
    if border:
        groups["borderline rows"] = score([items[k] for k in border], [results[k] for k in border])
    places = sorted({i.jurisdiction for i in items if i.jurisdiction})
    if len(places) > 1:
        for place in places:
            ks = [k for k in clear if items[k].jurisdiction == place]
            if ks:
                groups[f"{place} (clear rows)"] = score([items[k] for k in ks], [results[k] for k in ks])
    figures = {f.name: getattr(main, f.name) for f in fields(Scored)}
    return Report(**figures, path=str(path), borderline=len(border), groups=groups)


def _miss(kind: str, item: LabelledTitle, res: MatchResult) -> Miss:
    gold = f"relevant, {'|'.join(item.categories)}, {item.direction}" if item.relevant else "not relevant"
    predicted = (
        f"relevant ({res.score:.2f}), {','.join(res.categories)}, {res.direction}"
        if res.relevant
        else f"not relevant ({res.score:.2f})"
    )
    evidence = [f"{e.kind}:{e.rule}={e.phrase!r}" for e in res.evidence[:6]]
    return Miss(kind, item.title, gold, predicted, item.line, evidence)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
