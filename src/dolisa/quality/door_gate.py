"""The door gate: validate one parsed file against its GX suite `door__<dataset>`.

The suites are built from the contract description by `expectations/door_gate.py`
(loaded by path, see `dolisa.quality.load_expectations`). This module runs them and
turns the GX validation result into what the loader needs:

* file level (`severity: file`): the header has every contract column and the record
  count equals the hub's declared `rows`; otherwise `file_ok` is False and the whole
  version is rejected with `file_reasons`;
* row level (`severity: row`): each failing expectation's `unexpected_index_list`
  (indexed by `source_row`) gives the rows to quarantine, with the rule's reason.

Input: the frame `dolisa.parse` makes of one file -- one row per data record, with

    source_row       int, 1-based record number in the file (unique in the frame)
    <col>            per contract column, typed and normalised:
                       text/citizen_id/code/country/sex  str or None (NFC, trimmed; codes and
                                                         country upper case; sex 'M'/'F'; a
                                                         value that does not map stays as
                                                         given (upper case) or None)
                       date     datetime64 (any unit) or datetime.date objects; NaT/None
                                when empty or unparseable
                       integer  Int64 (nullable) or int64/float64; <NA> when empty/unparseable
                       boolean  boolean (nullable) or object bool; <NA> when empty/unparseable
    <col>__raw       the cell text as it came, None when the cell is empty or only spaces

Rows that are identical in every contract column are collapsed by the parser before
the gate (one row stays); if it did, it passes `n_records` (the records it read) so
the count check still compares the file's real record count with `rows`. Columns a
header lacks may be present (all None) or absent: the gate decides from
`header_columns`. Extra columns are ignored.

Performance: one ephemeral GX context per process, one pandas data source / asset /
whole-dataframe batch definition reused for every call, suites built once per
dataset; each call creates only GX's (unavoidable) per-batch Validator. Nothing is
written to any store on the hot path. Data Docs are built separately, once per run
(`dolisa.quality.data_docs`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dolisa import contract
from dolisa.quality import load_expectations

log = logging.getLogger(__name__)

# COMPLETE + index column: every failing row's source_row, nothing we do not use.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["source_row"],
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 20,
}

_DATASOURCE, _ASSET, _BATCH_DEFINITION = "door_gate", "parsed_file", "whole_file"
_lock = threading.RLock()


class DoorGateError(RuntimeError):
    """The gate could not evaluate a rule on a file whose header is complete: a bug
    (in the parser's frame or in a suite), not a data defect. It fails the run."""


@dataclass
class DoorGateResult:
    dataset: str
    period: str
    batch_name: str
    file_ok: bool
    file_reasons: list[str]
    row_reasons: dict[int, list[str]]  # source_row -> reasons, in suite order
    success: bool  # GX's verdict: every expectation passed
    result_json: dict  # the ExpectationSuiteValidationResult, JSON-serialisable
    n_expectations: int
    n_failed: int
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # expectations that raised

    @property
    def quarantined_rows(self) -> set[int]:
        return set(self.row_reasons)


# --- process-wide GX objects ----------------------------------------------------------


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.WARNING)


