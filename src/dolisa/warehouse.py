"""The DuckDB warehouse file: connection and the tables Python writes (dbt's sources).

DDL is derived from the contract description (`dolisa.contract`): one `raw.<dataset>`
table per dataset plus the `meta` ledger tables. See docs/architecture.md.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from dolisa import contract, pseudonym
from dolisa.settings import duckdb_settings

# Columns every raw.<dataset> row carries besides the contract columns.
LINEAGE_COLUMNS: list[tuple[str, str]] = [
    ("submission_id", "VARCHAR NOT NULL"),
    ("unit_code", "VARCHAR NOT NULL"),
    ("period", "VARCHAR NOT NULL"),
    ("version", "INTEGER NOT NULL"),
    ("source_row", "BIGINT NOT NULL"),
    ("loaded_at", "TIMESTAMPTZ"),  # = meta.submissions.loaded_at: a reload changes it (incremental facts)
]

META_DDL = [
    """create table if not exists meta.submissions (
        submission_id varchar primary key,
        unit_code varchar not null,
        period varchar not null,
        version integer not null,
        submitted_at timestamptz,
        landed_at timestamptz,
        status varchar not null,          -- accepted | rejected
        reason varchar,
        n_files integer,
        loaded_at timestamptz             -- when this version's rows were (last) loaded
    )""",
    """create table if not exists meta.files (
        submission_id varchar not null,
        dataset varchar,
        file_name varchar not null,
        media_type varchar,
        bytes bigint,
        rows_declared bigint,
        sha256 varchar,
        landed_path varchar,
        status varchar not null,          -- accepted | rejected | not_loaded
        reason varchar,
        rows_in bigint,
        rows_loaded bigint,
        rows_quarantined bigint,
        primary key (submission_id, file_name)
    )""",
    """create table if not exists meta.quarantined_rows (
        submission_id varchar not null,
        unit_code varchar not null,
        period varchar not null,
        version integer not null,
        dataset varchar not null,
        file_name varchar not null,
        source_row bigint not null,
        reasons varchar not null,
        record json
    )""",
    "drop table if exists meta.validations",  # the old door gate's results: no longer written
    """create table if not exists meta.ledger_vocabulary (
        subject varchar not null,         -- version_status | file_status | row_status | <level>_reason
        value varchar not null,
        label_vi varchar,
        description varchar,
        primary key (subject, value)
    )""",
    """create table if not exists meta.plan_targets (
        year integer not null,
        indicator_code varchar not null,
        unit_code varchar not null,
        target_value bigint not null
    )""",
]


def raw_table_ddl(ds: contract.Dataset) -> str:
    cols = [f"{c.name} {c.sql_type}" for c in ds.columns] + [f"{n} {t}" for n, t in LINEAGE_COLUMNS]
    if pseudonym.person_key_column(ds):
        cols.append(f"{pseudonym.PERSON_KEY_COLUMN} VARCHAR")  # HMAC of the citizen id (dolisa.pseudonym)
    return f"create table if not exists raw.{ds.name} (\n    " + ",\n    ".join(cols) + "\n)"


# Columns added after a warehouse may have been created: (table, column, type).
UPGRADES: list[tuple[str, str, str]] = (
    [("meta.submissions", "loaded_at", "timestamptz")]
    + [(f"raw.{name}", "loaded_at", "timestamptz") for name in contract.datasets()]
    + [
        (f"raw.{ds.name}", pseudonym.PERSON_KEY_COLUMN, "varchar")
        for ds in contract.datasets().values()
        if pseudonym.person_key_column(ds)
    ]
)


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and meta schemas and tables (idempotent)."""
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists meta")
    for ds in contract.datasets().values():
        con.execute(raw_table_ddl(ds))
    for ddl in META_DDL:
        con.execute(ddl)
    con.execute(pseudonym.KEY_DDL)
    _write_vocabulary(con)
    for table, column, type_ in UPGRADES:
        con.execute(f"alter table {table} add column if not exists {column} {type_}")


def _write_vocabulary(con: duckdb.DuckDBPyConnection) -> None:
    """meta.ledger_vocabulary := the ledger's vocabulary (contract/ledger.yaml), which dbt's
    tests read; rewritten only when the package's list differs from the table's."""
    want = sorted(contract.ledger_vocabulary_rows())
    have = sorted(con.execute("select subject, value, label_vi, description from meta.ledger_vocabulary").fetchall())
    if have != want:
        con.execute("begin transaction")
        try:
            con.execute("delete from meta.ledger_vocabulary")
            con.executemany("insert into meta.ledger_vocabulary values (?, ?, ?, ?)", want)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def open_duckdb(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The one way the project opens a DuckDB file: with the memory and thread bounds of
    `dolisa.settings.duckdb_settings()` (dbt's profile sets the same, see dolisa.dbt): the
    configured cap, memory_limit lowered to what the process has left under its budget.

    The bounds are SET on the new connection rather than passed as connect-time config:
    DuckDB refuses a second handle on a file, in one process, whose config differs from
    the first one's, and dbt or a user's plain `duckdb.connect` may hold the first."""
    con = duckdb.connect(str(path), read_only=read_only)
    for name, value in duckdb_settings().items():
        con.execute(f"set {name} = '{value}'")  # values from settings, never from data
    return con


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = open_duckdb(path, read_only=read_only)
    try:
        if not read_only:
            create_all(con)
        yield con
    finally:
        con.close()
