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
    # the object named after a long code reference still counts (it starts within the window)
    (
        "Ordinance repealing Section 7-73-050 of the Riverton Municipal Code (Limits on Cooperation with "
        "Civil "
        "Immigration Detainers)",
        "restricts",
    ),
    ("An ordinance limiting cooperation with civil immigration detainers", "expands"),
    ("Resolution repealing the limits on cooperation with ICE", "restricts"),
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


# Real opposite pairs where one side has no certain verb-object pairing: the hybrid decides (a rules cue
# next to the phrase, the learned direction model, or the category's usual direction). Each title is read
# from the labelled file it comes from (devset/*.csv with its source URL, or labels/<council>.csv by its
# stream id), so the test always runs on the real words, with the label an editor gave it.
HYBRID_PAIRS = [
    (  # gang databases, Chicago IL: establishing one vs regulating it
        ("dev.csv", "Call for Chicago Police Department and Department of Law to establish new gang"),
        ("holdout.csv", "Amendment of Municipal Code Chapter 2-84 by adding new Sections 2-84-501 through "
                        "2-84-504 to regulate Chicago Police Department gang database"),
    ),
    (  # sanctuary status: proclaimed (Cathedral City CA) vs disclaimed (Tehama County CA)
        ("holdout.csv", "A Resolution of the City Council of the City of Cathedral City Proclaiming "
                        "Sanctuary City Status"),
        ("dev.csv", "RESOLUTION NO. 2017-16 \N{EN DASH} Request adoption of a resolution declaring that "
                    "Tehama County complies with federal immigration laws"),
    ),
    (  # opposing a state law: a sanctuary law (SB 54, Costa Mesa CA) vs an enforcement law (SB 4, Dallas TX)
        ("holdout.csv", "A Resolution of the City Council of the City of Costa Mesa, California, Opposing "
                        "Senate Bill 54"),
        ("dallas-tx.csv", "24-1776"),
    ),
    (  # ICE detention contracts: housing federal inmates (Santa Ana CA) vs terminating one (Hudson County NJ)
        ("dev.csv", "AGREEMENT AMENDMENT WITH U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT TO PROVIDE HOUSING"),
        ("holdout.csv", "RESOLUTION URGING THE HUDSON COUNTY BOARD OF CHOSEN FREEHOLDERS TO IMMEDIATELY "
                        "INITIATE THE OPT-OUT CLAUSE"),
    ),
]  # fmt: skip
HYBRID_PAIR_IDS = ["gang-database-establish-vs-regulate", "sanctuary-proclaimed-vs-disclaimed",
                   "opposing-sb54-vs-condemning-sb4", "ice-housing-contract-vs-termination"]  # fmt: skip

# Juvenile curfew, Dallas TX: readopting the ordinance (restricts) and repealing it (expands). The verb-object
# reader decides both (labels/dallas-tx.csv, stream ids 22-317 and 24-1270). The readoption is a borderline
# row for relevance (a routine renewal of the status quo), not for its direction.
CURFEW_PAIR = (("dallas-tx.csv", "22-317"), ("dallas-tx.csv", "24-1270"))


def _labelled(where: str, key: str, *, clear: bool = True) -> tuple[str, str]:
    """(title, labelled direction) of the one row of a labelled file whose title starts with ``key`` (devset)
    or whose stream id is ``key`` (labels/<council>.csv); ``clear``: not a borderline row."""
    import csv

    from tracker.matcher.learned import DEVSET_DIR, LABELS_DIR

    path = DEVSET_DIR / where if where in ("dev.csv", "holdout.csv") else LABELS_DIR / where
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("id") == key or r["title"].startswith(key)]
    assert len(rows) == 1, (where, key, len(rows))
    assert rows[0]["relevant"] == "1" and not (clear and rows[0].get("note")), rows[0]
    return rows[0]["title"], rows[0]["direction"]


@pytest.mark.parametrize("pair", HYBRID_PAIRS, ids=HYBRID_PAIR_IDS)
def test_real_opposite_pairs_through_the_hybrid(pair, hybrid):
    labelled = [_labelled(*side) for side in pair]
    assert {d for _, d in labelled} == {"expands", "restricts"}
    for title, direction in labelled:
        result = hybrid.classify(title)
        assert result.relevant and result.direction == direction, (title, result.learned)


def test_juvenile_curfew_readopted_restricts_and_repealed_expands():
    readopted, repealed = (_labelled(*side, clear=False) for side in CURFEW_PAIR)
    assert readopted[1] == "restricts" and repealed[1] == "expands"
    for title, direction in (readopted, repealed):
        cue = read_direction(title)
        assert cue is not None and cue.direction == direction, (title, cue)


# A contract's term ("with two one-year renewal options") is not a report of options (TAXONOMY.md: reports,
# presentations and studies are neutral): these Dallas contracts for mobile crisis response are labelled
# expands, and the rules read them as neutral while the "options" cue took the boilerplate for a report.
RENEWAL_OPTIONS = (("dallas-tx.csv", "21-1462"), ("dallas-tx.csv", "21-1465"))


def test_a_contracts_renewal_options_are_not_a_report_of_options(hybrid):
    rules = Matcher(load_rules())
    for title, direction in (_labelled(*side) for side in RENEWAL_OPTIONS):
        assert "renewal options" in title and direction == "expands"
        for result in (rules.classify(title), hybrid.classify(title)):
            assert result.relevant and result.direction == "expands", (title, result.evidence)
    # a review of options stays neutral (the cue's word "options" alone decides here)
    report = rules.classify("Review of options for the mobile crisis response program")
    assert report.relevant and report.direction == "neutral", report.evidence
    assert [e.phrase for e in report.evidence if e.kind == "cue"] == ["options"]
