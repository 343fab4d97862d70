"""200% zoom: on a desktop window zoomed to 200%, every page of the route list fits the window (nothing
scrolls sideways, nothing is cut off at its right edge, no column or button so narrow that it breaks
ordinary words letter by letter) and every menu item stays visible, inside the window and clickable.
Debian's chromium against ``tracker serve``, with real long council titles, long identifiers and long URLs
in the data; on SQLite only: the layout is the browser's, the same whatever engine the pages were read from.

How 200% zoom is reproduced: a browser's page zoom makes one CSS pixel two device pixels, so a window
W device pixels wide lays pages out in W/2 CSS pixels, media queries see W/2, and ``devicePixelRatio``
is 2 (on a screen of ratio 1). A Playwright context with ``viewport`` W/2 x H/2 and
``device_scale_factor=2`` is exactly that layout (``window.innerWidth`` is W/2, ``devicePixelRatio`` is
2); the test checks both numbers. CSS ``zoom`` on the body would not be honest (the viewport and the
media queries would stay at the full width), nor would pinch zoom (it magnifies without re-laying out).
Windows of 1600, 1280 and 1024 px give 800 CSS px (the desktop layout with its tables, just above the
48rem, 768 px, below which static/app.css stacks them as cards), 640 and 512 CSS px (the cards).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import run_tracker
from tests.web.browser.conftest import Site
from tests.web.browser.support import ROUTES, long_bills, unique_slug
from tests.web.helpers import PASSWORD

ZOOM = 2
MENU = ["Dashboard", "Review", "Search", "Track a bill", "Subscriptions", "Admin"]

# Elements whose box reaches past the window's right edge (a page that hides the overflow of a too-wide
# child does not scroll, but the child is still cut off); visually hidden ones (1 px, clipped) aside.
_CUT_OFF = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' +
               Math.round(box.left) + '..' + Math.round(box.right));
    }
  }
  return out.slice(0, 5);
}"""


# Ordinary words (2 to 16 letters between spaces or punctuation) that the layout broke across two lines: a
# column or a button squeezed narrower than its words ("Pause" as "Paus" / "e"). Long identifiers, URLs and
# e-mail addresses may wrap anywhere; words may not.
_BROKEN_WORDS = r"""() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const word = /(?<![\p{L}\p{N}@._\/-])\p{L}{2,16}(?![\p{L}\p{N}@._\/-])/gu;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(word)) {
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
      const lines = new Set(rects.map(r => Math.round(r.top)));
      if (lines.size > 1) {
        const cell = node.parentElement.closest('td[data-label]');
        const where = cell ? ` (column ${cell.dataset.label})` : '';
        out.push(`"${m[0]}" in ${node.parentElement.tagName.toLowerCase()}${where}`);
      }
    }
  }
  return out.slice(0, 8);
}"""


@pytest.fixture(scope="module")
def zoom_admin(site: Site) -> str:
    """An admin (every menu item) whose e-mail has a subscription, so its edit page is on the list."""
    name = f"zoom{unique_slug()}"
    env = {"TRACKER_PASSWORD": PASSWORD, "TRACKER_DATABASE_URL": site.db_url}
    result = run_tracker("users", "add", name, "--role", "admin", "--email", f"{name}@example.org", env=env)
    assert result.returncode == 0, result.stderr
    search = "sheriff detainer agreement " + "Longword" * 8
    result = run_tracker("subscriptions", "add", f"{name}@example.org", "--search", search, env=env)
    assert result.returncode == 0, result.stderr
    return name


def _fits(page: Page, route: str) -> list[str]:
    """What of the page does not fit the window: a sideways scroll, elements cut off at an edge."""
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    problems = [f"{route}: {scroll} px wide in a {inner} px window"] if scroll > inner else []
    problems += [f"{route}: {what} cut off" for what in page.evaluate(_CUT_OFF)]
    problems += [f"{route}: {what} broken across lines" for what in page.evaluate(_BROKEN_WORDS)]
    return problems


def _menu_problems(page: Page, route: str) -> list[str]:
    """Every menu item (and Log out) visible, inside the window, and not covered by anything else."""
    problems = []
    inner = page.evaluate("window.innerWidth")
    nav = page.locator("header.top")
    targets = [(name, nav.get_by_role("link", name=name, exact=True)) for name in MENU]
    targets.append(("Log out", nav.get_by_role("button", name="Log out")))
    for name, item in targets:
        if item.count() != 1 or not item.is_visible():
            problems.append(f"{route}: menu item {name!r} not visible")
            continue
        box = item.bounding_box()
        assert box is not None
        if box["x"] < 0 or box["x"] + box["width"] > inner:
            left, right = box["x"], box["x"] + box["width"]
            problems.append(f"{route}: menu item {name!r} at {left:.0f}..{right:.0f} px")
            continue
        # the element hit at its centre is the item itself (nothing overlaps it): it takes the click
        on_top = item.evaluate(
            """el => { const b = el.getBoundingClientRect();
                       const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
                       return hit === el || el.contains(hit); }"""
        )
        if not on_top:
            problems.append(f"{route}: menu item {name!r} covered by another element")
    return problems


@pytest.mark.parametrize("window", [1600, 1280, 1024])
def test_every_page_fits_at_200_percent_zoom(browser: Browser, site: Site, zoom_admin: str, window: int):
    ids = long_bills(site.engine)
    width, height = window // ZOOM, 800 // ZOOM
    context = browser.new_context(
        base_url=site.base_url, viewport={"width": width, "height": height}, device_scale_factor=ZOOM
    )
    try:
        page = context.new_page()
        page.goto("/login")
        assert page.evaluate("[window.innerWidth, window.devicePixelRatio]") == [width, ZOOM]
        problems = _fits(page, "/login")
        page.get_by_label("Username").fill(zoom_admin)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto("/subscriptions")
        edit = page.locator("a[href$='/edit']").first.get_attribute("href")
        assert edit, "the subscription's edit link"
        for route in [*ROUTES, f"/bills/{ids[0]}", edit]:
            response = page.goto(route)
            assert response is not None and response.status == 200, (route, response and response.status)
            problems += _fits(page, route) + _menu_problems(page, route)
        assert not problems, "\n".join(problems)
        # the last item of the menu really opens its page at this zoom
        page.locator("header.top").get_by_role("link", name="Admin", exact=True).click()
        page.wait_for_url("**/admin")
    finally:
        context.close()
