"""Parsing rules of the contract: each tolerated variant, each file- and row-level defect."""

from __future__ import annotations

import datetime as dt
import unicodedata

import duckdb
import openpyxl
import pytest

from dolisa import contract
from dolisa.parse import FileDefect, parse_file, safe_file_name

JP_HEADER = "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code"
GOOD_JP = "P1,012345678901,Nguyễn Văn An,M,1990-02-01,2021-06-03,DOMESTIC,,"


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def write(tmp_path, name, text=None, data=None):
    p = tmp_path / name
    if data is None:
        data = text.encode("utf-8")
    p.write_bytes(data)
    return p


def rows(con, cols="*"):
    return con.execute(f"select {cols} from parsed order by source_row").fetchall()


def parse_jp(con, tmp_path, body_lines, header=JP_HEADER, period="2021-06", **kw):
    p = write(tmp_path, "job_placements.csv", "\n".join([header, *body_lines]) + "\n")
    return parse_file(con, p, "job_placements", period, **kw)


def reasons(con):
    return [r[0] for r in rows(con, "reasons")]


# --- tolerated variants -----------------------------------------------------


def test_clean_file_loads_typed_values(con, tmp_path):
    pf = parse_jp(con, tmp_path, [GOOD_JP], declared_rows=1)
    assert pf.rows_in == 1
    (r,) = rows(con, "placement_id, citizen_id, full_name, sex, birth_date, placed_on, destination, country_code, reasons")
    assert r == ("P1", "012345678901", "Nguyễn Văn An", "M", dt.date(1990, 2, 1), dt.date(2021, 6, 3), "DOMESTIC", None, [])


def test_bom_crlf_header_case_spaces_order_and_extra_columns(con, tmp_path):
    header = " Destination ,PLACEMENT_ID,citizen_id, full_name,sex,birth_date,placed_on,employer_name,country_code,ghi_chu"
    text = "\ufeff" + header + "\r\n" + "domestic ,P1,123456789,An,nam,01/02/1990,03/06/2021,,,x\r\n"
    p = write(tmp_path, "job_placements.csv", text)
    pf = parse_file(con, p, "job_placements", "2021-06", declared_rows=1)
    assert pf.extra_columns == ["ghi_chu"]
    (r,) = rows(con, "placement_id, sex, birth_date, placed_on, destination, reasons")
    assert r == ("P1", "M", dt.date(1990, 2, 1), dt.date(2021, 6, 3), "DOMESTIC", [])


def test_nfd_text_is_stored_nfc(con, tmp_path):
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Nữ")
    parse_jp(con, tmp_path, [f"P1,012345678901,{nfd},Nữ,1990-02-01,2021-06-03,DOMESTIC,,"])
    (r,) = rows(con, "full_name, sex")
    assert r == (unicodedata.normalize("NFC", "Nguyễn Thị Nữ"), "F")
    assert unicodedata.is_normalized("NFC", r[0])


@pytest.mark.parametrize("word,value", [("có", True), ("CÓ", True), ("không", False), ("Không", False),
                                        ("true", True), ("FALSE", False), ("1", True), ("0", False)])
def test_booleans(con, tmp_path, word, value):
    p = write(tmp_path, "vocational_enrolments.csv",
              "enrolment_id,citizen_id,full_name,sex,birth_date,training_level,occupation,institution_code,enrolled_on,is_rural_worker\n"
              f"E1,012345678901,An,F,2000-01-01,so_cap,,,2021-06-01,{word}\n")
    parse_file(con, p, "vocational_enrolments", "2021-06")
    assert rows(con, "is_rural_worker, training_level, reasons") == [(value, "SO_CAP", [])]


def test_thousands_separators(con, tmp_path):
    p = write(tmp_path, "employment_fund_loans.csv",
              "loan_id,borrower_citizen_id,borrower_type,disbursed_on,amount_vnd,jobs_created\n"
              "L1,012345678901,individual,2021-06-10,1.500.000,2\n"
              'L2,012345678901,ENTERPRISE,2021-06-10,"50.000.000",1.000\n')
    parse_file(con, p, "employment_fund_loans", "2021-06")
    assert rows(con, "amount_vnd, jobs_created, reasons") == [(1_500_000, 2, []), (50_000_000, 1000, [])]