@functools.cache
def gx_objects():
    """(context, batch_definition) -- one ephemeral context per process."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with _lock:
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        ds = ctx.data_sources.add_pandas(_DATASOURCE)
        asset = ds.add_dataframe_asset(_ASSET)
        bd = asset.add_batch_definition_whole_dataframe(_BATCH_DEFINITION)
    return ctx, bd


@functools.cache
def suite(dataset: str):
    """The door suite of `dataset`, built once per process (not saved to any store)."""
    return load_expectations("door_gate").build_suite(dataset)


@functools.cache
def _reason_order(dataset: str) -> dict[str, int]:
    order: dict[str, int] = {}
    for i, e in enumerate(suite(dataset).expectations):
        order.setdefault(e.meta["reason"], i)
    return order


# --- frame preparation ----------------------------------------------------------------


def _normalise_header(header_columns: list[str]) -> set[str]:
    return {str(h).strip().lower() for h in header_columns}


def _prepare(ds: contract.Dataset, parsed: pd.DataFrame, missing: list[str]) -> pd.DataFrame:
    """The frame GX sees: columns the header lacks removed (so the header rule sees them
    missing), dates as datetime64[ns] (the only date dtype GX 1.24 compares vectorised
    with text bounds), and a positional index."""
    if "source_row" not in parsed.columns:
        raise DoorGateError("parsed frame has no source_row column")
    drop = [c for m in missing for c in (m, f"{m}__raw") if c in parsed.columns]
    changes: dict[str, pd.Series] = {}
    for c in ds.columns:
        if c.type == "date" and c.name in parsed.columns and c.name not in missing:
            s = parsed[c.name]
            if s.dtype != "datetime64[ns]":
                changes[c.name] = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
    frame = parsed.drop(columns=drop) if drop else parsed
    if "file_key" not in frame.columns:  # a single file: ids must be unique within it
        changes["file_key"] = pd.Series(0, index=frame.index, dtype="int64")
    if changes or not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.assign(**changes).reset_index(drop=True)
    return frame


# --- the gate -------------------------------------------------------------------------


def validate_file(
    dataset: str,
    period: str,
    parsed: pd.DataFrame,
    header_columns: list[str],
    declared_rows: int,
    *,
    batch_name: str,
    n_records: int | None = None,
) -> DoorGateResult:
    """Run `door__<dataset>` on one parsed file of month `period` (YYYY-MM).

    `header_columns`: the file's header as read (matched case-insensitively, trimmed).
    `declared_rows`: the hub's `rows` for the file. `batch_name`: names the batch in the
    result (e.g. "040-2021-06-v1/job_placements.csv"). `n_records`: records read from
    the file before identical duplicates were collapsed (default: len(parsed)).
    """
    from great_expectations.validator.v1_validator import Validator

    t0 = time.perf_counter()
    ds = contract.dataset(dataset)
    de = load_expectations("door_gate")
    s = suite(dataset)
    _, bd = gx_objects()

    header = _normalise_header(header_columns)
    missing = [c for c in ds.column_names if c not in header]
    frame = _prepare(ds, parsed, missing)
    n_records = len(frame) if n_records is None else int(n_records)
    collapsed = n_records - len(frame)
    params = de.suite_parameters(dataset, period, int(declared_rows) - collapsed)

    validator = Validator(batch_definition=bd, batch_parameters={"dataframe": frame},
                          result_format=RESULT_FORMAT)
    result = validator.validate_expectation_suite(s, expectation_parameters=params)
    result.meta.update({
        "batch_name": batch_name, "dataset": dataset, "period": period,
        "declared_rows": int(declared_rows), "n_records": n_records,
        "identical_duplicates_collapsed": collapsed, "suite_parameters": params,
        "validated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    })
    # The pandas frame itself sits in batch_spec; it is neither JSON nor wanted there.
    result.meta.pop("batch_spec", None)
    result_json = result.to_json_dict()

    file_reasons: list[str] = []
    row_reasons: dict[int, list[str]] = {}
    errors: list[str] = []
    order = _reason_order(dataset)
    n_failed = 0
    for r in result_json["results"]:
        if r["success"]:
            continue
        n_failed += 1
        meta = r["expectation_config"].get("meta") or {}
        reason, severity = meta.get("reason", "?"), meta.get("severity", "row")
        raised = _exception_message(r)
        if raised is not None:
            errors.append(f"{reason} [{r['expectation_config']['type']}: {raised}]")
            if severity == "row":
                continue
        if severity == "file":
            file_reasons.append(_file_reason(meta, r, missing, n_records, declared_rows))
            continue
        for item in r["result"].get("unexpected_index_list") or []:
            row_reasons.setdefault(int(item["source_row"]), []).append(reason)

    file_ok = not file_reasons
    if file_ok and errors:
        raise DoorGateError(f"{batch_name}: door gate rules could not be evaluated: {'; '.join(errors)}")
    for reasons in row_reasons.values():
        reasons.sort(key=lambda x: order.get(x, 1 << 30))
    return DoorGateResult(
        dataset=dataset, period=period, batch_name=batch_name,
        file_ok=file_ok, file_reasons=file_reasons, row_reasons=row_reasons,
        success=bool(result_json["success"]), result_json=result_json,
        n_expectations=len(result_json["results"]), n_failed=n_failed,
        seconds=time.perf_counter() - t0, errors=errors,
    )


def _exception_message(r: dict) -> str | None:
    """The error of a result whose expectation raised, else None. GX 1.24 reports
    `exception_info` either flat ({"raised_exception": ...}) or, for metric errors,
    keyed by metric id ({"MetricConfigurationID(...)": {"raised_exception": ...}})."""
    info = r.get("exception_info") or {}
    infos = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for i in infos:
        if i.get("raised_exception"):
            return str(i.get("exception_message") or "error")
    if not r.get("result"):  # failed without a result: treat as not evaluated
        return "no result"
    return None


def _file_reason(meta: dict, r: dict, missing: list[str], n_records: int, declared_rows: int) -> str:
    rule = meta.get("rule")
    if rule == "header_has_contract_columns":
        details = (r.get("result") or {}).get("details") or {}
        cols = (details.get("mismatched") or {}).get("missing") or missing
        return f"header: missing column(s) {', '.join(sorted(cols))}"
    if rule == "record_count_equals_declared":
        return f"rows: file has {n_records} records, hub declared {int(declared_rows)}"
    return meta.get("reason", "file-level rule failed")


def warm_up(datasets: list[str] | None = None) -> None:
    """Build the context and the suites ahead of the first file (e.g. at task start)."""
    gx_objects()
    for name in datasets or list(contract.datasets()):
        suite(name)
        _reason_order(name)


# --- the loader's gate (dolisa.load.DoorGate) ------------------------------------------

IDENTICAL_DUPLICATE_PREFIX = "identical duplicate of row"  # dolisa.parse's reason for a collapsed copy


def _reason_column(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


class LoaderGate:
    """`dolisa.load.DoorGate`: runs the GX door suite on a file `dolisa.parse` has put in
    a DuckDB temp table, stores the validation result as JSON, and collects the results
    so `flush()` builds Data Docs once per run.

    The parser already applies the same contract rules in SQL, with value-bearing
    reasons ("training_level: unknown code 'PHD'"). The verdict therefore carries a GX
    row reason only where the parser has no reason for that row and column (the text
    before ':'): a rule GX caught and SQL missed still quarantines the row, without
    repeating the same defect in two wordings. The full GX result (every failing row)
    stays in the stored result / Data Docs. Rows the parser marked as identical
    duplicates are left out of the GX batch (the gate's "collapsed" rows) and counted
    through `n_records`.
    """

    def __init__(self, p=None):
        from dolisa.settings import paths

        self.paths = p or paths()
        self.results_dir = self.paths.home / "quality" / "validations"
        self._run: list[tuple[str, Path]] = []

    def result_path(self, batch_name: str) -> Path:
        parts = [re.sub(r"[^A-Za-z0-9._=-]+", "_", x) for x in batch_name.split("/") if x]
        return self.results_dir.joinpath(*parts).with_suffix(".json")

    def __call__(self, con, parsed, period: str, declared_rows: int | None, batch_name: str):
        from dolisa.load import GateVerdict

        ds = contract.dataset(parsed.dataset)
        cols = ["source_row", "file_key"] + [x for c in ds.column_names for x in (c, f"{c}__raw")]
        df = con.execute(f"select {', '.join(cols)}, reasons from {parsed.table} order by source_row").df()
        parser_reasons = {int(r): [str(x) for x in (rs if rs is not None else [])]
                          for r, rs in zip(df["source_row"], df["reasons"])}
        dup = [any(x.startswith(IDENTICAL_DUPLICATE_PREFIX) for x in parser_reasons[int(r)]) for r in df["source_row"]]
        frame = df.loc[[not d for d in dup]].drop(columns=["reasons"])
        declared = parsed.rows_in if declared_rows is None else int(declared_rows)
        r = validate_file(ds.name, period, frame, list(parsed.header), declared,
                          batch_name=batch_name, n_records=parsed.rows_in)

        row_reasons: dict[int, list[str]] = {}
        for row, reasons in r.row_reasons.items():
            covered = {_reason_column(x) for x in parser_reasons.get(row, [])}
            extra = [x for x in reasons if _reason_column(x) not in covered]
            if extra:
                row_reasons[row] = extra
                log.warning("%s row %s: door gate found what the parser did not: %s", batch_name, row, extra)

        path = self._store(batch_name, r.result_json)
        return GateVerdict(
            file_reasons=r.file_reasons, row_reasons=row_reasons, success=r.success,
            suite=r.result_json.get("suite_name", ""), n_expectations=r.n_expectations,
            n_failed=r.n_failed, result_path=str(path),
        )

    def files(self, period: str, frame: pd.DataFrame, batch_name: str) -> tuple[dict[int, list[str]], str]:
        """File-level verdict for one month's files; stores the result like the row batches."""
        reasons, result_json = validate_files(period, frame, batch_name=batch_name)
        return reasons, str(self._store(batch_name, result_json))

    def _store(self, batch_name: str, result_json: dict) -> Path:
        """Keep a validation result as JSON and remember it for this run's Data Docs."""
        path = self.result_path(batch_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result_json, ensure_ascii=False, default=str), encoding="utf-8")
        self._run.append((batch_name, path))
        return path

    def flush(self, p=None) -> Path | None:
        """Build the Data Docs site (`paths.data_docs`) once for this run: pages for the
        files validated in this run, the index over every stored result."""
        from dolisa.quality.data_docs import build_data_docs

        p = p or self.paths
        if not self._run and (p.data_docs / "index.html").is_file():
            return p.data_docs / "index.html"
        t0 = time.perf_counter()
        new = {str(path): name for name, path in self._run}
        results, listed = [], []
        for path in sorted(self.results_dir.rglob("*.json")):
            name = str(path.relative_to(self.results_dir).with_suffix(""))
            item = (new.get(str(path), name), json.loads(path.read_text(encoding="utf-8")))
            (results if str(path) in new else listed).append(item)
        index = build_data_docs(p.data_docs, results, listed=listed)
        log.info("data docs: %d new, %d listed, %.1fs -> %s", len(results), len(listed),
                 time.perf_counter() - t0, index)
        self._run.clear()
        return index


