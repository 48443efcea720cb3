"""The report gate's decisions, and the rule they enforce on the report tables.

`meta.report_gate_decisions` records every gate run (period, passed, overridden by
`allow_incomplete`, counts, Data Docs). The latest decision of a period says whether
its report may exist: the report schema of the warehouse, and the published snapshot,
only ever hold rows of periods whose latest gate passed (or was explicitly overridden,
which the decision records).
"""

from __future__ import annotations

import datetime as dt

import duckdb

TABLE = "meta.report_gate_decisions"
REPORT_SCHEMA = "reports"
DDL = f"""create table if not exists {TABLE} (
    report_period varchar not null,
    passed boolean not null,
    overridden boolean not null,
    allow_incomplete boolean not null,
    blocking integer not null,
    waived integer not null,
    warnings integer not null,
    data_docs varchar,
    decided_at timestamptz not null
)"""
LATEST_SQL = f"""select report_period, passed, overridden, allow_incomplete, blocking, waived, warnings, decided_at,
           passed as published
    from {TABLE}
    qualify row_number() over (partition by report_period order by decided_at desc) = 1"""


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    con.execute(DDL)


def record(con: duckdb.DuckDBPyConnection, result) -> None:
    """Record a GateResult (dolisa.quality.report_gate) as the period's latest decision."""
    ensure(con)
    con.execute(
        f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.report_period,
            result.passed,
            result.overridden,
            result.allow_incomplete,
            len(result.blocking),
            len(result.waived),
            len(result.warnings),
            result.data_docs,
            dt.datetime.fromisoformat(result.decided_at),
        ],
    )


def published_periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Periods whose latest gate decision passed (or was overridden)."""
    ensure(con)
    return [
        r[0] for r in con.execute(f"select report_period from ({LATEST_SQL}) where published order by 1").fetchall()
    ]


def require_published(con: duckdb.DuckDBPyConnection, report_period: str) -> None:
    if report_period not in published_periods(con):
        raise RuntimeError(f"{report_period}: the report gate has not passed; no report tables are built for it")


def _report_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            """select distinct table_name from information_schema.columns
           where table_schema = ? and column_name = 'report_period' and table_catalog = current_database()
           order by 1""",
            [REPORT_SCHEMA],
        ).fetchall()
    ]


def _prune(con: duckdb.DuckDBPyConnection, where: str, params: list) -> None:
    for table in _report_tables(con):
        con.execute(f'delete from {REPORT_SCHEMA}."{table}" where {where}', params)
        if con.execute(f'select count(*) from {REPORT_SCHEMA}."{table}"').fetchall()[0][0] == 0:
            con.execute(f'drop table {REPORT_SCHEMA}."{table}"')


def remove_period(con: duckdb.DuckDBPyConnection, report_period: str) -> None:
    """A blocked gate: no report rows for the period (a table left empty is dropped)."""
    _prune(con, "report_period = ?", [report_period])


def restrict_reports(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Keep only rows of periods whose latest gate passed; returns those periods."""
    kept = published_periods(con)
    _prune(con, "report_period not in (select unnest(?::varchar[]))", [kept])
    return kept
