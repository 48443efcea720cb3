"""The 'Điều chỉnh số liệu' section of an as-of report (contract §6), added to the XLSX and
the Word annex after the writers have written them — used only while the writers
(xlsx_writer, docx_writer) do not take ``as_of`` / ``revisions`` themselves.

One line per revision, in Vietnamese: "Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2,
+34 người", grouped under the indicator's label; the as-of date on the face of both files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dolisa import contract

from .formats import fmt_int, fmt_money, fmt_pct, is_missing

TITLE = "Điều chỉnh số liệu"


def source_unit_name(unit_code: str, period: str) -> str:
    """The submitting unit's name in that month (049 is Quảng Uyên in 2020-01, Quảng Hòa after)."""
    for u in contract.admin_units():
        if u.unit_code == unit_code and u.valid_in(period):
            return u.name_vi
    for u in contract.admin_units():
        if u.unit_code == unit_code:
            return u.name_vi
    return unit_code


def amount_vi(value, unit_vi: str) -> str:
    if is_missing(value):
        return "không so sánh được (không có số liệu tại một trong hai thời điểm)"
    sign = "+" if float(value) >= 0 else "−"
    unit = (unit_vi or "").strip()
    if unit in {"đồng", "VND"}:
        return f"{sign}{fmt_money(abs(float(value)))}"
    if unit == "%":
        return f"{sign}{fmt_pct(abs(float(value)), always_decimal=True)[:-1]} điểm %"
    return f"{sign}{fmt_int(abs(float(value)))} {unit}".strip()


def revision_line_vi(r) -> str:
    """'Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34 người'."""
    y, m = contract.parse_period(str(r["source_period"]))
    before = r["version_as_of"]
    before = "chưa có" if is_missing(before) or str(before) == "" else str(before)
    return (f"{source_unit_name(str(r['source_unit_code']), str(r['source_period']))}, tháng {m}/{y}: "
            f"phiên bản {before} → {r['version_now']}, {amount_vi(r['contribution'], r.get('unit_vi', ''))}")


def section_lines(revisions: pd.DataFrame | None, indicators: pd.DataFrame) -> list[tuple[str, str]]:
    """(indicator label, line) in report order."""
    if revisions is None or len(revisions) == 0:
        return []
    labels = dict(zip(indicators["indicator_code"], indicators["label_vi"]))
    return [(labels.get(r["indicator_code"], r["indicator_code"]), revision_line_vi(r)) for _, r in revisions.iterrows()]


def add_to_xlsx(path: Path, stamp: str, revisions: pd.DataFrame | None, indicators: pd.DataFrame) -> None:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:  # the as-of date on the face of every sheet
        ws.oddHeader.center.text = stamp
    ws = wb.create_sheet(TITLE)
    ws["A1"] = TITLE.upper()
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = stamp
    ws["A2"].font = Font(bold=True, color="C00000")
    ws["A4"], ws["B4"] = "Chỉ tiêu", "Điều chỉnh"
    lines = section_lines(revisions, indicators) or [("", "Không có điều chỉnh nào kể từ ngày này.")]
    for i, (label, line) in enumerate(lines, start=5):
        ws.cell(i, 1, label)
        ws.cell(i, 2, line)
    ws.column_dimensions["A"].width = 55
    ws.column_dimensions["B"].width = 90
    wb.move_sheet(ws, offset=-wb.index(ws))  # the first sheet a reader sees states the date
    wb.active = 0
    wb.save(path)


def add_to_docx(path: Path, stamp: str, revisions: pd.DataFrame | None, indicators: pd.DataFrame) -> None:
    import docx

    doc = docx.Document(str(path))
    first = doc.paragraphs[0] if doc.paragraphs else doc.add_paragraph()
    banner = first.insert_paragraph_before(stamp)
    banner.runs[0].bold = True
    doc.add_heading(TITLE, level=1)
    doc.add_paragraph(stamp)
    lines = section_lines(revisions, indicators)
    if not lines:
        doc.add_paragraph("Không có điều chỉnh nào kể từ ngày này.")
    current = None
    for label, line in lines:
        if label != current:
            p = doc.add_paragraph()
            p.add_run(label).bold = True
            current = label
        doc.add_paragraph(line, style="List Bullet" if "List Bullet" in [s.name for s in doc.styles] else None)
    doc.save(str(path))
