"""Parse landed files into typed rows and quarantined rows, by the contract's rules.

Everything here is generated from the contract description (`dolisa.contract`):
the header check, the normalisation of each column type and the row rules with
their quarantine reasons. Python only checks UTF-8, reads the header and, for XLSX,
the cells (python-calamine); the row work is SQL in DuckDB, one statement per batch:

    create_batch(...)  the batch of one dataset and month: a table
                       (file_key, source_row, <col>__raw in contract order)
    read_file(...)     one file's records straight into the batch (one INSERT from
                       DuckDB's read_csv, or from calamine's cells in bounded chunks)
                       and its file-level facts (unreadable, missing columns, records)
    apply_rules(...)   type and check a whole batch (any number of files of one dataset
                       and month): file_key, source_row, <col> (typed),
                       reasons (VARCHAR[], empty when the row loads), record (JSON
                       of the cells, quarantined rows only)

`parse_file` does the three for one file (and raises FileDefect on a file defect).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dolisa import contract, limits

TRUE_WORDS = ("true", "1", "có")
FALSE_WORDS = ("false", "0", "không")
SEX_M = ("m", "nam")
SEX_F = ("f", "nữ")


class FileDefect(Exception):
    """A file-level defect: the whole submission version is rejected with this reason."""


@dataclass
class ParsedFile:
    dataset: str
    file_name: str
    table: str  # DuckDB temp table with file_key, source_row, <col>, reasons, record
    header: list[str]
    rows_in: int
    extra_columns: list[str] = field(default_factory=list)


def normalise_header(name: object) -> str:
    return unicodedata.normalize("NFC", str(name if name is not None else "")).strip().lower()


def _q(s: str) -> str:
    """SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def _in_list(values) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


# ---------------------------------------------------------------------------
# Reading the cells (all text) into a temp table: source_row, c_<i> ...
# ---------------------------------------------------------------------------


def _check_utf8(path: Path, file_name: str, chunk_bytes: int | None = None) -> int:
    """Check that a file is valid UTF-8, reading it in chunks (never whole); returns its size.

    Raises FileDefect naming the file and the byte offset of the first invalid byte."""
    import codecs

    chunk_bytes = chunk_bytes or limits.current().csv_chunk_bytes
    decoder = codecs.getincrementaldecoder("utf-8")()
    fed = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                raise FileDefect(contract.reason("not_utf8", file=file_name, offset=fed - pending + e.start)) from None
            if not chunk:
                return fed
            fed += len(chunk)


_DUCKDB_LINE = re.compile(r"Line:\s*(\d+)")
_DUCKDB_COLUMNS = re.compile(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)")


def _csv_error_reason(file_name: str, message: str) -> str:
    """A file-level reason from DuckDB's CSV error: the file, the defect and the line only.

    DuckDB's text carries the offending record ("Original Line: ..."): it is never echoed."""
    line = _DUCKDB_LINE.search(message)
    where = f" at line {line.group(1)}" if line else ""
    cols = _DUCKDB_COLUMNS.search(message)
    if cols:
        what = f"expected {cols.group(1)} fields, found {cols.group(2)}"
    elif "unterminated quote" in message.lower():
        what = "unterminated quoted value"
    elif "quote" in message.lower():
        what = "misplaced quote"
    elif "unicode" in message.lower() or "utf-8" in message.lower():
        what = "invalid UTF-8"
    else:
        what = "unreadable record"
    return contract.reason("invalid_csv", file=file_name, detail=f"{what}{where}")


def _csv_header(path: Path, file_name: str) -> list[str]:
    """Check UTF-8 (in chunks) and read the header row of a CSV in Python (DuckDB reads the records)."""
    size = _check_utf8(path, file_name)
    if size == 0:
        raise FileDefect(contract.reason("empty_file", file=file_name))
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh))
    except StopIteration:
        raise FileDefect(contract.reason("empty_file", file=file_name)) from None
    except csv.Error:
        raise FileDefect(contract.reason("unreadable_header", file=file_name, line=1)) from None


# RFC 4180, strict, no sniffing; the header is row 0 (read in Python, skipped here)
_READ_CSV = (
    "header = false, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
    "strict_mode = true, null_padding = false, encoding = 'utf-8'"
)


