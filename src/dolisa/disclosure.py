"""Disclosure control of the reader zone: a small count of a sensitive code at reporting-unit
level never leaves the restricted zone (docs/operations.md, "Small sensitive cells").

It applies to the breakdown marts (`agg_<area>_unit_month_breakdowns`, dbt config
`meta: {disclosure: breakdown}`) when `dolisa.snapshot` copies them into the published
snapshot. The warehouse keeps the true counts. A breakdown table has one row per unit (or the
province `04`) x period x dataset x breakdown x category, with `records` and `is_sensitive`
(from `dim_codes`, where the list of sensitive codes is written, each with its reason).

1. **Primary suppression.** A cell of a sensitive code at a reporting unit (any unit but the
   province) with 1 <= records < threshold. The threshold is `DOLISA_DISCLOSURE_THRESHOLD`
   (default 5: counts 1 to 4 are never shown).
2. **Secondary suppression.** Within one period, dataset and breakdown the cells add up along
   two kinds of line whose totals are published beside them: a unit's row (its categories
   add up to the unit's total, which the other breakdowns of the dataset and the indicator
   marts show) and a category's column (its units add up to the province's cell). A line
   with exactly one suppressed cell would give that cell away by subtraction, so the smallest
   other cell of the line is suppressed too: a unit's before the province's, zeros included
   (when the only other cells are zeros, a zero hides the count as well as any other cell).
   This repeats until no line has exactly one suppressed cell.
3. **Marking.** A suppressed cell has `records` null and `flag` `x`, the mark statistics
   offices use for confidential cells. Primary and secondary cells carry the same mark, so
   the mark does not say which cell is the small one. `LEGEND_VI` is the Vietnamese legend.

The department's official figures (rpt_indicators, indicators.csv, the report files) are not
suppressed: they are the department's published totals (contract §5).

Why not ACRO (SACRO's output checker, `acro` on PyPI): it checks outputs that a researcher
computes from microdata in a session (crosstab, pivot_table, regressions) and applies primary
suppression (threshold, p-ratio, N-K dominance) to the cells of that one output, recomputing
its margins without them. Here the totals are not the table's own margins but figures
published elsewhere in the snapshot (the indicators, the other breakdowns, the province row),
so the complementary cells must be chosen against those fixed totals, which ACRO does not do;
it would also bring statsmodels and its session/record machinery into the nightly job for a
threshold test that is one line here.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from dolisa.contract import PROVINCE_CODE

THRESHOLD_ENV = "DOLISA_DISCLOSURE_THRESHOLD"
DEFAULT_THRESHOLD = 5
MARK = "x"
# the table columns the rule reads
TABLE_KEYS = ("period", "dataset", "breakdown")
ROW_KEY = "unit_code"
COLUMN_KEY = "category"


def threshold() -> int:
    """DOLISA_DISCLOSURE_THRESHOLD: the smallest count of a sensitive code shown at a unit
    (default 5). An integer of at least 2; anything else is a configuration error."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 2:
        raise ValueError(f"{THRESHOLD_ENV}={raw!r}: must be an integer of at least 2 (default {DEFAULT_THRESHOLD})")
    return value


def legend_vi(limit: int) -> str:
    return (
        f"{MARK}: số liệu được ẩn để bảo vệ thông tin cá nhân: ô thuộc nhóm nhạy cảm có từ 1 đến {limit - 1} "
        f"trường hợp ở một đơn vị báo cáo, và ô được ẩn kèm để không thể suy ra ô đó từ các số tổng"
    )


def suppress(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The breakdown table `frame` as it may be published: `records` null and `flag` MARK on
    every suppressed cell (primary and secondary), `flag` null elsewhere. The input is not
    changed."""
    out = frame.copy()
    out["flag"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if out.empty:
        return out
    records = out["records"].to_numpy(dtype=np.int64)
    province = (out[ROW_KEY] == PROVINCE_CODE).to_numpy()
    hidden = out["is_sensitive"].fillna(False).to_numpy(dtype=bool) & ~province & (records >= 1) & (records < limit)
    if hidden.any():
        positions = pd.Series(np.arange(len(out)), index=out.index)
        keys = list(TABLE_KEYS)
        affected = out.loc[hidden, keys].drop_duplicates()
        cells = out.reset_index(drop=True).assign(_pos=positions.to_numpy()).merge(affected, on=keys)
        lines = [
            idx for by in (ROW_KEY, COLUMN_KEY) for idx in cells.groupby(keys + [by], sort=False)["_pos"].agg(np.array)
        ]
        _complete(lines, hidden, records, province)
    out["records"] = out["records"].astype("Int64")
    out.loc[hidden, "records"] = pd.NA
    out.loc[hidden, "flag"] = MARK
    return out


def _complete(lines: list[np.ndarray], hidden: np.ndarray, records: np.ndarray, province: np.ndarray) -> None:
    """Secondary suppression in place: until no line holds exactly one hidden cell, hide the
    line's smallest other cell (a unit's before the province's; then by value; then by
    position, so the result does not depend on anything but the table)."""
    changed = True
    while changed:
        changed = False
        for idx in lines:
            shown = idx[~hidden[idx]]
            if len(idx) - len(shown) != 1 or len(shown) == 0:
                continue
            pick = min(shown, key=lambda i: (province[i], records[i], i))
            hidden[pick] = True
            changed = True
