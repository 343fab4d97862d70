"""Signals people can trust: no internal rule or cue code on the pages, a legend for the
evidence highlights, the bill's stage, status and latest action on the review card, and *why this
direction* on the review card, the bill page and the JSON API."""

from __future__ import annotations

from datetime import date

from tests.factories import GANG, make_bill


def test_review_card_and_bill_page_say_why_in_words(client, login, engine):
    actions = [(date(2026, 11, 2), "Introduced", None), (date(2026, 11, 9), "Referred", None)]
    bill = make_bill(engine, GANG, status="Referred to Public Safety", stage="in_committee", actions=actions)
    login(client, "editor")
    page = client.get("/review?jurisdiction=riverton").text
    assert "end_school_police" not in page and "gang_databases" not in page.split('<form class="filters"')[0]
    assert (
        "Stage: <strong>in committee</strong> · Status: Referred to Public Safety · Latest action: 2026-11-09"
        in page
    )
    assert "Why this direction: " in page  # the model's reason or the deciding cue, in words
    why = page.split("Why this direction: ", 1)[1].split("<", 1)[0]
    assert "abolishing" in why and "_" not in why
    assert 'class="legend small"' in page and "direction cue" in page  # the highlights' legend
    assert "confirm the bill (with the note, if any) and move to the next bill" in page

    shown = client.get(f"/bills/{bill}").text
    assert "end_school_police" not in shown
    assert "direction cue: ends or reduces police in schools or a gang database" in shown
    assert "<th>Why this direction</th>" in shown and 'class="legend small"' in shown

    api = client.get(f"/api/bills/{bill}").json()
    assert "abolishing" in api["direction_reason"] and "_" not in api["direction_reason"]
    assert api["match"]["direction_reason"] == api["direction_reason"]
    listed = client.get("/api/bills?jurisdiction=riverton").json()["items"]
    assert [b["direction_reason"] for b in listed if b["id"] == bill] == [api["direction_reason"]]


def test_a_rules_only_match_without_a_cue_says_the_usual_direction():
    from tracker.signals import direction_reason

    assert direction_reason(
        relevant=True, direction="expands", categories=["legal_defense"], evidence=[]
    ) == ("the usual direction of Legal defense measures")
    assert direction_reason(relevant=False, direction=None, categories=[]) is None
