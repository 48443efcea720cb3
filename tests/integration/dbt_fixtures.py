"""A tiny, hand-made warehouse for the dbt tests (raw.* and meta.* rows).

Units and months (S = accepted submission, R = rejected):

    2020-01  040 S, 044 S (Thông Nông -> 045), 045 S, 049 S (Quảng Uyên -> 049 Quảng Hòa), 050 S (Phục Hòa -> 049)
    2020-06  040 S, 045 S, 049 S (Quảng Hòa)
    2021-01  040 v1 S, v2 S (revision, in force), v3 R (rejected, ignored); 045 v1 S
    2021-06  040 S, 045 S (late), 049 S
  second batch (add_second_batch):
    2021-07  040 v1 S (a new month)
    2021-01  045 v2 S: revision WITHOUT job_placements (its placements must go)

Every value the tests assert is computed by hand in the test module from these rows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb

from dolisa import contract, pseudonym, warehouse

PSEUDONYM_KEY = "test-pseudonym-key-0123456789"
KEY = pseudonym.Key(PSEUDONYM_KEY.encode(), "configured")


def _sid(unit: str, period: str, version: int) -> str:
    return f"{unit}-{period}-v{version}"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    for row in rows:
        unknown = set(row) - set(cols)
        if unknown:
            raise KeyError(f"{table}: unknown columns {unknown}")
        values = [row.get(c) for c in cols]
        con.execute(f"insert into {table} values ({', '.join('?' for _ in cols)})", values)


class Batch:
    """Collects submissions and their dataset rows, then writes them."""

    def __init__(self) -> None:
        self.submissions: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.quarantined: list[dict[str, Any]] = []

    def submission(
        self,
        unit: str,
        period: str,
        version: int,
        submitted_at: str,
        status: str = "accepted",
        datasets: dict[str, list[dict[str, Any]]] | None = None,
    ) -> str:
        sid = _sid(unit, period, version)
        datasets = datasets or {}
        self.submissions.append(
            dict(
                submission_id=sid, unit_code=unit, period=period, version=version,
                submitted_at=dt.datetime.fromisoformat(submitted_at),
                landed_at=dt.datetime.fromisoformat(submitted_at) + dt.timedelta(hours=1),
                status=status, reason=None if status == "accepted" else "checksum mismatch",
                n_files=len(datasets),
            )
        )
        for ds, rows in datasets.items():
            self.files.append(
                dict(
                    submission_id=sid, dataset=ds, file_name=f"{ds}.csv", media_type="text/csv",
                    bytes=100, rows_declared=len(rows), sha256="0" * 64, landed_path=f"raw/{sid}/{ds}.csv",
                    status="accepted" if status == "accepted" else "rejected",
                    rows_in=len(rows), rows_loaded=len(rows), rows_quarantined=0,
                )
            )
            id_col = pseudonym.person_key_column(contract.dataset(ds))
            for i, r in enumerate(rows, start=1):
                extra = {pseudonym.PERSON_KEY_COLUMN: KEY.pseudonym(r.get(id_col))} if id_col else {}
                self.rows.setdefault(ds, []).append(
                    dict(r, submission_id=sid, unit_code=unit, period=period, version=version, source_row=i, **extra)
                )
        return sid

    def quarantine(self, sid: str, dataset: str, reasons: list[str], record: dict[str, Any]) -> None:
        unit, y, m, v = sid.split("-")
        n = sum(1 for q in self.quarantined if q["submission_id"] == sid and q["dataset"] == dataset)
        self.quarantined.append(
            dict(
                submission_id=sid, unit_code=unit, period=f"{y}-{m}", version=int(v[1:]), dataset=dataset,
                file_name=f"{dataset}.csv", source_row=100 + n, reasons="; ".join(reasons),
                record=json.dumps(record, ensure_ascii=False),
            )
        )
        for f in self.files:
            if f["submission_id"] == sid and f["dataset"] == dataset:
                f["rows_in"] += 1
                f["rows_quarantined"] += 1

    def write(self, path: Path) -> None:
        with warehouse.connect(path) as con:
            _insert(con, "meta.submissions", self.submissions)
            _insert(con, "meta.files", self.files)
            _insert(con, "meta.quarantined_rows", self.quarantined)
            for ds, rows in self.rows.items():
                _insert(con, f"raw.{ds}", rows)


# --- row makers ---------------------------------------------------------------------------

def _person(i: int) -> dict[str, Any]:
    return dict(citizen_id=f"{i:012d}", full_name=f"Nguyễn Văn {i}", sex="M", birth_date=dt.date(1990, 1, 1))


def placement(pid: str, on: str, destination: str = "DOMESTIC", person: int = 1) -> dict[str, Any]:
    return dict(
        _person(person), placement_id=pid, placed_on=dt.date.fromisoformat(on), destination=destination,
        employer_name=None, country_code="JP" if destination == "ABROAD" else None,
    )


def child(cid: str, status: str = "ACTIVE", supported: bool = True) -> dict[str, Any]:
    return dict(
        child_id=cid, sex="F", birth_date=dt.date(2015, 1, 1), circumstance="ORPHAN",
        identified_on=dt.date(2019, 1, 1), is_receiving_support=supported, status=status,
    )


def rice(aid: str, household: str, size: int, on: str, kg: int = 10) -> dict[str, Any]:
    return dict(
        allocation_id=aid, household_id=household, household_size=size, rice_kg=kg,
        distributed_on=dt.date.fromisoformat(on), occasion="TET",
    )


def allowance(bid: str, approved_on: str, status: str = "ACTIVE", stopped_on: str | None = None) -> dict[str, Any]:
    return dict(
        _person(500 + int(bid[1:])), beneficiary_id=bid, category="ELDERLY_80PLUS", monthly_amount_vnd=360000,
        approved_on=dt.date.fromisoformat(approved_on), status=status,
        stopped_on=dt.date.fromisoformat(stopped_on) if stopped_on else None,
    )


def tet_gift(case_id: str, person: int, on: str = "2021-01-20") -> dict[str, Any]:
    p = _person(person)
    return dict(
        case_id=case_id, citizen_id=p["citizen_id"], full_name=p["full_name"], benefit="TET_GIFT",
        decided_on=dt.date.fromisoformat(on), amount_vnd=500000,
    )


def fund_loan(lid: str, on: str, jobs: int) -> dict[str, Any]:
    return dict(
        loan_id=lid, borrower_citizen_id="123456789", borrower_type="INDIVIDUAL",
        disbursed_on=dt.date.fromisoformat(on), amount_vnd=50_000_000, jobs_created=jobs,
    )


def first_batch() -> Batch:
    b = Batch()
    # ---- 2020-01: the 13 old units era (5 of them submit) ----
    b.submission("040", "2020-01", 1, "2020-02-03T10:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2020-01-10")]})
    b.submission("044", "2020-01", 1, "2020-02-04T10:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2020-01-11"),
                                              placement("P2", "2020-01-12", "ABROAD")]})
    b.submission("045", "2020-01", 1, "2020-02-04T10:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2020-01-13")]})
    b.submission("049", "2020-01", 1, "2020-02-04T10:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2020-01-14")]})
    b.submission("050", "2020-01", 1, "2020-02-04T10:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2020-01-15"), placement("P2", "2020-01-16")]})
    # ---- 2020-06 ----
    b.submission("040", "2020-06", 1, "2020-07-02T10:00:00+07:00",
                 datasets={"child_protection_register": [child("C1", supported=True), child("C2", supported=False)]})
    b.submission("045", "2020-06", 1, "2020-07-02T10:00:00+07:00",
                 datasets={"job_placements": [placement("P9", "2020-06-01")]})
    b.submission("049", "2020-06", 1, "2020-07-02T10:00:00+07:00",
                 datasets={"job_placements": [placement("P9", "2020-06-02")]})
    # ---- 2021-01: 040 v1, v2 (in force), v3 rejected ----
    b.submission("040", "2021-01", 1, "2021-02-05T23:00:00+07:00",
                 datasets={"job_placements": [placement(f"P{i}", "2021-01-05") for i in range(1, 4)]})
    v2 = b.submission(
        "040", "2021-01", 2, "2021-03-10T09:00:00+07:00",
        datasets={
            "job_placements": [placement("P1", "2021-01-05", person=7), placement("P2", "2021-01-06", "ABROAD")],
            "child_protection_register": [child("C1"), child("C2", supported=False)],
            "rice_relief": [rice("A1", "H1", 4, "2021-01-10"), rice("A2", "H2", 3, "2021-01-10")],
            "social_allowance_register": [allowance("B4", "2021-01-15"), allowance("B2", "2019-05-01")],
            "meritorious_benefits": [tet_gift("M1", 21), tet_gift("M2", 21), tet_gift("M3", 22)],
            "employment_fund_loans": [fund_loan("L1", "2021-01-20", 675)],
        },
    )
    b.quarantine(v2, "job_placements", ["citizen_id: malformed", "sex: unknown"],
                 {"citizen_id": "12AB", "full_name": "Trần Thị Lỗi", "sex": "X"})
    b.quarantine(v2, "job_placements", ["citizen_id: malformed"], {"citizen_id": "99", "full_name": "Lê Văn Sai"})
    b.submission("040", "2021-01", 3, "2021-03-20T09:00:00+07:00", status="rejected",
                 datasets={"job_placements": [placement(f"P{i}", "2021-01-05") for i in range(1, 11)]})
    b.submission("045", "2021-01", 1, "2021-02-01T09:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2021-01-07"), placement("P2", "2021-01-08")],
                           "rice_relief": [rice("A1", "H1", 2, "2021-01-05")]})
    # ---- 2021-06 ----
    b.submission(
        "040", "2021-06", 1, "2021-07-05T23:59:00+07:00",
        datasets={
            "child_protection_register": [child("C1"), child("C2", supported=False), child("C3"),
                                          child("C4", status="CLOSED")],
            "rice_relief": [rice("A1", "H1", 5, "2021-06-02"), rice("A2", "H1", 2, "2021-06-02"),
                            rice("A3", "H2", 3, "2021-06-15"), rice("A4", "H2", 6, "2021-06-15")],
            "social_allowance_register": [allowance("B1", "2021-03-01"), allowance("B2", "2019-05-01"),
                                          allowance("B3", "2021-02-01", "STOPPED", "2021-06-10"),
                                          allowance("B4", "2021-01-15")],
        },
    )
    b.submission("045", "2021-06", 1, "2021-07-06T00:30:00+07:00",
                 datasets={"job_placements": [placement("P1", "2021-06-03")],
                           "child_protection_register": [child("C1")]})
    b.submission("049", "2021-06", 1, "2021-07-01T08:00:00+07:00",
                 datasets={"job_placements": [placement(f"P{i}", "2021-06-04") for i in range(1, 4)]})
    return b


def second_batch() -> Batch:
    b = Batch()
    b.submission("040", "2021-07", 1, "2021-08-03T10:00:00+07:00",
                 datasets={"job_placements": [placement("P1", "2021-07-02")]})
    b.submission("045", "2021-01", 2, "2021-08-10T10:00:00+07:00",
                 datasets={"rice_relief": [rice("A1", "H1", 2, "2021-01-05")]})
    return b


PLAN_TARGETS = [
    (2021, "LAB_VOC_NEW_SOCAP", "04", 5500),
    (2021, "LAB_JOB_PLACEMENTS", "04", 600),
    (2021, "LAB_OVERSEAS_DEPARTURES", "04", 100),
    (2021, "LAB_FUND_JOBS", "04", 1200),
    (2021, "LAB_FUND_JOBS", "040", 1200),
]


def make_warehouse(path: Path) -> Path:
    """Create the warehouse file with the first batch and the plan targets."""
    first_batch().write(path)
    with warehouse.connect(path) as con:
        con.executemany("insert into meta.plan_targets values (?, ?, ?, ?)", PLAN_TARGETS)
    return path


def add_second_batch(path: Path) -> None:
    second_batch().write(path)
