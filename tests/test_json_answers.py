"""What a portal's JSON answer may be and still be read (crawler/middlewares.py, validate_json): anything
else is one line naming what is wrong, retried and then a failed request, never a traceback."""

from __future__ import annotations

import pytest
from scrapy.http import Request, TextResponse

from crawler.middlewares import InvalidResponse, validate_json


def _answer(body: bytes, content_type: str = "application/json; charset=utf-8") -> TextResponse:
    url = "http://127.0.0.1:1/v1/riverton/matters"
    return TextResponse(url, body=body, headers={"Content-Type": content_type}, request=Request(url))


def test_a_good_answer_is_read_with_bad_bytes_replaced():
    doc = validate_json(_answer(b'[{"MatterId": 1, "MatterTitle": "caf\xe9 \x01"}]'), "list")
    assert doc == [{"MatterId": 1, "MatterTitle": "caf\ufffd \x01"}]


@pytest.mark.parametrize(
    ("body", "content_type", "expect", "message"),
    [
        # a 5,000-digit number stopped the city with Python's own advice ("use sys.set_int_max_str_digits()")
        (b'[{"MatterId": ' + b"9" * 5000 + b"}]", None, "list", "a number in the JSON is too long to read"),
        (b'[{"MatterId": 1', None, "list", "invalid or truncated JSON"),
        (b"<html>Server Error</html>", "text/html", "list", "expected JSON, got an HTML page"),
        (b'{"MatterId": 1}', None, "list", "expected a JSON array, got dict"),
        (b"[1, 2]", None, "list", "expected a JSON array of objects"),
        (b"[]", None, "object", "expected a JSON object, got list"),
    ],
)
def test_what_cannot_be_read_is_one_line(body, content_type, expect, message):
    response = _answer(body, content_type) if content_type else _answer(body)
    with pytest.raises(InvalidResponse) as exc:
        validate_json(response, expect)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value), str(exc.value)
    assert "set_int_max_str_digits" not in str(exc.value)
