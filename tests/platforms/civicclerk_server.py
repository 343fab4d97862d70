"""A CivicClerk-like API on loopback for the CivicClerk tests (served by tracker.demo's AppServer).

- ``GET /v1/Events``: the events of ``events`` (by default the 16 real rows of
  ../shared/portal-samples/civicclerk/south-fulton-ga/v1-Events-filtered.json) that pass the request's
  ``$filter`` (``startDateTime ge D``, ``startDateTime lt D`` / ``le D`` on bare ISO dates, ``categoryId in
  (...)``), in the OData v4 envelope of the sample, ``page_size`` rows a page with an absolute
  ``@odata.nextLink`` carrying ``$skip`` (how OData servers page; the sample's own query fitted one page).
- ``GET /v1/Meetings/{agendaId}``: ``agendas[agendaId]`` (a dict, or raw bytes served as they are).

``faults[path]`` answers a (status, content type, body) instead. The agendas are written for the tests (no
recorded CivicClerk agenda exists): :func:`agenda` builds one in the shape public code reads, and
fixtures/civicclerk/southfulton-meeting-781.json is a complete hand-written one (see fixtures/README.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.conftest import SAMPLES
from tracker.demo.primegov_portal import JSON_TYPE, Reply

EVENTS_SAMPLE = SAMPLES / "civicclerk" / "south-fulton-ga" / "v1-Events-filtered.json"
CONTEXT = "https://southfultonga.api.civicclerk.com/v1/$metadata#Events"


def sample_events() -> list[dict[str, Any]]:
    return json.loads(EVENTS_SAMPLE.read_bytes())["value"]


def item(
    item_id: int,
    name: str,
    *,
    ordinance: str | None = None,
    resolution: str | None = None,
    votes: list[tuple[str, int, int, int, int]] | None = None,
    children: list[dict[str, Any]] | None = None,
    section: bool = False,
    attachments: list[tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """An agenda item in the API's shape; ``votes``: (motionName, passFail, yes, no, abstain)."""
    return {
        "id": item_id,
        "isSection": 1 if section else 0,
        "sortOrder": 1,
        "agendaObjectItemOutlineNumber": None,
        "agendaObjectItemName": f"<p>{name}</p>",
        "agendaObjectItemDescription": None,
        "ordinanceFormattedNumber": ordinance,
        "resolutionFormattedNumber": resolution,
        "hasVote": False,
        "attachmentsList": [
            {"id": aid, "fileName": fname, "isPublished": True, "isDeleted": False}
            for aid, fname in (attachments or [])
        ],
        "reportsList": [],
        "minutesItemVotes": [
            {
                "motionName": motion,
                "passFail": passed,
                "yesVotes": [f"Member {i}" for i in range(yes)],
                "noVotes": [f"Member {i}" for i in range(yes, yes + no)],
                "abstainVotes": [f"Member {i}" for i in range(yes + no, yes + no + abstain)],
            }
            for motion, passed, yes, no, abstain in (votes or [])
        ],
        "childItems": children or [],
    }


