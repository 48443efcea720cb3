"""Publishing only what changed: the snapshot of a fact that changes by whole submissions is
brought up to date by submission, and always equals a whole copy; a re-created table, other
columns, a missing dbt manifest or a broken assumption mean a whole copy.

The warehouse is a real DuckDB file in a temporary DOLISA_HOME with hand-made marts, and a
dbt manifest.json that declares which model changes by submission (as dbt writes it).
"""

from __future__ import annotations

import json
import logging

import duckdb
import pytest

from dolisa import snapshot
from dolisa.settings import paths

FACT = "marts.fct_events"
T0, T1 = "2026-01-01 00:00:00+00", "2026-02-01 00:00:00+00"


def manifest(p, *, keyed: bool = True) -> None:
    nodes = {
        "model.dolisa.fct_events": {"resource_type": "model", "schema": "marts", "alias": "fct_events",
                                    "config": {"materialized": "incremental",
                                               "meta": {snapshot.CHANGES_BY_SUBMISSION: keyed}}},
        "model.dolisa.agg_events": {"resource_type": "model", "schema": "marts", "alias": "agg_events",
                                    "config": {"materialized": "table", "meta": {}}},
    }
    p.dbt_target.mkdir(parents=True, exist_ok=True)
    (p.dbt_target / "manifest.json").write_text(json.dumps({"nodes": nodes}))


def add(con, submission: str, loaded_at: str, values: list[int]) -> None:
    con.executemany(f"insert into {FACT} values (?, ?::timestamptz, ?)", [(submission, loaded_at, v) for v in values])


def rebuild_agg(con) -> None:
    con.execute(f"create or replace table marts.agg_events as select submission_id, sum(value) as total "
                f"from {FACT} group by all")


@pytest.fixture
def home(dolisa_home):
    p = paths(dolisa_home).ensure()
    manifest(p)
    con = duckdb.connect(str(p.warehouse))
    con.execute("create schema marts")
    con.execute(f"create table {FACT} (submission_id varchar, loaded_at timestamptz, value integer)")
    add(con, "040-2021-04-v1", T0, [1, 2, 3])
    add(con, "041-2021-04-v1", T0, [4, 5])
    rebuild_agg(con)
    con.close()
    return p


def warehouse(p):
    return duckdb.connect(str(p.warehouse))


def rows(db, table: str = FACT) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select * from {table} order by all").fetchall()
    finally:
        con.close()


def book(p) -> dict[str, tuple]:
    con = duckdb.connect(str(snapshot.snapshot_path(p)), read_only=True)
    try:
        return {f"{s}.{t}": (c, n, a, r) for s, t, c, n, a, r in con.execute(
            f"select table_schema, table_name, copied, row_count, rows_added, rows_removed from {snapshot.BOOK_TABLE}"
        ).fetchall()}
    finally:
        con.close()


def test_only_the_submissions_added_and_removed_are_copied(home):
    first = snapshot.publish(home)
    assert first["by_submission"] == {}  # nothing to start from: a whole copy
    assert book(home)[FACT] == ("whole", 5, 5, 0)
    con = warehouse(home)
    con.execute(f"delete from {FACT} where submission_id = '040-2021-04-v1'")  # superseded ...
    add(con, "040-2021-04-v2", T1, [10, 20])                                   # ... by its v2
    con.execute(f"delete from {FACT} where submission_id = '041-2021-04-v1'")  # reloaded: new loaded_at
    add(con, "041-2021-04-v1", T1, [4, 5])
    add(con, "042-2021-05-v1", T1, [7])                                        # a new month
    rebuild_agg(con)
    con.close()

    out = snapshot.publish(home)
    assert out["by_submission"] == {FACT: {"added": 5, "removed": 5}}
    assert out["copied_whole"] == ["marts.agg_events"]
    assert book(home)[FACT] == ("by_submission", 5, 5, 5)
    published = snapshot.snapshot_path(home)
    assert rows(published) == rows(home.warehouse)
    assert rows(published, "marts.agg_events") == rows(home.warehouse, "marts.agg_events")

    # nothing changed: nothing added or removed, and a whole copy gives the same snapshot
    assert snapshot.publish(home)["by_submission"] == {FACT: {"added": 0, "removed": 0}}
    assert rows(published) == rows(home.warehouse)
    snapshot.publish(home, full=True)
    assert book(home)[FACT][0] == "whole" and rows(published) == rows(home.warehouse)


