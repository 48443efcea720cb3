import os

import pandas as pd
import pytest

from dolisa.report.csv_writer import indicators_csv_text, write_indicators_csv

COLS = ["report_period", "indicator_code", "unit_code", "value", "plan_value", "pct_of_plan",
        "same_period_value", "pct_of_same_period", "sort_order", "area", "label_vi", "unit_vi", "kind"]


def _frame():
    nan = float("nan")
    rows = [
        # deliberately shuffled: the writer orders by sort_order then unit
        ("2021-H1", "CH_SPECIAL_SUPPORTED_PCT", "042", 96.0, None, None, 95.25, 100.8, 3, "child_welfare", "Tỷ lệ", "%", "stock"),
        ("2021-H1", "LAB_FUND_JOBS", "040", 400.0, nan, nan, 0, None, 2, "labour", "Quỹ", "người", "flow"),
        ("2021-H1", "LAB_VOC_NEW_SOCAP", "04", 1700.0, 5500, 30.9, 1308, 130.0, 1, "labour", "Sơ cấp", "người", "flow"),
        ("2021-H1", "LAB_FUND_JOBS", "04", 675, 1200, 56.25, 600, 112.5, 2, "labour", "Quỹ", "người", "flow"),
        ("2021-H1", "LAB_VOC_NEW_SOCAP", "040", 1000, None, None, 800, 125.0, 1, "labour", "Sơ cấp", "người", "flow"),
        ("2021-H1", "CH_SPECIAL_SUPPORTED_PCT", "04", 95.3, None, None, None, None, 3, "child_welfare", "Tỷ lệ", "%", "stock"),
        ("2021-H1", "LAB_UI_AMOUNT_VND", "04", 11_000_000_000, None, None, 9_500_000_000, 115.8, 4, "labour", "Tiền", "đồng", "flow"),
    ]
    return pd.DataFrame(rows, columns=COLS)


EXPECTED = (
    "report_period,indicator_code,unit_code,value,plan_value,pct_of_plan,same_period_value,pct_of_same_period\n"
    "2021-H1,LAB_VOC_NEW_SOCAP,04,1700,5500,30.9,1308,130.0\n"
    "2021-H1,LAB_VOC_NEW_SOCAP,040,1000,,,800,125.0\n"
    "2021-H1,LAB_FUND_JOBS,04,675,1200,56.3,600,112.5\n"
    "2021-H1,LAB_FUND_JOBS,040,400,,,0,\n"
    "2021-H1,CH_SPECIAL_SUPPORTED_PCT,04,95.3,,,,\n"
    "2021-H1,CH_SPECIAL_SUPPORTED_PCT,042,96.0,,,95.3,100.8\n"
    "2021-H1,LAB_UI_AMOUNT_VND,04,11000000000,,,9500000000,115.8\n"
)


def test_csv_exact_bytes(tmp_path):
    out = write_indicators_csv(tmp_path / "indicators.csv", _frame())
    assert out == tmp_path / "indicators.csv"
    assert out.read_bytes() == EXPECTED.encode("utf-8")
    assert indicators_csv_text(_frame()) == EXPECTED


def test_csv_is_replaced_atomically_and_leaves_no_temp(tmp_path):
    target = tmp_path / "reports" / "2021-H1" / "indicators.csv"
    target.parent.mkdir(parents=True)
    target.write_text("old\n")
    write_indicators_csv(target, _frame())
    assert target.read_text(encoding="utf-8") == EXPECTED
    assert sorted(os.listdir(target.parent)) == ["indicators.csv"]


def test_csv_refuses_bad_frames_without_touching_the_file(tmp_path):
    target = tmp_path / "indicators.csv"
    with pytest.raises(ValueError):
        write_indicators_csv(target, _frame().drop(columns=["plan_value"]))
    dup = pd.concat([_frame(), _frame().iloc[[0]]])
    with pytest.raises(ValueError, match="duplicate"):
        write_indicators_csv(target, dup)
    assert not target.exists()
    assert os.listdir(tmp_path) == []
