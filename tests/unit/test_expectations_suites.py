"""The door suites are generated for every dataset and every contract column has its rules."""

from __future__ import annotations

import json

import pytest

from dolisa import contract
from dolisa.quality import expectations_dir, load_expectations

door = load_expectations("door_gate")
ALL = list(contract.datasets())


def _rules(dataset):
    return [e.meta for e in door.build_suite(dataset).expectations]


def test_one_suite_per_dataset():
    suites = door.build_all_suites()
    assert len(ALL) == 11
    assert sorted(suites) == sorted(ALL)
    for name, s in suites.items():
        assert s.name == f"door__{name}"
        json.dumps(s.to_json_dict())  # reviewable / storable as JSON


@pytest.mark.parametrize("dataset", ALL)
def test_every_expectation_says_rule_reason_severity(dataset):
    for e in door.build_suite(dataset).expectations:
        assert e.meta["rule"] and e.meta["reason"]
        assert e.meta["severity"] in ("file", "row")
        assert e.severity == ("critical" if e.meta["severity"] == "file" else "warning")


@pytest.mark.parametrize("dataset", ALL)
def test_every_contract_column_has_its_rules(dataset):
    ds = contract.dataset(dataset)
    metas = _rules(dataset)
    by_col: dict[str, set[str]] = {}
    for m in metas:
        if m.get("column"):
            by_col.setdefault(m["column"], set()).add(m["rule"])
    file_rules = {m["rule"] for m in metas if m["severity"] == "file"}
    assert file_rules == {"header_has_contract_columns", "record_count_equals_declared"}
    for c in ds.columns:
        rules = by_col.get(c.name, set())
        if c.required_when:
            assert {"required_when", "empty_unless"} <= rules and "required" not in rules
        elif c.optional:
            assert "required" not in rules
        else:
            assert "required" in rules, c.name
        if c.type in ("date", "integer", "boolean", "sex", "code", "country"):
            assert "parses" in rules, c.name
        if c.allowed_values:
            assert "in_set" in rules, c.name
        if c.type == "integer":
            assert "in_range" in rules, c.name
        if c.type == "citizen_id":
            assert "citizen_id_format" in rules, c.name
        if c.event_date:
            assert "event_date_in_month" in rules, c.name
        if c.max_age_years:
            assert "max_age" in rules, c.name
        assert ("record_id_unique" in rules) == (c.name == ds.record_id), c.name
        if c.type == "text" and c.optional:
            continue  # free optional text: nothing to check
        assert rules, f"{dataset}.{c.name} has no rule"


def test_suite_parameters_per_period():
    p = door.suite_parameters("child_protection_register", "2020-02", 7)
    assert p["period_start"] == "2020-02-01T00:00:00"
    assert p["period_end"] == "2020-02-29T00:00:00"
    assert p["born_after_16"] == "2004-02-29T00:00:00"  # 16th birthday on 29 Feb 2020 => aged 16
    assert p["expected_rows"] == 7


def test_expectations_dir_is_overridable(monkeypatch, tmp_path):
    assert (expectations_dir() / "door_gate.py").is_file()
    monkeypatch.setenv("DOLISA_EXPECTATIONS_DIR", str(tmp_path))
    assert expectations_dir() == tmp_path.resolve()