def _try_insert_csv(
    con: duckdb.DuckDBPyConnection, batch: str, members: list[tuple["FileRead", Path]], ncols: int, projection: str
) -> str | None:
    """One INSERT of the records of CSV files whose headers map alike (one file or several),
    RFC 4180 strict, no sniffing; sets each file's record count. Returns None, or DuckDB's
    error when it cannot read one of the files: the statement is atomic and inserted nothing.

    Each file's rows keep their own row number: DuckDB's multi-file scan keeps the files'
    order and each file's row order (insertion order is preserved), so a row's number in
    its file is its number in the scan minus that of its file's first record, the header."""
    cols = "{" + ", ".join(f"'c_{i}': 'VARCHAR'" for i in range(ncols)) + "}"
    cells = ", ".join(f"c_{i}" for i in range(ncols))
    keys = "[" + ", ".join(str(int(fr.file_key)) for fr, _ in members) + "]"
    try:
        con.execute(
            f"""insert into {batch}
            select {keys}[file_index::bigint + 1], source_row, {projection} from (
                select file_index, n - min(n) over (partition by file_index) as source_row, {cells}
                from (
                    select file_index, row_number() over () as n, {cells}
                    from read_csv(?, columns = {cols}, {_READ_CSV})
                )
            ) where source_row >= 1""",
            [[str(path) for _, path in members]],
        )
    except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException):
        raise  # a fault of this statement, not of the files
    except duckdb.Error as e:
        return str(e)
    counts = dict(
        con.execute(
            f"select file_key, count(*) from {batch} where file_key in (select unnest({keys})) group by file_key"
        ).fetchall()
    )
    for fr, _ in members:
        fr.records = counts.get(fr.file_key, 0)
    return None


_XML_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


