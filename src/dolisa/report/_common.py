"""Shared helpers of the report writers: ordering, labels, atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

PROVINCE_CODE = "04"

# Area code -> (sheet / section title, short title for charts and file names)
AREAS: dict[str, str] = {
    "labour": "Lao động - Việc làm",
    "social_protection": "Bảo trợ xã hội - Người có công",
    "child_welfare": "Trẻ em",
}

STATUS_VI = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Thiếu"}

# What each file of a report folder is, for a person choosing what to open (the desk)
FILE_LABELS_VI = {
    "indicators.xlsx": "Bảng số liệu (Excel)",
    "indicators_annex.docx": "Phụ lục số liệu (Word)",
    "indicators.csv": "Số liệu theo mẫu của hợp đồng (CSV)",
    "warnings.csv": "Danh sách cảnh báo (CSV)",
    "data_quality.csv": "Tình hình nộp số liệu theo đơn vị và tháng (CSV)",
    "data_quality_heatmap.png": "Hình: tình hình nộp số liệu",
    "chart_labour.png": "Hình: Lao động - Việc làm",
    "chart_social_protection.png": "Hình: Bảo trợ xã hội - Người có công",
    "chart_child_welfare.png": "Hình: Trẻ em",
    "revisions.csv": "Điều chỉnh số liệu so với ngày chốt (CSV)",
    "quality_gate.json": "Kết quả kiểm tra trước báo cáo (JSON, cho cán bộ kỹ thuật)",
    "manifest.json": "Danh mục các tệp đã phát hành (JSON, cho cán bộ kỹ thuật)",
}
MAIN_FILES = ("indicators.xlsx", "indicators_annex.docx", "indicators.csv")

MISSING_CELL = "—"

INDICATOR_COLUMNS = [
    "report_period",
    "indicator_code",
    "unit_code",
    "value",
    "plan_value",
    "pct_of_plan",
    "same_period_value",
    "pct_of_same_period",
]


def unit_sort_key(code: str) -> tuple[int, str]:
    """Province ``04`` first, then the reporting units' codes in code order."""
    code = str(code)
    return (0 if code == PROVINCE_CODE else 1, code)


def ordered_units(units: pd.DataFrame, codes: Sequence[str] | None = None) -> list[str]:
    """Unit codes in report order (province first). ``codes`` restricts them."""
    all_codes = [str(c) for c in units["unit_code"]]
    if codes is not None:
        wanted = {str(c) for c in codes}
        all_codes = [c for c in all_codes if c in wanted] + sorted(wanted - set(all_codes))
    return sorted(dict.fromkeys(all_codes), key=unit_sort_key)


def unit_names(units: pd.DataFrame) -> dict[str, str]:
    return {str(c): str(n) for c, n in zip(units["unit_code"], units["name_vi"], strict=False)}


def short_name(name: str, code: str | None = None) -> str:
    """'Huyện Bảo Lâm' → 'Bảo Lâm', 'Thành phố Cao Bằng' → 'TP. Cao Bằng',
    the province → 'Toàn tỉnh'."""
    if code == PROVINCE_CODE or name.startswith("Tỉnh "):
        return "Toàn tỉnh"
    for prefix, repl in (("Thành phố ", "TP. "), ("Thị xã ", "TX. "), ("Huyện ", "")):
        if name.startswith(prefix):
            return repl + name[len(prefix) :]
    return name


def unit_label(code: str, names: dict[str, str], *, short: bool = False) -> str:
    code = str(code)
    name = names.get(code, code)
    if short:
        return short_name(name, code)
    if code == PROVINCE_CODE:
        return "Toàn tỉnh"
    return name


def unit_groups(units: pd.DataFrame, codes: Sequence[str]) -> list[tuple[str | None, list[str]]]:
    """(group heading, unit codes) in report order. Since the 2025 reform the communes and
    wards are grouped under their former district (contract §7: a reading aid only, the
    heading is never a figure): '(heading) Thành phố Cao Bằng (cũ)'. Units without a former
    district (the districts before the reform) form one group without heading."""
    former = {}
    if "former_district_code" in units:
        for _, r in units.iterrows():
            code = r.get("former_district_code")
            if isinstance(code, str) and code:
                name = r.get("former_district_name_vi")
                former[str(r["unit_code"])] = (code, f"{name if isinstance(name, str) and name else code} (cũ)")
    groups: dict[str | None, list[str]] = {}
    order = sorted(
        (c for c in codes if str(c) != PROVINCE_CODE), key=lambda c: (former.get(str(c), ("", ""))[0], str(c))
    )
    for c in order:
        groups.setdefault(former.get(str(c), (None, None))[1], []).append(str(c))
    return list(groups.items())


