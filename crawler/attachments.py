"""Which bills a full crawl fetches attachment lists for now, and which wait for the sweeps.

An attachment list costs one request per matter, a third of a backfill's requests, and buys only the links
of the bill's documents. The documents matter for two kinds of title (docs/documents.md):

- **candidates**: a term of the matching rules occurs in the title or the name (the rules' prefilter:
  :meth:`~tracker.matcher.engine.Matcher.classify` finds a term match, relevant or not), so the documents may
  confirm, refute or qualify it;
- **opaque** titles: the title says next to nothing beyond the words every bill uses ("AGREEMENT - INMATE
  HOUSING", "AMENDING CHAPTER 12.08", "Save Good Food Amendment Act of 2017"), so only the documents can
  tell what the bill does.

With ``[crawl] attachments_by_title`` (the default), a full crawl fetches the attachment lists of those
bills (within ``attachments_per_crawl``, newest first) and stores every other bill without them: they join
the backlog (``bills.attachments_fetched_at`` empty) that sweeps work off. Only the rules engine is loaded
(no learned layer, no database): a title only the learned layer would flag gets its documents from a sweep.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

# Words that say what kind of instrument a bill is, or that every bill uses: they tell nothing of what it
# does. A title with at most OPAQUE_WORDS other words of three letters or more is opaque.
_GENERIC = """
    the and for with from that this into upon such any all its their other under per said
    city council county town village borough board commission committee mayor municipal
    ordinance ordinances resolution resolutions bill bills act acts law laws item items matter matters
    amend amends amending amended amendment amendments restate restated repeal repeals repealing
    enact enacts enacting adopt adopts adopting adoption approve approves approving approval
    authorize authorizes authorizing authorization establish establishing relating related regarding
    concerning providing provide certain various new chapter chapters section sections article articles
    title titles subsection subsections code codes part parts schedule exhibit appendix
    agreement agreements contract contracts memorandum understanding mou lease
    first second third fourth fifth supplemental emergency declare declaring number
"""
GENERIC_WORDS = frozenset(_GENERIC.split())
OPAQUE_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{3,}")


def opaque(title: str | None) -> bool:
    """Whether ``title`` says at most :data:`OPAQUE_WORDS` words beyond :data:`GENERIC_WORDS`."""
    if not title:
        return True
    count = 0
    for word in _WORD.findall(title.lower()):
        if word not in GENERIC_WORDS:
            count += 1
            if count > OPAQUE_WORDS:
                return False
    return True


class TitleTriage:
    """Decides, from a matter's title and name, whether its attachment list is fetched with it.

    The rules are loaded on first use (one process may never need them). When they cannot be loaded, every
    title counts as needing its documents (the attachments budget alone decides, as before) and the problem
    is logged once."""

    def __init__(self) -> None:
        self._matcher: Any = None
        self._failed = False

    def _load(self) -> Any:
        if self._matcher is None and not self._failed:
            from tracker.errors import ConfigError
            from tracker.matcher.engine import Matcher
            from tracker.matcher.rules import load_rules, rules_path

            try:
                self._matcher = Matcher(load_rules(rules_path()))
            except ConfigError as exc:
                self._failed = True
                logger.warning("attachments by title: rules not loaded, every title counts: %s", exc)
        return self._matcher

    def needs_documents(self, title: str | None, name: str | None = None) -> bool:
        if opaque(title):
            return True
        matcher = self._load()
        if matcher is None:
            return True
        # any term match counts, relevant or not, even one a negative then removed: the documents decide
        return bool(matcher.classify(title or "", name).evidence)
