"""Door gate: one Great Expectations suite per dataset, generated from the contract.

`build_suite("job_placements")` returns the suite `door__job_placements`. It is run by
`dolisa.quality.door_gate.validate_file` on the pandas DataFrame the parser
(`dolisa.parse`) makes of one landed file. That frame has, per contract column `c`:

    c          the parsed, typed value (None/NaT/<NA> when the cell is empty or did not parse)
    c__raw     the cell text as it came (None when the cell is empty or only spaces)

plus `source_row` (1-based record number in the file). See docs in
`dolisa.quality.door_gate` for the exact shape.

Every rule is written as a `Rule(rule, severity, reason, expectation)`; the severity
is visible right here where each rule is defined:

    FILE  rejects the whole version  (header, record count)
    ROW   quarantines the failing rows, with `reason`

Values that depend on the batch (the submission month, the declared row count) are
GX suite parameters (`{"$PARAMETER": name}`), so a suite is built once per dataset and
reused for every period; `suite_parameters()` computes their values for one file.
"""

from __future__ import annotations

import datetime as dt

import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column as Col

from ._rules import FILE, ROW, Rule, suite_from_rules

SUITE_PREFIX = "door__"

# Citizen ids: 12 digits (CCCD) or 9 digits (old CMND) -- contract §3.
CITIZEN_ID_REGEX = r"^[0-9]{12}$|^[0-9]{9}$"

# Suite parameter names (values from `suite_parameters`).
P_PERIOD_START = "period_start"  # first day of the submission month, ISO text
P_PERIOD_END = "period_end"  # last day of the submission month, ISO text
P_EXPECTED_ROWS = "expected_rows"  # rows the frame must have (declared rows, see suite_parameters)


FILE_KEY = "file_key"  # which file of a multi-file batch a row comes from


def p_born_after(years: int) -> str:
    """Parameter: a person born strictly after this date is younger than `years` on the
    last day of the month."""
    return f"born_after_{years}"


def _param(name: str) -> dict:
    return {"$PARAMETER": name}


def raw(column: str) -> str:
    return f"{column}__raw"


# --- rule kinds -------------------------------------------------------------------------


def header_has_contract_columns(columns: list[str]) -> Rule:
    return Rule(
        "header_has_contract_columns", FILE, "header: missing contract column(s)",
        gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False),
    )


def record_count_equals_declared() -> Rule:
    return Rule(
        "record_count_equals_declared", FILE, "rows: record count differs from the declared rows",
        gxe.ExpectTableRowCountToEqual(value=_param(P_EXPECTED_ROWS)),
    )


def required(c) -> Rule:
    return Rule("required", ROW, f"{c.name}: required",
                gxe.ExpectColumnValuesToNotBeNull(column=raw(c.name)), c.name)


_PARSE_REASON = {
    "date": "not a valid date",
    "integer": "not a whole number",
    "boolean": "not a boolean",
}


def _set_reason(c) -> str:
    if c.type == "sex":
        return f"{c.name}: not M/F (Nam/Nữ)"
    if c.type == "country":
        return f"{c.name}: not an ISO 3166 alpha-2 code"
    return f"{c.name}: unknown code"


def parses(c) -> Rule:
    """A cell that is there must have parsed: raw present => typed value not null."""
    reason = f"{c.name}: {_PARSE_REASON[c.type]}" if c.type in _PARSE_REASON else _set_reason(c)
    return Rule("parses", ROW, reason,
                gxe.ExpectColumnValuesToNotBeNull(column=c.name, row_condition=Col(raw(c.name)).is_not_null()),
                c.name)


def in_set(c) -> Rule:
    return Rule("in_set", ROW, _set_reason(c),
                gxe.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed_values)), c.name)


def in_range(c) -> Rule:
    if c.min is not None and c.max is not None:
        text = f"must be between {c.min} and {c.max}"
    elif c.min is not None:
        text = "must be > 0" if c.min == 1 else f"must be >= {c.min}"
    else:
        text = f"must be <= {c.max}"
    return Rule("in_range", ROW, f"{c.name}: {text}",
                gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min, max_value=c.max), c.name)


def citizen_id_format(c) -> Rule:
    return Rule("citizen_id_format", ROW, f"{c.name}: malformed",
                gxe.ExpectColumnValuesToMatchRegex(column=c.name, regex=CITIZEN_ID_REGEX), c.name)


def event_date_in_month(c) -> Rule:
    return Rule("event_date_in_month", ROW, f"{c.name}: outside the submission month",
                gxe.ExpectColumnValuesToBeBetween(
                    column=c.name, min_value=_param(P_PERIOD_START), max_value=_param(P_PERIOD_END)),
                c.name)