def test_quoted_line_break_stays_in_record_and_counts_once(con, tmp_path):
    pf = parse_jp(con, tmp_path, ['P1,012345678901,An,M,1990-02-01,2021-06-03,DOMESTIC,"Công ty\nABC",'],
                  declared_rows=1)
    assert pf.rows_in == 1
    assert rows(con, "employer_name") == [("Công ty\nABC",)]


def test_xlsx_cells_dates_booleans_and_lost_leading_zeros(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["enrolment_id", "citizen_id", "full_name", "sex", "birth_date", "training_level",
               "occupation", "institution_code", "enrolled_on", "is_rural_worker"])
    ws.append(["E1", 12345678901, "An", "Nữ", dt.datetime(2000, 1, 2), "SO_CAP", None, None, dt.date(2021, 6, 5), True])
    ws.append([None] * 10)  # an empty row is not a record
    ws.append(["E2", 12345678, "Bình", "nam", "15/03/2001", "cao_dang", "Hàn", None, "2021-06-06", False])
    ws.append(["E3", 1234567890, "Chi", "F", "2001-03-15", "TRUNG_CAP", None, None, "2021-06-07", "có"])
    path = tmp_path / "vocational_enrolments.xlsx"
    wb.save(path)
    pf = parse_file(con, path, "vocational_enrolments", "2021-06", declared_rows=3)
    assert pf.rows_in == 3
    assert rows(con, "enrolment_id, citizen_id, sex, birth_date, enrolled_on, is_rural_worker, reasons") == [
        ("E1", "012345678901", "F", dt.date(2000, 1, 2), dt.date(2021, 6, 5), True, []),
        ("E2", "012345678", "M", dt.date(2001, 3, 15), dt.date(2021, 6, 6), False, []),
        ("E3", "001234567890", "F", dt.date(2001, 3, 15), dt.date(2021, 6, 7), True, []),
    ]


# --- file-level defects -----------------------------------------------------


def test_not_utf8_names_file_and_offset(con, tmp_path):
    data = (JP_HEADER + "\n" + GOOD_JP + "\n").encode("utf-8")
    bad = data[:60] + b"\xff" + data[61:]
    p = write(tmp_path, "job_placements.csv", data=bad)
    with pytest.raises(FileDefect, match=r"job_placements\.csv: not valid UTF-8 at byte offset 60"):
        parse_file(con, p, "job_placements", "2021-06")


def test_missing_required_column_rejects(con, tmp_path):
    header = JP_HEADER.replace(",country_code", "")
    with pytest.raises(FileDefect, match="missing required column.*country_code"):
        parse_jp(con, tmp_path, [GOOD_JP.rsplit(",", 1)[0]], header=header)


def test_rows_mismatch_rejects(con, tmp_path):
    with pytest.raises(FileDefect, match="1 records but the hub declared rows = 2"):
        parse_jp(con, tmp_path, [GOOD_JP], declared_rows=2)


def test_unreadable_xlsx_rejects(con, tmp_path):
    p = write(tmp_path, "job_placements.xlsx", data=b"PK\x03\x04 this is not a workbook")
    with pytest.raises(FileDefect, match="unreadable XLSX"):
        parse_file(con, p, "job_placements", "2021-06")


def test_ragged_csv_rejects(con, tmp_path):
    with pytest.raises(FileDefect, match="not a valid RFC 4180 CSV"):
        parse_jp(con, tmp_path, [GOOD_JP + ",extra,cells"])


# --- row-level defects ------------------------------------------------------


