"""The rules engine: title (and optionally name and full text) in, :class:`MatchResult` with evidence out.

How a text is scored (the numbers live in ``rules.toml``, section ``[settings]``):

1. every term pattern of every category is searched in each field; a term whose ``context`` does not also
   match in that field is dropped;
2. hard negatives run next: ``suppress`` removes term matches that overlap the negative's match (the "ice"
   of "ice rink"), ``veto`` removes a whole category from that field (a heritage-month proclamation) unless
   one of the negative's ``unless`` patterns also matches there;
3. a category marked ``requires_cue`` keeps its matches only when a direction cue stands near them (a bare
   school-resource-officer agreement is routine; a *new* SRO program is not);
4. each surviving match weighs ``term weight x field weight`` (x ``caps_ambiguous_factor`` for terms such
   as "ICE" in an ALL-CAPS field); a category's score is the noisy-or of its matches, the overall score the
   noisy-or of the category scores; relevant means ``score >= threshold``;
5. the direction is taken from the top category: the nearest applicable cue within ``proximity``
   characters of one of its matches (highest ``priority`` first), else the direction a matched term
   declares, else the category's ``default_direction``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.matcher.rules import FIELDS, Cue, Negative, Pattern, Rules, Term


@dataclass(frozen=True)
class Evidence:
    """Why a result is what it is: one matched phrase, where it is, and which rule it belongs to.

    ``kind`` is ``term`` (``rule`` is a category code), ``cue`` (``rule`` is the cue's name, ``direction``
    what it signals) or ``negative`` (``rule`` is the negative's code). ``start``/``end`` are character
    offsets in the field, so ``field_text[start:end] == phrase``.
    """

    kind: str
    rule: str
    phrase: str
    field: str
    start: int
    end: int
    weight: float | None = None
    direction: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "rule": self.rule,
            "phrase": self.phrase,
            "field": self.field,
            "start": self.start,
            "end": self.end,
        }
        if self.weight is not None:
            out["weight"] = self.weight
        if self.direction is not None:
            out["direction"] = self.direction
        return out


@dataclass(frozen=True)
class MatchResult:
    relevant: bool
    score: float
    categories: list[str]
    direction: str | None
    evidence: list[Evidence] = field(default_factory=list)
    category_scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "relevant": self.relevant,
            "score": self.score,
            "categories": list(self.categories),
            "direction": self.direction,
            "category_scores": dict(self.category_scores),
            "evidence": [e.to_dict() for e in self.evidence],
        }


_NOT_RELEVANT = MatchResult(relevant=False, score=0.0, categories=[], direction=None)

#: The most characters of each field the matcher reads; the rest is ignored. Titles and names are capped at
#: 10,000 characters at ingest already (tracker/sanitize.py); the document text is built from at most
#: 200,000 characters (tracker/matcher/document_text.py, MATCH_CHARS_PER_BILL) plus the separators between
#: documents.
#: Every step of the engine is linear (or n log n) in what it reads, so these bound the work per bill.
FIELD_LIMITS: dict[str, int] = {"title": 10_000, "name": 10_000, "text": 250_000}


def _capped(field_name: str, value: str) -> str:
    limit = FIELD_LIMITS[field_name]
    # a DocumentText keeps its document offsets when it is within the limit (the usual case)
    return value if len(value) <= limit else str(value)[:limit]


@dataclass
class _Hit:
    term: Term
    field: str
    start: int
    end: int
    phrase: str
    weight: float


@dataclass
class _CueHit:
    cue: Cue
    field: str
    start: int
    end: int
    phrase: str


class Matcher:
    """Classify council titles with a compiled :class:`~tracker.matcher.rules.Rules`. Thread-safe: it
    holds no mutable state after construction."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._order = {c.code: i for i, c in enumerate(rules.categories)}
        self._defaults = {c.code: c.default_direction for c in rules.categories}
        self._requires_cue = {c.code for c in rules.categories if c.requires_cue}
        self._term_index = _AnchorIndex(
            [(p, t) for c in rules.categories for t in c.terms for p in t.patterns]
        )
        self._cue_index = _AnchorIndex([(p, c) for c in rules.cues for p in c.patterns])
        self._neg_index = _AnchorIndex([(p, n) for n in rules.negatives for p in n.patterns])
        self._key_lengths = tuple(
            sorted({len(k) for idx in (self._term_index, self._cue_index, self._neg_index) for k in idx.keys})
        )

    # ------------------------------------------------------------------------------------------ API
    def classify(self, title: str, name: str | None = None, text: str | None = None) -> MatchResult:
        fields = [("title", _capped("title", title or ""))]
        if name:
            fields.append(("name", _capped("name", name)))
        if text:
            fields.append(("text", _capped("text", text)))
        return self._classify(fields)

    def classify_many(self, titles: Iterable[str]) -> list[MatchResult]:
        """Classify many titles; identical titles are classified once (results are immutable)."""
        cache: dict[str, MatchResult] = {}
        out = []
        for title in titles:
            result = cache.get(title)
            if result is None:
                result = self._classify([("title", _capped("title", title or ""))])
                cache[title] = result
            out.append(result)
        return out

    # ------------------------------------------------------------------------------------- internals
    def _classify(self, fields: Sequence[tuple[str, str]]) -> MatchResult:
        settings = self.rules.settings
        hits: list[_Hit] = []
        cue_hits: list[_CueHit] = []
        neg_evidence: list[Evidence] = []
        for fname, ftext in fields:
            if not ftext:
                continue
            low = ftext.lower()
            keys = _prefix_keys(low, self._key_lengths)
            candidates = self._term_index.candidates(low, keys)
            if not candidates:
                continue
            fhits = self._term_hits(candidates, fname, ftext)
            if not fhits:
                continue
            fhits = _drop_contained(fhits)
            fhits = self._apply_negatives(fname, ftext, low, keys, fhits, neg_evidence)
            if not fhits:
                continue
            fcues = [
                _CueHit(cue, fname, m.start(), m.end(), m.group(0))
                for pattern, cue in self._cue_index.candidates(low, keys)
                for m in pattern.regex.finditer(ftext)
            ]
            fhits = self._require_cues(fhits, fcues)
            caps = _is_all_caps(ftext)
            fw = settings.field_weights.get(fname, 1.0)
            for h in fhits:
                h.weight = (
                    h.term.weight
                    * fw
                    * (settings.caps_ambiguous_factor if caps and h.term.caps_ambiguous else 1.0)
                )
            hits.extend(fhits)
            cue_hits.extend(fcues)
        if not hits and not neg_evidence:
            return _NOT_RELEVANT

        # category scores: noisy-or of distinct (term, phrase) matches
        per_cat: dict[str, dict[tuple[int, str], float]] = {}
        for h in hits:
            key = (id(h.term), h.phrase.lower())
            slot = per_cat.setdefault(h.term.category, {})
            slot[key] = max(slot.get(key, 0.0), h.weight)
        cat_scores = {code: _noisy_or(ws.values()) for code, ws in per_cat.items()}
        score = round(_noisy_or(cat_scores.values()), 4)
        ranked = sorted(cat_scores, key=lambda c: (-cat_scores[c], self._order[c]))
        relevant = score >= settings.threshold and bool(ranked)
        categories = [c for c in ranked if cat_scores[c] >= settings.category_min] if relevant else []
        if relevant and not categories:
            categories = ranked[:1]

        direction = None
        used_cues: list[_CueHit] = []
        if relevant:
            direction, used_cues = self._direction(categories[0], hits, cue_hits)

        rank = {c: i for i, c in enumerate(ranked)}
        evidence = [
            Evidence(
                "term",
                h.term.category,
                h.phrase,
                h.field,
                h.start,
                h.end,
                round(h.weight, 4),
                h.term.direction,
            )
            for h in sorted(hits, key=lambda h: (rank[h.term.category], FIELDS.index(h.field), h.start))
        ]
        evidence += [
            Evidence("cue", c.cue.name, c.phrase, c.field, c.start, c.end, None, c.cue.direction)
            for c in used_cues
        ]
        evidence += neg_evidence
        return MatchResult(
            relevant=relevant,
            score=score,
            categories=categories,
            direction=direction,
            evidence=evidence,
            category_scores={c: round(cat_scores[c], 4) for c in ranked},
        )

    def _term_hits(self, candidates: list[tuple[Pattern, Term]], fname: str, ftext: str) -> list[_Hit]:
        out = []
        context_ok: dict[int, bool] = {}
        for pattern, term in candidates:
            if pattern.regex.search(ftext) is None:  # the usual case: cheaper than building an iterator
                continue
            for m in pattern.regex.finditer(ftext):
                if term.context:
                    ok = context_ok.get(id(term))
                    if ok is None:
                        ok = any(c.regex.search(ftext) for c in term.context)
                        context_ok[id(term)] = ok
                    if not ok:
                        break
                out.append(_Hit(term, fname, m.start(), m.end(), m.group(0), 0.0))
        return out

    def _apply_negatives(
        self, fname: str, ftext: str, low: str, keys: set[str], hits: list[_Hit], evidence: list[Evidence]
    ) -> list[_Hit]:
        candidates = self._neg_index.candidates(low, keys)
        if not candidates:
            return hits
        unless_cache: dict[int, bool] = {}
        for pattern, neg in candidates:
            # A hit goes when any match of any negative negates it, so the matches of one pattern are
            # collected first and the hits filtered once against all of them (linear, not matches x hits).
            spans: list[tuple[int, int]] = []
            for m in pattern.regex.finditer(ftext):
                blocked = unless_cache.get(id(neg))
                if blocked is None:
                    blocked = any(u.regex.search(ftext) for u in neg.unless)
                    unless_cache[id(neg)] = blocked
                if blocked:
                    break
                evidence.append(Evidence("negative", neg.code, m.group(0), fname, m.start(), m.end()))
                spans.append((m.start(), m.end()))
            if spans and hits:
                hits = _without_negated(neg, spans, hits)
        return hits

    def _require_cues(self, hits: list[_Hit], cues: list[_CueHit]) -> list[_Hit]:
        if not self._requires_cue:
            return hits
        prox = self.rules.settings.proximity
        kept = []
        near: dict[str, _Spans] = {}
        for h in hits:
            category = h.term.category
            if category not in self._requires_cue:
                kept.append(h)
                continue
            spans = near.get(category)
            if spans is None:
                spans = near[category] = _Spans([(c.start, c.end) for c in cues if _applies(c.cue, category)])
            if spans.distance(h.start, h.end) <= prox:
                kept.append(h)
        return kept

    def _direction(self, category: str, hits: list[_Hit], cues: list[_CueHit]) -> tuple[str, list[_CueHit]]:
        prox = self.rules.settings.proximity
        best: tuple[float, float] | None = None
        best_dir: str | None = None
        near: list[_CueHit] = []
        cat_hits = [h for h in hits if h.term.category == category]
        by_field: dict[str, _Spans] = {}
        for c in cues:
            if not _applies(c.cue, category):
                continue
            spans = by_field.get(c.field)
            if spans is None:
                spans = by_field[c.field] = _Spans([(h.start, h.end) for h in cat_hits if h.field == c.field])
            dist = spans.distance(c.start, c.end)
            if dist > prox:  # also when the field has no match of the category (infinite distance)
                continue
            near.append(c)
            rank = (c.cue.priority, -dist)
            if best is None or rank > best:
                best, best_dir = rank, c.cue.direction
        for h in cat_hits:
            if h.term.direction is None:
                continue
            rank = (h.term.direction_priority, 0)
            if best is None or rank > best:
                best, best_dir = rank, h.term.direction
        if best_dir is None:
            best_dir = self._defaults[category]
        # show the deciding cue first
        near.sort(key=lambda c: c.cue.direction != best_dir)
        return best_dir, near


class _AnchorIndex:
    """Patterns grouped by the literal anchors any of their matches must contain.

    Most anchors start a word (the pattern has ``\\b`` before them); those are filed under the first one to
    four letters of that word and found through the word prefixes of the text (:func:`_prefix_keys`, one
    set per field shared by all indexes), so a title costs a tokenization and a set intersection instead of
    one substring test per anchor. The few other anchors fall back to a substring test.
    """

    def __init__(self, items: list[tuple[Pattern, Any]]) -> None:
        self._always: list[tuple[Pattern, Any]] = []
        by_key: dict[str, list[tuple[str, int, tuple[Pattern, Any]]]] = {}
        substr: list[tuple[str, int, tuple[Pattern, Any]]] = []
        for n, (pattern, owner) in enumerate(items):
            entry = (pattern, owner)
            if not pattern.anchors:
                self._always.append(entry)
            for text, starts_word in pattern.anchors:
                first = _TOKEN.match(text) if starts_word else None
                if first is None or len(first.group(0)) < 2:
                    substr.append((text, n, entry))
                else:
                    by_key.setdefault(first.group(0)[:_KEY_LEN], []).append((text, n, entry))
        self._by_key = by_key
        self.keys = frozenset(by_key)
        self._substr = tuple(substr)

    def candidates(self, low: str, keys: frozenset[str] | set[str]) -> list[tuple[Pattern, Any]]:
        found = list(self._always)
        seen: set[int] = set()
        for key in self.keys & keys:
            for text, n, entry in self._by_key[key]:
                if n not in seen and text in low:
                    seen.add(n)
                    found.append(entry)
        for text, n, entry in self._substr:
            if n not in seen and text in low:
                seen.add(n)
                found.append(entry)
        return found


_TOKEN = re.compile(r"[^\W_]+")
_KEY_LEN = 4


def _prefix_keys(low: str, lengths: tuple[int, ...]) -> set[str]:
    """The first ``n`` characters (for each ``n`` in ``lengths``) of every word of ``low``: what word-start
    anchors are filed under."""
    tokens = _TOKEN.findall(low)
    if len(lengths) == 1:
        return {tok[: lengths[0]] for tok in tokens}
    return {tok[:n] for tok in tokens for n in lengths}


def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
    """Within one category, a match lying inside a longer match adds nothing ("sanctuary" in "sanctuary
    city"): keep the longer one only."""
    if len(hits) < 2:
        return hits
    # h lies inside a longer o of its category when o starts before h and ends at or after it, or starts
    # with h and ends after it. One sweep per category in start order: O(n log n), not n x n.
    inside: set[int] = set()
    by_cat: dict[str, list[int]] = {}
    for i, h in enumerate(hits):
        by_cat.setdefault(h.term.category, []).append(i)
    for members in by_cat.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: hits[i].start)
        before_end = -1  # the furthest end of the matches starting before the current start
        k = 0
        while k < len(members):
            start = hits[members[k]].start
            group = []
            while k < len(members) and hits[members[k]].start == start:
                group.append(members[k])
                k += 1
            group_end = max(hits[i].end for i in group)
            for i in group:
                end = hits[i].end
                if before_end >= end or group_end > end:
                    inside.add(i)
            before_end = max(before_end, group_end)
    return [h for i, h in enumerate(hits) if i not in inside]


