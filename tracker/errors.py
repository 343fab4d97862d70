"""The tracker's exception hierarchy.

Every error a user can cause (a broken config, a portal that answers garbage, a malformed date) is a
`TrackerError`; the CLI prints it as one line, ``Error: <message>``, and exits non-zero.
"""


class TrackerError(Exception):
    """Root of the errors the CLI reports as one line."""

    exit_code = 1


class UsageError(TrackerError):
    """A command was given something it cannot use (an unknown jurisdiction, category or bill reference,
    a malformed value): a usage error, exit status 2 like click's own (run-time failures are 1)."""

    exit_code = 2


class ConfigError(TrackerError):
    """The configuration file (or a rules file) is missing, unreadable or invalid."""

    exit_code = 2


class PortalError(TrackerError):
    """A portal answered something that is not what its API promises."""


class DataError(TrackerError):
    """A record from a portal failed validation (malformed date, missing id...)."""


class LayoutChanged(DataError):
    """A page or document is not in the layout its platform's parser reads (an element missing, or there
    twice): the portal's layout changed, and the crawl of the city fails rather than dropping data silently.
    (Catch it before :class:`DataError`, which rejects one record only.)"""


class CrawlFailed(TrackerError):
    """One or more crawls did not complete."""
