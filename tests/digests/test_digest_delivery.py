"""Channels and the outbox against a real SMTP server and a webhook receiver on loopback: retries with
backoff, sends in doubt held for the operator, concurrent senders, escaping of untrusted text."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from xml.etree import ElementTree as ET

from sqlalchemy import func, select

from db.engine import session_scope
from db.models_digest import Digest, DigestDelivery
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.digests.outbox import feed_for, release, send_due

T0 = f.T0
XSS = "<script>alert(1)</script>"


def _one_new_measure(engine, config, title="Ordinance limiting civil immigration detainers", **sub):
    with session_scope(engine) as s:
        sub_id = h.subscribe(s, config, starts_at=T0, **sub).id
        b = f.bill(s, title=title, first_seen=T0 + timedelta(minutes=30))
        f.match(s, b)
    return sub_id


def _deliveries(engine):
    with session_scope(engine) as s:
        return [
            (d.status, d.attempts, d.next_attempt_at, d.last_error)
            for d in s.scalars(select(DigestDelivery).order_by(DigestDelivery.id))
        ]


def test_xss_title_is_inert_in_the_html_mail_and_the_feed(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        sub_id = h.subscribe(s, config, starts_at=T0).id
        b = f.bill(
            s,
            title=f"Ordinance on immigration detainers {XSS} & more",
            first_seen=T0 + timedelta(minutes=1),
            url="javascript:alert(2)",
        )
        f.match(
            s, b, evidence=[{"kind": "term", "rule": "detainers_warrants", "phrase": XSS, "field": "title"}]
        )
    send_due(engine, config, T0 + timedelta(hours=1))
    (msg,) = smtp.messages
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "javascript:" not in html  # a link that is not http(s) is dropped
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert XSS in text  # plain text is not HTML: shown as is
    with session_scope(engine) as s:
        from db.models_digest import Subscription

        feed = feed_for(s, s.get(Subscription, sub_id), config)
    assert b"<script>" not in feed and b"javascript:" not in feed
    root = ET.fromstring(feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = root.findall("a:entry", ns)
    content = entry.find("a:content", ns)
    assert content.get("type") == "html"
    # what a feed reader renders as HTML: the title is still escaped text, not a script element
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content.text and "<script>" not in content.text


def test_terminal_escapes_in_a_title_never_reach_a_mail(engine, db_url, smtp):
    """A title written to the database past the portal boundary (which removes them) with terminal escapes
    and a bell: ``digest preview`` showed them replaced, but the mail sent carried them raw (a terminal mail
    reader would act on them). Both parts of the mail are without them; bidi overrides are U+FFFD."""
    config = h.make_config(db_url, smtp.port)
    title = "Ordinance on immigration detainers \x1b[31mRED\x1b[0m\x1b]0;pwned\x07 \u202egnp.exe \x9b2J"
    _one_new_measure(engine, config, title=title)
    send_due(engine, config, T0 + timedelta(hours=1))
    (msg,) = smtp.messages
    for part in ("plain", "html"):
        body = msg.get_body(preferencelist=(part,)).get_content()
        assert "detainers [31mRED[0m]0;pwned \ufffdgnp.exe 2J" in body, part
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e]", body), part


def test_a_title_is_one_line_of_at_most_600_characters_in_a_digest(engine, db_url, smtp, webhook):
    """A title with line breaks added lines that looked like the digest's own ("Council's page: ...") to
    the text mail, and a 10,000-character title filled the mail, the webhook and Slack: a digest shows
    one line of at most 600 characters (the bill's page has all of it)."""
    config = h.make_config(db_url, smtp.port)
    title = (
        "Ordinance limiting civil immigration detainers\nCouncil's page: http://evil.example\n" + "x" * 10_000
    )
    _one_new_measure(engine, config, title=title, webhook_url=webhook.url)
    send_due(engine, config, T0 + timedelta(hours=1))
    (msg,) = smtp.messages
    text = msg.get_body(preferencelist=("plain",)).get_content()
    (line,) = [x for x in text.splitlines() if "limiting civil immigration detainers" in x]
    assert "detainers Council's page: http://evil.example xxx" in line and line.endswith("x…")
    assert not any(x.startswith("Council's page: http://evil") for x in text.splitlines())
    (request,) = webhook.receiver.requests
    (shown,) = [m["title"] for c in request.body["cities"] for m in c["measures"]]
    assert len(shown) == 600 and shown.endswith("…") and "\n" not in shown


def test_atom_entries_have_stable_ids(engine, db_url):
    config = h.make_config(db_url)
    sub_id = _one_new_measure(engine, config, email_enabled=False)
    send_due(engine, config, T0 + timedelta(hours=1))
    with session_scope(engine) as s:
        from db.models_digest import Subscription

        sub = s.get(Subscription, sub_id)
        first = feed_for(s, sub, config)
        b = f.bill(s, title="Second detainer ordinance", first_seen=T0 + timedelta(hours=2))
        f.match(s, b)
    send_due(engine, config, T0 + timedelta(hours=3))
    with session_scope(engine) as s:
        second = feed_for(s, s.get(Subscription, sub_id), config)
        event_ids = [d.event_id for d in s.scalars(select(Digest).order_by(Digest.id))]
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids1 = [e.text for e in ET.fromstring(first).findall("a:entry/a:id", ns)]
    ids2 = [e.text for e in ET.fromstring(second).findall("a:entry/a:id", ns)]
    assert ids1 == [f"urn:uuid:{event_ids[0]}"]
    assert ids2 == [f"urn:uuid:{event_ids[1]}", f"urn:uuid:{event_ids[0]}"]  # newest first, old id unchanged
    assert ET.fromstring(first).find("a:id", ns).text == ET.fromstring(second).find("a:id", ns).text


def test_feeds_are_written_to_the_feed_directory(engine, db_url, tmp_path):
    config = h.make_config(db_url, digests={"feed_dir": str(tmp_path / "feeds")})
    _one_new_measure(engine, config, email_enabled=False)
    report = send_due(engine, config, T0 + timedelta(hours=1))
    (path,) = (tmp_path / "feeds").glob("*.atom")
    assert report.feeds == [f"subscription 1: {path}"] or report.feeds[0].endswith(str(path))
    assert b"Ordinance limiting civil immigration detainers" in path.read_bytes()
    assert send_due(engine, config, T0 + timedelta(hours=2)).feeds == []  # unchanged: not rewritten


def test_a_feed_dir_that_cannot_be_written_is_one_error_and_the_digest_stands(engine, db_url, tmp_path):
    """feed_dir under a file: `digest send` stopped with a NotADirectoryError traceback after recording the
    digest (until 2026-12-07). Now one error line; the digest is recorded once, and the feed is written on
    the next round once the folder can be made."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    config = h.make_config(db_url, digests={"feed_dir": str(blocker / "feeds")})
    _one_new_measure(engine, config, email_enabled=False)
    report = send_due(engine, config, T0 + timedelta(hours=1))
    assert len(report.recorded) == 1 and report.feeds == []
    assert report.errors == [
        f"cannot write the Atom feeds to [digests] feed_dir {blocker / 'feeds'}: Not a directory"
    ]
    blocker.unlink()
    report = send_due(engine, config, T0 + timedelta(hours=2))
    assert report.recorded == [] and report.errors == [] and len(report.feeds) == 1
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Digest)) == 1


def test_a_failed_send_is_retried_with_backoff(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port, digests={"retry_base_seconds": 60})
    _one_new_measure(engine, config)
    smtp.mailbox.fail_next = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    t1 = T0 + timedelta(hours=1)
    report = send_due(engine, config, t1)
    assert report.recorded and report.retrying and not report.sent
    ((status, attempts, next_at, error),) = _deliveries(engine)
    assert (status, attempts, next_at) == ("retry", 1, t1 + timedelta(seconds=60))
    assert "451 4.3.0 Try again later" in error
    assert send_due(engine, config, t1 + timedelta(seconds=30)).lines() == []  # backoff not over: no attempt
    send_due(engine, config, t1 + timedelta(seconds=61))  # second attempt fails: backoff doubles
    ((status, attempts, next_at, _),) = _deliveries(engine)
    assert (status, attempts, next_at) == ("retry", 2, t1 + timedelta(seconds=61 + 120))
    report = send_due(engine, config, t1 + timedelta(seconds=181))
    assert len(report.sent) == 1
    assert len(smtp.messages) == 1
    assert _deliveries(engine)[0][:2] == ("sent", 3)
    assert send_due(engine, config, t1 + timedelta(hours=5)).lines() == []
    assert len(smtp.messages) == 1


def test_retries_stop_after_max_attempts_and_raise_an_alert(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port, digests={"max_attempts": 2, "retry_base_seconds": 1})
    _one_new_measure(engine, config)
    smtp.mailbox.fail_next = ["451 busy"] * 5
    send_due(engine, config, T0 + timedelta(hours=1))
    report = send_due(engine, config, T0 + timedelta(hours=2))
    assert report.failed and _deliveries(engine)[0][:2] == ("failed", 2)
    from tracker.health import evaluate

    alerts = evaluate(engine, config, T0 + timedelta(hours=2)).alerts
    assert [a.kind for a in alerts] == ["failed_delivery"]


def test_a_recipient_refused_for_good_is_not_retried(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    _one_new_measure(engine, config)
    smtp.mailbox.refuse_rcpt = ["550 5.1.1 No such user"]
    report = send_due(engine, config, T0 + timedelta(hours=1))
    assert report.failed and "550 5.1.1 No such user" in report.failed[0]
    assert _deliveries(engine)[0][:2] == ("failed", 1)


def test_a_send_in_doubt_is_held_and_only_the_operator_releases_it(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    _one_new_measure(engine, config)
    smtp.mailbox.fail_next = ["drop"]  # the server takes the message and hangs up without answering
    report = send_due(engine, config, T0 + timedelta(hours=1))
    assert report.held and "after the message was sent, before the server answered" in report.held[0]
    assert len(smtp.mailbox.received_raw) == 1
    for minutes in (1, 10, 600):  # never resent on its own
        send_due(engine, config, T0 + timedelta(hours=1, minutes=minutes))
    assert len(smtp.mailbox.received_raw) == 1
    ((status, *_),) = _deliveries(engine)
    assert status == "held"
    with session_scope(engine) as s:
        delivery_id = s.scalar(select(DigestDelivery.id))
    # the operator checked: it did not arrive; release sends it again
    assert "released" in release(engine, delivery_id, T0 + timedelta(hours=12))
    send_due(engine, config, T0 + timedelta(hours=12, minutes=1))
    assert len(smtp.messages) == 1 and _deliveries(engine)[0][0] == "sent"


def test_release_mark_sent_records_without_sending(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    _one_new_measure(engine, config)
    smtp.mailbox.fail_next = ["drop"]
    send_due(engine, config, T0 + timedelta(hours=1))
    with session_scope(engine) as s:
        delivery_id = s.scalar(select(DigestDelivery.id))
    release(engine, delivery_id, T0 + timedelta(hours=2), mark_sent=True)
    send_due(engine, config, T0 + timedelta(hours=3))
    assert len(smtp.mailbox.received_raw) == 1 and smtp.messages == []
    assert _deliveries(engine)[0][0] == "sent"


def test_two_senders_at_once_send_each_digest_once(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        for n in range(3):
            h.subscribe(s, config, f"staff{n}@example.org", starts_at=T0)
        f.match(s, f.bill(s, title="Detainer ordinance", first_seen=T0 + timedelta(minutes=1)))
    barrier = threading.Barrier(4)
    errors = []

    def sender():
        try:
            barrier.wait()
            send_due(engine, config, T0 + timedelta(hours=1))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(m["To"] for m in smtp.messages) == [f"staff{n}@example.org" for n in range(3)]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Digest)) == 3
    assert [d[0] for d in _deliveries(engine)] == ["sent"] * 3


def test_webhook_carries_a_stable_event_id_across_retries(engine, db_url, webhook):
    config = h.make_config(db_url)
    _one_new_measure(engine, config, email_enabled=False, webhook_url=webhook.url)
    webhook.receiver.statuses = [503]
    send_due(engine, config, T0 + timedelta(hours=1))
    send_due(engine, config, T0 + timedelta(hours=2))
    first, second = webhook.receiver.requests
    assert first.path == second.path == "/hooks/secret-token"
    assert (
        first.headers["X-Tracker-Event-Id"] == second.headers["X-Tracker-Event-Id"] == second.body["event_id"]
    )
    assert first.body == second.body
    body = second.body
    assert body["type"] == "digest" and body["measures"] == 1 and body["status_changes"] == 0
    (city,) = body["cities"]
    assert city["jurisdiction"] == "riverton"
    assert city["measures"][0]["title"] == "Ordinance limiting civil immigration detainers"
    assert city["measures"][0]["categories"] == ["detainers_warrants"]
    assert _deliveries(engine)[0][:2] == ("sent", 2)


def test_slack_webhook_escapes_control_characters(engine, db_url, webhook):
    config = h.make_config(db_url)
    _one_new_measure(
        engine,
        config,
        title="Detainers & <b>warrants</b> > all",
        email_enabled=False,
        webhook_url=webhook.url,
        webhook_format="slack",
    )
    send_due(engine, config, T0 + timedelta(hours=1))
    (hook,) = webhook.receiver.requests
    assert set(hook.body) == {"text"}
    text = hook.body["text"]
    assert "Detainers &amp; &lt;b&gt;warrants&lt;/b&gt; &gt; all" in text
    assert "<b>" not in text
    assert "<https://riverton.legistar.com/LegislationDetail.aspx?ID=1|O2026-" in text
    assert hook.headers["X-Tracker-Event-Id"]


def test_a_misconfigured_smtp_server_is_reported_as_one_line(sqlite_db, tmp_path):
    db_url, engine = sqlite_db
    port = h.free_port()  # nothing listens there
    config = h.make_config(db_url, port)
    _one_new_measure(engine, config)
    cfg = h.write_toml(tmp_path / "t.toml", config)
    result = run_tracker(
        "--config", str(cfg), "digest", "send", "--now", (T0 + timedelta(hours=1)).isoformat()
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: SMTP server 127.0.0.1:{port}: cannot connect (Connection refused); "
        "check smtp_host and smtp_port"
    ]
    assert "recorded digest" in result.stdout
    # the digest is kept and retried later, not lost
    assert _deliveries(engine)[0][0] == "retry"


def test_starttls_required_but_not_offered_is_one_line(sqlite_db, smtp, tmp_path):
    db_url, engine = sqlite_db
    config = h.make_config(db_url, smtp.port, email={"starttls": True})
    _one_new_measure(engine, config)
    cfg = h.write_toml(tmp_path / "t.toml", config)
    result = run_tracker("--config", str(cfg), "digest", "check-email")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: SMTP server 127.0.0.1:{smtp.port} does not offer STARTTLS; set starttls = false only for a "
        "server on a trusted network, or implicit_tls = true for port 465"
    ]
    result = run_tracker(
        "--config", str(cfg), "digest", "send", "--now", (T0 + timedelta(hours=1)).isoformat()
    )
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert smtp.messages == []


def test_the_smtp_password_comes_from_the_environment_and_is_never_shown(sqlite_db, smtp, tmp_path):
    db_url, engine = sqlite_db
    config = h.make_config(
        db_url, smtp.port, email={"username": "tracker", "password_env": "TEST_SMTP_PASSWORD"}
    )
    _one_new_measure(engine, config)
    cfg = h.write_toml(tmp_path / "t.toml", config)
    assert "TEST_SMTP_PASSWORD" in cfg.read_text() and "hunter2" not in cfg.read_text()
    result = run_tracker("--config", str(cfg), "digest", "check-email")
    assert result.stderr.splitlines() == [
        "Error: environment variable TEST_SMTP_PASSWORD (email.password_env) is not set"
    ]
    result = run_tracker(
        "-vv", "--config", str(cfg), "digest", "check-email", env={"TEST_SMTP_PASSWORD": "hunter2"}
    )
    # aiosmtpd offers AUTH only over TLS: a clear refusal, and the password appears nowhere
    assert result.returncode == 1
    assert "does not offer authentication" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_an_address_the_smtp_client_cannot_send_to_fails_alone_and_the_others_go_out(engine, db_url, smtp):
    """A subscription stored with a non-ASCII address (accepted before addresses were checked for it; the SMTP
    client does not speak SMTPUTF8) stopped ``digest send`` with a UnicodeEncodeError at RCPT, every run: its
    delivery stayed ``sending`` past max_attempts and every delivery after it waited for ever. It now fails
    for good, named, and the next subscriber's digest is sent in the same run."""
    from sqlalchemy import update

    from db.models_digest import Subscription

    config = h.make_config(db_url, smtp.port)
    first = _one_new_measure(engine, config, email="jose@example.org")
    with session_scope(engine) as s:
        h.subscribe(s, config, "ana@example.org", starts_at=T0)
        s.execute(update(Subscription).where(Subscription.id == first).values(email="José@exämple.org"))
    report = send_due(engine, config, T0 + timedelta(hours=1))
    assert len(report.failed) == 1 and "cannot send to 'José@exämple.org'" in report.failed[0]
    assert "outside ASCII" in report.failed[0]
    assert [m["To"] for m in smtp.messages] == ["ana@example.org"]
    assert [d[:2] for d in _deliveries(engine)] == [("failed", 1), ("sent", 1)]
    assert send_due(engine, config, T0 + timedelta(hours=2)).lines() == []  # nothing stuck, nothing resent


def test_an_unforeseen_error_in_one_delivery_does_not_stop_the_others(engine, db_url, smtp):
    """Any error a channel was not written for (here a recorded digest whose subject holds a line break,
    which the e-mail library refuses in a header) is one line for that delivery, retried like any failure
    before anything was sent; the other deliveries go out in the same run."""
    from sqlalchemy import update

    from tracker.digests.outbox import deliver_due, record_due

    config = h.make_config(db_url, smtp.port)
    _one_new_measure(engine, config, email="jose@example.org")
    with session_scope(engine) as s:
        h.subscribe(s, config, "ana@example.org", starts_at=T0)
    now = T0 + timedelta(hours=1)
    record_due(engine, config, now)
    with session_scope(engine) as s:
        first = s.scalar(select(func.min(Digest.id)))
        s.execute(
            update(Digest).where(Digest.id == first).values(subject="New measures\r\nBcc: x@example.org")
        )
    report = deliver_due(engine, config, now)
    assert len(report.retrying) == 1 and "unexpected error: ValueError" in report.retrying[0], report.lines()
    assert [m["To"] for m in smtp.messages] == ["ana@example.org"]
    assert [d[:2] for d in _deliveries(engine)] == [("retry", 1), ("sent", 1)]


def test_a_delivery_whose_sender_dies_at_every_attempt_fails_after_max_attempts(engine, db_url, smtp):
    """A sender that dies before transmitting leaves its delivery to the next run (retried); one that died
    on it max_attempts times is failed for good (before: retried for ever, past max_attempts)."""
    from sqlalchemy import update

    from tracker.digests.outbox import HOST, reap, record_due

    config = h.make_config(db_url, smtp.port, digests={"max_attempts": 3})
    _one_new_measure(engine, config)
    now = T0 + timedelta(hours=1)
    record_due(engine, config, now)
    dead = f"{HOST}:999999999:0"  # no such process

    def died(attempts: int) -> None:
        with session_scope(engine) as s:
            s.execute(
                update(DigestDelivery).values(
                    status="sending", phase=None, claimed_by=dead, claimed_at=now, attempts=attempts
                )
            )

    died(2)
    assert reap(engine, config, now) == 1
    assert [d[:2] for d in _deliveries(engine)] == [("retry", 2)]
    died(3)
    assert reap(engine, config, now) == 1
    ((status, attempts, _, error),) = _deliveries(engine)
    assert (status, attempts, error) == (
        "failed",
        3,
        "the sending process stopped before transmitting, 3 times",
    )
    assert send_due(engine, config, now + timedelta(hours=1)).sent == [] and smtp.messages == []


def test_a_webhook_that_redirects_fails_for_good_at_once(engine, db_url, webhook):
    """Redirects are not followed, and asking again gets the same answer: a 3xx was retried until
    max_attempts; it fails at the first answer, naming it."""
    config = h.make_config(db_url)
    _one_new_measure(engine, config, email_enabled=False, webhook_url=webhook.url)
    webhook.receiver.statuses = [302]
    report = send_due(engine, config, T0 + timedelta(hours=1))
    (failed,) = report.failed
    assert "answered HTTP 302, a redirect, which is not followed" in failed
    assert _deliveries(engine)[0][:2] == ("failed", 1)
