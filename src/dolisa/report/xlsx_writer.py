"""``indicators.xlsx``: the workbook the reporting team pastes from.

Sheets, in order:

* ``Tổng hợp`` — the province figures in catalogue order: STT, Chỉ tiêu,
  Đơn vị tính, Kết quả 6 tháng, Kế hoạch năm, % kế hoạch, Cùng kỳ, % cùng kỳ,
  and a last column *Diễn giải* with the sentence as the official report words
  it ("1.700 người, đạt 30,9% so với kế hoạch năm 2021, ...");
* ``Lao động - Việc làm``, ``Bảo trợ xã hội - Người có công``, ``Trẻ em`` —
  the six-month result of each indicator of the area for the province and for
  each reporting unit (one column per unit);
* ``Chất lượng dữ liệu`` — per reporting unit months expected / received / on time /
  late / missing, versions, rows loaded / quarantined; the month-by-month
  status; the quarantine reasons;
* ``Cảnh báo`` — the warnings published with the report, the list of
  :mod:`dolisa.report.warnings` (grouped by unit and dataset, most severe first);
* ``Số liệu`` — the same figures as real numbers (VND in đồng), one row per
  indicator and unit, for anyone who needs to compute.

Number format decision: Excel displays a number format with the *reader's*
locale separators, so a numeric cell cannot be guaranteed to show ``1.700``
and ``30,9%``. The figures on the human sheets (Tổng hợp and the area sheets)
are therefore **text** formatted by :mod:`dolisa.report.formats`
(right-aligned), exactly what goes into the Word report; the numeric twins are
on ``Số liệu``. VND amounts on the human sheets are in ``triệu đồng`` (the
Đơn vị tính column says so; the Diễn giải column uses triệu/tỷ as the report
does). The counts on ``Chất lượng dữ liệu`` are Vietnamese text too (``22.230``): a
numeric cell with ``#,##0`` showed ``22,230`` on a reader whose spreadsheet runs in
English, beside the ``1.700`` of the other sheets.

Every sheet: frozen header rows, column widths, A4 landscape fitted to one
page wide, header rows repeated on each printed page, the title in the page
header and page numbers in the footer. When ``incomplete_note`` is given a red
banner "BÁO CÁO CHƯA ĐẦY ĐỦ: ..." is the first line of every sheet.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._common import (
    AREAS,
    MISSING_CELL,
    PROVINCE_CODE,
    QUALITY_SUMMARY_COLUMNS,
    STATUS_VI,
    as_of_text,
    atomic_path,
    banner_text,
    catalogue,
    display_unit,
    has_unit_groups,
    indicator_phrase,
    is_pct_indicator,
    month_label,
    ordered_units,
    period_title,
    quality_summary,
    revision_lines,
    same_period_notes,
    unit_groups,
    unit_label,
    unit_names,
    unit_sort_key,
)
from .formats import fmt_int, fmt_pct, fmt_value, is_missing
from .messages_vi import dataset_vi, reason_readable_vi
from .warnings import ReportWarning, as_warnings, summary_vi

SUMMARY_HEADERS = [
    "STT",
    "Chỉ tiêu",
    "Đơn vị tính",
    "Kết quả 6 tháng",
    "Kế hoạch năm",
    "% kế hoạch",
    "Cùng kỳ",
    "% cùng kỳ",
    "Diễn giải",
]
SHEET_SUMMARY = "Tổng hợp"
SHEET_QUALITY = "Chất lượng dữ liệu"
SHEET_WARNINGS = "Cảnh báo"
SHEET_NUMBERS = "Số liệu"
SHEET_REVISIONS = "Điều chỉnh số liệu"
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
FONT = "Times New Roman"
STATUS_FILL = {"on_time": "#C6EFCE", "late": "#FFEB9C", "missing": "#FFC7CE"}


def _excel_header_text(text: str) -> str:
    return text.replace("&", "&&")[:200]


class _Book:
    def __init__(self, path: Path, as_of: str | None = None):
        import xlsxwriter

        self.as_of = as_of

        self.wb = xlsxwriter.Workbook(
            str(path),
            {
                "default_format_properties": {"font_name": FONT, "font_size": 12},
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        base = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}
        f = self.wb.add_format
        self.title = f({**base, "bold": True, "font_size": 14, "align": "center"})
        self.subtitle = f({**base, "italic": True, "align": "center"})
        self.banner = f({**base, "bold": True, "font_color": "#C00000", "bg_color": "#FDE9E9", "text_wrap": True})
        self.note = f({**base, "italic": True, "font_size": 10})
        self.head = f({**base, "bold": True, "align": "center", "text_wrap": True, "border": 1, "bg_color": "#DDEBF7"})
        self.area = f({**base, "bold": True, "border": 1, "bg_color": "#F2F2F2"})
        self.text = f({**base, "border": 1, "text_wrap": True})
        self.center = f({**base, "border": 1, "align": "center"})
        self.num_text = f({**base, "border": 1, "align": "right"})
        self.int = f({**base, "border": 1, "num_format": "#,##0"})
        self.dec1 = f({**base, "border": 1, "num_format": "0.0"})
        self.total_text = f({**base, "border": 1, "bold": True})
        self.total_int = f({**base, "border": 1, "bold": True, "num_format": "#,##0"})
        self.total_num_text = f({**base, "border": 1, "bold": True, "align": "right"})
        self.warning = f({**base, "text_wrap": True, "border": 1})
        self.wrap = f({**base, "text_wrap": True, "valign": "top"})
        self.status = {
            s: f({**base, "border": 1, "align": "center", "bg_color": c, "text_wrap": True})
            for s, c in STATUS_FILL.items()
        }

    def sheet(self, name: str, title: str, ncols: int, banner: str | None, subtitle: str | None = None):
        """A sheet with title rows; returns (worksheet, first free row)."""
        ws = self.wb.add_worksheet(name)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.8, bottom=0.7)
        ws.center_horizontally()
        ws.set_header(f'&C&"{FONT},Bold"&12{_excel_header_text(title)}')
        ws.set_footer("&CTrang &P/&N")
        ws.hide_gridlines(0)
        last = max(ncols - 1, 0)
        row = 0
        ws.merge_range(row, 0, row, last, title, self.title) if last else ws.write(row, 0, title, self.title)
        ws.set_row(row, 24)
        row += 1
        for line in (subtitle, self.as_of):
            if line:
                ws.merge_range(row, 0, row, last, line, self.subtitle) if last else ws.write(
                    row, 0, line, self.subtitle
                )
                row += 1
        if banner:
            ws.merge_range(row, 0, row, last, banner, self.banner) if last else ws.write(row, 0, banner, self.banner)
            ws.set_row(row, 36)
            row += 1
        return ws, row + 1  # one blank line


def _header(book: _Book, ws, row: int, headers: Sequence[str], repeat: bool = True, freeze_cols: int = 0) -> int:
    for c, h in enumerate(headers):
        ws.write(row, c, h, book.head)
    ws.set_row(row, 32)
    if repeat:
        ws.repeat_rows(row)
        ws.freeze_panes(row + 1, freeze_cols)
    return row + 1


LINE_POINTS = 16  # one line of Times New Roman 12
MONTH_COL = 15  # width of the data-quality sheet's number and month columns


def _fit_row(ws, row: int, *cells: tuple[str, float]) -> None:
    """Set the row's height to hold its wrapped text: LibreOffice (and Excel when printing
    from a file it has not re-laid out) keeps the default height, and wrapped text then
    spills over the next rows. ``cells`` are (text, column width in characters)."""
    import math

    lines = 1
    for text, width in cells:
        chars = max(int(width * 0.95) - 1, 1)
        n = sum(max(1, math.ceil(len(part) / chars)) for part in str(text or "").split("\n"))
        lines = max(lines, n)
    if lines > 1:
        ws.set_row(row, LINE_POINTS * lines + 2)


def _cell(x, unit_vi, *, pct: bool = False) -> str:
    if pct:
        return fmt_pct(x, empty=MISSING_CELL)
    return fmt_value(x, unit_vi, empty=MISSING_CELL)


def _province_rows(indicators: pd.DataFrame) -> dict[str, pd.Series]:
    prov = indicators[indicators["unit_code"].astype(str) == PROVINCE_CODE]
    return {str(r["indicator_code"]): r for _, r in prov.iterrows()}


def _summary_sheet(book: _Book, report_period: str, indicators: pd.DataFrame, banner: str | None) -> None:
    title = f"TỔNG HỢP KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU {period_title(report_period).upper()} - TỈNH CAO BẰNG"
    ws, row = book.sheet(
        SHEET_SUMMARY,
        title,
        len(SUMMARY_HEADERS),
        banner,
        subtitle=f"Kỳ báo cáo {report_period}; số liệu dạng số: xem sheet “{SHEET_NUMBERS}”",
    )
    row = _header(book, ws, row, SUMMARY_HEADERS)
    cat = catalogue(indicators)
    prov = _province_rows(indicators)
    areas = list(dict.fromkeys(list(AREAS) + [a for a in cat.get("area", pd.Series(dtype=str)).dropna().unique()]))
    for ai, area in enumerate(a for a in areas if (cat.get("area") == a).any()):
        ws.write(row, 0, ROMAN[ai] if ai < len(ROMAN) else str(ai + 1), book.area)
        ws.merge_range(row, 1, row, len(SUMMARY_HEADERS) - 1, AREAS.get(area, area), book.area)
        row += 1
        for n, (_, meta) in enumerate(cat[cat["area"] == area].iterrows(), start=1):
            r = prov.get(meta["indicator_code"])
            unit_vi = meta.get("unit_vi")
            get = (r if r is not None else {}).get
            ws.write(row, 0, n, book.center)
            ws.write(row, 1, str(meta.get("label_vi", meta["indicator_code"])), book.text)
            ws.write(row, 2, display_unit(unit_vi), book.center)
            ws.write_string(row, 3, _cell(get("value"), unit_vi), book.num_text)
            ws.write_string(row, 4, _cell(get("plan_value"), unit_vi), book.num_text)
            ws.write_string(row, 5, _cell(get("pct_of_plan"), None, pct=True), book.num_text)
            ws.write_string(row, 6, _cell(get("same_period_value"), unit_vi), book.num_text)
            ws.write_string(row, 7, _cell(get("pct_of_same_period"), None, pct=True), book.num_text)
            ws.write_string(row, 8, indicator_phrase(r, report_period) if r is not None else "", book.text)
            _fit_row(
                ws,
                row,
                (str(meta.get("label_vi", "")), 52),
                (indicator_phrase(r, report_period) if r is not None else "", 60),
            )
            row += 1
    for c, w in enumerate([6, 52, 12, 15, 14, 12, 14, 12, 60]):
        ws.set_column(c, c, w, book.wrap if c in (1, 8) else None)


GROUPED_COLUMNS = 10  # indicator columns per printed page of a grouped area sheet


def _grouped_area_sheets(
    book: _Book, report_period: str, indicators: pd.DataFrame, units: pd.DataFrame, banner: str | None
) -> None:
    """Since the 2025 reform: one row per unit (56 communes and wards), grouped under their
    former district (a reading aid: the group's heading carries no figure), one column per
    indicator of the area; the province first. Prints on A4 landscape, one page wide."""
    names = unit_names(units)
    codes = ordered_units(units, indicators["unit_code"].astype(str).unique())
    groups = unit_groups(units, codes)
    cat = catalogue(indicators)
    by_key = {(str(r["indicator_code"]), str(r["unit_code"])): r["value"] for _, r in indicators.iterrows()}
    for area, sheet_name in AREAS.items():
        sub = cat[cat["area"] == area]
        headers = ["STT", "Đơn vị"] + [
            f"{meta.get('label_vi', meta['indicator_code'])} ({display_unit(meta.get('unit_vi'))})"
            for _, meta in sub.iterrows()
        ]
        title = f"{sheet_name.upper()}: KẾT QUẢ {period_title(report_period).upper()} THEO ĐƠN VỊ"
        ws, row = book.sheet(sheet_name, title, len(headers), banner)
        row = _header(book, ws, row, headers, freeze_cols=2)
        ws.set_row(row - 1, LINE_POINTS * 5)
        metas = list(sub.iterrows())

        def unit_row(r: int, n: int | str, code: str, label_format, ws=ws, metas=metas) -> None:
            ws.write(r, 0, n, book.center)
            ws.write(r, 1, unit_label(code, names), label_format)
            for j, (_, meta) in enumerate(metas):
                ws.write_string(
                    r, 2 + j, _cell(by_key.get((meta["indicator_code"], code)), meta.get("unit_vi")), book.num_text
                )

        unit_row(row, "", PROVINCE_CODE, book.total_text)
        row += 1
        n = 0
        for heading, members in groups:
            if heading:
                ws.merge_range(row, 0, row, len(headers) - 1, f"Địa bàn {heading}", book.area)
                row += 1
            for code in members:
                n += 1
                unit_row(row, n, code, book.text)
                row += 1
        ws.write(
            row + 1,
            1,
            "Nhóm theo địa bàn huyện cũ chỉ để dễ đọc; không có số liệu cộng theo huyện cũ cho kỳ từ tháng 7/2025.",
            book.note,
        )
        ws.set_column(0, 0, 5)
        ws.set_column(1, 1, 26, book.wrap)
        ws.set_column(2, 1 + len(metas), 12)
        # printed at most GROUPED_COLUMNS indicators a page wide, the unit columns on every page
        ws.fit_to_pages(max(1, -(-len(metas) // GROUPED_COLUMNS)), 0)
        ws.repeat_columns(0, 1)


def _area_sheets(
    book: _Book, report_period: str, indicators: pd.DataFrame, units: pd.DataFrame, banner: str | None
) -> None:
    if has_unit_groups(units):
        return _grouped_area_sheets(book, report_period, indicators, units, banner)
    names = unit_names(units)
    codes = ordered_units(units, indicators["unit_code"].astype(str).unique())
    cat = catalogue(indicators)
    by_key = {(str(r["indicator_code"]), str(r["unit_code"])): r["value"] for _, r in indicators.iterrows()}
    headers = ["STT", "Chỉ tiêu", "Đơn vị tính"] + [unit_label(c, names, short=True) for c in codes]
    for area, sheet_name in AREAS.items():
        sub = cat[cat["area"] == area]
        title = f"{sheet_name.upper()}: KẾT QUẢ {period_title(report_period).upper()} THEO ĐƠN VỊ"
        ws, row = book.sheet(sheet_name, title, len(headers), banner)
        row = _header(book, ws, row, headers, freeze_cols=3)
        if sub.empty:
            ws.write(row, 1, "Không có chỉ tiêu.", book.note)
        for n, (_, meta) in enumerate(sub.iterrows(), start=1):
            unit_vi = meta.get("unit_vi")
            ws.write(row, 0, n, book.center)
            ws.write(row, 1, str(meta.get("label_vi", meta["indicator_code"])), book.text)
            ws.write(row, 2, display_unit(unit_vi), book.center)
            for j, code in enumerate(codes):
                ws.write_string(row, 3 + j, _cell(by_key.get((meta["indicator_code"], code)), unit_vi), book.num_text)
            _fit_row(ws, row, (str(meta.get("label_vi", "")), 46))
            row += 1
        ws.set_column(0, 0, 6)
        ws.set_column(1, 1, 46, book.wrap)
        ws.set_column(2, 2, 11)
        ws.set_column(3, 2 + len(codes), 12)


def _quality_sheet(
    book: _Book,
    report_period: str,
    quality: pd.DataFrame,
    quarantine_reasons: pd.DataFrame | None,
    units: pd.DataFrame,
    banner: str | None,
) -> None:
    summary = quality_summary(quality, units)
    headers = list(QUALITY_SUMMARY_COLUMNS.values())[1:]  # without the code
    months = sorted(quality["period"].astype(str).unique())
    ncols = max(len(headers), 1 + len(months), 9)
    ws, row = book.sheet(
        SHEET_QUALITY,
        f"CHẤT LƯỢNG DỮ LIỆU BÁO CÁO CỦA CÁC ĐƠN VỊ - {period_title(report_period).upper()}",
        ncols,
        banner,
    )
    ws.write(row, 0, "1. Tổng hợp theo đơn vị", book.area)
    row += 1
    row = _header(book, ws, row, headers, repeat=False)  # three tables: no one header repeats on every page
    for _, r in summary.iterrows():
        total = r["unit_code"] == PROVINCE_CODE
        ws.write(row, 0, r["name_vi"], book.total_text if total else book.text)
        for j, col in enumerate(list(QUALITY_SUMMARY_COLUMNS)[2:], start=1):
            ws.write_string(row, j, fmt_int(r[col]), book.total_num_text if total else book.num_text)
        row += 1

    row += 1
    ws.write(row, 0, "2. Tình hình nộp theo tháng (trạng thái, số phiên bản, dòng cách ly)", book.area)
    row += 1
    _header(book, ws, row, ["Đơn vị"] + [month_label(m) for m in months], repeat=False)
    row += 1
    q = quality.copy()
    q["unit_code"] = q["unit_code"].astype(str)
    q["period"] = q["period"].astype(str)
    names = unit_names(units)
    for code in sorted(q["unit_code"].unique(), key=unit_sort_key):
        sub = q[q["unit_code"] == code].set_index("period")
        ws.write(row, 0, names.get(code, sub["name_vi"].iloc[0] if "name_vi" in sub else code), book.text)
        texts: list[tuple[str, float]] = []
        for j, m in enumerate(months, start=1):
            if m not in sub.index:
                ws.write(row, j, MISSING_CELL, book.center)
                continue
            rec = sub.loc[m]
            if isinstance(rec, pd.DataFrame):
                rec = rec.iloc[-1]
            status = str(rec["status"])
            text = STATUS_VI.get(status, status)
            if status != "missing":
                text += f" (v{int(rec.get('versions_received') or 0)}"
                nq = rec.get("rows_quarantined")
                if not is_missing(nq) and int(nq) > 0:
                    text += f"; {fmt_int(nq)} dòng CL"
                text += ")"
            ws.write_string(row, j, text, book.status.get(status, book.center))
            texts.append((text, MONTH_COL))
        _fit_row(ws, row, *texts)
        row += 1

    row += 1
    ws.write(row, 0, "3. Lý do cách ly dòng dữ liệu", book.area)
    row += 1
    # the reason table shares the sheet's columns: dataset over 2 of them, reason over 4
    _header(book, ws, row, ["Đơn vị", "Tháng", "Bộ dữ liệu", "", "Lý do", "", "", "", "Số dòng"], repeat=False)
    ws.merge_range(row, 2, row, 3, "Bộ dữ liệu", book.head)
    ws.merge_range(row, 4, row, 7, "Lý do", book.head)
    row += 1
    qr = quarantine_reasons if quarantine_reasons is not None else pd.DataFrame()
    if qr.empty:
        ws.write(row, 0, "Không có dòng nào bị cách ly.", book.note)
    else:
        qr = qr.copy()
        qr["unit_code"] = qr["unit_code"].astype(str)
        qr["_k"] = qr["unit_code"].map(unit_sort_key)
        qr = qr.sort_values(["_k", "period", "rows"], ascending=[True, True, False], kind="stable")
        for _, r in qr.iterrows():
            ws.write(row, 0, names.get(r["unit_code"], r["unit_code"]), book.text)
            ws.write(row, 1, month_label(r["period"]), book.center)
            ws.merge_range(row, 2, row, 3, dataset_vi(str(r["dataset"])), book.text)
            ws.merge_range(row, 4, row, 7, reason_readable_vi(str(r["reason"])), book.text)
            ws.write_string(row, 8, fmt_int(r["rows"], empty="0"), book.num_text)
            _fit_row(
                ws,
                row,
                (dataset_vi(str(r["dataset"])), 2 * MONTH_COL),
                (reason_readable_vi(str(r["reason"])), 4 * MONTH_COL),
            )
            row += 1
    ws.set_column(0, 0, 24, book.wrap)
    ws.set_column(1, max(ncols - 1, 1), MONTH_COL, book.wrap)


def _warnings_sheet(book: _Book, report_period: str, warnings: Sequence[ReportWarning], banner: str | None) -> None:
    """Every line of the report's warnings (the same list as warnings.csv and the annex)."""
    headers = ["STT", "Mức độ", "Loại cảnh báo", "Đơn vị", "Bộ dữ liệu", "Tháng", "Nội dung cảnh báo"]
    widths = [6, 11, 20, 22, 24, 14, 80]
    ws, row = book.sheet(
        SHEET_WARNINGS,
        f"CẢNH BÁO KÈM THEO BÁO CÁO {period_title(report_period).upper()}",
        len(headers),
        banner,
        subtitle=summary_vi(warnings),
    )
    row = _header(book, ws, row, headers)
    if not warnings:
        ws.write(row, 6, "Không có cảnh báo.", book.warning)
    for i, w in enumerate(warnings, start=1):
        cells = [w.severity_vi, w.title_vi, w.unit_vi, w.dataset_vi, w.months_vi, w.message_vi]
        ws.write(row, 0, i, book.center)
        for c, text in enumerate(cells, start=1):
            ws.write_string(row, c, text, book.warning)
        _fit_row(ws, row, *zip(cells, widths[1:], strict=False))
        row += 1
    for c, w in enumerate(widths):
        ws.set_column(c, c, w, book.wrap if c else None)


def _revisions_sheet(
    book: _Book, report_period: str, indicators: pd.DataFrame, revisions: pd.DataFrame, banner: str | None
) -> None:
    """'Điều chỉnh số liệu': how the figures changed since the as-of date, one line per
    unit-month whose version in force changed."""
    ws, row = book.sheet(SHEET_REVISIONS, f"ĐIỀU CHỈNH SỐ LIỆU {period_title(report_period).upper()}", 3, banner)
    row = _header(book, ws, row, ["STT", "Chỉ tiêu", "Nội dung điều chỉnh"])
    lines = revision_lines(revisions, indicators)
    if not lines:
        ws.write(row, 2, "Không có điều chỉnh số liệu.", book.warning)
    for i, (label, text) in enumerate(lines, start=1):
        ws.write(row, 0, i, book.center)
        ws.write_string(row, 1, label, book.text)
        ws.write_string(row, 2, text, book.text)
        _fit_row(ws, row, (label, 46), (text, 70))
        row += 1
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 46, book.wrap)
    ws.set_column(2, 2, 70, book.wrap)


