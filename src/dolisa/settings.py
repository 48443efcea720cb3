"""Where the pipeline writes: everything lives under DOLISA_HOME (contract §5)."""

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

    @property
    def raw(self) -> Path:  # landing zone: raw/<unit>/<period>/<submission_id>/
        return self.home / "raw"

    @property
    def quarantine(self) -> Path:  # rejected versions and quarantined rows, with reasons
        return self.home / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "dolisa.duckdb"

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

    def report_dir(self, report_period: str) -> Path:
        return self.reports / report_period

    def ensure(self) -> "Paths":
        for p in (self.raw, self.quarantine, self.warehouse.parent, self.reports, self.published):
            p.mkdir(parents=True, exist_ok=True)
        return self


def paths(home: str | os.PathLike | None = None) -> Paths:
    return Paths(Path(home).resolve() if home else dolisa_home())
