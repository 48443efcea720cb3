"""The published snapshot `published/warehouse.duckdb`: what the reporting team reads, figures
only. See docs/operations.md ("Zones on disk", "Reading the marts").

**What it holds.** Two things, and nothing else:

- the marts that declare themselves for readers: the dbt models whose config says
  `meta: {published: true}` (in their `_<dir>__models.yml`): the area marts (indicators and
  breakdowns per reporting unit and month), the dimensions, the submission and data-quality
  marts. A model without it is never published, so a new model stays in the restricted
  warehouse until someone decides otherwise;
- the report tables (schema `reports`), only for the half-years whose report gate passed or
  was explicitly overridden (`allow_incomplete`), with those decisions.

The person-level facts (one row per person or record: record ids, birth dates, pseudonyms),
the quarantined rows, staging and intermediate models stay in the restricted warehouse.

**Two guards on the way out.**

- No column that holds one person or one record (`contract.person_level_columns()`: every
  `*_id` column of the contract, birth dates, names, pseudonyms, raw cells, row numbers) may
  be published: a model that has one stops the publish (`PersonalDataInReaderZone`) rather
  than leak. That is a bug in a model, never a data defect.
- Breakdown marts (`meta: {disclosure: breakdown}`) pass through `dolisa.disclosure`: small
  cells of sensitive codes, and the cells that would give them away, are suppressed and
  marked `x`; `publish.legend` holds the Vietnamese legend.

**Atomic.** The snapshot is written whole to a new file beside the previous one and renamed
over it, so a reader always opens a complete snapshot (a reader that has the old file open
keeps reading it) and nothing of an earlier snapshot is carried over, not even in its free
blocks. It holds aggregates, so a whole copy is small and quick. `publish.snapshot_tables`
says, per table, how it was copied (`whole`, or `disclosure` when cells were suppressed),
with its rows and suppressed cells.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import NamedTuple

import duckdb

from dolisa import contract, disclosure, warehouse
from dolisa.quality import decisions
from dolisa.quality.decisions import REPORT_SCHEMA
from dolisa.settings import Paths
from dolisa.settings import paths as default_paths

log = logging.getLogger(__name__)

# dbt model config (meta): the model is for readers / passes through disclosure control
PUBLISHED = "published"
DISCLOSURE = "disclosure"
BREAKDOWN = "breakdown"
# the snapshot's own record of its tables and its legend (a schema of its own)
BOOK_SCHEMA = "publish"
BOOK_TABLE = f"{BOOK_SCHEMA}.snapshot_tables"
LEGEND_TABLE = f"{BOOK_SCHEMA}.legend"
BOOK_DDL = f"""create table pub.{BOOK_TABLE} (
    table_schema varchar not null,
    table_name varchar not null,
    copied varchar not null,          -- whole | disclosure (small sensitive cells suppressed)
    row_count bigint not null,
    cells_suppressed bigint not null,
    published_at timestamptz not null
)"""


class PersonalDataInReaderZone(RuntimeError):
    """A model declared for readers holds a column about one person or one record."""


class Model(NamedTuple):
    schema: str
    table: str
    disclosure: str | None  # None | "breakdown"


class Copy(NamedTuple):
    copied: str
    row_count: int
    cells_suppressed: int


def snapshot_path(p: Paths) -> Path:
    return p.published / "warehouse.duckdb"


def publish(p: Paths | None = None) -> dict:
    """Write `published/warehouse.duckdb` anew from the warehouse: the models declared for
    readers and the gated report tables (module docstring)."""
    from dolisa.lock import writer_lock

    p = (p or default_paths()).ensure()
    target = snapshot_path(p)
    tmp = p.published / f".warehouse.{os.getpid()}.tmp.duckdb"
    limit = disclosure.threshold()
    models = published_models(p.dbt_target / "manifest.json")
    # The lock keeps a writer from changing the warehouse half-way through the copy. Same
    # configuration as the writers' connections: `airflow dags test` runs every task in one
    # process, and DuckDB refuses a second, differently configured handle on one file.
    with writer_lock(p, "publish"):
        for stale in p.published.glob(".warehouse.*.tmp.duckdb*"):  # left by a publisher that died
            stale.unlink(missing_ok=True)
        _remove(tmp)
        con = warehouse.open_duckdb(p.warehouse)
        try:
            con.execute(f"attach '{tmp}' as pub")
            gated = decisions.published_periods(con)
            book: dict[tuple[str, str], Copy] = {}
            for schema, table in _live_tables(con):
                model = models.get((schema, table))
                if schema == REPORT_SCHEMA:  # only gated periods, whatever the warehouse holds
                    row = _copy_reports(con, table, gated)
                elif model is None:
                    continue  # not declared for readers: stays in the restricted warehouse
                elif model.disclosure == BREAKDOWN:
                    row = _copy_with_disclosure(con, schema, table, limit)
                else:
                    row = _copy_whole(con, schema, table)
                if row:
                    book[(schema, table)] = row
            con.execute(f"create schema if not exists pub.{REPORT_SCHEMA}")
            con.execute(
                f"create or replace table pub.{REPORT_SCHEMA}.report_gate_decisions as "
                f"select * from ({decisions.LATEST_SQL}) where published"
            )
            con.execute(f"create schema pub.{BOOK_SCHEMA}")
            con.execute(BOOK_DDL)
            now = dt.datetime.now(dt.timezone.utc)
            if book:
                con.executemany(
                    f"insert into pub.{BOOK_TABLE} values (?, ?, ?, ?, ?, ?)",
                    [(*name, *row, now) for name, row in book.items()],
                )
            con.execute(f"create table pub.{LEGEND_TABLE} (mark varchar, meaning_vi varchar, threshold integer)")
            con.execute(
                f"insert into pub.{LEGEND_TABLE} values (?, ?, ?)",
                [disclosure.MARK, disclosure.legend_vi(limit), limit],
            )
            con.execute("checkpoint pub")
            con.execute("detach pub")
        except BaseException:
            _detach_quietly(con)
            _remove(tmp)
            raise
        finally:
            con.close()
    os.chmod(tmp, 0o644)  # the reader zone: the reporting team reads the snapshot
    os.replace(tmp, target)
    suppressed = {f"{s}.{t}": c.cells_suppressed for (s, t), c in book.items() if c.copied == "disclosure"}
    log.info(
        "published %d tables to %s (%d small sensitive cells suppressed, threshold %d); report periods: %s",
        len(book),
        target,
        sum(suppressed.values()),
        limit,
        ", ".join(gated) or "none",
    )
    return {
        "published": str(target),
        "tables": len(book),
        "report_periods": gated,
        "cells_suppressed": suppressed,
        "disclosure_threshold": limit,
    }


def published_models(manifest: Path) -> dict[tuple[str, str], Model]:
    """{(schema, table): Model} of the dbt models whose config says `meta: {published: true}`.
    No manifest (dbt never ran here) or an unreadable one: none, so no mart is published."""
    try:
        nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    except (OSError, ValueError, KeyError) as e:
        log.warning("no dbt manifest to read (%s): no mart is published", e)
        return {}
    out = {}
    for n in nodes:
        meta = (n.get("config") or {}).get("meta") or {}
        if n.get("resource_type") == "model" and meta.get(PUBLISHED) is True:
            out[(n["schema"], n["alias"])] = Model(n["schema"], n["alias"], meta.get(DISCLOSURE))
    return out


def check_figures_only(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Refuse a table that has a column about one person or one record."""
    found = sorted({c for c, _ in _columns(con, schema, table)} & contract.person_level_columns())
    if found:
        raise PersonalDataInReaderZone(
            f"{schema}.{table} is declared for readers but has person-level column(s) {', '.join(found)}: "
            "the published snapshot holds figures only (a model bug; nothing was published)"
        )


