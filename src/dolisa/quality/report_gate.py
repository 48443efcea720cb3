"""The report gate: Great Expectations over the built marts, before the `rpt_` models.

The suites, their severity and the models they read are declared in
`expectations/report_gate.py` (reviewable code). This module only runs them, through
GX's public 1.x API:

1. each batch is read from its dbt model for the report's half-year (a small pandas
   frame) and handed to GX as a pickle asset of an ephemeral context's pandas data source;
2. one `ValidationDefinition` per batch and suite, all in one `Checkpoint` whose action
   rebuilds the Data Docs site (`UpdateDataDocsAction`) for what ran, and nothing older;
3. the personal-data value scan runs in a second Checkpoint with result_format
   BOOLEAN_ONLY, so no matching value is ever stored in a result or shown in Data Docs; its
   candidates are staged in DuckDB and validated in batches of VALUE_BATCH_ROWS (`MartValues`),
   so what pandas and GX hold does not grow with the marts;
   the other batches hold no personal column and keep COMPLETE results, indexed by
   (unit_code, period, item), so each finding names its reporting unit and month;
4. failed expectations become findings (rule, severity, unit_code, period,
   indicator_code, values, English message).

GX's SQL data source on DuckDB fails in GX 1.24.1, hence pandas batches.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import duckdb

from dolisa import contract
from dolisa.quality import load_expectations

log = logging.getLogger(__name__)

_declared = load_expectations("report_gate")
BLOCKING, WARNING = "blocking", "warning"
SITE_NAME = "dolisa_report_gate"
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": list(_declared.KEY_COLUMNS),
    "return_unexpected_index_query": False,
}
VALUES_RESULT_FORMAT: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    unit_code: str | None = None
    period: str | None = None
    indicator_code: str | None = None
    item: str | None = None
    values: dict = field(default_factory=dict)


@dataclass
class GateResult:
    report_period: str
    findings: list[Finding] = field(default_factory=list)
    allow_incomplete: bool = False
    data_docs: str | None = None
    decided_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def _waivable(self, f: Finding) -> bool:
        rule = _declared.RULE.get(f.rule)
        return bool(rule and rule.waivable)

    @property
    def blocking(self) -> list[Finding]:
        return [
            f for f in self.findings if f.severity == BLOCKING and not (self.allow_incomplete and self._waivable(f))
        ]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCKING and self.allow_incomplete and self._waivable(f)]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def overridden(self) -> bool:
        return self.passed and bool(self.waived)

    def as_dict(self) -> dict:
        return {
            "report_period": self.report_period,
            "passed": self.passed,
            "allow_incomplete": self.allow_incomplete,
            "overridden": self.overridden,
            "decided_at": self.decided_at,
            "data_docs": self.data_docs,
            "rules": [
                {"rule": r.name, "severity": r.severity, "waivable": r.waivable, "description": r.description}
                for r in _declared.RULES
            ],
            "blocking": [asdict(f) for f in self.blocking],
            "waived": [asdict(f) for f in self.waived],
            "warnings": [asdict(f) for f in self.warnings],
        }


class ReportGateBlocked(RuntimeError):
    def __init__(self, result: GateResult):
        self.result = result
        lines = [f"report gate blocked the {result.report_period} report ({len(result.blocking)} blocking finding(s)):"]
        lines += [f"  - [{f.rule}] {f.message}" for f in result.blocking[:50]]
        if len(result.blocking) > 50:
            lines.append(f"  ... and {len(result.blocking) - 50} more (quality_gate.json)")
        if result.data_docs:
            lines.append(f"Data Docs: {result.data_docs}")
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------
# batches (read from the dbt models)
# ---------------------------------------------------------------------------


def same_half(report_period: str) -> str:
    """The same half of the previous year: 2021-H1 -> 2020-H1."""
    contract.half_year_periods(report_period)
    year, half = report_period.split("-")
    return f"{int(year) - 1}-{half}"


def _params(sql: str, report_period: str) -> dict:
    values = {"half": report_period, "same_half": same_half(report_period)}
    return {k: v for k, v in values.items() if f"${k}" in sql}


def read_batches(con: duckdb.DuckDBPyConnection, report_period: str) -> dict:
    """{batch name: DataFrame} of every declared batch, for the report's half-year."""
    frames = {}
    for b in _declared.BATCHES:
        sql = b.sql()
        frames[b.name] = con.execute(sql, _params(sql, report_period)).df()
    return frames


