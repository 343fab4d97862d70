"""Whole council streams with their labels, for honest evaluation.

``../shared/streams/<council>.tsv`` (beside the repository, read in place, never copied) holds a council's
whole intake; ``tracker/matcher/labels/<council>.csv`` its labels against TAXONOMY.md (every row has been
read: labels/README.md). :func:`labelled_stream` joins the two: every row of the stream with its label; a
row without a label (a stream that grew after the read) counts as not relevant (``unread``). Rows of the
full read that are clearly not relevant carry no title in the labels file (the stream has it) and are
``eval_only``: scored, never trained on.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from tracker.errors import DataError
from tracker.matcher.evaluate import LabelledTitle
from tracker.matcher.learned import LABELS_DIR

REPO = Path(__file__).resolve().parents[2]
STREAMS_DIR = Path(os.environ.get("TRACKER_STREAMS_DIR") or REPO.parent / "shared" / "streams")


def labelled_stream(council: str, streams_dir: Path | None = None) -> list[LabelledTitle]:
    path = (streams_dir or STREAMS_DIR) / f"{council}.tsv"
    labels_path = LABELS_DIR / f"{council}.csv"
    try:
        with labels_path.open(newline="", encoding="utf-8") as fh:
            labels = {row["id"]: row for row in csv.DictReader(fh)}
        with path.open(newline="", encoding="utf-8") as fh:
            stream = list(csv.DictReader(fh, delimiter="\t"))
    except OSError as exc:
        raise DataError(f"{council}: cannot read {exc.filename}: {exc.strerror}") from None
    out = []
    for n, row in enumerate(stream, start=2):
        label = labels.get(row["id"])
        if label is None:
            out.append(LabelledTitle(n, row["title"], False, (), None, council, f"{council}:{row['id']}",
                                     note="", unread=True))  # fmt: skip
            continue
        relevant = label["relevant"] == "1"
        cats = tuple(c for c in label["category"].split("|") if c)
        out.append(LabelledTitle(n, row["title"], relevant, cats, label["direction"] or None, council,
                                 f"{council}:{row['id']}", note=label["note"],
                                 eval_only=not label["title"]))  # fmt: skip
    return out
