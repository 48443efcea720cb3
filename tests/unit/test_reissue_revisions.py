"""revisions.csv from as-of, scenario and current values (contract §6): pure functions of
dolisa.reissue, on hand-made figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from dolisa import reissue
from dolisa.run_conf import parse_as_of

META = {
    "LAB_JOB_PLACEMENTS": {"sort_order": 30, "label_vi": "Giới thiệu việc làm", "unit_vi": "người", "kind": "flow"},
    "SP_ALLOWANCE_ACTIVE": {"sort_order": 110, "label_vi": "Đối tượng", "unit_vi": "người", "kind": "stock"},
    "CH_SPECIAL_SUPPORTED_PCT": {"sort_order": 280, "label_vi": "Tỷ lệ", "unit_vi": "%", "kind": "ratio"},
}


def test_parse_as_of_accepts_only_a_plain_date():
    assert parse_as_of("2021-07-10") == dt.date(2021, 7, 10)
    for bad in ("2021-7-10", "10/07/2021", "2021-07-10T00:00", "", "2021-02-30"):
        with pytest.raises(ValueError):
            parse_as_of(bad)


def test_today_is_the_date_in_viet_nam():
    # 18:30 UTC on 30 November is already 1 December in Asia/Ho_Chi_Minh
    assert reissue.today_hcm(dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.timezone.utc)) == dt.date(2026, 12, 1)


def test_changed_unit_months_only_in_the_given_months():
    as_of = {("040", "2021-05"): (1, "a"), ("045", "2020-12"): (1, "b"), ("042", "2021-06"): (2, "c")}
    now = {("040", "2021-05"): (2, "d"), ("045", "2020-12"): (2, "e"), ("042", "2021-06"): (2, "c"),
           ("048", "2021-06"): (1, "f")}
    changed = reissue.changed_unit_months(as_of, now, ["2021-05", "2021-06"])
    assert changed == [
        {"unit_code": "040", "period": "2021-05", "version_as_of": 1, "version_now": 2},
        {"unit_code": "048", "period": "2021-06", "version_as_of": None, "version_now": 1},
    ]


def test_contributions_of_a_flow_add_up_and_unmoved_figures_have_no_rows():
    changed = [{"unit_code": "040", "period": "2021-05", "version_as_of": 1, "version_now": 2},
               {"unit_code": "040", "period": "2021-06", "version_as_of": None, "version_now": 1}]
    as_of = {("LAB_JOB_PLACEMENTS", "04"): D(100), ("LAB_JOB_PLACEMENTS", "040"): D(30),
             ("SP_ALLOWANCE_ACTIVE", "040"): None, ("SP_ALLOWANCE_ACTIVE", "04"): D(500)}
    now = {("LAB_JOB_PLACEMENTS", "04"): D(107), ("LAB_JOB_PLACEMENTS", "040"): D(37),
           ("SP_ALLOWANCE_ACTIVE", "040"): D(12), ("SP_ALLOWANCE_ACTIVE", "04"): D(500)}
    scenarios = {
        ("040", "2021-05"): {**as_of, ("LAB_JOB_PLACEMENTS", "04"): D(103), ("LAB_JOB_PLACEMENTS", "040"): D(33)},
        ("040", "2021-06"): {**as_of, ("LAB_JOB_PLACEMENTS", "04"): D(104), ("LAB_JOB_PLACEMENTS", "040"): D(34),
                             ("SP_ALLOWANCE_ACTIVE", "040"): D(12)},
    }
    df = reissue.revisions_frame(as_of, now, changed, scenarios, META)
    rows = df[reissue.REVISIONS_HEADER].to_dict("records")
    assert rows == [
        {"indicator_code": "LAB_JOB_PLACEMENTS", "unit_code": "04", "value_as_of": "100", "value_now": "107",
         "delta": "7", "source_unit_code": "040", "source_period": "2021-05", "version_as_of": "1",
         "version_now": "2", "contribution": "3"},
        {"indicator_code": "LAB_JOB_PLACEMENTS", "unit_code": "04", "value_as_of": "100", "value_now": "107",
         "delta": "7", "source_unit_code": "040", "source_period": "2021-06", "version_as_of": "",
         "version_now": "1", "contribution": "4"},
        {"indicator_code": "LAB_JOB_PLACEMENTS", "unit_code": "040", "value_as_of": "30", "value_now": "37",
         "delta": "7", "source_unit_code": "040", "source_period": "2021-05", "version_as_of": "1",
         "version_now": "2", "contribution": "3"},
        {"indicator_code": "LAB_JOB_PLACEMENTS", "unit_code": "040", "value_as_of": "30", "value_now": "37",
         "delta": "7", "source_unit_code": "040", "source_period": "2021-06", "version_as_of": "",
         "version_now": "1", "contribution": "4"},
        # no data as of D (no June): listed, with no number to add
        {"indicator_code": "SP_ALLOWANCE_ACTIVE", "unit_code": "040", "value_as_of": "", "value_now": "12",
         "delta": "", "source_unit_code": "040", "source_period": "2021-06", "version_as_of": "",
         "version_now": "1", "contribution": ""},
    ]
    text = reissue.revisions_csv_text(df)
    assert text.splitlines()[0] == ",".join(reissue.REVISIONS_HEADER)
    assert len(text.splitlines()) == 6


def test_percentage_indicators_keep_one_decimal():
    changed = [{"unit_code": "042", "period": "2021-06", "version_as_of": 1, "version_now": 2}]
    as_of = {("CH_SPECIAL_SUPPORTED_PCT", "042"): D("95.0")}
    now = {("CH_SPECIAL_SUPPORTED_PCT", "042"): D("97.5")}
    df = reissue.revisions_frame(as_of, now, changed, {("042", "2021-06"): now}, META)
    [row] = df[reissue.REVISIONS_HEADER].to_dict("records")
    assert (row["value_as_of"], row["value_now"], row["delta"], row["contribution"]) == ("95.0", "97.5", "2.5", "2.5")


def test_nothing_moved_gives_the_header_only():
    values = {("LAB_JOB_PLACEMENTS", "04"): D(5)}
    df = reissue.revisions_frame(values, dict(values), [], {}, META)
    assert reissue.revisions_csv_text(df) == ",".join(reissue.REVISIONS_HEADER) + "\n"