def agenda(agenda_id: int, event_id: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": agenda_id, "eventId": event_id, "publishedFiles": [], "items": items}


class CivicClerkApi:
    def __init__(self, events: list[dict[str, Any]] | None = None, page_size: int = 10) -> None:
        self.events = sample_events() if events is None else events
        self.agendas: dict[int, dict[str, Any] | bytes] = {}
        self.page_size = page_size
        self.faults: dict[str, tuple[int, str, bytes]] = {}
        self.base_url = ""  # set once served: the nextLinks are absolute

    def __call__(self, path: str, query: dict[str, list[str]]) -> Reply:
        fault = self.faults.get(path)
        if fault is not None:
            return Reply(*fault)
        if path == "/v1/Events":
            return self._events(query)
        match = re.fullmatch(r"/v1/Meetings/(\d+)", path)
        if match and int(match.group(1)) in self.agendas:
            doc = self.agendas[int(match.group(1))]
            return Reply(200, JSON_TYPE, doc if isinstance(doc, bytes) else json.dumps(doc).encode())
        return Reply(404, JSON_TYPE, b'{"error":{"code":"","message":"No HTTP resource was found."}}')

    def _events(self, query: dict[str, list[str]]) -> Reply:
        text = (query.get("$filter") or [""])[0]
        rows = self.events
        for op, day in re.findall(r"startDateTime (ge|lt|le) (\d{4}-\d{2}-\d{2})", text):
            keep = {
                "ge": lambda s, d=day: s[:10] >= d,
                "lt": lambda s, d=day: s[:10] < d,
                "le": lambda s, d=day: s[:10] <= d,
            }[op]
            rows = [r for r in rows if keep(r["startDateTime"])]
        categories = re.search(r"categoryId in \(([\d,]+)\)", text)
        if categories:
            wanted = {int(c) for c in categories.group(1).split(",")}
            rows = [r for r in rows if r["categoryId"] in wanted]
        rows = sorted(rows, key=lambda r: (r["startDateTime"], r["id"]))
        skip = int((query.get("$skip") or ["0"])[0])
        doc: dict[str, Any] = {"@odata.context": CONTEXT, "value": rows[skip : skip + self.page_size]}
        if skip + self.page_size < len(rows):
            params = [("$filter", text), ("$orderby", (query.get("$orderby") or [""])[0])]
            params.append(("$skip", str(skip + self.page_size)))
            doc["@odata.nextLink"] = f"{self.base_url}/v1/Events?" + "&".join(
                f"{k}={quote(v, safe='(),')}" for k, v in params
            )
        return Reply(200, JSON_TYPE, json.dumps(doc, indent=2).encode())


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "civicclerk"
MEETING_781 = FIXTURES / "southfulton-meeting-781.json"

PUBLIC_COMMENT = "Public Comment"
DISCUSSION = "Discussion of items on the upcoming regular meeting agenda"
ALPR = "An Ordinance Amending Chapter 14 of the City Code Regarding Automated License Plate Readers"
ALCOHOL = {778: 1744, 780: 1746, 784: 1750, 787: 1753, 792: 1758, 793: 1759}
WORK_SESSIONS = {779: 1745, 782: 1748, 785: 1751, 790: 1756, 791: 1757}
REGULAR = {783: 1749, 786: 1752, 788: 1754, 789: 1755}  # and 781 (1747): the hand-written fixture


def regular(agenda_id: int, event_id: int, *items: dict[str, Any]) -> dict[str, Any]:
    comment = item(agenda_id * 100 + 99, PUBLIC_COMMENT)
    return agenda(
        agenda_id,
        event_id,
        [
            item(agenda_id * 100 + 1, "<strong>BUSINESS</strong>", section=True, children=list(items)),
            item(agenda_id * 100 + 98, "<strong>PUBLIC COMMENT</strong>", section=True, children=[comment]),
        ],
    )


def south_fulton_api(*, alpr_adopted: bool = False) -> CivicClerkApi:
    """The 16 recorded South Fulton events with an agenda each (written for the tests):

    - 781 (regular, 04-28): the fixture: 2026-R-041 approved, 2026-O-007 amended then failed, 2026-O-012 first
      reading, Roll Call, a presentation, Public Comment;
    - work sessions: the same discussion item (no number); 779 (04-28) also has 2026-O-007;
    - alcohol and zoning hearings: one resolution each, 2026-R-{agenda id}, approved;
    - regular meetings: Public Comment (no number); 783 2026-R-050 approved; 786 (05-26) 2026-O-012 second
      reading, adopted only when ``alpr_adopted`` (its minutes published later); 789 2026-R-077 approved.
    """
    api = CivicClerkApi()
    api.agendas[781] = MEETING_781.read_bytes()
    approve = [("Approve", 1, 6, 0, 0)]
    for agenda_id, event_id in ALCOHOL.items():
        license_item = item(
            agenda_id * 100 + 2,
            f"Alcohol beverage license application, hearing {agenda_id}",
            resolution=f"2026-R-{agenda_id}",
            votes=approve,
            attachments=[(agenda_id * 10, "Application.pdf")],
        )
        api.agendas[agenda_id] = agenda(agenda_id, event_id, [license_item])
    for agenda_id, event_id in WORK_SESSIONS.items():
        items = [item(agenda_id * 100 + 2, DISCUSSION)]
        if agenda_id == 779:
            items.append(
                item(77903, "An Ordinance to Limit the Use of City Resources for Federal Civil Immigration "
                     "Enforcement (Welcoming City Ordinance)", ordinance="2026-O-007")
            )  # fmt: skip
        api.agendas[agenda_id] = agenda(agenda_id, event_id, items)
    api.agendas[783] = regular(783, 1749, item(78302, "A Resolution Adopting the FY2027 Budget Calendar",
                                               resolution="2026-R-050", votes=approve))  # fmt: skip
    alpr_votes = [("Adopt", 1, 6, 1, 0)] if alpr_adopted else []
    api.agendas[786] = regular(
        786, 1752, item(78602, f"{ALPR} - Second Reading", ordinance="2026-O-012", votes=alpr_votes)
    )
    api.agendas[788] = regular(788, 1754)
    api.agendas[789] = regular(789, 1755, item(78902, "A Resolution Declaring South Fulton a Welcoming City",
                                               resolution="2026-R-077", votes=approve))  # fmt: skip
    return api
