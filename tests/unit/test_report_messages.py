"""Warnings and gate findings in Vietnamese (one catalogue keyed by rule name), the report
files' print layout (XLSX wraps and prints A4 landscape fit to width; the Word annex's
by-district tables in their own landscape section, the indicator name the widest column)
and the as-of hook (revisions section, as-of date on the face)."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from dolisa.quality.report_gate import Finding
from dolisa.report import write_human_report
from dolisa.report.docx_writer import write_annex_docx
from dolisa.report.messages_vi import RULES_VI, finding_vi, reason_vi
from dolisa.report.xlsx_writer import write_indicators_xlsx

from test_report_files import _small  # noqa: E402 (rootdir-relative test module)

ENGLISH = re.compile(r"\b(submitted|rows?|quarantined|rejected|version|after|median|accepted|the|no value)\b")


def _declared_rules() -> list[str]:
    from dolisa.quality import load_expectations

    return [r.name for r in load_expectations("report_gate").RULES]


# What today's checks write (dolisa.quality.report_gate), one finding per rule.
FINDINGS = [
    Finding("completeness", "blocking", "049 Huyện Hà Quảng: no accepted submission for 2021-05", "049", "2021-05"),
    Finding("indicators_present", "blocking",
            "unit 051: no value for 7 indicator(s): A, B, C, D, E and 2 more", "051"),
    Finding("no_personal_data", "blocking", "marts.fct_x.full_name is personal data"),
    Finding("late_submission", "warning", "049 2021-01: first accepted version submitted 2021-02-07 10:05 (after the 5th)",
            "049", "2021-01"),
    Finding("quarantined_rows", "warning", "040 2021-03: 12 row(s) quarantined", "040", "2021-03"),
    Finding("rejected_version", "warning",
            "042 2021-04: version 042-2021-04-v2 rejected: job_placements.csv: missing column placed_on",
            "042", "2021-04"),
    Finding("outlier", "warning",
            "043 2021-02 job_placements: 40 rows, more than 3x the median (7.5) of its previous 12 months", "043", "2021-02"),
]
# The GX gate's findings (helper B): structured fields in `item` and `values`.
NEW_FINDINGS = [
    dict(rule="indicators_computable", severity="blocking", message="unit 051: indicator X cannot be computed for 2021-H1",
         unit_code="051", period="2021-H1", item="LAB_JOB_PLACEMENTS"),
    dict(rule="row_conservation", severity="blocking", message="...", unit_code="040", period="2021-03",
         item="040-2021-03-v1/job_placements.csv", values=dict(rows_in=10, rows_loaded=8, rows_quarantined=1)),
    dict(rule="quarantine_share", severity="warning", message="040 2021-03: 12 row(s) quarantined (1.20% of ...)",
         unit_code="040", period="2021-03", values=dict(rows_quarantined=12, quarantine_share=0.012)),
    dict(rule="same_period_gap", severity="warning", message="...", unit_code="044", period="2020-01",
         values=dict(unit_name_vi="Huyện Thông Nông", current_unit_code="045")),
    dict(rule="deferred_version", severity="warning", message="...", unit_code="049", period="2021-06",
         item="049-2021-06-v3"),
    dict(rule="gate_error", severity="blocking", message="x: the expectation could not be evaluated", item="x"),
    dict(rule="dbt_test_warning", severity="warning", message="test.dolisa.not_null_x: the dbt data test warned",
         item="test.dolisa.not_null_x", values=dict(failures=3)),
    dict(rule="outlier", severity="warning", message="...", unit_code="043", period="2021-02", item="job_placements",
         values=dict(rows_loaded=40, history_median=7.5)),  # a quality_gate.json written before issue 31
    dict(rule="outlier", severity="warning", message="...", unit_code="047", period="2021-01",
         item="vocational_enrolments", values=dict(rows_loaded=30, file_present=True, expected_rows=77.7,
                                                    ratio_to_expected=0.39, deviation_score=-4.0, basis="same_month",
                                                    basis_months=1)),
    dict(rule="missing_dataset", severity="warning", message="...", unit_code="052", period="2021-04",
         item="social_allowance_register", values=dict(rows_loaded=0, file_present=False, expected_rows=1216.3,
                                                       ratio_to_expected=0.0004, deviation_score=-40.0,
                                                       basis="recent_months", basis_months=6)),
]


def test_every_declared_rule_has_one_vietnamese_message():
    assert set(_declared_rules()) <= set(RULES_VI)
    assert set(_declared_rules()) <= {f.rule for f in FINDINGS} | {f["rule"] for f in NEW_FINDINGS}


@pytest.mark.parametrize("finding", NEW_FINDINGS, ids=lambda f: f["rule"])
def test_structured_findings_read_as_vietnamese_sentences(finding):
    text = finding_vi(finding)
    assert not ENGLISH.search(text) and "«" not in text, text  # its own sentence, not the generic one
    if finding.get("unit_code"):
        assert "Huyện" in text or "Thành phố" in text, text


def test_structured_fields_fill_the_sentence():
    by_rule = {f["rule"]: finding_vi(f) for f in NEW_FINDINGS}
    assert "12 dòng" in by_rule["quarantine_share"] and "1,2%" in by_rule["quarantine_share"]
    assert by_rule["same_period_gap"].startswith("Huyện Thông Nông chưa có số liệu được chấp nhận tháng 1/2020")
    assert "số liệu cùng kỳ của Huyện Hà Quảng chưa đầy đủ" in by_rule["same_period_gap"]
    assert "(10)" in by_rule["row_conservation"] and "(8)" in by_rule["row_conservation"]
    old_outlier, outlier = (finding_vi(f) for f in NEW_FINDINGS if f["rule"] == "outlier")
    assert "40 dòng" in old_outlier and "7,5" in old_outlier
    assert outlier.startswith("Huyện Trùng Khánh, Tuyển sinh giáo dục nghề nghiệp, tháng 1/2021: 30 dòng, chỉ bằng")
    assert "mức dự kiến khoảng 78 dòng (tính theo cùng tháng năm trước và" in outlier  # the basis, truthfully
    assert "không có tệp Danh sách đối tượng hưởng trợ cấp xã hội" in by_rule["missing_dataset"]
    assert "dự kiến khoảng 1.216 dòng (tính theo 6 tháng gần nhất" in by_rule["missing_dataset"]
    assert "LAB_JOB_PLACEMENTS" in by_rule["indicators_computable"]


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.rule)
def test_findings_read_as_vietnamese_sentences(finding):
    for form in (finding, finding.__dict__, f"[{finding.rule}] {finding.message}"):
        text = finding_vi(form)
        assert not ENGLISH.search(text), text
        assert not text.startswith("["), text
        if finding.unit_code:
            assert "Huyện" in text or "Thành phố" in text, text


def test_details_carried_into_the_sentence():
    late = finding_vi(FINDINGS[3])
    assert late.startswith("Huyện Quảng Hòa nộp muộn số liệu tháng 1/2021")
    assert "10:05 ngày 07/02/2021" in late
    assert "12 dòng" in finding_vi(FINDINGS[4])
    assert "7 chỉ tiêu (A, B, C, D, E và 2 chỉ tiêu khác)" in finding_vi(FINDINGS[1])
    out = finding_vi(FINDINGS[6])
    assert "40 dòng" in out and "7,5" in out and "Giới thiệu việc làm" in out
    assert "phiên bản 2 bị từ chối" in finding_vi(FINDINGS[5])


def test_unknown_rule_falls_back_to_a_generic_vietnamese_sentence():
    text = finding_vi({"rule": "brand_new_rule", "severity": "warning", "message": "049 2020-05: something new",
                       "unit_code": "049", "period": "2020-05"})
    assert text == "Huyện Quảng Hòa, tháng 5/2020: phát hiện vấn đề chất lượng dữ liệu (quy tắc «brand_new_rule»)."
    assert "something" not in finding_vi("[brand_new] 049 2021-01: something odd")


def test_quarantine_reasons_translated_without_quoted_values():
    text = reason_vi("citizen_id: malformed citizen id (12 or 9 digits expected); "
                     "birth_date: cannot be read as a date (YYYY-MM-DD or DD/MM/YYYY); "
                     "odd thing 'Trần Thị B' here; birth_date: cannot read 'Nguyễn Văn An' as a date")
    assert "số định danh sai định dạng" in text and "birth_date: không đọc được ngày" in text
    assert "lỗi kỹ thuật: odd thing '…' here" in text  # a wording of no known kind: quotes blanked
    assert "Nguyễn" not in text and "Trần" not in text


def test_report_files_carry_the_vietnamese_warnings(tmp_path):
    import docx

    ind, units, quality, reasons = _small()
    warnings = [f"[{f.rule}] {f.message}" for f in FINDINGS if f.severity == "warning"]
    paths = write_human_report(tmp_path, "2021-H1", ind, units, quality, reasons, warnings=warnings)
    ws = openpyxl.load_workbook(paths["indicators.xlsx"])["Cảnh báo"]
    texts = [str(c) for r in ws.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert finding_vi(FINDINGS[3]) in texts and "Nộp muộn" in texts
    assert not any(t.startswith("[late_submission]") or "submitted" in t for t in texts)
    d = docx.Document(paths["indicators_annex.docx"])
    cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
    assert finding_vi(FINDINGS[3]) in cells and not any("submitted" in c for c in cells)


def test_xlsx_text_columns_wrap_and_sheets_print_a4_landscape_fit_to_width(tmp_path):
    ind, units, quality, reasons = _small()
    p = write_indicators_xlsx(tmp_path / "i.xlsx", ind, units, quality, reasons, [FINDINGS[3]])
    wb = openpyxl.load_workbook(p)
    for ws in wb:
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9, ws.title
        # fitToWidth 1 is the OOXML default (absent); fitToHeight 0 = as many pages as needed
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1, ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title
    summary = wb["Tổng hợp"]
    phrase = next(c for r in summary.iter_rows() for c in r if isinstance(c.value, str) and c.value.startswith("1.700 người"))
    assert phrase.column_letter == "I" and phrase.alignment.wrap_text
    # rows are as tall as their wrapped text (LibreOffice does not grow them when printing)
    ws = wb["Cảnh báo"]
    long_warning = next(c for r in ws.iter_rows() for c in r if isinstance(c.value, str) and "nộp muộn" in c.value)
    assert long_warning.alignment.wrap_text
    summary_label_rows = [c.row for r in summary.iter_rows() for c in r
                          if isinstance(c.value, str) and len(c.value) > 60 and c.column_letter == "I"]
    for row in summary_label_rows:
        assert summary.row_dimensions[row].height and summary.row_dimensions[row].height >= 30
    label = next(c for r in summary.iter_rows() for c in r if c.value == "Tuyển mới đào tạo trình độ sơ cấp")
    assert label.alignment.wrap_text
    numbers = wb["Số liệu"]
    label = next(c for r in numbers.iter_rows() for c in r if c.value == "Tuyển mới đào tạo trình độ sơ cấp")
    assert label.alignment.wrap_text
    dq = wb["Chất lượng dữ liệu"]
    reason = next(c for r in dq.iter_rows() for c in r if isinstance(c.value, str) and "unknown training_level" in c.value)
    assert reason.alignment.wrap_text


def test_docx_by_district_tables_in_landscape_sections_with_the_widest_name_column(tmp_path):
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn

    ind, units, quality, reasons = _small()
    d = docx.Document(write_annex_docx(tmp_path / "a.docx", "2021-H1", ind, units, quality, [], None, []))
    assert len(d.sections) >= 2
    for sec in d.sections:
        assert sec.orientation == WD_ORIENT.LANDSCAPE and sec.page_width > sec.page_height
    by_district = [t for t in d.tables if [c.text for c in t.rows[0].cells][:3] == ["STT", "Chỉ tiêu", "ĐVT"]]
    assert by_district
    for t in by_district:
        grid = [int(g.get(qn("w:w"))) for g in t._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert grid[1] == max(grid) and grid[1] > 2 * sorted(grid)[-2], grid
        assert t._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    # the section holding the by-district tables starts before them (a section break in the body)
    body = d.element.body
    first = by_district[0]._tbl
    preceding = [el for el in body.iterchildren() if el is not first]
    idx = list(body.iterchildren()).index(first)
    assert any(el.find(".//" + qn("w:sectPr")) is not None for el in list(body.iterchildren())[:idx]), preceding[:0]


def test_revisions_section_and_as_of_date(tmp_path):
    import docx

    ind, units, quality, reasons = _small()
    rev = pd.DataFrame([
        dict(indicator_code="LAB_VOC_NEW_SOCAP", unit_code="045", source_unit_code="045", source_period="2021-05",
             version_as_of=1, version_now=2, contribution=34),
        dict(indicator_code="SP_FUNERAL_AMOUNT_VND", unit_code="040", source_unit_code="040", source_period="2021-03",
             version_as_of=2, version_now=3, contribution=-4_000_000),
    ])
    paths = write_human_report(tmp_path, "2021-H1", ind, units, quality, reasons, revisions=rev, as_of="2021-07-15")
    wb = openpyxl.load_workbook(paths["indicators.xlsx"])
    sheet = [list(r) for r in wb["Điều chỉnh số liệu"].iter_rows(values_only=True)]
    assert [1, "Tuyển mới đào tạo trình độ sơ cấp", "Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34 người"] in sheet
    assert [2, "Kinh phí mai táng phí", "Thành phố Cao Bằng, tháng 3/2021: phiên bản 2 → 3, −4 triệu đồng"] in sheet
    for ws in wb:
        assert any("Số liệu chốt đến hết ngày 15/07/2021" == c for r in ws.iter_rows(max_row=5, values_only=True)
                   for c in r), ws.title
    d = docx.Document(paths["indicators_annex.docx"])
    body = "\n".join(p.text for p in d.paragraphs)
    assert "Số liệu chốt đến hết ngày 15/07/2021" in body and "ĐIỀU CHỈNH SỐ LIỆU" in body
    cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
    assert "Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34 người" in cells
    # an ordinary report has neither
    plain = write_indicators_xlsx(tmp_path / "p.xlsx", ind, units, quality, reasons)
    assert "Điều chỉnh số liệu" not in openpyxl.load_workbook(plain).sheetnames


def test_incomplete_note_in_vietnamese():
    from dolisa.report.messages_vi import incomplete_note_vi

    assert incomplete_note_vi([]) is None
    note = incomplete_note_vi([FINDINGS[0].__dict__])
    assert note == ("BÁO CÁO CHƯA ĐẦY ĐỦ — được phát hành khi còn thiếu số liệu (1 vấn đề): Huyện Quảng Hòa chưa có "
                    "phiên bản số liệu được chấp nhận cho tháng 5/2021.")


def test_the_pipelines_incomplete_note_is_worded_in_vietnamese_on_the_report():
    from dolisa.report._common import banner_text

    note = ("BÁO CÁO CHƯA ĐẦY ĐỦ — được phát hành khi còn thiếu số liệu (2 vấn đề): "
            "048 Huyện Hạ Lang: no accepted submission for 2021-06; unit 051: indicator X cannot be computed for 2021-H1")
    text = banner_text(note)
    assert text == ("BÁO CÁO CHƯA ĐẦY ĐỦ — được phát hành khi còn thiếu số liệu (2 vấn đề): Huyện Hạ Lang chưa có "
                    "phiên bản số liệu được chấp nhận cho tháng 6/2021; Huyện Hòa An: chưa tính được chỉ tiêu X.")
    assert banner_text("Huyện Hạ Lang chưa nộp số liệu tháng 6/2021.") == (
        "BÁO CÁO CHƯA ĐẦY ĐỦ: Huyện Hạ Lang chưa nộp số liệu tháng 6/2021.")
