"""A local portal that speaks the Legistar Web API: for the offline demo, the tests and the benchmarks.

Routes (``https://webapi.legistar.com/v1/...`` on the real service; segments are case-insensitive, the
client name too; a trailing slash is accepted):

``GET /v1/{client}/matters``
    Matter objects visible at the portal's clock, with the field set of the recorded Metro matter
    (../shared/portal-samples/legistar-api/metro/matters-filtered.json). OData v3 ``$filter``, ``$orderby``,
    ``$top``, ``$skip``, ``$select``; at most 1000 rows per answer whatever ``$top`` says (the Oakland
    1000-row sample); default order by ``MatterId``.
``GET /v1/{client}/matters/{id}``
    One Matter object (404 with a JSON ``Message`` when it is unknown, not yet introduced, or removed).
``GET /v1/{client}/matters/{id}/histories``
    MatterHistory rows recorded so far, by id, with the fields of the Chicago samples
    (legistar-api/chicago/matter-histories*.json), duplicates included now and then as in the "dupe" one.
``GET /v1/{client}/matters/{id}/sponsors``
    MatterSponsor rows (no recorded sample exists; the field set is Legistar's MatterSponsor object).
``GET /v1/{client}/matters/{id}/attachments``
    MatterAttachment rows, PDF links on ``https://{client}.legistar1.com/`` (metro/matter-attachments.json).
``GET /v1/{client}/bodies``, ``/matterstatuses``, ``/mattertypes``, ``/persons`` (and ``/{name}/{id}``)
    Vocabularies (no recorded samples; commonly used fields of Legistar's objects).
``GET /v1/{client}/events`` (and ``/events/{id}``)
    Event objects (meetings) on the calendar at the clock, with the fields of the recorded Metro event
    (legistar-api/metro/event.json); OData options and paging as for matters, e.g. the tracker's
    ``$filter=EventDate ge datetime'...' and EventDate lt datetime'...'&$orderby=EventId``. A meeting moved
    keeps its EventId with a new ``EventDate``/``EventTime``; a cancelled one says so in
    ``EventAgendaStatusName``, ``EventComment`` or ``EventLocation``, each client its own way.
``GET /v1/{client}/events/{id}/eventitems``
    Its agenda items (legistar-api/oakland/event-8172-eventitems.json); notes with ``AgendaNote=1`` and
    ``MinutesNote=1``, the matters' attachments with ``Attachments=1``.
``GET /v1/{client}/eventitems/{id}/votes``
    The roll call of a roll-call item once the meeting's outcome is recorded (Legistar's Vote object).
``GET /v1/{client}/officerecords``
    Seats of the members on the bodies, with their terms (Legistar's OfficeRecord object).

Sub-collections of an unknown matter or event answer ``[]``. Answers are bare JSON arrays (one object for a
single item), ``application/json; charset=utf-8``, compact. Errors: 400 with ``{"Message": ...}`` for a query
Legistar would refuse (bad ``$filter``, unknown property, ``$top=abc``, unknown ``$`` option, too many
filter nodes); 404 for an unknown client or route; 403 when the client has a token and the request's
``token``/``Token`` parameter is missing or wrong; IIS's 404.15 page for a query string over 2048 characters.

How the wire format, paging, filters, tokens and quirks are emulated is described in
../shared/portal-samples/README.md ("Legistar Web API"); the data is generated (:mod:`tracker.demo.data`),
never copied from the samples. The model and its clock are in :mod:`tracker.demo.model`; the server and its
fault injection in :mod:`tracker.demo.server`.

Command line (serves until interrupted)::

    python -m tracker.demo.legistar_portal --demo [--latency 0.05] [--port 8080]
    python -m tracker.demo.legistar_portal --bulk 20000 --histories 100000 [--latency 0.05]
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from datetime import datetime

from tracker.demo.data import DEMO_NOW, DEMO_STEP_DAYS, bulk_portal, demo_portal
from tracker.demo.model import ClientData, Portal
from tracker.demo.odata import ODataError
from tracker.demo.server import FAULT_KINDS, Fault, LegistarApp, LegistarPortalServer, LoggedRequest, Reply

__all__ = [
    "DEMO_NOW",
    "DEMO_STEP_DAYS",
    "FAULT_KINDS",
    "ClientData",
    "Fault",
    "LegistarApp",
    "LegistarPortalServer",
    "LoggedRequest",
    "ODataError",
    "Portal",
    "Reply",
    "bulk_portal",
    "demo_portal",
    "main",
]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tracker.demo.legistar_portal",
        description="Serve a local Legistar-Web-API-compatible portal until interrupted.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--demo", action="store_true", help="the demo councils (clock at 2026-11-01T12:00Z)")
    which.add_argument("--bulk", type=int, metavar="N", help="one generated client with N matters")
    parser.add_argument(
        "--histories", type=int, default=None, help="history rows for --bulk (default 5 per matter)"
    )
    parser.add_argument("--client", default="bench", help="client name for --bulk (default: bench)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--token", action="append", default=[], metavar="CLIENT=TOKEN", help="require ?token= for a client"
    )
    parser.add_argument("--now", help="start the clock here (ISO, UTC) instead of the default")
    parser.add_argument(
        "--tick",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=f"advance the clock by {DEMO_STEP_DAYS} days every SECONDS (0: never)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tracker.demo.legistar_portal``."""
    args = _parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else DEMO_NOW
    if args.demo:
        portal = demo_portal(args.seed, now=now)
    else:
        histories = args.histories if args.histories is not None else args.bulk * 5
        portal = bulk_portal(args.bulk, histories, client=args.client, seed=args.seed, now=now)
    tokens = dict(item.split("=", 1) for item in args.token)
    server = LegistarPortalServer(portal, args.host, args.port, args.latency, tokens)
    stop = threading.Event()
    with server:
        print(f"Legistar portal at {server.base_url}", flush=True)
        for client in portal:
            print(
                f"  {client.name:<16} {client.display_name} ({len(client.matter_rows())} matters)", flush=True
            )
        print(f"  clock {portal.now.isoformat()}; Ctrl-C to stop", flush=True)
        try:
            while not stop.wait(args.tick or 3600):
                if args.tick:
                    print(f"  clock -> {portal.advance(days=DEMO_STEP_DAYS).isoformat()}", flush=True)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