def same_period_notes(indicators: pd.DataFrame) -> dict[str, str]:
    """unit code -> why it has no same-period value (contract §7), for the units of the report
    without one (rpt_indicators.has_same_period_basis); the words are messages_vi's."""
    from .messages_vi import same_period_note_vi

    if "has_same_period_basis" not in indicators:
        return {}
    out = {}
    for _, r in indicators.drop_duplicates("unit_code").iterrows():
        basis = r.get("has_same_period_basis")
        if basis is not None and not pd.isna(basis) and not bool(basis):
            out[str(r["unit_code"])] = same_period_note_vi(r.get("unit_valid_from"))
    return out


def has_unit_groups(units: pd.DataFrame) -> bool:
    """True when the report's units carry a former district (the communes since 2025-07):
    the human-facing files then list units as rows, grouped, instead of a column per unit."""
    return "former_district_code" in units and units["former_district_code"].notna().any()


def units_phrase(units: pd.DataFrame) -> str:
    """How the report names its units: 'xã, phường' since the 2025 reform (units grouped under
    a former district), 'huyện, thành phố' before."""
    return "xã, phường" if has_unit_groups(units) else "huyện, thành phố"


def is_pct_indicator(row: pd.Series | dict) -> bool:
    unit = row.get("unit_vi") if hasattr(row, "get") else None
    if isinstance(unit, str) and unit.strip():
        return unit.strip() == "%"
    return str(row.get("indicator_code", "")).endswith("_PCT")


def is_money_indicator(row: pd.Series | dict) -> bool:
    unit = row.get("unit_vi")
    return isinstance(unit, str) and unit.strip() in {"đồng", "VND"}


def display_unit(unit_vi: str | None) -> str:
    """Unit shown in a table: VND amounts are shown in triệu đồng."""
    u = (unit_vi or "").strip()
    if u in {"đồng", "VND"}:
        return "triệu đồng"
    return u


