"""Every report-gate expectation, made to fail by one readable change to small hand-made marts.

The gate reads dbt models only; here those models are plain tables with the models'
columns (the dbt tests build the real ones): two districts, the six months of 2021-H1 and
of 2020-H1 (the same period), one file per unit-month, two indicators. Healthy as built;
each test breaks one row and checks the finding the gate makes of it.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from dolisa.quality import load_expectations
from dolisa.quality.report_gate import BLOCKING, WARNING, run_report_gate

HALF, SAME = "2021-H1", "2020-H1"
UNITS = {"040": "Thành phố Cao Bằng", "042": "Huyện Bảo Lâm"}
MONTHS = {HALF: [f"2021-{m:02d}" for m in range(1, 7)], SAME: [f"2020-{m:02d}" for m in range(1, 7)]}
declared = load_expectations("report_gate")


def healthy_marts(con: duckdb.DuckDBPyConnection) -> None:
    # the admin units seed, as dbt loads it (schema reference)
    from importlib import resources

    con.execute("create schema if not exists reference")
    units_csv = resources.files("dolisa.contract").joinpath("admin_units.csv")
    con.execute("create table reference.admin_units as select * from read_csv(?, all_varchar = true)",
                [str(units_csv)])
    con.execute("create schema if not exists marts")
    con.execute("""create table marts.dim_report_units (report_period varchar, unit_code varchar,
        unit_name_vi varchar, former_district_code varchar, former_district_name_vi varchar)""")
    for code, name in UNITS.items():
        con.execute("insert into marts.dim_report_units values (?, ?, ?, null, null)", [HALF, code, name])
    con.execute("""create table marts.fct_unit_month_completeness (unit_code varchar, period varchar,
        half_year varchar, unit_name_vi varchar, current_unit_code varchar, timeliness varchar,
        versions_received integer, versions_rejected integer, in_force_submission_id varchar,
        rows_loaded bigint, rows_quarantined bigint, quarantine_share double)""")
    con.execute("""create table marts.fct_file_row_conservation (submission_id varchar, file_name varchar,
        dataset varchar, unit_code varchar, period varchar, half_year varchar, is_in_force boolean,
        file_status varchar, rows_in bigint, rows_loaded bigint, rows_quarantined bigint, rows_unaccounted bigint)""")
    con.execute("""create table marts.fct_dataset_month_rows (unit_code varchar, period varchar, half_year varchar,
        dataset varchar, rows_loaded bigint, file_present boolean, basis varchar, basis_months bigint,
        peer_units bigint, expected_rows double, ratio_to_expected double, deviation_score double)""")
    con.execute("""create table marts.fct_indicator_computability (half_year varchar, indicator_code varchar,
        unit_code varchar, kind varchar, numerator_value bigint, denominator_value bigint, is_computable boolean)""")
    con.execute("""create table marts.fct_job_placements (placement_id varchar, person_key varchar,
        unit_code varchar, period varchar)""")
    for half, months in MONTHS.items():
        for period in months:
            for unit, name in UNITS.items():
                sid = f"{unit}-{period}-v1"
                con.execute("insert into marts.fct_unit_month_completeness values "
                            "(?, ?, ?, ?, ?, 'on_time', 1, 0, ?, 100, 0, 0.0)", [unit, period, half, name, unit, sid])
                con.execute("insert into marts.fct_file_row_conservation values "
                            "(?, 'job_placements.csv', 'job_placements', ?, ?, ?, true, 'accepted', 100, 100, 0, 0)",
                            [sid, unit, period, half])
                con.execute("insert into marts.fct_dataset_month_rows values "
                            "(?, ?, ?, 'job_placements', 100, true, 'recent_months', 6, 10, 100, 1, 0)",
                            [unit, period, half])
                con.execute("insert into marts.fct_job_placements values (?, 'c0ffee0123456789abcdef', ?, ?)",
                            [f"{unit}-VL-{period}", unit, period])
        for unit in UNITS:
            con.execute("insert into marts.fct_indicator_computability values "
                        "(?, 'LAB_JOB_PLACEMENTS', ?, 'flow', 600, null, true)", [half, unit])
            con.execute("insert into marts.fct_indicator_computability values "
                        "(?, 'CH_SPECIAL_SUPPORTED_PCT', ?, 'ratio', 19, 20, true)", [half, unit])


@pytest.fixture
def con():
    c = duckdb.connect()
    healthy_marts(c)
    yield c
    c.close()


def gate(con, **kw):
    return run_report_gate(con, HALF, **kw)


def test_healthy_marts_pass_without_findings(con):
    result = gate(con)
    assert result.passed and result.findings == []


def test_the_gate_leaves_no_gx_context_in_the_process(con):
    """gx.get_context() keeps its context process-wide; the gate lets it go, with its batches,
    so a process that runs more stages (airflow dags test) does not carry them on."""
    from great_expectations.data_context.data_context.context_factory import project_manager
    from great_expectations.exceptions import DataContextRequiredError

    gate(con)
    with pytest.raises(DataContextRequiredError):
        project_manager._project


BREAKS = [
    # (rule, severity, unit, period, what breaks)
    ("completeness", BLOCKING, "042", "2021-05",
     "update marts.fct_unit_month_completeness set timeliness = 'missing', in_force_submission_id = null "
     "where unit_code = '042' and period = '2021-05'"),
    ("late_submission", WARNING, "040", "2021-02",
     "update marts.fct_unit_month_completeness set timeliness = 'late' where unit_code = '040' and period = '2021-02'"),
    ("rejected_version", WARNING, "040", "2021-03",
     "update marts.fct_unit_month_completeness set versions_rejected = 1 where unit_code = '040' and period = '2021-03'"),
    ("quarantine_share", WARNING, "042", "2021-01",
     "update marts.fct_unit_month_completeness set rows_quarantined = 3, quarantine_share = 0.03 "
     "where unit_code = '042' and period = '2021-01'"),
    ("same_period_gap", WARNING, "040", "2020-04",
     "update marts.fct_unit_month_completeness set timeliness = 'missing' where unit_code = '040' and period = '2020-04'"),
    ("row_conservation", BLOCKING, "042", "2021-06",
     "update marts.fct_file_row_conservation set rows_loaded = 98, rows_unaccounted = 2 "
     "where unit_code = '042' and period = '2021-06'"),
    ("outlier", WARNING, "040", "2021-01",  # an inflated file
     "update marts.fct_dataset_month_rows set rows_loaded = 400, ratio_to_expected = 4, deviation_score = 9 "
     "where unit_code = '040' and period = '2021-01'"),
    ("outlier", WARNING, "042", "2021-03",  # a register cut to a fraction: looks both ways
     "update marts.fct_dataset_month_rows set rows_loaded = 5, ratio_to_expected = 0.05, deviation_score = -9 "
     "where unit_code = '042' and period = '2021-03'"),
    ("missing_dataset", WARNING, "040", "2021-05",  # the version in force has no file of it
     "update marts.fct_dataset_month_rows set rows_loaded = 0, file_present = false, ratio_to_expected = 0.005, "
     "deviation_score = -10 where unit_code = '040' and period = '2021-05'"),
    ("indicators_computable", BLOCKING, "042", HALF,
     "update marts.fct_indicator_computability set is_computable = false, numerator_value = null "
     "where unit_code = '042' and indicator_code = 'LAB_JOB_PLACEMENTS'"),
]


@pytest.mark.parametrize("rule,severity,unit,period,sql", BREAKS, ids=[b[0] for b in BREAKS])
def test_each_expectation_fails_on_its_defect(con, rule, severity, unit, period, sql):
    con.execute(sql)
    result = gate(con)
    assert [(f.rule, f.severity, f.unit_code, f.period) for f in result.findings] == [(rule, severity, unit, period)]
    assert declared.RULE[rule].severity == severity  # the one declaration of severity
    assert result.passed == (severity == WARNING)
    f = result.findings[0]
    assert unit in f.message and f.message == declared.message(rule, **{"unit_code": unit, "period": period,
                                                                        "item": f.item, **f.values})


def test_findings_carry_the_models_values(con):
    con.execute("update marts.fct_file_row_conservation set rows_loaded = 98, rows_unaccounted = 2 "
                "where unit_code = '042' and period = '2021-06'")
    con.execute("update marts.fct_indicator_computability set is_computable = false, numerator_value = null "
                "where unit_code = '042' and indicator_code = 'LAB_JOB_PLACEMENTS'")
    by_rule = {f.rule: f for f in gate(con).findings}
    assert by_rule["row_conservation"].values == {"dataset": "job_placements", "rows_in": 100, "rows_loaded": 98,
                                                  "rows_quarantined": 0, "rows_unaccounted": 2}
    assert by_rule["row_conservation"].item == "042-2021-06-v1/job_placements.csv"
    assert by_rule["indicators_computable"].indicator_code == "LAB_JOB_PLACEMENTS"


def test_a_month_without_enough_history_is_no_outlier(con):
    con.execute("update marts.fct_dataset_month_rows set rows_loaded = 400, ratio_to_expected = 4, deviation_score = 9, "
                f"basis_months = {declared.OUTLIER_MIN_HISTORY - 1} where unit_code = '040' and period = '2021-01'")
    assert gate(con).findings == []
    # the same month of one earlier year is history enough
    con.execute("update marts.fct_dataset_month_rows set basis = 'same_month', basis_months = 1 "
                "where unit_code = '040' and period = '2021-01'")
    assert [(f.rule, f.unit_code, f.period) for f in gate(con).findings] == [("outlier", "040", "2021-01")]


@pytest.mark.parametrize("ratio,score", [(3.0, 2.4), (1.3, 8.0), (0.7, -6.0)],
                         ids=["three_times_a_small_count", "a_big_register_grows_30pct", "a_drop_of_30pct"])
def test_within_chance_or_within_the_ratio_is_no_outlier(con, ratio, score):
    """3 -> 9 rows is chance (a small score); a 30% change of a big register is far in spreads but
    not beyond the ratio: neither is a warning."""
    con.execute(f"update marts.fct_dataset_month_rows set ratio_to_expected = {ratio}, deviation_score = {score} "
                "where unit_code = '040' and period = '2021-01'")
    assert gate(con).findings == []


def test_an_outlier_finding_says_its_basis(con):
    con.execute("update marts.fct_dataset_month_rows set rows_loaded = 300, expected_rows = 99.5, "
                "ratio_to_expected = 3, deviation_score = 12, basis = 'same_month', basis_months = 2 "
                "where unit_code = '042' and period = '2021-02'")
    (f,) = gate(con).findings
    assert f.values["basis"] == "same_month" and f.values["basis_months"] == 2 and f.values["expected_rows"] == 99.5
    assert f.message == "042 2021-02 job_placements: 300 rows, 3.00x the 100 expected from the same month of 2 earlier year(s)"


def test_no_indicator_rows_for_the_half_blocks(con):
    con.execute(f"delete from marts.fct_indicator_computability where half_year = '{HALF}'")
    result = gate(con)
    assert not result.passed and {f.rule for f in result.blocking} == {"indicators_computable"}


def test_a_personal_column_in_a_mart_blocks(con):
    con.execute("create table marts.fct_leak (unit_code varchar, citizen_id varchar)")
    result = gate(con)
    assert [(f.rule, f.item) for f in result.blocking] == [("no_personal_data", "marts.fct_leak.citizen_id")]


@pytest.mark.parametrize("value", ["004190012345", "081234567", "Nông Văn Hùng"],
                         ids=["citizen_id_12", "cmnd_9", "full_name"])
def test_a_personal_value_in_a_mart_blocks_and_is_never_stored(con, tmp_path, value):
    con.execute("update marts.fct_job_placements set person_key = ? where unit_code = '040' and period = '2021-03'",
                [value])
    docs = tmp_path / "docs"
    result = gate(con, data_docs_dir=docs)
    assert [(f.rule, f.severity, f.item) for f in result.findings] == [
        ("no_personal_data", BLOCKING, "marts.fct_job_placements.person_key")]
    # neither the findings, nor quality_gate.json, nor the Data Docs hold the value
    assert value not in json.dumps(result.as_dict(), ensure_ascii=False)
    pages = list(docs.rglob("*.html")) + list(docs.rglob("*.json"))
    assert pages and not [p for p in pages if value in p.read_text(encoding="utf-8", errors="replace")]


def test_a_commune_name_that_reads_like_a_person_is_not_personal_data(con):
    """Since the 2025 reform, unit names such as "Xã Thanh Long" or "Xã Minh Tâm" match the
    full-name pattern; the names of admin_units.csv are reference data, not about people."""
    con.execute("create table marts.dim_units_x (unit_code varchar, unit_name_vi varchar)")
    con.execute("insert into marts.dim_units_x values ('01387', 'Xã Thanh Long'), ('01747', 'Xã Minh Tâm')")
    assert gate(con).findings == []
    con.execute("insert into marts.dim_units_x values ('99999', 'Xã Văn Hùng')")  # not a unit's name
    assert [(f.rule, f.item) for f in gate(con).blocking] == [("no_personal_data", "marts.dim_units_x.unit_name_vi")]


def test_personal_value_outside_the_half_is_not_read(con):
    con.execute("update marts.fct_job_placements set person_key = '004190012345' where period = '2020-03'")
    assert gate(con).findings == []


def test_allow_incomplete_waives_only_the_waivable_rules(con):
    con.execute("update marts.fct_unit_month_completeness set timeliness = 'missing' "
                "where unit_code = '042' and period = '2021-05'")
    con.execute("create table marts.fct_leak (full_name varchar)")
    result = gate(con, allow_incomplete=True)
    assert {f.rule for f in result.waived} == {"completeness"}
    assert {f.rule for f in result.blocking} == {"no_personal_data"} and not result.passed
    con.execute("drop table marts.fct_leak")
    result = gate(con, allow_incomplete=True)
    assert result.passed and result.overridden
    assert result.as_dict()["overridden"] is True


def test_data_docs_show_what_ran_and_nothing_older(con, tmp_path):
    docs = tmp_path / "docs"
    (docs / "validations" / "old_suite").mkdir(parents=True)
    (docs / "validations" / "old_suite" / "stale.html").write_text("old run", encoding="utf-8")
    result = gate(con, data_docs_dir=docs)
    assert result.data_docs == str(docs / "index.html") and (docs / "index.html").is_file()
    suites = {p.name for p in (docs / "validations").iterdir()}
    assert "old_suite" not in suites
    assert {b.suite_name for b in declared.BATCHES} <= suites


def test_rule_names_and_severities_are_declared_once():
    names = [r.name for r in declared.RULES]
    assert len(names) == len(set(names))
    assert set(declared.MESSAGES) == set(names)  # every rule has its English message
    for name, build in declared.SUITES.items():
        for e in build().expectations:
            assert e.meta["rule"] in names and e.meta["severity"] == declared.RULE[e.meta["rule"]].severity


def test_the_value_scan_reads_every_value_a_personal_pattern_can_match():
    """VALUE_CANDIDATE_SQL only keeps ids and pseudonyms out of the GX batch: no value that a
    pattern matches (search semantics, as GX's pandas engine applies them) may fail it."""
    import random
    import re

    patterns = [re.compile(declared.CITIZEN_ID_PATTERN), re.compile(declared.FULL_NAME_PATTERN)]
    rng = random.Random(13)
    alphabet = "0123456789 \nabcĐđVănThịNguyễn-_.x"
    values = ["004190012345", "081234567", "081234567\n", "004190012345\n", "Nông Văn Hùng", "Lê Thị Hoa\n",
              "a" * 64, "P12345678", "040-2021-06", "045-TE-00012", "045-TE-100012", ""]
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16))) for _ in range(20000)]
    values += ["".join(rng.choice("0123456789") for _ in range(n)) + tail for n in range(6, 15) for tail in ("", "\n")
               for _ in range(5)]
    values += [f"{f} {m} {g}{tail}" for f in ("Nguyễn", "Hoàng", "Ma") for m in ("Văn", "Thị", "Đức", "Minh")
               for g in ("An", "Hùng Dũng") for tail in ("", "\n")]
    con = duckdb.connect()
    sql = declared.VALUE_CANDIDATE_SQL.format(v="v")
    kept = dict(con.execute(f"select v, {sql} from unnest(?) t(v)", [values]).fetchall())
    matching = [v for v in values if any(p.search(v) for p in patterns)]
    assert len(matching) > 60
    assert [v for v in matching if not kept[v]] == []
    assert not kept["a" * 64] and not kept["040-2021-06"]  # a pseudonym and an id stay out
    assert not kept["045-TE-00012"] and not kept["045-TE-100012"]  # record ids of 12 and 13 characters too