def check_xlsx(path: Path, file_name: str) -> None:
    """Check an XLSX before anything opens it: a zip within the bounds of `dolisa.limits`
    (members, total uncompressed size, compression ratio) whose XML declares no DTD or
    entity. Raises FileDefect (a file-level defect) otherwise."""
    import zipfile

    lim = limits.current()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FileDefect(
            contract.reason("unreadable_xlsx", file=file_name, detail=f"not a zip archive: {type(e).__name__}")
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > lim.xlsx_max_members:
            raise FileDefect(
                contract.reason(
                    "xlsx_refused",
                    file=file_name,
                    detail=(
                        f"has {len(infos)} zip members, more than the bound {lim.xlsx_max_members}"
                        " (DOLISA_XLSX_MAX_MEMBERS)"
                    ),
                )
            )
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > lim.xlsx_max_uncompressed:
            raise FileDefect(
                contract.reason(
                    "xlsx_refused",
                    file=file_name,
                    detail=(
                        f"expands to {total} bytes, more than the bound {lim.xlsx_max_uncompressed} "
                        f"(DOLISA_XLSX_MAX_UNCOMPRESSED)"
                    ),
                )
            )
        for i in infos:
            if i.file_size > 1 << 16 and i.file_size > lim.xlsx_max_ratio * max(i.compress_size, 1):
                raise FileDefect(
                    contract.reason(
                        "xlsx_refused",
                        file=file_name,
                        detail=(
                            f"member #{infos.index(i) + 1} expands {i.file_size / max(i.compress_size, 1):.0f} times, "
                            f"more than the bound {lim.xlsx_max_ratio:g} (DOLISA_XLSX_MAX_RATIO)"
                        ),
                    )
                )
        if total > 1 << 16 and total > lim.xlsx_max_ratio * max(packed, 1):
            raise FileDefect(
                contract.reason(
                    "xlsx_refused",
                    file=file_name,
                    detail=(
                        f"expands {total / max(packed, 1):.0f} times, more than the bound {lim.xlsx_max_ratio:g} "
                        f"(DOLISA_XLSX_MAX_RATIO)"
                    ),
                )
            )
        for i in infos:  # sizes are bounded now: scan the XML for DTDs / entities (XXE, billion laughs)
            if not i.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with zf.open(i) as fh:
                    tail = b""
                    read = 0
                    while chunk := fh.read(1 << 16):
                        read += len(chunk)
                        if read > i.file_size:  # the header lied about the size
                            raise FileDefect(
                                contract.reason(
                                    "xlsx_refused",
                                    file=file_name,
                                    detail=f"member #{infos.index(i) + 1} is larger than declared",
                                )
                            )
                        block = (tail + chunk).upper()
                        if any(d in block for d in _XML_DECLARATIONS):
                            raise FileDefect(
                                contract.reason(
                                    "xlsx_refused", file=file_name, detail="XML declares a DTD or entity (refused)"
                                )
                            )
                        tail = chunk[-16:]
            except FileDefect:
                raise
            except Exception as e:  # zipfile.BadZipFile (CRC), zlib.error, NotImplementedError (method)...
                raise FileDefect(contract.reason("unreadable_xlsx", file=file_name, detail=type(e).__name__)) from None


def _xlsx_cell_text(value: object, col_type: str | None) -> str | None:
    if value is None or value == "":  # calamine gives "" for an empty cell
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
        if col_type == "citizen_id" and isinstance(value, int):
            # a numeric cell lost its leading zeros (contract §3)
            if len(text) in (10, 11):
                text = text.zfill(12)
            elif len(text) == 8:
                text = text.zfill(9)
        return text
    text = str(value)
    return text


_XLSX_BATCH_ROWS = 50_000


def _append_cells(
    con: duckdb.DuckDBPyConnection, fr: "FileRead", ncols: int, projection: str, out: list[tuple]
) -> None:
    if not out:
        return
    import pandas as pd

    names = ["source_row"] + [f"c_{i}" for i in range(ncols)]
    frame = pd.DataFrame.from_records(out, columns=names)
    frame = frame.astype({"source_row": "int64", **{n: "object" for n in names[1:]}})
    con.register("_xlsx_cells", frame)
    try:
        con.execute(
            f"insert into {fr.batch} select {int(fr.file_key)}, source_row::bigint, {projection} from _xlsx_cells"
        )
    finally:
        con.unregister("_xlsx_cells")


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, fr: "FileRead", ds: contract.Dataset) -> int:
    """The first sheet's records (header on row 1) into the batch, with python-calamine; returns
    the record count (non-empty rows).

    calamine (Rust) reads the sheet about 20x faster than openpyxl and its XML parser
    expands no entities; `check_xlsx` has already bounded the archive and refused DTDs.
    Rows go to DuckDB in bounded chunks, never the whole sheet in Python objects; a sheet
    that fails half-way is taken out of the batch again by `read_file`."""
    check_xlsx(path, fr.file_name)  # bounds and DTDs before any XML parser sees the file
    from python_calamine import CalamineWorkbook  # only when an XLSX arrives

    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheet = wb.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as e:  # not a zip, no workbook part, no sheet... (text may hold cells)
        raise FileDefect(contract.reason("unreadable_xlsx", file=fr.file_name, detail=type(e).__name__)) from None
    source_row = 0
    try:
        try:
            header_cells = next(rows)
        except StopIteration:
            raise FileDefect(contract.reason("empty_sheet", file=fr.file_name)) from None
        header = [_xlsx_cell_text(h, None) or "" for h in header_cells]
        projection = fr.map_header(header, ds)
        types = [ds.column(n).type if n in ds.column_names else None for n in map(normalise_header, header)]
        ncols = len(header)
        out: list[tuple] = []
        for r in rows:
            cells = [_xlsx_cell_text(v, types[i]) for i, v in enumerate(r[:ncols])]
            if all(c is None or c.strip() == "" for c in cells):
                continue  # the contract counts non-empty rows only
            source_row += 1
            cells += [None] * (ncols - len(cells))
            out.append((source_row, *cells))
            if len(out) >= _XLSX_BATCH_ROWS:  # never the whole sheet in Python memory
                _append_cells(con, fr, ncols, projection, out)
                out = []
        _append_cells(con, fr, ncols, projection, out)
    except FileDefect:
        raise
    except Exception as e:
        raise FileDefect(
            contract.reason("unreadable_xlsx", file=fr.file_name, detail=f"{type(e).__name__} at row {source_row + 2}")
        ) from None
    return source_row


# ---------------------------------------------------------------------------
# The row rules, generated from the contract
# ---------------------------------------------------------------------------


