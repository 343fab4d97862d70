"""Editing a subscription on the web: every value entered is kept after an error; the time zone is picked
from a list; new subscriptions are confirmed-only by default; filter summaries use labels."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Subscription


def test_web_edit_form_keeps_every_value_after_an_error(engine, client, login):
    login(client, role="staff", email="ana@example.org")
    new = client.get("/subscriptions")
    assert 'name="confirmed_only" value="true" checked' in new.text  # confirmed-only by default
    assert "<optgroup" in new.text and "<option>Europe/Paris</option>" in new.text  # picked from a list
    form = {
        "csrf_token": client.csrf, "jurisdictions": ["portalder"], "categories": ["legal_defense"],
        "direction": "restricts", "confirmed_only": "true", "status_changes": "true", "frequency": "weekly",
        "at_time": "06:45", "weekday": "thu", "timezone": "America/Chicago", "email_enabled": "true",
    }  # fmt: skip
    assert client.post("/subscriptions", data=form).status_code == 303
    with session_scope(engine) as s:
        sub_id = s.scalars(select(Subscription.id)).one()
    listing = client.get("/subscriptions").text
    assert "Legal defense" in listing and "legal_defense;" not in listing
    assert f"/subscriptions/{sub_id}/edit" in listing
    bad = {
        **form, "jurisdictions": ["riverton"], "categories": ["police_in_schools"],
        "at_time": "25:99", "timezone": "Europe/Paris", "weekday": "sat", "direction": "expands",
    }  # fmt: skip
    del bad["confirmed_only"]
    page = client.post(f"/subscriptions/{sub_id}/edit", data=bad)
    assert page.status_code == 400 and 'class="error"' in page.text
    for kept in (
        '<option value="riverton" selected>', '<option value="portalder">',
        '<option value="police_in_schools" selected>', 'value="25:99"', "<option selected>Europe/Paris",
        "<option selected>sat", '<option value="expands" selected>',
    ):  # fmt: skip
        assert kept in page.text, kept
    assert 'name="confirmed_only" value="true" checked' not in page.text
    with session_scope(engine) as s:
        assert s.get(Subscription, sub_id).at_time == "06:45"  # nothing changed
    ok = client.post(f"/subscriptions/{sub_id}/edit", data={**bad, "at_time": "09:30"})
    assert ok.status_code == 303
    with session_scope(engine) as s:
        sub = s.get(Subscription, sub_id)
        assert (sub.at_time, sub.timezone, sub.jurisdictions, sub.confirmed_only) == (
            "09:30",
            "Europe/Paris",
            ["riverton"],
            False,
        )


def test_web_form_refuses_uncertain_with_confirmed_only(engine, client, login):
    """Uncertain matches are ones no editor confirmed: both boxes ticked stored a subscription listed as
    "incl. uncertain matches" that got none, until 2026-12-07; now the form says which box to untick."""
    login(client, role="staff", email="ana@example.org")
    form = {
        "csrf_token": client.csrf, "confirmed_only": "true", "include_uncertain": "true",
        "status_changes": "true", "frequency": "daily", "at_time": "08:00", "email_enabled": "true",
    }  # fmt: skip
    page = client.post("/subscriptions", data=form)
    assert (
        page.status_code == 400
        and "untick" in page.text
        and "--" not in page.text.split('class="error"')[1][:200]
    )
    with session_scope(engine) as s:
        assert s.scalars(select(Subscription.id)).all() == []
    del form["confirmed_only"]
    assert client.post("/subscriptions", data=form).status_code == 303
    with session_scope(engine) as s:
        sub = s.scalars(select(Subscription)).one()
        sub_id, got = sub.id, (sub.confirmed_only, sub.include_uncertain)
    assert got == (False, True)
    page = client.post(f"/subscriptions/{sub_id}/edit", data={**form, "confirmed_only": "true"})
    assert page.status_code == 400 and "untick" in page.text
    with session_scope(engine) as s:
        assert (
            s.get(Subscription, sub_id).confirmed_only,
            s.get(Subscription, sub_id).include_uncertain,
        ) == got
