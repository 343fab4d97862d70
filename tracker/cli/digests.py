"""``tracker subscriptions`` and ``tracker digest``. User errors are :class:`~tracker.errors.TrackerError`
subclasses (one ``Error:`` line).

The commands receive the CLI's context object (:class:`tracker.cli.context.Context`: ``.config`` is the loaded
configuration, ``.engine()`` opens the database and checks its schema) through ``click.pass_obj``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from db.types import utcnow
from tracker.cli.output import echo, id_argument
from tracker.cli.params import LIMIT, NOW_OPTION, WEEKDAY, parse_now
from tracker.errors import TrackerError
from tracker.safe_output import json_text

# -- subscriptions ------------------------------------------------------------------------------------


@click.group("subscriptions")
def subscriptions() -> None:
    """Staff subscriptions to digests: add, list, pause, resume, remove.

    SUBSCRIPTION is a subscription's id, or its e-mail address when that address has only one.
    """


@subscriptions.command("add")
@click.argument("email")
@click.option(
    "--jurisdiction", "jurisdictions", metavar="SLUG", multiple=True, help="Only this city (repeatable)."
)
@click.option(
    "--category", "categories", metavar="CODE", multiple=True, help="Only this category (repeatable)."
)
@click.option("--direction", metavar="D", help="Only measures that expand, restrict or are neutral.")
@click.option(
    "--confirmed-only/--include-pending",
    default=None,
    help="Only measures an editor confirmed (the default), or also those the matcher found and no editor "
    "has reviewed yet (each marked 'not yet reviewed').",
)
@click.option(
    "--include-uncertain",
    is_flag=True,
    help="Also new matches the model is uncertain of and no editor has confirmed (marked as such); "
    "implies --include-pending.",
)
@click.option(
    "--no-status-changes", is_flag=True, help="New measures only, not the status changes of tracked bills."
)
@click.option(
    "--frequency",
    type=click.Choice(["immediate", "daily", "weekly"]),
    default="daily",
    show_default=True,
)
@click.option(
    "--at", "at_time", default="08:00", show_default=True, metavar="HH:MM", help="Local time of the digest."
)
@click.option(
    "--weekday",
    type=WEEKDAY,  # monday or mon, any case
    default="mon",
    show_default=True,
    help="Day of a weekly digest.",
)
@click.option("--timezone", metavar="TZ", help="The subscriber's time zone (default: [digests] timezone).")
@click.option("--webhook", "webhook_url", metavar="URL", help="Also POST each digest as JSON to this URL.")
@click.option("--slack", is_flag=True, help="The webhook is a Slack incoming webhook (Slack message format).")
@click.option("--no-email", is_flag=True, help="No e-mail (webhook and/or Atom feed only).")
@click.option(
    "--search",
    "search_text",
    metavar="WORDS",
    help="A saved search: new bills containing every word (as the web search matches them), sanctuary-"
    "matched or not, and their status changes; the other filters still apply.",
)
@click.option(
    "--bill",
    "bill_ref",
    metavar="BILL",
    help="Follow one bill (id, SLUG:IDENTIFIER or IDENTIFIER): its status changes and hearings, whatever "
    "its match.",
)
@click.option(
    "--member",
    "member_ref",
    metavar="MEMBER",
    help="Follow a council member (id, name, or SLUG:NAME): their new sponsorships of sanctuary measures "
    "and their votes on them (the category, direction and --confirmed-only filters apply).",
)
@click.pass_obj
def subscriptions_add(
    obj: Any,
    email: str,
    jurisdictions: tuple[str, ...],
    categories: tuple[str, ...],
    direction: str | None,
    confirmed_only: bool | None,
    include_uncertain: bool,
    no_status_changes: bool,
    frequency: str,
    at_time: str,
    weekday: str,
    timezone: str | None,
    webhook_url: str | None,
    slack: bool,
    no_email: bool,
    search_text: str | None,
    bill_ref: str | None,
    member_ref: str | None,
) -> None:
    """Subscribe EMAIL to digests of new matched measures and status changes (or of a saved search with
    --search, or of one bill's status changes with --bill)."""
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs

    if slack and not webhook_url:
        raise click.UsageError("--slack needs --webhook URL")
    # the default: confirmed only, unless uncertain (so unconfirmed) ones are asked for
    if confirmed_only is None:
        confirmed_only = not include_uncertain
    spec = subs.SubscriptionSpec(
        email=email,
        jurisdictions=list(jurisdictions),
        categories=list(categories),
        direction=direction,
        confirmed_only=confirmed_only,
        include_uncertain=include_uncertain,
        status_changes=not no_status_changes,
        frequency=frequency,
        at_time=at_time,
        weekday=weekday,
        timezone=timezone,
        email_enabled=not no_email,
        webhook_url=webhook_url,
        webhook_format="slack" if slack else "json",
        search_text=search_text,
    )
    if search_text is not None and bill_ref is not None:
        raise click.UsageError("--bill excludes --search")
    if member_ref is not None and (search_text is not None or bill_ref is not None):
        raise click.UsageError("--member excludes --bill and --search")
    config = obj.config
    subs.validate(spec, config)  # before touching the database
    now = utcnow()
    with session_scope(obj.engine()) as session:
        if bill_ref is not None:
            from tracker.review import resolve_bill

            spec.bill_id = resolve_bill(session, bill_ref)[0].id
        if member_ref is not None:
            spec.member_id = subs.resolve_member(session, member_ref).id
        sub = subs.add(session, spec, config, now)
        info = subs.describe(sub, config, now)
        line = (
            f"Subscription {sub.id} added: {sub.email}, {subs.schedule_text(sub)}, "
            f"{subs.filters_text(sub, config)}; "
            f"channels: {info['channels']}."
        )
    echo(line)
    if info["next_run"] and spec.frequency == "immediate":
        every = config.digests.immediate_every_minutes
        echo(
            f"Checked every {every} minute{'s' if every != 1 else ''} (next at "
            f"{info['next_run'][:16].replace('T', ' ')} UTC): a digest goes out as soon as something is new."
        )
    elif info["next_run"]:
        echo(f"First digest: {info['next_run'][:16].replace('T', ' ')} UTC, if anything is new by then.")
    if not no_email and config.email is None:
        echo(f"Note: {config.source} has no [email] table yet; e-mails wait until it does.", err=True)


@subscriptions.command("list")
@click.option("--all", "include_removed", is_flag=True, help="Also removed subscriptions.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.pass_obj
def subscriptions_list(obj: Any, include_removed: bool, fmt: str) -> None:
    """List subscriptions, their filters, schedule, channels and next digest."""
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs

    now = utcnow()
    with session_scope(obj.engine()) as session:
        rows = subs.list_subscriptions(session, include_removed)
        if fmt == "jsonl":
            for sub in rows:
                echo(json_text(json.dumps(subs.describe(sub, obj.config, now), ensure_ascii=False)))
            return
        if not rows:
            echo("No subscriptions (`tracker subscriptions add EMAIL`).")
            return
        for sub in rows:
            info = subs.describe(sub, obj.config, now)
            nxt = f"next {info['next_run'][:16].replace('T', ' ')} UTC" if info["next_run"] else sub.state
            echo(
                f"{sub.id:>4}  {sub.email}  [{sub.state}]  {subs.schedule_text(sub)} ({nxt})\n"
                f"      {subs.filters_text(sub, obj.config)}; channels: {info['channels']}; "
                f"feed {info['feed']}"
            )


def _change_state(obj: Any, ref: str, action: str, **kwargs: Any) -> None:
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs

    with session_scope(obj.engine()) as session:
        sub = subs.find(session, ref)
        message = getattr(subs, action)(session, sub, utcnow(), **kwargs)
    echo(message)


@subscriptions.command("edit")
@click.argument("subscription")
@click.option("--email", metavar="ADDRESS", help="Send to this address instead.")
@click.option(
    "--jurisdiction",
    "jurisdictions",
    metavar="SLUG",
    multiple=True,
    help="Only these cities (replaces the list).",
)
@click.option("--all-cities", is_flag=True, help="Every city (clears the city filter).")
@click.option(
    "--category",
    "categories",
    metavar="CODE",
    multiple=True,
    help="Only these categories (replaces the list).",
)
@click.option("--all-categories", is_flag=True, help="Every category (clears the category filter).")
@click.option("--direction", metavar="D", help="Only measures that expand, restrict or are neutral.")
@click.option("--any-direction", is_flag=True, help="Every direction (clears the direction filter).")
@click.option(
    "--confirmed-only/--include-pending",
    default=None,
    help="Only measures an editor confirmed, or also those not yet reviewed (each marked as such).",
)
@click.option(
    "--include-uncertain/--no-uncertain",
    default=None,
    help="Also matches the model is unsure of (implies --include-pending; --confirmed-only drops them).",
)
@click.option("--status-changes/--no-status-changes", default=None, help="Status changes of tracked bills.")
@click.option("--frequency", type=click.Choice(["immediate", "daily", "weekly"]))
@click.option("--at", "at_time", metavar="HH:MM", help="Local time of the digest.")
@click.option(
    "--weekday",
    type=WEEKDAY,  # monday or mon, any case
    help="Day of a weekly digest.",
)
@click.option("--timezone", metavar="TZ", help="The subscriber's time zone.")
@click.option("--webhook", "webhook_url", metavar="URL", help="POST each digest as JSON to this URL.")
@click.option("--no-webhook", is_flag=True, help="Remove the webhook.")
@click.option(
    "--slack/--plain-webhook", default=None, help="The webhook is a Slack incoming webhook, or not."
)
@click.option("--email-enabled/--no-email", default=None, help="Send by e-mail, or not.")
@click.option("--search", "search_text", metavar="WORDS", help="Make it a saved search of these words.")
@click.option("--no-search", is_flag=True, help="No saved search any more (sanctuary measures again).")
@click.option("--member", "member_ref", metavar="MEMBER", help="Follow this council member instead.")
@click.option("--no-member", is_flag=True, help="Follow no member any more (sanctuary measures again).")
@click.pass_obj
def subscriptions_edit(obj: Any, /, subscription: str, **opts: Any) -> None:
    """Change a subscription's filters, schedule or channels; what is not named stays as it is."""
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs

    if all(v in (None, False, ()) for v in opts.values()):
        raise click.UsageError("nothing to change: name what to change (an option of `subscriptions edit`)")
    pairs = [
        ("jurisdictions", "all_cities"),
        ("categories", "all_categories"),
        ("direction", "any_direction"),
        ("webhook_url", "no_webhook"),
        ("search_text", "no_search"),
        ("member_ref", "no_member"),
    ]
    for value, clear in pairs:
        if opts[value] and opts[clear]:
            flag = "--" + clear.replace("_", "-")
            name = {"search_text": "search", "member_ref": "member"}.get(value) or value.rstrip("s").replace(
                "_url", ""
            )
            raise click.UsageError(f"{flag} excludes --{name}")
    with session_scope(obj.engine()) as session:
        sub = subs.find(session, subscription)
        spec = subs.spec_of(sub)
        if opts["email"]:
            spec.email = opts["email"]
        if opts["jurisdictions"] or opts["all_cities"]:
            spec.jurisdictions = list(opts["jurisdictions"])
        if opts["categories"] or opts["all_categories"]:
            spec.categories = list(opts["categories"])
        if opts["direction"] or opts["any_direction"]:
            spec.direction = opts["direction"] or None
        if opts["webhook_url"] or opts["no_webhook"]:
            spec.webhook_url = opts["webhook_url"] or None
        if opts["search_text"] is not None or opts["no_search"]:
            spec.search_text = None if opts["no_search"] else opts["search_text"]
        if opts["member_ref"] is not None or opts["no_member"]:
            ref = opts["member_ref"]
            spec.member_id = None if opts["no_member"] else subs.resolve_member(session, ref).id
        for name in ("confirmed_only", "include_uncertain", "status_changes", "frequency", "at_time",
                     "weekday", "timezone", "email_enabled"):  # fmt: skip
            if opts[name] is not None:
                setattr(spec, name, opts[name])
        # uncertain matches are unconfirmed ones: asking for them asks for those not yet reviewed, and
        # asking for confirmed ones only drops them (both at once is refused by subs.edit)
        if opts["include_uncertain"] and opts["confirmed_only"] is None:
            spec.confirmed_only = False
        if opts["confirmed_only"] and opts["include_uncertain"] is None:
            spec.include_uncertain = False
        if opts["slack"] is not None:
            spec.webhook_format = "slack" if opts["slack"] else "json"
        if spec.webhook_format == "slack" and not spec.webhook_url:
            raise click.UsageError("--slack needs a webhook (--webhook URL)")
        message = subs.edit(session, sub, spec, obj.config, utcnow())
    echo(message)


@subscriptions.command("pause")
@click.argument("subscription")
@click.pass_obj
def subscriptions_pause(obj: Any, subscription: str) -> None:
    """Stop sending digests to a subscription until it is resumed."""
    _change_state(obj, subscription, "pause")


@subscriptions.command("resume")
@click.argument("subscription")
@click.option("--catch-up", is_flag=True, help="Also announce what happened while it was paused.")
@click.pass_obj
def subscriptions_resume(obj: Any, subscription: str, catch_up: bool) -> None:
    """Send digests again (from now on, unless --catch-up)."""
    _change_state(obj, subscription, "resume", catch_up=catch_up)


@subscriptions.command("remove")
@click.argument("subscription")
@click.pass_obj
def subscriptions_remove(obj: Any, subscription: str) -> None:
    """Remove a subscription (its digests not sent yet are cancelled; its history is kept)."""
    _change_state(obj, subscription, "remove")


# -- digests ------------------------------------------------------------------------------------------


@click.group("digest")
def digest() -> None:
    """Digests: preview, send what is due, list deliveries, release a held one, print a feed."""


@digest.command("preview")
@click.argument("subscription")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "html", "json"]), default="text", show_default=True
)
@NOW_OPTION
@click.pass_obj
def digest_preview(obj: Any, subscription: str, fmt: str, now_text: str | None) -> None:
    """Render the digest SUBSCRIPTION would receive now, without recording or sending anything."""
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs
    from tracker.digests.links import Links
    from tracker.digests.outbox import preview, sub_info
    from tracker.digests.render import render_digest

    now = parse_now(now_text)
    with session_scope(obj.engine()) as session:
        sub = subs.find(session, subscription)
        slot, content = preview(session, sub, obj.config, now)
        info = sub_info(sub, Links.of(obj.config))  # the links the sent digest carries, unsubscribe too
    if content.empty:
        echo(f"Nothing new for subscription {info['id']} ({info['email']}): no digest would be sent.")
        return
    rendered = render_digest(content.as_dict(), info, slot.period)
    if fmt == "json":
        echo(
            json.dumps(
                {"subject": rendered.subject, "period": slot.period, **content.as_dict()}, ensure_ascii=False
            )
        )
    elif fmt == "html":
        echo(rendered.html, nl=False)
    else:
        echo(f"Subject: {rendered.subject}\n")
        echo(rendered.text, nl=False)


