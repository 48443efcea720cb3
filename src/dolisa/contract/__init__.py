"""The one machine-readable description of the District Export contract.

`datasets.yaml` holds section 4 of the contract; `admin_units.csv` the reporting
units. Everything that needs to know a dataset, a column, a type or a code list
reads it through this module.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

COLUMN_TYPES = {"text", "citizen_id", "sex", "date", "integer", "boolean", "code", "country"}

# Warehouse (DuckDB) type of each contract column type after parsing.
SQL_TYPES = {
    "text": "VARCHAR",
    "citizen_id": "VARCHAR",
    "sex": "VARCHAR",
    "date": "DATE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
    "code": "VARCHAR",
    "country": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    optional: bool = False
    required_when: dict[str, str] | None = None
    event_date: bool = False
    personal: bool = False
    codes: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    max_age_years: int | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def allowed_values(self) -> tuple[str, ...]:
        if self.type == "code":
            return self.codes
        if self.type == "country":
            return country_codes()
        if self.type == "sex":
            return ("M", "F")
        return ()


@dataclass(frozen=True)
class Dataset:
    name: str
    area: str
    kind: str  # event | snapshot
    record_id: str
    label_vi: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def event_date_column(self) -> str | None:
        for c in self.columns:
            if c.event_date:
                return c.name
        return None


@functools.cache
def _raw_contract() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("datasets.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.cache
def datasets() -> dict[str, Dataset]:
    """All datasets of the contract, by name, in contract order."""
    out: dict[str, Dataset] = {}
    for name, spec in _raw_contract()["datasets"].items():
        cols = []
        for c in spec["columns"]:
            if c["type"] not in COLUMN_TYPES:
                raise ValueError(f"{name}.{c['name']}: unknown type {c['type']!r}")
            cols.append(
                Column(
                    name=c["name"],
                    type=c["type"],
                    optional=bool(c.get("optional", False)),
                    required_when=c.get("required_when"),
                    event_date=bool(c.get("event_date", False)),
                    personal=bool(c.get("personal", False)),
                    codes=tuple(c.get("codes", ())),
                    min=c.get("min"),
                    max=c.get("max"),
                    max_age_years=c.get("max_age_years"),
                )
            )
        ds = Dataset(
            name=name,
            area=spec["area"],
            kind=spec["kind"],
            record_id=spec["record_id"],
            label_vi=spec["label_vi"],
            columns=tuple(cols),
        )
        if ds.record_id not in ds.column_names:
            raise ValueError(f"{name}: record id {ds.record_id} is not a column")
        out[name] = ds
    return out


# What the pipeline adds per record above the hub's columns: the citizen-id pseudonym, the
# raw cells of a quarantined row, the record's row number in its file.
PIPELINE_PERSON_LEVEL_COLUMNS = ("person_key", "record", "source_row")


@functools.cache
def person_level_columns() -> frozenset[str]:
    """Names of the columns that hold one person or one record, which never reach the reader
    zone (published/, reports/): every `*_id` column of the contract's datasets (record ids,
    citizen ids, child_id, household_id), every personal column (names), every birth date,
    and PIPELINE_PERSON_LEVEL_COLUMNS."""
    names = {
        c.name
        for ds in datasets().values()
        for c in ds.columns
        if c.name.endswith("_id") or c.personal or c.name == "birth_date"
    }
    return frozenset(names | set(PIPELINE_PERSON_LEVEL_COLUMNS))


def dataset(name: str) -> Dataset:
    try:
        return datasets()[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}") from None


@functools.cache
def country_codes() -> tuple[str, ...]:
    text = resources.files(__package__).joinpath("iso3166_alpha2.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class AdminUnit:
    unit_code: str
    name_vi: str
    unit_type: str
    parent_code: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    successor_code: str | None
    former_district_code: str | None = None  # a reading aid (contract §7), never used in a figure

    def valid_in(self, period: str) -> bool:
        """True when the unit exists for the whole calendar month `period` (YYYY-MM)."""
        first = month_start(period)
        last = month_end(period)
        return self.valid_from <= first and (self.valid_to is None or self.valid_to >= last)


@functools.cache
def admin_units() -> tuple[AdminUnit, ...]:
    text = resources.files(__package__).joinpath("admin_units.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return tuple(
        AdminUnit(
            unit_code=r["unit_code"],
            name_vi=r["name_vi"],
            unit_type=r["unit_type"],
            parent_code=r["parent_code"] or None,
            valid_from=dt.date.fromisoformat(r["valid_from"]),
            valid_to=dt.date.fromisoformat(r["valid_to"]) if r["valid_to"] else None,
            successor_code=r["successor_code"] or None,
            former_district_code=r.get("former_district_code") or None,
        )
        for r in rows
    )


PROVINCE_CODE = "04"
# A reporting unit's code, as a regular expression: GSO codes of 3 digits (districts, up to
# 2025-06) or 5 digits (communes and wards, from 2025-07); 2 for the province.
UNIT_CODE_PATTERN = r"(?:\d{2,3}|\d{5})"


def reporting_units(period: str) -> list[AdminUnit]:
    """The units that submit for `period` (not the province): the city and districts up to
    2025-06, the 56 communes and wards from 2025-07 (contract §7), as admin_units.csv says."""
    return [u for u in admin_units() if u.unit_code != PROVINCE_CODE and u.valid_in(period)]


def known_unit_codes() -> set[str]:
    return {u.unit_code for u in admin_units() if u.unit_code != PROVINCE_CODE}


def month_start(period: str) -> dt.date:
    y, m = parse_period(period)
    return dt.date(y, m, 1)


def month_end(period: str) -> dt.date:
    y, m = parse_period(period)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def parse_period(period: str) -> tuple[int, int]:
    """'2021-06' -> (2021, 6); raises ValueError on anything else."""
    if not isinstance(period, str) or len(period) != 7 or period[4] != "-":
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    y, m = period[:4], period[5:]
    if not (y.isdigit() and m.isdigit()) or not 1 <= int(m) <= 12:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return int(y), int(m)


def add_months(period: str, n: int) -> str:
    y, m = parse_period(period)
    i = y * 12 + (m - 1) + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def period_range(first: str, last: str) -> list[str]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = add_months(p, 1)
    return out


def half_year_periods(report_period: str) -> list[str]:
    """'2021-H1' -> ['2021-01', ..., '2021-06']."""
    if len(report_period) != 7 or report_period[4:6] != "-H" or report_period[6] not in "12":
        raise ValueError(f"report period must be YYYY-H1 or YYYY-H2, got {report_period!r}")
    year = int(report_period[:4])
    first = 1 if report_period[6] == "1" else 7
    return [f"{year:04d}-{m:02d}" for m in range(first, first + 6)]


def due_at(period: str) -> dt.datetime:
    """End of the 5th day of the next month, Asia/Ho_Chi_Minh (the submission deadline)."""
    nxt = month_start(add_months(period, 1))
    tz = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
    return dt.datetime(nxt.year, nxt.month, 6, 0, 0, tzinfo=tz)


# ---------------------------------------------------------------------------
# The ledger's vocabulary (ledger.yaml): statuses and reason kinds, declared once
# ---------------------------------------------------------------------------

_FIELD = re.compile(r"\{(\w+)\}")
# A file name (or <submission_id>/<name>) is a plain name: it holds no ':' (dolisa.parse.safe_file_name).
_FIELD_PATTERNS = {"file": r"[^:;]+"}


@dataclass(frozen=True)
class ReasonKind:
    """One kind of reason: `en` is what the ledger stores (with its fields filled in),
    `vi` what a person reads, `fix_vi` what the sender should do about it."""

    kind: str
    level: str  # version | file | row
    en: str
    vi: str
    fix_vi: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(_FIELD.findall(self.en))

    @functools.cached_property
    def pattern(self) -> re.Pattern:
        """The `en` template as a regular expression with one named group per field."""
        out, pos, seen = "^", 0, set()
        for m in _FIELD.finditer(self.en):
            out += re.escape(self.en[pos : m.start()])
            name = m[1]
            out += f"(?P={name})" if name in seen else f"(?P<{name}>{_FIELD_PATTERNS.get(name, '.+?')})"
            seen.add(name)
            pos = m.end()
        return re.compile(out + re.escape(self.en[pos:]) + "$", re.S)

    def format(self, **fields: object) -> str:
        missing = set(self.fields) - set(fields)
        if missing:
            raise KeyError(f"reason {self.kind}: missing field(s) {sorted(missing)}")
        return self.en.format(**{k: fields[k] for k in self.fields})


@functools.cache
def _raw_ledger() -> dict[str, Any]:
    return yaml.safe_load(resources.files(__package__).joinpath("ledger.yaml").read_text(encoding="utf-8"))


@functools.cache
def reason_kinds() -> dict[str, ReasonKind]:
    """Every reason kind of ledger.yaml, by name, in file order."""
    out = {}
    for kind, spec in _raw_ledger()["reasons"].items():
        if spec["level"] not in ("version", "file", "row"):
            raise ValueError(f"reason {kind}: unknown level {spec['level']!r}")
        out[kind] = ReasonKind(kind, spec["level"], spec["en"], spec["vi"], spec["fix_vi"])
    return out


def reason(kind: str, **fields: object) -> str:
    """The ledger's text of one reason: `reason('missing_columns', file='a.csv', columns='x')`."""
    return reason_kinds()[kind].format(**fields)


