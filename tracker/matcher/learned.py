"""The learned layer of the matcher: classifiers over sentence embeddings and the rules' own findings.

For each bill the rules engine runs first (its evidence, its hard negatives and its scores stay what a
person checks). The learned layer then reads two things: the title's sentence embedding
(:mod:`tracker.matcher.embed`) and the rules' result as numbers (each category's score, the overall score,
whether a hard negative fired, which direction cues were seen). Three logistic regressions, trained with
scikit-learn on labelled real titles (and, after ``tracker match --train``, on the editors' decisions),
give:

* ``relevant``: the probability ``p`` that the measure is sanctuary-related. A bill the rules found relevant
  stays relevant unless the model is confident it is not (``p < KEEP_RULES``); a bill the rules missed
  becomes relevant when ``p >= THRESHOLD``, except that a hard negative that fired on a bill the rules do
  not find relevant is a veto (the model never overrides it);
* the category (the most probable code among the 16);
* the direction, used only where :mod:`tracker.matcher.direction` finds no certain verb-object pairing.

A decision with ``p`` within ``UNCERTAIN_BAND`` of the boundary that applied is *uncertain*: the review
queue can put it first and subscribers only get it when they ask. The evidence of a learned match names
the most similar labelled titles with their labels ("like: ... — confirmed, expands").

A model is plain numbers (coefficients, intercepts, the labelled examples' vectors and labels) saved with
:func:`numpy.savez_compressed`, never a pickle: loading one runs no code. Training needs scikit-learn;
prediction needs only numpy.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tracker.errors import ConfigError
from tracker.matcher.embed import EMBEDDER_NAME
from tracker.matcher.engine import MatchResult
from tracker.matcher.rules import CATEGORY_CODES, DIRECTIONS

logger = logging.getLogger(__name__)

LABELS_DIR = Path(__file__).resolve().parent / "labels"
DEVSET_DIR = Path(__file__).resolve().parent / "devset"
SHIPPED_MODEL = Path(__file__).resolve().parent / "model" / "model.npz"
MODEL_FORMAT = 1

#: The two boundaries, chosen on the leave-one-council-out figures (docs/matching.md says so).
THRESHOLD = 0.6  # the model alone makes a bill relevant from here
KEEP_RULES = 0.2  # the model overrules a rules match below this
UNCERTAIN_BAND = 0.15
#: How strongly the rules' findings weigh beside the 256 embedding dimensions (chosen on the councils left
#: out, docs/matching.md).
RULE_WEIGHT = 3.0
C_RELEVANT = 3.0
C_CATEGORY = 10.0
C_DIRECTION = 3.0
SIMILAR = 3
SIMILARITY_ROWS = 2048  # titles compared with the examples at once

CODES: tuple[str, ...] = tuple(CATEGORY_CODES)
DIRS: tuple[str, ...] = tuple(DIRECTIONS)


# -- labelled examples --------------------------------------------------------------------------------------


def most_similar(sims: np.ndarray, k: int) -> np.ndarray:
    """For each row of ``sims``, the columns of its ``k`` largest values, largest first; ties go to the lower
    column, as a stable sort of every row would give.

    ``k`` passes of ``argmax`` (the first of equal values) over the matrix, each taking out what it found: a
    full sort of every row (some 5,000 examples) cost about a fifth of a millisecond a bill."""
    rows, cols = sims.shape
    if k >= cols:
        return np.argsort(-sims, axis=1, kind="stable")
    work = sims.copy()
    top = np.empty((rows, k), dtype=np.intp)
    every = np.arange(rows)
    for j in range(k):
        top[:, j] = np.argmax(work, axis=1)
        work[every, top[:, j]] = -np.inf
    return top


@dataclass(frozen=True)
class Example:
    title: str
    relevant: bool
    categories: tuple[str, ...]
    direction: str | None
    source: str  # "columbus-oh:0123-2021 (labelled)", "bill 42 (confirmed by ana)", ...
    borderline: bool = False

    def label(self) -> str:
        if not self.relevant:
            return "not relevant"
        return f"{self.categories[0] if self.categories else '?'}, {self.direction}"


def shipped_examples(councils: Iterable[str] | None = None, *, devset: bool = True) -> list[Example]:
    """The labelled real titles shipped with the tracker: every labelled row of the councils' streams
    (``labels/*.csv``; the rows of the full read that are clearly not relevant carry no title there and
    are used for evaluation only) and the keyword-picked development set (``devset/dev.csv``;
    ``holdout.csv`` is never trained on). Borderline rows are kept: editors would decide them one way or
    the other too."""
    out: list[Example] = []
    for path in sorted(LABELS_DIR.glob("*.csv")):
        council = path.stem
        if councils is not None and council not in councils:
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if not row["title"]:  # read in the full pass and clearly not relevant: evaluation only
                    continue
                out.append(_example(row, f"{council}:{row['id']}", borderline=bool(row.get("note"))))
    if devset:
        with (DEVSET_DIR / "dev.csv").open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out.append(_example(row, f"devset: {row.get('jurisdiction') or 'dev.csv'}"))
    return out


def _example(row: dict[str, str], source: str, borderline: bool = False) -> Example:
    relevant = row["relevant"].strip() == "1"
    cats = tuple(c for c in (row.get("category") or "").split("|") if c)
    direction = (row.get("direction") or "").strip() or None
    return Example(row["title"], relevant, cats if relevant else (), direction if relevant else None,
                   source, borderline)  # fmt: skip


def training_hash(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.title, e.relevant, e.categories, e.direction], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


# -- features -----------------------------------------------------------------------------------------------


def rule_features(result: MatchResult) -> np.ndarray:
    """The rules' result as numbers: 16 category scores, the score, relevant, hard negative, and for each
    direction whether a cue for it was seen and whether the rules chose it."""
    values = [float(result.category_scores.get(c, 0.0)) for c in CODES]
    values += [float(result.score), float(result.relevant)]
    values.append(float(any(e.kind == "negative" for e in result.evidence)))
    for d in DIRS:
        values.append(float(any(e.kind == "cue" and e.direction == d for e in result.evidence)))
        values.append(float(result.direction == d))
    return np.asarray(values, dtype=np.float32)


def features(vectors: np.ndarray, rules: Sequence[MatchResult]) -> np.ndarray:
    r = np.stack([rule_features(x) for x in rules]) if rules else np.zeros((0, 25), dtype=np.float32)
    return np.hstack([vectors, r * RULE_WEIGHT]).astype(np.float32)


def vetoed(result: MatchResult) -> bool:
    """A hard negative removed every category the rules had found (heritage month, ice rink, Byrne JAG...)."""
    return not result.relevant and any(e.kind == "negative" for e in result.evidence)


# -- the model ----------------------------------------------------------------------------------------------


@dataclass
class Linear:
    """A fitted logistic regression: ``coef`` (classes x features), ``intercept``, ``classes``."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: tuple[str, ...]

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.coef.T + self.intercept
        if len(self.classes) == 2 and self.coef.shape[0] == 1:
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p: np.ndarray = e / e.sum(axis=1, keepdims=True)
        return p


@dataclass
class Prediction:
    probability: float
    relevant: bool
    uncertain: bool
    category: str
    category_probability: float
    direction: str
    direction_probability: float
    similar: list[tuple[float, Example]] = field(default_factory=list)


@dataclass
class LearnedModel:
    relevance: Linear
    category: Linear
    direction: Linear
    examples: list[Example]
    example_vectors: np.ndarray  # float16, unit length
    meta: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "?"))

    @property
    def hash(self) -> str:
        return str(self.meta.get("hash", ""))

    def predict(self, vectors: np.ndarray, rules: Sequence[MatchResult]) -> list[Prediction]:
        if not len(rules):
            return []
        x = features(vectors, rules)
        p_rel = self.relevance.proba(x)[:, list(self.relevance.classes).index("1")]
        p_cat = self.category.proba(x)
        p_dir = self.direction.proba(x)
        examples = self.example_vectors.astype(np.float32)
        nearest = np.empty((len(rules), min(SIMILAR, len(examples))), dtype=np.intp)
        closeness = np.empty(nearest.shape, dtype=np.float32)
        for start in range(0, len(rules), SIMILARITY_ROWS):  # in slices: 20,000 titles would be 400 MB
            sims = vectors[start : start + SIMILARITY_ROWS] @ examples.T
            top = most_similar(sims, SIMILAR)
            nearest[start : start + len(top)] = top
            closeness[start : start + len(top)] = np.take_along_axis(sims, top, axis=1)
        out = []
        for i, result in enumerate(rules):
            p = float(p_rel[i])
            boundary = KEEP_RULES if result.relevant else THRESHOLD
            # The model reads the title (and name) only: a rules match found in a bill's documents stands.
            in_documents = any(e.kind == "term" and e.field not in ("title", "name") for e in result.evidence)
            veto = vetoed(result)
            kept = result.relevant and (p >= KEEP_RULES or in_documents)
            relevant = kept or (p >= THRESHOLD and not veto)
            ci = int(np.argmax(p_cat[i]))
            di = int(np.argmax(p_dir[i]))
            similar = [(float(c), self.examples[j]) for c, j in zip(closeness[i], nearest[i], strict=True)]
            out.append(
                Prediction(
                    probability=p,
                    relevant=relevant,
                    # near the boundary that applied; never a vetoed title (the hard negative decides it)
                    # nor a rules match found in the documents (it stands whatever the model says)
                    uncertain=abs(p - boundary) < UNCERTAIN_BAND
                    and not veto
                    and not (result.relevant and in_documents),
                    category=self.category.classes[ci],
                    category_probability=float(p_cat[i, ci]),
                    direction=self.direction.classes[di],
                    direction_probability=float(p_dir[i, di]),
                    similar=similar,
                )
            )
        return out

    # -- storage ---------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        examples = [
            [e.title, int(e.relevant), "|".join(e.categories), e.direction or "", e.source, int(e.borderline)]
            for e in self.examples
        ]
        arrays: dict[str, Any] = {
            "meta": np.array(json.dumps({**self.meta, "format": MODEL_FORMAT}, ensure_ascii=False)),
            "examples": np.array(json.dumps(examples, ensure_ascii=False)),
            "example_vectors": self.example_vectors.astype(np.float16),
        }
        for name in ("relevance", "category", "direction"):
            lin: Linear = getattr(self, name)
            arrays[f"{name}_coef"] = lin.coef.astype(np.float32)
            arrays[f"{name}_intercept"] = lin.intercept.astype(np.float32)
            arrays[f"{name}_classes"] = np.array(json.dumps(list(lin.classes)))
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> LearnedModel:
        """A model from :meth:`to_bytes`; a corrupt or foreign file is a one-line :class:`ConfigError`."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") != MODEL_FORMAT or meta.get("embedder") != EMBEDDER_NAME:
                    raise ValueError(f"format {meta.get('format')} for {meta.get('embedder')}")
                linears = {
                    name: Linear(
                        np.asarray(z[f"{name}_coef"], dtype=np.float32),
                        np.asarray(z[f"{name}_intercept"], dtype=np.float32),
                        tuple(json.loads(str(z[f"{name}_classes"]))),
                    )
                    for name in ("relevance", "category", "direction")
                }
                rows = json.loads(str(z["examples"]))
                vectors = np.asarray(z["example_vectors"], dtype=np.float16)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise ConfigError(f"matcher model {where} is unreadable ({_first_line(exc)})") from None
        except Exception as exc:  # zipfile.BadZipFile and other damage of the archive
            raise ConfigError(f"matcher model {where} is unreadable ({_first_line(exc)})") from None
        examples = [Example(t, bool(r), tuple(c for c in cs.split("|") if c), d or None, s, bool(b))
                    for t, r, cs, d, s, b in rows]  # fmt: skip
        width = vectors.shape[1] + 25 if vectors.ndim == 2 else -1
        if len(examples) != len(vectors) or any(x.coef.shape[1] != width for x in linears.values()):
            raise ConfigError(f"matcher model {where} is unreadable (inconsistent shapes)")
        return cls(linears["relevance"], linears["category"], linears["direction"], examples, vectors, meta)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if "pickle" in text:  # numpy's refusal advises loading it unsafely: no operator should
        return "not a model file: it holds pickled objects, which the tracker never loads"
    return text.splitlines()[0][:200] if text else type(exc).__name__


def load_shipped_model(path: Path = SHIPPED_MODEL) -> LearnedModel:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"matcher model {path.name} cannot be read: {exc.strerror or exc}") from None
    return LearnedModel.from_bytes(data, path.name)


# -- training -----------------------------------------------------------------------------------------------


def train(
    examples: Sequence[Example],
    vectors: np.ndarray,
    rules: Sequence[MatchResult],
    *,
    version: str,
    extra_meta: dict[str, Any] | None = None,
) -> LearnedModel:
    """Fit the three classifiers (scikit-learn) on labelled examples, their vectors and rules results."""
    from sklearn.linear_model import LogisticRegression

    if not examples:
        raise ConfigError("no labelled examples to train on")
    x = features(vectors, rules)
    y = np.array(["1" if e.relevant else "0" for e in examples])
    if len(set(y)) < 2:
        raise ConfigError("training needs relevant and not relevant examples")
    rel = LogisticRegression(C=C_RELEVANT, max_iter=3000).fit(x, y)
    pos = [i for i, e in enumerate(examples) if e.relevant and e.categories and e.direction]
    cat = LogisticRegression(C=C_CATEGORY, max_iter=3000).fit(
        x[pos], np.array([examples[i].categories[0] for i in pos])
    )
    dirm = LogisticRegression(C=C_DIRECTION, max_iter=3000).fit(
        x[pos], np.array([examples[i].direction or "neutral" for i in pos])
    )
    meta = {
        "version": version,
        "embedder": EMBEDDER_NAME,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_hash": training_hash(examples),
        "examples": len(examples),
        "relevant_examples": len(pos),
        **(extra_meta or {}),
    }
    model = LearnedModel(
        _linear(rel), _linear(cat), _linear(dirm), list(examples), vectors.astype(np.float16), meta
    )
    model.meta["hash"] = hashlib.sha256(model.to_bytes()).hexdigest()
    return model


def _linear(clf: Any) -> Linear:
    classes = tuple(str(c) for c in clf.classes_)
    coef = np.asarray(clf.coef_, dtype=np.float32)
    return Linear(coef, np.asarray(clf.intercept_, dtype=np.float32), classes)