@digest.command("send")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be recorded and sent; record and send nothing."
)
@click.option("--subscription", "subscription", metavar="SUBSCRIPTION", help="Only this subscription.")
@NOW_OPTION
@click.pass_obj
def digest_send(obj: Any, dry_run: bool, subscription: str | None, now_text: str | None) -> None:
    """Record the digests that are due and send every delivery that is pending or due for a retry.

    Safe to run at any time and from several places at once (cron, the scheduler): a digest is recorded once
    per subscription and period, and each delivery is sent at most once.
    """
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs
    from tracker.digests.outbox import send_due

    engine = obj.engine()
    ids = None
    if subscription:
        with session_scope(engine) as session:
            ids = [subs.find(session, subscription).id]
    report = send_due(engine, obj.config, parse_now(now_text), subscription_ids=ids, dry_run=dry_run)
    for line in report.lines():
        echo(line)
    if not report.lines() and not report.errors:
        echo("Nothing to send.")
    if report.errors:
        for line in report.errors[:-1]:
            echo(f"Error: {line}", err=True)
        raise TrackerError(report.errors[-1])


@digest.command("release")
@click.argument("delivery_id", metavar="ID", callback=id_argument("a delivery"))
@click.option(
    "--mark-sent", is_flag=True, help="It did arrive: record it as sent instead of sending it again."
)
@click.pass_obj
def digest_release(obj: Any, delivery_id: int, mark_sent: bool) -> None:
    """Release a held (or failed) delivery: check first whether it arrived (the subscriber's mailbox, the
    SMTP server's log), then send it again, or --mark-sent."""
    from tracker.digests.outbox import release

    echo(release(obj.engine(), delivery_id, utcnow(), mark_sent=mark_sent))


