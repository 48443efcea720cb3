"""Run the project's dbt (dbt_project/) in-process with `dbtRunner`.

    from dolisa import dbt, settings
    p = settings.paths()
    dbt.build(warehouse=p.warehouse, target_path=p.dbt_target)
    dbt.run_dbt(["build", "-s", "rpt_indicators"], warehouse=p.warehouse, target_path=p.dbt_target)

- The profile (dbt_project/profiles.yml) reads the warehouse path from the
  environment variable DOLISA_WAREHOUSE: `run_dbt` sets it for the call.
- The dbt project directory is `<repo>/dbt_project` (located from this file),
  or DOLISA_DBT_PROJECT_DIR when set.
- dbt's target and log directories go to `target_path` and `target_path/../logs`
  (inside DOLISA_HOME), so the repository stays clean.
- No secret is passed to dbt: pseudonyms are computed by the loader
  (`dolisa.pseudonym`), so dbt's vars, compiled SQL, manifest, run_results and logs
  never hold the key.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dolisa.settings import DBT_RESERVE, duckdb_settings

PROJECT_DIR_ENV = "DOLISA_DBT_PROJECT_DIR"

_LOCK = threading.Lock()  # dbtRunner and os.environ are process-wide


class DbtError(RuntimeError):
    """dbt failed; `failures` lists (node unique_id, status, message)."""

    def __init__(self, message: str, failures: list[tuple[str, str, str]] | None = None):
        super().__init__(message)
        self.failures = failures or []


def project_dir() -> Path:
    """The dbt project directory (holds dbt_project.yml and profiles.yml)."""
    env = os.environ.get(PROJECT_DIR_ENV)
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "dbt_project"
    if not (path / "dbt_project.yml").is_file():
        raise DbtError(f"no dbt_project.yml in {path} (set {PROJECT_DIR_ENV})")
    return path.resolve()


@contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failures(
    result: Any, statuses: tuple[str, ...] = ("error", "fail", "runtime error")
) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    res = getattr(result, "result", None)
    for r in getattr(res, "results", None) or []:
        status = getattr(r.status, "value", str(r.status))
        if status in statuses:
            node = getattr(r, "node", None)
            uid = getattr(node, "unique_id", "?") if node is not None else "?"
            out.append((uid, status, (getattr(r, "message", "") or "").strip()))
    return out


def run_dbt(
    args: list[str],
    *,
    warehouse: Path,
    target_path: Path,
    vars: dict[str, Any] | None = None,
) -> Any:
    """Run one dbt command (e.g. ["build", "-s", "fct_job_placements"]) against `warehouse`.

    Returns the dbtRunnerResult; raises DbtError (listing the failing nodes) when
    dbt reports a failure or an exception.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when dbt is run

    warehouse = Path(warehouse).resolve()
    target_path = Path(target_path).resolve()
    target_path.mkdir(parents=True, exist_ok=True)
    log_path = target_path.parent / "logs"
    log_path.mkdir(parents=True, exist_ok=True)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    pdir = project_dir()
    all_vars = dict(vars or {})
    cli = [
        *args,
        "--project-dir",
        str(pdir),
        "--profiles-dir",
        str(pdir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
    ]
    if all_vars:
        cli += ["--vars", json.dumps(all_vars)]
    # the profile passes these to DuckDB: the same bounds as every other connection, with dbt's
    # larger reserve for what it holds beside DuckDB
    duck = duckdb_settings(reserve=DBT_RESERVE)
    env = {
        "DOLISA_WAREHOUSE": str(warehouse),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DOLISA_DUCKDB_MEMORY_LIMIT": duck["memory_limit"],
        "DOLISA_DUCKDB_THREADS": duck["threads"],
    }
    with _LOCK, _env(env):
        try:
            result = dbtRunner().invoke(cli)
        finally:
            _close_duckdb()
    if not result.success:
        failures = _failures(result)
        lines = [f"dbt {' '.join(args)} failed"]
        if result.exception is not None:
            lines.append(f"exception: {result.exception}")
        lines += [f"  {uid}: {status}: {msg}" for uid, status, msg in failures]
        raise DbtError("\n".join(lines), failures)
    return result


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after a run.

    dbt-duckdb holds one process-wide environment (`keep_open`, on by default) whose
    database stays open when `dbtRunner` returns, with its buffer pool (up to
    `memory_limit`) and its configuration. In a process that runs more than dbt (an
    Airflow task under `airflow dags test`, where every task shares one process; the
    CLI's `dolisa run`), that memory stayed for every later stage, and the project's
    own connections to the warehouse shared that database instead of opening their own."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - another adapter
        return
    with DuckDBConnectionManager._LOCK:
        env = getattr(DuckDBConnectionManager, "_ENV", None)
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


def warnings(result: Any) -> list[dict[str, str]]:
    """The data tests that warned in a dbt result (severity warn: see docs/operations.md,
    "Which tests may fail a night"): node, and dbt's message (a count, never a row)."""
    return [{"node": uid, "message": msg} for uid, _, msg in _failures(result, ("warn",))]


def build(
    *,
    warehouse: Path,
    target_path: Path,
    vars: dict[str, Any] | None = None,
    select: list[str] | None = None,
    full_refresh: bool = False,
) -> Any:
    """`dbt build`: seeds, models, data tests and unit tests, in DAG order, nothing excluded.

    (`dbt build` loads the seeds itself, before the models that read them.)
    """
    args = ["build"]
    if select:
        args += ["--select", *select]
    if full_refresh:
        args.append("--full-refresh")
    return run_dbt(args, warehouse=warehouse, target_path=target_path, vars=vars)


def docs_generate(*, warehouse: Path, target_path: Path, vars: dict[str, Any] | None = None) -> Any:
    """`dbt docs generate` into target_path (manifest.json, catalog.json, index.html)."""
    return run_dbt(["docs", "generate"], warehouse=warehouse, target_path=target_path, vars=vars)


DOCS_STAMP = "docs.project-fingerprint"


def project_fingerprint() -> str:
    """A digest of everything the dbt docs describe: the project's files and dbt's version."""
    import hashlib

    from dbt.version import __version__ as dbt_version

    h = hashlib.sha256(dbt_version.encode())
    root = project_dir()
    for f in sorted(root.rglob("*")):
        if f.is_file() and not ({"target", "logs", "dbt_packages"} & set(f.relative_to(root).parts)):
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def docs_generate_if_changed(*, warehouse: Path, target_path: Path) -> bool:
    """`dbt docs generate` only when the project (models, macros, seeds, docs) changed since the
    docs were last generated, so the nightly cost does not grow with history. True when it ran."""
    stamp = Path(target_path) / DOCS_STAMP
    fingerprint = project_fingerprint()
    if (
        (Path(target_path) / "index.html").exists()
        and (Path(target_path) / "catalog.json").exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8").strip() == fingerprint
    ):
        return False
    docs_generate(warehouse=warehouse, target_path=target_path)
    stamp.write_text(fingerprint + "\n", encoding="utf-8")
    return True
