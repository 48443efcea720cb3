"""Report gate: the Great Expectations suites run before the half-year report tables are built.

indicators.md, "The quality gate before a report". The gate runs after the marts are
built and before the `rpt_` models: `dolisa.quality.report_gate` reads each batch below
from a dbt model (small: one half-year), validates it with its suite in one GX Checkpoint
(Data Docs action), and turns the failed expectations into findings.

    BLOCKING  no rpt_ tables and no report files for the period; the Airflow task fails
    WARNING   reported with the report (warnings sheet, quality_gate.json), never blocks

`waivable` rules are the only ones an operator may waive with the run-conf switch
`allow_incomplete` (the report then says BÁO CÁO CHƯA ĐẦY ĐỦ on its face).

The rule names are stable: the report writers' Vietnamese messages are keyed by them.
Business definitions are NOT made here: "expected unit" is fct_expected_submissions,
"late" is fct_submission_status, "in force" is stg_district_export__submissions.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._rules import BLOCKING, WARNING, GateRule, suite_from_expectations

SUITE_PREFIX = "report_gate__"

# -- the rules, with their severity ----------------------------------------------------

COMPLETENESS = GateRule(
    "completeness",
    BLOCKING,
    "every reporting unit valid in each month of the half-year has an accepted submission",
    waivable=True,
)
INDICATORS_COMPUTABLE = GateRule(
    "indicators_computable",
    BLOCKING,
    "every published catalogue indicator is computable for every reporting unit "
    "(a percentage whose denominator is 0 may be empty)",
    waivable=True,
)
ROW_CONSERVATION = GateRule(
    "row_conservation", BLOCKING, "every loaded file of the half-year: rows in = rows loaded + rows quarantined"
)
NO_PERSONAL_DATA = GateRule(
    "no_personal_data",
    BLOCKING,
    "no mart column is named like personal data, and no mart text value looks like a "
    "citizen id or a person's full name",
)
LATE_SUBMISSION = GateRule(
    "late_submission", WARNING, "the first accepted version of a unit and month came after the deadline"
)
REJECTED_VERSION = GateRule(
    "rejected_version", WARNING, "a submitted version was rejected (an earlier one may be in force)"
)
QUARANTINE_SHARE = GateRule(
    "quarantine_share", WARNING, "rows of the version in force were quarantined (share above QUARANTINE_SHARE_MAX)"
)
OUTLIER = GateRule(
    "outlier",
    WARNING,
    "a month's rows of a dataset are far above or below what the unit's own history makes "
    "expected (fct_dataset_month_rows: deviation_score beyond OUTLIER_MIN_SCORE and a ratio beyond "
    "OUTLIER_MIN_RATIO either way; docs/warnings.md)",
)
MISSING_DATASET = GateRule(
    "missing_dataset",
    WARNING,
    "the version in force has no file of a dataset the unit's history makes expected (zero "
    "rows where OUTLIER_MIN_SCORE and OUTLIER_MIN_RATIO say the unit usually sends it)",
)
SAME_PERIOD_GAP = GateRule(
    "same_period_gap",
    WARNING,
    "a unit that existed in the same half of the previous year has no accepted submission "
    "for one of its months: every same-period value it feeds is incomplete",
)
DEFERRED_VERSION = GateRule(
    "deferred_version",
    WARNING,
    "a version of the half-year could not be fetched (transient failure); it is fetched again on the next run",
)
GATE_ERROR = GateRule("gate_error", BLOCKING, "an expectation could not be evaluated (a bug, not a data defect)")
DBT_TEST_WARNING = GateRule(
    "dbt_test_warning",
    WARNING,
    "a dbt data test of the last build warned (severity warn: bad data never fails a "
    "night; docs/operations.md lists the tests that do)",
)

RULES: tuple[GateRule, ...] = (
    COMPLETENESS,
    INDICATORS_COMPUTABLE,
    ROW_CONSERVATION,
    NO_PERSONAL_DATA,
    LATE_SUBMISSION,
    REJECTED_VERSION,
    QUARANTINE_SHARE,
    OUTLIER,
    MISSING_DATASET,
    SAME_PERIOD_GAP,
    DEFERRED_VERSION,
    GATE_ERROR,
    DBT_TEST_WARNING,
)
RULE = {r.name: r for r in RULES}

# -- constants ---------------------------------------------------------------------------
#
# The outlier and missing-dataset thresholds, the one place they are set. The history they
# are applied to is fct_dataset_month_rows (the unit's recent months or the same month of
# earlier years, moved with the other units of the same month); docs/warnings.md says why
# and shows what they flag on the demo (precision/recall). indicators.md's "three times the
# median of its previous twelve" is an example of such a rule, not the rule.

OUTLIER_MIN_SCORE = 3.5  # |deviation_score|: distance from the expected, in allowed spreads (Poisson + units')
OUTLIER_MIN_RATIO = 1.5  # and at least x1.5 above or below the expected (a register growing 10% is no outlier)
OUTLIER_MIN_HISTORY = 3  # months of recent history (basis recent_months) before a month is judged at all;
#                          the same month of one earlier year is enough (basis same_month)
QUARANTINE_SHARE_MAX = 0.0  # the contract reports any quarantined row as a warning
PERSONAL_COLUMNS = ("full_name", "citizen_id", "borrower_citizen_id")
CITIZEN_ID_PATTERN = r"^[0-9]{9}$|^[0-9]{12}$"  # CMND (9 digits) or CCCD (12 digits)
# "Family Middle Given": a Vietnamese full name, by its common middle names.
FULL_NAME_PATTERN = (
    r"^[^\W\d_]+ (?:Văn|Thị|Đức|Minh|Quốc|Thanh|Thu|Ngọc|Hữu|Công|Xuân|Hồng|Kim|Đình|Quang|Bá|"
    r"Tiến|Trọng|Duy|Mạnh)(?: [^\W\d_]+){1,3}$"
)
# The value scan's batches hold only the values that could match a pattern at all, so that
# millions of record ids and pseudonyms never enter pandas. A match needs a space (a full
# name), or 9 or 12 ASCII digits and nothing else but at most one trailing newline (which `$`
# allows): a record id of 12 or 13 characters such as "045-TE-00012" is no candidate. This is
# a necessary condition, not the rule: GX still decides each finding. `{v}` is the value;
# tests/unit/test_report_gate.py checks the condition against the patterns.
VALUE_CANDIDATE_SQL = (
    "(contains({v}, ' ') or (strlen({v}) in (9, 10, 12, 13) and regexp_full_match({v}, '[0-9]+\\n?')))"
)
# The candidates are handed to GX in batches of at most this many values (distinct per
# column, in the order of column and value), so the gate's frames do not grow with the marts.
VALUE_BATCH_ROWS = 50_000
# Names of admin units are reference data of the contract (admin_units.csv), not about
# people: some commune names of the 2025 reform read like a person's name ("Xã Minh Tâm",
# "Xã Thanh Long"). A value that is exactly such a name is not scanned.
NOT_REFERENCE_NAME_SQL = "not exists (select 1 from reference.admin_units as units where units.name_vi = {v})"

# -- the batches: which model each suite reads ------------------------------------------
#
# Every batch frame has the key columns `unit_code`, `period`, `item` (what the finding
# names); `where` is filtered with the report's half-year (:half) or the same half of the
# previous year (:same_half). `values` are the columns a finding carries.

KEY_COLUMNS = ("unit_code", "period", "item")


@dataclass(frozen=True)
class Batch:
    name: str
    model: str  # schema.table of a dbt model
    where: str
    item: str = "cast(null as varchar)"
    period: str = "period"
    values: tuple[str, ...] = ()
    unit: str = "unit_code"

    @property
    def suite_name(self) -> str:
        return SUITE_PREFIX + self.name

    def sql(self) -> str:
        return (
            f"select {self.unit} as unit_code, {self.period} as period, {self.item} as item, "
            f"columns(lambda c: c not in ('unit_code', 'period', 'item')) "
            f"from {self.model} where {self.where} order by all"
        )


UNIT_MONTHS = Batch(
    "unit_months",
    "marts.fct_unit_month_completeness",
    "half_year = $half",
    item="in_force_submission_id",
    values=("unit_name_vi", "timeliness", "versions_rejected", "rows_loaded", "rows_quarantined", "quarantine_share"),
)
SAME_PERIOD = Batch(
    "same_period_unit_months",
    "marts.fct_unit_month_completeness",
    "half_year = $same_half",
    values=("unit_name_vi", "current_unit_code", "timeliness"),
)
FILES = Batch(
    "files",
    "marts.fct_file_row_conservation",
    "half_year = $half",
    item="submission_id || '/' || file_name",
    values=("dataset", "rows_in", "rows_loaded", "rows_quarantined", "rows_unaccounted"),
)
DATASET_MONTHS = Batch(
    "dataset_months",
    "marts.fct_dataset_month_rows",
    "half_year = $half",
    item="dataset",
    values=(
        "rows_loaded",
        "file_present",
        "expected_rows",
        "ratio_to_expected",
        "deviation_score",
        "basis",
        "basis_months",
    ),
)
INDICATORS = Batch(
    "indicators",
    "marts.fct_indicator_computability",
    "half_year = $half",
    period="half_year",
    item="indicator_code",
    values=("kind", "numerator_value", "denominator_value"),
)
MART_COLUMNS = Batch(
    "mart_columns",
    "information_schema.columns",
    "table_schema in ('marts', 'reports') and table_catalog = current_database()",
    item="table_schema || '.' || table_name || '.' || column_name",
    period="cast(null as varchar)",
    unit="cast(null as varchar)",
    values=("data_type",),
)
BATCHES: tuple[Batch, ...] = (UNIT_MONTHS, SAME_PERIOD, FILES, DATASET_MONTHS, INDICATORS, MART_COLUMNS)
# The value scan of no_personal_data has its own batch (`mart_values`, one row per distinct
# text value of a mart column) validated with result_format BOOLEAN_ONLY, so that no value
# that matched ever reaches a stored validation result or Data Docs.
MART_VALUES_SUITE = SUITE_PREFIX + "mart_values"


def _gx():
    import great_expectations.expectations as gxe

    return gxe


def unit_months_suite():
    gxe = _gx()
    return suite_from_expectations(
        UNIT_MONTHS.suite_name,
        [
            COMPLETENESS.expect(gxe.ExpectColumnValuesToNotBeInSet(column="timeliness", value_set=["missing"])),
            LATE_SUBMISSION.expect(gxe.ExpectColumnValuesToNotBeInSet(column="timeliness", value_set=["late"])),
            REJECTED_VERSION.expect(gxe.ExpectColumnValuesToBeBetween(column="versions_rejected", max_value=0)),
            QUARANTINE_SHARE.expect(
                gxe.ExpectColumnValuesToBeBetween(column="quarantine_share", max_value=QUARANTINE_SHARE_MAX)
            ),
        ],
    )


def same_period_suite():
    gxe = _gx()
    return suite_from_expectations(
        SAME_PERIOD.suite_name,
        [
            SAME_PERIOD_GAP.expect(gxe.ExpectColumnValuesToNotBeInSet(column="timeliness", value_set=["missing"])),
        ],
    )


def files_suite():
    gxe = _gx()
    return suite_from_expectations(
        FILES.suite_name,
        [
            ROW_CONSERVATION.expect(
                gxe.ExpectColumnValuesToBeBetween(column="rows_unaccounted", min_value=0, max_value=0)
            ),
        ],
    )


# a month is judged when its history is long enough; far enough from the expected, in allowed spreads
JUDGED = f"((basis=='same_month') | (basis_months>={OUTLIER_MIN_HISTORY}))"
FAR_ABOVE = f"(deviation_score>={OUTLIER_MIN_SCORE})"
FAR_BELOW = f"(deviation_score<=-{OUTLIER_MIN_SCORE})"


def dataset_months_suite():
    """Both ways: far above (an inflated or doubled file), far below with a file (a register cut to
    a fraction), and far below without one (missing_dataset: the version has no file of it)."""
    gxe = _gx()
    return suite_from_expectations(
        DATASET_MONTHS.suite_name,
        [
            OUTLIER.expect(
                gxe.ExpectColumnValuesToBeBetween(
                    column="ratio_to_expected",
                    max_value=OUTLIER_MIN_RATIO,
                    strict_max=True,
                    row_condition=f"{JUDGED} & {FAR_ABOVE}",
                    condition_parser="pandas",
                )
            ),
            OUTLIER.expect(
                gxe.ExpectColumnValuesToBeBetween(
                    column="ratio_to_expected",
                    min_value=1 / OUTLIER_MIN_RATIO,
                    strict_min=True,
                    row_condition=f"{JUDGED} & {FAR_BELOW} & (file_present==True)",
                    condition_parser="pandas",
                )
            ),
            MISSING_DATASET.expect(
                gxe.ExpectColumnValuesToBeBetween(
                    column="ratio_to_expected",
                    min_value=1 / OUTLIER_MIN_RATIO,
                    strict_min=True,
                    row_condition=f"{JUDGED} & {FAR_BELOW} & (file_present==False)",
                    condition_parser="pandas",
                )
            ),
        ],
    )


def indicators_suite():
    gxe = _gx()
    return suite_from_expectations(
        INDICATORS.suite_name,
        [
            INDICATORS_COMPUTABLE.expect(gxe.ExpectTableRowCountToBeBetween(min_value=1)),
            INDICATORS_COMPUTABLE.expect(gxe.ExpectColumnValuesToBeInSet(column="is_computable", value_set=[True])),
        ],
    )


def mart_columns_suite():
    gxe = _gx()
    return suite_from_expectations(
        MART_COLUMNS.suite_name,
        [
            NO_PERSONAL_DATA.expect(
                gxe.ExpectColumnValuesToNotBeInSet(column="column_name", value_set=list(PERSONAL_COLUMNS))
            ),
        ],
    )


def mart_values_suite(sources: list[str] | None = None):
    """The frame (source, value) holds every distinct text value of the marts ("schema.table.column").
    Without `sources`: one expectation over every value (the fast pass). With them: one
    expectation per column, to name the column(s) when the fast pass failed."""
    gxe = _gx()
    patterns = [CITIZEN_ID_PATTERN, FULL_NAME_PATTERN]
    if sources is None:
        return suite_from_expectations(
            MART_VALUES_SUITE,
            [
                NO_PERSONAL_DATA.expect(gxe.ExpectColumnValuesToNotMatchRegexList(column="value", regex_list=patterns)),
            ],
        )
    return suite_from_expectations(
        MART_VALUES_SUITE + "_by_column",
        [
            NO_PERSONAL_DATA.expect(
                gxe.ExpectColumnValuesToNotMatchRegexList(
                    column="value",
                    regex_list=patterns,
                    row_condition=f'source=="{s}"',
                    condition_parser="pandas",
                    meta={"source": s},
                )
            )
            for s in sources
        ],
    )


SUITES = {
    UNIT_MONTHS.name: unit_months_suite,
    SAME_PERIOD.name: same_period_suite,
    FILES.name: files_suite,
    DATASET_MONTHS.name: dataset_months_suite,
    INDICATORS.name: indicators_suite,
    MART_COLUMNS.name: mart_columns_suite,
}

# -- English messages (the report writers have a Vietnamese catalogue keyed by rule) -----

MESSAGES = {
    "completeness": "{unit_code} {unit_name_vi}: no accepted submission for {period}",
    "indicators_computable": "unit {unit_code}: indicator {item} cannot be computed for {period}",
    "row_conservation": "{unit_code} {period} {item}: rows in {rows_in} != {rows_loaded} loaded + "
    "{rows_quarantined} quarantined",
    "no_personal_data": "{item}: personal data in a mart",
    "late_submission": "{unit_code} {period}: first accepted version submitted after the deadline",
    "rejected_version": "{unit_code} {period}: {versions_rejected} version(s) rejected",
    "quarantine_share": "{unit_code} {period}: {rows_quarantined} row(s) quarantined ({share_pct} of the version "
    "in force)",
    "outlier": "{unit_code} {period} {item}: {rows_loaded} rows, {ratio}x the {expected} expected from {basis_text}",
    "missing_dataset": "{unit_code} {period} {item}: no file in the version in force, {expected} rows expected from "
    "{basis_text}",
    "same_period_gap": "{unit_code} {unit_name_vi}: no accepted submission for {period} (same period a year "
    "before): same-period values of {current_unit_code} are incomplete",
    "deferred_version": "{unit_code} {period}: version {item} could not be fetched yet (transient failure)",
    "gate_error": "{item}: the expectation could not be evaluated",
    "dbt_test_warning": "{item}: the dbt data test warned",
}


BASIS_TEXT = {"same_month": "the same month of {n} earlier year(s)", "recent_months": "the {n} months before"}


def message(rule: str, **fields) -> str:
    class _Blank(dict):
        def __missing__(self, key):
            return "?"

    if fields.get("quarantine_share") is not None:
        fields["share_pct"] = f"{100 * float(fields['quarantine_share']):.2f}%"
    if fields.get("ratio_to_expected") is not None:
        fields["ratio"] = f"{float(fields['ratio_to_expected']):.2f}"
    if fields.get("expected_rows") is not None:
        fields["expected"] = f"{float(fields['expected_rows']):.0f}"
    if fields.get("basis") is not None:
        fields["basis_text"] = BASIS_TEXT.get(fields["basis"], "{n} months").format(n=fields.get("basis_months"))
    return MESSAGES[rule].format_map(_Blank({k: ("" if v is None else v) for k, v in fields.items()}))