def _typed_expr(c: contract.Column, s: str) -> str:
    """SQL for the typed value of column c from its cleaned text s (NULL when it does not parse)."""
    t = c.type
    if t in ("text",):
        return s
    if t == "citizen_id":
        return s
    if t == "sex":
        return f"case when lower({s}) in {_in_list(SEX_M)} then 'M' when lower({s}) in {_in_list(SEX_F)} then 'F' end"
    if t == "date":
        return (
            f"case when regexp_full_match({s}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}') "
            f"then try_strptime({s}, '%Y-%m-%d')::date "
            f"when regexp_full_match({s}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') "
            f"then try_strptime({s}, '%d/%m/%Y')::date end"
        )
    if t == "integer":
        return (
            f"case when regexp_full_match({s}, '-?([0-9]+|[0-9]{{1,3}}(\\.[0-9]{{3}})+)') "
            f"then try_cast(replace({s}, '.', '') as bigint) end"
        )
    if t == "boolean":
        return (
            f"case when lower({s}) in {_in_list(TRUE_WORDS)} then true"
            f" when lower({s}) in {_in_list(FALSE_WORDS)} then false end"
        )
    if t in ("code", "country"):
        return f"case when upper({s}) in {_in_list(c.allowed_values)} then upper({s}) end"
    raise ValueError(t)


PARSED_TYPES = ("sex", "date", "integer", "boolean")  # a value that does not parse: reason unparseable_<type>


def _reason_sql(kind: str, sql: dict[str, str], **fields: object) -> str:
    """SQL for a reason whose fields in `sql` are SQL expressions (cast to text) and whose other
    fields are known now: the template of `contract.reason` with those parts concatenated in."""
    marks = {name: f"\x00{i}\x00" for i, name in enumerate(sql)}
    text = contract.reason(kind, **fields, **marks)
    parts = re.split("\x00(\\d+)\x00", text)
    names = list(sql)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"cast({sql[names[int(part)]]} as varchar)")
        elif part:
            out.append(_q(part))
    return " || ".join(out)


def row_rules(ds: contract.Dataset, period: str) -> list[tuple[str, str, str]]:
    """(rule name, SQL condition that is TRUE when the row breaks it, reason SQL) for every rule.

    A reason names the column and the rule, never the cell's value: a shifted column can
    put a name or a citizen id in any cell, and reasons travel outside the restricted
    zone (marts, report files, Data Docs, task logs). The value itself stays in
    `meta.quarantined_rows.record`, in the restricted zone.

    Conditions are over the cleaned text `s_<col>` and the typed value `v_<col>`.
    The same list documents the rules (docs/contract.md is generated from it).
    """
    first, last = contract.month_start(period), contract.month_end(period)
    rules: list[tuple[str, str, str]] = []
    for c in ds.columns:
        s, v = f"s_{c.name}", f"v_{c.name}"
        # presence
        if c.required_when:
            ((other, value),) = c.required_when.items()
            ov = f"v_{other}"
            rules.append(
                (
                    f"{c.name}:required_when",
                    f"{s} is null and {ov} = {_q(value)}",
                    _q(contract.reason("required_when", column=c.name, other=other, value=value)),
                )
            )
            rules.append(
                (
                    f"{c.name}:empty_unless",
                    f"{s} is not null and {ov} is not null and {ov} <> {_q(value)}",
                    _q(contract.reason("empty_unless", column=c.name, other=other, value=value)),
                )
            )
        elif not c.optional:
            rules.append((f"{c.name}:required", f"{s} is null", _q(contract.reason("required", column=c.name))))
        # parse / domain
        if c.type in ("code", "country"):
            rules.append(
                (
                    f"{c.name}:in_set",
                    f"{s} is not null and {v} is null",
                    _q(contract.reason("unknown_country" if c.type == "country" else "unknown_code", column=c.name)),
                )
            )
        elif c.type == "citizen_id":
            rules.append(
                (
                    f"{c.name}:citizen_id",
                    f"{s} is not null and not regexp_full_match({s}, '[0-9]{{12}}|[0-9]{{9}}')",
                    _q(contract.reason("malformed_citizen_id", column=c.name)),
                )
            )
        elif c.type in PARSED_TYPES:
            rules.append(
                (
                    f"{c.name}:parse",
                    f"{s} is not null and {v} is null",
                    _q(contract.reason(f"unparseable_{c.type}", column=c.name)),
                )
            )
        if c.type == "integer" and (c.min is not None or c.max is not None):
            conds, words = [], []
            if c.min is not None:
                conds.append(f"{v} < {c.min}")
                words.append(">= " + str(c.min) if c.min != 1 else "> 0")
            if c.max is not None:
                conds.append(f"{v} > {c.max}")
                words.append("<= " + str(c.max))
            rules.append(
                (
                    f"{c.name}:range",
                    f"{v} is not null and ({' or '.join(conds)})",
                    _q(contract.reason("out_of_range", column=c.name, bounds=" and ".join(words))),
                )
            )
        if c.event_date:
            rules.append(
                (
                    f"{c.name}:in_month",
                    f"{v} is not null and ({v} < date {_q(first.isoformat())} or {v} > date {_q(last.isoformat())})",
                    _q(contract.reason("outside_month", column=c.name, period=period)),
                )
            )
        if c.max_age_years:
            rules.append(
                (
                    f"{c.name}:max_age",
                    f"{v} is not null and {v} + interval {c.max_age_years} year <= date {_q(last.isoformat())}",
                    _q(contract.reason("child_too_old", column=c.name, age=c.max_age_years, date=last.isoformat())),
                )
            )
    return rules