@pytest.mark.parametrize(
    "line,reason",
    [
        ("P1,012345678901,An,M,1990-02-01,2021-06-03,MARS,,", "destination: unknown code"),
        ("P1,012345678901,An,M,1990-02-30,2021-06-03,DOMESTIC,,", "birth_date: cannot be read as a date"),
        ("P1,012345678901,An,M,1990-02-01,2021-07-01,DOMESTIC,,", "placed_on: date outside the submission month 2021-06"),
        ("P1,012345678901,,M,1990-02-01,2021-06-03,DOMESTIC,,", "full_name: required cell empty"),
        ("P1,01234567890,An,M,1990-02-01,2021-06-03,DOMESTIC,,", "citizen_id: malformed citizen id"),
        ("P1,0123456789AB,An,M,1990-02-01,2021-06-03,DOMESTIC,,", "citizen_id: malformed citizen id"),
        ("P1,012345678901,An,X,1990-02-01,2021-06-03,DOMESTIC,,", "sex: cannot be read as a sex"),
        ("P1,012345678901,An,M,1990-02-01,2021-06-03,ABROAD,,", "country_code: required when destination = ABROAD"),
        ("P1,012345678901,An,M,1990-02-01,2021-06-03,DOMESTIC,,JP", "country_code: must be empty unless destination = ABROAD"),
        ("P1,012345678901,An,M,1990-02-01,2021-06-03,ABROAD,,XX", "country_code: unknown country code"),
    ],
)
def test_row_defects_quarantine_with_reason(con, tmp_path, line, reason):
    pf = parse_jp(con, tmp_path, [line, GOOD_JP.replace("P1", "P2")], declared_rows=2)
    got = reasons(con)
    assert any(reason in r for r in got[0]), got[0]
    # a reason names the column and the rule, never the cell's value
    for cell in line.split(","):
        if len(cell.strip()) >= 2 and cell not in ("P1", "DOMESTIC", "ABROAD"):  # code words may be named
            assert all(cell not in r for r in got[0]), (cell, got[0])
    assert got[1] == []  # the other row loads
    assert pf.rows_in == 2


SHIFTED = "P1,An,012345678901,Nguyễn Văn An,1990-02-01,2021-06-03,012345678901,,Trần Thị Bình"


def test_shifted_columns_leave_no_personal_value_in_reasons(con, tmp_path):
    """Names and ids pushed into code, sex and date columns: quarantined, and no reason echoes them."""
    parse_jp(con, tmp_path, [SHIFTED, GOOD_JP.replace("P1", "P2")], declared_rows=2)
    got = reasons(con)
    assert got[0] and got[1] == []
    joined = "; ".join(got[0])
    for value in ("Nguyễn Văn An", "Trần Thị Bình", "012345678901", "An"):
        assert value not in joined, joined


@pytest.mark.parametrize("months,ok", [("0", False), ("12", True), ("13", False), ("1", True), ("-3", False)])
def test_integer_ranges(con, tmp_path, months, ok):
    p = write(tmp_path, "unemployment_benefit_decisions.csv",
              "decision_id,citizen_id,full_name,sex,decided_on,benefit_months,total_amount_vnd\n"
              f"D1,012345678901,An,F,2021-06-01,{months},1000\n")
    parse_file(con, p, "unemployment_benefit_decisions", "2021-06")
    (r,) = reasons(con)
    assert (r == []) is ok
    if not ok:
        assert "benefit_months: out of range" in r[0]


def test_meritorious_amount_may_be_zero_but_not_negative(con, tmp_path):
    p = write(tmp_path, "meritorious_benefits.csv",
              "case_id,citizen_id,full_name,benefit,decided_on,amount_vnd\n"
              "C1,012345678901,An,TET_GIFT,2021-01-20,0\nC2,012345678901,An,TET_GIFT,2021-01-20,-1\n")
    parse_file(con, p, "meritorious_benefits", "2021-01")
    got = reasons(con)
    assert got[0] == [] and "amount_vnd: out of range" in got[1][0]


