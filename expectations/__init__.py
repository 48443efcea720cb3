"""Great Expectations suites of the warehouse, defined in code and reviewed like code.

This folder is a small package that `dolisa.quality` loads *by path* (it is not
installed with `dolisa`), under the module name `dolisa_expectations`, so that
its name cannot clash with `great_expectations.expectations` or any other
`expectations` on `sys.path`. The folder is found at `<project root>/expectations`,
or at `$DOLISA_EXPECTATIONS_DIR` when that is set (see `dolisa.quality.load_expectations`).

Modules:
    _rules.py      the pattern every suite uses: a `Rule` (name, severity, reason, GX
                   expectation) and the helpers that stamp that into `meta`.
    door_gate.py   one suite per dataset, `door__<dataset>`, generated from the contract
                   description (`dolisa.contract`, i.e. datasets.yaml).

Other gates (the report gate) add a module beside these that builds its suites with
the same `Rule` / `suite_from_rules` pattern.
"""

from ._rules import FILE, ROW, Rule, rule_of, suite_from_rules  # noqa: F401
