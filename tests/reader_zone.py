"""What a reader of the reader zone (published/, reports/) could find about one person.

`persons_in_reader_zone(home)` reads every record id of the hub's files as they were landed
(the raw zone's files, CSV and XLSX, every `*_id` column of the contract: record ids, citizen
ids, child and household ids), every pseudonym of the warehouse (`person_key`), and looks for
them in every table of the published snapshot, in every file under reports/ (text files,
and the XML inside XLSX/DOCX), and in what the desk serves besides (Data Docs, dbt docs). A birth-date column or a person-level column name in the
snapshot counts too. Values are compared as whole tokens, so an id is found wherever it is
written, but "045" (a unit code) is not taken for part of "045-TE-00309".
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import duckdb
import openpyxl

from dolisa import contract

TOKEN = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-]*")
TEXT_SUFFIXES = {".csv", ".json", ".txt", ".html", ".md", ".eml", ".log"}
ZIP_SUFFIXES = {".xlsx", ".docx"}


def _id_columns(dataset: str) -> set[str]:
    return {c.name for c in contract.dataset(dataset).columns if c.name.endswith("_id")}


def hub_record_ids(raw: Path) -> set[str]:
    """Every value of a `*_id` column in the landed hub files (raw/<unit>/<period>/<id>/files/)."""
    ids: set[str] = set()
    for f in raw.glob("*/*/*/files/*"):
        dataset = f.stem.lower()
        if dataset not in contract.datasets():
            continue
        wanted = _id_columns(dataset)
        for header, row in _rows(f):
            for name, value in zip(header, row):
                if name in wanted and value not in (None, ""):
                    ids.add(str(value).strip())
    return {i for i in ids if _distinctive(i)}


def _rows(f: Path):
    if f.suffix.lower() == ".csv":
        text = f.read_bytes().decode("utf-8-sig", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader, [])]
        for row in reader:
            yield header, row
    elif f.suffix.lower() == ".xlsx":
        try:
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except Exception:  # a hostile or broken file: the pipeline rejected it too
            return
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h or "").strip().lower() for h in next(rows, ())]
        for row in rows:
            yield header, ["" if v is None else str(v) for v in row]


def _distinctive(value: str) -> bool:
    """An id worth looking for: long enough not to be a number or a code met anywhere."""
    return len(value) >= 6 and not (value.isdigit() and len(value) < 9)


def pseudonyms(warehouse: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("""select table_schema, table_name from information_schema.columns
                                where column_name = 'person_key' and table_schema = 'raw'""").fetchall()
        keys: set[str] = set()
        for s, t in tables:
            keys |= {k for (k,) in con.execute(f'select distinct person_key from {s}."{t}" '
                                               "where person_key is not null").fetchall()}
        return keys
    finally:
        con.close()


def snapshot_findings(snapshot: Path, needles: set[str]) -> list[str]:
    """Person-level column names, and cells holding a needle, in every table of the snapshot."""
    found = []
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        columns = con.execute("""select table_schema, table_name, column_name, data_type
                                 from information_schema.columns order by all""").fetchall()
        for s, t, c, dtype in columns:
            if c in contract.person_level_columns() or "birth" in c:
                found.append(f"{s}.{t}: column {c}")
            if dtype in ("VARCHAR", "JSON") or dtype.endswith("[]"):
                for (v,) in con.execute(f'select distinct cast("{c}" as varchar) from {s}."{t}"').fetchall():
                    hits = needles.intersection(TOKEN.findall(v or ""))
                    if hits:
                        found.append(f"{s}.{t}.{c}: {sorted(hits)[:3]}")
                        break
    finally:
        con.close()
    return found


def reports_findings(reports: Path, needles: set[str], names: set[str] | None = None) -> list[str]:
    found = []
    for f in sorted(p for p in reports.rglob("*") if p.is_file() and (names is None or p.name in names)):
        suffix = f.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            texts = [f.read_text(encoding="utf-8", errors="replace")]
        elif suffix in ZIP_SUFFIXES:
            with zipfile.ZipFile(f) as z:
                texts = [z.read(n).decode("utf-8", errors="replace") for n in z.namelist() if n.endswith(".xml")]
        else:
            continue  # images (charts, heatmap): figures drawn, no text to search
        for text in texts:
            hits = needles.intersection(TOKEN.findall(text))
            if hits:
                found.append(f"{f.relative_to(reports)}: {sorted(hits)[:3]}")
                break
    return found


def persons_in_reader_zone(home: Path) -> tuple[list[str], int]:
    """(findings, number of ids and pseudonyms looked for) for a DOLISA_HOME after a run."""
    needles = hub_record_ids(home / "raw") | pseudonyms(home / "warehouse" / "dolisa.duckdb")
    findings = snapshot_findings(home / "published" / "warehouse.duckdb", needles)
    findings += reports_findings(home / "reports", needles)
    # what the desk serves besides: the Data Docs and the dbt docs
    findings += reports_findings(home / "data_docs", needles)
    findings += reports_findings(home / "dbt" / "target", needles, names={"index.html", "manifest.json", "catalog.json"})
    return findings, len(needles)
