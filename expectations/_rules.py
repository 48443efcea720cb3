"""The shape of every gate rule: a name, a severity, and the GX expectations that check it.

Each expectation built through `GateRule.expect` carries in its `meta`:

    rule       the rule's stable machine name (e.g. "completeness"); the Vietnamese
               message catalogue of the report writers is keyed by it
    severity   "blocking"  a failure stops the report (no rpt_ tables, no report files)
               "warning"   reported with the report, never blocks
    waivable   whether the run-conf override `allow_incomplete` may waive it

GX 1.x has its own `severity` field (critical / warning / info); it is set from ours
(blocking -> critical, warning -> warning), so Data Docs shows the difference too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BLOCKING, WARNING = "blocking", "warning"
_GX_SEVERITY = {BLOCKING: "critical", WARNING: "warning"}


@dataclass(frozen=True)
class GateRule:
    name: str
    severity: str  # BLOCKING | WARNING
    description: str
    waivable: bool = False

    def __post_init__(self) -> None:
        if self.severity not in _GX_SEVERITY:
            raise ValueError(f"{self.name}: severity must be {BLOCKING!r} or {WARNING!r}, got {self.severity!r}")

    def expect(self, expectation: Any) -> Any:
        """Stamp a GX expectation (unbound, public API) as checking this rule."""
        expectation.meta = {
            **(expectation.meta or {}),
            "rule": self.name,
            "severity": self.severity,
            "waivable": self.waivable,
        }
        expectation.severity = _GX_SEVERITY[self.severity]
        return expectation


def suite_from_expectations(name: str, expectations: list[Any], *, meta: dict | None = None):
    """An ExpectationSuite named `name` holding `expectations`, in the order given."""
    import great_expectations as gx

    # Passed to the constructor: `suite.add_expectation` needs an active Data Context in
    # GX 1.x (it checks whether the suite was saved), building from a list does not.
    return gx.ExpectationSuite(name=name, expectations=expectations, meta=meta or {})


def rule_of(expectation_config_or_result: Any) -> dict:
    """`{"rule", "severity", "waivable"}` of an expectation, its configuration, or a result."""
    obj = expectation_config_or_result
    if isinstance(obj, dict):
        meta = (obj.get("expectation_config") or obj).get("meta") or {}
    else:
        cfg = getattr(obj, "expectation_config", None) or obj
        meta = getattr(cfg, "meta", None) or {}
    return {k: meta.get(k) for k in ("rule", "severity", "waivable")}