def _rules_sql(ds: contract.Dataset, period: str, batch_table: str, out_table: str) -> str:
    """One statement: clean, type and check every row of the batch, and find repeated record ids.

    Record ids are unique within one file (one unit and month). Only rows whose id repeats
    are hashed and grouped further (they are few), so the duplicate check costs one
    aggregate over the ids, not three passes over every row."""
    cleaned = ",\n        ".join(f"nullif(trim(nfc_normalize({c.name}__raw)), '') as s_{c.name}" for c in ds.columns)
    raw = ", ".join(f"{c.name}__raw" for c in ds.columns)
    typed = ",\n        ".join(f"{_typed_expr(c, 's_' + c.name)} as v_{c.name}" for c in ds.columns)
    checks = ",\n            ".join(f"case when {cond} then {reason} end" for _, cond, reason in row_rules(ds, period))
    rid = f"v_{ds.record_id}"
    row_hash = "hash(" + ", ".join(f"c.v_{c.name}" for c in ds.columns) + ")"
    out_cols = ",\n    ".join(f"c.v_{c.name} as {c.name}" for c in ds.columns)
    # the cells as they came, for quarantined rows only (restricted zone: meta.quarantined_rows.record)
    raw_record = "to_json({" + ", ".join(f"{c.name!r}: c.{c.name}__raw" for c in ds.columns) + "})"
    return f"""
create or replace {_kind(out_table)} {out_table} as
with cells as (
    select
        file_key,
        source_row,
        {raw},
        {cleaned}
    from {batch_table}
),
typed as (
    select *, {typed}
    from cells
),
checked as (
    select *,
        list_filter([
            {checks}
        ], lambda x: x is not null) as rule_reasons
    from typed
),
repeated_ids as (
    select file_key, {rid} as rid
    from checked
    where {rid} is not null
    group by file_key, {rid}
    having count(*) > 1
),
repeated_rows as (
    select c.file_key, c.{rid} as rid, c.source_row, {row_hash} as row_hash
    from checked c
    join repeated_ids r on r.file_key = c.file_key and r.rid = c.{rid}
),
by_id as (
    select file_key, rid,
        count(distinct row_hash) as n_variants,
        string_agg(source_row::varchar, ', ' order by source_row) as rows_list
    from repeated_rows
    group by file_key, rid
),
first_of_variant as (
    select file_key, rid, row_hash, min(source_row) as first_row
    from repeated_rows
    group by file_key, rid, row_hash
),
repeat_reasons as (
    select d.file_key, d.source_row,
        case
            when b.n_variants > 1 then
                [{_reason_sql("duplicate_conflict", {"rows": "b.rows_list"}, column=ds.record_id)}]
            when d.source_row <> f.first_row then
                [{_reason_sql("duplicate_identical", {"row": "f.first_row"})}]
        end as reasons
    from repeated_rows d
    join by_id b on b.file_key = d.file_key and b.rid = d.rid
    join first_of_variant f on f.file_key = d.file_key and f.rid = d.rid and f.row_hash = d.row_hash
)
select
    c.file_key,
    c.source_row,
    {out_cols},
    case when x.reasons is null then c.rule_reasons else list_concat(c.rule_reasons, x.reasons) end as reasons,
    case when len(c.rule_reasons) > 0 or x.reasons is not null then {raw_record} end as record
from checked c
left join repeat_reasons x on x.file_key = c.file_key and x.source_row = c.source_row
"""