# ---------------------------------------------------------------------------


def _live_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        """select table_schema, table_name from information_schema.tables
           where table_catalog = current_database() and table_type = 'BASE TABLE'
           order by 1, 2"""
    ).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        """select column_name, data_type from information_schema.columns
           where table_catalog = current_database() and table_schema = ? and table_name = ?
           order by ordinal_position""",
        [schema, table],
    ).fetchall()


def _copy_whole(con, schema: str, table: str, where: str = "", params=None) -> Copy:
    check_figures_only(con, schema, table)
    con.execute(f"create schema if not exists pub.{schema}")
    con.execute(f'create table pub.{schema}."{table}" as select * from {schema}."{table}"{where}', params)
    return Copy("whole", con.execute(f'select count(*) from pub.{schema}."{table}"').fetchone()[0], 0)


def _copy_reports(con, table: str, gated: list[str]) -> Copy | None:
    where, params = " where report_period in (select unnest(?::varchar[]))", [gated]
    cols = {c for c, _ in _columns(con, REPORT_SCHEMA, table)}
    if (
        "report_period" not in cols
        or not con.execute(f'select count(*) from {REPORT_SCHEMA}."{table}"{where}', params).fetchone()[0]
    ):
        return None  # no rows of a gated period: no table in the snapshot
    return _copy_whole(con, REPORT_SCHEMA, table, where, params)


def _copy_with_disclosure(con, schema: str, table: str, limit: int) -> Copy:
    check_figures_only(con, schema, table)
    safe = disclosure.suppress(con.execute(f'select * from {schema}."{table}"').df(), limit)
    con.execute(f"create schema if not exists pub.{schema}")
    con.register("disclosure_safe", safe)
    try:
        con.execute(f'create table pub.{schema}."{table}" as select * from disclosure_safe')
    finally:
        con.unregister("disclosure_safe")
    return Copy("disclosure", len(safe), int((safe["flag"] == disclosure.MARK).sum()))


def _detach_quietly(con) -> None:
    try:
        con.execute("detach database if exists pub")
    except duckdb.Error:
        pass


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
