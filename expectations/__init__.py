"""Great Expectations suites of the warehouse, defined in code and reviewed like code.

This folder is a small package that `dolisa.quality` loads *by path* (it is not
installed with `dolisa`), under the module name `dolisa_expectations`, so that
its name cannot clash with `great_expectations.expectations` or any other
`expectations` on `sys.path`. The folder is found at `<project root>/expectations`,
or at `$DOLISA_EXPECTATIONS_DIR` when that is set (see `dolisa.quality.load_expectations`).

Modules:
    _rules.py        the pattern every gate rule uses: a `GateRule` (name, severity,
                     waivable) that stamps its GX expectations' `meta`.
    report_gate.py   the report gate: its rules, the dbt models it reads (one batch per
                     model and half-year) and one suite per batch.

There is no door suite: at the door the vectorised SQL of `dolisa.parse`, generated
from the contract description, is the one engine that decides (issue 12).
"""

from ._rules import BLOCKING, WARNING, GateRule, rule_of, suite_from_expectations  # noqa: F401