@digest.command("list")
@click.option(
    "--status",
    "statuses",
    type=click.Choice(["pending", "sending", "sent", "retry", "held", "failed", "cancelled"]),
    multiple=True,
    help="Only deliveries in this state (repeatable).",
)
@click.option("--limit", default=50, show_default=True, type=LIMIT, help="At most this many, newest first.")
@click.pass_obj
def digest_list(obj: Any, statuses: tuple[str, ...], limit: int) -> None:
    """List digest deliveries (the outbox), newest first."""
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models_digest import Digest, DigestDelivery
    from tracker.digests.channels import redact_webhook

    with session_scope(obj.engine()) as session:
        q = (
            select(DigestDelivery, Digest)
            .join(Digest, DigestDelivery.digest_id == Digest.id)
            .order_by(DigestDelivery.id.desc())
            .limit(limit)
        )
        if statuses:
            q = q.where(DigestDelivery.status.in_(statuses))
        rows = session.execute(q).all()
        if not rows:
            echo("No deliveries.")
            return
        for d, g in rows:
            target = d.target if d.channel == "email" else redact_webhook(d.target)
            when = d.sent_at or d.held_at or d.next_attempt_at or d.created_at
            line = (
                f"{d.id:>5}  {d.status:<9} {d.channel:<7} {target}  digest {g.id} {g.period} "
                f"(subscription {g.subscription_id}, {_count(g.measures, 'measure')}, "
                f"{_count(g.changes, 'change')})  "
                f"attempts {d.attempts}  {when:%Y-%m-%d %H:%M} UTC"
            )
            if d.last_error and d.status != "sent":
                line += f"\n       {d.last_error}"
            echo(line)


@digest.command("feed")
@click.argument("subscription")
@click.option("-o", "--output", type=click.File("wb"), default="-", help="File (default stdout).")
@click.pass_obj
def digest_feed(obj: Any, subscription: str, output: Any) -> None:
    """Print the Atom feed of a subscription (its recorded digests, newest first)."""
    from db.engine import session_scope
    from tracker.digests import subscriptions as subs
    from tracker.digests.outbox import feed_for

    with session_scope(obj.engine()) as session:
        data = feed_for(session, subs.find(session, subscription), obj.config)
    output.write(data)


@digest.command("check-email")
@click.pass_obj
def digest_check_email(obj: Any) -> None:
    """Connect to the [email] SMTP server, STARTTLS and log in, without sending anything."""
    from tracker.digests.channels import SmtpChannel

    if obj.config.email is None:
        raise TrackerError(f"{obj.config.source}: no [email] table")
    echo(SmtpChannel(obj.config.email).check())


COMMANDS = (subscriptions, digest)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
