"""One bad agenda item fails only itself on the agenda platforms (PrimeGov, CivicClerk): real crawls (the
`tracker crawl` command in a child process) on SQLite and PostgreSQL of loopback portals where one item of an
agenda carries a poisoned field among good ones. A field a parser was not written for (an item id that is not
an ASCII number, an attachment list that is a number) raises an unexpected exception inside that item's
parsing: the item is rejected and named in the crawl's summary, the crawl is partial, the city's other bills
are stored; text with NUL and escape sequences is stored cleaned. A page whose overall layout is unknown still
fails the city (tests/platforms/test_primegov.py, test_civicclerk.py)."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.engine import session_scope
from db.models import CrawlRun
from tests.platforms import test_civicclerk as cc
from tests.platforms import test_primegov as pg
from tests.platforms.civicclerk_server import item, regular, south_fulton_api
from tests.platforms.primegov_server import la_portal
from tracker.demo.primegov_portal import AppServer, Item, Page


def _line(result, slug: str) -> str:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith(f"{slug}:")]
    return line


def _runs(engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))


def test_primegov_one_bad_item_fails_only_itself(tmp_path, db_url, engine):
    portal = la_portal()
    huge_id = "9" * 5000  # digits, but beyond what int() reads
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
                    ),
                    # ids that are not ints (the two ignores below): what the parser must reject
                    Item("\u00b2", "An item whose id is a superscript two.", "21-9001"),  # type: ignore[arg-type]
                    Item(huge_id, "An item whose id has 5,000 digits.", "21-9002"),  # type: ignore[arg-type]
                    Item(156204, "Sanctuary\u0000 city \u001b[2Jmotion\u0007", "21-9003"),
                ],
            )
        ],
    )
    with AppServer(portal) as server:
        cfg = pg.config(tmp_path, db_url, pg.city("la", server, "lacity"))
        result = pg.crawl(cfg)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    line = _line(result, "la")
    # the 7 bills of the portal and the cleaned item; the two poisoned items rejected and named
    assert line.startswith("la: partial (full) - 8 bills seen, 8 new, 0 changed"), line
    assert ", 2 errors," in line
    assert re.search(
        r"2 records rejected, first: la: .*meetingTemplateId=75649: agenda item (\u00b2|9{20}\u2026): "
        r"could not be read \(ValueError: ",
        line,
    ), line
    assert len(line) < 2000  # the 5,000-digit id is not echoed whole
    stored = pg.bills(engine)
    assert "21-9001" not in stored and "21-9002" not in stored
    assert {"21-1100", "21-0745", "21-0002-S123", "21-0600-S29"} <= set(stored)
    assert stored["21-9003"].title == "Sanctuary city [2Jmotion"
    assert _runs(engine) == ["partial"]


def test_civicclerk_one_bad_item_fails_only_itself(tmp_path, db_url, engine):
    api = south_fulton_api()
    approve = [("Approve", 1, 6, 0, 0)]
    not_a_list = item(78904, "A Resolution with an attachment list that is a number", resolution="2026-R-090")
    not_a_list["attachmentsList"] = 7
    not_text = item(78905, "placeholder", resolution="2026-R-091")
    not_text["agendaObjectItemName"] = {"text": "an object where text is expected"}
    api.agendas[789] = regular(
        789,
        1755,
        item(78902, "A Resolution Declaring South Fulton a Welcoming City", resolution="2026-R-077",
             votes=approve),
        item(78903, "A Resolution\u0000 on \u001b]8;;http://x\u0007data\u001b]8;;\u0007 sharing",
             resolution="2026-R-\u0000089", votes=approve),
        not_a_list,
        not_text,
    )  # fmt: skip
    with cc.served(api) as server:
        result = cc.crawl(cc.config(tmp_path, db_url, server))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    line = _line(result, "south-fulton")
    # the 15 bills of the portal and the cleaned item; the two poisoned items rejected and named
    assert line.startswith("south-fulton: partial (full) - 16 bills seen, 16 new, 0 changed"), line
    assert ", 2 errors," in line
    assert "2 records rejected, first: south-fulton: agenda 789: agenda item 7890" in line
    assert re.search(
        r"agenda item 78904: could not be read \(TypeError: |agenda item 78905: expected text", line
    ), line
    stored = cc.stored(engine)
    assert "2026-R-090" not in stored and "2026-R-091" not in stored
    assert {"2026-R-077", "2026-R-041", "2026-O-007", "2026-R-050"} <= set(stored)
    assert stored["2026-R-089"].title == "A Resolution on ]8;;http://xdata]8;; sharing"
    assert _runs(engine) == ["partial"]