def catalogue(indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator with its metadata, in sort order."""
    cols = [c for c in ("indicator_code", "sort_order", "area", "label_vi", "unit_vi", "kind") if c in indicators]
    cat = indicators[cols].drop_duplicates("indicator_code").copy()
    if "sort_order" in cat:
        cat = cat.sort_values(["sort_order", "indicator_code"], kind="stable")
    return cat.reset_index(drop=True)


def period_title(report_period: str) -> str:
    """'2021-H1' → '6 tháng đầu năm 2021', '2021-H2' → '6 tháng cuối năm 2021'."""
    year, _, half = str(report_period).partition("-")
    if half.upper() == "H1":
        return f"6 tháng đầu năm {year}"
    if half.upper() == "H2":
        return f"6 tháng cuối năm {year}"
    return str(report_period)


def period_dates_vi(report_period: str) -> str:
    """'2021-H1' → 'từ 01/01/2021 đến 30/06/2021' ('' for anything else)."""
    year, _, half = str(report_period).partition("-")
    if half.upper() == "H1" and year.isdigit():
        return f"từ 01/01/{year} đến 30/06/{year}"
    if half.upper() == "H2" and year.isdigit():
        return f"từ 01/07/{year} đến 31/12/{year}"
    return ""


def month_label(period: str) -> str:
    """'2021-03' → 'T3/2021'."""
    year, _, month = str(period).partition("-")
    try:
        return f"T{int(month)}/{year}"
    except ValueError:
        return str(period)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success it
    replaces ``path`` atomically (``os.replace``), on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp makes 0600; report files are shared
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


INCOMPLETE_PREFIX = "BÁO CÁO CHƯA ĐẦY ĐỦ"


def banner_text(incomplete_note: str | None) -> str | None:
    """The red banner line for a report published despite a missing reporting unit,
    always starting with 'BÁO CÁO CHƯA ĐẦY ĐỦ'."""
    if incomplete_note is None or not str(incomplete_note).strip():
        return None
    from .messages_vi import note_vi

    note = note_vi(str(incomplete_note).strip())  # the gate's findings in it, in Vietnamese
    if note.upper().startswith(INCOMPLETE_PREFIX):
        return note
    return f"{INCOMPLETE_PREFIX}: {note}"


def indicator_phrase(row: pd.Series | dict, report_period: str | None = None) -> str:
    """How the official report words a province figure, ready to paste:
    '1.700 người, đạt 30,9% so với kế hoạch năm 2021, đạt 130% so với cùng kỳ'."""
    from .formats import fmt_int, fmt_money, fmt_pct, is_missing

    value = row.get("value")
    if is_missing(value):
        return ""
    unit = (row.get("unit_vi") or "").strip() if isinstance(row.get("unit_vi"), str) else ""
    if is_money_indicator(row):
        text = fmt_money(value)
    elif is_pct_indicator(row):
        text = fmt_pct(value)
    else:
        text = f"{fmt_int(value)} {unit}".strip()
    year = str(report_period or row.get("report_period") or "")[:4]
    if not is_missing(row.get("pct_of_plan")):
        text += f", đạt {fmt_pct(row.get('pct_of_plan'))} so với kế hoạch năm {year}".rstrip()
    if not is_missing(row.get("pct_of_same_period")):
        text += f", đạt {fmt_pct(row.get('pct_of_same_period'))} so với cùng kỳ"
    return text


QUALITY_SUMMARY_COLUMNS = {
    "unit_code": "Mã",
    "name_vi": "Đơn vị",
    "months_expected": "Tháng phải nộp",
    "received": "Đã nhận",
    "on_time": "Đúng hạn",
    "late": "Muộn",
    "missing": "Thiếu",
    "versions_received": "Số phiên bản",
    "rows_loaded": "Dòng đã nạp",
    "rows_quarantined": "Dòng cách ly",
}


def quality_summary(quality: pd.DataFrame, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per reporting unit: months expected, received, on time, late, missing,
    versions received, rows loaded and quarantined; a last row 'Toàn tỉnh'
    (unit_code '04') totals them."""
    q = quality.copy()
    q["unit_code"] = q["unit_code"].astype(str)
    names = unit_names(units) if units is not None else {}
    if "name_vi" in q:
        for c, n in zip(q["unit_code"], q["name_vi"], strict=False):
            names.setdefault(c, str(n))
    for col in ("versions_received", "rows_loaded", "rows_quarantined"):
        q[col] = pd.to_numeric(q.get(col), errors="coerce").fillna(0).astype("int64")
    status = q["status"].astype(str)
    q["on_time"] = (status == "on_time").astype("int64")
    q["late"] = (status == "late").astype("int64")
    q["missing"] = (status == "missing").astype("int64")
    g = q.groupby("unit_code", sort=False).agg(
        months_expected=("period", "nunique"),
        on_time=("on_time", "sum"),
        late=("late", "sum"),
        missing=("missing", "sum"),
        versions_received=("versions_received", "sum"),
        rows_loaded=("rows_loaded", "sum"),
        rows_quarantined=("rows_quarantined", "sum"),
    )
    g["received"] = g["on_time"] + g["late"]
    g = g.reset_index()
    g = g[g["unit_code"] != PROVINCE_CODE]
    g["name_vi"] = g["unit_code"].map(lambda c: names.get(c, c))
    g = g.sort_values("unit_code", key=lambda s: s.map(unit_sort_key)).reset_index(drop=True)
    total = {c: int(g[c].sum()) for c in g.columns if c not in ("unit_code", "name_vi")}
    total.update(unit_code=PROVINCE_CODE, name_vi="Toàn tỉnh")
    g = pd.concat([g, pd.DataFrame([total])], ignore_index=True)
    return g[list(QUALITY_SUMMARY_COLUMNS)]


REVISION_COLUMNS = [
    "indicator_code",
    "unit_code",
    "source_unit_code",
    "source_period",
    "version_as_of",
    "version_now",
    "contribution",
]


def as_of_text(as_of) -> str | None:
    """'Số liệu chốt đến hết ngày 15/07/2021' for an as-of report, else None."""
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return None
    d = pd.Timestamp(as_of)
    return f"Số liệu chốt đến hết ngày {d.strftime('%d/%m/%Y')}"


def revision_lines(revisions: pd.DataFrame | None, indicators: pd.DataFrame) -> list[tuple[str, str]]:
    """(indicator label, 'Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34 người') for each
    row of an as-of report's revisions frame (columns :data:`REVISION_COLUMNS`), in
    catalogue order, then unit and month."""
    from .formats import fmt_money, is_missing
    from .messages_vi import revision_vi

    if revisions is None or len(revisions) == 0:
        return []
    cat = catalogue(indicators) if len(indicators) else pd.DataFrame(columns=["indicator_code"])
    meta = {str(r["indicator_code"]): r for _, r in cat.iterrows()}
    order = {code: i for i, code in enumerate(meta)}
    rev = revisions.copy()
    rev["_o"] = rev["indicator_code"].astype(str).map(lambda c: order.get(c, len(order)))
    rev = rev.sort_values(["_o", "source_unit_code", "source_period"], kind="stable")
    out = []
    for _, r in rev.iterrows():
        m = meta.get(str(r["indicator_code"]))
        label = str(m["label_vi"]) if m is not None else str(r["indicator_code"])
        unit_vi = (m.get("unit_vi") if m is not None else "") or ""
        contribution = r.get("contribution")
        line = revision_vi(
            r.get("unit_code"),
            r.get("source_period"),
            r.get("version_as_of"),
            r.get("version_now"),
            None,
            r.get("source_unit_code"),
        )
        if not is_missing(contribution):
            if unit_vi.strip() in {"đồng", "VND"}:
                amount = fmt_money(abs(float(contribution)))
            else:
                from .formats import fmt_int

                amount = f"{fmt_int(abs(float(contribution)))} {display_unit(unit_vi)}".strip()
            sign = "+" if float(contribution) >= 0 else "−"
            line += f", {sign}{amount}"
        out.append((label, line))
    return out
