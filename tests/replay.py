"""A loopback HTTP server that replays recorded responses by path (the query string is recorded for
assertions but does not select the response)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer


class ReplayServer(LoopbackServer):
    def __init__(self, routes: dict[str, bytes | tuple[int, str, bytes]]):
        self.routes = {
            path.lower(): r if isinstance(r, tuple) else (200, "application/json; charset=utf-8", r)
            for path, r in routes.items()
        }
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                parts = urlsplit(self.path)
                server.requests.append((parts.path, parse_qs(parts.query)))
                status, ctype, body = server.routes.get(
                    parts.path.lower().rstrip("/"),
                    (404, "application/json", b'{"Message": "No HTTP resource was found"}'),
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._listen(Handler)

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"
