import struct

import openpyxl
import pandas as pd
import pytest

from dolisa.report import HUMAN_FILES, write_human_report
from dolisa.report.charts import area_chart, quality_heatmap
from dolisa.report.docx_writer import write_annex_docx
from dolisa_demo.report_sample import sample_frames
from dolisa.report.xlsx_writer import SUMMARY_HEADERS, write_indicators_xlsx

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOTE = "Huyện Hạ Lang chưa nộp số liệu tháng 6/2021."


def _small():
    units = pd.DataFrame(
        [("04", "Tỉnh Cao Bằng"), ("040", "Thành phố Cao Bằng"), ("042", "Huyện Bảo Lâm")],
        columns=["unit_code", "name_vi"],
    )
    meta = {
        "LAB_VOC_NEW_SOCAP": (1, "labour", "Tuyển mới đào tạo trình độ sơ cấp", "người"),
        "SP_FUNERAL_AMOUNT_VND": (2, "social_protection", "Kinh phí mai táng phí", "đồng"),
        "CH_SPECIAL_SUPPORTED_PCT": (3, "child_welfare", "Tỷ lệ trẻ em được trợ giúp", "%"),
    }
    vals = {
        ("LAB_VOC_NEW_SOCAP", "04"): (1700, 5500, 30.9, 1308, 130.0),
        ("LAB_VOC_NEW_SOCAP", "040"): (1000, None, None, 800, 125.0),
        ("LAB_VOC_NEW_SOCAP", "042"): (700, None, None, 508, 137.8),
        ("SP_FUNERAL_AMOUNT_VND", "04"): (1_600_000_000, None, None, None, None),
        ("SP_FUNERAL_AMOUNT_VND", "040"): (1_200_000_000, None, None, None, None),
        ("SP_FUNERAL_AMOUNT_VND", "042"): (400_000_000, None, None, None, None),
        ("CH_SPECIAL_SUPPORTED_PCT", "04"): (95.3, None, None, 94.0, 101.4),
        ("CH_SPECIAL_SUPPORTED_PCT", "040"): (96.0, None, None, None, None),
        ("CH_SPECIAL_SUPPORTED_PCT", "042"): (94.1, None, None, None, None),
    }
    rows = []
    for (code, unit), (v, p, pp, s, ps) in vals.items():
        so, area, label, unit_vi = meta[code]
        rows.append(dict(report_period="2021-H1", indicator_code=code, unit_code=unit, value=v, plan_value=p,
                         pct_of_plan=pp, same_period_value=s, pct_of_same_period=ps, sort_order=so, area=area,
                         label_vi=label, unit_vi=unit_vi, kind="flow"))
    ind = pd.DataFrame(rows)
    q = []
    for u, name in (("040", "Thành phố Cao Bằng"), ("042", "Huyện Bảo Lâm")):
        for m in range(1, 7):
            status = "missing" if (u, m) == ("042", 6) else ("late" if m == 2 else "on_time")
            q.append(dict(unit_code=u, name_vi=name, period=f"2021-{m:02d}", status=status,
                          versions_received=0 if status == "missing" else 1 + (m == 3),
                          rows_loaded=0 if status == "missing" else 100, rows_quarantined=5 if m == 4 else 0))
    quality = pd.DataFrame(q)
    reasons = pd.DataFrame(
        [("040", "2021-04", "job_placements", "placed_on outside the month", 5),
         ("042", "2021-04", "vocational_enrolments", "unknown training_level", 5)],
        columns=["unit_code", "period", "dataset", "reason", "rows"],
    )
    return ind, units, quality, reasons


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    w, h = struct.unpack(">II", data[16:24])
    return w, h, len(data)


