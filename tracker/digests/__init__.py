"""Digests to staff: subscriptions, digest content, rendering, channels and the outbox.

- :mod:`tracker.digests.subscriptions`: add, find, pause, resume, remove;
- :mod:`tracker.digests.content`: what a subscriber's next digest contains (nothing twice);
- :mod:`tracker.digests.render`: e-mail text and HTML (autoescaped Jinja2), Slack text, webhook JSON, Atom;
- :mod:`tracker.digests.channels`: SMTP and webhooks, telling definite failures from sends in doubt;
- :mod:`tracker.digests.outbox`: record before sending, deliver exactly once, retry, hold, release;
- :mod:`tracker.digests.periods`: when a digest is due and the key of its period.

See docs/digests.md.
"""
