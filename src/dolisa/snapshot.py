"""The published snapshot `published/warehouse.duckdb`: the marts and the gated report tables,
read-only, for the reporting team. See docs/operations.md ("Reading the marts").

A snapshot is written beside the previous one and renamed over it, so a reader always opens
a complete snapshot (a reader that has the old file open keeps reading the old one).

**Only what changed is copied.** The new snapshot starts as a file copy of the previous one.
Then, table by table:

- A **fact that changes by whole submissions** is brought up to date by submission: the
  rows of submissions the warehouse no longer holds (as loaded) are deleted, and the rows of
  submissions the snapshot does not hold yet are appended. These are the dbt models whose
  config says `meta: {changes_by_submission: true}` (dbt_project.yml): incremental models
  whose rows are identified by `(submission_id, loaded_at)` and never change in place
  (macros/incremental_facts.sql). This is the part of the marts that grows with history.
- **Every other table** (aggregates, dimensions, quality and trace marts, report tables) is
  copied whole. They are rebuilt by every dbt run and are small.

The submission delta is only valid against the same *generation* of the table: dbt drops
and re-creates a model on a full refresh, a key rotation or a rebuild, and then the rows of
a submission may differ (new pseudonyms, new logic). Publish stamps each such table in the
warehouse with a generation (a table comment, which dbt's incremental runs keep and a
re-created table does not have) and records the generation it copied in the snapshot. A
new generation, other columns, a snapshot from before this scheme, or `full=True` mean a
whole copy. After a delta, the row counts of the two tables must agree; otherwise the table
is copied whole and a warning is logged.

`publish.snapshot_tables` in the snapshot says, per table, how it was last brought up to
date, when, and with how many rows added and removed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import NamedTuple

import duckdb

from dolisa import warehouse
from dolisa.quality import decisions
from dolisa.quality.decisions import REPORT_SCHEMA
from dolisa.settings import Paths, paths as default_paths

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts", REPORT_SCHEMA)
# the snapshot's own record of its tables (a schema of its own, beside marts and reports)
BOOK_SCHEMA = "publish"
BOOK_TABLE = f"{BOOK_SCHEMA}.snapshot_tables"
BOOK_DDL = f"""create table if not exists pub.{BOOK_TABLE} (
    table_schema varchar not null,
    table_name varchar not null,
    copied varchar not null,          -- whole | by_submission (only the submissions added and removed)
    generation varchar,               -- the warehouse table's generation, for a model that changes by submission
    row_count bigint not null,
    rows_added bigint not null,
    rows_removed bigint not null,
    published_at timestamptz not null
)"""
# dbt model config (meta) that declares a model changes only by whole submissions
CHANGES_BY_SUBMISSION = "changes_by_submission"
SUBMISSION_KEY = ("submission_id", "loaded_at")
GENERATION_PREFIX = "dolisa generation "


class Copy(NamedTuple):
    """How one table was brought up to date (a row of publish.snapshot_tables, without its names)."""
    copied: str                # whole | by_submission (only the submissions added and removed)
    generation: str | None     # of the warehouse table, for a model that changes by submission
    row_count: int
    rows_added: int
    rows_removed: int


def snapshot_path(p: Paths) -> Path:
    return p.published / "warehouse.duckdb"


def publish(p: Paths | None = None, *, full: bool = False) -> dict:
    """Bring `published/warehouse.duckdb` up to date with the marts and the gated report tables.

    The snapshot holds no raw zone and no personal data. Report tables hold only the periods
    whose report gate passed or was explicitly overridden (`allow_incomplete`), and the
    snapshot records those decisions in `reports.report_gate_decisions`. `full` copies every
    table whole (what an incremental publish always equals)."""
    from dolisa.lock import writer_lock

    p = (p or default_paths()).ensure()
    target = snapshot_path(p)
    tmp = p.published / f".warehouse.{os.getpid()}.tmp.duckdb"
    # The lock keeps a writer from changing the warehouse half-way through the copy. Same
    # configuration as the writers' connections: `airflow dags test` runs every task in one
    # process, and DuckDB refuses a second, differently configured handle on one file.
    with writer_lock(p, "publish"):
        for stale in p.published.glob(".warehouse.*.tmp.duckdb*"):  # left by a publisher that died
            stale.unlink(missing_ok=True)
        by_submission = submission_keyed_models(p.dbt_target / "manifest.json")
        con = warehouse.open_duckdb(p.warehouse)
        try:
            held = {} if full else _start_from(con, target, tmp)
            if not held:
                _remove(tmp)
                con.execute(f"attach '{tmp}' as pub")
            gated = decisions.published_periods(con)
            now = dt.datetime.now(dt.timezone.utc)
            book: dict[tuple[str, str], Copy] = {}
            for schema, table in _live_tables(con):
                if schema == REPORT_SCHEMA:  # only gated periods, whatever the warehouse holds
                    row = _copy_reports(con, table, gated)
                elif (schema, table) in by_submission:
                    row = _copy_by_submission(con, schema, table, held.get((schema, table)))
                else:
                    row = _copy_whole(con, schema, table)
                if row:
                    book[(schema, table)] = row
            _drop_unlisted(con, set(book))
            con.execute(f"create schema if not exists pub.{REPORT_SCHEMA}")
            con.execute(f"create or replace table pub.{REPORT_SCHEMA}.report_gate_decisions as "
                        f"select * from ({decisions.LATEST_SQL}) where published")
            con.execute(f"create schema if not exists pub.{BOOK_SCHEMA}")
            con.execute(f"drop table if exists pub.{BOOK_TABLE}")
            con.execute(BOOK_DDL)
            con.executemany(f"insert into pub.{BOOK_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
                            [(*name, *row, now) for name, row in book.items()])
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
    by_sub = {f"{s}.{t}": {"added": c.rows_added, "removed": c.rows_removed}
              for (s, t), c in book.items() if c.copied == "by_submission"}
    whole = sorted(f"{s}.{t}" for (s, t), c in book.items() if c.copied == "whole")
    log.info("published %d tables to %s: %d copied whole, %d by submission (+%d / -%d rows); report periods: %s",
             len(book), target, len(whole), len(by_sub), sum(c["added"] for c in by_sub.values()),
             sum(c["removed"] for c in by_sub.values()), ", ".join(gated) or "none")
    return {"published": str(target), "tables": len(book), "report_periods": gated,
            "copied_whole": whole, "by_submission": by_sub}


def submission_keyed_models(manifest: Path) -> set[tuple[str, str]]:
    """(schema, table) of the incremental dbt models that declare `changes_by_submission`.
    No manifest (dbt never ran here) or an unreadable one: none, so every table is copied whole."""
    try:
        nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    except (OSError, ValueError, KeyError) as e:
        log.warning("no dbt manifest to read (%s): every table of the snapshot is copied whole", e)
        return set()
    return {(n["schema"], n["alias"]) for n in nodes
            if n.get("resource_type") == "model"
            and n.get("config", {}).get("materialized") == "incremental"
            and n.get("config", {}).get("meta", {}).get(CHANGES_BY_SUBMISSION) is True}


# ---------------------------------------------------------------------------


def _start_from(con: duckdb.DuckDBPyConnection, target: Path, tmp: Path) -> dict[tuple[str, str], str | None]:
    """Copy the previous snapshot to `tmp` and attach it as `pub`; return the generation it
    holds per by-submission table. {} (and nothing attached) when there is no usable one."""
    if not target.exists():
        return {}
    try:
        shutil.copyfile(target, tmp)
        con.execute(f"attach '{tmp}' as pub")
    except (OSError, duckdb.Error) as e:
        log.warning("previous snapshot not usable (%s): every table is copied whole", e)
        _detach_quietly(con)
        return {}
    try:
        held = {(s, t): g for s, t, g in con.execute(
            f"select table_schema, table_name, generation from pub.{BOOK_TABLE} where generation is not null"
        ).fetchall()}
    except duckdb.CatalogException:  # a snapshot written before publish kept its book
        held = {}
    if not held:
        con.execute("detach pub")
    return held


def _live_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        f"""select table_schema, table_name from information_schema.tables
            where table_catalog = current_database() and table_schema in {PUBLISHED_SCHEMAS}
              and table_type = 'BASE TABLE'
            order by 1, 2""").fetchall()


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str, catalog: str | None = None
             ) -> list[tuple[str, str]]:
    """A table's columns and types, in order: of the warehouse, or of `catalog` ("pub")."""
    return con.execute(
        """select column_name, data_type from information_schema.columns
           where table_catalog = coalesce(?, current_database()) and table_schema = ? and table_name = ?
           order by ordinal_position""",
        [catalog, schema, table]).fetchall()


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return con.execute(f"select count(*) from {relation}").fetchone()[0]


