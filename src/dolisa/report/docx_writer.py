"""``indicators_annex.docx``: the Word annex "Phụ lục số liệu 6 tháng ...".

A4 landscape (the by-unit tables have a column per reporting unit), margins
2 cm, Times New Roman 13 for the text and 11 in the tables (10 in the
by-unit tables), every table's header row repeated on each page and rows
not split across pages. Content: the red "BÁO CÁO CHƯA ĐẦY ĐỦ" banner when
``incomplete_note`` is given; I. the province summary (same columns as the
xlsx summary sheet); II. one table per area by reporting unit; III. data quality per
reporting unit (and the quarantine reasons when given); IV. warnings; V. the images
(heatmap and per-area charts) with captions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._common import (
    AREAS,
    MISSING_CELL,
    PROVINCE_CODE,
    QUALITY_SUMMARY_COLUMNS,
    as_of_text,
    atomic_path,
    banner_text,
    catalogue,
    display_unit,
    has_unit_groups,
    month_label,
    ordered_units,
    period_dates_vi,
    period_title,
    quality_summary,
    revision_lines,
    same_period_notes,
    unit_groups,
    unit_label,
    unit_names,
    unit_sort_key,
    units_phrase,
)
from .formats import fmt_int, fmt_pct, fmt_value
from .messages_vi import dataset_vi, reason_readable_vi
from .warnings import CSV_NAME as WARNINGS_CSV
from .warnings import SEVERITY_VI, as_warnings, summary_vi

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
WIDE_TABLE_PT = 10
SUMMARY_HEADERS = [
    "STT",
    "Chỉ tiêu",
    "Đơn vị tính",
    "Kết quả 6 tháng",
    "Kế hoạch năm",
    "% kế hoạch",
    "Cùng kỳ",
    "% cùng kỳ",
]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
ANNEX_WARNINGS = 20  # lines of section IV; the rest are on the desk, in the workbook and in warnings.csv
IMAGE_CAPTIONS = {
    "data_quality_heatmap": "Tình hình nộp số liệu của các {units} theo tháng",
    **{f"chart_{k}": f"{v}: kết quả theo {{units}}" for k, v in AREAS.items()},
}


def _set_font(run, size: float | None = None, bold: bool | None = None, italic: bool | None = None, colour=None):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = FONT
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), FONT)
    if size:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic
    if colour is not None:
        run.font.color.rgb = colour


def _para(
    doc_or_cell, text: str = "", *, size=BODY_PT, bold=False, italic=False, align=None, colour=None, space_after=4
):
    from docx.shared import Pt

    p = doc_or_cell.add_paragraph()
    if text:
        _set_font(p.add_run(text), size, bold, italic, colour)
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(space_after)
    p.paragraph_format.space_before = Pt(0)
    return p


def _table(
    doc,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_cm: Sequence[float],
    *,
    size: float = TABLE_PT,
    numeric_from: int = 3,
    bold_rows: Sequence[int] = (),
    group_rows: Sequence[int] = (),
    center: Sequence[int] | None = None,
    merge_groups: bool = False,
):
    """A bordered table; columns from ``numeric_from`` are right-aligned; ``center`` lists the
    centred columns (default: the first one, and the unit column before the numbers).
    ``merge_groups``: a group row's heading spans from its second column to the last.

    The table's XML is written as one string and parsed once (python-docx builds a table cell by
    cell, which took most of the annex's time at 56 units). It is the XML python-docx wrote:
    a fixed layout with the grid's and every cell's width (Word and LibreOffice honour those),
    the header row repeated on every page, no row split across pages."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls
    from docx.shared import Cm, Pt
    from docx.table import Table

    ncols = len(headers)
    widths = [Cm(w).twips for w in widths_cm]
    half_points = int(Pt(size).pt * 2)
    run_open = '<w:r/><w:r><w:rPr><w:rFonts w:ascii="{f}" w:hAnsi="{f}" w:cs="{f}" w:eastAsia="{f}"/>'.format(f=FONT)
    size_el = f'<w:sz w:val="{half_points}"/></w:rPr>'
    shd = '<w:shd w:val="clear" w:color="auto" w:fill="{}"/>'
    bold_on, bold_off = "<w:b/>", '<w:b w:val="0"/>'

    def cell(text: str, width: int, *, bold: bool, align: str, shade: str | None, span: int = 1) -> str:
        tcpr = f'<w:tcW w:type="dxa" w:w="{width}"/>'
        if span > 1:
            tcpr += f'<w:gridSpan w:val="{span}"/>'
        if shade:
            tcpr += shd.format(shade)
        return (
            f'<w:tc><w:tcPr>{tcpr}</w:tcPr><w:p><w:pPr><w:spacing w:after="0"/><w:jc w:val="{align}"/></w:pPr>'
            f"{run_open}{bold_on if bold else bold_off}{size_el}{_w_t(text)}</w:r></w:p></w:tc>"
        )

    parts = [
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="{_table_style_id(doc)}"/>'
        f'<w:tblW w:type="dxa" w:w="{int(sum(widths_cm) / 2.54 * 1440)}"/><w:jc w:val="center"/>'
        '<w:tblLayout w:type="fixed"/><w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" '
        'w:lastRow="0" w:noHBand="0" w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>',
        *(f'<w:gridCol w:w="{w}"/>' for w in widths),
        '</w:tblGrid><w:tr><w:trPr><w:tblHeader w:val="true"/><w:cantSplit w:val="true"/></w:trPr>',
        *(cell(h, widths[c], bold=True, align="center", shade="DDEBF7") for c, h in enumerate(headers)),
        "</w:tr>",
    ]
    group_set, bold_set = set(group_rows), set(bold_rows)
    centred = None if center is None else set(center)
    for i, values in enumerate(rows):
        if len(values) != ncols:
            raise ValueError(f"table row {i} has {len(values)} cells, the header {ncols}")
        group = i in group_set
        bold = group or i in bold_set
        shade = "F2F2F2" if group else None
        parts.append('<w:tr><w:trPr><w:cantSplit w:val="true"/></w:trPr>')
        for c, v in enumerate(values):
            if c >= numeric_from:
                align = "right"
            elif centred is not None:
                align = "center" if c in centred else "left"
            elif c == 0 or (c == numeric_from - 1 and numeric_from >= 3):
                align = "center"
            else:
                align = "left"
            if group and merge_groups and ncols > 2 and c >= 1:
                if c == 1:  # the heading spans to the last column (python-docx kept the last column's width)
                    parts.append(cell(v, widths[-1], bold=bold, align=align, shade=shade, span=ncols - 1))
                continue
            parts.append(cell(v, widths[c], bold=bold, align=align, shade=shade))
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    tbl = parse_xml("".join(parts))
    doc.element.body._insert_tbl(tbl)
    return Table(tbl, doc._body)


