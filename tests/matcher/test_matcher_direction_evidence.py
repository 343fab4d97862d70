"""Direction cues, evidence spans, fields, case and abbreviations, JSON, and the anchor prefilter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.matcher.evaluate import read_labelled

DEVSET = Path(__file__).resolve().parents[2] / "tracker" / "matcher" / "devset"

DIRECTION_CASES = [
    (
        "Resolution authorizing the Sheriff to enter into a 287(g) Memorandum of Agreement with ICE",
        "restricts",
    ),
    ("Resolution directing the Sheriff to terminate the county's 287(g) agreement with ICE", "expands"),
    (
        "Authorize a three-year contract with Flock Safety for automated license plate reader cameras",
        "restricts",
    ),
    (
        "Ordinance amending the Administrative Code to require City departments acquiring surveillance "
        "technology to "
        "submit an approved Surveillance Data Policy to the Board of Supervisors",
        "expands",
    ),
    (
        "Ordinance approving Surveillance Technology Policies for the automated license plate readers of "
        "the parking "
        "agency",
        "neutral",
    ),
    ("2025 TRUTH Act Community Forum", "neutral"),
    ("Ordinance to repeal the limits on honoring civil immigration detainers", "restricts"),
    ("Resolution opposing Senate Bill 54, the California Values Act", "restricts"),
    ("Ordinance to abolish the police gang database", "expands"),
    (
        "Resolution calling upon the New York State Legislature to pass legislation that would increase the "
        "penalties "
        "for possessing or selling marijuana in a Drug Free School Zone",
        "restricts",
    ),
    (
        "Resolution declaring the city a Rule of Law City that supports federal immigration enforcement",
        "restricts",
    ),
    ("Call for Chicago Police Department and Department of Law to establish new gang database", "restricts"),
]


@pytest.mark.parametrize(("title", "direction"), DIRECTION_CASES)
def test_direction(matcher, title, direction):
    result = matcher.classify(title)
    assert result.relevant
    assert result.direction == direction


def test_cue_named_in_evidence(matcher):
    result = matcher.classify("Resolution directing the Sheriff to terminate the county's 287(g) agreement")
    cues = [e for e in result.evidence if e.kind == "cue"]
    assert cues and cues[0].direction == "expands" and cues[0].phrase.lower() == "terminate"


def test_not_relevant_has_no_direction(matcher):
    result = matcher.classify("Zoning Reclassification Map No. 7-J at 2618 N Milwaukee Ave")
    assert (result.relevant, result.direction, result.categories, result.score) == (False, None, [], 0.0)


@pytest.mark.parametrize(
    "title",
    [
        "Resolution urging Congress to defund ICE and halt deportations",
        "RESOLUTION URGING CONGRESS NOT TO ALLOCATE ADDITIONAL FUNDING FOR THE U.S. IMMIGRATION AND CUSTOMS "
        "ENFORCEMENT (ICE)",
        "Execute Memorandum of Agrmnt - United States ICE - Dept of Homeland Security DHS",
        "Approve the 287 (g) jail enforcement model agreement",
        "Approve the 287g task force MOA",
        "Agreement with the U.S. Marshals Service and Immigration and Customs Enforcement for housing of "
        "federal detainees",
    ],
)
def test_case_punctuation_abbreviations(matcher, title):
    assert matcher.classify(title).relevant, title


def test_evidence_spans_slice_the_field(matcher):
    title = "Resolution prohibiting the use of county property for civil immigration enforcement"
    name = "ICE-free zones on city property"
    text = "The City shall not honor civil immigration detainers. Staff shall report on TRUTH Act requests."
    result = matcher.classify(title, name=name, text=text)
    fields = {"title": title, "name": name, "text": text}
    assert {e.field for e in result.evidence} == {"title", "name", "text"}
    for e in result.evidence:
        assert fields[e.field][e.start : e.end] == e.phrase
    phrases = {(e.field, e.phrase) for e in result.evidence if e.kind == "term"}
    assert ("text", "civil immigration detainers") in phrases
    assert ("name", "ICE-free zones") in phrases


def test_text_field_alone_can_make_an_opaque_title_relevant(matcher):
    opaque = "25G - AGMT - INMATE HOUSING"
    assert not matcher.classify(opaque).relevant
    body = (
        "Authorize a five-year agreement amendment with U.S. Immigration and Customs Enforcement (ICE) for "
        "jail "
        "housing services to include a 128 bed guarantee"
    )
    result = matcher.classify(opaque, text=body)
    assert result.relevant and result.categories[0] == "detention_contracts"


def test_all_caps_ice_alone_is_weak(matcher):
    # in an ALL-CAPS title "ICE" could be anything: alone it is not enough
    assert not matcher.classify("ICE UPDATE AND DISCUSSION").relevant
    assert matcher.classify("Update on ICE activity in the city").score > 0


def test_to_dict_is_json(matcher):
    result = matcher.classify("Lease of Automated License Plate Readers (ALPR) from Flock Group, Inc.")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["relevant"] is True
    assert data["categories"] == ["surveillance_technology"]
    assert data["direction"] == "restricts"
    assert {"kind", "rule", "phrase", "field", "start", "end"} <= set(data["evidence"][0])


def test_result_is_frozen(matcher):
    result = matcher.classify("Sanctuary city resolution")
    with pytest.raises(AttributeError):
        result.relevant = False  # type: ignore[misc]


def test_classify_many_matches_classify(matcher):
    titles = [i.title for i in read_labelled(DEVSET / "dev.csv")]
    titles += titles[:5]  # duplicates take the cached path
    many = matcher.classify_many(titles)
    assert [r.to_dict() for r in many] == [matcher.classify(t).to_dict() for t in titles]


def test_anchor_prefilter_never_hides_a_match(matcher, rules):
    """Every pattern that matches a title must be among the candidates the anchor index offers for it."""
    from tracker.matcher.engine import _prefix_keys

    titles = [i.title for name in ("dev.csv", "holdout.csv") for i in read_labelled(DEVSET / name)]
    titles += [
        "nonlocal law enforcement",
        "SB54 and S.B. 54",
        "reappropriation from the police",
        "I-247 forms",
    ]
    indexes = [
        (matcher._term_index, [p for c in rules.categories for t in c.terms for p in t.patterns]),
        (matcher._cue_index, [p for c in rules.cues for p in c.patterns]),
        (matcher._neg_index, [p for n in rules.negatives for p in n.patterns]),
    ]
    for title in titles:
        low = title.lower()
        keys = _prefix_keys(low, matcher._key_lengths)
        for index, patterns in indexes:
            offered = {id(p) for p, _ in index.candidates(low, keys)}
            for p in patterns:
                if p.regex.search(title):
                    assert id(p) in offered, (p.source, title)