@functools.cache
def files_suite():
    return load_expectations("door_files").build_suite()


def validate_files(period: str, files: pd.DataFrame, *, batch_name: str) -> tuple[dict[int, list[str]], dict]:
    """Run `door__files` on one month's files (see expectations/door_files.py for the frame).

    Returns ({file_key: [reason, ...]} for every file a FILE rule rejects, the result JSON)."""
    from great_expectations.validator.v1_validator import Validator

    _, bd = gx_objects()
    frame = files.reset_index(drop=True)
    validator = Validator(batch_definition=bd, batch_parameters={"dataframe": frame},
                          result_format={**RESULT_FORMAT, "unexpected_index_column_names": ["file_key"]})
    result = validator.validate_expectation_suite(files_suite())
    result.meta.update({"batch_name": batch_name, "period": period,
                        "validated_at": dt.datetime.now(dt.timezone.utc).isoformat()})
    result.meta.pop("batch_spec", None)
    result_json = result.to_json_dict()
    by_key = frame.set_index("file_key")
    reasons: dict[int, list[str]] = {}
    for r in result_json["results"]:
        if r["success"]:
            continue
        raised = _exception_message(r)
        if raised is not None:
            raise DoorGateError(f"{batch_name}: file rule {r['expectation_config']['type']} could not run: {raised}")
        rule = (r["expectation_config"].get("meta") or {}).get("rule")
        for idx in r["result"].get("unexpected_index_list") or []:
            key = int(idx["file_key"])
            f = by_key.loc[key]
            if rule == "file_readable":
                text = str(f["read_error"])
            elif rule == "header_has_contract_columns":
                text = f"{f['file_name']}: missing required column(s): {f['missing_columns']}"
            else:
                text = f"{f['file_name']}: {int(f['records'])} records but the hub declared rows = {int(f['declared_rows'])}"
            reasons.setdefault(key, []).append(text)
    return reasons, result_json


