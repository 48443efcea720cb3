"""The run conf of `district_submissions_nightly` (contract §5, §6), declared once.

The DAG makes its Airflow Params (the trigger form's fields, with their types, patterns and
descriptions) from `RUN_PARAMS`; `dolisa.pipeline.plan_run` checks a conf against the same
keys and names the key of anything malformed. No imports: the DAG file reads this at parse time.
"""

from __future__ import annotations

from typing import Any

RUN_PARAMS: dict[str, dict[str, Any]] = {
    "periods": {
        "default": None, "type": ["null", "array"],
        "items": {"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"},
        "description": "Months to pull, YYYY-MM (default: the three months before the run's month; [] pulls nothing).",
    },
    "report_period": {
        "default": None, "type": ["null", "string"], "pattern": r"^[0-9]{4}-H[12]$",
        "description": "Half-year to report after the load, YYYY-H1 or YYYY-H2.",
    },
    "as_of": {
        "default": None, "type": ["null", "string"], "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "With report_period: also the report as it stood on this day (YYYY-MM-DD) and revisions.csv.",
    },
    "allow_incomplete": {
        "default": False, "type": "boolean",
        "description": "Publish the report despite missing units or months; the report says so on its face.",
    },
}


