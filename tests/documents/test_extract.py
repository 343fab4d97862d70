"""Text extraction from real files (a PDF written byte by byte, a DOCX written by python-docx, HTML), in the
child process, with its time limit."""

from __future__ import annotations

import pytest

from tests.documents.conftest import DETAINER_ORDINANCE, ICE_CONTRACT
from tracker.demo.documents import make_docx, make_pdf
from tracker.extract import DOCX, HTML, PDF, TEXT, ExtractError, ExtractorProcess, extract_bytes, sniff


@pytest.fixture(scope="module")
def extractor():
    with ExtractorProcess(timeout=30, memory_mb=1024) as ep:
        yield ep


def test_a_real_pdf_is_extracted_in_the_child(extractor, contract_pdf):
    got = extractor.extract(PDF, contract_pdf, max_chars=100_000)
    assert got.pages == 1 and not got.truncated
    assert got.text.startswith("INTERGOVERNMENTAL SERVICE AGREEMENT")
    assert "housing of ICE detainees" in " ".join(got.text.split())
    assert "Section 2. Term." in got.text


def test_a_real_docx_is_extracted_in_order_with_its_tables(extractor):
    data = make_docx(
        DETAINER_ORDINANCE, title="Ordinance No. 2026-41", table=[["Fund", "Amount"], ["ICE", "0"]]
    )
    got = extractor.extract(DOCX, data, max_chars=100_000)
    lines = got.text.splitlines()
    assert lines[0] == "Ordinance No. 2026-41"
    assert lines[1] == DETAINER_ORDINANCE[0]
    assert "honor civil immigration detainer requests" in got.text
    assert lines[-4:] == ["Fund", "Amount", "ICE", "0"]


def test_long_documents_are_cut_and_say_so(extractor):
    pdf = make_pdf(ICE_CONTRACT * 200)
    got = extractor.extract(PDF, pdf, max_chars=2000)
    assert len(got.text) == 2000 and got.truncated and got.pages > 1


def test_html_loses_its_markup_scripts_and_styles():
    page = (
        b"<!DOCTYPE html><html><head><title>Ordinance</title><style>p{color:red}</style>"
        b"<script>alert('x')</script></head><body><h1>Section&nbsp;1</h1><p>No <b>detainer</b> &amp; "
        b"no ICE.</p><!-- hidden --><ul><li>one</li><li>two</li></ul></body></html>"
    )
    got = extract_bytes(HTML, page, max_chars=10_000)
    assert got.text == "Ordinance\nSection 1\nNo detainer & no ICE.\none\ntwo"
    assert extract_bytes(HTML, b"", max_chars=100).text == ""
    latin = "<p>Caf\xe9 r\xe9solution</p>".encode("latin-1")
    assert extract_bytes(HTML, latin, charset="iso-8859-1", max_chars=100).text == "Café résolution"
    assert extract_bytes(TEXT, "Résolution\x00 1\r\n".encode(), max_chars=100).text == "Résolution 1"


def test_what_a_download_is_comes_from_its_bytes(contract_pdf, detainer_docx):
    assert sniff(contract_pdf, "application/octet-stream") == PDF
    assert sniff(contract_pdf, "text/html") == PDF  # a wrong header does not make it HTML
    assert sniff(detainer_docx, None) == DOCX
    assert sniff(b"<!DOCTYPE html><html>...", None) == HTML
    assert sniff(b"<p>body</p>", "text/html; charset=utf-8") == HTML
    assert sniff(b"Section 1.", "text/plain") == TEXT
    assert sniff(b"Section 1.", "application/octet-stream") is None
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png") is None
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "application/msword") is None
    assert sniff(b"PK\x03\x04garbage", "application/zip") is None


def test_broken_documents_are_one_line_errors_and_the_child_lives_on(extractor, contract_pdf):
    with pytest.raises(ExtractError, match=r"^not a readable PDF: "):
        extractor.extract(PDF, b"%PDF-1.4\n1 0 obj << /Type /Catalog", max_chars=100)
    with pytest.raises(ExtractError) as broken:
        extractor.extract(DOCX, b"PK\x03\x04" + b"\x00" * 200, max_chars=100)
    assert "\n" not in str(broken.value)
    started = extractor.started
    assert "ICE" in extractor.extract(PDF, contract_pdf, max_chars=1000).text
    assert extractor.started == started


def test_an_extraction_past_its_time_limit_is_killed_and_the_next_one_gets_a_fresh_child(contract_pdf):
    big = make_pdf(ICE_CONTRACT * 400)
    with ExtractorProcess(timeout=0.02, memory_mb=1024) as ep:
        with pytest.raises(ExtractError, match=r"extraction took longer than 0\.02 s \(stopped\)"):
            ep.extract(PDF, big, max_chars=10_000_000)
        assert ep._proc is None  # killed
        ep.timeout = 30
        assert "ICE" in ep.extract(PDF, contract_pdf, max_chars=1000).text
        assert ep.started == 2
