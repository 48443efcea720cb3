"""Report writers: pure functions from DataFrames to report files.

``write_indicators_csv`` writes the contract file ``indicators.csv`` (call it
only once the report gate has passed); ``write_human_report`` writes the files
the reporting team reads and pastes into the official report:

================================  =============================================
``indicators.xlsx``               summary, per-area sheets, data quality,
                                  warnings, numeric twin sheet "Số liệu"
``indicators_annex.docx``         Word annex "Phụ lục số liệu 6 tháng ..."
``data_quality_heatmap.png``      reporting unit × month submission status
``chart_<area>.png``              per-area bars by reporting unit
                                  (labour, social_protection, child_welfare)
``data_quality.csv``              per reporting unit and month, machine-readable
``warnings.csv``                  the warnings, grouped and ordered (one list:
                                  :mod:`dolisa.report.warnings`), machine-readable
================================  =============================================

``write_quarantine_reasons`` writes ``quarantine_reasons.csv`` (rows quarantined per unit,
month, dataset and reason). The frames they all take are read from the marts by
:mod:`dolisa.report.frames`.

Input frames are described in ``docs`` of each writer; see also
:mod:`dolisa.report.formats` for the Vietnamese number formats.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._common import AREAS, atomic_path, unit_sort_key
from .charts import area_chart, quality_heatmap
from .csv_writer import indicators_csv_text, write_indicators_csv
from .docx_writer import write_annex_docx
from .formats import fmt_int, fmt_money, fmt_pct, round_half_away
from .warnings import CSV_NAME as WARNINGS_CSV
from .warnings import build_warnings, write_warnings_csv
from .xlsx_writer import write_indicators_xlsx

__all__ = [
    "write_human_report",
    "write_indicators_csv",
    "indicators_csv_text",
    "write_indicators_xlsx",
    "write_annex_docx",
    "write_data_quality_csv",
    "build_warnings",
    "write_warnings_csv",
    "write_quarantine_reasons",
    "area_chart",
    "quality_heatmap",
    "fmt_int",
    "fmt_pct",
    "fmt_money",
    "round_half_away",
    "HUMAN_FILES",
    "QUARANTINE_REASONS_FILE",
]

DATA_QUALITY_COLUMNS = [
    "unit_code",
    "name_vi",
    "period",
    "status",
    "versions_received",
    "rows_loaded",
    "rows_quarantined",
]

HUMAN_FILES = (
    "indicators.xlsx",
    "indicators_annex.docx",
    "data_quality_heatmap.png",
    *(f"chart_{a}.png" for a in AREAS),
    "data_quality.csv",
    WARNINGS_CSV,
)

QUARANTINE_REASONS_FILE = "quarantine_reasons.csv"


def write_data_quality_csv(path: str | os.PathLike, quality: pd.DataFrame) -> Path:
    """``data_quality.csv``: one row per reporting unit and month, header
    ``unit_code,name_vi,period,status,versions_received,rows_loaded,rows_quarantined``,
    plain integers, UTF-8, written atomically."""
    q = quality.copy()
    q["unit_code"] = q["unit_code"].astype(str)
    q["period"] = q["period"].astype(str)
    if "name_vi" not in q:
        q["name_vi"] = ""
    q["_k"] = q["unit_code"].map(unit_sort_key)
    q = q.sort_values(["_k", "period"], kind="stable")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(DATA_QUALITY_COLUMNS)
    for _, r in q.iterrows():
        ints = []
        for c in DATA_QUALITY_COLUMNS[4:]:
            v = round_half_away(r.get(c), 0)
            ints.append("" if v is None else str(v))
        w.writerow([r["unit_code"], r["name_vi"], r["period"], r["status"], *ints])
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_quarantine_reasons(path: str | os.PathLike, reasons: pd.DataFrame) -> None:
    """Rows quarantined per unit, month, dataset and reason, with the loader's own reason text
    (the same words as meta.quarantined_rows and marts.fct_quarantine_reasons)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_code", "period", "dataset", "reason", "rows"])
        for r in reasons.itertuples(index=False):
            w.writerow([r.unit_code, r.period, r.dataset, r.reason, int(r.rows)])
    os.replace(tmp, path)


def write_human_report(
    report_dir: str | os.PathLike,
    report_period: str,
    indicators: pd.DataFrame,
    units: pd.DataFrame,
    quality: pd.DataFrame,
    quarantine_reasons: pd.DataFrame | None,
    warnings: Sequence = (),
    incomplete_note: str | None = None,
    *,
    revisions: pd.DataFrame | None = None,
    as_of=None,
) -> dict[str, Path]:
    """Write the human-facing report files into ``report_dir`` (created if
    needed) and return ``{file name: path}`` for each of :data:`HUMAN_FILES`.
    Does NOT write ``indicators.csv``. Every file is written atomically.

    ``warnings``: the gate's findings (``Finding``, dicts, or ``"[rule] message"``
    strings), made once into the grouped, ordered list of :mod:`dolisa.report.warnings`
    that ``warnings.csv``, the workbook and the annex print. An as-of report
    passes ``as_of`` (printed on the face) and ``revisions`` (columns
    ``indicator_code, unit_code, source_unit_code, source_period, version_as_of,
    version_now, contribution``: the section 'Điều chỉnh số liệu')."""
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    warnings = build_warnings(warnings or ())  # the one list: warnings.csv, the workbook, the annex
    paths: dict[str, Path] = {}

    paths["data_quality_heatmap.png"] = quality_heatmap(
        out / "data_quality_heatmap.png", quality, units, incomplete_note=incomplete_note, report_period=report_period
    )
    for area in AREAS:
        name = f"chart_{area}.png"
        paths[name] = area_chart(
            out / name, indicators, units, area, incomplete_note=incomplete_note, report_period=report_period
        )
    paths["indicators.xlsx"] = write_indicators_xlsx(
        out / "indicators.xlsx",
        indicators,
        units,
        quality,
        quarantine_reasons,
        warnings,
        incomplete_note,
        report_period=report_period,
        revisions=revisions,
        as_of=as_of,
    )
    images = [paths["data_quality_heatmap.png"]] + [paths[f"chart_{a}.png"] for a in AREAS]
    paths["indicators_annex.docx"] = write_annex_docx(
        out / "indicators_annex.docx",
        report_period,
        indicators,
        units,
        quality,
        warnings,
        incomplete_note,
        images,
        quarantine_reasons=quarantine_reasons,
        revisions=revisions,
        as_of=as_of,
    )
    paths["data_quality.csv"] = write_data_quality_csv(out / "data_quality.csv", quality)
    paths[WARNINGS_CSV] = write_warnings_csv(out / WARNINGS_CSV, warnings)
    return {name: paths[name] for name in HUMAN_FILES}
