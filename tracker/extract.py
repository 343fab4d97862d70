"""Text out of bill documents: PDF (pypdf), Word DOCX (python-docx), HTML (lxml) and plain text.

Documents come from portals and are untrusted: a malformed or hostile PDF can make a parser loop, recurse or
allocate without end. Parsing therefore runs in a child process (:class:`ExtractorProcess`, the same
interpreter running ``python -m tracker.extract``) with an address-space limit, and the parent kills it
when it has not answered within the time limit; the next document gets a fresh child. The child dies with
the process that started it (:mod:`tracker.children`) and on SIGTERM. The child holds no
database connection, no configuration and no secrets (it starts with a minimal environment).

:func:`sniff` decides what a download is from its bytes (the declared ``Content-Type`` only settles the
text types), so an HTML error page served for a PDF link, or garbage declared as a PDF, is never parsed as
the wrong thing.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import struct
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker import children

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
TEXT = "text/plain"
SHORT_NAMES = {PDF: "PDF", DOCX: "DOCX", HTML: "HTML", TEXT: "text"}

# A DOCX is a zip: refuse one that would unpack to more than this (a zip bomb) before parsing it.
MAX_UNZIPPED = 256 * 1024 * 1024


class ExtractError(Exception):
    """The document could not be read; the message is one line."""


@dataclass(frozen=True)
class Extracted:
    text: str
    truncated: bool
    pages: int | None = None


# -- what a download is --------------------------------------------------------------------------------------


def sniff(data: bytes, declared: str | None) -> str | None:
    """The media type of ``data`` (one of PDF, DOCX, HTML, TEXT), or None when it is none of them.

    Binary formats are recognised by their bytes whatever the server declared; HTML and plain text only
    when declared so (or, for HTML, when the bytes plainly start as HTML)."""
    declared = (declared or "").split(";")[0].strip().lower()
    head = data[:1024]
    if b"%PDF-" in head:
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return DOCX if "word/document.xml" in z.namelist() else None
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
    if data.startswith(b"\xd0\xcf\x11\xe0") or b"\x00" in head:  # OLE (legacy .doc, .xls) or other binary
        return None
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if declared in ("text/html", "application/xhtml+xml") or start.startswith((b"<!doctype html", b"<html")):
        return HTML
    if declared == "text/plain":
        return TEXT
    return None


def describe(data: bytes, declared: str | None) -> str:
    """A few words on what an unreadable download looks like, for error messages."""
    declared = (declared or "").split(";")[0].strip().lower() or "no content type"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return f"{declared}: a legacy Office file (.doc/.xls), not supported"
    if data.startswith(b"PK\x03\x04"):
        return f"{declared}: a zip file that is not a Word .docx"
    if data.startswith((b"{\\rtf", b"{\\RTF")):
        return f"{declared}: RTF, not supported"
    return declared


# -- extraction (in the child) -------------------------------------------------------------------------------

_SPACES = re.compile(r"[^\S\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANKS = re.compile(r"\n\s*\n\s*\n+")


def clean_text(text: str, max_chars: int) -> tuple[str, bool]:
    """Control characters out, runs of spaces collapsed, at most one blank line; cut at ``max_chars``."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n"))
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANKS.sub("\n\n", text).strip()
    if len(text) > max_chars:
        return text[:max_chars], True
    return text, False


def _pdf(data: bytes, max_chars: int) -> Extracted:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("the PDF is encrypted")
        pages = len(reader.pages)
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            part = page.extract_text() or ""
            parts.append(part)
            size += len(part)
            if size > max_chars * 2:  # enough: the rest would be cut anyway
                break
    except PdfReadError as exc:
        raise ExtractError(f"not a readable PDF: {exc}") from None
    text, truncated = clean_text("\n\n".join(parts), max_chars)
    return Extracted(text, truncated or len(parts) < pages, pages)


def _docx(data: bytes, max_chars: int) -> Extracted:
    import docx
    from docx.oxml.ns import qn

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED:
                raise ExtractError(f"the DOCX unpacks to more than {MAX_UNZIPPED // 2**20} MB")
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractError(f"not a readable DOCX: {exc}") from None
    w_p, w_t, w_tab, w_br = qn("w:p"), qn("w:t"), qn("w:tab"), qn("w:br")
    lines: list[str] = []
    size = 0
    for p in document.element.body.iter(w_p):  # document order, paragraphs in tables included
        if any(a.tag == w_p for a in p.iterancestors()):  # text boxes inside a paragraph: read with it
            continue
        pieces = []
        for el in p.iter(w_t, w_tab, w_br):
            pieces.append(el.text or "" if el.tag == w_t else ("\t" if el.tag == w_tab else "\n"))
        line = "".join(pieces)
        lines.append(line)
        size += len(line) + 1
        if size > max_chars * 2:
            break
    text, truncated = clean_text("\n".join(lines), max_chars)
    return Extracted(text, truncated)


