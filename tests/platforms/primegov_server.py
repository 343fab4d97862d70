"""PrimeGov portals for the tests: the real recorded listings of ../shared/portal-samples/primegov/ served
byte for byte, and agenda pages written for the tests (no recorded PrimeGov agenda page exists).

The pages are tracker.demo.primegov_portal's :class:`Page` rendered in the modelled layout, except
fixtures/primegov/lacity-journal-77546.html, a complete hand-written journal page (see fixtures/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SAMPLES
from tracker.demo.primegov_portal import Item, Page, PrimeGovPortal

PRIMEGOV = SAMPLES / "primegov"
LA_UPCOMING = PRIMEGOV / "los-angeles" / "ListUpcomingMeetings.json"
CCTA_UPCOMING = PRIMEGOV / "ccta" / "ListUpcomingMeetings.json"
CLAYTON_2026 = PRIMEGOV / "clayton-county-ga" / "ListArchivedMeetings-2026.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "primegov"
LA_JOURNAL_77546 = FIXTURES / "lacity-journal-77546.html"

PUBLIC_COMMENT = "Public comment on items of interest within the Committee's subject matter jurisdiction."


def la_portal() -> PrimeGovPortal:
    """lacity: the 5 recorded upcoming meetings of 2021-10-21/22 and the pages of the 4 that have items.

    9817 (journal 77546, the hand-written fixture): 21-0600-S29 approved, 21-0745 continued, public comment.
    9910 (agenda 78142): 21-0002-S123, public comment.  10014 (revised agenda 79021): 21-0745, 21-1048,
    20-1371.  9545 (special agenda 75649): 21-1100.  9944 is a notice of cancellation: no page is read.
    """
    portal = PrimeGovPortal()
    portal.upcoming = LA_UPCOMING.read_bytes()
    portal.pages[77546] = LA_JOURNAL_77546.read_bytes()
    portal.pages[78142] = Page(
        "Energy, Climate Change, Environmental Justice, and River Committee",
        [
            (
                "ITEMS",
                [
                    Item(
                        156001,
                        "Resolution (Koretz - Krekorian) relative to including in the City's 2021-22 State "
                        "Legislative Program support for SB 54 protections.",
                        "21-0002-S123",
                        attachments=[("aa000001-0000-4000-8000-000000000001", "Resolution.pdf")],
                    ),
                ],
            ),
            ("PUBLIC COMMENT", [Item(156002, PUBLIC_COMMENT)]),
        ],
    )
    portal.pages[79021] = immigrant_affairs(journal=False)
    portal.pages[75649] = Page(
        "Trade, Travel, and Tourism Committee",
        [
            (
                "ITEMS",
                [
                    Item(
                        156201,
                        "Port of Los Angeles report relative to cruise terminal operations.",
                        "21-1100",
                    )
                ],
            )
        ],
    )
    return portal


def immigrant_affairs(journal: bool) -> Page:
    """Meeting 10014's agenda (template 79021) or, once published, its journal (template 79022): the journal
    records an outcome for 21-0745 only."""
    return Page(
        "Immigrant Affairs, Civil Rights, and Equity Committee",
        [
            (
                "ITEMS",
                [
                    Item(
                        156101,
                        "Motion (Hernandez - Raman) relative to ending the sharing of City data with U.S. "
                        "Immigration and Customs Enforcement (ICE).",
                        "21-0745",
                        "CD 1",
                        action="APPROVED Motion (Hernandez - Raman) - (5) Yes; (0) No" if journal else None,
                    ),
                    Item(
                        156102,
                        "Motion (Cedillo - Rodriguez) relative to a report on any 287(g) or other agreements "
                        "between City departments and federal immigration authorities.",
                        "21-1048",
                        "CD 1",
                    ),
                    Item(
                        156103, "Los Angeles Justice Fund: status report on legal representation.", "20-1371"
                    ),
                ],
            )
        ],
    )


def with_document(listing: bytes, meeting_id: int, document: dict) -> bytes:
    """A listing with one more document on one meeting (a journal published after the meeting)."""
    rows = json.loads(listing)
    for row in rows:
        if row["id"] == meeting_id:
            row["documentList"].append(document)
    return json.dumps(rows).encode()


def ccta_portal() -> PrimeGovPortal:
    """ccta: the 2 recorded meetings; 1298's HTML Packet (template 5422) has two items, 1330 is cancelled."""
    portal = PrimeGovPortal()
    portal.upcoming = CCTA_UPCOMING.read_bytes()
    portal.pages[5422] = Page(
        "Countywide Bicycle and Pedestrian Advisory Committee Meeting",
        [
            (
                "ACTION ITEMS",
                [
                    Item(301, "Countywide Active Transportation Plan update.", "22-041"),
                    Item(302, "Approval of the minutes of June 27, 2022."),
                ],
            )
        ],
    )
    return portal


# Clayton County: the HTML document read for each of the 15 recorded meetings that have one (a journal or
# minutes before an agenda), oldest meeting first.
CLAYTON_PAGES = {
    613: 4801, 558: 4438, 556: 4423, 638: 5055, 576: 4562, 577: 4564, 578: 4571, 579: 4578, 580: 4585,
    640: 5069, 677: 5328, 639: 5062, 645: 5104, 695: 5471, 646: 5111,
}  # fmt: skip
CLAYTON_MINUTES = {4438, 4562}
WELCOMING = (
    "Resolution opposing a 287(g) agreement between the Sheriff and U.S. Immigration and Customs Enforcement."
)


def clayton_portal() -> PrimeGovPortal:
    """claytoncountyga: the recorded 2026 archive; every page has the county's 287(g) resolution (2026-0100,
    adopted at the two meetings whose minutes are read) and one item of its own (2026-{template})."""
    portal = PrimeGovPortal()
    portal.archived[2026] = CLAYTON_2026.read_bytes()
    for meeting_id, template in CLAYTON_PAGES.items():
        minutes = template in CLAYTON_MINUTES
        portal.pages[template] = Page(
            f"Meeting {meeting_id}",
            [
                (
                    "NEW BUSINESS",
                    [
                        Item(
                            meeting_id * 10 + 1,
                            WELCOMING,
                            "2026-0100",
                            action="ADOPTED - (4) Yes; (1) No" if minutes else None,
                        ),
                        Item(
                            meeting_id * 10 + 2,
                            f"Agenda item of meeting {meeting_id}.",
                            f"2026-{template}",
                            action="APPROVED - (5) Yes; (0) No" if minutes else None,
                        ),
                    ],
                )
            ],
        )
    return portal