def parse_reason(text: str) -> tuple[ReasonKind, dict[str, str]] | None:
    """One reason as the ledger stores it, read back: its kind and fields, or None when no
    kind's template matches (a reason this vocabulary does not know)."""
    for rk in reason_kinds().values():
        m = rk.pattern.match(text)
        if m:
            return rk, m.groupdict()
    return None


def split_reasons(text: str | None) -> list[str]:
    """A ledger reason column holds one or more reasons joined by '; '."""
    return [p.strip() for p in str(text or "").split("; ") if p.strip()]


@functools.cache
def statuses(subject: str) -> tuple[str, ...]:
    """The statuses of `version`, `file` or `row`, as ledger.yaml declares them."""
    return tuple(_raw_ledger()["statuses"][subject])


def status_vi(subject: str, status: str) -> str:
    return _raw_ledger()["statuses"][subject].get(status, {}).get("vi", status)


def ledger_vocabulary_rows() -> list[tuple[str, str, str, str]]:
    """(subject, value, vi, en) of every status and reason kind: meta.ledger_vocabulary."""
    rows = [
        (f"{subject}_status", value, spec["vi"], spec["en"])
        for subject, values in _raw_ledger()["statuses"].items()
        for value, spec in values.items()
    ]
    rows += [(f"{rk.level}_reason", rk.kind, rk.vi, rk.en) for rk in reason_kinds().values()]
    return rows
