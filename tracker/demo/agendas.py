"""Generating the demo councils' meetings (:mod:`tracker.demo.events`) from their calendars and matters.

Every regular meeting of the calendar that the matters' timelines use (:class:`tracker.demo.data._Calendar`)
becomes an event with the same EventId as the ``MatterHistoryEventId`` of the history rows it explains; its
agenda lists those matters (each item on the agenda a few weeks ahead, its outcome, tally and roll call
shown once the clerk records the history row). Then, from the client's own random stream (the matters stay
exactly as they were):

* roll calls: every council vote with a tally gets one vote per member, absences included (the history
  row's tally is made to agree: ayes and nays of those present; a motion that carried has more ayes than
  nays, one that failed no more);
* moves: a few meetings were first announced at another date or time and moved to the one they are held at
  (so every history row stays true);
* cancellations: a few regular meetings with no business are cancelled, after matters pending in that
  committee were placed on their agendas;
* around the starting clock, for each council, one meeting with a sanctuary-related matter on its agenda is
  moved and one is cancelled during the first demo step (:data:`tracker.demo.data.DEMO_STEP_DAYS`), both
  still upcoming after it, so that the demo's second crawl sees a hearing moved and one cancelled;
* office records: the council's members with their terms (and an earlier term for some), committee seats,
  the mayor.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from tracker.demo.events import CANCEL_STYLES, Event, EventItem, OfficeRecord
from tracker.demo.model import Body, Change, Matter, Person

if TYPE_CHECKING:
    from tracker.demo.data import _ClientGenerator

DAY = 86400.0
HOUR = 3600.0
LISTED_DAYS = 90  # a regular meeting is on the calendar this long ahead
ITEM_LEAD_DAYS = 21  # a matter is placed on an agenda at most this long ahead
AGENDA_DAYS = 6  # the final agenda (and its PDF) is published this many days ahead
MOVE_SHARE = 0.04
CANCEL_SHARE = 0.06
_PENDING_KEYS = ("intro_refer", "held", "amend", "first_reading")
_CANCEL_STYLE = {"riverton": 0, "portalder": 1, "lakesidecounty": 3, "northhalden": 2}


@dataclass
class _Placed:
    """Where a matter item's ``at`` comes from: the change before it, and the matter's creation."""

    item: EventItem
    prev_at: float
    created_at: float


@dataclass
class _Pending:
    """A matter waiting for ``committee`` from ``since`` (local date) until ``until`` (None: open)."""

    matter: Matter
    committee: Body
    change: Change
    since: date
    until: date | None


def build_meetings(gen: _ClientGenerator, matters: list[Matter], seed: object) -> None:
    _MeetingBuilder(gen, matters, seed).build()


class _MeetingBuilder:
    def __init__(self, gen: _ClientGenerator, matters: list[Matter], seed: object) -> None:
        self.gen = gen
        self.client = gen.client
        self.profile = gen.profile
        self.matters = sorted(matters, key=lambda m: m.id)
        self.rng = random.Random(f"{seed}/{gen.profile.client}/meetings")
        self.t0 = gen.now.timestamp()
        self.events: dict[int, Event] = {}
        self.placed: dict[int, list[_Placed]] = {}  # event id -> matter items
        self.special: set[int] = set()  # events moved or cancelled on purpose around the clock

    def build(self) -> None:
        self.roll_calls()
        self.calendar_events()
        self.matter_items()
        pending = self.pending()
        self.force_move()
        self.force_cancel(pending)
        self.random_moves_and_cancellations(pending)
        self.place_items()
        self.office_records()
        self.client.events = self.events

    # ---------------------------------------------------------------- roll calls

    def roll_calls(self) -> None:
        members = self.gen.members
        absent: dict[int, tuple[list[str], str]] = {}
        done: dict[tuple[int, int | None, int | None], tuple[tuple[tuple[Person, str], ...], str]] = {}
        rng = self.rng
        for matter in self.matters:
            for change in matter.changes:
                history = change.history
                if history is None or not history.roll_call or history.tally is None:
                    continue
                key = (matter.id, history.event_id, history.agenda_sequence)
                if key in done:  # a duplicated history row: the same vote
                    history.votes, history.tally = done[key]
                    continue
                event_id = history.event_id if history.event_id is not None else -matter.id
                if event_id not in absent:
                    count = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
                    away = [p.full for p in rng.sample(members, count)]
                    absent[event_id] = (away, rng.choice(("Absent", "Absent", "Excused")))
                away, word = absent[event_id]
                present = [p for p in members if p.full not in away]
                noes_wanted = int(history.tally.split(":")[1])
                noes = set(p.full for p in rng.sample(present, min(noes_wanted, len(present))))
                if history.passed:
                    # a motion that carried had more ayes than nays among the members present: with the
                    # absentees decided, the nays past that number (in the members' order) vote aye; the
                    # random stream is drawn as before, so the rest of the demo stays the same
                    most = (len(present) - 1) // 2
                    order = [p.full for p in present if p.full in noes]
                    noes = set(order[:most])
                abstain: set[str] = set()
                ayes_left = [p for p in present if p.full not in noes]
                if history.passed and len(ayes_left) > len(noes) + 2 and rng.random() < 0.08:
                    abstain = {rng.choice(ayes_left).full}
                cast: list[tuple[Person, str]] = []
                for person in members:
                    if person.full in away:
                        value = word
                    elif person.full in noes:
                        value = "Nay"
                    elif person.full in abstain:
                        value = "Abstain"
                    else:
                        value = "Aye"
                    cast.append((person, value))
                ayes = sum(1 for _, v in cast if v == "Aye")
                history.votes = tuple(cast)
                history.tally = f"{ayes}:{len(noes)}"
                done[key] = (history.votes, history.tally)

    # ---------------------------------------------------------------- events

    def calendar_events(self) -> None:
        client, profile = self.client, self.profile
        county = profile.kind == "county"
        hall = "County Administration Building" if county else f"{profile.place} City Hall"
        comment = (
            "Public comment: speak in person at the meeting, or send written comments to "
            f"clerk@{profile.client}.example.org by 12:00 PM on the day of the meeting. "
            f"Watch live: https://{profile.client}.example.org/live"
        )
        rooms = {}
        for index, body in enumerate(
            sorted({b.id: b for b in self.gen.committees.values()}.values(), key=_id)
        ):
            rooms[body.id] = (
                f"{hall}, Committee Room {'ABC'[index % 3]}",
                comment if index % 2 == 0 else None,
            )
        council = self.gen.council
        rooms[council.id] = (f"{hall}, {'Board Chambers' if county else 'Council Chambers'}", comment)
        for when, event_id, body_id in self.gen.calendar.meetings():
            body = client.bodies[body_id]
            location, note = rooms[body_id]
            day = when.date()
            self.events[event_id] = Event(
                id=event_id,
                body=body,
                schedule=[(self.at(day - timedelta(days=LISTED_DAYS), 9), when)],
                location=location,
                agenda_at=self.at(day - timedelta(days=AGENDA_DAYS), 15),
                minutes_at=self.at(day + timedelta(days=self.rng.randint(5, 12)), 11),
                comment=note,
                cancel_style=CANCEL_STYLES[_CANCEL_STYLE.get(profile.client, 0)],
            )

    def at(self, day: date, hour: int, minute: int = 0) -> float:
        return self.client.utc_ts(datetime.combine(day, time(hour, minute)))

    def matter_items(self) -> None:
        for matter in self.matters:
            changes = sorted(matter.changes, key=lambda c: c.at)
            seen: set[tuple[int, int | None]] = set()
            for i, change in enumerate(changes):
                history = change.history
                if history is None or history.event_id is None or history.event_id not in self.events:
                    continue
                key = (history.event_id, history.agenda_sequence)
                if key in seen:  # the duplicated history row of one vote: one agenda item
                    continue
                seen.add(key)
                sequence = history.agenda_sequence or 1
                item = EventItem(0, sequence, 0.0, matter.title, matter, change, number=str(sequence))
                self.note(item)
                prev_at = changes[i - 1].at if i else matter.created_at
                self.placed.setdefault(history.event_id, []).append(_Placed(item, prev_at, matter.created_at))

    def note(self, item: EventItem) -> None:
        rng = self.rng
        if rng.random() < 0.15:
            item.agenda_note = rng.choice(
                (
                    "Staff report attached.",
                    "Public hearing.",
                    "The sponsor requests that this item be heard with the related items.",
                )
            )
        if rng.random() < 0.35:
            speakers = rng.randint(1, 9)
            item.minutes_note = (
                f"There {'was 1 speaker' if speakers == 1 else f'were {speakers} speakers'} on this item."
            )

    def pending(self) -> list[_Pending]:
        profile, client = self.profile, self.client
        waiting = {profile.actions[k] for k in _PENDING_KEYS if k in profile.actions}
        out = []
        for matter in self.matters:
            histories = [c for c in sorted(matter.changes, key=lambda c: c.at) if c.history is not None]
            committee = next(
                (c.history.body for c in histories if c.history and c.history.body.type_name == "Committee"),
                None,
            )
            if committee is None:
                body_id = next((v for c in histories for k, v in c.fields if k == "MatterBodyId"), None)
                found = client.bodies.get(body_id) if isinstance(body_id, int) else None
                committee = found if found is not None and found.type_name == "Committee" else None
            if committee is None:
                continue
            for i, change in enumerate(histories):
                history = change.history
                if history is None or history.action.name not in waiting:
                    continue
                nxt = histories[i + 1].history if i + 1 < len(histories) else None
                until = nxt.action_date.date() if nxt is not None else None
                out.append(_Pending(matter, committee, change, history.action_date.date(), until))
        return out

    def waiting_on(self, pending: list[_Pending], event: Event, before: float) -> list[_Pending]:
        """Matters pending in ``event``'s committee on its date, whose wait began before ``before``."""
        day = event.held_start.date()
        return [
            p
            for p in pending
            if p.committee.id == event.body.id
            and p.since < day - timedelta(days=2)
            and ((p.until is None and (day - p.since).days <= 90) or (p.until is not None and p.until > day))
            and p.change.at < before
            and p.matter.created_at < before
        ]

    def start_ts(self, event: Event) -> float:
        return self.client.utc_ts(event.held_start)

    def empty(self, event: Event) -> bool:
        return event.id not in self.placed

    def ahead(self, event: Event, low_days: float, high_days: float) -> bool:
        return self.t0 + low_days * DAY <= self.start_ts(event) <= self.t0 + high_days * DAY

    def force_move(self) -> None:
        """A meeting with a sanctuary-related matter (else any matter) on its agenda before the clock, moved
        during the first demo step, still upcoming after it."""
        for relevant in (True, False):
            for event in sorted(self.events.values(), key=lambda e: e.held_start):
                if not self.ahead(event, 16, 50):
                    continue
                items = [p.item.matter for p in self.placed.get(event.id, [])]
                if not any(m is not None and self.known(m) and (_relevant(m) or not relevant) for m in items):
                    continue
                options = [timedelta(days=2), timedelta(days=-2), timedelta(hours=3), timedelta(days=1)]
                options = [  # first announced on a weekday, and still ahead after the first demo step
                    d
                    for d in options
                    if (event.held_start + d).weekday() < 5
                    and self.client.utc_ts(event.held_start + d) > self.t0 + 15 * DAY
                ]
                announced = event.held_start + self.rng.choice(options)
                self.reschedule(event, announced, self.t0 + self.rng.uniform(2, 12) * DAY)
                self.special.add(event.id)
                return

    def known(self, matter: Matter) -> bool:
        """Whether ``matter`` was introduced and referred a day before the clock."""
        first = next((c for c in sorted(matter.changes, key=lambda c: c.at) if c.history is not None), None)
        return first is not None and first.at < self.t0 - DAY

    def force_cancel(self, pending: list[_Pending]) -> None:
        """A committee meeting with a sanctuary-related matter (else any matter) pending in that committee on
        its agenda before the clock, cancelled during the first demo step, its date still ahead after it."""
        for relevant in (True, False):
            for event in sorted(self.events.values(), key=lambda e: e.held_start):
                if (
                    event.body.type_name != "Committee"
                    or not self.empty(event)
                    or not self.ahead(event, 15, 50)
                ):
                    continue
                if self.cancel_during_first_step(event, pending, relevant):
                    return
        self.cancel_a_special_meeting(pending)

    def cancel_during_first_step(self, event: Event, pending: list[_Pending], relevant: bool) -> bool:
        """Cancel ``event`` during the first demo step, with up to three matters waiting in its committee
        (known before the clock) on its agenda, sanctuary-related ones first; only when one of them is
        sanctuary-related, unless ``relevant`` is False. Whether it was cancelled."""
        waiting = [p for p in self.waiting_on(pending, event, float("inf")) if self.known(p.matter)]
        if not any(_relevant(p.matter) or not relevant for p in waiting):
            return False
        waiting.sort(key=lambda p: (not _relevant(p.matter), p.matter.id))
        chosen = list({p.matter.id: p for p in waiting}.values())[:3]
        self.cancel(event, self.t0 + self.rng.uniform(2, 12) * DAY, chosen)
        self.special.add(event.id)
        return True

    def cancel_a_special_meeting(self, pending: list[_Pending]) -> None:
        """When every committee meeting 15 to 50 days ahead already has business (some weeks of a council's
        calendar), a committee with a sanctuary-related matter (else any matter) waiting in it calls a
        special meeting four weeks ahead, listed before the clock, and cancels it during the first demo step:
        the demo shows a hearing cancelled on every date."""
        day = datetime.fromtimestamp(self.t0, self.client.tz).date() + timedelta(days=28)
        while day.weekday() > 3:  # Monday to Thursday
            day += timedelta(days=1)
        regular = {e.body.id: e for e in sorted(self.events.values(), key=lambda e: e.id)}
        committees = [e for body_id, e in sorted(regular.items()) if e.body.type_name == "Committee"]
        for relevant in (True, False):
            for model in committees:
                event = Event(
                    id=max(self.events) + 1,
                    body=model.body,
                    schedule=[(self.t0 - 10 * DAY, datetime.combine(day, time(14, 0)))],
                    location=model.location,
                    agenda_at=self.at(day - timedelta(days=AGENDA_DAYS), 15),
                    minutes_at=self.at(day + timedelta(days=7), 11),
                    comment="Special meeting",
                    cancel_style=model.cancel_style,
                )
                if self.cancel_during_first_step(event, pending, relevant):
                    self.events[event.id] = event
                    return

    def random_moves_and_cancellations(self, pending: list[_Pending]) -> None:
        rng = self.rng
        first = min((self.start_ts(e) for e in self.events.values()), default=0.0) + 30 * DAY
        for event in sorted(self.events.values(), key=lambda e: e.id):
            if event.id in self.special or self.start_ts(event) < first:
                continue
            roll = rng.random()
            if roll < MOVE_SHARE:
                deltas = (
                    timedelta(days=1),
                    timedelta(days=-1),
                    timedelta(days=2),
                    timedelta(hours=2),
                    timedelta(hours=-1),
                )
                delta = rng.choice([d for d in deltas if (event.held_start + d).weekday() < 5])
                announced = event.held_start + delta
                earliest = min(self.start_ts(event), self.client.utc_ts(announced))
                self.reschedule(event, announced, earliest - rng.uniform(3, 12) * DAY)
            elif roll < MOVE_SHARE + CANCEL_SHARE and self.empty(event):
                cancelled_at = self.start_ts(event) - rng.uniform(1, 10) * DAY
                waiting = self.waiting_on(pending, event, cancelled_at - DAY)
                self.cancel(event, cancelled_at, rng.sample(waiting, min(3, len(waiting))))

    def reschedule(self, event: Event, announced: datetime, moved_at: float) -> None:
        held = event.held_start
        listed_at = self.at(min(announced, held).date() - timedelta(days=LISTED_DAYS), 9)
        event.schedule = [(listed_at, announced), (max(moved_at, listed_at + DAY), held)]

    def cancel(self, event: Event, at: float, waiting: Iterable[_Pending]) -> None:
        event.cancelled_at = max(at, event.listed_at + DAY)
        for sequence, p in enumerate(waiting, start=1):
            item = EventItem(0, sequence, 0.0, p.matter.title, p.matter, None, number=str(sequence))
            if self.rng.random() < 0.5:
                item.agenda_note = "Continued from a prior meeting."
            self.placed.setdefault(event.id, []).append(_Placed(item, p.change.at, p.matter.created_at))

    # ---------------------------------------------------------------- agendas

    def place_items(self) -> None:
        for event in self.events.values():
            start = self.start_ts(event)
            lead = ITEM_LEAD_DAYS * DAY
            last = 0
            for placed in sorted(self.placed.get(event.id, []), key=lambda p: p.item.sequence):
                item = placed.item
                at = min(max(placed.prev_at + HOUR, start - lead), start - 2 * HOUR)
                if event.id in self.special and self.known(placed.item.matter):  # type: ignore[arg-type]
                    at = min(at, self.t0 - DAY)  # on the agenda before the demo's first crawl
                item.at = max(at, placed.created_at + 60, event.listed_at)
                if event.cancelled_at is not None and item.at >= event.cancelled_at:
                    continue
                event.items.append(item)
                last = max(last, item.sequence)
            opening = max(event.listed_at, start - lead)
            comment = EventItem(0, last + 1, opening, "Public Comment")
            comment.agenda_note = (
                event.comment or "Members of the public may address the body on agenda items."
            )
            comment.minutes_note = f"{self.rng.randint(0, 12)} speakers spoke during Public Comment."
            event.items.append(comment)
            event.items.append(EventItem(0, last + 2, opening, "Adjournment"))

    # ---------------------------------------------------------------- office records

    def office_records(self) -> None:
        gen, rng = self.gen, self.rng
        year = gen.now.year
        start, end = date(year - 1, 1, 4), date(year + 2, 12, 31)
        county = self.profile.kind == "county"
        records: list[OfficeRecord] = []

        def seat(person: Person, body: Body, title: str, begin: date, finish: date) -> None:
            records.append(
                OfficeRecord(
                    id=self.profile.id_base // 10 + len(records) + 1,
                    person=person,
                    body=body,
                    title=title,
                    start=begin,
                    end=finish,
                    sort=len(records) + 1,
                )
            )

        for index, person in enumerate(gen.members):
            if index == 0:
                title = "Chair of the Board" if county else "Council President"
            else:
                title = "Supervisor" if county else "Council Member"
            if index < 3:  # re-elected: an earlier term too
                seat(
                    person,
                    gen.council,
                    "Supervisor" if county else "Council Member",
                    date(year - 5, 1, 4),
                    start - timedelta(days=1),
                )
            seat(person, gen.council, title, start, end)
        for body in sorted({b.id: b for b in gen.committees.values()}.values(), key=_id):
            for index, person in enumerate(rng.sample(gen.members, min(5, len(gen.members)))):
                title = ("Chair", "Vice Chair")[index] if index < 2 else "Member"
                seat(person, body, title, start + timedelta(days=14), end)
        if gen.mayor is not None and gen.executive is not None:
            seat(gen.mayor, gen.executive, "Mayor", start, end)
        self.client.office_records = records


def _id(body: Body) -> int:
    return body.id


def _relevant(matter: Matter | None) -> bool:
    """Sanctuary-related (the demo's ground truth, never served)."""
    return matter is not None and matter.label is not None and ":" in matter.label
