"""The shape of every rule of every suite: a GX expectation plus three reviewable facts.

Each expectation built through `Rule` carries in its `meta`:

    rule       machine name of the rule kind (e.g. "in_set", "event_date_in_month")
    reason     the short English text written to the quarantine / rejection ledger
               (e.g. "training_level: unknown code")
    severity   "file"  a failure rejects the whole submitted version
               "row"   a failure quarantines the failing rows (unexpected_index_list)

GX 1.x has its own `severity` field (critical / warning / info); it is set from
ours (file -> critical, row -> warning) so Data Docs shows the difference too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FILE = "file"
ROW = "row"
_GX_SEVERITY = {FILE: "critical", ROW: "warning"}


@dataclass(frozen=True)
class Rule:
    """One contract rule: which rule kind, how bad, what to write, and the GX check."""

    rule: str
    severity: str  # FILE | ROW
    reason: str
    expectation: Any  # a great_expectations.expectations.Expectation (unbound)
    column: str | None = None  # the contract column the rule is about (None: table-level)

    def __post_init__(self) -> None:
        if self.severity not in _GX_SEVERITY:
            raise ValueError(f"{self.rule}: severity must be 'file' or 'row', got {self.severity!r}")

    def to_expectation(self):
        exp = self.expectation
        exp.meta = {
            **(exp.meta or {}),
            "rule": self.rule,
            "reason": self.reason,
            "severity": self.severity,
            **({"column": self.column} if self.column else {}),
        }
        exp.severity = _GX_SEVERITY[self.severity]
        return exp


def suite_from_rules(name: str, rules: list[Rule], *, meta: dict | None = None):
    """An ExpectationSuite named `name` holding `rules`, in the order given."""
    import great_expectations as gx

    # Passed to the constructor: `suite.add_expectation` needs an active Data Context in
    # GX 1.x (it checks whether the suite was saved), building from a list does not.
    return gx.ExpectationSuite(name=name, expectations=[r.to_expectation() for r in rules], meta=meta or {})


def rule_of(expectation_config_or_result: Any) -> dict:
    """`{"rule", "reason", "severity", "column"}` of an expectation, its configuration,
    or a (JSON) validation result."""
    obj = expectation_config_or_result
    if isinstance(obj, dict):
        meta = (obj.get("expectation_config") or obj).get("meta") or {}
    else:
        cfg = getattr(obj, "expectation_config", None) or obj
        meta = getattr(cfg, "meta", None) or {}
    return {k: meta.get(k) for k in ("rule", "reason", "severity", "column")}
