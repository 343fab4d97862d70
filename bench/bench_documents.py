"""Document benchmark: documents extracted per second, and documents fetched, extracted, stored and matched
per second end to end.

    ./dev bench bench_documents                    # 200 PDFs and 200 DOCX files of about 4 pages each
    ./dev bench bench_documents --documents 50 --pages 20

1. **extraction**: the generated PDF and DOCX files (bill text, ``--pages`` pages each) go through the
   extraction child process (:class:`tracker.extract.ExtractorProcess`) one after the other, as a fetch
   run does; best of 3;
2. **end to end**: a fresh SQLite database with one bill per document, the files served on loopback by a
   threaded HTTP server, then ``fetch_documents`` (download, checks, extraction, storage, re-match);
3. **recheck**: the same run again when every document is due: conditional requests answered 304, nothing
   parsed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.engine import make_engine, session_scope, upgrade  # noqa: E402
from db.models import Attachment, Bill, Jurisdiction  # noqa: E402
from db.types import utcnow  # noqa: E402
from tracker.config import parse_config  # noqa: E402
from tracker.demo.documents import make_docx, make_pdf  # noqa: E402
from tracker.documents.runs import fetch_documents  # noqa: E402
from tracker.extract import DOCX, PDF, ExtractorProcess  # noqa: E402

PARAGRAPHS = [
    "Section {n}. The City shall not use City funds, personnel or facilities to assist in the enforcement of "
    "federal civil immigration law, including honoring civil immigration detainer requests, except as "
    "required by a judicial warrant.",
    "The Chief of Police shall report each year to the Council on requests received from federal agencies, "
    "the number of such requests and the response given, without naming any person.",
    "Nothing in this chapter prohibits City employees from cooperating with federal authorities in the "
    "investigation of criminal activity, and this chapter shall be construed consistently with state law.",
]


def bill_text(n: int, pages: int) -> list[str]:
    # about 12 paragraphs per page at 90 characters a line, 50 lines a page
    return [PARAGRAPHS[i % 3].format(n=i + 1) + f" (document {n})" for i in range(pages * 12)]


def make_files(count: int, pages: int) -> list[tuple[str, str, bytes]]:
    out = []
    for n in range(count):
        out.append((f"/d/{n}.pdf", PDF, make_pdf(bill_text(n, pages))))
        out.append((f"/d/{n}.docx", DOCX, make_docx(bill_text(n, pages), title=f"Ordinance {n}")))
    return out


def bench_extraction(files: list[tuple[str, str, bytes]]) -> None:
    for kind in (PDF, DOCX):
        chosen = [data for _, t, data in files if t == kind]
        best = float("inf")
        chars = 0
        with ExtractorProcess(timeout=60, memory_mb=1024) as ep:
            ep.extract(kind, chosen[0], max_chars=1_000_000)  # the child's start and imports
            for _ in range(3):
                started = time.perf_counter()
                chars = sum(len(ep.extract(kind, data, max_chars=1_000_000).text) for data in chosen)
                best = min(best, time.perf_counter() - started)
        size = sum(len(d) for d in chosen) / len(chosen)
        name = "PDF " if kind == PDF else "DOCX"
        print(
            f"extract {name}: {len(chosen)} files of {size / 1024:.0f} KB ({chars / len(chosen):,.0f} "
            f"characters each) in {best:.2f} s: {len(chosen) / best:,.0f} documents/s"
        )


class Server:
    def __init__(self, files: list[tuple[str, str, bytes]]) -> None:
        routes = {path: (ctype, data) for path, ctype, data in files}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                ctype, data = routes[self.path]
                etag = f'"{hash(data) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


def bench_end_to_end(files: list[tuple[str, str, bytes]], database: str | None) -> None:
    server = Server(files)
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        now = utcnow()
        with session_scope(engine) as s:
            j = Jurisdiction(slug="bench", name="Bench", platform="legistar", created_at=now)
            s.add(j)
            s.flush()
            for n, (path, _, _) in enumerate(files):
                b = Bill(
                    jurisdiction_id=j.id, source_id=str(n), identifier=f"O-{n}", title="AMENDING CHAPTER 12",
                    stage="introduced", content_hash="x", raw={}, first_seen_at=now, updated_at=now,
                )  # fmt: skip
                s.add(b)
                s.flush()
                link = f"http://127.0.0.1:{server.port}{path}"
                s.add(Attachment(bill_id=b.id, source_id=str(n), sequence=1, name="Text", url=link))
        config = parse_config(
            {
                "documents": {"recheck_hours": 0},
                "jurisdictions": [
                    {"slug": "bench", "name": "Bench", "platform": "legistar", "client": "bench",
                     "document_hosts": [f"127.0.0.1:{server.port}"]}
                ],
            },
            "bench",
        )  # fmt: skip
        for label in ("first fetch (download, extract, store, match)", "recheck (conditional GET, 304)"):
            started = time.perf_counter()
            (summary,) = fetch_documents(config, engine, ["bench"])
            took = time.perf_counter() - started
            rate = summary.checked / took
            print(f"{label}: {summary.checked} documents in {took:.2f} s: {rate:,.0f} documents/s")
            print(f"  {summary.line()}")
        engine.dispose()
    server.httpd.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=200, help="PDFs, and as many DOCX (default 200)")
    parser.add_argument("--pages", type=int, default=4, help="pages of text per document (default 4)")
    parser.add_argument("--database", help="URL for the end-to-end run (default: a temporary SQLite)")
    args = parser.parse_args()
    started = time.perf_counter()
    files = make_files(args.documents, args.pages)
    print(f"generated {len(files)} files in {time.perf_counter() - started:.1f} s")
    bench_extraction(files)
    bench_end_to_end(files, args.database)


if __name__ == "__main__":
    main()