def _w_t(text: str) -> str:
    """A run's text as python-docx writes it: tabs and line breaks as their own elements,
    ``xml:space="preserve"`` on a piece with spaces at either end."""
    from xml.sax.saxutils import escape

    out = []
    for piece in re.split(r"([\t\r\n])", str(text)):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            out.append("<w:br/>")
        elif piece:
            keep = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{keep}>{escape(piece)}</w:t>")
    return "".join(out)


def _table_style_id(doc) -> str:
    return doc.styles["Table Grid"].style_id


def _landscape_section(doc, *, new: bool):
    """Start (or set up the first) section as A4 landscape with 2 cm margins; returns it."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Cm

    sec = doc.add_section(WD_SECTION.NEW_PAGE) if new else doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    sec.left_margin = sec.right_margin = Cm(2.0)
    sec.top_margin, sec.bottom_margin = Cm(2.0), Cm(1.8)
    return sec


def _summary_rows(report_period: str, indicators: pd.DataFrame) -> tuple[list[list[str]], list[int]]:
    cat = catalogue(indicators)
    prov = {
        str(r["indicator_code"]): r
        for _, r in indicators[indicators["unit_code"].astype(str) == PROVINCE_CODE].iterrows()
    }
    rows, groups = [], []
    areas = [a for a in AREAS if (cat["area"] == a).any()] + [a for a in cat["area"].unique() if a not in AREAS]
    for ai, area in enumerate(areas):
        groups.append(len(rows))
        rows.append([ROMAN[ai] if ai < len(ROMAN) else str(ai + 1), AREAS.get(area, area)] + [""] * 6)
        for n, (_, meta) in enumerate(cat[cat["area"] == area].iterrows(), start=1):
            r = prov.get(meta["indicator_code"])
            u = meta.get("unit_vi")
            g = (r if r is not None else {}).get
            rows.append(
                [
                    str(n),
                    str(meta.get("label_vi", meta["indicator_code"])),
                    display_unit(u),
                    fmt_value(g("value"), u, empty=MISSING_CELL),
                    fmt_value(g("plan_value"), u, empty=MISSING_CELL),
                    fmt_pct(g("pct_of_plan"), empty=MISSING_CELL),
                    fmt_value(g("same_period_value"), u, empty=MISSING_CELL),
                    fmt_pct(g("pct_of_same_period"), empty=MISSING_CELL),
                ]
            )
    return rows, groups


def _caption_for(image: Path, units_text: str) -> str:
    stem = Path(image).stem
    return IMAGE_CAPTIONS.get(stem, stem.replace("_", " ")).replace("{units}", units_text)


def _image_slices(img: Path, max_ratio: float) -> list[tuple[int, int, int, int]]:
    """``(top, bottom, width, height)`` in pixels of each horizontal band to show of the picture:
    the whole picture, or, when fitting it on one page would shrink it below half the page's
    width (a chart of 56 communes), bands none taller than ``max_ratio`` × the width, each cut
    on a white row where one is near the cut."""
    import numpy as np
    from PIL import Image

    with Image.open(img) as im:
        w, h = im.size
        if h <= w * max_ratio * 2:
            return [(0, h, w, h)]
        step = int(w * max_ratio)
        darkest = np.asarray(im.convert("L")).min(axis=1)  # per pixel row
    out, top = [], 0
    while top < h:
        cut = min(h, top + step)
        if cut < h:  # move the cut up to a blank row, within the last fifth of the slice
            for y in range(cut, top + int(step * 0.8), -1):
                if darkest[y] >= 250:
                    cut = y
                    break
        out.append((top, cut, w, h))
        top = cut
    return out


def _crop_picture(pic, top: int, bottom: int, height: int) -> None:
    """Show only rows ``top``..``bottom`` of the picture (DrawingML ``a:srcRect``, in thousandths of
    a percent: what Word writes for a cropped picture). The picture is stored once in the file
    and each page shows its band of it, instead of each band being cut out and encoded again."""
    from docx.oxml.ns import qn

    if top == 0 and bottom == height:
        return
    blip_fill = pic._inline.graphic.graphicData.pic.blipFill
    rect = blip_fill.makeelement(qn("a:srcRect"), {})
    if top:
        rect.set("t", str(round(top * 100_000 / height)))
    if bottom < height:
        rect.set("b", str(round((height - bottom) * 100_000 / height)))
    blip_fill.blip.addnext(rect)


GROUPED_COLUMNS = 10  # indicator columns per table of the by-unit section (A4 landscape, 10 pt)


def _grouped_unit_tables(
    doc,
    when: str,
    cat: pd.DataFrame,
    units: pd.DataFrame,
    codes: Sequence[str],
    names: dict[str, str],
    by_key: dict,
    usable: float,
) -> None:
    """Since the 2025 reform: per area, one row per unit (56 communes and wards) grouped under
    their former district (a reading aid: a group's heading carries no figure), the province
    first; the indicators as numbered columns, at most GROUPED_COLUMNS per table, with a
    legend, so that every table prints on A4 landscape."""
    _para(doc, f"II. KẾT QUẢ {when.upper()} THEO XÃ, PHƯỜNG", bold=True, space_after=6)
    groups = unit_groups(units, codes)
    for ai, (area, title) in enumerate((a, t) for a, t in AREAS.items() if (cat["area"] == a).any()):
        sub = list(cat[cat["area"] == area].iterrows())
        for part in range(0, len(sub), GROUPED_COLUMNS):
            metas = sub[part : part + GROUPED_COLUMNS]
            suffix = " (tiếp theo)" if part else ""
            _para(doc, f"{ai + 1}. {title}{suffix}", bold=True, italic=True, space_after=2)
            legend = "; ".join(
                f"({part + j + 1}) {m.get('label_vi', m['indicator_code'])}, {display_unit(m.get('unit_vi'))}"
                for j, (_, m) in enumerate(metas)
            )
            _para(doc, legend + ".", size=10, italic=True, space_after=4)
            rows, group_idx = [], []

            def values(code: str, metas=metas) -> list[str]:
                return [
                    fmt_value(by_key.get((m["indicator_code"], code)), m.get("unit_vi"), empty=MISSING_CELL)
                    for _, m in metas
                ]

            rows.append(["", "Toàn tỉnh"] + values(PROVINCE_CODE))
            bold = [0]
            n = 0
            for heading, members in groups:
                if heading:
                    group_idx.append(len(rows))
                    rows.append(["", f"Địa bàn {heading}"] + [""] * len(metas))
                for code in members:
                    n += 1
                    rows.append([str(n), unit_label(code, names)] + values(code))
            col_w = (usable - 1.2 - 4.6) / GROUPED_COLUMNS
            _table(
                doc,
                ["STT", "Đơn vị"] + [f"({part + j + 1})" for j in range(len(metas))],
                rows,
                [1.2, 4.6] + [col_w] * len(metas),
                size=WIDE_TABLE_PT,
                numeric_from=2,
                bold_rows=bold,
                group_rows=group_idx,
                merge_groups=True,
            )
            _para(doc, "", space_after=6)
    _para(
        doc,
        "Các đơn vị được nhóm theo địa bàn huyện cũ chỉ để dễ đọc; không có số liệu cộng theo huyện cũ "
        "cho kỳ từ tháng 7/2025.",
        size=11,
        italic=True,
        space_after=6,
    )


def write_annex_docx(
    path: str | os.PathLike,
    report_period: str,
    indicators: pd.DataFrame,
    units: pd.DataFrame,
    quality: pd.DataFrame,
    warnings: Sequence[str] = (),
    incomplete_note: str | None = None,
    images: Sequence[Path | str | tuple[Path | str, str]] = (),
    *,
    quarantine_reasons: pd.DataFrame | None = None,
    revisions: pd.DataFrame | None = None,
    as_of=None,
) -> Path:
    """Write the Word annex (atomically); returns the path. ``images`` are
    paths, or ``(path, caption)`` pairs; a missing image file is skipped with a
    note in the document. ``warnings``: the list of :mod:`dolisa.report.warnings` (or the
    gate's findings it is built from); the first ANNEX_WARNINGS lines are printed. An as-of
    report passes ``as_of`` (printed under the title) and ``revisions`` (section "Điều chỉnh
    số liệu")."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Emu, Pt, RGBColor

    path = Path(path)
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(BODY_PT)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    sec = _landscape_section(doc, new=False)
    usable = 29.7 - 4.0
    red = RGBColor(0xC0, 0x00, 0x00)
    centre = WD_ALIGN_PARAGRAPH.CENTER
    when = period_title(report_period)

    # header / footer
    hp = sec.header.paragraphs[0]
    _set_font(
        hp.add_run(f"Phụ lục số liệu {when} - Sở Lao động - Thương binh và Xã hội tỉnh Cao Bằng"), 10, italic=True
    )
    hp.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    banner = banner_text(incomplete_note)
    if banner:  # on every page (header) and at the top of the first page
        _set_font(sec.header.add_paragraph().add_run(banner), 10, bold=True, colour=red)
        _para(doc, banner, bold=True, colour=red, align=centre, space_after=8)
    _para(doc, f"PHỤ LỤC SỐ LIỆU {when.upper()}", size=14, bold=True, align=centre, space_after=2)
    _para(
        doc,
        "(Kèm theo Báo cáo kết quả thực hiện nhiệm vụ của Sở Lao động - Thương binh và Xã hội tỉnh Cao Bằng)",
        italic=True,
        align=centre,
        space_after=2,
    )
    as_of_line = as_of_text(as_of)
    dates = period_dates_vi(report_period)
    _para(
        doc,
        f"Kỳ báo cáo: {when}{f' ({dates})' if dates else ''}. {as_of_line + '. ' if as_of_line else ''}"
        "Số tiền tính bằng triệu đồng.",
        size=12,
        italic=True,
        align=centre,
        space_after=10,
    )

    # I. summary
    _para(doc, f"I. TỔNG HỢP KẾT QUẢ CÁC CHỈ TIÊU TOÀN TỈNH {when.upper()}", bold=True, space_after=6)
    rows, groups = _summary_rows(report_period, indicators)
    _table(doc, SUMMARY_HEADERS, rows, [1.2, 9.2, 2.3, 2.6, 2.4, 2.2, 2.4, 2.2], group_rows=groups)

    # II. by unit: its own landscape section
    _landscape_section(doc, new=True)
    names = unit_names(units)
    codes = ordered_units(units, indicators["unit_code"].astype(str).unique())
    by_key = {(str(r["indicator_code"]), str(r["unit_code"])): r["value"] for _, r in indicators.iterrows()}
    cat = catalogue(indicators)
    if has_unit_groups(units):
        _grouped_unit_tables(doc, when, cat, units, codes, names, by_key, usable)
    else:
        _para(doc, f"II. KẾT QUẢ {when.upper()} THEO HUYỆN, THÀNH PHỐ", bold=True, space_after=6)
        col_w = 1.55  # '1.440.060' in 10 pt fits one line
        name_w = max(6.0, usable - 1.2 - 1.7 - col_w * len(codes))
        for ai, (area, title) in enumerate((a, t) for a, t in AREAS.items() if (cat["area"] == a).any()):
            _para(doc, f"{ai + 1}. {title}", bold=True, italic=True, space_after=4)
            sub = cat[cat["area"] == area]
            body = []
            for n, (_, meta) in enumerate(sub.iterrows(), start=1):
                u = meta.get("unit_vi")
                body.append(
                    [str(n), str(meta.get("label_vi", meta["indicator_code"])), display_unit(u)]
                    + [fmt_value(by_key.get((meta["indicator_code"], c)), u, empty=MISSING_CELL) for c in codes]
                )
            _table(
                doc,
                ["STT", "Chỉ tiêu", "ĐVT"] + [unit_label(c, names, short=True) for c in codes],
                body,
                [1.2, name_w, 1.7] + [col_w] * len(codes),
                size=WIDE_TABLE_PT,
            )
            _para(doc, "", space_after=6)

    notes = same_period_notes(indicators)
    if notes:
        by_note: dict[str, list[str]] = {}
        for code, note in notes.items():
            by_note.setdefault(note, []).append(code)
        for note, members in by_note.items():
            who = (
                "tất cả các đơn vị của kỳ báo cáo"
                if len(members) == len([c for c in codes if c != PROVINCE_CODE])
                else ", ".join(unit_label(c, names) for c in sorted(members))
            )
            _para(doc, f"Ghi chú về số liệu cùng kỳ ({who}): {note}.", size=12, italic=True, space_after=4)

    # III. data quality
    _landscape_section(doc, new=True)
    _para(doc, "III. CHẤT LƯỢNG DỮ LIỆU BÁO CÁO CỦA CÁC ĐƠN VỊ", bold=True, space_after=6)
    qs = quality_summary(quality, units)
    qcols = list(QUALITY_SUMMARY_COLUMNS)[1:]
    qrows = [[str(r["name_vi"])] + [fmt_int(r[c]) for c in qcols[1:]] for _, r in qs.iterrows()]
    total_idx = [i for i, (_, r) in enumerate(qs.iterrows()) if r["unit_code"] == PROVINCE_CODE]
    _table(
        doc,
        [QUALITY_SUMMARY_COLUMNS[c] for c in qcols],
        qrows,
        [5.2] + [2.5] * (len(qcols) - 1),
        numeric_from=1,
        bold_rows=total_idx,
        center=(),
    )
    missing = quality[quality["status"].astype(str) == "missing"]
    if len(missing):
        items = [
            f"{names.get(str(r['unit_code']), r.get('name_vi', r['unit_code']))} ({month_label(r['period'])})"
            for _, r in missing.sort_values(["unit_code", "period"], key=lambda s: s.astype(str)).iterrows()
        ]
        _para(doc, "Đơn vị chưa nộp số liệu: " + "; ".join(items) + ".", size=12, bold=True, colour=red, space_after=6)
    if quarantine_reasons is not None and len(quarantine_reasons):
        _para(doc, "", space_after=2)
        _para(doc, "Lý do cách ly dòng dữ liệu:", size=12, italic=True, space_after=4)
        qr = quarantine_reasons.copy()
        qr["unit_code"] = qr["unit_code"].astype(str)
        qr["_k"] = qr["unit_code"].map(unit_sort_key)
        qr = qr.sort_values(["_k", "period", "rows"], ascending=[True, True, False], kind="stable")
        body = [
            [
                str(i),
                names.get(r["unit_code"], r["unit_code"]),
                month_label(r["period"]),
                dataset_vi(str(r["dataset"])),
                reason_readable_vi(str(r["reason"])),
                fmt_int(r["rows"]),
            ]
            for i, (_, r) in enumerate(qr.iterrows(), start=1)
        ]
        _table(
            doc,
            ["STT", "Đơn vị", "Tháng", "Bộ dữ liệu", "Lý do", "Số dòng"],
            body,
            [1.2, 4.5, 2.2, 5.0, 10.8, 2.0],
            numeric_from=5,
            center=(0, 2),
        )

    # IV. warnings: the most severe lines of the one list; how many more, and where
    _para(doc, "", space_after=6)
    _para(doc, "IV. CẢNH BÁO KÈM THEO SỐ LIỆU", bold=True, space_after=6)
    warnings = as_warnings(warnings)
    _para(
        doc,
        summary_vi(warnings)
        + (
            " Mỗi dòng là một đơn vị và một bộ dữ liệu, các tháng ghi cùng dòng; xếp theo mức độ, cao trước."
            if warnings
            else ""
        ),
        size=12,
        italic=not warnings,
        space_after=4,
    )
    if warnings:
        shown = warnings[:ANNEX_WARNINGS]
        _table(
            doc,
            ["STT", "Mức độ", "Loại cảnh báo", "Nội dung"],
            [[str(i), w.severity_vi, w.title_vi, w.message_vi] for i, w in enumerate(shown, start=1)],
            [1.2, 2.4, 4.0, usable - 7.6],
            size=WIDE_TABLE_PT + 1,
            numeric_from=4,
            center=(0, 1),
        )
        rest = warnings[len(shown) :]
        if rest:
            by = [
                f"{sum(w.severity == s for w in rest)} mức {label.lower()}"
                for s, label in SEVERITY_VI.items()
                if any(w.severity == s for w in rest)
            ]
            _para(
                doc,
                f"Còn {len(rest)} cảnh báo khác ({', '.join(by)}) không in ở đây: xem trên bàn làm việc của "
                f"nhóm báo cáo (trang kỳ {report_period}), sheet «Cảnh báo» của tệp indicators.xlsx hoặc tệp "
                f"{WARNINGS_CSV}.",
                size=12,
                italic=True,
                space_after=4,
            )

    # Điều chỉnh số liệu (as-of reports)
    if revisions is not None:
        _para(doc, "", space_after=6)
        _para(doc, "ĐIỀU CHỈNH SỐ LIỆU SO VỚI NGÀY CHỐT", bold=True, space_after=6)
        lines = revision_lines(revisions, indicators)
        if lines:
            _table(
                doc,
                ["STT", "Chỉ tiêu", "Nội dung điều chỉnh"],
                [[str(i), label, text] for i, (label, text) in enumerate(lines, start=1)],
                [1.2, 9.0, usable - 10.2],
                numeric_from=3,
                center=(0,),
            )
        else:
            _para(doc, "Không có điều chỉnh số liệu.", size=12, italic=True)

    # V. images
    if images:
        doc.add_page_break()
        _para(doc, "V. BIỂU ĐỒ", bold=True, space_after=6)
        for k, item in enumerate(images, start=1):
            img, caption = item if isinstance(item, tuple) else (item, _caption_for(Path(item), units_phrase(units)))
            img = Path(img)
            if not img.exists():
                _para(doc, f"(Không có hình: {img.name})", size=12, italic=True)
                continue
            # a tall picture (a chart of 56 communes) is cut into slices that each fill the
            # printable width of one page, instead of being shrunk until it cannot be read
            width_cm, max_h_cm = min(usable, 23.0), 21.0 - 4.0 - 2.5
            for n_slice, (top, bottom, px_w, px_h) in enumerate(_image_slices(img, max_h_cm / width_cm)):
                if n_slice:
                    doc.add_page_break()
                p = doc.add_paragraph()
                p.alignment = centre
                p.paragraph_format.keep_with_next = True
                width = Cm(width_cm)
                pic = p.add_run().add_picture(str(img), width=width, height=Emu(round(width * (bottom - top) / px_w)))
                _crop_picture(pic, top, bottom, px_h)
                # keep the picture on one page: cap its height to the printable height
                max_h = Cm(max_h_cm)
                if pic.height > max_h:
                    ratio = max_h / pic.height
                    pic.height = int(max_h)
                    pic.width = int(pic.width * ratio)
            _para(doc, f"Hình {k}. {caption}", size=12, italic=True, align=centre, space_after=10)

    with atomic_path(path) as tmp:
        doc.save(str(tmp))
    return path
