"""The published snapshot holds figures only: the models declared for readers (dbt meta
`published`), the gated report tables, with small sensitive cells suppressed; never a model
that is not declared, and never a column about one person or one record.

The warehouse is a real DuckDB file in a temporary DOLISA_HOME with hand-made marts, and a
dbt manifest.json that declares the models as dbt writes it.
"""

from __future__ import annotations

import json
import logging

import duckdb
import pytest

from dolisa import disclosure, snapshot
from dolisa.settings import paths

BREAKDOWNS = "agg_child_welfare_unit_month_breakdowns"


def manifest(p, models: dict[str, dict]) -> None:
    nodes = {f"model.dolisa.{name}": {"resource_type": "model", "schema": "marts", "alias": name,
                                      "config": {"materialized": "table", "meta": meta}}
             for name, meta in models.items()}
    p.dbt_target.mkdir(parents=True, exist_ok=True)
    (p.dbt_target / "manifest.json").write_text(json.dumps({"nodes": nodes}))


MODELS = {
    "fct_child_protection_register_snapshots": {},  # person-level: not declared
    "agg_child_welfare_unit_months": {"published": True},
    BREAKDOWNS: {"published": True, "disclosure": "breakdown"},
}


@pytest.fixture
def home(dolisa_home):
    p = paths(dolisa_home).ensure()
    manifest(p, MODELS)
    con = duckdb.connect(str(p.warehouse))
    con.execute("create schema marts")
    con.execute("""create table marts.fct_child_protection_register_snapshots as
                   select * from (values ('01273-2026-03-v1', '01273', 'C-001', date '2015-04-02', 'HIV'),
                                         ('01279-2026-03-v1', '01279', 'C-002', date '2012-09-30', 'ABUSED'))
                   as t(submission_id, unit_code, child_id, birth_date, circumstance)""")
    con.execute("""create table marts.agg_child_welfare_unit_months as
                   select * from (values ('2026-03', '01273', 'CH_SPECIAL_ACTIVE', 9),
                                         ('2026-03', '01279', 'CH_SPECIAL_ACTIVE', 30))
                   as t(period, unit_code, indicator_code, month_value)""")
    rows = [("01273", "HIV", 1), ("01273", "ORPHAN", 8), ("01279", "HIV", 12), ("01279", "ORPHAN", 18),
            ("04", "HIV", 13), ("04", "ORPHAN", 26)]
    con.execute(f"""create table marts.{BREAKDOWNS} (period varchar, unit_code varchar, dataset varchar,
                    breakdown varchar, category varchar, is_sensitive boolean, records bigint)""")
    con.executemany(f"insert into marts.{BREAKDOWNS} values ('2026-03', ?, 'child_protection_register', "
                    "'circumstance', ?, true, ?)", rows)
    con.close()
    return p


def published(p, sql: str):
    con = duckdb.connect(str(snapshot.snapshot_path(p)), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def tables(p) -> set[str]:
    return {f"{s}.{t}" for s, t in published(p, "select table_schema, table_name from information_schema.tables")}


def test_only_the_models_declared_for_readers_are_published(home):
    out = snapshot.publish(home)
    assert "marts.agg_child_welfare_unit_months" in tables(home) and f"marts.{BREAKDOWNS}" in tables(home)
    assert "marts.fct_child_protection_register_snapshots" not in tables(home)
    assert {"publish.snapshot_tables", "publish.legend", "reports.report_gate_decisions"} <= tables(home)
    assert out["tables"] == 2
    assert published(home, "select count(*) from marts.agg_child_welfare_unit_months") == [(2,)]


def test_small_sensitive_cells_are_suppressed_in_the_snapshot_not_in_the_warehouse(home):
    out = snapshot.publish(home)
    assert out["cells_suppressed"] == {f"marts.{BREAKDOWNS}": 4}  # 1 HIV, and what would give it away
    cells = dict(((u, c), (n, f)) for u, c, n, f in published(
        home, f"select unit_code, category, records, flag from marts.{BREAKDOWNS}"))
    assert cells[("01273", "HIV")] == (None, disclosure.MARK)
    assert cells[("01273", "ORPHAN")] == (None, disclosure.MARK)  # its row's total is published
    assert cells[("01279", "HIV")] == (None, disclosure.MARK)  # the province's HIV cell is published
    assert cells[("04", "HIV")] == (13, None)
    assert published(home, "select mark, threshold from publish.legend") == [("x", 5)]
    assert published(home, f"select copied, cells_suppressed from publish.snapshot_tables "
                           f"where table_name = '{BREAKDOWNS}'") == [("disclosure", 4)]
    con = duckdb.connect(str(home.warehouse), read_only=True)
    assert con.execute(f"select records from marts.{BREAKDOWNS} where unit_code = '01273' and category = 'HIV'"
                       ).fetchall() == [(1,)]
    con.close()


def test_the_threshold_setting_is_applied(home, monkeypatch):
    monkeypatch.setenv(disclosure.THRESHOLD_ENV, "10")
    out = snapshot.publish(home)
    assert out["disclosure_threshold"] == 10
    assert published(home, f"select count(*) from marts.{BREAKDOWNS} where unit_code = '01273' and flag = 'x'"
                     ) == [(2,)]  # 1 and 8 are both under 10


def test_a_declared_model_with_a_person_level_column_stops_the_publish(home):
    snapshot.publish(home)
    before = snapshot.snapshot_path(home).read_bytes()
    manifest(home, {**MODELS, "fct_child_protection_register_snapshots": {"published": True}})
    with pytest.raises(snapshot.PersonalDataInReaderZone, match="birth_date, child_id"):
        snapshot.publish(home)
    assert snapshot.snapshot_path(home).read_bytes() == before  # the previous snapshot stays
    assert not list(home.published.glob(".warehouse.*"))


def test_a_new_snapshot_carries_nothing_of_the_previous_one(home):
    snapshot.publish(home)
    con = duckdb.connect(str(home.warehouse))
    con.execute("drop table marts.agg_child_welfare_unit_months")
    con.close()
    snapshot.publish(home)
    assert "marts.agg_child_welfare_unit_months" not in tables(home)


def test_without_a_dbt_manifest_no_mart_is_published(home, caplog):
    (home.dbt_target / "manifest.json").unlink()
    with caplog.at_level(logging.WARNING, logger="dolisa.snapshot"):
        out = snapshot.publish(home)
    assert out["tables"] == 0 and not any(t.startswith("marts.") for t in tables(home))
    assert "no mart is published" in caplog.text


def test_the_snapshot_is_readable_by_the_reporting_team(home):
    snapshot.publish(home)
    assert snapshot.snapshot_path(home).stat().st_mode & 0o777 == 0o644