def _copy_whole(con, schema: str, table: str, where: str = "", params=None, *,
                generation: str | None = None) -> Copy:
    con.execute(f"create schema if not exists pub.{schema}")
    con.execute(f'create or replace table pub.{schema}."{table}" as select * from {schema}."{table}"{where}',
                params)
    n = _count(con, f'pub.{schema}."{table}"')
    return Copy("whole", generation, n, n, 0)


def _copy_reports(con, table: str, gated: list[str]) -> Copy | None:
    where, params = " where report_period in (select unnest(?::varchar[]))", [gated]
    cols = {c for c, _ in _columns(con, REPORT_SCHEMA, table)}
    if "report_period" not in cols or not con.execute(
            f'select count(*) from {REPORT_SCHEMA}."{table}"{where}', params).fetchone()[0]:
        return None  # no rows of a gated period: no table in the snapshot
    return _copy_whole(con, REPORT_SCHEMA, table, where, params)


def _copy_by_submission(con, schema: str, table: str, held_generation: str | None) -> Copy:
    live, held = f'{schema}."{table}"', f'pub.{schema}."{table}"'
    generation = _generation(con, schema, table)
    same_table = (held_generation == generation
                  and _columns(con, schema, table) == _columns(con, schema, table, "pub"))
    if not same_table:
        return _copy_whole(con, schema, table, generation=generation)
    a, b = SUBMISSION_KEY
    match = f"k.{a} = r.{a} and k.{b} is not distinct from r.{b}"
    removed = con.execute(
        f"""delete from {held} as r
            where not exists (select 1 from (select distinct {a}, {b} from {live}) as k where {match})"""
    ).fetchone()[0]
    added = con.execute(
        f"""insert into {held} by name
            select * from {live} as r
            where not exists (select 1 from (select distinct {a}, {b} from {held}) as k where {match})"""
    ).fetchone()[0]
    n, expected = _count(con, held), _count(con, live)
    if n != expected:
        log.warning("%s.%s: %d rows after the submission delta, the warehouse has %d: copied whole",
                    schema, table, n, expected)
        return _copy_whole(con, schema, table, generation=generation)
    return Copy("by_submission", generation, n, added, removed)


def _generation(con, schema: str, table: str) -> str:
    """The generation of a warehouse table: stamped on it the first time it is published.
    dbt's incremental runs keep a table (and its comment); a full refresh re-creates it."""
    comment = con.execute(
        "select comment from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?", [schema, table]).fetchone()[0]
    if comment and comment.startswith(GENERATION_PREFIX):
        return comment[len(GENERATION_PREFIX):]
    generation = uuid.uuid4().hex
    con.execute(f"comment on table {schema}.\"{table}\" is '{GENERATION_PREFIX}{generation}'")
    return generation


def _drop_unlisted(con, keep: set[tuple[str, str]]) -> None:
    """Drop snapshot tables that are not in this publish (a report period no longer gated, a
    model that was removed)."""
    for schema, table in con.execute(
            f"""select table_schema, table_name from information_schema.tables
                where table_catalog = 'pub' and table_schema in {PUBLISHED_SCHEMAS}""").fetchall():
        if (schema, table) not in keep:
            con.execute(f'drop table pub.{schema}."{table}"')


def _detach_quietly(con) -> None:
    try:
        con.execute("detach database if exists pub")
    except duckdb.Error:
        pass


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