def test_stopped_on_conditional(con, tmp_path):
    head = "beneficiary_id,citizen_id,full_name,sex,birth_date,category,monthly_amount_vnd,approved_on,status,stopped_on\n"
    p = write(tmp_path, "social_allowance_register.csv", head +
              "B1,012345678901,An,F,1940-01-01,ELDERLY_80PLUS,360.000,2015-01-01,ACTIVE,\n"
              "B2,012345678901,An,F,1940-01-01,ELDERLY_80PLUS,360.000,2015-01-01,STOPPED,\n"
              "B3,012345678901,An,F,1940-01-01,ELDERLY_80PLUS,360.000,2015-01-01,ACTIVE,2021-06-02\n"
              "B4,012345678901,An,F,1940-01-01,ELDERLY_80PLUS,360.000,2015-01-01,STOPPED,2021-06-02\n")
    parse_file(con, p, "social_allowance_register", "2021-06")
    got = reasons(con)
    assert got[0] == [] and got[3] == []
    assert got[1] == ["stopped_on: required when status = STOPPED"]
    assert got[2] == ["stopped_on: must be empty unless status = STOPPED"]


@pytest.mark.parametrize("birth,ok", [("2005-07-01", True), ("2005-06-30", False), ("2005-06-29", False)])
def test_child_under_16_on_last_day_of_month(con, tmp_path, birth, ok):
    p = write(tmp_path, "child_protection_register.csv",
              "child_id,sex,birth_date,circumstance,identified_on,is_receiving_support,status\n"
              f"C1,F,{birth},ORPHAN,2020-01-01,có,ACTIVE\n")
    parse_file(con, p, "child_protection_register", "2021-06")
    (r,) = reasons(con)
    assert (r == []) is ok, r
    if not ok:
        assert r == ["birth_date: child aged 16 or more on 2021-06-30"]


def test_identical_duplicates_count_once_and_conflicts_all_quarantined(con, tmp_path):
    other = GOOD_JP.replace("P1", "P9").replace("An", "Bình")
    pf = parse_jp(con, tmp_path, [GOOD_JP, GOOD_JP.replace(",M,1990-02-01,", ", m ,01/02/1990,"), other, other.replace("1990", "1991")])
    got = reasons(con)
    assert got[0] == []
    assert got[1] == ["identical duplicate of row 1 (counted once)"]  # same parsed values
    assert all("placement_id: record id repeated with different values (rows 3, 4)" in r[0] for r in got[2:])
    assert pf.rows_in == 4


def test_every_contract_column_has_its_rules():
    from dolisa.parse import describe_rules

    for ds in contract.datasets().values():
        names = describe_rules(ds)
        for c in ds.columns:
            if not c.optional:
                assert any(n.startswith(c.name + ":") for n in names), (ds.name, c.name)


@pytest.mark.parametrize("name,ok", [("job_placements.csv", True), ("../../evil.csv", False), ("a/b.csv", False),
                                     ("..", False), (".hidden", False), ("x\\y.csv", False), ("", False),
                                     ("job_placements.csv\n", False), ("job\nplacements.csv", False),
                                     ("job_placements.csv\r", False), ("job\tplacements.csv", False),
                                     ("job\x00.csv", False), ("040-2021-06-v1\n", False), (None, False)])
def test_safe_file_names(name, ok):
    assert safe_file_name(name) is ok


# --- hostile files are bounded (issue 10, point 5) ------------------------------------


@pytest.mark.parametrize("chunk", ["4", "7", "61", "1048576"])
def test_utf8_offset_is_exact_whatever_the_chunk(con, tmp_path, monkeypatch, chunk):
    monkeypatch.setenv("DOLISA_CSV_CHUNK_BYTES", chunk)
    data = (JP_HEADER + "\n" + GOOD_JP + "\n" + GOOD_JP.replace("P1", "P2") + "\n").encode("utf-8")
    # a valid 3-byte character split over any chunk boundary passes; the first bad byte is named
    p = write(tmp_path, "job_placements.csv", data=data)
    parse_file(con, p, "job_placements", "2021-06", declared_rows=2)
    at = len(data) - 20
    p = write(tmp_path, "job_placements.csv", data=data[:at] + b"\xe1\xbb" + data[at:])  # truncated 3-byte char
    with pytest.raises(FileDefect, match=rf"job_placements\.csv: not valid UTF-8 at byte offset {at}$"):
        parse_file(con, p, "job_placements", "2021-06")
    p = write(tmp_path, "job_placements.csv", data=data + b"\xc3")  # cut at the very end
    with pytest.raises(FileDefect, match=rf"at byte offset {len(data)}$"):
        parse_file(con, p, "job_placements", "2021-06")


