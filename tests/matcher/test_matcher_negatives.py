"""The hard negatives of TAXONOMY.md section 4, each handled by a rule (and named in the evidence)."""

from __future__ import annotations

import pytest


def negatives(result):
    return {e.rule for e in result.evidence if e.kind == "negative"}


# ---------------------------------------------------------------------------------- neg_ice_other
@pytest.mark.parametrize(
    "title",
    [
        "HOCKEY ASSOCIATION LEASE OF THE MUNICIPAL ICE ARENA",
        "ICE RINK MANAGEMENT AGREEMENT WITH THE YOUTH HOCKEY ASSOCIATION",
        "Promotional license for the installation and operation of an outdoor holiday ice rink at the Town "
        "Square",
        "Ice Arena Commission Update",
        "A Local Law to amend the administrative code of the city of New York, in relation to exempting "
        "seniors from "
        "penalties for failing to remove snow or ice from sidewalks",
        "SNOW AND ICE REMOVAL CONTRACT FOR CITY PARKING LOTS",
        "Ice Cream Vendor Permits in City Parks",
    ],
)
def test_ice_other_is_never_ice(matcher, title):
    assert not matcher.classify(title).relevant


def test_ice_arena_in_capitals_is_suppressed_by_rule(matcher):
    result = matcher.classify("HOCKEY ASSOCIATION LEASE OF THE MUNICIPAL ICE ARENA")
    assert "neg_ice_other" in negatives(result)
    assert not [e for e in result.evidence if e.kind == "term"]


def test_real_ice_still_counts(matcher):
    assert matcher.classify("Resolution demanding that ICE end raids near schools").relevant
    assert matcher.classify(
        "RESOLUTION TO TERMINATE THE COUNTY'S CONTRACT WITH U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT (ICE)"
    ).relevant


# ---------------------------------------------------------------------------- neg_sanctuary_other
@pytest.mark.parametrize(
    "title",
    [
        "Resolution in Support of the Gulf of the Farallones and Cordell Bank National Marine Sanctuaries "
        "Boundary "
        "Modification and Protection Act",
        "Resolution supporting the designation of a national marine sanctuary off the county coast",
        "Agreement with Audubon for maintenance of the bird sanctuary at Lake Park",
        "Lease of the wildlife sanctuary parcel to the land trust",
    ],
)
def test_sanctuary_other(matcher, title):
    assert not matcher.classify(title).relevant


def test_marine_sanctuary_named_in_evidence(matcher):
    result = matcher.classify("Resolution supporting the marine sanctuary designation")
    assert not result.relevant
    assert "neg_sanctuary_other" in negatives(result)


def test_sanctuary_city_is_relevant(matcher):
    assert matcher.classify("Resolution declaring the city a sanctuary city for all its residents").relevant


@pytest.mark.parametrize(
    "title",
    [
        # real Columbus OH titles (../shared/streams/columbus-oh.tsv), labelled not relevant
        "To authorize the Director of Development to execute a grant agreement with Sanctuary Collective in "
        "an amount up to $103,000.00 to provide direct outreach services to victims of human trafficking",
        "Appointment of Hannah Estabrook, MA, LPCC-S, Executive Director, Sanctuary Night, 154 Hayden "
        "Avenue, Columbus, Ohio 43222, to serve as a joint City of Columbus-Franklin County appointee",
        "To authorize the City Clerk to enter into a grant agreement with the City of Refuge GoodLife "
        "Foundation in support of their Skilled Trades Training Program",
    ],
)
def test_an_organisation_named_sanctuary_or_city_of_refuge_is_not_a_declaration(matcher, title):
    result = matcher.classify(title)
    assert not result.relevant
    assert "neg_sanctuary_other" in negatives(result)


@pytest.mark.parametrize(
    "title",
    [
        "Resolution Declaring Columbus A Sanctuary City For Immigrants And Refugees",
        "An Ordinance To Strengthen The Sanctuary Protections Of The Municipal Code",
        "Resolution Reaffirming Sanctuary Status",
        "SANCTUARY CITY ORDINANCE AMENDMENTS",
        "Resolution declaring the City a City of Refuge for immigrants",
        "Resolution Declaring The City A City Of Refuge",
    ],
)
def test_stance_wording_in_title_case_or_capitals_still_counts(matcher, title):
    result = matcher.classify(title)
    assert result.relevant and result.categories[0] == "sanctuary_declaration"
    assert "neg_sanctuary_other" not in negatives(result)


# ------------------------------------------------------------------------------ neg_police_routine
def test_police_vehicle_purchase_alone_is_not_relevant(matcher):
    assert not matcher.classify(
        "Authorize the purchase of twelve police vehicles for the patrol division"
    ).relevant


def test_body_worn_cameras_are_routine(matcher):
    result = matcher.classify("Contract for body-worn cameras and drones for the police department")
    assert not result.relevant
    assert "neg_police_routine" in negatives(result)


