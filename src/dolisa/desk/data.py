"""Read-only queries of the desk over the published snapshot and the report folders.

Every query is parameterised (``?`` placeholders); the snapshot is opened read-only
per request, so a newly published snapshot (an atomic rename) is seen at once and the
live warehouse is never touched.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from dolisa import contract
from dolisa.warehouse import open_duckdb

PERIOD_RE = re.compile(r"^\d{4}-H[12]$")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
UNIT_RE = re.compile(rf"^{contract.UNIT_CODE_PATTERN}$")
CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
AS_OF_RE = re.compile(r"^as_of_\d{4}-\d{2}-\d{2}$")
ISSUED_RE = re.compile(r"^\d{8}T\d{6}[+-]\d{4}(-\d+)?$")
SUB_FOLDER_RE = re.compile(r"^(as_of_\d{4}-\d{2}-\d{2}|issued/\d{8}T\d{6}[+-]\d{4}(-\d+)?)$")

DOWNLOADS = {
    "indicators.csv": "text/csv; charset=utf-8",
    "indicators.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "indicators_annex.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "data_quality.csv": "text/csv; charset=utf-8",
    "warnings.csv": "text/csv; charset=utf-8",
    "data_quality_heatmap.png": "image/png",
    "chart_labour.png": "image/png",
    "chart_social_protection.png": "image/png",
    "chart_child_welfare.png": "image/png",
    "quality_gate.json": "application/json",
    "revisions.csv": "text/csv; charset=utf-8",
    "manifest.json": "application/json",
}


# the area marts of the indicators, by the catalogue's area (models/marts/<area>/)
AREA_MARTS = {area: f"agg_{area}_unit_months" for area in ("labour", "social_protection", "child_welfare")}
BREAKDOWN_MARTS = {area: f"agg_{area}_unit_month_breakdowns" for area in AREA_MARTS}


class SnapshotMissing(RuntimeError):
    pass


class Desk:
    def __init__(self, home: Path):
        self.home = Path(home)
        self.snapshot = self.home / "published" / "warehouse.duckdb"
        self.reports = self.home / "reports"
        self.data_docs = self.home / "data_docs"
        self.dbt_target = self.home / "dbt" / "target"

    # -- connection ---------------------------------------------------------

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.snapshot.exists():
            raise SnapshotMissing(str(self.snapshot))
        con = open_duckdb(self.snapshot, read_only=True)
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: list[Any] | tuple = ()) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, list(params)).df()

    def has_table(self, con, schema: str, table: str) -> bool:
        return bool(
            con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()[0][0]
        )

    # -- report periods -----------------------------------------------------

    def gate(self, report_period: str, folder: Path | None = None) -> dict | None:
        f = (folder or self.reports / report_period) / "quality_gate.json"
        if not f.exists():
            return None
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def periods(self) -> list[dict]:
        """Every half-year with a report folder or published figures, newest first."""
        found: set[str] = set()
        if self.reports.is_dir():
            found |= {p.name for p in self.reports.iterdir() if p.is_dir() and PERIOD_RE.fullmatch(p.name)}
        with contextlib.suppress(SnapshotMissing, duckdb.Error):
            found |= set(self.query("select distinct report_period from reports.rpt_indicators")["report_period"])
        out = []
        for period in sorted(found, reverse=True):
            folder = self.reports / period
            out.append(
                {
                    "period": period,
                    "gate": self.gate(period),
                    "has_files": (folder / "indicators.csv").exists(),
                    "as_of": self.as_of_reports(period),
                    "issued": self.issued(period),
                }
            )
        return out

    def as_of_reports(self, report_period: str) -> list[dict]:
        folder = self.reports / report_period
        if not folder.is_dir():
            return []
        out = []
        for d in sorted(folder.iterdir()):
            if d.is_dir() and AS_OF_RE.fullmatch(d.name):
                out.append(
                    {
                        "name": d.name,
                        "date": d.name[len("as_of_") :],
                        "gate": self.gate(report_period, d),
                        "files": sorted(f.name for f in d.iterdir() if f.name in DOWNLOADS),
                        "revisions": self.revisions(d),
                    }
                )
        return out

    def issued(self, report_period: str) -> list[dict]:
        """The issued copies (``issued/<timestamp>/``, see dolisa.reissue), newest first."""
        folder = self.reports / report_period / "issued"
        if not folder.is_dir():
            return []
        out = []
        for d in sorted(folder.iterdir(), reverse=True):
            if not d.is_dir() or not ISSUED_RE.fullmatch(d.name):
                continue
            issued_at = None
            with contextlib.suppress(OSError, ValueError):
                issued_at = json.loads((d / "manifest.json").read_text(encoding="utf-8")).get("issued_at")
            out.append(
                {
                    "name": f"issued/{d.name}",
                    "issued_at": issued_at or d.name,
                    "files": sorted(f.name for f in d.iterdir() if f.name in DOWNLOADS),
                }
            )
        return out

    @staticmethod
    def revisions(folder: Path) -> pd.DataFrame | None:
        f = folder / "revisions.csv"
        if not f.exists():
            return None
        with contextlib.suppress(Exception):
            return pd.read_csv(f, dtype={"unit_code": str, "source_unit_code": str})
        return None

    # -- figures -------------------------------------------------------------

    def indicators(self, report_period: str) -> pd.DataFrame:
        return self.query(
            """select report_period, indicator_code, unit_code, value, plan_value, pct_of_plan, same_period_value,
                      pct_of_same_period, sort_order, area, label_vi, unit_vi, kind
               from reports.rpt_indicators where report_period = ? order by sort_order, unit_code""",
            [report_period],
        )

    def indicator_by_month(self, report_period: str, indicator_code: str, unit_code: str, area: str) -> pd.DataFrame:
        """The unit-months a figure is made of (the area mart of the indicator's area): each month's
        own value and what it adds to the half-year figure, with the version in force."""
        if area not in AREA_MARTS:
            raise ValueError(f"unknown area {area!r}")
        return self.query(
            f"""select period, source_unit_code, submission_id, version, month_value, half_year_contribution
                from marts.{AREA_MARTS[area]}
                where half_year = ? and indicator_code = ? and unit_code = ?
                order by period, source_unit_code""",
            [report_period, indicator_code, unit_code],
        )

    def breakdowns(self, report_period: str, unit_code: str) -> tuple[str | None, pd.DataFrame, str | None]:
        """(month, rows, legend): a unit's (or the province's) breakdowns in the half's last month
        with data, as published: suppressed cells have records null and flag 'x'."""
        months = contract.half_year_periods(report_period)
        with self.connect() as con:
            parts = [f"select * from marts.{t}" for t in BREAKDOWN_MARTS.values() if self.has_table(con, "marts", t)]
            if not parts:
                return None, pd.DataFrame(), None
            cells = " union all ".join(parts)
            month = con.execute(
                f"select max(period) from ({cells}) where unit_code = ? and period between ? and ?",
                [unit_code, months[0], months[-1]],
            ).fetchone()[0]
            rows = con.execute(
                f"""select dataset, breakdown, category, category_label_vi, category_sort_order, is_sensitive,
                           records, flag
                    from ({cells}) where unit_code = ? and period = ?
                    order by dataset, case breakdown when 'sex' then 0 when 'age_band' then 1 else 2 end, breakdown,
                             category_sort_order, category""",
                [unit_code, month],
            ).df()
            legend = None
            if self.has_table(con, "publish", "legend"):
                legend = con.execute("select meaning_vi from publish.legend").fetchone()[0]
        return month, rows, legend

    def unit_months(self, report_period: str, unit_code: str) -> pd.DataFrame:
        """The unit-months that count towards ``unit_code`` in the half: status and version in force."""
        return self.query(
            """select unit_code as source_unit_code, period, timeliness, in_force_version, versions_received,
                      rows_loaded, rows_quarantined
               from marts.fct_submission_status
               where half_year = ? and current_unit_code = ? order by period, unit_code""",
            [report_period, unit_code],
        )

    def versions(self, unit_code: str, period: str) -> pd.DataFrame:
        return self.query(
            """select submission_id, version, submitted_at, landed_at, submission_status, rejection_reason,
                      is_after_deadline, is_in_force, n_files, rows_loaded, rows_quarantined
               from marts.fct_submission_versions where unit_code = ? and period = ?
               order by version desc""",
            [unit_code, period],
        )

    def files(self, unit_code: str, period: str) -> pd.DataFrame:
        return self.query(
            """select submission_id, dataset, file_name, file_status, rejection_reason, rows_declared, rows_in,
                      rows_loaded, rows_quarantined
               from marts.fct_submission_files where unit_code = ? and period = ?
               order by version desc, dataset, file_name""",
            [unit_code, period],
        )

    def quarantine_reasons(self, unit_code: str, period: str) -> pd.DataFrame:
        return self.query(
            """select submission_id, dataset, reason, rows from marts.fct_quarantine_reasons
               where unit_code = ? and period = ? order by version desc, dataset, rows desc""",
            [unit_code, period],
        )

    def quality(self, report_period: str) -> pd.DataFrame:
        months = contract.half_year_periods(report_period)
        return self.query(
            """select unit_code, unit_name_vi, period, timeliness, versions_received, in_force_version,
                      rows_loaded, rows_quarantined
               from marts.fct_submission_status
               where period between ? and ? order by unit_code, period""",
            [months[0], months[-1]],
        )