VALUES_TABLE = "report_gate_values"  # a temporary table of the gate's connection


def _mart_values_sql(con: duckdb.DuckDBPyConnection, report_period: str) -> str | None:
    """The query of (source, value): every distinct text value of every mart column
    ("schema.table.column"), over the half-year's rows where the table has a half_year or
    period column, that could match a personal-data pattern at all (`VALUE_CANDIDATE_SQL`: ids
    and pseudonyms cannot) and is not the name of an admin unit (`NOT_REFERENCE_NAME_SQL`).
    None when no mart has a text column."""
    months = contract.half_year_periods(report_period)
    cols = con.execute(
        """select table_name, column_name, data_type from information_schema.columns
           where table_schema = 'marts' and table_catalog = current_database() order by table_name, ordinal_position"""
    ).fetchall()
    by_table: dict[str, dict[str, str]] = {}
    for t, c, dtype in cols:
        by_table.setdefault(t, {})[c] = dtype
    parts = []
    for t, columns in by_table.items():
        where = "true"
        if "half_year" in columns:
            where = f"half_year = '{report_period}'"
        elif "period" in columns:
            where = f"period in {tuple(months)}"
        for c, dtype in columns.items():
            if dtype == "VARCHAR":
                candidate = _declared.VALUE_CANDIDATE_SQL.format(v=f'"{c}"')
                parts.append(f"""select distinct 'marts.{t}.{c}' as source, "{c}" as value from marts."{t}"
                                 where {where} and "{c}" is not null and {candidate}""")
    if not parts:
        return None
    not_reference = _declared.NOT_REFERENCE_NAME_SQL.format(v="candidates.value")
    return f"select * from ({' union all '.join(parts)}) as candidates where {not_reference}"


class MartValues:
    """The value scan's candidates, staged in DuckDB (a temporary table of the gate's
    connection, which DuckDB may spill) and handed out in frames of at most `batch_rows`
    values, in the order of column and value: what pandas and GX hold at a time does not grow
    with the marts. Iterable more than once; `close()` drops the table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, report_period: str, batch_rows: int | None = None):
        self.con = con
        self.batch_rows = int(batch_rows or _declared.VALUE_BATCH_ROWS)
        sql = _mart_values_sql(con, report_period)
        con.execute(f"drop table if exists temp.{VALUES_TABLE}")
        if sql is None:
            con.execute(f"create temp table {VALUES_TABLE} (i bigint, source varchar, value varchar)")
        else:
            con.execute(
                f"create temp table {VALUES_TABLE} as "
                f"select row_number() over (order by source, value) as i, source, value from ({sql}) as v"
            )
        self.rows = con.execute(f"select count(*) from temp.{VALUES_TABLE}").fetchone()[0]

    def __len__(self) -> int:
        """The number of batches (at least one: an empty scan is validated too)."""
        return max(1, -(-self.rows // self.batch_rows))

    def __iter__(self):
        for k in range(len(self)):
            lo = k * self.batch_rows
            yield self.con.execute(
                f"select source, value from temp.{VALUES_TABLE} where i > ? and i <= ? order by i",
                [lo, lo + self.batch_rows],
            ).df()

    def close(self) -> None:
        self.con.execute(f"drop table if exists temp.{VALUES_TABLE}")


# ---------------------------------------------------------------------------
# Great Expectations: context, checkpoints, Data Docs
# ---------------------------------------------------------------------------


def import_gx() -> None:
    """Import GX before the gate's DuckDB connection opens (`dolisa.pipeline.gate`): its ~120 MB
    then count in the process's RSS from which the connection's memory_limit is derived
    (`settings.duckdb_settings`), instead of coming on top of DuckDB's share."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401
    import great_expectations.checkpoint  # noqa: F401
    import great_expectations.expectations  # noqa: F401