def test_the_value_scan_in_batches_finds_what_one_batch_finds(con, tmp_path):
    """The candidates reach GX in batches of VALUE_BATCH_ROWS (here 1 and 2): the findings are
    those of one batch, each column named once, and no batch stores a value."""
    con.execute("update marts.fct_job_placements set person_key = '004190012345' where period = '2021-03'")
    con.execute("create table marts.fct_more (unit_code varchar, period varchar, note varchar)")
    con.execute("insert into marts.fct_more values ('040', '2021-02', 'Nông Văn Hùng'), "
                "('042', '2021-02', 'Lê Thị Hoa'), ('040', '2021-02', 'a b'), ('040', '2021-02', '081234567')")
    one = [(f.rule, f.severity, f.item) for f in gate(con).findings]
    assert one == [("no_personal_data", BLOCKING, "marts.fct_job_placements.person_key"),
                   ("no_personal_data", BLOCKING, "marts.fct_more.note")]
    for rows in (1, 2):
        docs = tmp_path / f"docs{rows}"
        result = gate(con, value_batch_rows=rows, data_docs_dir=docs)
        assert [(f.rule, f.severity, f.item) for f in result.findings] == one
        pages = [p.read_text(encoding="utf-8", errors="replace") for p in docs.rglob("*.html")]
        assert pages and not [p for p in pages for v in ("004190012345", "Nông Văn Hùng", "081234567") if v in p]
    assert "report_gate_values" not in {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
