"""The review queue in a real browser: one click confirms or rejects a bill without reloading the page
(htmx swaps the row; a marker set on ``window`` survives), the keyboard shortcuts do the common path,
corrections of category and direction and notes are recorded, and a staff user gets no editor actions.
On SQLite only: the server side of every step runs on both engines without a browser
(tests/web/browser/conftest.py names the tests)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from db.engine import session_scope
from db.models_review import ReviewEvent
from tests.factories import DETAINERS, FLOCK, GANG, days_ago, make_bill, match_row
from tests.web.browser.support import label, unique_slug

MARKER = "window.__noReload"


def events(engine, bill_id: int) -> list[tuple[str, str, str | None]]:
    with session_scope(engine) as s:
        rows = s.scalars(select(ReviewEvent).where(ReviewEvent.bill_id == bill_id).order_by(ReviewEvent.id))
        return [(e.kind, e.actor, e.note) for e in rows]


def decision_url(bill_id: int, action: str):
    return lambda response: response.url.endswith(f"/review/{bill_id}/{action}")


def set_marker(page: Page) -> None:
    page.evaluate(f"{MARKER} = 'same page'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate(MARKER) == "same page", "the page was reloaded"


def test_confirm_and_reject_with_one_click_each_without_a_reload(page, login, site):
    slug = unique_slug()
    gang = make_bill(site.engine, GANG, slug=slug, first_seen_at=days_ago(2))
    flock = make_bill(site.engine, FLOCK, slug=slug, first_seen_at=days_ago(1))
    login(page, "editor")
    page.goto(f"/review?jurisdiction={slug}")
    set_marker(page)
    gang_row, flock_row = page.locator(f"#bill-{gang}"), page.locator(f"#bill-{flock}")
    expect(gang_row).to_contain_text("pending")

    with page.expect_response(decision_url(gang, "confirm")) as answer:
        gang_row.get_by_role("button", name="Confirm").click()
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true"  # htmx, not a form post
    expect(gang_row).to_contain_text("Confirmed by editor")
    with page.expect_response(decision_url(flock, "reject")):
        flock_row.get_by_role("button", name="Reject").click()
    expect(flock_row).to_contain_text("Rejected by editor")

    assert_not_reloaded(page)
    assert page.url.endswith(f"/review?jurisdiction={slug}")
    assert (match_row(site.engine, gang).review_state, match_row(site.engine, gang).decided_by) == (
        "confirmed",
        "editor",
    )
    assert match_row(site.engine, flock).review_state == "rejected"
    assert events(site.engine, gang) == [("confirmed", "editor", None)]
    assert events(site.engine, flock) == [("rejected", "editor", None)]


def test_keyboard_shortcuts_walk_the_queue(page, login, site):
    slug = unique_slug()
    oldest = make_bill(site.engine, FLOCK, slug=slug, first_seen_at=days_ago(5))
    middle = make_bill(site.engine, GANG, slug=slug, first_seen_at=days_ago(3))
    newest = make_bill(site.engine, DETAINERS, slug=slug, first_seen_at=days_ago(1))
    login(page, "editor")
    page.goto(f"/review?jurisdiction={slug}")
    set_marker(page)
    # The queue's own order (flagged, then pending by score: docs/review.md); the names below follow it.
    shown = page.locator("article.review-row").evaluate_all("rows => rows.map(r => Number(r.dataset.bill))")
    newest, middle, oldest = [b for b in shown if b in {newest, middle, oldest}]
    newest_row, middle_row, oldest_row = (page.locator(f"#bill-{b}") for b in (newest, middle, oldest))
    current = re.compile(r"\bcurrent\b")

    page.keyboard.press("j")  # the first bill of the queue
    expect(newest_row).to_have_class(current)
    page.keyboard.press("n")  # its note field
    expect(newest_row.get_by_label("Note")).to_be_focused()
    page.keyboard.type("detainers: seen at the hearing")
    page.keyboard.press("Escape")  # leaves the field: keys are shortcuts again
    with page.expect_response(decision_url(newest, "confirm")):
        page.keyboard.press("c")
    expect(newest_row).to_contain_text("Confirmed by editor")
    expect(newest_row).to_contain_text("detainers: seen at the hearing")
    expect(middle_row).to_have_class(current)  # moved on to the next bill
    with page.expect_response(decision_url(middle, "reject")):
        page.keyboard.press("r")
    expect(middle_row).to_contain_text("Rejected by editor")
    expect(oldest_row).to_have_class(current)

    page.keyboard.press("k")
    expect(middle_row).to_have_class(current)
    expect(oldest_row).not_to_have_class(current)
    help_box = page.locator("#review-help")
    expect(help_box).not_to_have_attribute("open", "")
    page.keyboard.press("?")
    expect(help_box).to_have_attribute("open", "")
    assert_not_reloaded(page)
    assert match_row(site.engine, newest).note == "detainers: seen at the hearing"
    assert match_row(site.engine, newest).review_state == "confirmed"
    assert match_row(site.engine, middle).review_state == "rejected"
    assert match_row(site.engine, oldest).review_state == "pending"

    page.keyboard.press("o")  # opens the current bill's page
    expect(page).to_have_url(re.compile(rf"/bills/{middle}$"))


def test_correct_category_and_direction_then_add_a_note(page, login, site):
    slug = unique_slug()
    bill = make_bill(site.engine, FLOCK, slug=slug)
    assert match_row(site.engine, bill).categories == ["surveillance_technology"]
    login(page, "editor")
    page.goto(f"/review?jurisdiction={slug}")
    set_marker(page)
    row = page.locator(f"#bill-{bill}")

    row.get_by_text("Correct category and direction").click()
    row.get_by_label(label("Categories")).select_option(["surveillance_technology", "data_privacy_status"])
    row.get_by_label(label("Direction")).select_option("restricts")
    row.get_by_label("Note").fill("ALPR data is shared with federal agencies")
    with page.expect_response(decision_url(bill, "correct")):
        row.get_by_role("button", name="Confirm with these").click()
    expect(row).to_contain_text("Confirmed by editor")
    expect(row).to_contain_text("restricts sanctuary")
    expect(row).to_contain_text("the matcher says")  # the correction is shown against the machine's word

    match = match_row(site.engine, bill)
    assert match.review_state == "confirmed"
    # A multiple <select> posts its choices in the taxonomy's order, whatever order they were picked in.
    assert match.editor_categories == ["data_privacy_status", "surveillance_technology"]
    assert match.editor_direction == "restricts"
    assert match.note == "ALPR data is shared with federal agencies"

    row.get_by_label("Note").fill("council vote expected in December")
    with page.expect_response(decision_url(bill, "note")):
        row.get_by_role("button", name="Add note").click()
    expect(row).to_contain_text("council vote expected in December")
    assert_not_reloaded(page)
    assert match_row(site.engine, bill).note == "council vote expected in December"
    assert match_row(site.engine, bill).editor_direction == "restricts"  # a note keeps the correction
    assert events(site.engine, bill) == [
        ("confirmed", "editor", "ALPR data is shared with federal agencies"),
        ("noted", "editor", "council vote expected in December"),  # a note without a new decision
    ]


def test_a_refused_decision_shows_its_error_in_the_row(page, login, site):
    slug = unique_slug()
    bill = make_bill(site.engine, GANG, slug=slug)
    login(page, "editor")
    page.goto(f"/review?jurisdiction={slug}")
    row = page.locator(f"#bill-{bill}")
    row.get_by_text("Correct category and direction").click()
    row.get_by_label(label("Categories")).select_option([])  # none chosen
    with page.expect_response(decision_url(bill, "correct")) as answer:
        row.get_by_role("button", name="Confirm with these").click()
    assert answer.value.status == 400
    expect(row).to_contain_text("Error: choose at least one category")
    assert match_row(site.engine, bill).review_state == "pending"


def test_staff_see_no_editor_actions(page, login, site):
    bill = make_bill(site.engine, GANG, slug=unique_slug())
    login(page, "staff")
    expect(page.get_by_role("link", name=re.compile("to review"))).to_have_count(0)  # dashboard
    page.goto(f"/bills/{bill}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("gang database")
    for name in ("Confirm", "Reject", "Add note", "Confirm with these", "Add"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_label("Note")).to_have_count(0)

    response = page.goto("/review")
    assert response is not None and response.status == 403
    expect(page.get_by_text("This needs the editor role.")).to_be_visible()

    # A decision posted anyway (with the session's own CSRF token) is refused too, and writes nothing.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(f"/review/{bill}/confirm", form={"csrf_token": token or ""})
    assert refused.status == 403
    assert match_row(site.engine, bill).review_state == "pending"
    assert events(site.engine, bill) == []