def test_large_csv_is_not_held_in_python_memory(con, tmp_path):
    import tracemalloc

    from dolisa.parse import create_batch, read_file

    line = (GOOD_JP + "\n").encode("utf-8")
    n = 40 * (1 << 20) // len(line)  # ~40 MB
    p = tmp_path / "job_placements.csv"
    with open(p, "wb") as fh:
        fh.write((JP_HEADER + "\n").encode())
        for _ in range(n // 1000):
            fh.write(line * 1000)
    tracemalloc.start()
    try:
        create_batch(con, "job_placements", "big")
        fr = read_file(con, p, "job_placements", batch="big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fr.read_error is None and fr.records == n // 1000 * 1000
    assert peak < 8 * (1 << 20), f"peak Python memory {peak / (1 << 20):.1f} MiB reading a 40 MB CSV"


def test_csv_defect_reason_never_echoes_the_record(con, tmp_path):
    shifted = "P7,012345678999,Nguyễn Văn Bí Mật,M,1990-02-01,2021-06-03,DOMESTIC,,,extra"
    with pytest.raises(FileDefect) as e:
        parse_jp(con, tmp_path, [GOOD_JP, shifted])
    msg = str(e.value)
    assert "job_placements.csv" in msg and "line 3" in msg and "expected 9 fields, found 10" in msg
    assert "Bí Mật" not in msg and "012345678999" not in msg and "P7" not in msg
    with pytest.raises(FileDefect) as e:
        parse_jp(con, tmp_path, [GOOD_JP, '"Nguyễn Văn Bí Mật,012345678999'])
    assert "unterminated" in str(e.value) and "Bí Mật" not in str(e.value)


def _workbook(tmp_path, name="job_placements.xlsx", rows=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(JP_HEADER.split(","))
    for r in rows or [GOOD_JP.split(",")]:
        ws.append(r)
    p = tmp_path / name
    wb.save(p)
    return p


def _rezip(src, dst, extra=None, replace=None):
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for i in zin.infolist():
            data = (replace or {}).get(i.filename, zin.read(i))
            zout.writestr(i.filename, data)
        for n, data in (extra or {}).items():
            zout.writestr(n, data)
    return dst


def test_xlsx_bomb_is_rejected_before_it_is_opened(con, tmp_path, monkeypatch):
    good = _workbook(tmp_path)
    pf = parse_file(con, good, "job_placements", "2021-06", declared_rows=1)
    assert pf.rows_in == 1
    opened = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a) or 1 / 0)
    # one member that expands ~1000x (64 MB of spaces in a few dozen KB)
    (tmp_path / "bomb").mkdir()
    bomb = _rezip(good, tmp_path / "bomb" / "job_placements.xlsx", extra={"xl/media/padding.xml": b" " * (64 << 20)})
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(FileDefect, match=r"job_placements\.xlsx: XLSX member #\d+ expands \d+ times.*DOLISA_XLSX_MAX_RATIO"):
        parse_file(con, bomb, "job_placements", "2021-06")
    # total uncompressed size and member count, each a setting
    monkeypatch.setenv("DOLISA_XLSX_MAX_RATIO", "100000")
    monkeypatch.setenv("DOLISA_XLSX_MAX_UNCOMPRESSED", str(32 << 20))
    with pytest.raises(FileDefect, match=r"expands to \d+ bytes.*DOLISA_XLSX_MAX_UNCOMPRESSED"):
        parse_file(con, bomb, "job_placements", "2021-06")
    monkeypatch.setenv("DOLISA_XLSX_MAX_MEMBERS", "3")
    with pytest.raises(FileDefect, match=r"zip members.*DOLISA_XLSX_MAX_MEMBERS"):
        parse_file(con, good, "job_placements", "2021-06")
    assert opened == []  # never reached the XML parser


def test_xlsx_with_entity_declarations_is_refused(con, tmp_path):
    import zipfile

    good = _workbook(tmp_path)
    with zipfile.ZipFile(good) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
                         for i in range(1, 10))
              + b"]>" + sheet.split(b"?>", 1)[-1].replace(b"<v>", b"<v>&lol9;", 1))
    (tmp_path / "x").mkdir()
    bad = _rezip(good, tmp_path / "x" / "job_placements.xlsx", replace={"xl/worksheets/sheet1.xml": laughs})
    with pytest.raises(FileDefect, match=r"job_placements\.xlsx: XLSX XML declares a DTD or entity"):
        parse_file(con, bad, "job_placements", "2021-06")