def max_age(c) -> Rule:
    n = c.max_age_years
    return Rule("max_age", ROW, f"{c.name}: child aged {n} or more",
                gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=_param(p_born_after(n)),
                                                  strict_min=True),
                c.name)


def required_when(c) -> list[Rule]:
    """`required_when: {k: v}`: required when k = v, empty otherwise. A row whose k is
    itself missing gets only k's own reason (neither branch applies)."""
    out = []
    for k, v in c.required_when.items():
        out.append(Rule("required_when", ROW, f"{c.name}: required when {k} = {v}",
                        gxe.ExpectColumnValuesToNotBeNull(column=raw(c.name), row_condition=Col(k) == v),
                        c.name))
        out.append(Rule("empty_unless", ROW, f"{c.name}: must be empty unless {k} = {v}",
                        gxe.ExpectColumnValuesToBeNull(
                            column=raw(c.name), row_condition=(Col(k) != v) & Col(k).is_not_null()),
                        c.name))
    return out


def record_id_unique(c) -> Rule:
    """The parser collapses rows that are identical in every contract column, so ids that
    still repeat belong to rows that differ: all of them fail."""
    # Ids are unique within one file (one unit and month); a batch may hold several
    # files, told apart by FILE_KEY (a single-file frame gets a constant one).
    return Rule("record_id_unique", ROW, f"{c.name}: duplicate record id (rows differ)",
                gxe.ExpectCompoundColumnsToBeUnique(column_list=[FILE_KEY, c.name]), c.name)


# --- the suites -------------------------------------------------------------------------


def column_rules(ds, c) -> list[Rule]:
    """Every rule of contract column `c` of dataset `ds`, from its description."""
    rules: list[Rule] = []
    if c.required_when:
        rules += required_when(c)
    elif not c.optional:
        rules.append(required(c))
    if c.type in ("date", "integer", "boolean", "sex", "code", "country"):
        rules.append(parses(c))
    if c.allowed_values:
        rules.append(in_set(c))
    if c.type == "integer" and (c.min is not None or c.max is not None):
        rules.append(in_range(c))
    if c.type == "citizen_id":
        rules.append(citizen_id_format(c))
    if c.event_date:
        rules.append(event_date_in_month(c))
    if c.max_age_years:
        rules.append(max_age(c))
    if c.name == ds.record_id:
        rules.append(record_id_unique(c))
    return rules


def rules_for(ds) -> list[Rule]:
    rules = [header_has_contract_columns(ds.column_names), record_count_equals_declared()]
    for c in ds.columns:
        rules += column_rules(ds, c)
    return rules


def suite_name(dataset: str) -> str:
    return SUITE_PREFIX + dataset


def build_suite(dataset: str):
    """The ExpectationSuite `door__<dataset>` (not yet added to any context)."""
    from dolisa import contract

    ds = contract.dataset(dataset)
    return suite_from_rules(
        suite_name(dataset),
        rules_for(ds),
        meta={"dataset": dataset, "gate": "door", "contract_version": 1, "record_id": ds.record_id},
    )


def build_all_suites() -> dict:
    from dolisa import contract

    return {name: build_suite(name) for name in contract.datasets()}


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February in a year that has none
        return d.replace(year=d.year - years, day=28)


def _ts(d: dt.date) -> str:
    return dt.datetime(d.year, d.month, d.day).isoformat()


def suite_parameters(dataset: str, period: str, expected_rows: int) -> dict:
    """Values of the suite parameters for one file of `dataset` for month `period`.

    Dates are ISO date-*time* text ("2021-06-01T00:00:00"): GX's `Comparable` field type
    is Union[float, dict, date, datetime], so pydantic turns a plain "2021-06-01" (or a
    `datetime.date`) into a `date`, which pandas refuses to compare with a datetime64
    column; a date-time string becomes a `datetime`, which compares. The gate hands GX
    date columns as datetime64[ns] (midnight), so the bounds are inclusive days."""
    from dolisa import contract

    start, end = contract.month_start(period), contract.month_end(period)
    params = {P_PERIOD_START: _ts(start), P_PERIOD_END: _ts(end),
              P_EXPECTED_ROWS: int(expected_rows)}
    for c in contract.dataset(dataset).columns:
        if c.max_age_years:
            # younger than N on `end`  <=>  N-th birthday after `end`  <=>  born after end - N years
            params[p_born_after(c.max_age_years)] = _ts(_years_before(end, c.max_age_years))
    return params
