"""``tracker db copy``: every table of one migrated database into another, empty one (SQLite <-> PostgreSQL).

How (docs/operations.md, "Moving to PostgreSQL"):

- both databases must be reachable and at the latest migration, and the target must be empty (every table of
  the models has no row); the source and the target must differ;
- the source is read in one snapshot (a ``REPEATABLE READ`` transaction on PostgreSQL, one read transaction
  on SQLite), each table ordered by its primary key and streamed in batches (``yield_per``);
- the target is written in ONE transaction, tables in foreign-key order (``Base.metadata.sorted_tables``),
  rows inserted in batches with their ids and timestamps as they are; on PostgreSQL each table's id
  sequence is then set past the largest id;
- before that transaction commits, every table is verified: its row count and a checksum of its content
  (sha256 over its rows in primary-key order, values normalised so that SQLite and PostgreSQL agree) must be
  those of the source. Any difference, error or interruption (Ctrl-C, SIGTERM, kill -9, a lost connection)
  rolls the whole transaction back: the target is left as it was, empty, or complete and verified.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.types import Integer, String

from db.engine import (
    current_revision,
    head_revision,
    make_engine,
    missing_file,
    normalise_url,
    redact_url,
    unreachable,
)
from db.models import text_limits
from db.schema import Base
from tracker.errors import TrackerError

log = logging.getLogger("tracker.dbcopy")

BATCH = 2000


@dataclass
class TableCopy:
    name: str
    rows: int
    checksum: str

    def line(self) -> str:
        return f"{self.name}: {self.rows:,} row{'' if self.rows == 1 else 's'} copied, checksum ok"


# -- checks -------------------------------------------------------------------------------------------


def _check_schema(engine: Engine, role: str) -> None:
    where = redact_url(str(engine.url))
    if (missing := missing_file(engine)) is not None:  # not created by looking into it
        hint = ": run `tracker init` on it first" if role == "target" else ""
        raise TrackerError(f"there is no {role} database at {missing}{hint}")
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise unreachable(engine.url, exc, role) from None
    head = head_revision(engine)
    if current is None:
        raise TrackerError(f"the {role} database {where} has no schema: run `tracker init` on it first")
    if current != head:
        raise TrackerError(
            f"the {role} database {where} is at migration {current}, not at the latest ({head}): "
            "run `tracker init` on it first"
        )


def _non_empty(conn: Connection) -> list[str]:
    found = []
    for table in Base.metadata.sorted_tables:
        if conn.execute(select(table).limit(1)).first() is not None:
            found.append(table.name)
    return found


# -- checksums ----------------------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    """One value as text both engines give alike (what the models' types return on each engine)."""
    kind = type(value)
    if value is None or kind is str or kind is int:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat() + "Z"
    if kind is date:
        return value.isoformat()
    if kind is float:
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    # JSON columns: canonical text
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_encode = json.JSONEncoder(ensure_ascii=False).encode


def _row_bytes(row: Any) -> bytes:
    return _encode([_norm(v) for v in row]).encode() + b"\n"


def _ordered(table: Table, conn: Connection) -> Select[*tuple[Any, ...]]:
    """The table's rows in primary-key order; text keys compared byte by byte on both engines."""
    keys: list[ColumnElement[Any]] = []
    for col in table.primary_key.columns:
        if conn.dialect.name == "postgresql" and isinstance(col.type, String):
            keys.append(col.collate("C"))
        else:
            keys.append(col)
    return select(table).order_by(*keys)


def _rows(conn: Connection, table: Table, batch: int) -> Iterator[list[Any]]:
    result = conn.execution_options(yield_per=batch).execute(_ordered(table, conn))
    for part in result.partitions(batch):
        yield list(part)


def table_checksum(conn: Connection, table: Table, batch: int = BATCH) -> tuple[int, str]:
    """(rows, sha256 hex) of a table's content in primary-key order."""
    digest = hashlib.sha256()
    count = 0
    for part in _rows(conn, table, batch):
        for row in part:
            digest.update(_row_bytes(row))
        count += len(part)
    return count, digest.hexdigest()


# -- the copy -----------------------------------------------------------------------------------------


def _reset_sequences(conn: Connection, table: Table) -> None:
    cols = [c for c in table.primary_key.columns if isinstance(c.type, Integer) and c.autoincrement]
    if len(table.primary_key.columns) != 1 or not cols:
        return
    col = cols[0]
    seq = conn.execute(
        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col.name}
    ).scalar()
    if seq is None:
        return
    top = func.max(col)
    conn.execute(select(func.setval(seq, func.coalesce(top, 1), top.is_not(None))).select_from(table))


