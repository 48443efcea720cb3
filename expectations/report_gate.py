"""Report gate: the rules run before any half-year report is built, with their severity.

indicators.md, "The quality gate before a report". Each rule is declared here, once,
with its severity; `dolisa.quality.report_gate` holds the SQL check of each rule (the
checks run on the DuckDB warehouse; GX's SQL data source on DuckDB is broken in 1.24.1).

    BLOCKING  the report is not built: no indicators.csv, the Airflow task fails
    WARNING   reported with the report (warnings sheet, quality_gate.json), never blocks

`waivable` rules are the only ones an operator may waive with the run-conf switch
`allow_incomplete` (the report then says BÁO CÁO CHƯA ĐẦY ĐỦ on its face).
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCKING, WARNING = "blocking", "warning"


@dataclass(frozen=True)
class GateRule:
    name: str
    severity: str
    description: str
    waivable: bool = False


RULES: tuple[GateRule, ...] = (
    GateRule("completeness", BLOCKING,
             "every district valid in each month of the half-year has an accepted submission", waivable=True),
    GateRule("indicators_present", BLOCKING,
             "every catalogue indicator has a value for the province and every current district "
             "(a ratio whose denominator is 0 may be empty)", waivable=True),
    GateRule("no_personal_data", BLOCKING,
             "no mart or report column is named full_name / citizen_id / borrower_citizen_id, "
             "and no text value in them equals a raw citizen id or name"),
    GateRule("late_submission", WARNING,
             "the first accepted version of a unit and month came after the 5th of the next month"),
    GateRule("quarantined_rows", WARNING, "rows of the in-force versions were quarantined"),
    GateRule("rejected_version", WARNING, "a submitted version was rejected (an earlier one may be in force)"),
    GateRule("outlier", WARNING,
             "a month's rows for a dataset exceed 3 x the median of the district's previous 12 months"),
)

OUTLIER_FACTOR = 3
OUTLIER_MIN_HISTORY = 3  # months of history before a month can be called an outlier
