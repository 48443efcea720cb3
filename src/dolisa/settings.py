"""Where the pipeline writes: everything lives under DOLISA_HOME (contract §5).

Two zones (docs/operations.md):

- the **restricted zone** — everything under DOLISA_HOME except `published/` and
  `reports/`: raw files, quarantine, the warehouse and its WAL, dbt artifacts and logs,
  validation results, the secret store. Owner-only: directories 0700, files 0600.
  `restricted()` sets the process umask to 077 so every file the process creates
  (DuckDB, dbt, GX, Airflow's task log) is owner-only without configuration;
- the **reader zone** — `published/` and `reports/`, for the reporting team:
  directories 0755, files 0644 (`share()`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def dolisa_home() -> Path:
    """DOLISA_HOME, default `<project>/.dolisa_home` (git-ignored)."""
    return Path(os.environ.get("DOLISA_HOME") or PROJECT_ROOT / ".dolisa_home").resolve()


@dataclass(frozen=True)
class Paths:
    home: Path
    warehouse_file: Path | None = None  # another warehouse file in the same home (a rebuild's scratch)

    @property
    def raw(self) -> Path:  # landing zone: raw/<unit>/<period>/<submission_id>/
        return self.home / "raw"

    @property
    def quarantine(self) -> Path:  # rejected versions and quarantined rows, with reasons
        return self.home / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_file or self.home / "warehouse" / "dolisa.duckdb"

    @property
    def published(self) -> Path:  # read-only snapshot for the reporting team
        return self.home / "published"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def data_docs(self) -> Path:
        return self.home / "data_docs"

    @property
    def dbt_target(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def secrets(self) -> Path:  # the secret store (pseudonym key), owner-only
        return self.home / "secrets"

    @property
    def lock_file(self) -> Path:  # the one-writer lock (dolisa.lock)
        return self.home / "warehouse.lock"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def restricted_dirs(self) -> tuple[Path, ...]:
        """The top folders of the restricted zone (owner-only)."""
        return (
            self.raw,
            self.quarantine,
            self.warehouse.parent,
            self.secrets,
            self.dbt_target.parent,
            self.data_docs,
            self.logs,
        )

    def report_dir(self, report_period: str) -> Path:
        return self.reports / report_period

    def ensure(self) -> "Paths":
        """Create the zones: restricted folders owner-only, reader folders shared."""
        restricted()
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o711)  # others may reach published/ and reports/, not list the home
        for p in self.restricted_dirs:
            if p.is_dir() and p.stat().st_mode & 0o077:
                _close_tree(p)  # a folder from before the zones (or opened by hand): close it all
            p.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(p, 0o700)
        for p in (self.reports, self.published):
            p.mkdir(parents=True, exist_ok=True)
            os.chmod(p, 0o755)
        return self


RESTRICTED_UMASK = 0o077


def restricted() -> None:
    """Make every file and folder this process creates owner-only (umask 077)."""
    os.umask(RESTRICTED_UMASK)


def _close_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        os.chmod(root, 0o700)
        for f in files:
            fp = os.path.join(root, f)
            if not os.path.islink(fp):
                os.chmod(fp, os.stat(fp).st_mode & 0o700)


def share(path: Path) -> None:
    """Open a file or folder tree of the reader zone (published/, reports/) to the reporting team."""
    path = Path(path)
    if path.is_dir():
        os.chmod(path, 0o755)
        for root, dirs, files in os.walk(path):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                fp = os.path.join(root, f)
                # a read-only file (an issued report copy, dolisa.reissue) stays read-only
                os.chmod(fp, 0o644 if os.stat(fp).st_mode & 0o200 else 0o444)
    elif path.exists():
        os.chmod(path, 0o644)


READER_ZONES = ("published", "reports")


def reader_dir(path: Path) -> Path:
    """Create a folder of the reader zone (under published/ or reports/), open to the reporting team.

    Every folder from the zone's top down to `path` is made 0755 (the process umask makes
    new folders owner-only)."""
    path = Path(path)
    chain = [path, *path.parents]
    top = next((i for i, p in enumerate(chain) if p.name in READER_ZONES), None)
    if top is None:  # checked before anything is created or opened up
        raise ValueError(f"{path} is not inside a reader zone ({', '.join(READER_ZONES)})")
    path.mkdir(parents=True, exist_ok=True)
    for p in chain[: top + 1]:
        os.chmod(p, 0o755)
    return path


# DuckDB's resources for every connection the project opens (loader, dbt, publish, report,
# re-issue, the desk). The defaults fit a 4 GB machine next to Airflow; DuckDB spills what
# does not fit to a temp folder beside the database file. Override by environment.
DUCKDB_MEMORY_LIMIT_ENV, DUCKDB_MEMORY_LIMIT_DEFAULT = "DOLISA_DUCKDB_MEMORY_LIMIT", "1GB"
DUCKDB_THREADS_ENV, DUCKDB_THREADS_DEFAULT = "DOLISA_DUCKDB_THREADS", "2"


def duckdb_config() -> dict[str, str]:
    """The DuckDB settings every connection gets: {"memory_limit": ..., "threads": ...}
    (warehouse.open_duckdb; dbt's profile sets the same)."""
    return {
        "memory_limit": os.environ.get(DUCKDB_MEMORY_LIMIT_ENV) or DUCKDB_MEMORY_LIMIT_DEFAULT,
        "threads": os.environ.get(DUCKDB_THREADS_ENV) or DUCKDB_THREADS_DEFAULT,
    }


# The bound on the memory of a process that runs the pipeline (the benchmark's figure is the
# process tree's peak RSS): DuckDB's memory_limit is the cap above, lowered when a connection is
# opened to what the process has left under this budget. A CLI stage starts small and keeps the
# cap; a long-lived process that already holds Airflow, dbt, GX and the report writers (every
# task of `airflow dags test` runs in the one `airflow` process) gives DuckDB less, and DuckDB
# evicts or spills instead of the process growing past the bound. "none" switches it off.
MEMORY_BUDGET_ENV, MEMORY_BUDGET_DEFAULT = "DOLISA_MEMORY_BUDGET", "1536MiB"
PYTHON_RESERVE = 256 << 20  # what a stage holds beside DuckDB's memory: pandas frames, GX
# dbt holds more beside DuckDB: its manifest and graph, the adapter's relation cache, and the
# allocations DuckDB makes outside its buffer pool while building the marts. At scale 60 on the
# heavy store shape (registers x3, docs/performance.md) `build_marts` reached 1 556 MB under
# `airflow dags test` with the 256 MiB reserve, 20 MB over the budget.
DBT_RESERVE = 384 << 20
DUCKDB_MEMORY_FLOOR = 256 << 20

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}


