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
    (  # surveillance: leasing license plate readers vs prohibiting face recognition
        # dev.csv (Lake Elsinore, CA: https://lookout.lake-elsinore.org/WebLink/DocView.aspx?dbid=0&id=371851&repo=CityDMS)
        ("Lease of Automated License Plate Readers (ALPR) from Flock Group, Inc.", "restricts"),
        # Berkeley, CA council agenda item, quoted at
        # https://occupyoakland.org/event/berkeley-city-council-public-safety-cmte-facial-recognition-ban
        ("Adopt an Ordinance Amending Berkeley Municipal Code Chapter 2.99 to Prohibit City Use of Face "
         "Recognition Technology", "expands"),
    ),
    (  # 287(g): implementing an agreement vs ending the program
        # dev.csv (Winter Springs, FL)
        ("Consideration and approval of the implementation of the Warrant Service Officer Program under the "
         "287(g) Agreement with the U.S. Immigration and Customs Enforcement (ICE).", "restricts"),
        # New York City Council, Res 0164-2010:
        # http://legistar.council.nyc.gov/LegislationDetail.aspx?ID=657948&GUID=53A97C32-C6A1-4405-A143-38BAD0F98683
        ("Resolution urging President Obama to put an end to the 287(g) program, an immigration enforcement "
         "program that is causing an increase in racial profiling and civil rights abuses in localities "
         "throughout the United States.", "expands"),
    ),
]  # fmt: skip
PAIR_IDS = ["287g-vs-ending-holds", "limit-detainers-vs-alpr-lease", "alpr-lease-vs-face-recognition-ban",
            "287g-program-vs-ending-287g"]  # fmt: skip

# A CCOPS-type law that requires use policies before acquisitions expands: the generic "surveillance
# technology" it regulates is not read as a tool being acquired. dev.csv (San Francisco, CA:
# https://sfgov.legistar.com/LegislationDetail.aspx?ID=2352054&GUID=2E2CBA50-3694-4726-8E3D-957ABACC1E33)
CCOPS = (
    "Ordinance amending the Administrative Code to require City departments acquiring surveillance "
    "technology to submit an approved Surveillance Data Policy to the Board of Supervisors in connection "
    "with any request to appropriate funds for the purchase of such technology or to accept and expend "
    "grant funds for such purpose, or otherwise to procure surveillance technology equipment or services"
)

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


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
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


def test_a_ccops_law_that_requires_use_policies_expands():
    assert CCOPS in _dev_titles()  # the real title, word for word
    cue = read_direction(CCOPS)
    assert cue is not None and cue.direction == "expands", cue


def test_approving_a_use_policy_is_neutral_and_purchasing_cameras_restricts():
    # TAXONOMY.md, surveillance_technology: "Approval of use policies under an existing CCOPS law = neutral".
    approving = read_direction("approving the Surveillance Use Policy for license plate readers")
    assert approving is not None and approving.direction == "neutral"
    purchase = read_direction("purchase of surveillance cameras")
    assert purchase is not None and purchase.direction == "restricts"


def _dev_titles() -> list[str]:
    import csv

    from tracker.matcher.learned import DEVSET_DIR

    with (DEVSET_DIR / "dev.csv").open(encoding="utf-8") as f:
        return [row["title"] for row in csv.DictReader(f)]
