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
    # after dbt the loader still opens, and so does a plain connection (a data engineer's notebook)
    with warehouse.connect(wh) as con:
        assert con.execute(probe).fetchone() == (_expected(LIMIT), 1)
    duckdb.connect(str(wh)).close()
    # a reader of another file (the published snapshot) gets the bounds too
    snap = tmp_path / "published.duckdb"
    duckdb.connect(str(snap)).close()
    with warehouse.connect(snap, read_only=True) as con:
        assert con.execute(probe).fetchone() == (_expected(LIMIT), 1)


def test_dbt_leaves_no_database_open_in_the_process(tmp_path, monkeypatch):
    """dbt-duckdb keeps its database open after a run (keep_open); dolisa.dbt closes it, so
    its buffer pool does not stay in a process that runs more stages (every task of
    `airflow dags test` runs in one process) and the next connection opens its own."""
    monkeypatch.setenv("DOLISA_DUCKDB_MEMORY_LIMIT", LIMIT)
    wh = tmp_path / "warehouse" / "dolisa.duckdb"
    with warehouse.connect(wh):
        pass
    dbt.run_dbt(["show", "--inline", "select 1 as one"], warehouse=wh, target_path=tmp_path / "target")
    # a plain connection sharing dbt's database would see dbt's memory_limit; a new one has DuckDB's default
    con = duckdb.connect(str(wh))
    try:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] != _expected(LIMIT)
    finally:
        con.close()


def test_the_default_fits_a_small_machine(monkeypatch):
    monkeypatch.delenv("DOLISA_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("DOLISA_DUCKDB_THREADS", raising=False)
    from dolisa.settings import duckdb_config

    cfg = duckdb_config()
    assert cfg == {"memory_limit": "1GB", "threads": "2"}


def test_a_process_that_holds_much_gives_duckdb_less(monkeypatch):
    """memory_limit is a cap: a connection opened in a process that already holds memory (every
    task of `airflow dags test` runs in one process) gets what is left under DOLISA_MEMORY_BUDGET
    after the process's RSS and a reserve for Python, never more than the cap, never below the floor."""
    from dolisa import settings

    monkeypatch.setenv("DOLISA_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setattr(settings, "_process_rss", lambda: 200 << 20)
    monkeypatch.setenv("DOLISA_MEMORY_BUDGET", "1536MiB")
    assert settings.duckdb_settings()["memory_limit"] == "1GB"  # a CLI stage: room for the cap
    monkeypatch.setattr(settings, "_process_rss", lambda: 900 << 20)
    assert settings.duckdb_settings()["memory_limit"] == f"{1536 - 900 - 256}MiB"
    # dbt keeps its manifest and graph beside DuckDB: a larger reserve
    monkeypatch.setattr(settings, "_process_rss", lambda: 600 << 20)
    assert settings.duckdb_settings(reserve=settings.DBT_RESERVE)["memory_limit"] == f"{1536 - 600 - 384}MiB"
    monkeypatch.setattr(settings, "_process_rss", lambda: 900 << 20)
    monkeypatch.setattr(settings, "_process_rss", lambda: 1400 << 20)
    assert settings.duckdb_settings()["memory_limit"] == "256MiB"  # the floor
    monkeypatch.setenv("DOLISA_MEMORY_BUDGET", "none")
    assert settings.duckdb_settings()["memory_limit"] == "1GB"
    monkeypatch.setenv("DOLISA_MEMORY_BUDGET", "1536MiB")
    monkeypatch.setattr(settings, "_process_rss", lambda: 900 << 20)
    monkeypatch.setenv("DOLISA_DUCKDB_MEMORY_LIMIT", "123MB")
    assert settings.duckdb_settings()["memory_limit"] == "123MB"  # never raised
    assert settings.parse_bytes("1GB") == 10**9 and settings.parse_bytes("768MiB") == 768 << 20


def test_the_connection_gets_the_lowered_limit(tmp_path, monkeypatch):
    from dolisa import settings

    monkeypatch.setattr(settings, "_process_rss", lambda: 900 << 20)
    monkeypatch.setenv("DOLISA_MEMORY_BUDGET", "1536MiB")
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == _expected("380MiB")


def test_every_stage_the_dag_calls_gives_its_memory_back():
    """Under `airflow dags test` every task runs in one process: a stage that keeps what it
    freed is still counted during the next task's peak (docs/performance.md)."""
    from dolisa import pipeline

    dag_text = "\n".join(f.read_text(encoding="utf-8") for f in (ROOT / "dags").glob("*.py"))
    stages = set(re.findall(r"pipeline\.(\w+)\(", dag_text)) - {"plan_run"}  # plan reads a few rows
    assert {"extract", "load", "transform", "gate", "build_reports", "write_report", "feedback", "publish"} <= stages
    assert [s for s in sorted(stages) if not getattr(getattr(pipeline, s), "releases_memory", False)] == []
