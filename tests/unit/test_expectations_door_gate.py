"""The door gate, rule kind by rule kind: a passing and a failing batch with its reason.

Frames are in the parser's output shape (`expectations/samples.py` makes valid ones;
each test breaks one cell, typed value and raw text together as the parser would).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from dolisa import contract
from dolisa.quality import door_gate, load_expectations

samples = load_expectations("samples")
P = "2021-06"


def frame(dataset, n=3, period=P):
    return samples.valid_frame(dataset, period, n)


def put(df, i, col, typed, raw="__same__"):
    """Set row i's cell of `col`: typed value and raw text (default: str(typed))."""
    if raw == "__same__":
        raw = None if typed is None else str(typed)
    if pd.api.types.is_datetime64_any_dtype(df[col].dtype):
        typed = pd.NaT if typed is None else pd.Timestamp(typed)
    df.loc[i, col] = typed if typed is not None else None
    df.loc[i, f"{col}__raw"] = raw
    return df


def gate(dataset, df, *, period=P, header=None, declared=None, **kw):
    header = contract.dataset(dataset).column_names if header is None else header
    declared = len(df) if declared is None else declared
    return door_gate.validate_file(dataset, period, df, header, declared, batch_name=f"t/{dataset}", **kw)


def assert_clean(r):
    assert r.file_ok and not r.file_reasons and not r.row_reasons and r.success, (
        r.file_reasons, r.row_reasons, r.errors)


def assert_row(r, source_row, reason):
    assert r.file_ok, r.file_reasons
    assert r.row_reasons == {source_row: [reason]}, r.row_reasons
    assert not r.success and r.n_failed == 1


@pytest.mark.parametrize("dataset", list(contract.datasets()))
def test_valid_frames_pass(dataset):
    r = gate(dataset, frame(dataset))
    assert_clean(r)
    assert r.n_expectations == len(door_gate.suite(dataset).expectations)
    json.dumps(r.result_json)


def test_required():
    df = put(frame("vocational_enrolments"), 1, "full_name", None)
    assert_row(gate("vocational_enrolments", df), 2, "full_name: required")
    # optional columns may be empty
    df = put(frame("vocational_enrolments"), 1, "occupation", None)
    df = put(df, 2, "is_rural_worker", None)
    assert_clean(gate("vocational_enrolments", df))


@pytest.mark.parametrize("dataset,col,raw,reason", [
    ("vocational_enrolments", "birth_date", "31/02/1990", "birth_date: not a valid date"),
    ("rice_relief", "rice_kg", "ten", "rice_kg: not a whole number"),
    ("child_protection_register", "is_receiving_support", "maybe", "is_receiving_support: not a boolean"),
    ("job_placements", "sex", "Khác", "sex: not M/F (Nam/Nữ)"),
])
def test_parses(dataset, col, raw, reason):
    df = put(frame(dataset), 0, col, None, raw)
    assert_row(gate(dataset, df), 1, reason)


@pytest.mark.parametrize("dataset,col,bad,good,reason", [
    ("vocational_enrolments", "training_level", "PHD", "DUOI_3_THANG", "training_level: unknown code"),
    ("vocational_enrolments", "sex", "X", "F", "sex: not M/F (Nam/Nữ)"),
    ("overseas_departures", "country_code", "XX", "KR", "country_code: not an ISO 3166 alpha-2 code"),
])
def test_in_set(dataset, col, bad, good, reason):
    assert_clean(gate(dataset, put(frame(dataset), 2, col, good)))
    assert_row(gate(dataset, put(frame(dataset), 2, col, bad)), 3, reason)


@pytest.mark.parametrize("dataset,col,bad,good,reason", [
    ("employment_fund_loans", "amount_vnd", 0, 1, "amount_vnd: must be > 0"),
    ("unemployment_benefit_decisions", "benefit_months", 13, 12, "benefit_months: must be between 1 and 12"),
    ("unemployment_benefit_decisions", "benefit_months", 0, 1, "benefit_months: must be between 1 and 12"),
    ("meritorious_benefits", "amount_vnd", -1, 0, "amount_vnd: must be >= 0"),
])
def test_in_range(dataset, col, bad, good, reason):
    assert_clean(gate(dataset, put(frame(dataset), 0, col, good)))
    assert_row(gate(dataset, put(frame(dataset), 0, col, bad)), 1, reason)


@pytest.mark.parametrize("value,ok", [
    ("012345678901", True), ("123456789", True), ("12345678", False),
    ("1234567890123", False), ("01234567890A", False),
])
def test_citizen_id_format(value, ok):
    r = gate("employment_fund_loans", put(frame("employment_fund_loans"), 1, "borrower_citizen_id", value))
    if ok:
        assert_clean(r)
    else:
        assert_row(r, 2, "borrower_citizen_id: malformed")


@pytest.mark.parametrize("day,ok", [
    ("2021-06-01", True), ("2021-06-30", True), ("2021-05-31", False), ("2021-07-01", False),
])
def test_event_date_in_month(day, ok):
    r = gate("vocational_enrolments", put(frame("vocational_enrolments"), 0, "enrolled_on", day))
    if ok:
        assert_clean(r)
    else:
        assert_row(r, 1, "enrolled_on: outside the submission month")


def test_event_date_uses_the_batch_period():
    df = frame("vocational_enrolments", period="2021-06")
    assert_clean(gate("vocational_enrolments", df, period="2021-06"))
    r = gate("vocational_enrolments", df, period="2021-07")
    assert set(r.row_reasons) == {1, 2, 3}
    assert all(v == ["enrolled_on: outside the submission month"] for v in r.row_reasons.values())