def _numbers_sheet(
    book: _Book, report_period: str, indicators: pd.DataFrame, units: pd.DataFrame, banner: str | None
) -> None:
    headers = [
        "report_period",
        "indicator_code",
        "unit_code",
        "Đơn vị",
        "Chỉ tiêu",
        "Đơn vị tính",
        "value",
        "plan_value",
        "pct_of_plan",
        "same_period_value",
        "pct_of_same_period",
        "Ghi chú",
    ]
    notes = same_period_notes(indicators)
    ws, row = book.sheet(SHEET_NUMBERS, f"SỐ LIỆU DẠNG SỐ - KỲ {report_period} (tiền: đồng)", len(headers), banner)
    first = row
    row = _header(book, ws, row, headers)
    names = unit_names(units)
    df = indicators.copy()
    df["unit_code"] = df["unit_code"].astype(str)
    df["_u"] = df["unit_code"].map(unit_sort_key)
    sort_cols = (["sort_order"] if "sort_order" in df else []) + ["indicator_code", "_u"]
    df = df.sort_values(sort_cols, kind="stable")
    for _, r in df.iterrows():
        pct_ind = is_pct_indicator(r)
        ws.write_string(row, 0, str(r["report_period"]))
        ws.write_string(row, 1, str(r["indicator_code"]))
        ws.write_string(row, 2, r["unit_code"])
        ws.write_string(row, 3, unit_label(r["unit_code"], names), book.wrap)
        ws.write_string(row, 4, str(r.get("label_vi", "")), book.wrap)
        _fit_row(ws, row, (unit_label(r["unit_code"], names), 22), (str(r.get("label_vi", "")), 50))
        ws.write_string(row, 5, str(r.get("unit_vi", "") or ""))
        for j, col in enumerate(
            ["value", "plan_value", "pct_of_plan", "same_period_value", "pct_of_same_period"], start=6
        ):
            v = r.get(col)
            if is_missing(v):
                ws.write_blank(row, j, None, book.int)
                continue
            one_dec = col.startswith("pct_") or pct_ind
            ws.write_number(row, j, float(v), book.dec1 if one_dec else book.int)
        if r["unit_code"] in notes:
            ws.write_string(row, 11, notes[r["unit_code"]], book.wrap)
        row += 1
    ws.autofilter(first, 0, max(row - 1, first), len(headers) - 1)
    for c, w in enumerate([13, 30, 10, 22, 50, 11, 16, 14, 12, 18, 18, 40]):
        ws.set_column(c, c, w)


