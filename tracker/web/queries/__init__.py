"""Read-side queries of the web pages: search and lists of bills, the editors' review queue, one
bill's page, the dashboard and the living list; and the safe renderings every list shares (evidence marked
in escaped HTML, CSV cells that cannot be formulas, Markdown that cannot be markup).

Everything here runs on SQLite and PostgreSQL alike: every value is a bound parameter, text search is a
case-insensitive ``LIKE`` (``ILIKE`` on PostgreSQL) with ``%``, ``_`` and the escape character escaped, and
the few engine-specific bits (a JSON array containing a category code) are chosen by dialect.

The search is in one place, :func:`~tracker.web.queries.lists.search_bills`; its text condition (titles,
names, identifiers, actions and the documents' text) is :func:`tracker.read_model.text_condition`.

Modules: :mod:`~tracker.web.queries.filters` (a page's filters, a page), :mod:`~tracker.web.queries.sql`
(the SQL building blocks), :mod:`~tracker.web.queries.rows` (one bill as a list row),
:mod:`~tracker.web.queries.lists` (search, the queue, their exports),
:mod:`~tracker.web.queries.one_bill` (one bill's page), :mod:`~tracker.web.queries.recent` (the
dashboard's week), :mod:`~tracker.web.queries.living` (the living list),
:mod:`~tracker.web.queries.renderings` (HTML, CSV, Markdown) and :mod:`~tracker.web.queries.template_helpers`
(the templates' ``h``). The rules every reader shares (the effective match, the queue's order, text
search, the records of the exports) are in :mod:`tracker.read_model`.
"""
