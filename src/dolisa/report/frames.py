"""The frames the report writers take, read from the built marts and ``rpt_`` models.

One reader for every report: the current one (``dolisa.pipeline.gate`` and ``write_report``)
and the as-of one (``dolisa.reissue``, over its scratch warehouse).
"""

from __future__ import annotations

from dolisa import contract

INDICATOR_FRAME_COLUMNS = [
    "report_period",
    "indicator_code",
    "unit_code",
    "value",
    "plan_value",
    "pct_of_plan",
    "same_period_value",
    "pct_of_same_period",
    "sort_order",
    "area",
    "label_vi",
    "unit_vi",
    "kind",
    "has_same_period_basis",
    "unit_valid_from",
]


def report_frames(con, report_period: str):
    """(indicators, units, quality, reasons): the DataFrames the report writers take, read from the marts."""
    indicators = con.execute(
        f"select {', '.join(INDICATOR_FRAME_COLUMNS)} from reports.rpt_indicators where report_period = ? "
        "order by sort_order, unit_code",
        [report_period],
    ).df()
    units, quality, reasons = quality_frames(con, report_period)
    return indicators, units, quality, reasons


def quality_frames(con, report_period: str):
    """(units, quality, reasons): units, data quality per expected unit-month and quarantine
    reasons, from the marts."""
    months = contract.half_year_periods(report_period)
    # the units of the report are defined once, in dbt (dim_report_units: valid on the half's
    # last day); the province first
    units = con.execute(
        """select unit_code, name_vi, cast(null as varchar) as former_district_code,
                  cast(null as varchar) as former_district_name_vi
           from reference.admin_units where unit_type = 'province'
           union all
           select unit_code, unit_name_vi, former_district_code, former_district_name_vi
           from marts.dim_report_units where report_period = ?""",
        [report_period],
    ).df()
    # expected unit-months (fct_expected_submissions), so a month nobody submitted still shows as missing
    quality = con.execute(
        """select unit_code, unit_name_vi as name_vi, period, timeliness as status, versions_received,
                  rows_loaded, rows_quarantined
           from marts.fct_unit_month_completeness where half_year = ? order by period, unit_code""",
        [report_period],
    ).df()
    for c in ("versions_received", "rows_loaded", "rows_quarantined"):
        quality[c] = quality[c].fillna(0).astype("int64")
    reasons = con.execute(
        f"""select unit_code, period, dataset, reason, rows from marts.fct_quarantine_reasons
            where period in {tuple(months)} and is_in_force order by unit_code, period, dataset, rows desc"""
    ).df()
    return units, quality, reasons
