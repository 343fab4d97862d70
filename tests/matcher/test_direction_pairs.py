"""Direction from verb and object on real titles in opposite pairs, and on plain-language probes."""

from __future__ import annotations

import pytest

from tracker.matcher import Matcher, load_rules
from tracker.matcher.direction import read_direction
from tracker.matcher.hybrid import HybridMatcher
from tracker.matcher.learned import load_shipped_model

# Real titles (tracker/matcher/devset/*.csv), with their labelled direction: one of each pair enables an
# enforcement tool or a protection, the other limits it.
PAIRS = [
    (  # immigration holds / detainers
        ("Consideration and approval of the implementation of the Warrant Service Officer Program under the "
         "287(g) Agreement with the U.S. Immigration and Customs Enforcement (ICE).", "restricts"),
        ("AN ORDINANCE ending the honoring of civil immigration hold requests from the United States "
         "Immigration and Customs Enforcement for individuals in the custody of the department of adult and "
         "juvenile detention", "expands"),
    ),
    (  # detainers: limiting them expands; enabling an enforcement tool restricts
        ("Resolution 535-11: Policy Restricting Use of Local Funds to Respond to Civil Immigration Detainers",
         "expands"),
        ("Lease of Automated License Plate Readers (ALPR) from Flock Group, Inc.", "restricts"),
    ),
]  # fmt: skip

PROBES = [
    ("require cooperation with detainers", "restricts"),
    ("prohibit honoring detainers", "expands"),
    ("prohibit facial recognition", "expands"),
    ("repeal the surveillance oversight ordinance", "restricts"),
    ("dissolving a police review board", "restricts"),
    ("establishing cash bail", "restricts"),
    ("eliminating legal-defense funding", "restricts"),
    ("An Ordinance to Create the Independent Community Police Oversight Commission", "expands"),
]


@pytest.fixture(scope="module")
def hybrid():
    return HybridMatcher(Matcher(load_rules()), load_shipped_model())


@pytest.mark.parametrize("pair", PAIRS, ids=["287g-vs-ending-holds", "limit-detainers-vs-alpr-lease"])
def test_real_opposite_pairs(pair, hybrid):
    assert {d for _, d in pair} == {"expands", "restricts"}
    for title, direction in pair:
        cue = read_direction(title)
        assert cue is not None and cue.direction == direction, (title, cue)
        result = hybrid.classify(title)
        assert result.relevant and result.direction == direction, (title, result.learned)


@pytest.mark.parametrize(("text", "direction"), PROBES)
def test_plain_language_probes(text, direction):
    cue = read_direction(text)
    assert cue is not None and cue.direction == direction, cue


def test_how_a_county_will_honor_holds_is_not_read_as_enabling():
    title = ("AN ORDINANCE related to how the county will honor civil immigration hold requests from the "
             "United States Immigration and Customs Enforcement")  # fmt: skip
    assert read_direction(title) is None  # labelled expands: the verb alone does not say which way