def gate_for_loader(p=None) -> LoaderGate:
    """The door gate as `dolisa.load` calls it (see `dolisa.pipeline.door_gate`)."""
    warm_up()
    return LoaderGate(p)


def benchmark(sizes: tuple[int, ...] = (1, 10_000), repeat: int = 5, period: str = "2021-06") -> list[dict]:
    """Per-call time of `validate_file` on valid frames, per dataset (median of `repeat`)."""
    import statistics

    samples = load_expectations("samples")
    warm_up()
    out = []
    for name in contract.datasets():
        cols = contract.dataset(name).column_names
        row: dict[str, Any] = {"dataset": name, "expectations": len(suite(name).expectations)}
        for n in sizes:
            df = samples.valid_frame(name, period, n)
            validate_file(name, period, df, cols, n, batch_name="bench")
            ts = []
            for _ in range(repeat):
                t = time.perf_counter()
                validate_file(name, period, df, cols, n, batch_name="bench")
                ts.append(time.perf_counter() - t)
            row[f"ms_{n}_rows"] = round(statistics.median(ts) * 1000, 1)
        out.append(row)
    return out


if __name__ == "__main__":  # python -m dolisa.quality.door_gate  -> overhead figures
    import warnings

    warnings.simplefilter("ignore")
    for row in benchmark():
        print(row)
