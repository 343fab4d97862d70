"""The normalizer on real recorded Legistar responses (read in place from ../shared/portal-samples)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SAMPLES
from tracker.contract import NormalizedBill
from tracker.errors import DataError
from tracker.platforms.legistar import normalize_matter

API = SAMPLES / "legistar-api"


def load(path: str):
    return json.loads((API / path).read_text(encoding="utf-8"))


def metro_bill(**overrides) -> NormalizedBill:
    args = {
        "slug": "la-metro",
        "matter": load("metro/matters-filtered.json")[0],
        "histories": load("chicago/matter-histories.json"),
        "sponsors": [],
        "attachments": load("metro/matter-attachments.json"),
        "api_base": "https://webapi.legistar.com/v1",
        "client": "metro",
        "web_base": "https://metro.legistar.com",
        "zone": ZoneInfo("America/Los_Angeles"),
    }
    args.update(overrides)
    return normalize_matter(**args)


def test_real_metro_matter():
    bill = metro_bill()
    assert bill.source_id == "10881"
    assert bill.identifier == "2024-1026"
    assert bill.title.startswith("APPROVE Minutes of the Regular Board Meeting held September 26, 2024")
    assert bill.type_name == "Minutes"
    assert bill.status == "Passed"
    assert bill.stage == "passed"
    assert bill.body_name == "Board of Directors - Regular Board Meeting"
    assert bill.introduced == date(2024, 10, 22)
    assert bill.agenda_date == date(2024, 10, 31)
    assert bill.passed_date == date(2024, 10, 31)
    assert bill.enacted_date is None
    assert bill.portal_modified_at == datetime(2024, 12, 13, 1, 7, 23, 667000, tzinfo=UTC)
    assert bill.portal_row_version == "AAAAAAJpCV0="
    assert bill.public_url == (
        "https://metro.legistar.com/LegislationDetail.aspx?ID=10881&GUID=5E324116-B670-49F2-AB53-02E768DBA6DD"
    )
    assert bill.source_url == "https://webapi.legistar.com/v1/metro/matters/10881"
    assert bill.raw["MatterEXText5"].startswith("Classification success")
    assert [a.source_id for a in bill.attachments] == ["28753", "28754", "28800", "28801"]
    assert bill.attachments[0].url.endswith("73425e96-9569-465d-b4c2-14ef9398e6ee.pdf")


def test_real_chicago_histories_become_actions():
    bill = metro_bill()
    assert [(a.source_id, a.description, a.classification) for a in bill.actions] == [
        ("192729", "Referred", "referral"),
        ("198142", "Recommended to Pass", "committee_passage"),
        ("200042", "Passed", "passage"),
    ]
    referred, recommended, passed = bill.actions
    assert referred.action_date == date(2013, 3, 13) and referred.acted_at is None
    # A time of day is local (Chicago sample, read here in the configured zone) and stored in UTC.
    assert recommended.acted_at == datetime(2013, 4, 30, 17, 0, tzinfo=UTC)
    assert recommended.body_name == "Committee on Zoning, Landmarks and Building Standards"
    assert recommended.result == "Pass"
    assert passed.status_source_id == "72"


def test_duplicate_history_rows_collapse():
    """The real Chicago case: two 'Passed / City Council' rows on one date under ids 200020 and 200942."""
    rows = load("chicago/matter-histories-dupe.json")
    assert len(rows) == 4
    bill = metro_bill(histories=[*rows, rows[0]])  # an exact repeat of a row, too
    assert [(a.source_id, a.description) for a in bill.actions] == [
        ("192728", "Referred"),
        ("198127", "Recommended to Pass"),
        ("200020", "Passed"),
    ]


def test_content_hash_ignores_nothing_that_matters():
    a = metro_bill()
    assert metro_bill().content_hash == a.content_hash
    matter = dict(load("metro/matters-filtered.json")[0], MatterStatusName="Adopted")
    assert metro_bill(matter=matter).content_hash != a.content_hash
    assert (
        metro_bill(sponsors=[{"MatterSponsorName": "Jane Doe", "MatterSponsorSequence": 0}]).content_hash
        != a.content_hash
    )


def test_staging_round_trip():
    bill = metro_bill(
        sponsors=[
            {"MatterSponsorName": "B", "MatterSponsorSequence": 2},
            {"MatterSponsorName": "A", "MatterSponsorSequence": 1},
        ]
    )
    again = NormalizedBill.from_json(bill.to_json())
    assert again == bill
    assert [(s.name, s.is_primary) for s in again.sponsors] == [("A", True), ("B", False)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "MatterIntroDate",
            "2024-13-45T00:00:00",
            "la-metro matter 10881: MatterIntroDate: malformed date '2024-13-45T00:00:00'",
        ),
        (
            "MatterLastModifiedUtc",
            "yesterday",
            "la-metro matter 10881: MatterLastModifiedUtc: malformed date 'yesterday'",
        ),
        ("MatterId", None, "la-metro matter: missing or invalid MatterId (None)"),
    ],
)
def test_malformed_records_raise_a_named_error(field, value, message):
    matter = dict(load("metro/matters-filtered.json")[0], **{field: value})
    with pytest.raises(DataError) as exc:
        metro_bill(matter=matter)
    assert str(exc.value) == message


def test_histories_must_be_a_list_of_objects():
    with pytest.raises(DataError, match="la-metro matter 10881 histories: expected a list of objects"):
        metro_bill(histories={"Message": "An error has occurred."})
