"""DuckDB's memory and thread bounds reach every connection the project opens, dbt's too."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from dolisa import dbt, warehouse

ROOT = Path(__file__).resolve().parents[2]
LIMIT = "123MB"


def _expected(limit: str) -> str:
    return duckdb.connect(config={"memory_limit": limit}).execute("select current_setting('memory_limit')").fetchone()[0]


def test_every_connection_is_opened_through_the_bounded_opener():
    """The production package opens DuckDB files only through warehouse.open_duckdb."""
    offenders = []
    for f in (ROOT / "src" / "dolisa").rglob("*.py"):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\bduckdb\.connect\(", line) and not (f.name == "warehouse.py" and "read_only=read_only)" in line):
                offenders.append(f"{f.relative_to(ROOT)}:{n}")
    assert offenders == []


def test_memory_and_threads_reach_the_loader_dbt_and_readers(tmp_path, monkeypatch):
    monkeypatch.setenv("DOLISA_DUCKDB_MEMORY_LIMIT", LIMIT)
    monkeypatch.setenv("DOLISA_DUCKDB_THREADS", "1")
    wh = tmp_path / "warehouse" / "dolisa.duckdb"
    probe = "select current_setting('memory_limit'), current_setting('threads')"
    with warehouse.connect(wh) as con:
        assert con.execute(probe).fetchone() == (_expected(LIMIT), 1)
    result = dbt.run_dbt(["show", "--inline", probe + " as bounds"], warehouse=wh, target_path=tmp_path / "target")
    row = tuple(result.result.results[0].agate_table.rows[0])
    assert (row[0], int(row[1])) == (_expected(LIMIT), 1)
    # after dbt (whose DuckDB instance stays open in this process) the loader still opens, and so
    # does a plain connection (a data engineer's notebook)
    with warehouse.connect(wh) as con:
        assert con.execute(probe).fetchone() == (_expected(LIMIT), 1)
    duckdb.connect(str(wh)).close()
    # a reader of another file (the published snapshot) gets the bounds too
    snap = tmp_path / "published.duckdb"
    duckdb.connect(str(snap)).close()
    with warehouse.connect(snap, read_only=True) as con:
        assert con.execute(probe).fetchone() == (_expected(LIMIT), 1)


def test_the_default_fits_a_small_machine(monkeypatch):
    monkeypatch.delenv("DOLISA_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("DOLISA_DUCKDB_THREADS", raising=False)
    from dolisa.settings import duckdb_config

    cfg = duckdb_config()
    assert cfg == {"memory_limit": "1GB", "threads": "2"}
