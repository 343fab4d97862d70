"""Matching council measures against the sanctuary taxonomy: rules as data, evidence for every
match.

>>> from tracker.matcher import load_rules, Matcher
>>> m = Matcher(load_rules())
>>> r = m.classify("Resolution authorizing a 287(g) Memorandum of Agreement with ICE")
>>> r.relevant, r.categories[0], r.direction
(True, 'federal_enforcement_partnerships', 'restricts')
"""

from tracker.matcher.engine import Evidence, Matcher, MatchResult
from tracker.matcher.rules import CATEGORY_CODES, DEFAULT_RULES_PATH, DIRECTIONS, Rules, load_rules

__all__ = [
    "CATEGORY_CODES",
    "DEFAULT_RULES_PATH",
    "DIRECTIONS",
    "Evidence",
    "MatchResult",
    "Matcher",
    "Rules",
    "load_rules",
]
