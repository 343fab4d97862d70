"""Migration 0007 builds the text-search indexes of its dialect: trigram GIN indexes that PostgreSQL uses for
ILIKE '%word%', narrow covering indexes on SQLite (bench/bench_web.py measures the pages with them)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from db.models import Bill
from tracker.read_model import text_condition


def test_the_search_indexes_exist(engine):
    names = {i["name"] for t in ("bills", "actions") for i in inspect(engine).get_indexes(t)}
    if engine.dialect.name == "postgresql":
        assert {
            "ix_search_bills_title",
            "ix_search_bills_name",
            "ix_search_bills_identifier",
            "ix_search_actions_text",
        } <= names
        assert "ix_search_documents_text" in {i["name"] for i in inspect(engine).get_indexes("documents")}
    else:
        assert {"ix_search_bills_text", "ix_search_actions_text"} <= names


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_plans_the_search_on_the_trigram_indexes(engine):
    # (SQLite has no plan choice to check: its LIKE always scans; the covering index is only smaller.)
    query = select(Bill.id).where(text_condition("sanctuary", "postgresql"))
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
    for index in ("ix_search_bills_title", "ix_search_actions_text", "ix_search_documents_text"):
        assert index in plan, plan