def test_required_when_and_empty_otherwise():
    ds = "job_placements"
    df = put(put(frame(ds), 0, "destination", "ABROAD"), 0, "country_code", "JP")
    assert_clean(gate(ds, df))
    df = put(frame(ds), 0, "destination", "ABROAD")  # country_code left empty
    assert_row(gate(ds, df), 1, "country_code: required when destination = ABROAD")
    df = put(frame(ds), 1, "country_code", "JP")  # DOMESTIC with a country
    assert_row(gate(ds, df), 2, "country_code: must be empty unless destination = ABROAD")
    df = put(frame("social_allowance_register"), 2, "status", "STOPPED")
    assert_row(gate("social_allowance_register", df), 3, "stopped_on: required when status = STOPPED")
    df = put(df, 2, "stopped_on", "2021-06-15")
    assert_clean(gate("social_allowance_register", df))


@pytest.mark.parametrize("birth,ok", [("2005-07-01", True), ("2005-06-30", False), ("1990-01-01", False)])
def test_child_under_16_on_last_day_of_month(birth, ok):
    for ds in ("child_protection_register", "child_support_events"):
        r = gate(ds, put(frame(ds), 0, "birth_date", birth))
        if ok:
            assert_clean(r)
        else:
            assert_row(r, 1, "birth_date: child aged 16 or more")


def test_record_id_unique_among_differing_rows():
    ds = "rice_relief"
    df = put(frame(ds, 4), 2, "allocation_id", "R000000")  # rows 1 and 3 share an id, differ
    r = gate(ds, df)
    assert r.file_ok
    assert r.row_reasons == {1: ["allocation_id: duplicate record id (rows differ)"],
                             3: ["allocation_id: duplicate record id (rows differ)"]}


def test_several_reasons_on_one_row_in_suite_order():
    ds = "employment_fund_loans"
    df = put(put(frame(ds), 0, "amount_vnd", 0), 0, "borrower_citizen_id", "12")
    r = gate(ds, df)
    assert r.row_reasons == {1: ["borrower_citizen_id: malformed", "amount_vnd: must be > 0"]}
    assert r.n_failed == 2


def test_file_level_missing_column_rejects():
    ds = "job_placements"
    header = [c for c in contract.dataset(ds).column_names if c != "country_code"]
    header = [f"  {h.upper()} " for h in header] + ["extra_column"]  # case/spaces/extra are fine
    r = gate(ds, frame(ds), header=header)
    assert not r.file_ok
    assert r.file_reasons == ["header: missing column(s) country_code"]
    # the same when the parser left the column out of the frame altogether
    df = frame(ds).drop(columns=["citizen_id", "citizen_id__raw"])
    header = [c for c in contract.dataset(ds).column_names if c != "citizen_id"]
    r = gate(ds, df, header=header)
    assert not r.file_ok and r.file_reasons == ["header: missing column(s) citizen_id"]
    # header with only case/space differences and extra columns passes
    ok_header = [f" {h.title()}" for h in contract.dataset(ds).column_names] + ["note"]
    assert_clean(gate(ds, frame(ds), header=ok_header))


def test_file_level_row_count_mismatch_rejects():
    ds = "meritorious_benefits"
    r = gate(ds, frame(ds, 3), declared=4)
    assert not r.file_ok and r.file_reasons == ["rows: file has 3 records, hub declared 4"]
    assert not r.row_reasons
    # identical duplicates collapsed by the parser still count as records of the file
    assert_clean(gate(ds, frame(ds, 3), declared=4, n_records=4))
    r = gate(ds, frame(ds, 3), declared=3, n_records=4)
    assert r.file_reasons == ["rows: file has 4 records, hub declared 3"]


def test_empty_file():
    ds = "rice_relief"
    assert_clean(gate(ds, frame(ds).iloc[0:0], declared=0))
    r = gate(ds, frame(ds).iloc[0:0], declared=2)
    assert r.file_reasons == ["rows: file has 0 records, hub declared 2"]


def test_parser_date_dtypes_accepted():
    ds = "vocational_enrolments"
    df = frame(ds)
    as_objects = df.assign(
        enrolled_on=[d.date() for d in df["enrolled_on"]],
        birth_date=[d.date() for d in df["birth_date"]],
    )
    assert_clean(gate(ds, as_objects))
    df2 = as_objects.copy()
    df2.loc[1, "enrolled_on"] = dt.date(2021, 7, 2)
    assert_row(gate(ds, df2), 2, "enrolled_on: outside the submission month")
    assert_clean(gate(ds, df.assign(enrolled_on=df["enrolled_on"].astype("datetime64[s]"))))
    # a non-default index (e.g. after the parser filtered rows) is fine: rows are named by source_row
    shifted = df.set_index(pd.Index([10, 11, 12]))
    assert_row(gate(ds, put(shifted, 11, "full_name", None)), 2, "full_name: required")


def test_result_names_the_batch_and_period():
    r = gate("rice_relief", frame("rice_relief"))
    meta = r.result_json["meta"]
    assert meta["batch_name"] == "t/rice_relief" and meta["period"] == P
    assert r.result_json["suite_name"] == "door__rice_relief"
    assert "batch_spec" not in meta  # the frame itself is not carried in the result


def test_a_rule_that_cannot_be_evaluated_fails_loudly():
    # a typed column the parser forgot to type: GX cannot compare text with 1 -> not a data defect
    ds = "rice_relief"
    df = frame(ds).assign(rice_kg=["10", "x", "12"])
    with pytest.raises(door_gate.DoorGateError, match="rice_kg"):
        gate(ds, df)
