"""Running the matcher on stored bills: during ingest (every new or changed bill) and on `tracker match`.

:func:`match_bills` classifies bills with :class:`tracker.matcher.Matcher` and upserts their row in
``bill_matches`` (db/models_review.py), inside the caller's transaction:

- every bill gets a row, relevant or not (so a rescore can tell "newly relevant" from "no longer
  relevant", the export has a score for every bill, and an editor can add a bill the matcher missed);
  relevant ones enter the editors' queue as ``pending``, and so do *near misses* (not relevant, but the
  learned layer's probability is just below the boundary that applied: ``uncertain``), which stay off the
  list until an editor confirms one; a ``pending`` bill that is neither any more leaves the queue again
  (its state goes back to none);
- the machine's fields are rewritten; a decision (``confirmed``/``rejected``, the editor's categories and
  direction, the note) never is;
- a decided bill whose title, name or text changed *materially* since the decision is flagged for another
  look (``needs_review`` and a reason, plus a ``flagged`` event in ``review_events``); the decision stays.

**Materially** means that the words changed: each field is reduced to its sequence of words (Unicode
NFKC, case-folded, runs of letters and digits; whitespace, case, punctuation and typographic variants of
quotes and dashes are ignored) and compared with the same reduction at decision time. A field that was
empty at the decision and has text now counts as a change for the title and the name; for the document
text only a change of text that existed at the decision counts, so that extracting the
documents of old bills for the first time does not flag every decided bill.

Speed: bills are handled in chunks of :data:`CHUNK` with bulk statements; a bill whose inputs and rules
are unchanged since its last match is skipped (a status-only change costs one hash), and bills without a
distinct name or text go through :meth:`Matcher.classify_many`.

Precomputed matches (:class:`Precomputed`): the match process beside a split full crawl
(tracker/matcher/precompute.py) classifies the new bills' titles while the crawl runs and leaves the results
(and the embeddings) in a file next to each stage file (:meth:`Precomputed.write`). The import uses a bill's
precomputed result only when it was made under the same rules and model (``LoadedRules.hash``) and from
the same inputs (the input hash: title, name, and no document text); any other bill is classified here, as
without them. What is stored is the same either way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, not_, or_, select, update
from sqlalchemy.orm import Session

from db.engine import insert_ignore, session_scope
from db.models import Bill, Jurisdiction
from db.models_review import DECIDED_STATES, BillMatch, ReviewEvent
from db.types import utcnow
from tracker.errors import ConfigError
from tracker.matcher import Matcher, MatchResult, Rules, load_rules
from tracker.matcher.document_text import bill_documents, name_documents
from tracker.matcher.embed import DIMENSIONS, text_hash
from tracker.matcher.hybrid import HybridMatcher, embedding_text, load_model_or_none
from tracker.matcher.learned import LearnedModel, load_shipped_model
from tracker.matcher.rules import rules_path

logger = logging.getLogger(__name__)

CHUNK = 1000
#: ``TRACKER_MATCHER=rules`` matches with the rules alone (no learned layer).
MATCHER_ENV = "TRACKER_MATCHER"
FLAG_ACTOR = "tracker"
MATCH_FIELDS = ("title", "name", "text")
_WORDS = re.compile(r"[^\W_]+")


# -- what "materially changed" means ----------------------------------------------------------------------


def material_words(text: str | None) -> str | None:
    """The words of ``text``: NFKC, case-folded, letters and digits only, one space between; None if none."""
    if not text:
        return None
    words = _WORDS.findall(unicodedata.normalize("NFKC", text).casefold())
    return " ".join(words) or None


def _key(text: str | None) -> str | None:
    words = material_words(text)
    return None if words is None else hashlib.sha256(words.encode("utf-8")).hexdigest()[:32]


def content_keys(title: str | None, name: str | None, text: str | None) -> dict[str, str | None]:
    return {"title": _key(title), "name": _key(name), "text": _key(text)}


def changed_fields(decided: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The fields whose words differ from those at decision time (see the module docstring)."""
    out = []
    for f in MATCH_FIELDS:
        before, now = decided.get(f), current.get(f)
        if before == now:
            continue
        if f == "text" and before is None:  # documents extracted for the first time: not a change
            continue
        out.append(f)
    return out