_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "header", "footer", "blockquote", "pre", "hr", "dd", "dt", "title",
}  # fmt: skip


def _html(data: bytes, charset: str | None, max_chars: int) -> Extracted:
    import lxml.etree
    import lxml.html

    try:
        parser = lxml.html.HTMLParser(encoding=charset, no_network=True, remove_comments=True)
        root = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError):
        return Extracted("", False)  # an empty or unparseable page has no text
    for bad in root.xpath("//script|//style|//noscript|//template|//head/meta|//head/link"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
    text, truncated = clean_text(root.text_content(), max_chars)
    return Extracted(text, truncated)


def _plain(data: bytes, charset: str | None, max_chars: int) -> Extracted:
    try:
        text = data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    text, truncated = clean_text(text.removeprefix("\ufeff"), max_chars)
    return Extracted(text, truncated)


def extract_bytes(media_type: str, data: bytes, *, charset: str | None = None, max_chars: int) -> Extracted:
    """Extract in this process. Use :class:`ExtractorProcess` for anything downloaded."""
    if media_type == PDF:
        return _pdf(data, max_chars)
    if media_type == DOCX:
        return _docx(data, max_chars)
    if media_type == HTML:
        return _html(data, charset, max_chars)
    if media_type == TEXT:
        return _plain(data, charset, max_chars)
    raise ExtractError(f"cannot extract text from {media_type}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# -- the child process ---------------------------------------------------------------------------------------

_LEN = struct.Struct(">Q")


def _read_exact(stream: Any, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def worker_main(memory_mb: int) -> None:
    """The child: one request at a time from stdin (header, body), one answer on stdout."""
    from tracker.children import enter_child

    enter_child()  # dies with its parent
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on Linux
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        raw = _read_exact(stdin, _LEN.size)
        if raw is None:
            return
        header = json.loads(_read_exact(stdin, _LEN.unpack(raw)[0]) or b"{}")
        raw = _read_exact(stdin, _LEN.size)
        data = _read_exact(stdin, _LEN.unpack(raw)[0]) if raw else None
        if data is None:
            return
        try:
            got = extract_bytes(
                header["media_type"], data, charset=header.get("charset"), max_chars=header["max_chars"]
            )
            answer: dict[str, Any] = {"text": got.text, "truncated": got.truncated, "pages": got.pages}
        except ExtractError as exc:
            answer = {"error": _one_line(exc)}
        except MemoryError:
            answer = {"error": f"out of memory (more than {memory_mb} MB)"}
        except RecursionError:
            answer = {"error": "the document nests too deeply"}
        except Exception as exc:  # a parser choking on hostile input: report it, keep serving
            answer = {"error": f"{type(exc).__name__}: {_one_line(exc)}"}
        del data
        out = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        stdout.write(_LEN.pack(len(out)) + out)
        stdout.flush()


class ExtractorProcess:
    """A child process that extracts text, restarted after a timeout or a crash. Use as a context manager
    (or call :meth:`close`)."""

    def __init__(self, *, timeout: float, memory_mb: int) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._proc: subprocess.Popen[bytes] | None = None
        self.started = 0  # children started (a restart after each timeout or crash)

    def __enter__(self) -> ExtractorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": root,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        # The time limit is per document, enforced here (the child serves many); the memory limit is its own.
        self._proc = children.spawn(
            [sys.executable, "-m", "tracker.extract", "--worker", str(self.memory_mb)],
            time_limit=None,
            memory_mb=self.memory_mb,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=root,
        )
        self.started += 1
        return self._proc

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream:
                    stream.close()

    def extract(
        self, media_type: str, data: bytes, *, charset: str | None = None, max_chars: int
    ) -> Extracted:
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        header = json.dumps({"media_type": media_type, "charset": charset, "max_chars": max_chars}).encode()
        deadline = time.monotonic() + self.timeout
        try:
            proc.stdin.write(_LEN.pack(len(header)) + header + _LEN.pack(len(data)))
            proc.stdin.write(data)
            proc.stdin.flush()
            raw = self._read(proc, _LEN.size, deadline)
            answer = json.loads(self._read(proc, _LEN.unpack(raw)[0], deadline))
        except TimeoutError:
            self._kill()
            raise ExtractError(f"extraction took longer than {self.timeout:g} s (stopped)") from None
        except (OSError, EOFError, ValueError):
            code = proc.poll()
            self._kill()
            raise ExtractError(f"the extraction process died (exit code {code})") from None
        if "error" in answer:
            raise ExtractError(str(answer["error"]))
        return Extracted(str(answer["text"]), bool(answer["truncated"]), answer.get("pages"))

    @staticmethod
    def _read(proc: subprocess.Popen[bytes], n: int, deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        chunks, left = [], n
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(int(sys.argv[2]))
    else:
        sys.exit("usage: python -m tracker.extract --worker MEMORY_MB")