@pytest.mark.parametrize(
    "title",
    [
        "R-2023-027 Resolution authorizing an Interlocal School Resource Officer Agreement with Yakima "
        "School District "
        "No. 7 for the continuation of the school resource officer program during the 2022-2023 school year",
        "Resolution approving the renewal of the interlocal agreement with the independent school district "
        "for the "
        "school resource officer program",
        "Memorandum of understanding with the unified school district for the school resource officer "
        "program for the "
        "2024-25 school year",
    ],
)
def test_same_level_sro_renewal_is_not_relevant(matcher, title):
    assert not matcher.classify(title).relevant


def test_new_sro_program_is_relevant(matcher):
    result = matcher.classify(
        "Resolution approving a new school resource officer program with the school district"
    )
    assert result.relevant
    assert result.categories[0] == "police_in_schools"
    assert result.direction == "restricts"


def test_ending_sro_program_expands(matcher):
    result = matcher.classify(
        "Resolution to terminate the school resource officer contract and remove police from schools"
    )
    assert result.relevant and result.direction == "expands"


# ----------------------------------------------------------------------------- neg_federal_funding
def test_byrne_jag_is_not_relevant(matcher):
    assert not matcher.classify(
        "Accept the FY2023 Edward Byrne Memorial Justice Assistance Grant for police equipment"
    ).relevant
    result = matcher.classify(
        "Accept the FY2024 Homeland Security Grant Program award from the Department of Homeland Security"
    )
    assert not result.relevant


def test_jag_with_immigration_conditions_stays_relevant(matcher):
    result = matcher.classify(
        "Resolution opposing the 8 U.S.C. 1373 immigration certification required for "
        "the Byrne Justice Assistance Grant"
    )
    assert result.relevant


# ------------------------------------------------------------------ neg_task_force_nonimmigration
def test_icac_task_force_is_not_a_federal_partnership(matcher):
    for title in [
        "AN ORDINANCE APPROVING AN INTERGOVERNMENTAL AGREEMENT ENTITLED DENVER INNOCENT IMAGES TASK FORCE "
        "MEMORANDUM OF UNDERSTANDING BETWEEN THE FEDERAL BUREAU OF INVESTIGATION AND THE CITY",
        "Joint powers agreement for the Internet Crimes Against Children (ICAC) task force with the "
        "Department of "
        "Homeland Security",
    ]:
        assert not matcher.classify(title).relevant, title


def test_287g_task_force_is_relevant(matcher):
    assert matcher.classify("Approve the 287(g) Task Force Model agreement with ICE").relevant


# --------------------------------------------------------------------------------- neg_cbp_customs
def test_airport_customs_is_not_enforcement(matcher):
    for title in [
        "Memorandum of Agreement with U.S. Customs and Border Protection for the Federal Inspection Services "
        "facility at the municipal airport",
        "User fee airport agreement with U.S. Customs and Border Protection for inspection services",
    ]:
        result = matcher.classify(title)
        assert not result.relevant, title


# ------------------------------------------------------------------------ neg_immigration_benefits
def test_benefits_without_enforcement_angle(matcher):
    for title in [
        "Resolution supporting the Dream Act of 2019",
        "Resolution calling on United States Citizenship and Immigration Services to quickly clear the "
        "backlog of "
        "I-765 applications for employment authorization.",
        "Resolution supporting Temporary Protected Status for immigrant residents of the city",
    ]:
        assert not matcher.classify(title).relevant, title


def test_benefits_framed_as_protection_from_deportation(matcher):
    result = matcher.classify(
        "CONSIDERATION OF RESOLUTION CALLING UPON THE UNITED STATES CONGRESS TO IMMEDIATELY "
        "PASS THE DREAM ACT OF 2017 TO PROTECT INNOCENT YOUTH FROM DEPORTATION"
    )
    assert result.relevant
    assert result.categories[0] == "state_federal_advocacy"


# ------------------------------------------------------------------------- neg_heritage_ceremonial
def test_heritage_month_is_not_relevant(matcher):
    result = matcher.classify(
        "Proclamation declaring June Immigrant Heritage Month and celebrating the "
        "contributions of immigrants and refugees"
    )
    assert not result.relevant
    assert "neg_heritage_ceremonial" in negatives(result)


def test_heritage_proclamation_with_operative_clause(matcher):
    result = matcher.classify(
        "Proclamation of Immigrant Heritage Month reaffirming that city staff will not honor "
        "ICE detainers without a judicial warrant"
    )
    assert result.relevant


# --------------------------------------------------------------------------- neg_shared_vocabulary
@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("Construction of the stormwater detention pond at Riverside Park", None),
        ("Amend the unlawful detainer filing fee schedule for the municipal court", "neg_shared_vocabulary"),
        ("Revisions to the parking citation bail schedule", "neg_shared_vocabulary"),
        ("Resolution honoring the partnership for migratory birds", None),
        ("Town meeting warrant articles for the annual budget", None),
    ],
)
def test_shared_vocabulary(matcher, title, code):
    result = matcher.classify(title)
    assert not result.relevant
    if code:
        assert code in negatives(result)
