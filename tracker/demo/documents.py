"""Real bill documents built from text, for the demo portal, the document tests and the benchmark.

:func:`make_pdf` writes a valid PDF 1.4 file by hand (a Helvetica text content stream per page, an exact
cross-reference table), :func:`make_docx` a Word file with python-docx. Both are read back by the same
libraries the tracker extracts real portal documents with.
"""

from __future__ import annotations

import io
import textwrap


def _pdf_string(line: str) -> bytes:
    raw = line.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(paragraphs: list[str], *, width: int = 90, lines_per_page: int = 50) -> bytes:
    """A PDF whose pages show ``paragraphs`` (wrapped at ``width`` characters) in Helvetica 11."""
    lines: list[str] = []
    for p in paragraphs:
        lines += textwrap.wrap(p, width) or [""]
        lines.append("")
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    # objects: 1 catalog, 2 pages, 3 font, then (page, content) per page
    objects: list[bytes] = [
        b"",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for page_lines in pages:
        stream = (
            b"BT /F1 11 Tf 14 TL 56 770 Td\n"
            + b"".join(_pdf_string(x) + b" Tj T*\n" for x in page_lines)
            + b"ET"
        )
        page_no = len(objects) + 1
        kids.append(f"{page_no} 0 R".encode())
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            + f"/Contents {page_no + 1} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + f"] /Count {len(pages)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_docx(
    paragraphs: list[str], *, title: str | None = None, table: list[list[str]] | None = None
) -> bytes:
    """A Word document with an optional heading, the paragraphs and an optional table."""
    import docx

    document = docx.Document()
    if title:
        document.add_heading(title, level=1)
    for p in paragraphs:
        document.add_paragraph(p)
    if table:
        t = document.add_table(rows=len(table), cols=max(len(r) for r in table))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                t.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
