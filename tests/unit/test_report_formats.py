import math

import pandas as pd
import pytest

from dolisa.report.formats import (
    fmt_int,
    fmt_money,
    fmt_money_trieu,
    fmt_number,
    fmt_pct,
    fmt_value,
    round_half_away,
)


@pytest.mark.parametrize(
    "x, expected",
    [(1700, "1.700"), (16835, "16.835"), (96004, "96.004"), (1_440_060, "1.440.060"), (0, "0"),
     (7, "7"), (-1700, "-1.700"), (1700.0, "1.700"), (2.5, "3"), (-2.5, "-3"), (-0.4, "0")],
)
def test_fmt_int(x, expected):
    assert fmt_int(x) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, math.nan])
def test_missing_values(missing):
    assert fmt_int(missing) == ""
    assert fmt_pct(missing) == ""
    assert fmt_money(missing) == ""
    assert fmt_int(missing, empty="—") == "—"
    assert round_half_away(missing, 1) is None


@pytest.mark.parametrize(
    "x, expected",
    [(30.9, "30,9%"), (56.25, "56,3%"), (675 / 1200 * 100, "56,3%"), (130.0, "130%"), (18, "18%"),
     (33.0, "33%"), (99.95, "100%"), (0.04, "0%"), (-12.35, "-12,4%"), (1234.5, "1.234,5%")],
)
def test_fmt_pct_reference_style(x, expected):
    assert fmt_pct(x) == expected


def test_fmt_pct_always_decimal_on_request():
    assert fmt_pct(130.0, always_decimal=True) == "130,0%"
    assert fmt_pct(30.9, always_decimal=True) == "30,9%"


def test_a_table_cell_reads_like_the_sentence_beside_it():
    """Issue 31: the workbook's '% cùng kỳ' said 130,0% beside the Diễn giải's 130%."""
    assert fmt_value(96.0, "%") == "96%" and fmt_value(95.25, "%") == "95,3%"


def test_a_share_is_never_shown_as_zero():
    from dolisa.report.formats import fmt_share

    assert fmt_share(1 / 22230) == "<0,1%" and fmt_share(0) == "0%" and fmt_share(0.012) == "1,2%"
    assert fmt_share(0.9996) == ">99,9%" and fmt_share(1) == "100%"


@pytest.mark.parametrize(
    "x, expected",
    [
        (1_600_000_000, "1,6 tỷ đồng"),
        (11_000_000_000, "11 tỷ đồng"),
        (406_000_000, "406 triệu đồng"),
        (5_721_000_000, "5.721 triệu đồng"),  # the reference report's own wording
        (18_000_000, "18 triệu đồng"),
        (1_500_000, "1,5 triệu đồng"),
        (500_000, "500.000 đồng"),
        (0, "0 đồng"),
        (-406_000_000, "-406 triệu đồng"),
        (999_960_000, "1 tỷ đồng"),
        (1_600_400_000, "1,6 tỷ đồng"),
    ],
)
def test_fmt_money(x, expected):
    assert fmt_money(x) == expected


def test_fmt_money_trieu_for_table_cells():
    assert fmt_money_trieu(11_000_000_000) == "11.000"
    assert fmt_money_trieu(406_000_000) == "406"
    assert fmt_money_trieu(500_000) == "0,5"
    assert fmt_value(1_600_000_000, "đồng") == "1.600"


def test_round_half_away():
    assert round_half_away(56.25, 1) == 56.3
    assert round_half_away(-56.25, 1) == -56.3
    assert round_half_away(0.285, 2) == 0.29  # decimal view, not the binary float
    assert round_half_away(2.5) == 3 and isinstance(round_half_away(2.5), int)
    assert round_half_away(-2.5) == -3
    assert round_half_away(129.969, 1) == 130.0


def test_fmt_number_grouping_and_decimals():
    assert fmt_number(1234567.891, 2) == "1.234.567,89"
    assert fmt_number(1.50, 2, strip_zero_decimals=True) == "1,5"