def test_xlsx_sheets_headers_and_values(tmp_path):
    ind, units, quality, reasons = _small()
    p = write_indicators_xlsx(tmp_path / "indicators.xlsx", ind, units, quality, reasons, ["Cảnh báo thử"], None)
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["Tổng hợp", "Lao động - Việc làm", "Bảo trợ xã hội - Người có công", "Trẻ em",
                             "Chất lượng dữ liệu", "Cảnh báo", "Số liệu"]
    ws = wb["Tổng hợp"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header_idx = next(i for i, r in enumerate(rows) if r[:8] == SUMMARY_HEADERS[:8])
    assert ws.freeze_panes == f"A{header_idx + 2}"
    assert ws.print_title_rows == f"${header_idx + 1}:${header_idx + 1}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    soc = next(r for r in rows if r[1] == "Tuyển mới đào tạo trình độ sơ cấp")
    assert soc[2:8] == ["người", "1.700", "5.500", "30,9%", "1.308", "130%"]  # as the Diễn giải says it
    assert soc[8] == "1.700 người, đạt 30,9% so với kế hoạch năm 2021, đạt 130% so với cùng kỳ"
    money = next(r for r in rows if r[1] == "Kinh phí mai táng phí")
    assert money[2:4] == ["triệu đồng", "1.600"] and money[4] == "—" and money[8] == "1,6 tỷ đồng"
    pct = next(r for r in rows if r[1] == "Tỷ lệ trẻ em được trợ giúp")
    assert pct[3] == "95,3%"
    assert not any("CHƯA ĐẦY ĐỦ" in str(c) for r in rows for c in r)

    lab = [list(r) for r in wb["Lao động - Việc làm"].iter_rows(values_only=True)]
    assert ["STT", "Chỉ tiêu", "Đơn vị tính", "Toàn tỉnh", "TP. Cao Bằng", "Bảo Lâm"] in lab
    assert [1, "Tuyển mới đào tạo trình độ sơ cấp", "người", "1.700", "1.000", "700"] in lab

    dq = [list(r) for r in wb["Chất lượng dữ liệu"].iter_rows(values_only=True)]
    # counts as Vietnamese text, whatever the reader's spreadsheet locale (issue 31: "22,230" beside "1.700")
    assert ["Huyện Bảo Lâm", "6", "5", "4", "1", "1", "6", "500", "5"] == dq[[r[0] for r in dq].index("Huyện Bảo Lâm")][:9]
    assert any(r[4] == "lỗi kỹ thuật: unknown training_level" for r in dq)  # an unknown wording, marked as such
    assert any("Cảnh báo thử" in str(c) for r in wb["Cảnh báo"].iter_rows(values_only=True) for c in r)

    num = [list(r) for r in wb["Số liệu"].iter_rows(values_only=True)]
    row = next(r for r in num if r[1] == "SP_FUNERAL_AMOUNT_VND" and r[2] == "04")
    assert row[6] == 1_600_000_000 and row[7] is None


def test_incomplete_note_on_every_sheet_and_file(tmp_path):
    ind, units, quality, reasons = _small()
    paths = write_human_report(tmp_path, "2021-H1", ind, units, quality, reasons, warnings=["w"], incomplete_note=NOTE)
    wb = openpyxl.load_workbook(paths["indicators.xlsx"])
    for ws in wb:
        texts = [str(c) for r in ws.iter_rows(max_row=4, values_only=True) for c in r if c]
        assert f"BÁO CÁO CHƯA ĐẦY ĐỦ: {NOTE}" in texts, ws.title
    import docx

    d = docx.Document(paths["indicators_annex.docx"])
    assert d.paragraphs[0].text == f"BÁO CÁO CHƯA ĐẦY ĐỦ: {NOTE}"
    assert f"BÁO CÁO CHƯA ĐẦY ĐỦ: {NOTE}" in [p.text for p in d.sections[0].header.paragraphs]


def test_docx_has_tables_images_and_repeated_headers(tmp_path):
    import docx
    from docx.oxml.ns import qn

    ind, units, quality, reasons = _small()
    img = quality_heatmap(tmp_path / "data_quality_heatmap.png", quality, units)
    p = write_annex_docx(tmp_path / "indicators_annex.docx", "2021-H1", ind, units, quality, ["Cảnh báo thử"], None,
                         [img], quarantine_reasons=reasons)
    d = docx.Document(p)
    text = "\n".join(par.text for par in d.paragraphs)
    assert "PHỤ LỤC SỐ LIỆU 6 THÁNG ĐẦU NĂM 2021" in text
    assert "CHƯA ĐẦY ĐỦ" not in text
    headers = [[c.text for c in t.rows[0].cells] for t in d.tables]
    assert ["1", "Thấp", "", "Cảnh báo thử"] in [[c.text for c in r.cells] for t in d.tables for r in t.rows]
    assert headers[0] == ["STT", "Chỉ tiêu", "Đơn vị tính", "Kết quả 6 tháng", "Kế hoạch năm", "% kế hoạch",
                          "Cùng kỳ", "% cùng kỳ"]
    assert ["STT", "Chỉ tiêu", "ĐVT", "Toàn tỉnh", "TP. Cao Bằng", "Bảo Lâm"] in headers
    assert any(h[:3] == ["Đơn vị", "Tháng phải nộp", "Đã nhận"] for h in headers)
    summary = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert ["1", "Tuyển mới đào tạo trình độ sơ cấp", "người", "1.700", "5.500", "30,9%", "1.308", "130%"] in summary
    for t in d.tables:
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert len(d.inline_shapes) == 1
    sec = d.sections[0]
    assert abs(sec.page_width.cm - 29.7) < 0.01 and abs(sec.page_height.cm - 21.0) < 0.01
    assert d.styles["Normal"].font.name == "Times New Roman"
    assert "Huyện Bảo Lâm (T6/2021)" in text  # missing months are spelled out


def test_heatmap_and_chart_are_valid_pngs(tmp_path):
    ind, units, quality, _ = _small()
    p = quality_heatmap(tmp_path / "hm.png", quality, units)
    w, h, size = _png_size(p)
    assert 800 < w < 4000 and 400 < h < 3000 and size > 10_000
    c = area_chart(tmp_path / "chart.png", ind, units, "labour")
    w, h, size = _png_size(c)
    assert w > 500 and h > 300 and size > 10_000
    c2 = area_chart(tmp_path / "chart_sp.png", ind, units, "social_protection", ["SP_FUNERAL_AMOUNT_VND"])
    assert _png_size(c2)[2] > 10_000
    assert sorted(x.name for x in tmp_path.iterdir()) == ["chart.png", "chart_sp.png", "hm.png"]


def test_write_human_report_full_sample(tmp_path):
    f = sample_frames("2021-H1")
    paths = write_human_report(tmp_path / "2021-H1", "2021-H1", f["indicators"], f["units"], f["quality"],
                               f["quarantine_reasons"], warnings=("a",))
    assert list(paths) == list(HUMAN_FILES)
    assert {p.name for p in (tmp_path / "2021-H1").iterdir()} == set(HUMAN_FILES)
    assert not (tmp_path / "2021-H1" / "indicators.csv").exists()
    dq = pd.read_csv(paths["data_quality.csv"], dtype={"unit_code": str})
    assert list(dq.columns) == ["unit_code", "name_vi", "period", "status", "versions_received", "rows_loaded",
                                "rows_quarantined"]
    assert len(dq) == 60 and dq["unit_code"].iloc[0] == "040"
    assert dq.loc[(dq.unit_code == "048") & (dq.period == "2021-06"), "status"].item() == "missing"
    import docx

    annex = docx.Document(paths["indicators_annex.docx"])
    captions = [p.text for p in annex.paragraphs if p.text.startswith("Hình ")]
    assert len(captions) == 4 and len(annex.inline_shapes) >= 4  # a tall chart is cut over pages


def test_a_chart_names_what_it_does_not_draw(tmp_path):
    """Issue 31: the labour chart showed 6 of its 9 indicators and said nothing of the other 3."""
    from dolisa.report.charts import default_chart_indicators, not_drawn

    from pathlib import Path

    seed = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "indicator_catalogue.csv"
    ind = pd.read_csv(seed)[["indicator_code", "sort_order", "area", "label_vi", "unit_vi", "kind"]]
    labour = ind[ind["area"] == "labour"]
    drawn = default_chart_indicators(ind, "labour")
    assert len(labour) == 9 and len(drawn) == 8  # every count; the amount is not a bar of people
    assert not_drawn(ind, "labour", drawn) == ["Số tiền trợ cấp thất nghiệp"]
    for area in ("social_protection", "child_welfare"):
        drawn = default_chart_indicators(ind, area)
        others = not_drawn(ind, area, drawn)
        assert len(drawn) + len(others) == (ind.drop_duplicates("indicator_code")["area"] == area).sum()


def test_annex_first_page_names_the_period_in_words_and_section_three_in_a_readers_words(tmp_path):
    import docx

    ind, units, quality, _ = _small()
    reasons = pd.DataFrame([("040", "2021-05", "social_allowance_register", "stopped_on: required when status = STOPPED", 1),
                            ("042", "2021-01", "job_placements", "country_code: must be empty unless destination = ABROAD",
                             1)], columns=["unit_code", "period", "dataset", "reason", "rows"])
    d = docx.Document(write_annex_docx(tmp_path / "a.docx", "2021-H1", ind, units, quality, [], None, [],
                                       quarantine_reasons=reasons))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "Kỳ báo cáo: 6 tháng đầu năm 2021 (từ 01/01/2021 đến 30/06/2021)." in text and "2021-H1" not in text
    cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
    assert "Ngày thôi hưởng: bắt buộc khi trạng thái là «thôi hưởng»" in cells
    assert "Mã quốc gia: phải để trống trừ khi nơi làm việc là «ngoài nước»" in cells
    assert not any(word in c for c in cells for word in ("stopped_on", "STOPPED", "ABROAD", "destination"))
