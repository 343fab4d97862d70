"""What the matcher's signals mean, in words: the rules' cue and hard-negative names as phrases a person
reads, each evidence item as a sentence, and *why a match has its direction* (the web pages, the JSON API,
``tracker export`` and ``tracker review show`` all say it the same way).

Internal codes (``end_school_police``, ``neg_ice_other``, ``gang_databases``) never reach a reader: a code
without a label here is shown with its underscores as spaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.labels import category_label, direction_label

#: The direction cues of tracker/matcher/rules.toml, in words ("a cue that ...").
CUE_LABELS: dict[str, str] = {
    "limits_and_prohibitions": "limits or prohibits cooperation with enforcement",
    "create_a_protection": "creates or expands a protection",
    "withdraw_or_terminate": "ends or withdraws from a program or contract",
    "council_oversight_of_task_forces": "puts task forces under council oversight",
    "surveillance_oversight_law": "regulates or oversees surveillance",
    "surveillance_use_policy_approval": "approves a surveillance use policy",
    "acquire_expand_renew": "buys, expands or renews surveillance or detention",
    "new_school_police_program": "creates or expands police in schools or a gang database",
    "end_school_police": "ends or reduces police in schools or a gang database",
    "repeal_of_protections": "repeals protections",
    "repeal_of_penalties": "repeals or reduces penalties",
    "more_criminalization": "adds criminal penalties",
    "opposing_state_protections": "opposes state protections",
    "reports_forums_presentations": "a report, forum or presentation",
}

#: The hard negatives of the rules, in words (what the phrase means instead).
NEGATIVE_LABELS: dict[str, str] = {
    "neg_ice_other": "ice the frozen kind (rinks, snow, ice cream), not the agency",
    "neg_sanctuary_other": "a sanctuary of another kind (wildlife, marine, church, a place name)",
    "neg_police_routine": "routine police operations (vehicles, pensions, uniforms, renewals)",
}

#: What each colour of the evidence highlights means (the legend on the review card and bill page).
EVIDENCE_LEGEND: tuple[tuple[str, str, str], ...] = (
    ("term", "yellow", "a phrase of a category the rules matched"),
    ("cue", "blue, underlined", "a direction cue: a word that decides expands or restricts"),
    ("negative", "red", "a hard negative: same words, another meaning (it counts against the match)"),
)

_FIELD_WORDS = {"title": "the title", "name": "the name", "text": "the text"}


def _words(code: str | None) -> str:
    return (code or "").removeprefix("neg_").replace("_", " ").strip()


def cue_label(name: str | None) -> str:
    return CUE_LABELS.get(name or "", _words(name))


def negative_label(code: str | None) -> str:
    return NEGATIVE_LABELS.get(code or "", _words(code))


def evidence_kind_label(kind: str | None) -> str:
    return {"term": "category phrase", "cue": "direction cue", "negative": "hard negative"}.get(
        kind or "", _words(kind)
    )


def evidence_what(e: Mapping[str, Any]) -> str:
    """One evidence item in words: ``direction cue: ends or reduces police in schools ... → expands
    sanctuary`` (never the rule's code)."""
    kind = e.get("kind")
    if kind == "cue":
        what = f"direction cue: {cue_label(e.get('rule'))}"
    elif kind == "negative":
        what = f"hard negative: {negative_label(e.get('rule'))}"
    else:
        what = f"category phrase: {category_label(str(e.get('rule') or ''))}"
    if e.get("direction"):
        what += f" → {direction_label(e['direction'])}"
    return what


def direction_reason(
    *,
    relevant: bool | None,
    direction: str | None,
    categories: list[str] | None,
    learned: Any = None,
    evidence: list[Any] | None = None,
    editor_direction: str | None = None,
    decided_by: str | None = None,
    machine_direction: str | None = None,
) -> str | None:
    """Why a match has its direction, in one sentence (None when it has no direction).

    The editor's word when an editor set the direction; else the learned layer's reason when it gave one;
    else, for a rules-only match, the cue that decided it (the first cue of that direction, title first),
    or the category's usual direction."""
    if not relevant or not direction:
        return None
    if editor_direction and editor_direction == direction and editor_direction != machine_direction:
        return f"set by the editor{' ' + decided_by if decided_by else ''}"
    if isinstance(learned, Mapping) and learned.get("direction_reason") and direction == machine_direction:
        return str(learned["direction_reason"])
    order = {"title": 0, "name": 1, "text": 2}
    cues = [
        e
        for e in evidence or []
        if isinstance(e, Mapping) and e.get("kind") == "cue" and e.get("direction") == direction
    ]
    cues.sort(key=lambda e: (order.get(str(e.get("field")), 3), e.get("start") or 0))
    if cues:
        cue = cues[0]
        where = _FIELD_WORDS.get(str(cue.get("field")), "the bill")
        return f"“{cue.get('phrase')}” in {where}: {cue_label(cue.get('rule'))}"
    if categories:
        return f"the usual direction of {category_label(categories[0])} measures"
    return None


def match_direction_reason(match: Any) -> str | None:
    """:func:`direction_reason` of a ``BillMatch`` row (None when there is no match)."""
    if match is None:
        return None
    return direction_reason(
        relevant=match.effective_relevant,
        direction=match.effective_direction,
        categories=list(match.effective_categories or []),
        learned=match.learned,
        evidence=list(match.evidence or []),
        editor_direction=match.editor_direction if match.review_state == "confirmed" else None,
        decided_by=match.decided_by,
        machine_direction=match.direction,
    )


#: The evidence kinds a text marks, the strongest first (overlapping spans make one mark of the strongest).
EVIDENCE_KIND_RANK = {"term": 0, "cue": 1, "negative": 2}


def evidence_spans(text: str, evidence: Any, field: str) -> list[tuple[int, int, str]]:
    """Where the evidence of ``field`` stands in ``text``, in order, as (start, end, kind): the one rule of
    the terminal's and the web's marks. Overlapping spans make one span of the strongest kind; spans that no
    longer match the text (or are empty) are left out."""
    spans = []
    for e in evidence or []:
        if not isinstance(e, dict) or e.get("field") != field or e.get("kind") not in EVIDENCE_KIND_RANK:
            continue
        start, end = e.get("start"), e.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or text[start:end] != e.get("phrase"):
            continue
        if start < end:
            spans.append((start, end, e["kind"]))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind = merged[-1]
            strongest = kind if EVIDENCE_KIND_RANK[kind] < EVIDENCE_KIND_RANK[last_kind] else last_kind
            merged[-1] = (last_start, max(last_end, end), strongest)
        else:
            merged.append((start, end, kind))
    return merged
