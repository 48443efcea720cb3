"""``indicators.csv`` exactly as the contract (README §5) fixes it.

Header ``report_period,indicator_code,unit_code,value,plan_value,pct_of_plan,
same_period_value,pct_of_same_period``; one row per indicator and unit, in
catalogue order (``sort_order``) and, within an indicator, the province ``04``
first then the reporting units by code. Numbers are plain: counts and VND amounts as
integers (no separator, no decimals), ``pct_of_plan`` / ``pct_of_same_period``
and every value of a percentage indicator (``unit_vi == '%'``) with exactly one
decimal and ``.``; a missing value is an empty cell. UTF-8 without BOM, ``\\n``
line ends. The file is written to a temporary file in the same folder and
moved into place with ``os.replace``, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from ._common import INDICATOR_COLUMNS, atomic_path, is_pct_indicator, unit_sort_key
from .formats import is_missing, round_half_away


def plain_int(x) -> str:
    """``1700.0`` → ``'1700'``; missing → ``''``."""
    v = round_half_away(x, 0)
    return "" if v is None else str(v)


def plain_1dp(x) -> str:
    """``56.25`` → ``'56.3'``, ``130`` → ``'130.0'``; missing → ``''``."""
    if is_missing(x):
        return ""
    v = round_half_away(x, 1)
    return f"{v:.1f}" if v != 0 else "0.0"


def indicators_csv_text(indicators: pd.DataFrame) -> str:
    """The exact text of ``indicators.csv`` for ``indicators`` (see module doc)."""
    missing = [c for c in INDICATOR_COLUMNS if c not in indicators.columns]
    if missing:
        raise ValueError(f"indicators frame lacks columns {missing}")
    df = indicators.copy()
    df["unit_code"] = df["unit_code"].astype(str)
    df["_appearance"] = range(len(df))
    if "sort_order" in df:
        first = df.groupby("indicator_code")["sort_order"].transform("min")
    else:  # keep the order in which indicators first appear
        first = df.groupby("indicator_code")["_appearance"].transform("min")
    df["_ind_key"] = first
    df["_unit_key"] = df["unit_code"].map(unit_sort_key)
    df = df.sort_values(["_ind_key", "indicator_code", "_unit_key"], kind="stable")
    dup = df.duplicated(["report_period", "indicator_code", "unit_code"])
    if dup.any():
        rows = df.loc[dup, ["indicator_code", "unit_code"]].to_records(index=False).tolist()
        raise ValueError(f"duplicate (indicator, unit) rows: {rows[:5]}")

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INDICATOR_COLUMNS)
    for _, r in df.iterrows():
        value_fmt = plain_1dp if is_pct_indicator(r) else plain_int
        w.writerow(
            [
                str(r["report_period"]),
                str(r["indicator_code"]),
                r["unit_code"],
                value_fmt(r["value"]),
                value_fmt(r["plan_value"]),
                plain_1dp(r["pct_of_plan"]),
                value_fmt(r["same_period_value"]),
                plain_1dp(r["pct_of_same_period"]),
            ]
        )
    return buf.getvalue()


def write_indicators_csv(path: str | os.PathLike, indicators_df: pd.DataFrame) -> Path:
    """Write ``indicators.csv`` atomically; returns the path."""
    text = indicators_csv_text(indicators_df)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return path
