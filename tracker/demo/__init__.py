"""A local Legistar-Web-API-compatible portal with generated data, for the offline demo, tests and benchmarks.

The public API (see :mod:`tracker.demo.legistar_portal` for the routes it serves)::

    from tracker.demo import LegistarPortalServer, demo_portal, bulk_portal, DEMO_STEP_DAYS

    portal = demo_portal(seed=0)                 # clock at 2026-11-01T12:00Z
    with LegistarPortalServer(portal) as server:
        server.base_url                          # http://127.0.0.1:PORT/v1
        portal.advance(days=DEMO_STEP_DAYS)      # matters move on
"""

from tracker.demo.data import DEMO_NOW, DEMO_STEP_DAYS, bulk_portal, demo_portal
from tracker.demo.model import ClientData, Portal
from tracker.demo.odata import ODataError
from tracker.demo.server import FAULT_KINDS, Fault, LegistarApp, LegistarPortalServer, LoggedRequest

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
    "bulk_portal",
    "demo_portal",
]