@dataclass
class FileRead:
    """What reading one file found: its records (in the batch, under `file_key`) or why it cannot be read."""

    dataset: str
    file_name: str
    batch: str = "cells"
    file_key: int = 0
    header: list[str] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    records: int | None = None
    missing_columns: list[str] = field(default_factory=list)
    read_error: str | None = None
    extra_columns: list[str] = field(default_factory=list)

    def map_header(self, header: list[str], ds: contract.Dataset) -> str:
        """Record the header's facts; return the projection of the cells c_<i> onto the batch's
        columns (contract order; NULL for a missing column, so the file can still be counted)."""
        self.header = header
        names = [normalise_header(h) for h in header]
        for i, n in enumerate(names):
            self.positions.setdefault(n, i)
        self.missing_columns = [c for c in ds.column_names if c not in self.positions]
        self.extra_columns = [h for h, n in zip(header, names, strict=False) if n not in ds.column_names]
        return ", ".join(
            f"c_{self.positions[c.name]}" if c.name in self.positions else "null::varchar" for c in ds.columns
        )

    def defects(self, declared_rows: int | None) -> list[str]:
        """The contract's file-level defects of this file (the parser's own verdict)."""
        if self.read_error:
            return [self.read_error]
        out = []
        if self.missing_columns:
            out.append(contract.reason("missing_columns", file=self.file_name, columns=", ".join(self.missing_columns)))
        if declared_rows is not None and self.records != declared_rows:
            out.append(
                contract.reason("rows_mismatch", file=self.file_name, records=self.records, declared=declared_rows)
            )
        return out


def create_batch(con: duckdb.DuckDBPyConnection, dataset: str, batch: str) -> None:
    """The (empty) batch of one dataset: a table file_key, source_row, <col>__raw (contract order).

    Every file of the dataset and month is read into it (`read_file`), so the row rules read
    every file in one pass and no cell is copied between reading and checking."""
    ds = contract.dataset(dataset)
    cols = ", ".join(f"{c.name}__raw varchar" for c in ds.columns)
    con.execute(f"create or replace {_kind(batch)} {batch} (file_key integer, source_row bigint, {cols})")


def _kind(table: str) -> str:
    """A bare name is a temp table of this connection; a qualified one (the loader's in-memory
    work catalog, `dolisa.load.WORK`) a table every connection of the database can read."""
    return "table" if "." in table else "temp table"


def read_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    dataset: str,
    *,
    file_name: str | None = None,
    batch: str = "cells",
    file_key: int = 0,
) -> FileRead:
    """Read one CSV or XLSX file's records into the dataset's batch `batch` (`create_batch`)
    under `file_key`; `read_files` does the same for many files.

    File-level problems are reported in the result, not raised; a file that cannot be read
    leaves no row in the batch. A file with a missing column is read (so its records are
    counted) with NULL in that column: the caller drops it from the batch (`drop_files`)."""
    return read_files(con, dataset, batch, [(path, file_name or path.name, file_key)])[0]