def _context(site_dir: Path | None):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

    sites = {}
    if site_dir is not None:
        sites[SITE_NAME] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        data_docs_sites=sites,
    )
    ctx = gx.get_context(mode="ephemeral", project_config=config)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def _checkpoint(
    ctx, name: str, datasource, work: Path, batches: list[tuple[str, Any, Any]], result_format: dict, docs: bool
):
    """A Checkpoint of one ValidationDefinition per (batch name, frame, suite)."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    vds = []
    for batch_name, frame, suite in batches:
        path = work / f"{batch_name}.pkl"
        frame.to_pickle(path)
        asset = datasource.add_pickle_asset(batch_name, filepath_or_buffer=path)
        bd = asset.add_batch_definition(batch_name)
        if any(s.name == suite.name for s in ctx.suites.all()):  # a later batch of the value scan
            ctx.suites.delete(suite.name)
        suite = ctx.suites.add(suite)
        vds.append(ctx.validation_definitions.add(gx.ValidationDefinition(name=batch_name, data=bd, suite=suite)))
    actions = [UpdateDataDocsAction(name="data_docs", site_names=[SITE_NAME])] if docs else []
    return ctx.checkpoints.add(
        gx.Checkpoint(name=name, validation_definitions=vds, actions=actions, result_format=result_format)
    )


def run_checkpoints(
    frames: dict, values_frame, report_period: str, *, site_dir: Path | None, work_dir: Path | None = None
) -> list:
    """Validate every batch; returns the ExpectationSuiteValidationResults."""
    if site_dir is not None:  # Data Docs for what runs now, nothing older
        shutil.rmtree(site_dir, ignore_errors=True)
        site_dir.mkdir(parents=True, exist_ok=True)
    ctx = _context(site_dir)
    try:
        return _run_all(ctx, frames, values_frame, report_period, site_dir, work_dir)
    finally:
        # gx.get_context() keeps the context process-wide (GX's project manager), and with it
        # the data source, the batches and the results: in a process that runs more than the
        # gate (every task of `airflow dags test` shares one) they stayed until the process ended
        from great_expectations.data_context.data_context.context_factory import project_manager

        project_manager.set_project(None)


def _run_all(ctx, frames: dict, values, report_period: str, site_dir: Path | None, work_dir: Path | None) -> list:
    if hasattr(values, "columns"):  # one frame: a single batch
        values = [values]
    ds = ctx.data_sources.add_pandas("report_gate")
    with tempfile.TemporaryDirectory(prefix=".report_gate.", dir=work_dir) as tmp:
        work = Path(tmp)
        docs = site_dir is not None
        main = [(b.name, frames[b.name], _declared.SUITES[b.name]()) for b in _declared.BATCHES]
        results = _run(ctx, f"report_gate_{report_period}", ds, work, main, RESULT_FORMAT, docs)
        # the personal-data value scan, batch by batch (MartValues): BOOLEAN_ONLY; one fast pass,
        # then per column when it failed. Each batch has its own data source, deleted once it ran:
        # a data source's execution engine keeps every batch it loaded.
        scan: list = []
        for k, frame in enumerate(values):
            tag = "" if k == 0 else f"_{k + 1}"
            vds = ctx.data_sources.add_pandas(f"report_gate_values{tag}")
            try:
                batch = [(f"mart_values{tag}", frame, _declared.mart_values_suite())]
                name = f"report_gate_{report_period}_personal_data{tag}"
                part = _run(ctx, name, vds, work, batch, VALUES_RESULT_FORMAT, docs)
                if not all(r.success for r in part):
                    sources = sorted(frame["source"].unique())
                    by_column = [(f"mart_values_by_column{tag}", frame, _declared.mart_values_suite(sources))]
                    name = f"report_gate_{report_period}_personal_data_by_column{tag}"
                    part = _run(ctx, name, vds, work, by_column, VALUES_RESULT_FORMAT, docs)
            finally:
                ctx.data_sources.delete(vds.name)
                for p in work.glob(f"mart_values*{tag}.pkl"):
                    p.unlink()
            scan += part
            del frame, vds
        return results + scan


def _run(ctx, name, ds, work, batches, result_format, docs) -> list:
    run = _checkpoint(ctx, name, ds, work, batches, result_format, docs=docs).run()
    return list(run.run_results.values())


# ---------------------------------------------------------------------------
# results -> findings
# ---------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def findings_from_results(results: Iterable, frames: dict) -> list[Finding]:
    by_suite = {b.suite_name: b for b in _declared.BATCHES}
    out: list[Finding] = []
    named: set[tuple[str, str]] = set()  # a column of the value scan named once, over all its batches
    for suite_result in results:
        batch = by_suite.get(suite_result.suite_name)
        frame = frames.get(batch.name) if batch else None
        for r in suite_result.results:
            if r.success:
                continue
            cfg = r.expectation_config
            meta = cfg.meta or {}
            rule, severity = meta.get("rule"), meta.get("severity")
            exc = r.exception_info or {}
            if exc.get("raised_exception"):
                item = f"{suite_result.suite_name}/{cfg.type}" + (
                    f"({cfg.kwargs.get('column')})" if cfg.kwargs.get("column") else ""
                )
                out.append(
                    Finding(
                        "gate_error",
                        BLOCKING,
                        _declared.message("gate_error", item=item),
                        item=item,
                        values={"rule": rule, "error": str(exc.get("exception_message"))[:300]},
                    )
                )
                continue
            index = (r.result or {}).get("unexpected_index_list")
            if not index:  # table-level, or BOOLEAN_ONLY (the personal-data value scan)
                item = meta.get("source") or f"{suite_result.suite_name}/{cfg.type}"
                if (rule, item) not in named:
                    named.add((rule, item))
                    out.append(Finding(rule, severity, _declared.message(rule, item=item, period=None), item=item))
                continue
            for key in index:
                fields = {k: _plain(key.get(k)) for k in _declared.KEY_COLUMNS}
                values = {}
                if frame is not None and batch is not None:
                    row = frame
                    for k in _declared.KEY_COLUMNS:
                        row = row[row[k].isna()] if fields[k] is None else row[row[k] == fields[k]]
                    if len(row):
                        values = {c: _plain(row.iloc[0][c]) for c in batch.values if c in row.columns}
                out.append(
                    Finding(
                        rule,
                        severity,
                        _declared.message(rule, **fields, **values),
                        unit_code=fields["unit_code"],
                        period=fields["period"],
                        indicator_code=fields["item"] if batch is _declared.INDICATORS else None,
                        item=fields["item"],
                        values=values,
                    )
                )
    return out


def run_report_gate(
    con: duckdb.DuckDBPyConnection,
    report_period: str,
    *,
    allow_incomplete: bool = False,
    data_docs_dir: Path | None = None,
    work_dir: Path | None = None,
    extra_findings: Iterable[Finding] = (),
    value_batch_rows: int | None = None,
) -> GateResult:
    """Run every suite of the report gate for `report_period` over the built marts
    (`value_batch_rows`: the value scan's batch size, default VALUE_BATCH_ROWS)."""
    contract.half_year_periods(report_period)
    frames = read_batches(con, report_period)
    values = MartValues(con, report_period, batch_rows=value_batch_rows)
    try:
        results = run_checkpoints(frames, values, report_period, site_dir=data_docs_dir, work_dir=work_dir)
    finally:
        values.close()
    result = GateResult(
        report_period,
        allow_incomplete=allow_incomplete,
        data_docs=str(Path(data_docs_dir) / "index.html") if data_docs_dir else None,
    )
    result.findings = findings_from_results(results, frames) + list(extra_findings)
    return result
