"""Generators: the demo portal (four fictional councils) and a bulk portal for benchmarks.

:func:`demo_portal` builds a deterministic :class:`~tracker.demo.model.Portal` whose clock starts at
:data:`DEMO_NOW` (2026-11-01T12:00Z). Its councils have introduced matters for the 18 months before the
clock and keep introducing them for four months after it; every matter follows a timeline of meetings
(committee hearings, council votes, the mayor's signature) scheduled on each body's real-looking calendar,
so advancing the clock by :data:`DEMO_STEP_DAYS` (14 days) covers one meeting of every body: dozens of
matters change status, new history rows appear, and a handful of new matters are introduced. About one
matter in eight is sanctuary-related (:mod:`tracker.demo.demo_text`), and some of those are deliberately
in flight around the initial clock so that each of the first steps moves a few of them. The councils'
meetings (events, agendas, roll calls, office records; moved and cancelled meetings) are generated from the
same calendars and timelines by :mod:`tracker.demo.agendas`.

:func:`bulk_portal` builds one large client quickly (20,000 matters and 100,000 history rows in a couple of
seconds), all in the past, for crawl benchmarks; ``touch_fraction`` then changes a share of them.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tracker.demo import demo_text as text
from tracker.demo.agendas import build_meetings
from tracker.demo.model import (
    Action,
    Attachment,
    Body,
    Change,
    ClientData,
    History,
    Matter,
    Person,
    Portal,
    Status,
)
from tracker.demo.wire import format_local

DEMO_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""The demo clock's starting point."""

DEMO_STEP_DAYS = 14
"""The documented demo step: ``portal.advance(days=DEMO_STEP_DAYS)`` covers one meeting of every body."""

DEMO_HISTORY_DAYS = 549  # matters were introduced during the 18 months before the clock...
DEMO_FUTURE_DAYS = 120  # ... and keep being introduced this long after it


# --------------------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class _Schedule:
    """A body meets every ``weeks`` weeks on the weekday of ``anchor``, at ``hour:minute`` local time."""

    anchor: date
    weeks: int
    hour: int
    minute: int = 0


@dataclass(frozen=True)
class _Profile:
    client: str
    display_name: str
    place: str
    kind: str  # "city" | "county"
    timezone: str
    council: str
    council_schedule: _Schedule
    committees: dict[str, tuple[str, _Schedule]]  # topic -> (committee name, schedule)
    executive: str | None  # the office that signs or vetoes ordinances
    statuses: dict[str, str]  # stage key -> status name
    actions: dict[str, str]  # action key -> action name
    types: dict[str, str]  # type key -> matter type name
    matters: int  # matters introduced before DEMO_NOW
    members: tuple[str, ...]
    executive_person: str | None
    id_base: int
    event_base: int
    readings: bool = False  # ordinances pass on a first and second reading instead of a committee report
    action_time: bool = False  # history action dates carry the meeting time
    ex_date_hearing: bool = False  # committee hearing dates go to MatterEXDate2
    file_style: str = "prefix-year"
    words: dict[str, str] = field(default_factory=dict)


def _members(rng: random.Random, count: int) -> tuple[str, ...]:
    firsts = rng.sample(text.FIRST_NAMES, count)
    lasts = rng.sample(text.LAST_NAMES, count)
    return tuple(f"{f} {last}" for f, last in zip(firsts, lasts, strict=True))