def parse_bytes(text: str) -> int:
    """'1GB' (DuckDB's units: KB/MB/GB decimal, KiB/MiB/GiB binary) -> bytes."""
    import re

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text or "")
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (e.g. 1GB, 768MiB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _process_rss() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None  # not Linux: no budget


def duckdb_settings(reserve: int = PYTHON_RESERVE) -> dict[str, str]:
    """The DuckDB settings for a connection opened now: `duckdb_config()`, with memory_limit
    lowered (never raised) to what this process has left under DOLISA_MEMORY_BUDGET after
    its current RSS and `reserve` (PYTHON_RESERVE; DBT_RESERVE for dbt), and no lower than
    DUCKDB_MEMORY_FLOOR."""
    cfg = duckdb_config()
    budget_text = (os.environ.get(MEMORY_BUDGET_ENV) or MEMORY_BUDGET_DEFAULT).strip()
    if budget_text.lower() == "none":
        return cfg
    rss = _process_rss()
    if rss is None:
        return cfg
    room = parse_bytes(budget_text) - rss - reserve
    if room < parse_bytes(cfg["memory_limit"]):
        cfg["memory_limit"] = f"{max(room, DUCKDB_MEMORY_FLOOR) >> 20}MiB"
    return cfg


def lock_timeout_seconds() -> float:
    """How long a second warehouse writer waits for the lock (DOLISA_LOCK_TIMEOUT, seconds)."""
    return float(os.environ.get("DOLISA_LOCK_TIMEOUT", "900"))


def paths(home: str | os.PathLike | None = None) -> Paths:
    return Paths(Path(home).resolve() if home else dolisa_home())
