"""The matcher's work is linear in what it reads, and what it reads is capped (a 62,000-character
title took 3 s, a 1.2 MB one more than 12 minutes). Work is counted, never timed: the number of Python
function calls (cProfile counts every call and generator step) for a hostile field must grow linearly with
its length. Seconds per size are in bench/bench_matcher_long.py."""

from __future__ import annotations

import cProfile
import pstats
import random

import pytest

from tracker.matcher.engine import (
    FIELD_LIMITS,
    _distance,
    _drop_contained,
    _Hit,
    _Spans,
)

# shapes that made the old engine quadratic: many matches of one category, many cues near many matches,
# many negative matches among many term matches
HOSTILE = {
    "repeated phrase": "sanctuary city ",
    "cues and terms": "new school resource officer program ended; ICE detainer ",
    "negatives": "ice rink sanctuary city ice rink ",
    "mixed": "an ordinance prohibiting cooperation with immigration and customs enforcement detainers; ",
}


def _calls(fn, *args) -> int:
    profile = cProfile.Profile()
    profile.runcall(fn, *args)
    return sum(stat[1] for stat in pstats.Stats(profile).stats.values())  # primitive + recursive calls


def _field(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("shape", HOSTILE)
def test_work_grows_linearly_with_the_field(matcher, shape):
    unit = HOSTILE[shape]
    small = _calls(matcher._classify, [("title", _field(unit, 4_000))])
    large = _calls(matcher._classify, [("title", _field(unit, 16_000))])
    assert matcher._classify([("title", _field(unit, 16_000))]).relevant  # the shape does match
    # four times the text, about four times the work (quadratic would be sixteen times)
    assert large <= 5 * small, (small, large)


def test_a_250000_character_title_is_read_up_to_the_cap(matcher):
    limit = FIELD_LIMITS["title"]
    title = _field(HOSTILE["repeated phrase"], 250_000)
    result = matcher.classify(title)
    assert result.relevant and result.categories == ["sanctuary_declaration"]
    assert result.to_dict() == matcher.classify(title[:limit]).to_dict()
    assert max(e.end for e in result.evidence) <= limit
    # and the work is that of the capped title, not of 250,000 characters
    assert _calls(matcher.classify, title) <= 1.2 * _calls(matcher.classify, title[:limit])
    many = matcher.classify_many([title, title + "x"])
    assert [r.to_dict() for r in many] == [result.to_dict()] * 2


def test_name_and_text_are_capped_too(matcher):
    name = _field(HOSTILE["mixed"], 50_000)
    text = "x " * FIELD_LIMITS["text"] + "sanctuary city"  # the phrase lies beyond the text cap
    result = matcher.classify("Budget", name=name, text=text)
    assert all(e.end <= FIELD_LIMITS[e.field] for e in result.evidence)
    assert not any(e.field == "text" for e in result.evidence)
    assert result.to_dict() == matcher.classify("Budget", name=name[: FIELD_LIMITS["name"]]).to_dict()


# -- the linear steps give exactly what the pairwise definitions give -----------------------------------


class _T:
    def __init__(self, category: str) -> None:
        self.category = category


def _random_hits(rng: random.Random, n: int) -> list[_Hit]:
    out = []
    for _ in range(n):
        start = rng.randint(0, 60)
        # _T stands in for a Term (the ignore below): the code under test reads only .category
        out.append(_Hit(_T(rng.choice("ab")), "title", start, start + rng.randint(1, 12), "", 0.0))  # type: ignore[arg-type]
    return out


def test_drop_contained_equals_the_pairwise_definition():
    rng = random.Random(13)
    for _ in range(500):
        hits = _random_hits(rng, rng.randint(0, 25))
        expected = [
            h
            for h in hits
            if not any(
                o is not h
                and o.term.category == h.term.category
                and o.start <= h.start
                and h.end <= o.end
                and (o.end - o.start) > (h.end - h.start)
                for o in hits
            )
        ]
        assert _drop_contained(hits) == expected


def test_span_distance_equals_the_minimum_pairwise_distance():
    rng = random.Random(7)
    for _ in range(2000):
        spans = []
        for _ in range(rng.randint(0, 10)):
            s = rng.randint(0, 100)
            spans.append((s, s + rng.randint(1, 15)))
        s = rng.randint(0, 100)
        probe = (s, s + rng.randint(1, 15))
        expected = min((_distance(a, b, *probe) for a, b in spans), default=float("inf"))
        assert _Spans(spans).distance(*probe) == expected