def input_hash(title: str | None, name: str | None, text: str | None) -> str:
    payload = json.dumps([title, name, text], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# -- the rules used for stored bills ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedRules:
    """The rules engine and the learned layer used for stored bills. ``hash`` is the SHA-256 of the rules
    file and the model together: a bill matched under other rules or another model is matched again."""

    matcher: Matcher
    rules: Rules
    path: str
    hash: str
    hybrid: HybridMatcher | None = None

    @property
    def model(self) -> LearnedModel | None:
        return self.hybrid.model if self.hybrid is not None else None

    @property
    def version(self) -> int:
        return self.rules.version

    @property
    def short(self) -> str:
        model = f", model {self.model.version}" if self.model is not None else ""
        return f"{self.version}/{self.hash[:8]}{model}"


_CACHE: dict[tuple[str, int, int, str], LoadedRules] = {}
_SHIPPED: list[LearnedModel | None] = []
_STORED: dict[str, LearnedModel | None] = {}


def active_model(session: Session | None) -> LearnedModel | None:
    """The model stored matches use: the newest active model trained on this database's decisions
    (``tracker match --train``), else the shipped one; ``None`` (rules alone) when ``TRACKER_MATCHER=rules``
    or when the model cannot be read (one warning in the log; an unreadable active database model is not
    replaced by the shipped one)."""
    chosen = os.environ.get(MATCHER_ENV, "").strip().lower()
    if chosen == "rules":
        return None
    if chosen not in ("", "learned"):  # a typo must not silently mean the opposite of what was meant
        raise ConfigError(f"${MATCHER_ENV} is 'rules' (the rules alone) or unset, not {chosen[:40]!r}")
    if session is not None:
        from db.models_matcher import MatcherModel

        row = session.execute(
            select(MatcherModel.id, MatcherModel.model_hash)
            .where(MatcherModel.active)
            .order_by(MatcherModel.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            if row.model_hash not in _STORED:
                data = session.scalar(select(MatcherModel.data).where(MatcherModel.id == row.id))
                _STORED.clear()
                _STORED[row.model_hash] = load_model_or_none(
                    lambda: LearnedModel.from_bytes(data or b"", f"#{row.id} in the database"), "stored"
                )
            # An unreadable active model means rules alone (the warning says so), not a silent switch to
            # the shipped model, which knows none of this database's decisions.
            return _STORED[row.model_hash]
    if not _SHIPPED:
        _SHIPPED.append(load_model_or_none(load_shipped_model, "shipped"))
    return _SHIPPED[0]


def current_rules(path: str | Path | None = None, session: Session | None = None) -> LoadedRules:
    """The compiled rules (``$TRACKER_RULES`` or the shipped file) with the active model
    (:func:`active_model`), cached until the file or the model changes."""
    p = Path(path) if path is not None else rules_path()
    model = active_model(session)
    model_hash = model.hash if model is not None else ""
    try:
        st = p.stat()
        cache_key = (str(p.resolve()), st.st_mtime_ns, st.st_size, model_hash)
    except OSError:
        cache_key = None
    if cache_key is not None and cache_key in _CACHE:
        return _CACHE[cache_key]
    rules = load_rules(p)  # raises ConfigError with one line when missing or invalid
    raw = p.read_bytes()
    digest = hashlib.sha256(raw + model_hash.encode() if model_hash else raw).hexdigest()
    matcher = Matcher(rules)
    hybrid = HybridMatcher(matcher, model) if model is not None else None
    loaded = LoadedRules(matcher, rules, str(p), digest, hybrid)
    if cache_key is not None:
        if len(_CACHE) >= 4:  # old versions of an edited file, or rules tried once
            _CACHE.clear()
        _CACHE[cache_key] = loaded
    return loaded


# -- document text -------------------------------------------------------------------------------


def bill_texts(session: Session, bill_ids: list[int]) -> dict[int, str]:
    """The document text of each bill, for the matcher's ``text`` field: the start of each extracted
    document still attached to it (:func:`tracker.matcher.document_text.bill_documents`; the caps are in
    docs/documents.md). Bills without extracted documents are matched on title and name only. Callers
    that already hold the text pass ``texts=`` to :func:`match_bills` instead.
    """
    return bill_documents(session, bill_ids)


# -- matching ----------------------------------------------------------------------------------------------


@dataclass
class MatchSummary:
    considered: int = 0  # bills looked at
    classified: int = 0  # bills run through the matcher (the others had unchanged inputs and rules)
    created: int = 0  # match rows created
    updated: int = 0  # match rows whose machine result changed (and was rewritten)
    newly_relevant: int = 0
    no_longer_relevant: int = 0
    flagged: int = 0  # decided bills flagged for another look
    precomputed: int = 0  # of the classified, results taken from the match process beside the crawl
    rules: str = ""

    def add(self, other: MatchSummary) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int):
                setattr(self, f.name, value + getattr(other, f.name))


def machine_snapshot(
    relevant: bool, score: float, categories: list[str], direction: str | None, rules_hash: str
) -> dict[str, Any]:
    return {
        "relevant": relevant,
        "score": score,
        "categories": list(categories),
        "direction": direction,
        "rules_hash": rules_hash,
    }


def _distinct_name(title: str | None, name: str | None) -> str | None:
    """The name when its words differ from the title's (Legistar's short names), else None."""
    return name if name and material_words(name) != material_words(title) else None


def _classify(
    loaded: LoadedRules,
    items: list[tuple[int, str | None, str | None, str | None]],
    session: Session | None = None,
) -> dict[int, MatchResult]:
    """Results per bill id; bills with neither a distinct name nor text go through classify_many.
    With a learned layer, every bill goes through it in one batch (embeddings cached in ``session``)."""
    if loaded.hybrid is not None:
        batch = []
        for _bill_id, title, name, text in items:
            distinct_name = _distinct_name(title, name)
            batch.append((title or "", distinct_name, text or None))
        results = loaded.hybrid.classify_items(batch, session)
        return {
            bill_id: name_documents(result, text)
            for (bill_id, _, _, text), result in zip(items, results, strict=True)
        }
    fast: list[tuple[int, str]] = []
    out: dict[int, MatchResult] = {}
    for bill_id, title, name, text in items:
        distinct_name = _distinct_name(title, name)
        if distinct_name is None and not text:
            fast.append((bill_id, title or ""))
        else:
            result = loaded.matcher.classify(title or "", name=distinct_name, text=text or None)
            out[bill_id] = name_documents(result, text)  # evidence in a document names it
    if fast:
        results = loaded.matcher.classify_many(t for _, t in fast)
        out.update((bill_id, r) for (bill_id, _), r in zip(fast, results, strict=True))
    return out


def _flag_reason(changed: list[str], state: str, by: str | None, at: datetime | None, old_title: Any) -> str:
    what = " and ".join(changed)
    reason = f"{what} changed since it was {state}"
    if by:
        reason += f" by {by}"
    if at:
        reason += f" on {at:%Y-%m-%d}"
    if "title" in changed and isinstance(old_title, str):
        shown = old_title if len(old_title) <= 160 else old_title[:159] + "…"
        reason += f' (title then: "{shown}")'
    return reason


def match_bills(
    session: Session,
    bill_ids: Iterable[int],
    *,
    texts: Mapping[int, str] | None = None,
    rescore: bool = False,
    rules: LoadedRules | None = None,
    now: datetime | None = None,
    precomputed: Precomputed | None = None,
) -> MatchSummary:
    """Match the given bills and upsert their ``bill_matches`` rows, in the session's transaction.

    ``texts``: the full/attachment text per bill id when the caller has it, else
    :func:`bill_texts` is asked. ``rescore``: classify even bills whose inputs and rules are unchanged
    (after an upgrade of the engine itself). ``precomputed``: results the match process beside a crawl
    made (:func:`read_precomputed`), used for the bills whose inputs they were made from when they were made
    under these rules and this model, else ignored. Returns what changed.
    """
    ids = sorted(set(bill_ids))
    if not ids:  # an import that changed nothing does not even load the rules
        return MatchSummary()
    loaded = rules or current_rules(session=session)
    now = now or utcnow()
    if precomputed is not None and precomputed.rules_hash != loaded.hash:
        logger.info(
            "precomputed matches were made under other rules or another model (%s, not %s): "
            "classifying the bills here",
            precomputed.rules_hash[:8],
            loaded.hash[:8],
        )
        precomputed = None
    summary = MatchSummary(rules=loaded.short)
    for i in range(0, len(ids), CHUNK):
        summary.add(_match_chunk(session, ids[i : i + CHUNK], texts, rescore, loaded, now, precomputed))
    logger.info(
        "matched %d bills (%d classified, %d of them precomputed, %d newly relevant, %d no longer relevant, "
        "%d flagged), rules %s",
        summary.considered,
        summary.classified,
        summary.precomputed,
        summary.newly_relevant,
        summary.no_longer_relevant,
        summary.flagged,
        loaded.short,
    )
    return summary


def _match_chunk(
    session: Session,
    chunk: list[int],
    texts: Mapping[int, str] | None,
    rescore: bool,
    loaded: LoadedRules,
    now: datetime,
    precomputed: Precomputed | None = None,
) -> MatchSummary:
    summary = MatchSummary(rules=loaded.short)
    bills = session.execute(select(Bill.id, Bill.title, Bill.name).where(Bill.id.in_(chunk))).all()
    chunk_texts = texts if texts is not None else bill_texts(session, chunk)
    existing = _locked_matches(session, chunk)
    summary.considered = len(bills)
    todo = _due(bills, chunk_texts, existing, rescore, loaded)
    if not todo:
        return summary
    ready = precomputed.take(session, [ih for *_, ih in todo]) if precomputed is not None else {}
    items = [(bill_id, title, name, text) for bill_id, title, name, text, ih in todo if ih not in ready]
    results = {bill_id: result_fields(r) for bill_id, r in _classify(loaded, items, session).items()}
    summary.classified = len(todo)
    summary.precomputed = len(todo) - len(items)
    changes = _Changes()
    for bill_id, title, name, text, ih in todo:
        fields_ = ready[ih] if ih in ready else results[bill_id]
        keys = content_keys(title, name, text)
        machine = _machine_fields(bill_id, fields_, keys, ih, loaded, now)
        old = existing.get(bill_id)
        relevant = bool(machine["relevant"])
        if old is None:
            changes.inserts.append(
                {
                    **machine,
                    "source": "matcher",
                    "review_state": "pending" if relevant or machine["uncertain"] else None,
                    "needs_review": False,
                    "created_at": now,
                }
            )
            summary.newly_relevant += relevant
            continue
        if _same_result(old, machine):  # a rescore that changes nothing: only record the rules
            changes.restamp.append(bill_id)
            continue
        changes.updates.append(machine)
        summary.newly_relevant += relevant and not old.relevant
        summary.no_longer_relevant += old.relevant and not relevant
        flag = _flag_if_changed_since_decision(old, title, name, keys, machine, loaded, now)
        if flag is not None:
            changes.flags.append(flag[0])
            changes.events.append(flag[1])
    _write_changes(session, changes, loaded, now, summary)
    return summary


def _locked_matches(session: Session, chunk: list[int]) -> dict[int, Any]:
    """The current match rows of the chunk's bills (the columns a run compares), locked on PostgreSQL so
    that an editor's decision cannot interleave with this run."""
    return {
        row.bill_id: row
        for row in session.execute(
            select(
                BillMatch.bill_id,
                BillMatch.relevant,
                BillMatch.score,
                BillMatch.categories,
                BillMatch.direction,
                BillMatch.category_scores,
                BillMatch.evidence,
                BillMatch.review_state,
                BillMatch.rules_hash,
                BillMatch.input_hash,
                BillMatch.content_keys,
                BillMatch.decided_content,
                BillMatch.decided_by,
                BillMatch.decided_at,
                BillMatch.uncertain,
                BillMatch.learned,
            )
            .where(BillMatch.bill_id.in_(chunk))
            .order_by(BillMatch.bill_id)
            .with_for_update()
        )
    }


def _due(
    bills: Iterable[Any],
    chunk_texts: Mapping[int, str],
    existing: Mapping[int, Any],
    rescore: bool,
    loaded: LoadedRules,
) -> list[tuple[int, str | None, str | None, str | None, str]]:
    """(id, title, name, text, input hash) of the bills to classify: all with ``rescore``, else those whose
    inputs or rules changed since their last match."""
    todo = []
    for bill_id, title, name in bills:
        text = chunk_texts.get(bill_id)
        ih = input_hash(title, name, text)
        old = existing.get(bill_id)
        if not rescore and old is not None and old.input_hash == ih and old.rules_hash == loaded.hash:
            continue
        todo.append((bill_id, title, name, text, ih))
    return todo


def result_fields(r: Any) -> dict[str, Any]:
    """The result's columns of a match row (what :class:`Precomputed` carries from the match process)."""
    return {
        "relevant": r.relevant,
        "score": r.score,
        "categories": list(r.categories),
        "direction": r.direction,
        "category_scores": dict(r.category_scores),
        "evidence": [e.to_dict() for e in r.evidence],
        "uncertain": bool(getattr(r, "uncertain", False)),
        "learned": getattr(r, "learned", None),
    }


def _machine_fields(
    bill_id: int,
    result: dict[str, Any],
    keys: dict[str, str | None],
    ih: str,
    loaded: LoadedRules,
    now: datetime,
) -> dict[str, Any]:
    """The machine's columns of a bill's match row, from its result's fields (:func:`result_fields`)."""
    return {
        "bill_id": bill_id,
        **{f: result[f] for f in _RESULT_FIELDS if f != "input_hash"},
        "rules_version": loaded.version,
        "rules_hash": loaded.hash,
        "input_hash": ih,
        "content_keys": keys,
        "matched_at": now,
        "updated_at": now,
    }


def _flag_if_changed_since_decision(
    old: Any,
    title: str | None,
    name: str | None,
    keys: dict[str, str | None],
    machine: dict[str, Any],
    loaded: LoadedRules,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the flag's column values, its ``flagged`` event) when a decided bill's words changed materially
    since the decision (and since the last run, so a flag is raised once); else None."""
    if old.review_state not in DECIDED_STATES or not old.decided_content:
        return None
    changed = changed_fields(old.decided_content.get("keys", {}), keys)
    seen = old.content_keys or {}
    if not changed or not any(keys.get(f) != seen.get(f) for f in changed):
        return None
    old_title = old.decided_content.get("title")
    reason = _flag_reason(changed, old.review_state, old.decided_by, old.decided_at, old_title)
    flag = {"bill_id": old.bill_id, "needs_review": True, "needs_review_reason": reason, "flagged_at": now}
    event = {
        "bill_id": old.bill_id,
        "kind": "flagged",
        "at": now,
        "actor": FLAG_ACTOR,
        "note": reason,
        "categories": None,
        "direction": None,
        "snapshot": {
            "title": title,
            "name": name,
            "changed": changed,
            "machine": machine_snapshot(
                machine["relevant"],
                machine["score"],
                machine["categories"],
                machine["direction"],
                loaded.hash,
            ),
        },
    }
    return flag, event


@dataclass
class _Changes:
    """What a chunk's run writes: new rows, changed results, unchanged results under new rules (restamped),
    flags and their events."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    restamp: list[int] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _write_changes(
    session: Session, changes: _Changes, loaded: LoadedRules, now: datetime, summary: MatchSummary
) -> None:
    """Write a chunk's changes in bulk statements; the queue follows the machine for undecided bills only."""
    if changes.inserts:
        # Core executemany on the table (the ORM's bulk insert would go row by row here); a concurrent run
        # that matched the same new bill first wins (its result is the same).
        session.execute(insert_ignore(session, BillMatch.__table__), changes.inserts)
        summary.created = len(changes.inserts)
    if changes.updates:
        session.execute(update(BillMatch), changes.updates)
        summary.updated = len(changes.updates)
        rematched = [u["bill_id"] for u in changes.updates]
        # The queue follows the machine only for undecided bills (relevant ones and near misses); the WHERE
        # clauses make that hold even if a decision was written meanwhile.
        queued = or_(BillMatch.relevant.is_(True), BillMatch.uncertain.is_(True))
        session.execute(
            update(BillMatch)
            .where(BillMatch.bill_id.in_(rematched), queued, BillMatch.review_state.is_(None))
            .values(review_state="pending")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(BillMatch)
            .where(
                and_(
                    BillMatch.bill_id.in_(rematched),
                    not_(queued),
                    BillMatch.review_state == "pending",
                )
            )
            .values(review_state=None)
            .execution_options(synchronize_session=False)
        )
    if changes.restamp:
        session.execute(
            update(BillMatch)
            .where(BillMatch.bill_id.in_(changes.restamp))
            .values(rules_version=loaded.version, rules_hash=loaded.hash, matched_at=now)
            .execution_options(synchronize_session=False)
        )
    if changes.flags:
        session.execute(update(BillMatch), changes.flags)
        session.add_all([ReviewEvent(**e) for e in changes.events])
        session.flush()
        summary.flagged = len(changes.flags)


_RESULT_FIELDS = (
    "relevant", "score", "categories", "direction", "category_scores", "evidence", "input_hash", "uncertain",
    "learned",
)  # fmt: skip


def _same_result(old: Any, machine: dict[str, Any]) -> bool:
    return all(getattr(old, f) == machine[f] for f in _RESULT_FIELDS)


# -- precomputed matches (the match process beside a split crawl) --------------------------------------------

#: The matches precomputed from a stage file sit next to it, ``<stage>.matches`` (JSON lines: a header with
#: the rules hash, then one ``[input hash, result fields, text hash, vector]`` a bill).
PRECOMPUTED_SUFFIX = ".matches"
PRECOMPUTED_FORMAT = 1
_VECTOR_BYTES = DIMENSIONS * 2  # float16, as the embedding cache stores them


def precomputed_path(stage_path: Path) -> Path:
    return stage_path.with_suffix(PRECOMPUTED_SUFFIX)


@dataclass
class Precomputed:
    """Results classified elsewhere (the match process), by input hash, under the rules and model
    ``rules_hash``, with the embedding of each (``embedder``; None: rules alone) for the stored cache."""

    rules_hash: str
    embedder: str | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    vectors: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # input hash -> (text hash, vector)

    def take(self, session: Session, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The results of these input hashes that are here; their embeddings go to the stored cache
        (``text_embeddings``), as classifying the bills in this session would have put them there."""
        found = {ih: self.results[ih] for ih in hashes if ih in self.results}
        if self.embedder and found:
            from db.models_matcher import TextEmbedding

            # one executemany (the cache's own writer sends 500-row VALUES lists, compiled each time)
            vectors = dict(self.vectors[ih] for ih in found)
            rows = [{"model": self.embedder, "text_hash": k, "vector": v} for k, v in vectors.items()]
            session.execute(insert_ignore(session, TextEmbedding.__table__), rows)
        return found

    def update(self, other: Precomputed) -> None:
        self.results.update(other.results)
        self.vectors.update(other.vectors)

    def write(self, path: Path) -> None:
        """Write to ``path`` whole or not at all (a temporary file renamed)."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        head = {"format": PRECOMPUTED_FORMAT, "rules_hash": self.rules_hash, "embedder": self.embedder}
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps({**head, "count": len(self.results)}) + "\n")
            for ih, result in self.results.items():
                key, blob = self.vectors.get(ih, (None, None))
                vector = base64.b64encode(blob).decode("ascii") if blob is not None else None
                f.write(
                    json.dumps([ih, result, key, vector], ensure_ascii=False, separators=(",", ":")) + "\n"
                )
        os.replace(tmp, path)


def precompute(loaded: LoadedRules, inputs: Iterable[tuple[str | None, str | None]]) -> Precomputed:
    """Classify bills by their ``(title, name)`` alone (no document text, no database) as
    :func:`match_bills` would: what the match process hands to the import."""
    items: list[tuple[int, str | None, str | None, str | None]] = [
        (i, title, name, None) for i, (title, name) in enumerate(inputs)
    ]
    results = _classify(loaded, items)
    cache = loaded.hybrid.cache if loaded.hybrid is not None else None
    out = Precomputed(loaded.hash, cache.embedder.name if cache is not None else None)
    for i, title, name, _ in items:
        ih = input_hash(title, name, None)
        if cache is not None:
            key = text_hash(embedding_text(title or "", _distinct_name(title, name)))
            vector = cache.memory.get(key)
            if vector is None:  # (not kept: the import classifies this one)
                continue
            out.vectors[ih] = (key, vector.astype(np.float16).tobytes())
        out.results[ih] = result_fields(results[i])
    return out


def matched_inputs(session: Session, slug: str, rules_hash: str) -> set[str]:
    """The input hashes of a jurisdiction's bills already matched under these rules (the match process
    need not precompute them: the import classifies only new and changed inputs)."""
    return set(
        session.scalars(
            select(BillMatch.input_hash)
            .join(Bill, Bill.id == BillMatch.bill_id)
            .join(Jurisdiction, Jurisdiction.id == Bill.jurisdiction_id)
            .where(Jurisdiction.slug == slug, BillMatch.rules_hash == rules_hash)
        )
    )


_RESULT_KEYS = {"relevant", "score", "categories", "direction", "category_scores", "evidence", "uncertain",
                "learned"}  # fmt: skip


def read_precomputed(paths: Iterable[Path]) -> Precomputed | None:
    """The precomputed matches in these files (those that exist); a file that cannot be read whole, or
    made under other rules than the first, is left out with one line in the log (its bills are classified
    by the import)."""
    merged: Precomputed | None = None
    for path in paths:
        if not path.exists():
            continue
        try:
            part = _read_precomputed_file(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            detail = " ".join(str(exc).split())[:200] or type(exc).__name__
            logger.warning(
                "%s: precomputed matches unreadable (%s); the import classifies them", path.name, detail
            )
            continue
        if merged is None:
            merged = part
        elif (part.rules_hash, part.embedder) != (merged.rules_hash, merged.embedder):
            logger.info(
                "%s: precomputed matches made under other rules; the import classifies them", path.name
            )
        else:
            merged.update(part)
    return merged


def _read_precomputed_file(path: Path) -> Precomputed:
    with path.open(encoding="utf-8") as f:
        head = json.loads(f.readline())
        if head.get("format") != PRECOMPUTED_FORMAT:
            raise ValueError(f"format {head.get('format')!r}")
        embedder = head["embedder"]
        part = Precomputed(str(head["rules_hash"]), str(embedder) if embedder else None)
        lines = 0
        for line in f:
            ih, result, key, vector = json.loads(line)
            if not isinstance(result, dict) or set(result) != _RESULT_KEYS:
                raise ValueError("a result without the fields of a match")
            if part.embedder:
                blob = base64.b64decode(vector, validate=True)
                if not isinstance(key, str) or len(blob) != _VECTOR_BYTES:
                    raise ValueError("a result without its embedding")
                part.vectors[str(ih)] = (key, blob)
            part.results[str(ih)] = result
            lines += 1
    if lines != head["count"]:
        raise ValueError(f"{lines} results of {head['count']}: cut short")
    return part


# -- whole-database runs (`tracker match`) ------------------------------------------------------------------


def match_stored(
    engine: Engine, *, rescore: bool, jurisdiction: str | None = None, rules: LoadedRules | None = None
) -> MatchSummary:
    """`tracker match`: with ``rescore``, every bill (of one jurisdiction); without, the bills that have
    no match yet or whose inputs or rules changed since their last match."""
    from tracker.read_model import check_jurisdiction

    with session_scope(engine) as session:
        loaded = rules or current_rules(session=session)
        q = select(Bill.id).order_by(Bill.id)
        if jurisdiction:
            check_jurisdiction(session, jurisdiction)
            q = q.join(Jurisdiction).where(Jurisdiction.slug == jurisdiction)
        ids = list(session.scalars(q))
        summary = match_bills(session, ids, rescore=rescore, rules=loaded)
        summary.rules = loaded.short
        return summary
