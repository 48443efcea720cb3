"""The run conf of `district_submissions_nightly` (contract §5, §6), declared once.

The DAG makes its Airflow Params (the trigger form's fields, with their types, patterns and
descriptions) from `RUN_PARAMS`; `dolisa.pipeline.plan_run` checks a conf against the same
keys and names the key of anything malformed; `parse_as_of` reads the `as_of` option (the run
conf's and the CLI's `--as-of`). Nothing but the standard library: the DAG file reads this at
parse time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

RUN_PARAMS: dict[str, dict[str, Any]] = {
    "periods": {
        "default": None,
        "type": ["null", "array"],
        "items": {"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"},
        "description": "Months to pull, YYYY-MM (default: the three months before the run's month; [] pulls nothing).",
    },
    "report_period": {
        "default": None,
        "type": ["null", "string"],
        "pattern": r"^[0-9]{4}-H[12]$",
        "description": "Half-year to report after the load, YYYY-H1 or YYYY-H2.",
    },
    "as_of": {
        "default": None,
        "type": ["null", "string"],
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "With report_period: also the report as it stood on this day (YYYY-MM-DD) and revisions.csv.",
    },
    "allow_incomplete": {
        "default": False,
        "type": "boolean",
        "description": "Publish the report despite missing units or months; the report says so on its face.",
    },
}


def parse_as_of(value: str | dt.date) -> dt.date:
    """`YYYY-MM-DD` (run conf / CLI) → date; anything else is an error."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"as_of must be a date YYYY-MM-DD, not a timestamp: {value!r}")
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"as_of must be a date YYYY-MM-DD: {value!r}") from e
    if day.isoformat() != text:
        raise ValueError(f"as_of must be a date YYYY-MM-DD: {value!r}")
    return day
