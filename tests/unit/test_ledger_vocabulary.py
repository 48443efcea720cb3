"""The ledger's vocabulary (src/dolisa/contract/ledger.yaml) is the one list of statuses and
reason kinds: the loader writes it, the messages read it back, dbt tests against it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dolisa import contract, load
from dolisa.report.messages_vi import reason_fix_vi, reason_vi

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = {"file": "job_placements.csv", "column": "country_code", "dataset": "poverty_census",
          "detail": "no version", "bytes": "2210", "got": "0a1b2c3d4e5f…", "want": "ffeeddccbbaa…",
          "suffix": "'.txt'", "offset": "17", "line": "1", "columns": "country_code, sex", "records": "16",
          "declared": "17", "other": "destination", "value": "ABROAD", "bounds": ">= 1 and <= 12",
          "period": "2021-05", "age": "16", "date": "2021-05-31", "rows": "3, 7", "row": "4"}


@pytest.mark.parametrize("kind", list(contract.reason_kinds()))
def test_every_reason_kind_reads_back_and_has_a_vietnamese_text_and_a_fix(kind):
    rk = contract.reason_kinds()[kind]
    text = contract.reason(kind, **{f: SAMPLE[f] for f in rk.fields})
    parsed = contract.parse_reason(text)
    assert parsed is not None and parsed[0].kind == kind, text
    assert parsed[1] == {f: SAMPLE[f] for f in rk.fields}
    vi = reason_vi(text)
    assert vi and "lỗi kỹ thuật" not in vi and vi != text
    assert reason_fix_vi(text)


def test_no_two_kinds_read_the_same_text():
    for kind, rk in contract.reason_kinds().items():
        text = contract.reason(kind, **{f: SAMPLE[f] for f in rk.fields})
        matching = [k for k, other in contract.reason_kinds().items() if other.pattern.match(text)]
        assert matching == [kind], (text, matching)


def test_the_vietnamese_text_never_carries_the_month_in_iso_form():
    text = contract.reason("outside_month", column="placed_on", period="2021-05")
    assert reason_vi(text) == "placed_on: ngày nằm ngoài tháng báo cáo 5/2021"


def test_joined_reasons_are_translated_one_by_one():
    text = "; ".join([contract.reason("required", column="sex"),
                      contract.reason("unknown_dataset", file="poverty_census.csv", dataset="poverty_census")])
    assert reason_vi(text) == ("sex: ô bắt buộc bị trống; Tệp poverty_census.csv: bộ dữ liệu «poverty_census» "
                               "không có trong danh mục 12 bộ dữ liệu")


def test_the_loaders_statuses_are_the_vocabularys():
    assert set(contract.statuses("file")) == {load.ACCEPTED, load.REJECTED, load.NOT_LOADED}
    assert set(contract.statuses("version")) == {load.ACCEPTED, load.REJECTED}


def test_every_reason_the_code_writes_names_a_kind_of_the_vocabulary():
    """Every kind named where the product writes a reason (`contract.reason("kind", ...)`,
    `_reason_sql("kind", ...)`, and the kinds chosen by expression) is declared, and every
    declared kind is written somewhere."""
    from dolisa.parse import PARSED_TYPES

    used = {f"unparseable_{t}" for t in PARSED_TYPES}
    for path in (ROOT / "src" / "dolisa").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""reason(?:_sql)?\(\s*"(\w+)"(?: if .*? else "(\w+)")?""", text) and
                    {k for pair in re.findall(r"""reason(?:_sql)?\(\s*"(\w+)"(?: if .*? else "(\w+)")?""", text)
                     for k in pair if k})
    assert used - set(contract.reason_kinds()) == set()
    assert set(contract.reason_kinds()) - used == set()


def test_dbt_tests_the_ledger_against_the_vocabulary_not_a_copy_of_it():
    """The dbt sources hold no list of ledger statuses of their own (accepted_values): they test
    against meta.ledger_vocabulary, which the warehouse writes from ledger.yaml."""
    ymls = [yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in (ROOT / "dbt_project" / "models" / "staging").rglob("*.yml")]
    text = repr(ymls)
    assert "in_ledger_vocabulary" in text
    for statuses in (contract.statuses("file"), contract.statuses("version")):
        assert "'" + "', '".join(statuses) + "'" not in text
