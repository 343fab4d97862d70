"""Hearings, votes and members on the web pages (both engines): the bill page's next hearing (a moved one
with its old time, a cancelled one never next), its votes with the roll call per member linked to the
member pages, the next hearing on the review cards, the living list and the CSV exports, the members list
and a member's page (terms, sponsorships and votes on matched measures by direction), scraped names
escaped everywhere, and 404/400 for ids that name no member."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from tests.web.meeting_data import COMMENT, ESCAPED_HOSTILE, HOSTILE, World, build

ZONE = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def _shown(instant) -> str:
    local = instant.astimezone(ZONE)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_the_bill_page_shows_the_next_hearing_moved_with_its_old_time(client, login, world):
    login(client, "staff")
    page = client.get(f"/bills/{world.gang}")
    assert page.status_code == 200
    nh = _section(page.text, '<section class="next-hearing"', "</section>")
    moved_to = world.now + timedelta(days=12)
    was = world.now + timedelta(days=10)
    assert "<strong>Public Safety Committee</strong>" in nh
    assert f'<time datetime="{moved_to.astimezone(ZONE).isoformat()}">{_shown(moved_to)}</time>' in nh
    assert "moved" in nh and f"(was {_shown(was)})" in nh
    assert 'href="https://riverton.legistar.com/View.ashx?M=A&amp;ID=1"' in nh  # the agenda
    assert "clerk@riverton.gov before 5 pm &lt;b&gt;sharp&lt;/b&gt;" in nh  # comment instructions, escaped
    assert COMMENT not in page.text
    # the cancelled meeting is sooner, but never the next hearing: it is listed as cancelled
    cancelled = world.now + timedelta(days=3)
    head = nh.split('<table class="facts">')[0]
    assert _shown(cancelled) not in head
    assert re.search(r"cancelled</span> Public Safety Committee, " + re.escape(_shown(cancelled)), nh)
    # the location is scraped text: escaped
    assert ESCAPED_HOSTILE in nh and HOSTILE not in page.text


def test_a_bill_whose_only_hearing_was_cancelled_has_no_next_hearing(client, login, world):
    login(client, "staff")
    page = client.get(f"/bills/{world.detainers}")
    nh = _section(page.text, '<section class="next-hearing"', "</section>")
    assert "No upcoming meeting lists this bill on its agenda." in nh
    assert "cancelled</span>" in nh
    rink = client.get(f"/bills/{world.rink}").text
    assert "No upcoming meeting lists this bill on its agenda." in rink and "No votes recorded." in rink


def test_the_bill_page_shows_each_vote_with_its_roll_call_per_member(client, login, world):
    login(client, "staff")
    page = client.get(f"/bills/{world.gang}").text
    votes = _section(page, "<h2>Votes</h2>", "<h2>Status history</h2>")
    held = world.now - timedelta(days=5)
    assert _shown(held) in votes and "City Council" in votes
    assert "Vote: <strong>Passed</strong>" in votes
    assert "(1 yes, 1 no, 1 abstain, 1 absent)" in votes  # the tally from the roll call
    rows = re.findall(
        r'<tr class="vote-(\w+)"><td data-label="Member"><a href="/members/(\d+)">(.*?)</a>', votes
    )
    assert rows == [
        ("yes", str(world.ana), "Ana Ortiz"),
        ("no", str(world.bo), "Bo Chen"),
        ("absent", rows[2][1], "Cy Diaz"),
        ("abstain", str(world.hostile), ESCAPED_HOSTILE),
    ]
    assert HOSTILE not in page
    # the other bill's vote went the other way
    other = _section(
        client.get(f"/bills/{world.detainers}").text, "<h2>Votes</h2>", "<h2>Status history</h2>"
    )
    assert re.findall(r'<tr class="vote-(\w+)">.*?>([^<>]+)</a>', other) == [
        ("no", "Ana Ortiz"),
        ("yes", "Bo Chen"),
    ]
    # sponsors link to the member pages, joined by name key ("Bo  Chen." is Bo Chen)
    sponsors = _section(page, "<tr><th>Sponsors</th>", "</tr>")
    assert f'<a href="/members/{world.ana}">Ana Ortiz</a> (primary)' in sponsors
    assert f'<a href="/members/{world.bo}">Bo  Chen.</a>' in sponsors


def test_the_bill_page_takes_a_fixed_number_of_queries(client, login, world, engine):
    login(client, "staff")
    counts = []
    for bill_id in (world.gang, world.detainers, world.rink):
        statements: list[str] = []

        def count(*args, statements=statements):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/bills/{bill_id}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    # the same queries whatever the number of hearings, votes and members (4 voters, or 2), and a few more
    # than for a bill without any
    assert counts[0] == counts[1] and counts[0] <= counts[2] + 6, counts


def test_review_cards_living_list_and_csv_exports_show_the_next_hearing(client, login, world):
    login(client, "editor")
    moved_to = world.now + timedelta(days=12)
    at = moved_to.astimezone(ZONE).isoformat()
    review = client.get("/review?state=confirmed").text
    card = _section(review, f'id="bill-{world.gang}"', "</article>")
    assert "Next hearing: <strong>Public Safety Committee</strong>" in card and _shown(moved_to) in card
    assert "Next hearing" not in _section(review, f'id="bill-{world.detainers}"', "</article>")
    living = client.get("/living-list").text
    assert f'<time datetime="{at}">{_shown(moved_to)}</time> Public Safety Committee' in living
    md = client.get("/living-list.md").text
    gang_row = next(x for x in md.splitlines() if "O2026\\-0053" in x)
    local = moved_to.astimezone(ZONE)
    assert gang_row.endswith(f"| {local:%Y\\-%m\\-%d %H\\:%M} Public Safety Committee |"), gang_row
    assert next(x for x in md.splitlines() if "O2026\\-0054" in x).endswith("| - |")
    for path in ("/living-list.csv", "/review.csv?state=confirmed", "/search.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        rows = {r["identifier"]: r for r in csv.DictReader(io.StringIO(response.text))}
        assert rows["O2026-0053"]["next_hearing_at"] == at, path
        assert rows["O2026-0053"]["next_hearing_body"] == "Public Safety Committee", path
        assert rows["O2026-0054"]["next_hearing_at"] == "" and rows["O2026-0054"]["next_hearing_body"] == ""


def test_the_member_page_lists_terms_sponsorships_and_votes_by_direction(client, login, world):
    login(client, "staff")
    page = client.get(f"/members/{world.ana}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Ana Ortiz</h1>" in text
    terms = _section(text, "<h2>Bodies and terms</h2>", "</table>")
    assert '<tr class="current">' in terms and "City Council" in terms and "Council Member" in terms
    assert "Public Safety Committee" in terms and "2024-12-31" in terms
    sponsored = _section(text, "<h2>Sanctuary-related measures sponsored (2)</h2>", "<h2>Votes")
    # the gang bill expands, the detainers bill restricts (the editor's correction); the rink is not matched
    expands = _section(sponsored, "<h3>Expands sanctuary (1)</h3>", "</table>")
    restricts = _section(sponsored, "<h3>Restricts sanctuary (1)</h3>", "</table>")
    assert f'href="/bills/{world.gang}"' in expands and f'href="/bills/{world.detainers}"' in restricts
    assert f'href="/bills/{world.rink}"' not in text
    votes = text[text.index("<h2>Votes on sanctuary-related measures (2)</h2>") :]
    v_expands = _section(votes, "<h3>Expands sanctuary (1)</h3>", "</table>")
    v_restricts = _section(votes, "<h3>Restricts sanctuary (1)</h3>", "</table>")
    assert f'href="/bills/{world.gang}"' in v_expands and "<strong>yes</strong>" in v_expands
    assert f'href="/bills/{world.detainers}"' in v_restricts and "<strong>no</strong>" in v_restricts
    assert "Vote: Passed" in v_expands


def test_the_members_list_and_hostile_names_are_escaped(client, login, world):
    login(client, "staff")
    listing = client.get("/members")
    assert listing.status_code == 200
    for member_id, name in (
        (world.ana, "Ana Ortiz"),
        (world.bo, "Bo Chen"),
        (world.hostile, ESCAPED_HOSTILE),
    ):
        assert f'<a href="/members/{member_id}">{name}</a>' in listing.text
    assert HOSTILE not in listing.text
    assert "City Council" in _section(listing.text, f'href="/members/{world.ana}"', "</tr>")
    one_city = client.get("/members?jurisdiction=riverton")
    assert one_city.status_code == 200 and "Ana Ortiz" in one_city.text
    assert client.get("/members?jurisdiction=nowhere").status_code == 400
    hostile = client.get(f"/members/{world.hostile}")
    assert hostile.status_code == 200
    assert f"<h1>{ESCAPED_HOSTILE}</h1>" in hostile.text and HOSTILE not in hostile.text
    assert "No recorded votes on such measures." not in hostile.text  # abstained on the gang bill


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/members/999999", 404),
        ("/members/abc", 400),
        ("/members/-1", 400),
        ("/members/1.5", 400),
        ("/members/99999999999999999999999", 400),
        ("/members/%3Cscript%3E", 400),
    ],
)
def test_member_ids_that_name_no_member(client, login, world, path, status):
    login(client, "staff")
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status, response.text
    assert "<script>" not in response.text
    assert "Traceback" not in response.text


def test_members_pages_need_a_login(client, world):
    assert client.get("/members").status_code in (303, 401)
    assert client.get(f"/members/{world.ana}").status_code in (303, 401)


def test_a_hearing_link_that_is_not_http_is_never_a_link(client, login, world, engine):
    from db.engine import session_scope
    from db.models import Bill
    from tests.factories import hearing

    with session_scope(engine) as s:
        hearing(
            s,
            [s.get(Bill, world.rink)],
            world.now + timedelta(days=20),
            observed_at=world.now - timedelta(hours=1),
            agenda_url="javascript:alert(1)",
            body=HOSTILE,
        )
    login(client, "staff")
    page = client.get(f"/bills/{world.rink}").text
    nh = _section(page, '<section class="next-hearing"', "</section>")
    assert "javascript:" not in page
    assert "no agenda link yet" in nh
    assert f"<strong>{ESCAPED_HOSTILE}</strong>" in nh and HOSTILE not in page
    item = client.get(f"/api/bills/{world.rink}").json()
    assert item["next_hearing"]["agenda_url"] is None and item["next_hearing"]["body"] == HOSTILE


def test_a_member_page_follows_the_member_through_a_prefilled_subscription_form(client, login, world):
    login(client, "staff", username="ana", email="ana@example.org")
    page = client.get(f"/members/{world.ana}")
    link = f'href="/subscriptions?member={world.ana}#new"'
    assert link in page.text and "Follow Ana Ortiz" in page.text
    form = client.get(f"/subscriptions?member={world.ana}")
    assert form.status_code == 200
    assert 'name="member" maxlength="300" value="riverton:Ana Ortiz"' in form.text
    # a reference to no member, or not a number, leaves the form empty (never an error)
    for ref in ("999999", "abc", "-1", "1" * 30):
        other = client.get("/subscriptions", params={"member": ref})
        assert other.status_code == 200
        assert 'name="member" maxlength="300" value=""' in other.text
    # the pre-filled form subscribes to the member
    r = client.post(
        "/subscriptions",
        data={
            "csrf_token": client.csrf,
            "member": "riverton:Ana Ortiz",
            "frequency": "daily",
            "email_enabled": "1",
        },
    )
    assert r.status_code == 303


def test_a_followed_bill_page_links_the_calendar_of_its_hearings(client, login, world):
    login(client, "staff", username="ana", email="ana@example.org")
    assert "Calendar feed of this bill" not in client.get(f"/bills/{world.gang}").text
    client.post(f"/bills/{world.gang}/follow", data={"csrf_token": client.csrf})
    page = client.get(f"/bills/{world.gang}")
    found = re.search(r'<a href="(/calendar/subscriptions/[^"]+\.ics)">Calendar feed of this bill', page.text)
    assert found
    client.cookies.clear()  # a calendar app has no session: the secret link is enough
    feed = client.get(found.group(1))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert b"Public Safety Committee" in feed.content and b"BEGIN:VEVENT" in feed.content