def test_xlsx_defect_reason_has_no_exception_text(con, tmp_path):
    p = write(tmp_path, "job_placements.xlsx", data=b"PK\x03\x04 Nguyen Van An 012345678901")
    with pytest.raises(FileDefect) as e:
        parse_file(con, p, "job_placements", "2021-06")
    assert "unreadable XLSX" in str(e.value) and "Nguyen" not in str(e.value)


# --- many files of one dataset and month: one read per header mapping ----------


def test_files_that_map_alike_are_read_in_one_statement_and_keep_their_row_numbers(con, tmp_path, monkeypatch):
    from dolisa import parse

    def body(prefix, n):
        return [f"{prefix}{i},01234567890{i % 10},An,M,1990-02-01,2021-06-03,DOMESTIC,," for i in range(1, n + 1)]

    spelled = "\ufeff" + JP_HEADER.upper().replace(",", " , ")  # same positions, other spelling
    specs = [(JP_HEADER, body("A", 3)), (spelled, body("B", 1)), (JP_HEADER, []), (JP_HEADER, body("C", 2500))]
    files = []
    for i, (header, lines) in enumerate(specs):
        d = tmp_path / f"u{i}"
        d.mkdir()
        files.append((write(d, "job_placements.csv", "\n".join([header, *lines]) + "\n"), f"f{i}.csv", 10 + i))
    real = parse._try_insert_csv

    def one_statement(con, batch, members, *a):
        assert len(members) == len(files), "read file by file"
        return real(con, batch, members, *a)

    monkeypatch.setattr(parse, "_try_insert_csv", one_statement)
    parse.create_batch(con, "job_placements", "b")
    reads = parse.read_files(con, "job_placements", "b", files)
    assert [r.records for r in reads] == [3, 1, 0, 2500] and all(r.read_error is None for r in reads)
    got = con.execute("select file_key, source_row, placement_id__raw from b order by file_key, source_row").fetchall()
    want = [(10 + i, j, f"{p}{j}") for i, (p, n) in enumerate([("A", 3), ("B", 1), ("", 0), ("C", 2500)])
            for j in range(1, n + 1)]
    assert got == want


def test_one_broken_file_in_a_group_gets_its_own_verdict_and_the_others_load(con, tmp_path):
    from dolisa import parse

    good = write(tmp_path, "a.csv", "\n".join([JP_HEADER, GOOD_JP, GOOD_JP.replace("P1", "P2")]) + "\n")
    bad = write(tmp_path, "b.csv", "\n".join([JP_HEADER, GOOD_JP, GOOD_JP + ",extra"]) + "\n")
    parse.create_batch(con, "job_placements", "b")
    reads = parse.read_files(con, "job_placements", "b", [(good, "a.csv", 1), (bad, "b.csv", 2)])
    assert reads[0].read_error is None and reads[0].records == 2
    assert "b.csv: not a valid RFC 4180 CSV (expected 9 fields, found 10 at line 3)" == reads[1].read_error
    assert con.execute("select file_key, source_row from b order by 1, 2").fetchall() == [(1, 1), (1, 2)]
