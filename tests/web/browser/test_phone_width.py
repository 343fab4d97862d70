"""Phones: at 375 px wide (and at 360 px) no page of the route list scrolls sideways, with real long council
titles, long identifiers and long URLs in the data. Run in Debian's chromium against ``tracker serve``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.conftest import REPO, run_tracker
from tests.factories import make_bill, status_change
from tests.web.browser.conftest import Site
from tests.web.browser.support import unique_slug
from tests.web.helpers import PASSWORD

LABELS = REPO / "tracker/matcher/labels/dallas-tx.csv"


def _longest_real_titles(n: int) -> list[str]:
    with Path(LABELS).open(newline="", encoding="utf-8") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    return sorted(titles, key=len, reverse=True)[:n]


ROUTES = [
    "/",
    "/review",
    "/review?order=uncertain",
    "/search?q=police",
    "/living-list",
    "/track",
    "/subscriptions",
    "/admin",
]


@pytest.fixture(scope="module")
def admin(site: Site) -> str:
    name = f"admin{unique_slug()}"
    result = run_tracker("users", "add", name, "--role", "admin", "--email", f"{name}@example.org",
                         env={"TRACKER_PASSWORD": PASSWORD, "TRACKER_DATABASE_URL": site.db_url})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return name


@pytest.mark.parametrize("width", [375, 360])
def test_no_page_scrolls_sideways_at_phone_width(browser: Browser, site: Site, admin: str, width: int):
    slug = unique_slug()
    long_url = "https://example.legistar.com/LegislationDetail.aspx?ID=" + "1234567890" * 12
    ids = []
    for title in _longest_real_titles(3):
        bill_id = make_bill(
            site.engine, title, slug=slug, identifier="ORD-" + "2026" * 10, public_url=long_url,
            sponsors=["Councilmember " + "Longname" * 6],
            actions=[(None, "Referred to committee", title[:400])],
        )  # fmt: skip
        status_change(site.engine, bill_id, "Introduced", "Adopted", new_stage="enacted")
        ids.append(bill_id)
    context = browser.new_context(base_url=site.base_url, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(admin)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        too_wide = []
        for route in [*ROUTES, f"/bills/{ids[0]}"]:
            response = page.goto(route)
            assert response is not None and response.status == 200, (route, response and response.status)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                too_wide.append(f"{route}: {scroll} px in a {inner} px window")
        assert not too_wide, "; ".join(too_wide)
    finally:
        context.close()
