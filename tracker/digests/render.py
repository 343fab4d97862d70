"""Rendering digests: the e-mail's plain text and HTML (Jinja2 templates), the Slack text, the webhook's
JSON and the Atom feed.

Scraped text is untrusted. HTML templates are autoescaped (``select_autoescape``: on for ``.html`` and
``.xml`` and for anything unknown, off only for ``.txt``), nothing scraped is ever marked safe, links are
kept only when they are plain http(s) URLs, the Atom feed is built with an XML library (which escapes
every text node), and Slack text has ``&``, ``<`` and ``>`` escaped as Slack requires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tracker.safe_output import template_finalize, xml_text

ATOM_NS = "http://www.w3.org/2005/Atom"
EVENT_NAMESPACE = uuid.UUID("6f1d6c3e-3b1e-5d0a-9a57-7a1c5b1e2d40")
FEED_ENTRIES = 50

_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("tracker.digests", "templates"),
            autoescape=select_autoescape(
                enabled_extensions=("html", "xml"),
                disabled_extensions=("txt",),
                default_for_string=True,
                default=True,
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            finalize=template_finalize,  # scraped text never reverses a line (tracker/safe_output.py)
        )
    return _env


def event_id(subscription_id: int, period: str) -> str:
    """The digest's stable identity (webhook event id, e-mail Message-ID, Atom entry id)."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"digest:{subscription_id}:{period}"))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def period_label(frequency: str, period: str, timezone: str) -> str:
    if frequency == "daily":
        d = date.fromisoformat(period)
        return f"{d.strftime('%A')} {d.day} {d.strftime('%B %Y')}"
    if frequency == "weekly":
        year, week = period.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
        return f"week of {monday.day} {monday.strftime('%B %Y')}"
    when = datetime.strptime(period, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return f"{when.day} {when.strftime('%B %Y %H:%M')} {when.tzname() or timezone}"


def _parts(content: dict[str, Any]) -> list[str]:
    parts = []
    member = content.get("member")
    if content["measures"]:
        parts.append(_plural(content["measures"], "new sponsorship" if member else "new measure"))
    if content["status_changes"]:
        parts.append(_plural(content["status_changes"], "status change"))
    if content.get("hearings"):
        parts.append(_plural(content["hearings"], "hearing change"))
    if content.get("votes"):
        parts.append(_plural(content["votes"], "vote"))
    return parts


def summary_line(content: dict[str, Any]) -> str:
    parts = _parts(content)
    if len(parts) > 2:
        parts = [", ".join(parts[:-1]), parts[-1]]
    member = content.get("member")
    if member:
        parts = [f"{member['name']}: {parts[0]}" if parts else member["name"], *parts[1:]]
    names = [c["name"] for c in content["cities"]]
    for item in content.get("attention", []):
        if item.get("city") and item["city"] not in names:
            names.append(item["city"])
    if len(names) > 3:
        where = f"{len(names)} cities"
    elif len(names) > 1:
        where = ", ".join(names[:-1]) + " and " + names[-1]
    else:
        where = names[0] if names else ""
    what = " and ".join(parts) or "nothing new"
    return f"{what[0].upper()}{what[1:]} in {where}." if where else f"{what[0].upper()}{what[1:]}."


def subject_line(content: dict[str, Any], label: str) -> str:
    parts = _parts(content)
    return f"Sanctuary Tracker: {', '.join(parts) or 'nothing new'} ({label})"


def _context(content: dict[str, Any], sub: dict[str, Any], period: str) -> dict[str, Any]:
    label = period_label(sub["frequency"], period, sub["timezone"])
    schedule = {
        "immediate": "as soon as something is new",
        "daily": f"daily at {sub['at_time']} ({sub['timezone']})",
        "weekly": f"weekly at {sub['at_time']} ({sub['timezone']})",
    }[sub["frequency"]]
    unsubscribe, manage = sub.get("unsubscribe_url"), sub.get("manage_url")
    stop = (
        "To stop it, unsubscribe with the link below (no login needed)."
        if unsubscribe
        # without a link, the recipient (staff, not the operator) is told whom to ask and what they run
        else (
            "To stop it, ask the person who runs this Sanctuary Tracker to pause or remove subscription "
            f"{sub['id']} (tracker subscriptions pause {sub['id']})."
        )
    )
    return {
        "heading": f"Sanctuary Tracker digest: {label}",
        "summary": summary_line(content),
        "attention": content.get("attention", []),
        "cities": content["cities"],
        "coming_up": content.get("coming_up", []),
        "member": content.get("member"),
        "timezone": sub["timezone"],
        "footer": (
            f"You receive this digest because {sub['email']} is subscribed (subscription {sub['id']}, "
            f"{schedule}). {stop}"
        ),
        "unsubscribe_url": unsubscribe,
        "manage_url": manage,
        "label": label,
    }


def render_digest(content: dict[str, Any], sub: dict[str, Any], period: str) -> Rendered:
    """Subject, plain text and HTML of a digest. ``sub`` holds id, email, frequency, at_time, timezone."""
    env = environment()
    ctx = _context(content, sub, period)
    return Rendered(
        subject=subject_line(content, ctx["label"]),
        text=env.get_template("digest.txt").render(ctx),
        html=env.get_template("digest.html").render(ctx),
    )


def render_fragment(content: dict[str, Any], sub: dict[str, Any], period: str) -> str:
    """The digest's HTML body without the document around it (the Atom entry's content)."""
    return environment().get_template("_body.html").render(_context(content, sub, period))


def render_alert(
    heading: str, opened: list[dict[str, Any]], resolved: list[dict[str, Any]], operator: str
) -> str:
    return (
        environment()
        .get_template("alert.txt")
        .render(heading=heading, opened=opened, resolved=resolved, operator=operator)
    )


# -- Slack --------------------------------------------------------------------------------------------


def slack_escape(value: str) -> str:
    """Slack's mrkdwn control characters: ``&``, ``<`` and ``>`` must be sent as entities."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str | None, label: str) -> str:
    if not url:
        return slack_escape(label)
    target = slack_escape(url).replace("|", "%7C")
    return f"<{target}|{slack_escape(label).replace('|', '/')}>"


def slack_text(content: dict[str, Any], heading: str) -> str:
    lines = [f"*{slack_escape(heading)}*", slack_escape(summary_line(content))]
    attention = content.get("attention", [])
    if attention:
        lines.append("")
        lines.append("*Needs attention: restrictive measures that moved*")
        for c in attention:
            ident = _slack_link(c.get("tracker_url") or c["url"], c["identifier"] or "(no number)")
            change = slack_escape(f"{c['change']}, {c['date']}")
            note = "" if c.get("reviewed") else " (not yet reviewed)"
            lines.append(f"• {slack_escape(c['city'])}: {ident} {slack_escape(c['title'])}: {change}{note}")
    for city in content["cities"]:
        lines.append("")
        lines.append(f"*{slack_escape(city['name'])}*")
        for m in city["measures"]:
            ident = _slack_link(m.get("tracker_url") or m["url"], m["identifier"] or "(no number)")
            cats = ", ".join(m["category_labels"]) or "no category"
            lines.append(
                f"• New: {ident} {slack_escape(m['title'])} ({slack_escape(cats)}; "
                f"{slack_escape(m['direction_label'])}; {slack_escape(m['stage_label'])})"
            )
        for c in city["status_changes"]:
            ident = _slack_link(c.get("tracker_url") or c["url"], c["identifier"] or "(no number)")
            change = slack_escape(f"{c['change']}, {c['date']}")
            lines.append(f"• {ident} {slack_escape(c['title'])}: {change}")
        for m in city.get("sponsorships", []):
            ident = _slack_link(m.get("tracker_url") or m["url"], m["identifier"] or "(no number)")
            lines.append(
                f"• Sponsored: {ident} {slack_escape(m['title'])} ({slack_escape(m['direction_label'])})"
            )
        for v in city.get("votes", []):
            ident = _slack_link(v.get("tracker_url") or v["url"], v["identifier"] or "(no number)")
            lines.append(f"• Vote: {ident} {slack_escape(v['title'])}: {slack_escape(v['text'])}")
        for h in city.get("hearings", []):
            lines.append(_slack_hearing(h))
    coming = content.get("coming_up", [])
    if coming:
        lines.append("")
        lines.append("*Coming up*")
        lines += [_slack_hearing(h) for h in coming]
    return "\n".join(lines)


def _slack_hearing(h: dict[str, Any]) -> str:
    ident = _slack_link(h.get("tracker_url") or h["url"], h["identifier"] or "(no number)")
    line = f"• {ident} {slack_escape(h['title'])}: {slack_escape(h['text'])}"
    if h.get("agenda_url"):
        line += " " + _slack_link(h["agenda_url"], "agenda")
    if h.get("comment_instructions"):
        line += f" (public comment: {slack_escape(h['comment_instructions'])})"
    return line


def webhook_body(digest: Any, fmt: str) -> dict[str, Any]:
    """The JSON sent to a webhook: the digest (``json``) or a Slack incoming-webhook message (``slack``)."""
    if fmt == "slack":
        heading = digest.subject.removeprefix("Sanctuary Tracker: ")
        return {"text": slack_text(digest.content, f"Sanctuary Tracker: {heading}")}
    return {
        "event_id": digest.event_id,
        "type": "digest",
        "subscription_id": digest.subscription_id,
        "period": digest.period,
        "scheduled_for": digest.scheduled_for.isoformat(),
        "created_at": digest.created_at.isoformat(),
        "subject": digest.subject,
        **digest.content,
    }


# -- Atom ---------------------------------------------------------------------------------------------


def _atom_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(sub: dict[str, Any], digests: list[Any], self_url: str | None = None) -> bytes:
    """The subscription's Atom feed: one entry per recorded digest, newest first, ids never change."""
    ET.register_namespace("", ATOM_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        # Scraped text may hold characters XML cannot (ESC, NUL...): dropped, so the feed stays well-formed.
        safe = {k: xml_text(str(v)) for k, v in attrs.items()}
        node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", safe)
        if text is not None:
            node.text = xml_text(text)
        return node

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    el(feed, "id", f"urn:uuid:{uuid.uuid5(EVENT_NAMESPACE, 'feed:' + sub['feed_token'])}")
    el(feed, "title", f"Sanctuary Tracker digests for {sub['email']}")
    newest = max((d.created_at for d in digests), default=sub["created_at"])
    el(feed, "updated", _atom_time(newest))
    author = el(feed, "author")
    el(author, "name", "Sanctuary Tracker")
    el(feed, "generator", "Sanctuary Tracker")
    if self_url:
        el(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    for d in sorted(digests, key=lambda d: (d.created_at, d.id), reverse=True)[:FEED_ENTRIES]:
        entry = el(feed, "entry")
        el(entry, "id", f"urn:uuid:{d.event_id}")
        el(entry, "title", d.subject)
        el(entry, "updated", _atom_time(d.created_at))
        el(entry, "published", _atom_time(d.created_at))
        el(entry, "summary", summary_line(d.content))
        el(entry, "content", render_fragment(d.content, sub, d.period), type="html")
        for city in d.content["cities"]:
            el(entry, "category", term=city["jurisdiction"], label=city["name"])
    ET.indent(feed)
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"
