"""Disclosure control of the breakdown marts (dolisa.disclosure): no small count of a sensitive
code at a reporting unit is shown, and none can be recovered by subtracting published cells
from the totals published beside them (a unit's total; the province's cell of a category)."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from dolisa import disclosure

P, DS, BD = "2026-03", "child_protection_register", "circumstance"
SENSITIVE = {"HIV", "ABUSED", "ORPHAN"}


def table(counts: dict[str, dict[str, int]], period: str = P, sensitive=SENSITIVE) -> pd.DataFrame:
    """A breakdown table: {unit: {category: count}} plus the province '04' as their sum."""
    categories = sorted({c for row in counts.values() for c in row})
    rows = [(u, c, row.get(c, 0)) for u, row in counts.items() for c in categories]
    rows += [("04", c, sum(row.get(c, 0) for row in counts.values())) for c in categories]
    return pd.DataFrame([{"period": period, "unit_code": u, "dataset": DS, "breakdown": BD, "category": c,
                          "is_sensitive": c in sensitive, "records": n} for u, c, n in rows])


def recovered(truth: pd.DataFrame, published: pd.DataFrame) -> set[tuple[str, str]]:
    """What a reader recovers by subtraction, as a reader would: every unit's total is known (the
    other breakdowns and the indicator marts show it), every category's province cell is in the
    table; a line (row or column) with one unknown cell gives it away, and a recovered cell may
    open another line. Returns the (unit, category) cells recovered that were suppressed."""
    known = {(r.unit_code, r.category): r.records for r in published.itertuples() if not pd.isna(r.records)}
    value = {(r.unit_code, r.category): int(r.records) for r in truth.itertuples()}
    units = sorted(set(truth.unit_code) - {"04"})
    categories = sorted(set(truth.category))
    lines = [([(u, c) for c in categories], sum(value[(u, c)] for c in categories)) for u in units + ["04"]]
    lines += [([(u, c) for u in units] + [("04", c)], None) for c in categories]  # units - province = 0
    hidden = set(value) - set(known)
    found: set[tuple[str, str]] = set()
    progress = True
    while progress:
        progress = False
        for cells, total in lines:
            unknown = [k for k in cells if k not in known]
            if len(unknown) != 1:
                continue
            k = unknown[0]
            if total is None:  # column: province = sum of the units
                units_sum = sum(known[x] for x in cells if x[0] != "04" and x != k)
                known[k] = units_sum if k[0] == "04" else known[(("04", k[1]))] - units_sum
            else:
                known[k] = total - sum(known[x] for x in cells if x != k)
            found.add(k)
            progress = True
    assert all(known[k] == value[k] for k in found)  # the reader's arithmetic is right
    return found & hidden


def test_threshold_is_a_setting_default_5(monkeypatch):
    monkeypatch.delenv(disclosure.THRESHOLD_ENV, raising=False)
    assert disclosure.threshold() == 5
    monkeypatch.setenv(disclosure.THRESHOLD_ENV, "10")
    assert disclosure.threshold() == 10
    for bad in ("1", "0", "-3", "five", "4.5"):
        monkeypatch.setenv(disclosure.THRESHOLD_ENV, bad)
        with pytest.raises(ValueError, match=disclosure.THRESHOLD_ENV):
            disclosure.threshold()


def test_primary_suppression_hides_sensitive_counts_from_1_to_threshold_minus_1_at_units_only():
    truth = table({"01273": {"HIV": 1, "ABUSED": 4, "ORPHAN": 5, "OTHER": 2},
                   "01279": {"HIV": 0, "ABUSED": 9, "ORPHAN": 12, "OTHER": 3}})
    out = disclosure.suppress(truth, 5)
    cell = {(r.unit_code, r.category): (r.records, r.flag) for r in out.itertuples()}
    assert pd.isna(cell[("01273", "HIV")][0]) and cell[("01273", "HIV")][1] == disclosure.MARK
    assert pd.isna(cell[("01273", "ABUSED")][0])
    assert cell[("01273", "ORPHAN")] == (5, None)  # the threshold itself is shown
    value, flag = cell[("01279", "HIV")]
    assert flag == disclosure.MARK or value == 0  # a zero is no person (here it hides 01273's 1 in its column)
    assert cell[("04", "HIV")] == (1, None)  # the province is never a primary cell
    shown_small = out[(out.unit_code != "04") & out.is_sensitive & out.records.between(1, 4)]
    assert shown_small.empty
    assert truth["records"].notna().all()  # the input is not changed


def test_a_commune_table_whose_totals_would_reveal_a_cell_gets_complementary_suppression():
    # One small HIV count per commune row: without more cells hidden, the commune's total minus
    # its other cells, or the province's HIV cell minus the other communes, gives it back.
    truth = table({"01273": {"HIV": 2, "ABUSED": 10, "ORPHAN": 7, "OTHER": 30},
                   "01279": {"HIV": 6, "ABUSED": 8, "ORPHAN": 9, "OTHER": 20},
                   "01282": {"HIV": 7, "ABUSED": 12, "ORPHAN": 5, "OTHER": 11}})
    primary_only = truth.assign(records=truth.records.astype("Int64"))
    primary_only.loc[(primary_only.unit_code == "01273") & (primary_only.category == "HIV"), "records"] = pd.NA
    assert recovered(truth, primary_only) == {("01273", "HIV")}  # the attack works on primary alone

    out = disclosure.suppress(truth, 5)
    assert (out.flag == disclosure.MARK).sum() >= 4  # its row and its column each need a second cell
    assert recovered(truth, out) == set()
    for keys in (["unit_code"], ["category"]):  # no line holds exactly one hidden cell
        hidden_per_line = out.assign(h=out.flag.eq(disclosure.MARK)).groupby(keys)["h"].sum()
        assert not (hidden_per_line == 1).any()


def test_other_periods_and_breakdowns_are_left_alone():
    a = table({"01273": {"HIV": 2, "ORPHAN": 10, "OTHER": 30}, "01279": {"HIV": 6, "ORPHAN": 8, "OTHER": 20}})
    b = table({"01273": {"HIV": 20, "ORPHAN": 10, "OTHER": 30}, "01279": {"HIV": 6, "ORPHAN": 8, "OTHER": 20}},
              period="2026-04")
    sex = table({"01273": {"M": 1, "F": 2}, "01279": {"M": 3, "F": 4}}, sensitive=set()).assign(breakdown="sex")
    out = disclosure.suppress(pd.concat([a, b, sex], ignore_index=True), 5)
    assert out[out.period == "2026-03"].flag.eq(disclosure.MARK).any()
    assert not out[(out.period == "2026-04") | (out.breakdown == "sex")].flag.eq(disclosure.MARK).any()


def test_random_commune_tables_never_give_a_suppressed_cell_back():
    rng = random.Random(20261207)
    categories = ["HIV", "ABUSED", "ORPHAN", "OTHER", "POOR_SEVERE"]
    for _ in range(300):
        units = [f"0{1200 + i}" for i in range(rng.randint(1, 6))]
        counts = {u: {c: rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 15]) for c in categories} for u in units}
        truth = table(counts)
        limit = rng.choice([3, 5, 10])
        out = disclosure.suppress(truth, limit)
        small = out[(out.unit_code != "04") & out.is_sensitive & out.records.between(1, limit - 1)]
        assert small.empty
        assert recovered(truth, out) == set(), counts
        again = disclosure.suppress(truth, limit)
        assert out.equals(again)  # deterministic


def test_a_table_without_sensitive_small_cells_is_published_as_it_is():
    truth = table({u: {c: 5 + i for i, c in enumerate(["HIV", "OTHER"])} for u in ("01273", "01279")})
    out = disclosure.suppress(truth, 5)
    assert out.flag.isna().all() and list(out.records) == list(truth.records)
    assert disclosure.suppress(truth.iloc[0:0], 5).empty


def test_the_legend_is_vietnamese_and_states_the_threshold():
    text = disclosure.legend_vi(5)
    assert text.startswith("x:") and "từ 1 đến 4" in text and "nhạy cảm" in text
    assert "từ 1 đến 9" in disclosure.legend_vi(10)
