"""Each of the 16 categories, with real titles from dev.csv (never holdout.csv, which is not tuned on)."""

from __future__ import annotations

import pytest

from tracker.matcher import CATEGORY_CODES

CASES = [
    ("55G - RESO - SANCTUARY CITY", "sanctuary_declaration", "expands"),
    (
        "AN ORDINANCE ending the honoring of civil immigration hold requests from the United States "
        "Immigration and "
        "Customs Enforcement for individuals in the custody of the department of adult and juvenile "
        "detention",
        "detainers_warrants",
        "expands",
    ),
    (
        "Consideration and approval of the implementation of the Warrant Service Officer Program under the "
        "287(g) "
        "Agreement with the U.S. Immigration and Customs Enforcement (ICE).",
        "federal_enforcement_partnerships",
        "restricts",
    ),
    (
        "A Local Law to amend the administrative code of the city of New York, in relation to redefining "
        "terms "
        "concerning immigration enforcement to account for current enforcement practices, and prohibiting "
        "the "
        "maintenance of an office or quarters on property under the jurisdiction of the department of "
        "correction by "
        "federal immigration authorities",
        "ice_access_property",
        "expands",
    ),
    (
        "AGREEMENT AMENDMENT WITH U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT TO PROVIDE HOUSING FOR FEDERAL "
        "INMATES",
        "detention_contracts",
        "restricts",
    ),
    (
        "Establishing a chief privacy officer and policies and protocols relating to the handling of "
        "identifying "
        "information.",
        "data_privacy_status",
        "expands",
    ),
    (
        "Lease of Automated License Plate Readers (ALPR) from Flock Group, Inc.",
        "surveillance_technology",
        "restricts",
    ),
    (
        "Call for Chicago Police Department and Department of Law to establish new gang database",
        "gang_databases",
        "restricts",
    ),
    (
        "Consider an Ordinance Enacting a City Identification Card Program in the Public Interest",
        "municipal_id_services",
        "expands",
    ),
    (
        "First Reading of Ordinance No. 064, 2021, Appropriating Prior Year Reserves for the Establishment "
        "of a "
        "Municipal Immigration Legal Defense Fund.",
        "legal_defense",
        "expands",
    ),
    (
        "A Local Law to amend the New York city charter, in relation to an immigrant affairs task force",
        "welcoming_language_access",
        "expands",
    ),
    (
        "Adopt on first reading Ordinance 9568 pertaining to amending the fines for first time marijuana "
        "possession, "
        "and direct staff as appropriate.",
        "decriminalization_bail",
        "expands",
    ),
    (
        "A RESOLUTION OF THE CITY COUNCIL OF THE CITY OF PEARLAND, TEXAS, SUPPORTING PEARLAND'S INDEPENDENT "
        "SCHOOL "
        "DISTRICT GRANT APPLICATION FOR THE IMPLEMENTATION OF A SCHOOL RESOURCE OFFICER PROGRAM",
        "police_in_schools",
        "restricts",
    ),
    (
        "A Local Law to amend the administrative code of the City of New York, in relation to chokeholds "
        "and other "
        "such restraints",
        "police_accountability",
        "expands",
    ),
    (
        "PROVIDE POLICY DIRECTION TO IMPLEMENT AN ALTERNATIVE MENTAL HEALTH RESPONSE PILOT PROGRAM",
        "divest_reinvest",
        "expands",
    ),
    (
        "A RESOLUTION URGING CONGRESS NOT TO ALLOCATE ADDITIONAL FUNDING FOR THE U.S. IMMIGRATION AND "
        "CUSTOMS "
        "ENFORCEMENT (ICE) AND THE U.S. CUSTOMS AND BORDER PROTECTION (CBP) GIVEN THE AGGRESSIVE AND "
        "DANGEROUS TACTICS "
        "BY FEDERAL AGENTS",
        "state_federal_advocacy",
        "expands",
    ),
]


def test_every_category_has_a_case():
    assert sorted({c for _, c, _ in CASES}) == sorted(CATEGORY_CODES)


@pytest.mark.parametrize(("title", "category", "direction"), CASES, ids=[c for _, c, _ in CASES])
def test_category(matcher, title, category, direction):
    result = matcher.classify(title)
    assert result.relevant
    assert result.categories[0] == category
    assert result.direction == direction
    assert 0.5 <= result.score <= 1.0