def write_indicators_xlsx(
    path: str | os.PathLike,
    indicators: pd.DataFrame,
    units: pd.DataFrame,
    quality: pd.DataFrame,
    quarantine_reasons: pd.DataFrame | None = None,
    warnings: Sequence[str] = (),
    incomplete_note: str | None = None,
    *,
    report_period: str | None = None,
    revisions: pd.DataFrame | None = None,
    as_of=None,
) -> Path:
    """Write ``indicators.xlsx`` (atomically); returns the path.

    ``report_period`` defaults to the (single) ``report_period`` of
    ``indicators``. ``warnings``: the list of :mod:`dolisa.report.warnings` (or the gate's
    findings it is built from). An as-of report
    passes ``as_of`` (a date, printed on every sheet's face) and ``revisions`` (columns
    :data:`dolisa.report._common.REVISION_COLUMNS`), written to the sheet
    "Điều chỉnh số liệu"."""
    path = Path(path)
    if report_period is None:
        periods = indicators["report_period"].dropna().astype(str).unique()
        report_period = periods[0] if len(periods) else ""
    banner = banner_text(incomplete_note)
    with atomic_path(path) as tmp:
        book = _Book(tmp, as_of_text(as_of))
        try:
            _summary_sheet(book, report_period, indicators, banner)
            _area_sheets(book, report_period, indicators, units, banner)
            _quality_sheet(book, report_period, quality, quarantine_reasons, units, banner)
            _warnings_sheet(book, report_period, as_warnings(warnings), banner)
            if revisions is not None:
                _revisions_sheet(book, report_period, indicators, revisions, banner)
            _numbers_sheet(book, report_period, indicators, units, banner)
        finally:
            book.wb.close()
    return path
