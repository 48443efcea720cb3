"""The report's warnings as one list (dolisa.report.warnings): grouped by unit and dataset with
the months on one line, ordered by severity, written to warnings.csv, and read by the workbook,
the annex and the desk alike."""

from __future__ import annotations

import csv
import re

import docx
import openpyxl

from dolisa.report import write_human_report
from dolisa.report.warnings import CSV_COLUMNS, build_warnings, read_warnings_csv

from test_report_files import _small  # noqa: E402 (rootdir-relative test module)


def late(unit, period):
    return dict(rule="late_submission", severity="warning", message=f"{unit} {period}: first accepted version "
                "submitted after the deadline", unit_code=unit, period=period)


def quarantine(unit, period, n, share):
    return dict(rule="quarantine_share", severity="warning", message="...", unit_code=unit, period=period,
                values=dict(rows_quarantined=n, quarantine_share=share))


def outlier(unit, period, dataset, rows, expected, file_present=True):
    rule = "outlier" if file_present else "missing_dataset"
    return dict(rule=rule, severity="warning", message="...", unit_code=unit, period=period, item=dataset,
                values=dict(rows_loaded=rows, file_present=file_present, expected_rows=expected,
                            ratio_to_expected=(rows + 0.5) / (expected + 0.5), deviation_score=9 if rows > expected
                            else -9, basis="recent_months", basis_months=6))


FINDINGS = [
    late("049", "2021-05"), quarantine("040", "2021-03", 1, 1 / 22230), late("049", "2021-02"),
    outlier("042", "2021-05", "vocational_enrolments", 166, 80), quarantine("043", "2021-01", 40, 0.02),
    outlier("042", "2021-06", "vocational_enrolments", 170, 82), outlier("052", "2021-04", "social_allowance_register",
                                                                         0, 1216, file_present=False),
    dict(rule="same_period_gap", severity="warning", message="...", unit_code="044", period="2020-01",
         values=dict(current_unit_code="045")),
]


def test_grouped_by_unit_and_dataset_with_the_months_on_one_line():
    lines = build_warnings(FINDINGS)
    assert len(lines) == 6
    (lt,) = [w for w in lines if w.kind == "late"]
    assert lt.unit_code == "049" and lt.periods == ("2021-02", "2021-05") and lt.findings == 2
    assert lt.message_vi == ("Huyện Quảng Hòa nộp muộn số liệu tháng 2/2021 và 5/2021 (phiên bản được chấp nhận đầu "
                             "tiên nộp sau hạn ngày 5 tháng sau).")
    (up,) = [w for w in lines if w.kind == "outlier"]
    assert up.dataset == "vocational_enrolments" and up.periods == ("2021-05", "2021-06")
    assert "tháng 5/2021: 166 dòng, gấp 2,1 lần mức dự kiến" in up.message_vi
    assert "; tháng 6/2021: 170 dòng" in up.message_vi


def test_ordered_by_severity_then_kind():
    lines = build_warnings(FINDINGS)
    assert [(w.severity, w.kind) for w in lines] == [
        ("high", "outlier"), ("high", "missing_dataset"), ("medium", "same_period_gap"), ("medium", "quarantine"),
        ("low", "quarantine"), ("low", "late")]


def test_one_quarantined_row_shows_a_real_share():
    (one,) = [w for w in build_warnings(FINDINGS) if w.unit_code == "040"]
    assert "1 dòng" in one.message_vi and "(<0,1%)" in one.message_vi and "0%)" not in one.message_vi
    assert one.severity == "low"
    (big,) = [w for w in build_warnings(FINDINGS) if w.unit_code == "043"]
    assert "2%" in big.message_vi and big.severity == "medium"


def test_one_list_in_warnings_csv_the_workbook_and_the_annex(tmp_path, monkeypatch):
    from dolisa.report import docx_writer

    shown = 5
    monkeypatch.setattr(docx_writer, "ANNEX_WARNINGS", shown)
    ind, units, quality, reasons = _small()
    many = FINDINGS + [late(u, f"2021-0{m}") for u in ("040", "042", "043", "045", "047") for m in range(1, 7)]
    paths = write_human_report(tmp_path, "2021-H1", ind, units, quality, reasons, warnings=many)
    with open(paths["warnings.csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == CSV_COLUMNS
    assert {r["kind"] for r in rows} == {"outlier", "missing_dataset", "same_period_gap", "quarantine", "late"}
    for r in rows:
        assert re.fullmatch(r"\d{4}-\d{2}(;\d{4}-\d{2})*", r["periods"]), r
    assert [w.message_vi for w in read_warnings_csv(paths["warnings.csv"])] == [r["message_vi"] for r in rows]
    # the workbook: every line, in the same order
    ws = openpyxl.load_workbook(paths["indicators.xlsx"])["Cảnh báo"]
    sheet = [r[6] for r in ws.iter_rows(values_only=True) if isinstance(r[0], int)]
    assert sheet == [r["message_vi"] for r in rows]
    # the annex: the most severe lines, and how many more are elsewhere
    d = docx.Document(paths["indicators_annex.docx"])
    table = next(t for t in d.tables if [c.text for c in t.rows[0].cells] == ["STT", "Mức độ", "Loại cảnh báo",
                                                                              "Nội dung"])
    printed = [r.cells[3].text for r in table.rows[1:]]
    assert printed == [r["message_vi"] for r in rows][:shown] and len(rows) == 11
    text = "\n".join(p.text for p in d.paragraphs)
    assert f"Còn {len(rows) - shown} cảnh báo khác (6 mức thấp) không in ở đây" in text
    assert "warnings.csv" in text and "trang kỳ 2021-H1" in text


def test_no_warning_no_line(tmp_path):
    ind, units, quality, reasons = _small()
    paths = write_human_report(tmp_path, "2021-H1", ind, units, quality, reasons, warnings=[])
    assert paths["warnings.csv"].read_text(encoding="utf-8") == ",".join(CSV_COLUMNS) + "\n"
    assert "Không có cảnh báo." in "\n".join(p.text for p in docx.Document(paths["indicators_annex.docx"]).paragraphs)
