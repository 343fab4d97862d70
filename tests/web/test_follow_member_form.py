"""Following a council member from the web subscription form: by name or CITY:NAME, a clear error (400, the
form kept) for a name nobody knows, and the member shown again on the edit form."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Subscription
from db.models_meetings import Member
from tests import factories as f
from tracker.contract import NormalizedMember
from tracker.meetings import MeetingImporter


def _members(engine, *pairs: tuple[str, str]) -> None:
    with session_scope(engine) as s:
        for slug, name in pairs:
            importer = MeetingImporter(s, f.jurisdiction(s, slug), None, f.T0 - timedelta(days=1))
            importer.store_members([NormalizedMember(name=name)])


def test_follow_a_member_from_the_form(engine, client, login):
    _members(engine, ("riverton", "Jane Doe"), ("riverton", "Sam Lee"), ("portalder", "Sam Lee"))
    login(client, role="staff", email="ana@example.org")
    assert 'name="member"' in client.get("/subscriptions").text
    form = {"csrf_token": client.csrf, "frequency": "daily", "at_time": "08:00", "timezone": "UTC",
            "email_enabled": "true", "member": "Nobody <b>Atall</b>"}  # fmt: skip
    page = client.post("/subscriptions", data=form)
    assert page.status_code == 400
    assert "no council member named &#39;Nobody &lt;b&gt;Atall&lt;/b&gt;&#39;" in page.text
    assert 'value="Nobody &lt;b&gt;Atall&lt;/b&gt;"' in page.text  # what was entered is kept, escaped
    ambiguous = client.post("/subscriptions", data={**form, "member": "Sam Lee"})
    assert ambiguous.status_code == 400 and "names 2 council members" in ambiguous.text
    assert client.post("/subscriptions", data={**form, "member": "jane  doe"}).status_code == 303
    with session_scope(engine) as s:
        sub = s.scalars(select(Subscription)).one()
        assert s.get(Member, sub.member_id).name == "Jane Doe"
        sub_id = sub.id
    listing = client.get("/subscriptions").text
    assert "follows Jane Doe: new sponsorships of sanctuary measures" in listing
    edit = client.get(f"/subscriptions/{sub_id}/edit").text
    assert 'name="member" maxlength="300" value="riverton:Jane Doe"' in edit
    # saving the edit form as shown keeps the member; emptying the field stops following them
    saved = client.post(f"/subscriptions/{sub_id}/edit", data={**form, "member": "riverton:Jane Doe"})
    assert saved.status_code == 303
    assert client.post(f"/subscriptions/{sub_id}/edit", data={**form, "member": ""}).status_code == 303
    with session_scope(engine) as s:
        assert s.get(Subscription, sub_id).member_id is None