class _Spans:
    """Character spans, for the distance from a span to the nearest of them in O(log n)."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self._starts = [s for s, _ in spans]
        self._reach: list[int] = []  # the furthest end among the spans up to each one (in start order)
        furthest = -1
        for _, e in spans:
            furthest = max(furthest, e)
            self._reach.append(furthest)
        self._ends = sorted(e for _, e in spans)

    def distance(self, start: int, end: int) -> float:
        """min over the spans of :func:`_distance` to ``(start, end)``; infinite when there are none."""
        if not self._starts:
            return float("inf")
        best = float("inf")
        # spans that start before ``end`` and end after ``start`` overlap it
        i = bisect_left(self._starts, end)
        if i and self._reach[i - 1] > start:
            return 0
        if i < len(self._starts):  # the first span starting at or after ``end``
            best = self._starts[i] - end
        j = bisect_right(self._ends, start)
        if j:  # the last span ending at or before ``start``
            best = min(best, start - self._ends[j - 1])
        return best


def _without_negated(neg: Negative, spans: list[tuple[int, int]], hits: list[_Hit]) -> list[_Hit]:
    """``hits`` without those one of the negative's matches (``spans``, in text order) negates."""
    concerned = [not neg.categories or h.term.category in neg.categories for h in hits]
    if neg.action == "veto":
        return [h for h, c in zip(hits, concerned, strict=True) if not c]
    # suppress: overlapping spans only. finditer's matches do not overlap, so their ends are in order too.
    ends = [e for _, e in spans]
    kept = []
    for h, c in zip(hits, concerned, strict=True):
        if c:
            i = bisect_right(ends, h.start)  # the first match ending after the hit starts
            if i < len(spans) and spans[i][0] < h.end:
                continue
        kept.append(h)
    return kept


def _applies(cue: Cue, category: str) -> bool:
    if category in cue.exclude:
        return False
    return not cue.categories or category in cue.categories


def _distance(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    if a_end <= b_start:
        return b_start - a_end
    if b_end <= a_start:
        return a_start - b_end
    return 0


def _noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def _is_all_caps(text: str) -> bool:
    upper = sum(map(str.isupper, text))
    lower = sum(map(str.islower, text))
    return upper + lower >= 8 and upper >= 0.85 * (upper + lower)