def _profiles(rng: random.Random) -> list[_Profile]:
    biweekly = 2
    return [
        _Profile(
            client="riverton",
            display_name="Riverton City Council",
            place="Riverton",
            kind="city",
            timezone="America/Chicago",
            council="City Council",
            council_schedule=_Schedule(date(2025, 1, 8), biweekly, 10),  # Wednesdays
            committees={
                "finance": ("Committee on Finance", _Schedule(date(2025, 1, 13), biweekly, 10)),
                "safety": ("Committee on Public Safety", _Schedule(date(2025, 1, 14), biweekly, 13)),
                "zoning": (
                    "Committee on Zoning, Landmarks and Building Standards",
                    _Schedule(date(2025, 1, 6), biweekly, 10),
                ),
                "health": (
                    "Committee on Health and Human Relations",
                    _Schedule(date(2025, 1, 7), biweekly, 11),
                ),
                "transport": (
                    "Committee on Transportation and Public Way",
                    _Schedule(date(2025, 1, 9), 2, 10),
                ),
                "govops": ("Committee on Rules and Ethics", _Schedule(date(2025, 1, 15), biweekly, 9)),
            },
            executive="Office of the Mayor",
            statuses={
                "introduced": "Introduced",
                "referred": "In Committee",
                "held": "Held in Committee",
                "reported": "Reported Out of Committee",
                "passed": "Passed",
                "adopted": "Adopted",
                "approved": "Approved",
                "enacted": "Signed by Mayor",
                "vetoed": "Vetoed",
                "failed": "Failed to Pass",
                "withdrawn": "Withdrawn",
                "filed": "Placed on File",
            },
            actions={
                "intro_refer": "Introduced and Referred",
                "held": "Held in Committee",
                "recommend": "Recommended to Pass",
                "recommend_approve": "Recommended for Approval",
                "recommend_deny": "Recommended Do Not Pass",
                "amend": "Amended in Committee",
                "pass": "Passed",
                "adopt": "Adopted",
                "approve": "Approved",
                "sign": "Signed by Mayor",
                "veto": "Vetoed",
                "fail": "Failed to Pass",
                "withdraw": "Withdrawn",
                "file": "Placed on File",
            },
            types={
                "ord": "Ordinance",
                "res": "Resolution",
                "appt": "Appointment",
                "comm": "Communication",
                "report": "Report",
                "claim": "Claim",
                "agmt": "Ordinance",
                "procl": "Resolution",
            },
            matters=130,
            members=_members(rng, 13),
            executive_person="Dana Whitfield",
            id_base=41200,
            event_base=5100,
            action_time=True,
            file_style="prefix-year",
            words={"code": "Riverton Municipal Code", "police": "Riverton Police Department"},
        ),
        _Profile(
            client="portalder",
            display_name="Port Alder City Council",
            place="Port Alder",
            kind="city",
            timezone="America/Los_Angeles",
            council="City Council",
            council_schedule=_Schedule(date(2025, 1, 6), 1, 14),  # weekly, Mondays
            committees={
                "finance": ("Finance and Housing Committee", _Schedule(date(2025, 1, 8), biweekly, 9, 30)),
                "safety": (
                    "Public Safety and Human Services Committee",
                    _Schedule(date(2025, 1, 14), biweekly, 9, 30),
                ),
                "health": (
                    "Public Safety and Human Services Committee",
                    _Schedule(date(2025, 1, 14), biweekly, 9, 30),
                ),
                "zoning": (
                    "Land Use and Neighborhoods Committee",
                    _Schedule(date(2025, 1, 15), biweekly, 14),
                ),
                "transport": (
                    "Transportation and Utilities Committee",
                    _Schedule(date(2025, 1, 7), biweekly, 14),
                ),
                "govops": (
                    "Governance, Equity and Technology Committee",
                    _Schedule(date(2025, 1, 9), biweekly, 9, 30),
                ),
            },
            executive="Mayor",
            statuses={
                "introduced": "Introduced",
                "referred": "Referred",
                "held": "Held",
                "reported": "Committee Recommends Pass",
                "passed": "Passed",
                "adopted": "Adopted",
                "approved": "Confirmed",
                "enacted": "Signed",
                "vetoed": "Vetoed",
                "failed": "Failed",
                "withdrawn": "Withdrawn",
                "filed": "Filed",
            },
            actions={
                "intro_refer": "Referred",
                "held": "Held",
                "recommend": "Recommended Do Pass",
                "recommend_approve": "Recommended Confirm",
                "recommend_deny": "Recommended Do Not Pass",
                "amend": "Amended",
                "pass": "Passed",
                "adopt": "Adopted",
                "approve": "Confirmed",
                "sign": "Signed",
                "veto": "Vetoed",
                "fail": "Failed",
                "withdraw": "Withdrawn",
                "file": "Filed",
            },
            types={
                "ord": "Council Bill",
                "res": "Resolution",
                "appt": "Appointment",
                "comm": "Clerk File",
                "report": "Information Item",
                "claim": "Clerk File",
                "agmt": "Council Bill",
                "procl": "Resolution",
            },
            matters=115,
            members=_members(rng, 9),
            executive_person="Theo Marchetti",
            id_base=16350,
            event_base=7400,
            ex_date_hearing=True,
            file_style="seattle",
            words={"code": "Port Alder Municipal Code", "police": "Port Alder Police Department"},
        ),
        _Profile(
            client="lakesidecounty",
            display_name="Lakeside County Board of Supervisors",
            place="Lakeside County",
            kind="county",
            timezone="America/New_York",
            council="Board of Supervisors",
            council_schedule=_Schedule(date(2025, 1, 7), biweekly, 9, 30),  # Tuesdays
            committees={
                "finance": ("Budget and Finance Committee", _Schedule(date(2025, 1, 13), biweekly, 10)),
                "safety": ("Public Protection Committee", _Schedule(date(2025, 1, 15), biweekly, 13, 30)),
                "health": ("Health and Human Services Committee", _Schedule(date(2025, 1, 16), biweekly, 10)),
                "zoning": ("Land Use and Development Committee", _Schedule(date(2025, 1, 9), biweekly, 10)),
                "transport": (
                    "Land Use and Development Committee",
                    _Schedule(date(2025, 1, 9), biweekly, 10),
                ),
                "govops": ("Legislation and Rules Committee", _Schedule(date(2025, 1, 10), biweekly, 10)),
            },
            executive=None,
            statuses={
                "introduced": "Agenda Ready",
                "referred": "Pending Committee",
                "held": "Continued",
                "reported": "Recommended",
                "passed": "Adopted",
                "adopted": "Adopted",
                "approved": "Approved",
                "failed": "Denied",
                "withdrawn": "Withdrawn",
                "filed": "Received and Filed",
            },
            actions={
                "intro_refer": "Referred to Committee",
                "held": "Continued",
                "recommend": "Recommended for Adoption",
                "recommend_approve": "Recommended for Approval",
                "recommend_deny": "Recommended for Denial",
                "amend": "Amended",
                "pass": "Adopted",
                "adopt": "Adopted",
                "approve": "Approved",
                "fail": "Denied",
                "withdraw": "Withdrawn",
                "file": "Received and Filed",
            },
            types={
                "ord": "Ordinance",
                "res": "Resolution",
                "appt": "Appointment",
                "comm": "Communication",
                "report": "Report",
                "claim": "Claim",
                "agmt": "Agreement",
                "procl": "Proclamation",
            },
            matters=100,
            members=_members(rng, 7),
            executive_person=None,
            id_base=8800,
            event_base=2300,
            file_style="county",
            words={
                "code": "Lakeside County Code",
                "police": "Lakeside County Sheriff's Office",
                "police_short": "Sheriff's Office",
            },
        ),
        _Profile(
            client="northhalden",
            display_name="North Halden City Council",
            place="North Halden",
            kind="city",
            timezone="America/Denver",
            council="City Council",
            council_schedule=_Schedule(date(2025, 1, 2), biweekly, 19),  # Thursday evenings
            committees={
                "finance": (
                    "Finance and Administration Committee",
                    _Schedule(date(2025, 1, 6), biweekly, 17, 30),
                ),
                "safety": ("Public Safety Committee", _Schedule(date(2025, 1, 7), biweekly, 17, 30)),
                "health": ("Community Services Committee", _Schedule(date(2025, 1, 8), biweekly, 17, 30)),
                "zoning": (
                    "Planning and Development Committee",
                    _Schedule(date(2025, 1, 13), biweekly, 17, 30),
                ),
                "transport": (
                    "Planning and Development Committee",
                    _Schedule(date(2025, 1, 13), biweekly, 17, 30),
                ),
                "govops": (
                    "Finance and Administration Committee",
                    _Schedule(date(2025, 1, 6), biweekly, 17, 30),
                ),
            },
            executive=None,
            statuses={
                "introduced": "Pending",
                "first_reading": "First Reading",
                "referred": "Referred to Committee",
                "held": "Tabled",
                "reported": "Second Reading",
                "passed": "Adopted",
                "adopted": "Adopted",
                "approved": "Approved",
                "failed": "Failed",
                "withdrawn": "Withdrawn",
                "filed": "Received",
            },
            actions={
                "first_reading": "First Reading",
                "intro_refer": "Referred to Committee",
                "held": "Tabled",
                "recommend": "Recommended",
                "recommend_approve": "Recommended",
                "recommend_deny": "Recommended Denial",
                "amend": "Amended",
                "pass": "Adopted on Second Reading",
                "adopt": "Adopted",
                "approve": "Approved",
                "fail": "Failed",
                "withdraw": "Withdrawn",
                "file": "Received and Filed",
            },
            types={
                "ord": "Ordinance",
                "res": "Resolution",
                "appt": "Appointment",
                "comm": "Communication",
                "report": "Report",
                "claim": "Claim",
                "agmt": "Contract",
                "procl": "Proclamation",
            },
            matters=65,
            members=_members(rng, 7),
            executive_person=None,
            id_base=3100,
            event_base=880,
            readings=True,
            file_style="prefix-space",
            words={"code": "North Halden Municipal Code", "police": "North Halden Police Department"},
        ),
    ]


