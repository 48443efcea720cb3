"""No submission, however malformed, fails the province's night (contract §3, issue 20).

One hub serves, in one night, every file-level defect the contract and the operations guide
name and every malformed-listing kind, each as a later version of a unit-month that already
has a good one, plus combinations: several defects in one version, several defective
versions of one unit-month, defective versions of many units in one month. The real stages
run over it — extract, load, dbt build through the marts, report gate, report models, report
files, publish — and over the same store without those versions.

The property, for every defect:
- the run succeeds (no stage raises);
- the defective version is rejected, with a reason of the kind the defect is
  (read back through the ledger's vocabulary), and its quarantine file exists;
- rows in = rows loaded + rows quarantined for every file (counted in the tables);
- the marts and the report are those of the run without the defects, except for the rows
  that are about the rejected versions themselves (the ledger's own marts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import zipfile

import pytest

from dolisa import contract, pipeline, warehouse
from dolisa.extract import HubConfig, RetryPolicy
from dolisa.settings import paths
from dolisa_demo.hub import generate, start_server

pytestmark = pytest.mark.slow

TOKEN = "chain-token"
KEY = "defects-through-the-chain-key-0123456789"
PERIODS = [f"2021-{m:02d}" for m in range(1, 7)]
REPORT = "2021-H1"
TZ = dt.timezone(dt.timedelta(hours=7))
LATE = dt.datetime(2021, 7, 20, 9, 0, tzinfo=TZ)


def _csv_header_only(ds: str) -> bytes:
    return (",".join(contract.dataset(ds).column_names) + "\r\n").encode()


def _dtd_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Types/>')
        z.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


def _in_force(store, unit: str, period: str, defective=()) -> tuple[int, dict[str, bytes]]:
    """The highest version listed so far and the files of the highest good one (not in `defective`)."""
    subs = [s for u, p, s in store.iter_submissions() if (u, p) == (unit, period)]
    good = max((s for s in subs if s["submission_id"] not in defective), key=lambda s: s["version"])
    return (max(s["version"] for s in subs),
            {f["name"]: store.read_file(unit, good["submission_id"], f["name"]) for f in good["files"]})


def _csv_name(files: dict[str, bytes], min_rows: int = 2) -> str:
    return next(n for n, b in files.items() if n.endswith(".csv") and b.count(b"\n") > min_rows)


# Each defect: (name, expected reason kinds, builder(files) -> add_submission kwargs).
# A builder gets the unit-month's in-force files and returns the defective version's
# files (and `datasets` / `overrides`).
def _unknown_dataset(files):
    return {"files": {**files, "poverty_census.csv": b"household_id,poor\r\nH1,1\r\n"}}


def _name_mismatch(files):
    name = _csv_name(files)
    rest = {n: b for n, b in files.items() if n != name}
    return {"files": {**rest, "export_" + name: files[name]}, "datasets": {"export_" + name: name[:-4]}}


def _name_of_another_dataset(files):
    name = _csv_name(files)
    other = next(d for d in contract.datasets() if not name.startswith(d))
    rest = {n: b for n, b in files.items() if n != name}
    return {"files": {**rest, f"{other}.csv": files[name]}, "datasets": {f"{other}.csv": name[:-4]}}


def _unknown_file_type(files):
    name = _csv_name(files)
    rest = {n: b for n, b in files.items() if n != name}
    return {"files": {**rest, name[:-4] + ".txt": files[name]}, "datasets": {name[:-4] + ".txt": name[:-4]}}


def _second_file(files):
    name = _csv_name(files)
    return {"files": {**files, name[:-4] + ".xlsx": _dtd_xlsx()}, "overrides": {name[:-4] + ".xlsx": {"rows": 1}}}


def _checksum(files):
    name = _csv_name(files)
    return {"files": files, "overrides": {name: {"sha256": "0" * 64}}}


def _longer_than_listed(files):
    name = _csv_name(files)
    return {"files": files, "overrides": {name: {"bytes": len(files[name]) - 5}}}


def _not_utf8(files):
    name = _csv_name(files)
    return {"files": {**files, name: files[name].replace(b"\n", b"\n\xff\xfe", 1)}}


def _unreadable_xlsx(files):
    return {"files": {**files, "rice_relief.xlsx": b"PK\x03\x04 this is not a workbook"},
            "overrides": {"rice_relief.xlsx": {"rows": 1}}, "drop": ("rice_relief.csv",)}


def _dtd(files):
    return {"files": {**files, "rice_relief.xlsx": _dtd_xlsx()}, "overrides": {"rice_relief.xlsx": {"rows": 1}},
            "drop": ("rice_relief.csv",)}


def _missing_column(files):
    name = _csv_name(files)
    header, rest = files[name].split(b"\n", 1)
    first = header.split(b",")[0]
    return {"files": {**files, name: header.replace(first, b"renamed_" + first.lstrip(b"\xef\xbb\xbf"), 1)
                      + b"\n" + rest}}


def _rows_mismatch(files):
    name = _csv_name(files)
    return {"files": files, "overrides": {name: {"rows": 999}}}


def _ragged(files):
    name = _csv_name(files)
    return {"files": {**files, name: files[name].rstrip(b"\r\n") + b"\n" + b",".join([b"x"] * 40) + b"\n"}}


def _empty(files):
    name = _csv_name(files)
    return {"files": {**files, name: b""}}


FILE_DEFECTS = {
    # unit: (label, reason kinds expected in the version's reason, builder)
    "040": ("unknown dataset", {"unknown_dataset"}, _unknown_dataset),
    "042": ("name not <dataset>.csv", {"name_mismatch"}, _name_mismatch),
    "043": ("name of another dataset", {"name_mismatch"}, _name_of_another_dataset),
    "045": ("unknown file type", {"name_mismatch"}, _unknown_file_type),
    "047": ("second file of a dataset", {"second_file"}, _second_file),
    "048": ("sha256 wrong", {"checksum_mismatch"}, _checksum),
    "049": ("body longer than listed", {"body_too_long"}, _longer_than_listed),
    "051": ("not UTF-8", {"not_utf8"}, _not_utf8),
    "052": ("unreadable XLSX", {"unreadable_xlsx"}, _unreadable_xlsx),
    "053": ("XLSX with a DTD", {"xlsx_refused"}, _dtd),
}
# 2021-05: the rest of the file defects, and combinations in one version
FILE_DEFECTS_MAY = {
    "040": ("missing column", {"missing_columns"}, _missing_column),
    "042": ("rows mismatch", {"rows_mismatch"}, _rows_mismatch),
    "043": ("ragged CSV", {"invalid_csv"}, _ragged),
    "045": ("empty file", {"empty_file"}, _empty),
    "047": ("unknown dataset + not UTF-8 + rows mismatch in one version",
            {"unknown_dataset", "not_utf8", "rows_mismatch"}, lambda f: _combined(f)),
}
# one unit-month with several defective versions after its good one (2021-04, 051)
STACKED = [("unknown dataset", {"unknown_dataset"}, _unknown_dataset), ("sha256 wrong", {"checksum_mismatch"}, _checksum),
           ("missing column", {"missing_columns"}, _missing_column)]

MALFORMED_ENTRIES = ["duplicate_name", "no_bytes", "no_version", "version_text", "no_offset", "other_format",
                     "ledger_name", "newline_id", "not_object", "unsafe_name", "no_files", "bad_sha"]


def _combined(files):
    out = _unknown_dataset(files)["files"]
    first, second = [n for n in files if n.endswith(".csv") and files[n].count(b"\n") > 2][:2]
    out[first] = _not_utf8({first: files[first]})["files"][first]
    return {"files": out, "overrides": {second: {"rows": 999}}}


def _entry(store, unit: str, period: str, kind: str, version: int) -> object:
    _, files = _in_force(store, unit, period)
    (v1,) = [s for u, p, s in store.iter_submissions() if (u, p) == (unit, period) and s["version"] == 1]
    e = {"submission_id": f"{unit}-{period}-v{version}", "version": version, "submitted_at": "2021-07-25T10:00:00+07:00",
         "files": [{k: v for k, v in f.items() if not k.startswith("_")} for f in v1["files"][:2]]}
    f = e["files"][0]
    if kind == "duplicate_name":
        e["files"] = [f, dict(f)]
    elif kind == "no_bytes":
        f.pop("bytes")
    elif kind == "no_version":
        e.pop("version")
    elif kind == "version_text":
        e["version"] = str(version)
    elif kind == "no_offset":
        e["submitted_at"] = "2021-07-25 10:00"
    elif kind == "other_format":
        e["submitted_at"] = "25/07/2021 10:00"
    elif kind == "ledger_name":
        f["name"] = "manifest.json"
    elif kind == "newline_id":
        e["submission_id"] += "\n"
    elif kind == "not_object":
        return [e["submission_id"]]
    elif kind == "unsafe_name":
        f["name"] = "../../evil.csv"
    elif kind == "no_files":
        e.pop("files")
    elif kind == "bad_sha":
        f["sha256"] = "xyz"
    return e


def _store(root, *, defects: bool):
    s = generate(root, first=PERIODS[0], last=PERIODS[-1], scale=0.05)
    if not defects:
        return s
    expected = {}  # submission_id -> expected reason kinds (None: any listing_entry)

    def add(unit, period, when, label, kinds, build):
        version, files = _in_force(s, unit, period, expected)
        spec = build(files)
        files_out = {n: b for n, b in spec["files"].items() if n not in spec.get("drop", ())}
        s.add_submission(unit, period, version + 1, when, files_out, datasets=spec.get("datasets"),
                         overrides=spec.get("overrides"))
        expected[f"{unit}-{period}-v{version + 1}"] = (label, kinds)

    for unit, (label, kinds, build) in FILE_DEFECTS.items():
        add(unit, "2021-06", LATE, label, kinds, build)
    for unit, (label, kinds, build) in FILE_DEFECTS_MAY.items():
        add(unit, "2021-05", LATE, label, kinds, build)
    for i, (label, kinds, build) in enumerate(STACKED):
        add("051", "2021-04", LATE + dt.timedelta(hours=i), label, kinds, build)
    version, _ = _in_force(s, "048", "2021-05")
    for i, kind in enumerate(MALFORMED_ENTRIES, start=version + 1):
        s.add_listing_entry("048", "2021-05", _entry(s, "048", "2021-05", kind, i))
    s.save()
    s.expected = expected
    return s


def _night(store, home) -> dict:
    os.environ["DOLISA_HOME"] = str(home)
    p = paths(home).ensure()
    policy = RetryPolicy(attempts=2, backoff_base=0.01, backoff_max=0.02, connect_timeout=2, read_timeout=5)
    out = {"paths": p}
    with start_server(store.root, token=TOKEN) as hub:
        out["extract"] = pipeline.extract(PERIODS, HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{hub.port}"), p,
                                          policy=policy)
    out["load"] = pipeline.load(PERIODS, p, pseudonym_key=KEY)  # one key for both homes: comparable pseudonyms
    out["transform"] = pipeline.transform(p)
    out["gate"] = pipeline.gate(REPORT, p=p)
    out["build_reports"] = pipeline.build_reports(REPORT, p)
    out["write_report"] = pipeline.write_report(REPORT, p)
    out["publish"] = pipeline.publish(p)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    before = os.environ.get("DOLISA_HOME")
    try:
        clean_store = _store(tmp_path_factory.mktemp("clean_hub") / "hub", defects=False)
        bad_store = _store(tmp_path_factory.mktemp("bad_hub") / "hub", defects=True)
        clean = _night(clean_store, tmp_path_factory.mktemp("clean_home"))
        bad = _night(bad_store, tmp_path_factory.mktemp("bad_home"))
    finally:
        if before is None:
            os.environ.pop("DOLISA_HOME", None)
        else:
            os.environ["DOLISA_HOME"] = before
    return clean_store, bad_store, clean, bad


def _ledger(p) -> dict[str, tuple]:
    with warehouse.connect(p.warehouse) as con:
        return {r[0]: r[1:] for r in con.execute(
            "select submission_id, status, unit_code, period, reason from meta.submissions").fetchall()}


def test_the_night_with_every_defect_succeeds_and_reports(runs):
    _, _, clean, bad = runs
    for run in (clean, bad):
        assert run["gate"].passed and not run["gate"].blocking
        assert (run["paths"].reports / REPORT / "indicators.csv").exists()
        assert run["publish"]
        assert not run["extract"]["deferred"]  # a defect is never taken for a transient fault


def test_every_defective_version_is_rejected_with_its_kind_of_reason(runs):
    _, bad_store, clean, bad = runs
    ledger = _ledger(bad["paths"])
    assert len(bad_store.expected) == len(FILE_DEFECTS) + len(FILE_DEFECTS_MAY) + len(STACKED)
    for sid, (label, kinds) in bad_store.expected.items():
        status, unit, period, reason = ledger[sid]
        assert status == "rejected", (label, sid)
        found = {contract.parse_reason(r)[0].kind for r in contract.split_reasons(reason)
                 if contract.parse_reason(r)}
        assert kinds <= found, (label, reason)
        assert (bad["paths"].quarantine / unit / period / f"{sid}.rejected.json").exists(), label
    # every malformed listing entry: one rejected version of 048 2021-05, reason listing_entry
    extra = {sid: v for sid, v in ledger.items() if sid not in _ledger(clean["paths"])
             and sid not in bad_store.expected}
    assert len(extra) == len(MALFORMED_ENTRIES)
    for sid, (status, unit, period, reason) in extra.items():
        assert (status, unit, period) == ("rejected", "048", "2021-05"), sid
        assert {contract.parse_reason(r)[0].kind for r in contract.split_reasons(reason)} == {"listing_entry"}
    # nothing that the clean run accepted was lost or changed its verdict
    clean_ledger = _ledger(clean["paths"])
    assert {k: v for k, v in ledger.items() if k in clean_ledger} == clean_ledger


def test_rows_in_equal_rows_loaded_plus_rows_quarantined_for_every_file(runs):
    bad = runs[3]
    with warehouse.connect(bad["paths"].warehouse) as con:
        files = con.execute("select submission_id, dataset, file_name, status, rows_in, rows_loaded, "
                            "rows_quarantined from meta.files").fetchall()
        assert files
        for sid, ds, name, status, rows_in, loaded, quarantined in files:
            in_q = con.execute("select count(*) from meta.quarantined_rows where submission_id = ? and file_name = ?",
                               [sid, name]).fetchone()[0]
            if status != "accepted":
                assert (loaded, quarantined, in_q) in ((None, None, 0),), (sid, name)
                continue
            in_raw = con.execute(f"select count(*) from raw.{ds} where submission_id = ?", [sid]).fetchone()[0]
            assert rows_in == in_raw + in_q and (loaded, quarantined) == (in_raw, in_q), (sid, name)


SKIP_COLUMNS = {"landed_at", "loaded_at", "validated_at", "result_path", "built_at", "published_at", "landed_path",
                "decided_at"}


def _tables(p, rejected: set[str]) -> dict[str, str]:
    """Digest of every table of the marts and reports, without the rows about `rejected` versions."""
    out = {}
    with warehouse.connect(p.warehouse) as con:
        rels = con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema in ('marts', 'reports') "
            "and table_catalog = current_database() order by 1, 2").fetchall()
        for schema, table in rels:
            cols = [c[0] for c in con.execute(f'describe {schema}."{table}"').fetchall() if c[0] not in SKIP_COLUMNS]
            where = ""
            if "submission_id" in cols and rejected:
                where = "where submission_id is null or submission_id not in (" + ", ".join(
                    "'" + s.replace("'", "''") + "'" for s in rejected) + ")"
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {quoted} from {schema}."{table}" {where} order by all').fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


# Marts about the ledger itself: they count the versions received and rejected per unit-month,
# so the defective versions show there (and must: the operators see them). Every other mart
# and report table must be untouched by a rejected version.
LEDGER_MARTS = {"marts.fct_submission_status", "marts.fct_unit_month_completeness"}


def test_marts_and_report_equal_the_run_without_the_defects(runs):
    _, _, clean, bad = runs
    rejected = {sid for sid, v in _ledger(bad["paths"]).items() if v[0] == "rejected"} - set(_ledger(clean["paths"]))
    want, got = _tables(clean["paths"], set()), _tables(bad["paths"], rejected)
    assert want and set(got) == set(want)
    differ = sorted(t for t in want if got[t] != want[t])
    assert set(differ) == LEDGER_MARTS, differ
    for name in ("indicators.csv", "quarantine_reasons.csv"):
        assert (bad["paths"].reports / REPORT / name).read_bytes() == \
               (clean["paths"].reports / REPORT / name).read_bytes(), name


def test_the_rejections_are_warnings_of_the_report_never_blockers(runs):
    bad = runs[3]
    rejected = [f for f in bad["gate"].findings if f.rule == "rejected_version"]
    assert rejected and all(f.severity == "warning" for f in rejected)
    assert {(f.unit_code, f.period) for f in rejected} >= {(u, "2021-06") for u in FILE_DEFECTS}
