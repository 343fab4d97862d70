"""The other pages in a real browser: logging in (a wrong password shows the error) and out, search with
its filters, a bill's page with its timeline in order, managing one's subscriptions and feed link, and a
scraped ``<script>`` title shown as text on every page that lists it (no dialog ever opens).
On SQLite only: the server side of every step runs on both engines without a browser
(tests/web/browser/conftest.py names the tests)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Subscription
from tests.factories import DETAINERS, GANG, RINK, XSS, days_ago, make_bill, status_change
from tests.web.browser.support import label, unique_slug
from tests.web.helpers import PASSWORD


def test_login_wrong_password_then_logout(page: Page, login, site):
    page.goto("/review")
    expect(page).to_have_url(re.compile(r"/login\?next=/review$"))
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Username")).to_have_value("editor")  # kept; the password is not

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/review$"))  # back where the login was asked for
    expect(page.get_by_text("Logged in as editor.")).to_be_visible()
    expect(page.get_by_text("editor (editor)")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("Logged out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    assert page.context.request.get("/api/bills").status == 401


def test_search_with_filters(page: Page, login, site):
    slug = unique_slug()
    word = unique_slug("w")  # a word in no other test's bills
    gang = make_bill(site.engine, f"{GANG} {word}", slug=slug, stage="in_committee",
                     introduced=date(2026, 10, 1))  # fmt: skip
    detainers = make_bill(site.engine, f"{DETAINERS} {word}", slug=slug, introduced=date(2026, 11, 1))
    make_bill(site.engine, f"{RINK} {word}", slug=unique_slug())  # another city, not relevant
    in_action = make_bill(site.engine, RINK, slug=slug, actions=[(date(2026, 11, 3), "Hearing", f"{word}x")])
    login(page, "staff")
    page.get_by_role("link", name="Search", exact=True).first.click()
    expect(page.get_by_role("heading", name="Search bills")).to_be_visible()

    page.get_by_label("Text").fill(word.upper())  # case-insensitive
    page.get_by_role("button", name="Filter").click()
    results = page.get_by_role("table").get_by_role("row")
    expect(results).to_have_count(1 + 4)  # the header and four bills (one by its action text)
    expect(page.get_by_text("1\N{EN DASH}4 of 4")).to_be_visible()
    expect(results.nth(1)).to_contain_text(DETAINERS)  # newest introduced first
    expect(results.nth(2)).to_contain_text(GANG)

    page.get_by_label(label("City")).select_option(slug)
    page.get_by_role("button", name="Filter").click()
    expect(results).to_have_count(1 + 3)
    page.get_by_label(label("Category")).select_option("gang_databases")
    page.get_by_role("button", name="Filter").click()
    expect(results).to_have_count(1 + 1)
    expect(results.nth(1)).to_contain_text(GANG)
    expect(page.get_by_label(label("Category"))).to_have_value("gang_databases")  # filters kept on the page
    expect(page.get_by_label("Text")).to_have_value(word.upper())

    page.get_by_label(label("Category")).select_option("")
    page.get_by_label(label("Stage")).select_option("in_committee")
    page.get_by_role("button", name="Filter").click()
    expect(results).to_have_count(1 + 1)
    page.get_by_label(label("Stage")).select_option("")
    page.get_by_label(label("Review")).select_option("none")  # not in review: the rink, found by its action
    page.get_by_role("button", name="Filter").click()
    expect(results).to_have_count(1 + 1)
    expect(results.nth(1).get_by_role("link").first).to_have_attribute("href", f"/bills/{in_action}")

    page.get_by_label("Text").fill(f"{word} nowhere{word}")  # every word must match
    page.get_by_label(label("Review")).select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No bills match.")).to_be_visible()

    page.get_by_label("Text").fill(word)
    page.get_by_label(label("City")).select_option(slug)
    page.get_by_role("button", name="Filter").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these results as CSV").click()
    csv_text = Path(download.value.path()).read_text(encoding="utf-8")
    assert csv_text.startswith("id,jurisdiction,city")
    ids = [line.split(",")[0] for line in csv_text.splitlines()[1:]]
    assert ids == [str(detainers), str(gang), str(in_action)]  # newest introduced first, undated last


def test_bill_page_shows_its_timeline_in_order(page: Page, login, site):
    slug = unique_slug()
    bill = make_bill(
        site.engine, GANG, slug=slug, identifier="O2026-7001", status="Passed", stage="passed",
        introduced=date(2026, 11, 2), sponsors=["Ana Ortiz", "Bo Chen"],
        actions=[
            (date(2026, 11, 2), "Introduced", None),
            (date(2026, 11, 9), "Referred to committee", "Referred to the Public Safety Committee"),
            (date(2026, 11, 20), "Passed", "Passed 7-2"),
        ],
    )  # fmt: skip
    status_change(site.engine, bill, None, "Introduced", kind="first_seen", new_stage="introduced",
                  observed_at=datetime(2026, 11, 2, 15, tzinfo=UTC))  # fmt: skip
    status_change(site.engine, bill, "Introduced", "Referred to Public Safety", new_stage="in_committee",
                  observed_at=datetime(2026, 11, 10, 6, tzinfo=UTC), action_sequence=1)  # fmt: skip
    status_change(site.engine, bill, "Referred to Public Safety", "Passed", new_stage="passed",
                  observed_at=datetime(2026, 11, 21, 6, tzinfo=UTC), action_sequence=2)  # fmt: skip
    login(page, "staff")
    page.goto(f"/search?jurisdiction={slug}")
    page.get_by_role("link", name="O2026-7001").click()  # from the results to the bill's page
    expect(page).to_have_url(re.compile(rf"/bills/{bill}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(GANG)
    expect(page.get_by_text("Ana Ortiz (primary), Bo Chen")).to_be_visible()

    changes = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Observed"))
    rows = changes.get_by_role("row")
    expect(rows).to_have_count(1 + 3)
    expect(rows.nth(1)).to_contain_text("2026-11-21 06:00 UTC")  # newest first
    expect(rows.nth(1)).to_contain_text("Referred to Public Safety → Passed")
    expect(rows.nth(1)).to_contain_text("2026-11-20 Passed")  # the action that explains it
    expect(rows.nth(2)).to_contain_text("Introduced → Referred to Public Safety")
    expect(rows.nth(2)).to_contain_text("2026-11-09 Referred to committee")
    expect(rows.nth(3)).to_contain_text("first seen: Introduced")

    actions = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Result"))
    dates = [cells.split("\t")[0].strip() for cells in actions.get_by_role("row").all_inner_texts()[1:]]
    assert dates == ["2026-11-20", "2026-11-09", "2026-11-02"]
    expect(actions).to_contain_text("Referred to the Public Safety Committee")


def test_manage_a_subscription_and_the_feed_link(page: Page, login, site):
    login(page, "editor")
    page.get_by_role("link", name="Subscriptions").click()
    expect(page.get_by_role("heading", name="Digest subscriptions")).to_be_visible()

    page.get_by_label(label("Cities")).select_option("riverton")
    page.get_by_label(label("Frequency")).select_option("weekly")
    page.get_by_label(label("Weekday")).select_option("tue")
    page.get_by_label("At (local time)").fill("07:30")
    page.get_by_label("Time zone").select_option("America/Chicago")  # a list, not free text
    page.get_by_role("button", name="Subscribe").click()
    added = page.get_by_role("status").filter(has_text=re.compile(r"Subscription \d+ added"))
    expect(added).to_be_visible()
    sub_id = int(re.search(r"Subscription (\d+) added", added.inner_text()).group(1))
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=str(sub_id), exact=True))
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("Riverton City Council")  # the city by its name
    expect(row).to_contain_text("weekly")

    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("paused")
    assert state_of(site, sub_id) == "paused"
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Remove").click()
    expect(row).to_have_count(0)
    assert state_of(site, sub_id) == "removed"

    page.get_by_role("button", name=re.compile("feed link")).click()
    first = page.locator("#feed-url").inner_text()
    assert re.fullmatch(rf"{re.escape(site.base_url)}/feeds/[\w-]+\.atom", first), first
    assert feed_status(first) == 200  # no session needed: the link is the credential
    page.get_by_role("button", name="Make a new feed link").click()
    second = page.locator("#feed-url").inner_text()
    assert second != first
    assert feed_status(second) == 200
    assert feed_status(first) == 404  # the old link stopped working


def state_of(site, sub_id: int) -> str:
    with session_scope(site.engine) as s:
        return s.scalar(select(Subscription.state).where(Subscription.id == sub_id))


def feed_status(url: str) -> int:
    return httpx.get(url, timeout=10).status_code


def test_a_scraped_script_title_is_shown_as_text_everywhere(page: Page, login, site):
    slug = unique_slug()
    bill = make_bill(
        site.engine, f"{GANG} {XSS}", slug=slug, name=f"Name {XSS}", first_seen_at=days_ago(1),
        actions=[(date(2026, 11, 2), XSS, XSS)], sponsors=[XSS],
    )  # fmt: skip
    login(page, "editor")

    page.goto(f"/review?jurisdiction={slug}")
    row = page.locator(f"#bill-{bill}")
    expect(row).to_contain_text(f"{GANG} {XSS}")
    with page.expect_response(lambda r: r.url.endswith(f"/review/{bill}/confirm")):
        row.get_by_role("button", name="Confirm").click()  # the swapped-in row is escaped too
    expect(row).to_contain_text("Confirmed by editor")
    expect(row).to_contain_text(XSS)

    for path in (f"/bills/{bill}", f"/search?q=script&jurisdiction={slug}", f"/search?jurisdiction={slug}",
                 "/", f"/living-list?jurisdiction={slug}"):  # fmt: skip
        page.goto(path)
        expect(page.get_by_text(XSS).first).to_be_visible()
        assert page.locator("script").evaluate_all(
            "scripts => scripts.filter(s => s.textContent.includes('alert(1)')).length"
        ) == 0, path  # fmt: skip
    assert page.watch.dialogs == []  # (the page fixture checks it again at the end)
