"""The fast XLSX reader (python-calamine) gives the same rows and the same quarantine as the
openpyxl reading it replaced, on the contract's XLSX variants: date cells, numeric ids that
lost their leading zeros, booleans, a second sheet, empty and trailing rows.

The reference is the former reading, done here with openpyxl: every cell turned to text as
the contract says (date cells as dates, integer-valued numbers without ".0", 10/11-digit
ids padded to 12 and 8-digit ones to 9), written as CSV and parsed by the same rules.
"""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
import openpyxl
import pytest

from dolisa import contract
from dolisa.parse import normalise_header, parse_file

HEADER = ["decision_id", "citizen_id", "full_name", "sex", "decided_on", "benefit_months", "total_amount_vnd"]
ROWS = [
    ["D1", 12345678901, "Nguyễn Văn An", "Nam", dt.date(2021, 6, 3), 3, 4500000],  # id lost its zero, date cell
    ["D2", "012345678902", "Lò Thị Bình", "nữ", "04/06/2021", "12", "1.500.000"],   # all text
    ["D3", 12345678, "Hoàng Văn Ba", "M", dt.datetime(2021, 6, 5, 0, 0), 1.0, 900000.0],  # 8-digit CMND, datetime
    [None, None, None, None, None, None, None],                                       # an empty row between
    ["D4", 123, "Ma Văn Tư", "X", dt.date(2021, 7, 1), 13, 0],                       # defects: id, sex, month, range
    ["D5", "012345678905", "Đàm Thị Năm", True, "2021-06-09", "2", "-5"],             # boolean in sex, negative amount
    ["D1", 12345678901, "Nguyễn Văn An", "Nam", dt.date(2021, 6, 3), 3, 4500000],  # identical duplicate
]


def _workbook(path, rows, trailing_empty=3, second_sheet=True):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Quyết định"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    for _ in range(trailing_empty):  # formatted but empty trailing rows
        ws.append([None] * len(HEADER))
        ws.cell(row=ws.max_row, column=1).number_format = "@"
    if second_sheet:  # only the first sheet counts
        other = wb.create_sheet("Ghi chú")
        other.append(HEADER)
        other.append(["Z9", "999999999999", "Không tính", "M", "2021-06-01", "1", "1"])
    wb.save(path)


def _reference_text(value, col_type):
    """The former openpyxl reading of one cell, as contract text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
        if col_type == "citizen_id" and isinstance(value, int):
            text = text.zfill(12) if len(text) in (10, 11) else text.zfill(9) if len(text) == 8 else text
        return text
    return str(value)


def _reference_csv(xlsx, csv_path, dataset):
    ds = contract.dataset(dataset)
    ws = openpyxl.load_workbook(xlsx, read_only=True, data_only=True).worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h) for h in next(rows)]
    types = [ds.column(normalise_header(h)).type for h in header]
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        n = 0
        for r in rows:
            cells = [_reference_text(v, types[i]) for i, v in enumerate(r)]
            if all(c is None or c.strip() == "" for c in cells):
                continue
            w.writerow(["" if c is None else c for c in cells])
            n += 1
    return n


def _parsed(con, path, dataset, declared):
    pf = parse_file(con, path, dataset, "2021-06", declared_rows=declared, table="parsed")
    cols = contract.dataset(dataset).column_names
    out = con.execute(f"select source_row, {', '.join(cols)}, reasons from parsed order by source_row").fetchall()
    con.execute("drop table parsed")
    return pf, out


@pytest.mark.parametrize("second_sheet,trailing", [(True, 3), (False, 0)])
def test_calamine_reads_what_openpyxl_read(tmp_path, second_sheet, trailing):
    xlsx = tmp_path / "unemployment_benefit_decisions.xlsx"
    _workbook(xlsx, ROWS, trailing_empty=trailing, second_sheet=second_sheet)
    ref = tmp_path / "unemployment_benefit_decisions.csv"
    n = _reference_csv(xlsx, ref, "unemployment_benefit_decisions")
    assert n == 6  # the empty row in between and the trailing ones are not records
    con = duckdb.connect()
    got_pf, got = _parsed(con, xlsx, "unemployment_benefit_decisions", n)
    ref_pf, want = _parsed(con, ref, "unemployment_benefit_decisions", n)
    assert got_pf.rows_in == ref_pf.rows_in == 6
    assert got == want
    # and what they read is the contract's reading
    by_id = {r[1]: r for r in got if not r[-1]}
    assert by_id["D1"][2] == "012345678901" and by_id["D1"][5] == dt.date(2021, 6, 3)
    assert by_id["D3"][2] == "012345678" and by_id["D3"][5] == dt.date(2021, 6, 5)
    assert by_id["D2"][7] == 1_500_000
    assert "Z9" not in {r[1] for r in got}  # the second sheet is not read
    bad = {r[0]: r[-1] for r in got if r[-1]}
    assert set(bad) == {4, 5, 6}  # D4, D5 and the duplicate of D1 (source rows skip the empty row)
    assert bad[6] == ["identical duplicate of row 1 (counted once)"]


def test_header_only_sheet_and_empty_sheet(tmp_path):
    from dolisa.parse import FileDefect

    con = duckdb.connect()
    only_header = tmp_path / "a" / "unemployment_benefit_decisions.xlsx"
    only_header.parent.mkdir()
    _workbook(only_header, [], trailing_empty=2, second_sheet=False)
    pf, rows = _parsed(con, only_header, "unemployment_benefit_decisions", 0)
    assert pf.rows_in == 0 and rows == []
    empty = tmp_path / "b" / "unemployment_benefit_decisions.xlsx"
    empty.parent.mkdir()
    openpyxl.Workbook().save(empty)
    with pytest.raises(FileDefect, match="missing required column|empty sheet"):
        parse_file(con, empty, "unemployment_benefit_decisions", "2021-06", declared_rows=0)