def test_a_re_created_table_is_copied_whole(home):
    """A full refresh (or a key rotation, or a rebuild) re-creates the model: the same
    submissions may now hold other values, so the delta by submission is not valid."""
    snapshot.publish(home)
    con = warehouse(home)
    con.execute(f"create or replace table {FACT} as select submission_id, loaded_at, value * 100 as value from {FACT}")
    con.close()
    out = snapshot.publish(home)
    assert FACT in out["copied_whole"]
    assert rows(snapshot.snapshot_path(home)) == rows(home.warehouse)
    # the new table carries a new generation: the next publish goes by submission again
    assert snapshot.publish(home)["by_submission"] == {FACT: {"added": 0, "removed": 0}}


def test_other_columns_mean_a_whole_copy(home):
    snapshot.publish(home)
    con = warehouse(home)
    con.execute(f"alter table {FACT} add column note varchar")  # dbt's on_schema_change: append_new_columns
    add_sql = f"insert into {FACT} values ('043-2021-05-v1', '{T1}'::timestamptz, 8, 'new')"
    con.execute(add_sql)
    con.close()
    out = snapshot.publish(home)
    assert FACT in out["copied_whole"]
    assert rows(snapshot.snapshot_path(home)) == rows(home.warehouse)


def test_a_submission_changed_in_place_is_caught_by_the_row_count(home, caplog):
    """The delta assumes a submission's rows never change in place. A model that broke that
    (here: a row added to a submission the snapshot holds) is copied whole, with a warning."""
    snapshot.publish(home)
    con = warehouse(home)
    add(con, "040-2021-04-v1", T0, [99])
    con.close()
    with caplog.at_level(logging.WARNING, logger="dolisa.snapshot"):
        out = snapshot.publish(home)
    assert FACT in out["copied_whole"]
    assert rows(snapshot.snapshot_path(home)) == rows(home.warehouse)
    assert any("copied whole" in r.getMessage() for r in caplog.records)


def test_without_the_declaration_or_a_manifest_every_table_is_copied_whole(home):
    manifest(home, keyed=False)
    snapshot.publish(home)
    assert snapshot.publish(home)["by_submission"] == {}
    (home.dbt_target / "manifest.json").unlink()
    assert snapshot.publish(home)["by_submission"] == {}
    assert rows(snapshot.snapshot_path(home)) == rows(home.warehouse)


def test_a_failed_publish_leaves_the_previous_snapshot(home, monkeypatch):
    snapshot.publish(home)
    published = snapshot.snapshot_path(home)
    (home.published / ".warehouse.999999.tmp.duckdb").write_bytes(b"left by a publisher that died")
    before = published.read_bytes()
    con = warehouse(home)
    add(con, "042-2021-05-v1", T1, [7])
    con.close()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(snapshot, "_copy_whole", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        snapshot.publish(home)
    assert published.read_bytes() == before
    assert sorted(f.name for f in home.published.iterdir()) == ["warehouse.duckdb"]


def test_a_snapshot_from_before_the_book_is_replaced_whole(home):
    published = snapshot.snapshot_path(home)
    con = duckdb.connect(str(published))  # what publish wrote before it kept publish.snapshot_tables
    con.execute("create schema marts")
    con.execute(f"create table {FACT} as select 'stale' as submission_id")
    con.execute("create table marts.dropped_model as select 1 as x")
    con.close()
    out = snapshot.publish(home)
    assert out["by_submission"] == {}
    assert rows(published) == rows(home.warehouse)
    con = duckdb.connect(str(published), read_only=True)
    try:
        assert "dropped_model" not in {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()