def read_files(
    con: duckdb.DuckDBPyConnection, dataset: str, batch: str, files: list[tuple[Path, str, int]]
) -> list[FileRead]:
    """Read files (path, name, file_key) of one dataset into its batch `batch` (`create_batch`).

    CSV files whose headers map alike (same width, contract columns at the same positions,
    whatever their spelling) are read by one `read_csv` over all of them
    (`_try_insert_csv`): DuckDB's fixed cost per statement is about a millisecond, more
    than the reading of a reporting unit's small monthly file. If that statement fails (one file
    is not valid CSV), it leaves nothing behind and each of those files is read on its own,
    so every file gets its own verdict. XLSX files are read one by one."""
    ds = contract.dataset(dataset)
    reads: list[FileRead] = []
    groups: dict[tuple[int, str], list[tuple[FileRead, Path]]] = {}  # (columns, projection) -> files
    for path, name, key in files:
        fr = FileRead(dataset, name, batch=batch, file_key=key)
        reads.append(fr)
        suffix = path.suffix.lower()
        try:
            if suffix == ".xlsx":
                try:
                    fr.records = _read_xlsx(con, path, fr, ds)
                except FileDefect:  # an XLSX goes in by chunks: take back what a failed sheet left
                    drop_files(con, batch, [key])
                    raise
            elif suffix == ".csv":
                header = _csv_header(path, fr.file_name)
                projection = fr.map_header(header, ds)  # headers that map alike share one read
                groups.setdefault((len(header), projection), []).append((fr, path))
            else:
                raise FileDefect(contract.reason("unknown_file_type", file=fr.file_name, suffix=repr(suffix)))
        except FileDefect as e:
            fr.read_error = str(e)
    for (ncols, projection), members in groups.items():
        if len(members) > 1 and _try_insert_csv(con, batch, members, ncols, projection) is None:
            continue
        for fr, path in members:  # one file, or a group with a defect: file by file
            error = _try_insert_csv(con, batch, [(fr, path)], ncols, projection)
            if error is not None:
                fr.read_error = _csv_error_reason(fr.file_name, error)
    return reads


def drop_files(con: duckdb.DuckDBPyConnection, batch: str, file_keys: list[int]) -> None:
    """Take files (rejected at file level, or in a rejected version) out of a batch."""
    if file_keys:
        con.execute(f"delete from {batch} where file_key in ({', '.join(str(int(k)) for k in file_keys)})")


def apply_rules(con: duckdb.DuckDBPyConnection, dataset: str, period: str, batch_table: str, out_table: str) -> None:
    """Type and check every row of a batch (one dataset, one month, any number of files) in one statement.

    `out_table` gets file_key, source_row, <col> (typed), reasons (empty when the row loads) and
    record (the row's cells as they came, JSON, for quarantined rows only); rows in no order."""
    con.execute(_rules_sql(contract.dataset(dataset), period, batch_table, out_table))


def parse_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    dataset: str,
    period: str,
    *,
    file_name: str | None = None,
    declared_rows: int | None = None,
    table: str = "parsed",
) -> ParsedFile:
    """Parse one file (CSV or XLSX by extension) as `dataset` for the month `period`.

    Raises FileDefect for the contract's file-level defects (not UTF-8, unreadable
    XLSX, missing required column, `rows` mismatch). The pipeline itself reads many
    files per batch (`create_batch` / `read_file` / `apply_rules`); this is the same
    path for one file.
    """
    batch = f"{table}__batch"
    create_batch(con, dataset, batch)
    try:
        fr = read_file(con, path, dataset, file_name=file_name, batch=batch)
        defects = fr.defects(declared_rows)
        if defects:
            raise FileDefect("; ".join(defects))
        apply_rules(con, dataset, period, batch, table)
    finally:
        con.execute(f"drop table if exists {batch}")
    return ParsedFile(dataset, fr.file_name, table, fr.header, fr.records or 0, fr.extra_columns)


def describe_rules(ds: contract.Dataset, period: str = "2021-06") -> list[str]:
    """Human-readable rule names of a dataset (for docs and tests)."""
    return [name for name, _, _ in row_rules(ds, period)]


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,200}")


def safe_file_name(name: object) -> bool:
    """A hub file name (or submission id) is data, not a path: only a plain name may be written.

    Whole-string match (`re.match` with `$` would accept a trailing newline): letters,
    digits, `_`, `.`, `-`, starting with a letter or digit; no control character, no `..`."""
    return isinstance(name, str) and _SAFE_NAME.fullmatch(name) is not None and ".." not in name


__all__ = [
    "FileDefect",
    "FileRead",
    "ParsedFile",
    "apply_rules",
    "create_batch",
    "drop_files",
    "parse_file",
    "read_file",
    "read_files",
    "row_rules",
    "check_xlsx",
    "safe_file_name",
    "normalise_header",
]