# --------------------------------------------------------------------------------------------- calendars


class _Calendar:
    """Meetings of every body of one client, with event ids in chronological order."""

    def __init__(self, bodies: dict[str, tuple[Body, _Schedule]], start: date, end: date, event_base: int):
        meetings: list[tuple[datetime, int]] = []
        for body, schedule in bodies.values():
            step = timedelta(weeks=schedule.weeks)
            day = schedule.anchor + step * -((schedule.anchor - start) // step)  # first meeting >= start
            while day <= end:
                meetings.append((datetime.combine(day, time(schedule.hour, schedule.minute)), body.id))
                day += step
        meetings.sort()
        self._by_body: dict[int, list[tuple[datetime, int]]] = {}
        for offset, (when, body_id) in enumerate(meetings):
            self._by_body.setdefault(body_id, []).append((when, event_base + offset))
        self._sequence: dict[int, int] = {}

    def next_meeting(self, body: Body, earliest: date) -> tuple[datetime, int] | None:
        """The first meeting of ``body`` on or after ``earliest`` (local), with its EventId."""
        meetings = self._by_body.get(body.id, [])
        i = bisect_left(meetings, datetime.combine(earliest, time()), key=lambda m: m[0])
        return meetings[i] if i < len(meetings) else None

    def meetings(self) -> list[tuple[datetime, int, int]]:
        """Every meeting: (local start, EventId, BodyId), by EventId."""
        found = [
            (when, event_id, body_id) for body_id, rows in self._by_body.items() for when, event_id in rows
        ]
        return sorted(found, key=lambda m: m[1])

    def agenda_sequence(self, event_id: int) -> int:
        self._sequence[event_id] = self._sequence.get(event_id, 0) + 1
        return self._sequence[event_id]


# --------------------------------------------------------------------------------------------- filling


def _money(rng: random.Random, low: int = 25, high: int = 2500) -> str:
    value = rng.randint(low, high) * 1000
    return f"${value:,}"


def _quarter_end(when: date) -> str:
    """The last month of the quarter before ``when``'s, e.g. "September 2026"."""
    month = ((when.month - 1) // 3) * 3  # 0, 3, 6 or 9: the previous quarter's last month
    return f"{text.MONTHS[month - 1]} {when.year}" if month else f"December {when.year - 1}"


def _fill(template: str, profile: _Profile, rng: random.Random, when: date) -> str:
    county = profile.kind == "county"
    fy_start = when.year if when.month >= 7 else when.year - 1
    values: dict[str, Any] = {
        "place": profile.place,
        "jur_cap": "County" if county else "City",
        "code": profile.words.get("code", f"{profile.place} Municipal Code"),
        "police": profile.words.get("police", f"{profile.place} Police Department"),
        "police_short": profile.words.get("police_short", "Police Department"),
        "chapter": f"{rng.randint(2, 17)}-{rng.randint(10, 190)}",
        "section": f"{rng.randint(2, 9)}-{rng.randint(10, 99)}-{rng.randint(1, 20) * 10:03d}",
        "amount": _money(rng),
        "term": rng.choice((2, 3, 5)),
        "beds": rng.choice((50, 75, 120, 150)),
        "n": rng.randint(2, 9),
        "vehicles": rng.randint(8, 40),
        "year": when.year,
        "year3": when.year + 3,
        "fy": f"{fy_start}-{(fy_start + 1) % 100:02d}",
        "winter": f"{when.year}-{(when.year + 1) % 100:02d}",
        "month": rng.choice(text.MONTHS),
        "observance": rng.choice(text.OBSERVANCES),
        "person": f"{rng.choice(text.FIRST_NAMES)} {rng.choice(text.LAST_NAMES)}",
        "street": rng.choice(text.STREETS),
        "street2": rng.choice(text.STREETS),
        "address": f"{rng.randint(100, 4999)} {rng.choice(text.STREETS)}",
        "business": rng.choice(text.BUSINESSES),
        "contractor": rng.choice(text.CONTRACTORS),
        "vendor": rng.choice(text.VENDORS),
        "tech_vendor": rng.choice(text.TECH_VENDORS),
        "legal_vendor": rng.choice(text.LEGAL_VENDORS),
        "consultant": rng.choice(text.CONSULTANTS),
        "dealer": rng.choice(text.DEALERS),
        "insurer": rng.choice(text.INSURERS),
        "board": rng.choice(text.BOARDS),
        "dept": rng.choice(text.DEPARTMENTS),
        "expiry": f"June 30, {when.year + rng.randint(2, 4)}",
        "quarter": f"Q{(when.month - 1) // 3 + 1} {when.year}",
        "quarter_end": _quarter_end(when),
        "school_district": f"{profile.place} Unified School District" if not county else "County Schools",
        "ward_label": "District" if county else "Ward",
        "ward": rng.randint(1, 12),
        "district_name": rng.choice(("Eastside", "Harborview", "Millrace", "North End")),
    }
    return template.format(**values)


# --------------------------------------------------------------------------------------------- drafting


@dataclass
class _Draft:
    filed: date
    template: text.Template
    title: str
    sponsors: tuple[Person, ...]
    hot: bool = False


def _pick_templates(profile: _Profile, rng: random.Random, count: int) -> list[text.Template]:
    """~12.5% sanctuary-related, ~6% hard negatives, the rest routine; every fitting sanctuary kind once."""
    fits = [t for t in text.SANCTUARY if profile.kind in t.kinds]
    negatives = [t for t in text.HARD_NEGATIVES if profile.kind in t.kinds]
    routine = [t for t in text.ROUTINE if profile.kind in t.kinds]
    n_sanctuary = max(6, round(count * 0.125))
    n_negative = max(4, round(count * 0.06))
    picked = rng.sample(fits, min(n_sanctuary, len(fits)))
    picked += [rng.choice(fits) for _ in range(n_sanctuary - len(picked))]
    picked += rng.sample(negatives, min(n_negative, len(negatives)))
    picked += [rng.choice(routine) for _ in range(count - len(picked))]
    rng.shuffle(picked)
    return picked


def _weekday_between(rng: random.Random, start: date, end: date) -> date:
    """A random day in ``[start, end]``, moved forward to a Monday when it falls on a weekend."""
    day = start + timedelta(days=rng.randrange((end - start).days + 1))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


_FILE_PREFIXES: dict[str, dict[str, str]] = {
    "prefix-year": {
        "ord": "O",
        "agmt": "O",
        "res": "R",
        "procl": "R",
        "appt": "A",
        "comm": "F",
        "report": "F",
        "claim": "CL",
    },
    "prefix-space": {
        "ord": "ORD",
        "agmt": "CON",
        "res": "RES",
        "procl": "PROC",
        "appt": "APPT",
        "comm": "COMM",
        "report": "RPT",
        "claim": "CLM",
    },
}
_SEATTLE_FILES: dict[str, tuple[str, int]] = {
    "ord": ("CB", 120800),
    "agmt": ("CB", 120800),
    "res": ("Res", 32100),
    "procl": ("Res", 32100),
    "appt": ("Appt", 2900),
    "comm": ("CF", 314500),
    "claim": ("CF", 314500),
    "report": ("Inf", 2500),
}


class _FileNumbers:
    """File numbers per client style: ``O2026-0143``, ``CB 120845``, ``26-0412``, ``ORD 2026-014``."""

    def __init__(self, style: str) -> None:
        self.style = style
        self.counters: dict[tuple[str, int], int] = {}

    def _bump(self, key: tuple[str, int], start: int = 0) -> int:
        self.counters[key] = self.counters.get(key, start) + 1
        return self.counters[key]

    def next(self, type_key: str, year: int) -> str:
        if self.style == "seattle":
            prefix, start = _SEATTLE_FILES[type_key]
            return f"{prefix} {self._bump((prefix, 0), start)}"
        if self.style == "county":
            return f"{year % 100:02d}-{self._bump(('', year)):04d}"
        prefix = _FILE_PREFIXES[self.style][type_key]
        n = self._bump((prefix, year))
        return f"{prefix} {year}-{n:03d}" if self.style == "prefix-space" else f"{prefix}{year}-{n:04d}"


# --------------------------------------------------------------------------------------------- timelines


class _Timeline:
    """Builds the changes of one matter: meetings in order, each a history row that may set a status."""

    def __init__(self, gen: _ClientGenerator, matter: Matter, draft: _Draft, stale: bool) -> None:
        self.gen = gen
        self.client = gen.client
        self.profile = gen.profile
        self.rng = gen.rng
        self.matter = matter
        self.draft = draft
        self.stale = stale
        self.cursor = matter.intro.date()
        self.version = "1"
        self.committee = gen.committee_for(draft.template.topic)

    # where and when
    def meeting(self, body: Body, gap_min: int, gap_max: int) -> tuple[datetime, int] | None:
        earliest = self.cursor + timedelta(days=self.rng.randint(gap_min, gap_max))
        return self.gen.calendar.next_meeting(body, earliest)

    def office_day(self, gap_min: int, gap_max: int) -> datetime:
        day = self.cursor + timedelta(days=self.rng.randint(gap_min, gap_max))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, time(self.rng.randint(9, 16), self.rng.randrange(60)))

    def add(
        self,
        action_key: str,
        body: Body,
        when: datetime,
        event_id: int | None,
        *,
        stage: str | None = None,
        passed: bool | None = None,
        vote: bool = False,
        consent: int = 0,
        fields: tuple[tuple[str, Any], ...] = (),
        after: float = 0.0,
    ) -> Change:
        profile, rng, client = self.profile, self.rng, self.client
        status = client.status(profile.statuses[stage]) if stage and stage in profile.statuses else None
        action = client.action(profile.actions[action_key])
        mover = seconder = None
        tally = None
        action_text = None
        if vote:
            mover, seconder = rng.sample(self.gen.members, 2)
            if body is client.council:
                size = len(self.gen.members)
                noes = rng.choice((0, 0, 0, 1, 2, 3)) if passed else rng.randint(size // 2 + 1, size)
                tally = f"{size - noes}:{noes}"
            outcome = "carried" if passed else "failed"
            closing = "by the following vote:" if tally else "by a voice vote."
            action_text = (
                f"A motion was made by {mover.full}, seconded by {seconder.full}, that this "
                f"{self.matter.type.name} be {action.name}. The motion {outcome} {closing}"
            )
        sequence = self.gen.calendar.agenda_sequence(event_id) if event_id is not None else None
        action_date = (
            when if (profile.action_time and event_id is not None) else datetime.combine(when.date(), time())
        )
        history = History(
            id=0,  # numbered chronologically once every timeline is built
            action_date=action_date,
            action=action,
            body=body,
            text=action_text,
            event_id=event_id,
            agenda_sequence=sequence,
            minutes_sequence=sequence + rng.randint(0, 3) if sequence is not None else None,
            passed=passed,
            roll_call=(tally is not None) if vote else None,
            tally=tally,
            consent=consent,
            mover=mover,
            seconder=seconder,
            status=status,
            version=self.version,
        )
        # The clerk records meeting actions a few hours to a day after the meeting; office actions at once.
        delay = rng.uniform(2 * 3600, 26 * 3600) if event_id is not None else rng.uniform(0, 3600)
        at = self.client.utc_ts(when) + delay + after
        if event_id is not None:
            meeting_day = format_local(datetime.combine(when.date(), time()))
            fields = (("MatterAgendaDate", meeting_day), *fields)
            if profile.ex_date_hearing and body.type_name == "Committee":  # a custom "hearing date" field
                fields = (*fields, ("MatterEXDate2", meeting_day))
        change = Change(at, history=history, status=status, fields=fields, bumps=not self.stale)
        self.matter.changes.append(change)
        self.cursor = when.date()
        return change

    def body_fields(self, body: Body) -> tuple[tuple[str, Any], ...]:
        return (("MatterBodyId", body.id), ("MatterBodyName", body.name))

    def passed_fields(self, when: datetime) -> tuple[tuple[str, Any], ...]:
        return (("MatterPassedDate", format_local(datetime.combine(when.date(), time()))),)

    def attach(self, name: str, at: float, *, supporting: bool = False) -> None:
        attachments = self.matter.attachments
        attachments.append(Attachment(0, name, at, sort=len(attachments) + 1, supporting=supporting))

    # steps
    def at_council(self, gap_min: int, gap_max: int) -> tuple[datetime, int] | None:
        return self.meeting(self.gen.council, gap_min, gap_max)

    def introduce(self) -> bool:
        """The first action at council: referral to committee (or a first reading). False if none fits."""
        found = self.gen.calendar.next_meeting(self.gen.council, self.cursor)
        if found is None:
            return False
        when, event = found
        if self.profile.readings and self.draft.template.type_key == "ord":
            self.add("first_reading", self.gen.council, when, event, stage="first_reading")
            return True
        self.add(
            "intro_refer",
            self.gen.council,
            when,
            event,
            stage="referred",
            fields=self.body_fields(self.committee),
        )
        return True

    def committee_step(self, action_key: str, stage: str | None, gap: tuple[int, int], **kw: Any) -> bool:
        found = self.meeting(self.committee, *gap)
        if found is None:
            return False
        when, event = found
        self.add(action_key, self.committee, when, event, stage=stage, **kw)
        return True

    def council_step(
        self, action_key: str, stage: str | None, gap: tuple[int, int], **kw: Any
    ) -> datetime | None:
        found = self.at_council(*gap)
        if found is None:
            return None
        when, event = found
        self.add(action_key, self.gen.council, when, event, stage=stage, **kw)
        return when

    def build(self) -> None:
        plan: dict[str, Callable[[], None]] = {
            "ord": self.plan_ordinance,
            "agmt": self.plan_agreement,
            "res": self.plan_resolution,
            "procl": self.plan_proclamation,
            "appt": self.plan_appointment,
            "comm": self.plan_filing,
            "report": self.plan_filing,
            "claim": self.plan_claim,
        }
        plan[self.draft.template.type_key]()

    def hearing_gap(self) -> tuple[int, int]:
        if self.draft.hot:
            return (1, 10)
        return (3, 21) if self.rng.random() < 0.8 else (21, 60)

    def plan_ordinance(self) -> None:
        rng, profile = self.rng, self.profile
        kind = "Ordinance"
        self.attach(f"{kind} Text", self.matter.created_at + 60)
        if rng.random() < 0.45:
            self.attach("Fiscal Impact Statement", self.matter.created_at + 120, supporting=True)
        if not self.introduce():
            return
        roll = rng.random()
        if roll < 0.07:  # withdrawn by the sponsor
            self.council_step("withdraw", "withdrawn", (20, 120))
            return
        if roll < 0.28 and not self.draft.hot:  # dies in committee
            if rng.random() < 0.5:
                self.committee_step("held", "held", self.hearing_gap())
            return
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            if not self.committee_step("held", "held", self.hearing_gap()):
                return
        if rng.random() < 0.2:
            self.version = "2"
            if not self.committee_step("amend", None, self.hearing_gap(), fields=(("MatterVersion", "2"),)):
                return
            self.attach(f"{kind} Text (Amended)", self.matter.changes[-1].at + 30)
        failing = roll > 0.93
        if failing:
            if self.committee_step("recommend_deny", "reported", self.hearing_gap(), passed=False, vote=True):
                self.council_step("fail", "failed", (1, 10), passed=False, vote=True)
            return
        gap = (0, 7) if profile.readings else self.hearing_gap()
        if not self.committee_step("recommend", "reported", gap, passed=True, vote=True):
            return
        when = self.council_step("pass", "passed", (1, 10), passed=True, vote=True, fields=())
        if when is None:
            return
        change = self.matter.changes[-1]
        change.fields = (*change.fields, *self.passed_fields(when), *self.body_fields(self.gen.council))
        if rng.random() < 0.03 and change.history is not None:
            # Legistar sometimes records the same vote twice (the chicago "dupe" sample)
            duplicate = replace(change.history, id=0)
            self.matter.changes.append(Change(change.at + 41.5, history=duplicate, bumps=False))
        self.enact(when)

    def enact(self, passed_on: datetime) -> None:
        profile = self.profile
        number = self.gen.enactment_number(passed_on.year)
        if self.gen.executive is None:  # no mayor: the council's vote enacts it
            change = self.matter.changes[-1]
            change.fields = (
                *change.fields,
                ("MatterEnactmentDate", format_local(datetime.combine(passed_on.date(), time()))),
                ("MatterEnactmentNumber", number),
            )
            return
        when = self.office_day(2, 9)
        if self.rng.random() < 0.06 and "vetoed" in profile.statuses:
            self.add("veto", self.gen.executive, when, None, stage="vetoed")
            return
        enact = (
            ("MatterEnactmentDate", format_local(datetime.combine(when.date(), time()))),
            ("MatterEnactmentNumber", number),
        )
        change = self.add("sign", self.gen.executive, when, None, stage="enacted", fields=enact)
        self.attach("Signed Ordinance", change.at + 900)

    def plan_agreement(self) -> None:
        self.attach("Agreement", self.matter.created_at + 60)
        self.attach("Exhibit A - Scope of Services", self.matter.created_at + 90, supporting=True)
        if self.profile.types["agmt"] in ("Ordinance", "Council Bill"):
            self.plan_ordinance_like_approval(final_action="pass", stage="passed", enact=True)
        else:
            self.plan_ordinance_like_approval(final_action="approve", stage="approved", enact=False)

    def plan_ordinance_like_approval(self, *, final_action: str, stage: str, enact: bool) -> None:
        if not self.introduce():
            return
        if self.rng.random() < 0.15 and not self.draft.hot:
            return  # still pending
        if self.rng.random() < 0.2 and not self.committee_step("held", "held", self.hearing_gap()):
            return
        if not self.committee_step(
            "recommend_approve", "reported", self.hearing_gap(), passed=True, vote=True
        ):
            return
        when = self.council_step(final_action, stage, (1, 10), passed=True, vote=True, consent=1)
        if when is None:
            return
        change = self.matter.changes[-1]
        change.fields = (*change.fields, *self.passed_fields(when), *self.body_fields(self.gen.council))
        if enact:
            self.enact(when)

    def plan_resolution(self) -> None:
        self.attach("Resolution Text", self.matter.created_at + 60)
        rng = self.rng
        if rng.random() < 0.3 and not self.draft.hot:  # adopted on the day it is introduced
            self.adopt_directly()
            return
        if not self.introduce():
            return
        roll = rng.random()
        if roll < 0.12 and not self.draft.hot:
            return  # still in committee
        if roll < 0.18:
            self.council_step("withdraw", "withdrawn", (20, 90))
            return
        if roll > 0.94:
            if self.committee_step("recommend_deny", "reported", self.hearing_gap(), passed=False, vote=True):
                self.council_step("fail", "failed", (1, 10), passed=False, vote=True)
            return
        if not self.committee_step("recommend", "reported", self.hearing_gap(), passed=True, vote=True):
            return
        when = self.council_step("adopt", "adopted", (1, 10), passed=True, vote=True)
        if when is not None:
            change = self.matter.changes[-1]
            change.fields = (*change.fields, *self.passed_fields(when), *self.body_fields(self.gen.council))

    def adopt_directly(self) -> None:
        found = self.gen.calendar.next_meeting(self.gen.council, self.cursor)
        if found is None:
            return
        when, event = found
        self.add(
            "adopt",
            self.gen.council,
            when,
            event,
            stage="adopted",
            passed=True,
            consent=1,
            fields=self.passed_fields(when),
        )

    def plan_proclamation(self) -> None:
        self.attach(f"{self.matter.type.name} Text", self.matter.created_at + 60)
        self.adopt_directly()

    def plan_appointment(self) -> None:
        self.attach("Appointment Packet", self.matter.created_at + 60)
        if not self.introduce():
            return
        if self.rng.random() < 0.08:
            self.council_step("withdraw", "withdrawn", (10, 60))
            return
        if not self.committee_step(
            "recommend_approve", "reported", self.hearing_gap(), passed=True, vote=True
        ):
            return
        when = self.council_step("approve", "approved", (1, 10), passed=True, vote=True, consent=1)
        if when is not None:
            change = self.matter.changes[-1]
            change.fields = (*change.fields, *self.passed_fields(when), *self.body_fields(self.gen.council))

    def plan_filing(self) -> None:
        names = {"comm": "Communication", "report": "Report"}
        self.attach(names.get(self.draft.template.type_key, "Document"), self.matter.created_at + 60)
        if self.rng.random() < 0.7:
            self.council_step("file", "filed", (0, 3))
            return
        if self.introduce():
            self.committee_step("file", "filed", self.hearing_gap())

    def plan_claim(self) -> None:
        self.attach("Claim Form", self.matter.created_at + 60)
        if not self.introduce():
            return
        if self.rng.random() < 0.45:
            if self.committee_step(
                "recommend_approve", "reported", self.hearing_gap(), passed=True, vote=True
            ):
                self.council_step("approve", "approved", (1, 10), passed=True, consent=1)
        elif self.committee_step("recommend_deny", "reported", self.hearing_gap(), passed=False, vote=True):
            self.council_step("file", "filed", (1, 10), consent=1)


class _ClientGenerator:
    """Builds one demo client from its profile."""

    def __init__(self, profile: _Profile, seed: object, stale_fraction: float, now: datetime) -> None:
        self.profile = profile
        self.seed = seed
        self.rng = random.Random(f"{seed}/{profile.client}/data")
        self.stale_fraction = stale_fraction
        self.now = now
        self.start = now.date() - timedelta(days=DEMO_HISTORY_DAYS)  # the first intro date
        client = ClientData(profile.client, profile.display_name, profile.timezone, seed=seed)
        client.set_id_bases(
            matter=profile.id_base,
            history=profile.id_base * 5,
            attachment=profile.id_base * 2,
            rowversion_base=0x02400000 + profile.id_base * 16,
        )
        self.client = client
        self.council = client.body(profile.council, "Primary Legislative Body", members=len(profile.members))
        client.council = self.council
        self.executive = (
            client.body(profile.executive, "Office", members=1, meets=False) if profile.executive else None
        )
        schedules: dict[str, tuple[Body, _Schedule]] = {
            profile.council: (self.council, profile.council_schedule)
        }
        self.committees: dict[str, Body] = {}
        for topic, (name, schedule) in profile.committees.items():
            body = client.body(name, "Committee", members=5)
            self.committees[topic] = body
            schedules[name] = (body, schedule)
        self.calendar = _Calendar(
            schedules, self.start - timedelta(days=14), now.date() + timedelta(days=730), profile.event_base
        )
        self.members = [client.person(name) for name in profile.members]
        self.mayor = client.person(profile.executive_person) if profile.executive_person else None
        for key in ("introduced", *profile.statuses):
            client.status(profile.statuses[key])
        client.initial_status = profile.statuses["introduced"]
        for key, name in profile.actions.items():
            client.action(name)
            status_key = _ACTION_STAGE.get(key)
            if status_key in profile.statuses:
                client.action_for_status.setdefault(profile.statuses[status_key], name)
        for type_key in ("ord", "res", "appt", "comm", "report", "claim", "agmt", "procl"):
            client.matter_type(profile.types[type_key])
        self.files = _FileNumbers(profile.file_style)
        self.enactments: dict[int, int] = {}

    def committee_for(self, topic: str) -> Body:
        return self.committees[topic]

    def enactment_number(self, year: int) -> str:
        n = self.enactments[year] = self.enactments.get(year, 0) + 1
        style = self.profile.file_style
        if style == "seattle":
            return str(127100 + (year - 2025) * 400 + n)
        if style == "county":
            return f"Ord. No. {year}-{n:02d}"
        return f"SO{year}-{n:04d}" if style == "prefix-year" else f"Ord. {year}-{n:02d}"

    def drafts(self) -> list[_Draft]:
        profile, rng = self.profile, self.rng
        now_local = self.now.date()
        past_days = DEMO_HISTORY_DAYS
        # Councils get busier: intro dates are skewed towards the clock (their density grows linearly), and
        # the future keeps the recent pace (about 1.6 times the average).
        future = round(profile.matters * 1.6 * DEMO_FUTURE_DAYS / past_days)
        templates = _pick_templates(profile, rng, profile.matters + future)
        drafts: list[_Draft] = []
        hot_count = 0
        for i, template in enumerate(templates):
            hot = False
            relevant = template.label is not None and ":" in template.label
            if i >= profile.matters:
                filed = _weekday_between(
                    rng, now_local + timedelta(days=1), now_local + timedelta(DEMO_FUTURE_DAYS)
                )
            elif relevant and (hot_count < 3 or rng.random() < 0.2):
                # in flight around the clock, so that the first demo steps move it
                filed = _weekday_between(rng, now_local - timedelta(days=40), now_local - timedelta(days=3))
                hot, hot_count = True, hot_count + 1
            else:
                offset = int(past_days * rng.random() ** 0.5)
                filed = _weekday_between(
                    rng,
                    self.start + timedelta(days=max(0, offset - 2)),
                    self.start + timedelta(days=min(offset, past_days - 1)),
                )
            title = _fill(template.title, profile, rng, filed)
            drafts.append(_Draft(filed, template, title, self.sponsors_for(template), hot))
        drafts.sort(key=lambda d: d.filed)
        return drafts

    def sponsors_for(self, template: text.Template) -> tuple[Person, ...]:
        rng = self.rng
        if template.type_key in ("comm", "report", "claim"):
            return ()
        if template.type_key == "appt" or (template.requester and self.mayor is not None):
            return (self.mayor,) if self.mayor is not None else ()
        count = rng.choice((1, 1, 1, 2, 2, 3, 4))
        return tuple(rng.sample(self.members, count))

    def build(self) -> ClientData:
        client = self.client
        matters = [self.matter_for(draft) for draft in self.drafts()]
        if self.profile.kind == "county":
            matters.append(self.opaque_matter())
        self.number(matters)
        for matter in matters:
            client.add_generated_matter(matter)
        build_meetings(self, matters, self.seed)  # from its own random stream: the matters stay as they are
        client.finalize()
        client.finalize_events(item_id_base=self.profile.event_base * 40)
        return client

    def opaque_matter(self) -> Matter:
        """The demo's opaque title ("AGREEMENT - INMATE HOUSING ...") whose attached agreement says what it
        is, so that the matcher finds it from the document. Demo data, drawn from its own random stream so
        that the rest of the demo stays as it was."""
        saved, self.rng = self.rng, random.Random(f"{self.profile.client}/opaque")
        try:
            today = self.now.date()
            filed = _weekday_between(self.rng, today - timedelta(days=30), today - timedelta(days=10))
            template = text.OPAQUE_AGREEMENT
            matter = self.matter_for(_Draft(filed, template, template.title, (), hot=True))
        finally:
            self.rng = saved
        for att in matter.attachments:
            if att.name == "Agreement":
                att.paragraphs = text.opaque_agreement_text(self.profile.display_name)
        return matter

    def matter_for(self, draft: _Draft) -> Matter:
        client, rng = self.client, self.rng
        template = draft.template
        intro = datetime.combine(draft.filed, time())
        if template.type_key not in ("comm", "report", "claim"):
            # Introduced at a council meeting: the intro date is that meeting's date.
            found = self.calendar.next_meeting(self.council, draft.filed)
            if found is not None:
                intro = datetime.combine(found[0].date(), time())
        created = client.utc_ts(intro + timedelta(hours=rng.uniform(7.5, 9.5)))
        static: list[tuple[str, Any]] = []
        if template.requester:
            requester = template.requester
            if self.profile.kind == "county" and requester == "Police Department":
                requester = "Sheriff's Office"
            static.append(("MatterRequester", requester))
        if template.type_key == "agmt" and "$" in draft.title:
            amount = draft.title.split("$", 1)[1].split()[0].rstrip(",.")
            static.append(("MatterCost", float(amount.replace(",", ""))))
        type_name = self.profile.types[template.type_key]
        matter = Matter(
            id=client.allocate_matter_id(),
            file=self.files.next(template.type_key, intro.year),
            title=draft.title,
            type=client.matter_type(type_name),
            body=self.council,
            intro=intro,
            changes=[Change(created, status=client.status(self.profile.statuses["introduced"]))],
            name=template.name,
            sponsors=draft.sponsors,
            static=tuple(static),
            stale_last_modified=rng.random() < self.stale_fraction,
            restricted=template.type_key == "claim" and rng.random() < 0.1,
            label=template.label,
        )
        _Timeline(self, matter, draft, matter.stale_last_modified).build()
        if matter.attachments and rng.random() < 0.02:  # attachments repeat now and then
            first = matter.attachments[0]
            matter.attachments.append(
                Attachment(0, first.name, first.at + 5, sort=len(matter.attachments) + 1)
            )
        return matter

    def number(self, matters: list[Matter]) -> None:
        """Give history rows and attachments ids in the order they were recorded, as a database would."""
        changes = sorted(
            ((c.at, c.history) for m in matters for c in m.changes if c.history is not None),
            key=lambda x: x[0],
        )
        for _, history in changes:
            history.id = self.client.allocate_history_id()
        for _, att in sorted(((a.at, a) for m in matters for a in m.attachments), key=lambda x: x[0]):
            att.id = self.client.allocate_attachment_id()


_ACTION_STAGE = {
    "intro_refer": "referred",
    "first_reading": "first_reading",
    "held": "held",
    "recommend": "reported",
    "pass": "passed",
    "adopt": "adopted",
    "approve": "approved",
    "sign": "enacted",
    "veto": "vetoed",
    "fail": "failed",
    "withdraw": "withdrawn",
    "file": "filed",
}


def demo_portal(seed: int = 0, *, now: datetime = DEMO_NOW, stale_fraction: float = 0.1) -> Portal:
    """The offline demo: four fictional councils, ~350 matters so far plus ~80 to come, clock at ``now``.

    Deterministic for a given ``seed``. ``stale_fraction`` of the matters get their status changes without a
    new ``MatterLastModifiedUtc`` (the Legistar quirk). Advance with ``portal.advance(days=DEMO_STEP_DAYS)``.
    """
    profiles = _profiles(random.Random(f"{seed}/profiles"))
    clients = [_ClientGenerator(profile, seed, stale_fraction, now).build() for profile in profiles]
    return Portal(clients, now=now)


# --------------------------------------------------------------------------------------------- bulk

_BULK_STATUSES = (
    "Introduced",
    "In Committee",
    "Held in Committee",
    "Passed",
    "Adopted",
    "Failed",
    "Withdrawn",
)
_BULK_ACTIONS = ("Introduced", "Referred", "Held in Committee", "Passed", "Adopted", "Failed", "Withdrawn")


def bulk_portal(
    n_matters: int = 20000,
    n_histories: int = 100000,
    client: str = "bench",
    seed: int = 0,
    *,
    now: datetime = DEMO_NOW,
    stale_fraction: float = 0.1,
    years: int = 5,
) -> Portal:
    """A single large client for benchmarks: ``n_matters`` matters and exactly ``n_histories`` history rows.

    Everything is in the past (visible at ``now``), so a full crawl sees all of it. Each matter has one
    sponsor and one attachment. Use ``portal.client(client).touch_fraction(...)`` to change some statuses.
    """
    rng = random.Random(f"{seed}/{client}/bulk")
    data = ClientData(client, f"Benchmark Council ({client})", "America/Chicago", seed=seed)
    data.set_id_bases(matter=100000, history=1000000, attachment=500000, rowversion_base=0x03000000)
    council = data.body("City Council", "Primary Legislative Body", members=11)
    data.council = council
    committees = [
        data.body(name) for name in ("Finance Committee", "Public Safety Committee", "Land Use Committee")
    ]
    statuses: list[Status] = [data.status(name) for name in _BULK_STATUSES]
    actions: list[Action] = [data.action(name) for name in _BULK_ACTIONS]
    for status, action in zip(statuses, actions, strict=True):
        data.action_for_status[status.name] = action.name
    data.initial_status = statuses[0].name
    types = [data.matter_type(name) for name in ("Ordinance", "Resolution", "Appointment", "Report")]
    members = [
        data.person(f"{f} {last}")
        for f, last in zip(text.FIRST_NAMES[:11], text.LAST_NAMES[:11], strict=True)
    ]

    now_ts = now.timestamp()
    day = 86400.0
    span_days = years * 365
    start_ts = now_ts - span_days * day
    counts = [1 if n_histories >= n_matters else 0] * n_matters
    for _ in range(n_histories - sum(counts)):
        counts[rng.randrange(n_matters)] += 1
    date_strings: dict[int, str] = {}
    midnights: dict[int, datetime] = {}

    def local_day(offset: int) -> tuple[datetime, str]:
        if offset not in midnights:
            midnight = datetime.combine(
                datetime.fromtimestamp(start_ts, UTC).date() + timedelta(days=offset), time()
            )
            midnights[offset] = midnight
            date_strings[offset] = format_local(midnight)
        return midnights[offset], date_strings[offset]

    intro_offsets = sorted(rng.randrange(span_days - 2) for _ in range(n_matters))
    next_history = 0
    for i, intro_offset in enumerate(intro_offsets):
        matter_id = data.allocate_matter_id()
        intro, _ = local_day(intro_offset)
        created = start_ts + intro_offset * day + 14 * 3600
        matter = Matter(
            id=matter_id,
            file=f"{intro.year}-{matter_id % 100000:05d}",
            title=f"Benchmark matter {matter_id}: an ordinance amending Chapter {i % 97 + 1} of the Code",
            type=types[i % len(types)],
            body=council,
            intro=intro,
            changes=[Change(created, status=statuses[0])],
            sponsors=(members[i % len(members)],),
            stale_last_modified=rng.random() < stale_fraction,
        )
        remaining = span_days - 1 - intro_offset
        offsets = sorted(rng.randrange(remaining) + 1 for _ in range(counts[i]))
        bumps = not matter.stale_last_modified
        for j, offset in enumerate(offsets):
            when, when_text = local_day(intro_offset + offset)
            k = min(j + 1, 4)  # In Committee, Held in Committee, Passed, Adopted, Adopted...
            next_history += 1
            history = History(
                id=0,
                action_date=when,
                action=actions[k],
                body=committees[i % 3] if k < 3 else council,
                status=statuses[k],
                passed=True if k in (3, 4) else None,
            )
            at = start_ts + (intro_offset + offset) * day + 18 * 3600 + j
            change = Change(
                at, history=history, status=statuses[k], fields=(("MatterAgendaDate", when_text),)
            )
            change.bumps = bumps
            matter.changes.append(change)
        matter.attachments.append(Attachment(0, "Ordinance Text", created + 60, sort=1))
        data.add_generated_matter(matter)
    histories = sorted(
        (c for m in data.matters.values() for c in m.changes if c.history is not None), key=lambda c: c.at
    )
    for change in histories:
        if change.history is not None:
            change.history.id = data.allocate_history_id()
    for matter in data.matters.values():
        for att in matter.attachments:
            att.id = data.allocate_attachment_id()
    data.finalize()
    return Portal([data], now=now)