def _snapshot(conn: Connection) -> Connection:
    """The source connection inside one read transaction: every table is read from one state."""
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        return conn
    conn.begin()
    conn.exec_driver_sql("BEGIN")  # pysqlite starts no transaction for a SELECT: a WAL snapshot from here
    return conn


def copy_database(
    source_url: str,
    target_url: str,
    *,
    batch: int = BATCH,
    report: Callable[[str], None] = print,
) -> list[TableCopy]:
    """Copy every table of ``source_url`` into the empty ``target_url``; returns what was copied."""
    if make_url_key(source_url) == make_url_key(target_url):
        raise TrackerError("the source and the target are the same database")
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        _check_schema(source, "source")
        _check_schema(target, "target")
        with source.connect() as raw_src, target.connect() as tconn:
            sconn = _snapshot(raw_src)
            with tconn.begin():
                busy = _non_empty(tconn)
                if busy:
                    more = f" and {len(busy) - 3} more" if len(busy) > 3 else ""
                    raise TrackerError(
                        f"the target database {redact_url(target_url)} is not empty "
                        f"({', '.join(busy[:3])}{more} have rows): copy only into a new, migrated database"
                    )
                if tconn.dialect.name == "postgresql":
                    _check_lengths(sconn)
                done = [_copy_table(sconn, tconn, table, batch) for table in Base.metadata.sorted_tables]
                if tconn.dialect.name == "postgresql":
                    for table in Base.metadata.sorted_tables:
                        _reset_sequences(tconn, table)
                for table, copied in zip(Base.metadata.sorted_tables, done, strict=True):
                    rows, checksum = table_checksum(tconn, table, batch)
                    if (rows, checksum) != (copied.rows, copied.checksum):
                        raise TrackerError(
                            f"{table.name}: the copy differs from the source ({rows:,} rows, checksum "
                            f"{checksum[:12]} in the target; {copied.rows:,}, {copied.checksum[:12]} in the "
                            "source): nothing was copied"
                        )
            sconn.rollback()
    except DBAPIError as exc:
        raise TrackerError(f"copy stopped, nothing was copied: {_first_line(exc.orig)}") from None
    finally:
        source.dispose()
        target.dispose()
    for copied in done:
        report(copied.line())
    return done


def _check_lengths(sconn: Connection) -> None:
    """Refuse a source holding text longer than its column (SQLite stores it; PostgreSQL refuses it, with
    an error naming neither the table nor the row): name the first such column, how many values and the
    first row, before anything is written."""
    for table in Base.metadata.sorted_tables:
        for column, limit in text_limits(table):
            too_long = func.length(column) > limit
            count = sconn.execute(select(func.count()).select_from(table).where(too_long)).scalar_one()
            if not count:
                continue
            keys = list(table.primary_key.columns)
            first = sconn.execute(select(*keys).where(too_long).order_by(*keys).limit(1)).one()
            row = ", ".join(f"{k.name} {v}" for k, v in zip(keys, first, strict=True))
            raise TrackerError(
                f"{table.name}.{column.name}: {count:,} value(s) longer than the {limit} characters the "
                f"column holds (first: {row}); PostgreSQL would refuse them: shorten them in the source, "
                "then copy again (nothing was copied)"
            )


def _copy_table(sconn: Connection, tconn: Connection, table: Table, batch: int) -> TableCopy:
    """Insert the source's rows in batches, hashing them on the way (the source side of the check)."""
    digest = hashlib.sha256()
    count = 0
    names = [c.name for c in table.columns]
    statement = _insert(table)
    for part in _rows(sconn, table, batch):
        for row in part:
            digest.update(_row_bytes(row))
        tconn.execute(statement, [dict(zip(names, row, strict=True)) for row in part])
        count += len(part)
        log.info("%s: %d rows inserted", table.name, count)
    return TableCopy(table.name, count, digest.hexdigest())


def _insert(table: Table) -> Any:
    """An INSERT of every column; a JSON column's None is SQL NULL (the models' JSON type would store the
    JSON value null, which reads back as None too but is not NULL to a query)."""
    json_null = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    values = {c.name: bindparam(c.name, type_=json_null) for c in table.columns if isinstance(c.type, JSON)}
    return insert(table).values(values) if values else insert(table)


def make_url_key(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(normalise_url(url))
    except Exception:  # make_engine reports a bad URL with its own message
        return url
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return "sqlite:" + str(Path(parsed.database).resolve())
    return parsed.render_as_string(hide_password=True)


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
