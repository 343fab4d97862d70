"""Raw portal status and action names mapped to the tracker's normalized stages and action classes.

Portals name statuses freely ("Adopted", "Held in Committee", "Placed on File", "Signed by the Mayor"...).
A normalized *stage* lets the rest of the tracker reason about them: introduced, in_committee, passed,
enacted (enacted or adopted), vetoed, failed, withdrawn, filed, other.

Lookup order: the jurisdiction's own ``stages`` table in tracker.toml (exact name), then the exact default
table below, then the ordered keyword rules, then ``other``. The rules are ordered so that the more
specific wording wins ("Failed to Pass" is failed, "Recommended to Pass" is in committee).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

#: The tracker's normalized stages (a jurisdiction's ``stages`` table maps raw status names to these).
STAGES = (
    "introduced",
    "in_committee",
    "passed",
    "enacted",
    "vetoed",
    "failed",
    "withdrawn",
    "filed",
    "other",
)
Stage = Literal[
    "introduced", "in_committee", "passed", "enacted", "vetoed", "failed", "withdrawn", "filed", "other"
]

DEFAULT_STAGES: dict[str, str] = {
    "introduced": "introduced",
    "introduced and referred": "in_committee",
    "agenda ready": "introduced",
    "draft": "introduced",
    "pending": "introduced",
    "new business": "introduced",
    "first reading": "introduced",
    "in committee": "in_committee",
    "referred": "in_committee",
    "committee": "in_committee",
    "held in committee": "in_committee",
    "pending committee": "in_committee",
    "laid over": "in_committee",
    "tabled": "in_committee",
    "continued": "in_committee",
    "deferred": "in_committee",
    "passed": "passed",
    "passed as amended": "passed",
    "approved": "enacted",
    "adopted": "enacted",
    "adopted as amended": "enacted",
    "enacted": "enacted",
    "signed": "enacted",
    "signed by mayor": "enacted",
    "signed by the mayor": "enacted",
    "executed": "enacted",
    "became law": "enacted",
    "vetoed": "vetoed",
    "failed": "failed",
    "defeated": "failed",
    "not adopted": "failed",
    "withdrawn": "withdrawn",
    "filed": "filed",
    "placed on file": "filed",
    "received and filed": "filed",
    "expired": "filed",
}

# (pattern, stage), first match wins.
_STAGE_RULES: tuple[tuple[str, str], ...] = (
    (r"overrid", "enacted"),
    (r"\bveto", "vetoed"),
    (r"withdr[ae]w", "withdrawn"),
    (r"\b(fail|defeat|reject|lost|died)", "failed"),
    (r"\bnot (pass|adopt|approv)", "failed"),
    (
        r"recommend|committee|referr|\bheld\b|assigned|laid over|tabled|continued|deferr|hearing",
        "in_committee",
    ),
    (r"adopt|enact|signed|approv|ordain|became law|effective|executed|chaptered", "enacted"),
    (r"\bpass", "passed"),
    (r"\bfiled?\b|placed on file|expired|received", "filed"),
    (r"introduc|pending|draft|agenda|reading|\bnew\b|submitted|sponsor", "introduced"),
)

ACTION_CLASSES = (
    "introduction",
    "referral",
    "committee_passage",
    "committee_failure",
    "amendment",
    "passage",
    "adoption",
    "failure",
    "executive_signature",
    "veto",
    "veto_override",
    "withdrawal",
    "filing",
    "deferral",
    "reading",
    "other",
)

_ACTION_RULES: tuple[tuple[str, str], ...] = (
    (r"overrid", "veto_override"),
    (r"\bveto", "veto"),
    (r"withdr[ae]w", "withdrawal"),
    (r"recommend(ed)? (to|for|do) (pass|adopt|approv)|do pass|reported favorabl", "committee_passage"),
    (r"recommend(ed)? (not|against|to fail|do not)|reported unfavorabl", "committee_failure"),
    (r"\b(fail|defeat|reject|lost|not (pass|adopt|approv))", "failure"),
    (r"signed|approved by (the )?mayor|executive", "executive_signature"),
    (r"amend", "amendment"),
    (r"introduc", "introduction"),
    (r"refer|assigned", "referral"),
    (r"adopt|approv|enact|ordain", "adoption"),
    (r"\bpass", "passage"),
    (r"\bfile|placed on file|received", "filing"),
    (r"held|laid over|table|continu|defer|postpone", "deferral"),
    (r"reading|read\b", "reading"),
)


@lru_cache(maxsize=1)
def _compiled_stage_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), s) for p, s in _STAGE_RULES)


@lru_cache(maxsize=1)
def _compiled_action_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), s) for p, s in _ACTION_RULES)


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def stage_for(status: str | None, overrides: Mapping[str, str] | None = None) -> str:
    """The normalized stage of a raw status name."""
    if not status or not status.strip():
        return "other"
    if overrides:
        for raw, stage in overrides.items():
            if _key(raw) == _key(status):
                return stage
    key = _key(status)
    if key in DEFAULT_STAGES:
        return DEFAULT_STAGES[key]
    for pattern, stage in _compiled_stage_rules():
        if pattern.search(key):
            return stage
    return "other"


def classify_action(name: str | None, text: str | None = None) -> str:
    """A normalized class for a history row, from its action name (and text when the name is empty)."""
    source = _key(name or "") or _key(text or "")
    if not source:
        return "other"
    for pattern, cls in _compiled_action_rules():
        if pattern.search(source):
            return cls
    return "other"
