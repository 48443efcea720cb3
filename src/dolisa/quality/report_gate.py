"""The report gate: run before any half-year report is built (indicators.md, "The quality gate").

The rules and their severity are declared in `expectations/report_gate.py` (reviewable
code beside the door suites); this module holds the SQL check of each rule:

- ``blocking`` rules stop the report: no indicators.csv is written and the task fails
  with the reasons (unless an operator explicitly allows an incomplete report, which
  waives only the rules declared `waivable` and prints the incompleteness on the report);
- ``warning`` rules are reported with the report and never block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb

from dolisa import contract

from dolisa.quality import load_expectations

_declared = load_expectations("report_gate")
BLOCKING, WARNING = _declared.BLOCKING, _declared.WARNING
OUTLIER_FACTOR = _declared.OUTLIER_FACTOR
OUTLIER_MIN_HISTORY = _declared.OUTLIER_MIN_HISTORY
WAIVABLE = {r.name for r in _declared.RULES if r.waivable}
PERSONAL_COLUMNS = ("full_name", "citizen_id", "borrower_citizen_id")
# The version in force of each unit and month: the highest accepted one (the staging models' rule).
IN_FORCE_SUBMISSIONS = """select submission_id, unit_code, period from meta.submissions where status = 'accepted'
    qualify row_number() over (partition by unit_code, period order by version desc) = 1"""
MART_SCHEMAS = ("marts", "reports")


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    unit_code: str | None = None
    period: str | None = None


@dataclass
class GateResult:
    report_period: str
    findings: list[Finding] = field(default_factory=list)
    allow_incomplete: bool = False

    @property
    def blocking(self) -> list[Finding]:
        waived = WAIVABLE if self.allow_incomplete else set()
        return [f for f in self.findings if f.severity == BLOCKING and f.rule not in waived]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCKING and f not in self.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def as_dict(self) -> dict:
        return {
            "report_period": self.report_period,
            "passed": self.passed,
            "allow_incomplete": self.allow_incomplete,
            "blocking": [f.__dict__ for f in self.blocking],
            "waived": [f.__dict__ for f in self.waived],
            "warnings": [f.__dict__ for f in self.warnings],
        }


class ReportGateBlocked(RuntimeError):
    def __init__(self, result: GateResult):
        self.result = result
        lines = [f"report gate blocked the {result.report_period} report ({len(result.blocking)} blocking finding(s)):"]
        lines += [f"  - [{f.rule}] {f.message}" for f in result.blocking]
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------


def check_completeness(con: duckdb.DuckDBPyConnection, report_period: str) -> list[Finding]:
    """Every district valid in each month of the half has an accepted submission for it."""
    out = []
    accepted = {
        (u, p)
        for u, p in con.execute(
            "select distinct unit_code, period from meta.submissions where status = 'accepted'"
        ).fetchall()
    }
    for period in contract.half_year_periods(report_period):
        for unit in contract.district_units(period):
            if (unit.unit_code, period) not in accepted:
                out.append(Finding("completeness", BLOCKING,
                                   f"{unit.unit_code} {unit.name_vi}: no accepted submission for {period}",
                                   unit.unit_code, period))
    return out


def check_indicators_present(con: duckdb.DuckDBPyConnection, report_period: str) -> list[Finding]:
    """Every catalogue indicator has a value for the province and every current district."""
    last = contract.half_year_periods(report_period)[-1]
    units = [contract.PROVINCE_CODE] + [u.unit_code for u in contract.district_units(last)]
    con.execute("create or replace temp table _gate_units (unit_code varchar)")
    con.executemany("insert into _gate_units values (?)", [(u,) for u in units])
    rows = con.execute(
        """
        select c.indicator_code, u.unit_code
        from (select distinct indicator_code from reports.rpt_indicators) c
        cross join _gate_units u
        left join reports.rpt_indicators r
            on r.indicator_code = c.indicator_code and r.unit_code = u.unit_code and r.report_period = ?
        where r.value is null and not coalesce(r.kind = 'ratio' and r.denominator = 0, false)
        order by 1, 2
        """,
        [report_period],
    ).fetchall()
    n_ind = con.execute("select count(distinct indicator_code) from reports.rpt_indicators").fetchall()[0][0]
    out = [Finding("indicators_present", BLOCKING, "the report model has no indicators at all")] if n_ind == 0 else []
    by_unit: dict[str, list[str]] = {}
    for code, unit in rows:
        by_unit.setdefault(unit, []).append(code)
    for unit, codes in by_unit.items():
        more = f" and {len(codes) - 5} more" if len(codes) > 5 else ""
        out.append(Finding("indicators_present", BLOCKING,
                           f"unit {unit}: no value for {len(codes)} indicator(s): {', '.join(codes[:5])}{more}", unit))
    return out


def check_no_personal_data(con: duckdb.DuckDBPyConnection, report_period: str) -> list[Finding]:
    """No mart column is named like personal data, and no mart text value is a raw citizen id or name."""
    out = []
    cols = con.execute(
        f"""select table_schema, table_name, column_name, data_type from information_schema.columns
            where table_schema in {tuple(MART_SCHEMAS)}"""
    ).fetchall()
    for schema, table, column, _ in cols:
        if column.lower() in PERSONAL_COLUMNS:
            out.append(Finding("no_personal_data", BLOCKING, f"{schema}.{table}.{column} is personal data"))
    sources = []
    for ds in contract.datasets().values():
        for c in ds.columns:
            if c.personal:
                sources.append(f"select {c.name} as v from raw.{ds.name} where {c.name} is not null")
    if not sources:
        return out
    con.execute("create or replace temp table _personal_values as " + " union ".join(sources))
    for schema, table, column, dtype in cols:
        if dtype != "VARCHAR":
            continue
        n = con.execute(
            f'select count(*) from {schema}."{table}" t semi join _personal_values p on t."{column}" = p.v'
        ).fetchall()[0][0]
        if n:
            out.append(Finding("no_personal_data", BLOCKING,
                               f"{schema}.{table}.{column} holds {n} raw citizen id / name value(s)"))
    con.execute("drop table if exists _personal_values")
    return out


def check_late(con: duckdb.DuckDBPyConnection, report_period: str) -> list[Finding]:
    months = contract.half_year_periods(report_period)
    rows = con.execute(
        f"""
        with first_accepted as (
            select unit_code, period, min(submitted_at) as first_at, bool_and(is_late) as late
            from meta.submissions where status = 'accepted' and period in {tuple(months)}
            group by 1, 2
        )
        select unit_code, period, strftime(first_at at time zone 'Asia/Ho_Chi_Minh', '%Y-%m-%d %H:%M')
        from first_accepted where late order by 1, 2
        """
    ).fetchall()
    return [Finding("late_submission", WARNING, f"{u} {p}: first accepted version submitted {t} (after the 5th)", u, p)
            for u, p, t in rows]


def check_quarantine(con: duckdb.DuckDBPyConnection, report_period: str) -> list[Finding]:
    months = contract.half_year_periods(report_period)
    rows = con.execute(
        f"""
        select q.unit_code, q.period, count(*) from meta.quarantined_rows q
        join ({IN_FORCE_SUBMISSIONS}) f using (submission_id)
        where q.period in {tuple(months)}
        group by 1, 2 order by 1, 2
        """
    ).fetchall()
    out = [Finding("quarantined_rows", WARNING, f"{u} {p}: {n} row(s) quarantined", u, p) for u, p, n in rows]
    rej = con.execute(
        f"""select unit_code, period, submission_id, reason from meta.submissions
            where status = 'rejected' and period in {tuple(months)} order by 1, 2, 3"""
    ).fetchall()
    out += [Finding("rejected_version", WARNING, f"{u} {p}: version {s} rejected: {r}", u, p) for u, p, s, r in rej]
    return out


def check_outliers(con: duckdb.DuckDBPyConnection, report_period: str) -> list[Finding]:
    """Rows per dataset, unit and month against the median of the unit's previous 12 months."""
    months = contract.half_year_periods(report_period)
    first_hist = contract.add_months(months[0], -12)
    parts = []
    for ds in contract.datasets().values():
        parts.append(
            f"""select '{ds.name}' as dataset, r.unit_code, r.period, count(*) as n
                from raw.{ds.name} r join in_force f using (submission_id) group by all"""
        )
    rows = con.execute(
        f"""
        with in_force as (
            select submission_id from ({IN_FORCE_SUBMISSIONS})
            where period >= '{first_hist}' and period <= '{months[-1]}'
        ),
        counts as ({" union all ".join(parts)}),
        scored as (  -- each month of the half against the same unit's previous 12 months
            select c.dataset, c.unit_code, c.period, c.n, median(h.n) as med, count(h.n) as n_hist
            from counts c
            left join counts h
                on h.dataset = c.dataset and h.unit_code = c.unit_code and h.period < c.period
                and h.period >= strftime(strptime(c.period, '%Y-%m') - interval 12 month, '%Y-%m')
            where c.period in {tuple(months)}
            group by c.dataset, c.unit_code, c.period, c.n
        )
        select dataset, unit_code, period, n, med from scored
        where n_hist >= {OUTLIER_MIN_HISTORY} and med > 0 and n > {OUTLIER_FACTOR} * med
        order by 2, 3, 1
        """
    ).fetchall()
    return [Finding("outlier", WARNING,
                    f"{u} {p} {d}: {n} rows, more than {OUTLIER_FACTOR}x the median ({m:g}) of its previous 12 months", u, p)
            for d, u, p, n, m in rows]


CHECKS: dict[str, Callable[[duckdb.DuckDBPyConnection, str], list[Finding]]] = {
    "completeness": check_completeness,
    "indicators_present": check_indicators_present,
    "no_personal_data": check_no_personal_data,
    "late_submission": check_late,
    "quarantined_rows": check_quarantine,  # also yields rejected_version findings
    "outlier": check_outliers,
}
SEVERITY = {r.name: r.severity for r in _declared.RULES}


def run_report_gate(con: duckdb.DuckDBPyConnection, report_period: str, *, allow_incomplete: bool = False) -> GateResult:
    contract.half_year_periods(report_period)
    result = GateResult(report_period, allow_incomplete=allow_incomplete)
    for check in CHECKS.values():
        for f in check(con, report_period):
            f.severity = SEVERITY[f.rule]  # expectations/report_gate.py is the one source of severity
            result.findings.append(f)
    return result
