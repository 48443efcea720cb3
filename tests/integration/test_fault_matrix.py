"""The fault matrix (issue 11.7): every fault kind of the contract and every malformed-listing
kind, against the real demo hub and the real stages (extract, load, transform = dbt build),
over two nights — faults on the first, a healthy hub on the second — compared with a
fault-free run of the same store.

Two kinds of faults:

- **the hub misbehaves** (night 1 only): each transport fault kind aimed at one version's
  file for longer than the client retries (429, 5xx, 404, stall, reset, truncate, trickle),
  one listing failing with 503, and unusable listings (not JSON, not the contract's shape,
  versions newest first, a version listed twice). These must *defer*, never reject: after
  night 2 nothing is lost and the marts equal the fault-free run's;
- **the district's data is bad** (in the store, both runs): a checksum wrong on the complete
  body, a body longer than listed, an XLSX bomb, a file name with a newline, and every
  malformed listing entry. These reject their version only, identically in both runs.

Checks: no version lost (the ledger after night 2 equals the fault-free ledger; every listed
version is in it), rows in = rows loaded + rows quarantined for every file (counted in the
tables themselves), and the checksums of every mart table equal the fault-free run's.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest

from dolisa import contract, pipeline, warehouse
from dolisa.extract import HubConfig, RetryPolicy, read_deferred
from dolisa_demo.hub import generate, start_server
from dolisa_demo.hub.store import count_csv_records
from dolisa.settings import paths

pytestmark = pytest.mark.slow

TOKEN = "matrix-token"
KEY = "fault-matrix-test-key-0123456789abcdef"
PERIODS = ["2021-05", "2021-06"]
TZ = dt.timezone(dt.timedelta(hours=7))
LATE = dt.datetime(2021, 7, 20, 9, 0, tzinfo=TZ)  # revisions, after the first versions

# hub faults of night 1: one version per kind, every request of its first file failing
TRANSPORT = {"040": "429", "042": "500", "043": "502", "045": "503", "047": "504", "048": "stall",
             "049": "reset", "051": "truncate", "052": "404", "053": "trickle"}  # unit -> kind, in 2021-05
LISTING = {"048": "notjson", "049": "shape", "051": "reversed", "052": "repeated"}  # unit -> kind, in 2021-06
LISTING_503 = "053"  # its 2021-06 listing answers 503 every time on night 1

MALFORMED_ENTRIES = ["duplicate_name", "no_bytes", "no_version", "version_text", "no_offset", "other_format",
                     "ledger_name", "newline_id", "not_object"]


def _bomb() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append([c.name for c in contract.dataset("rice_relief").columns])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for i in zin.infolist():
            zout.writestr(i.filename, zin.read(i))
        zout.writestr("xl/media/fill.xml", b" " * (64 << 20))
    return out.getvalue()


def _entry(store, unit: str, period: str, kind: str, version: int) -> object:
    """A copy of the unit-month's v1 listing entry, made malformed by `kind`."""
    (v1,) = [copy.deepcopy(s) for u, p, s in store.iter_submissions() if (u, p) == (unit, period) and s["version"] == 1]
    e = {"submission_id": f"{unit}-{period}-v{version}", "version": version, "submitted_at": v1["submitted_at"],
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
        e["submitted_at"] = "2021-07-03 16:20"
    elif kind == "other_format":
        e["submitted_at"] = "03/07/2021 16:20"
    elif kind == "ledger_name":
        f["name"] = "manifest.json"
    elif kind == "newline_id":
        e["submission_id"] += "\n"
    elif kind == "not_object":
        return [e["submission_id"]]
    return e


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix") / "hub"
    s = generate(root, first=PERIODS[0], last=PERIODS[-1], scale=0.05)

    def files_of(unit, period, version=1):
        (sub,) = [x for u, p, x in s.iter_submissions() if (u, p, x["version"]) == (unit, period, version)]
        return {f["name"]: s.read_file(unit, sub["submission_id"], f["name"]) for f in sub["files"]}

    # valid revisions (v2) of 2021-06 whose figures differ from v1: a row fewer in one file
    for unit in ("040", "042", "043", "045", "051"):
        files = files_of(unit, "2021-06")
        name = next(n for n, b in files.items() if n.endswith(".csv") and count_csv_records(b) > 1)
        files[name] = files[name].rstrip(b"\r\n").rsplit(b"\n", 1)[0] + b"\n"
        s.add_submission(unit, "2021-06", 2, LATE, files)
    # bad data of the districts, in both runs: v3 of each rejected, v2 stays in force
    bad = LATE + dt.timedelta(days=3)
    f40 = files_of("040", "2021-06", 2)
    s.add_submission("040", "2021-06", 3, bad, f40, overrides={next(iter(f40)): {"sha256": "0" * 64}})
    f42 = files_of("042", "2021-06", 2)
    big = next(iter(f42))
    s.add_submission("042", "2021-06", 3, bad, {big: f42[big] * 400}, overrides={big: {"bytes": len(f42[big])}})
    s.add_submission("043", "2021-06", 3, bad, {"rice_relief.xlsx": _bomb()})
    s.add_submission("045", "2021-06", 3, bad, {"rice_relief.csv\n": files_of("045", "2021-06", 2).get(
        "rice_relief.csv", b"allocation_id\n")}, datasets={"rice_relief.csv\n": "rice_relief"})
    # every malformed listing entry, after 047's v1 of 2021-06
    for i, kind in enumerate(MALFORMED_ENTRIES, start=2):
        s.add_listing_entry("047", "2021-06", _entry(s, "047", "2021-06", kind, i))
    s.save()
    return s


def _night(store, home, *, faults: bool) -> dict:
    import os

    os.environ["DOLISA_HOME"] = str(home)
    p = paths(home).ensure()
    kw = {}
    if faults:
        plan = {}
        for unit, kind in TRANSPORT.items():
            sub = next(x for u, per, x in store.iter_submissions() if (u, per, x["version"]) == (unit, "2021-05", 1))
            plan[f"{sub['submission_id']}/files/{sub['files'][0]['name']}"] = [kind] * 5
        plan[f"/{LISTING_503}/submissions?period=2021-06"] = ["503"] * 5
        kw = {"fault_plan": plan, "faults": ["503"],  # and every other file's first request fails once
              "listing_faults": {f"{u}/2021-06": k for u, k in LISTING.items()},
              "stall_seconds": 1.5, "trickle_seconds": 0.05}
    policy = RetryPolicy(attempts=3, backoff_base=0.01, backoff_max=0.05, retry_after_max=1.5,
                         connect_timeout=2, read_timeout=0.6, deadline=1.2)
    with start_server(store.root, token=TOKEN, **kw) as hub:
        extracted = pipeline.extract(PERIODS, HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{hub.port}"), p,
                                     policy=policy)
    loaded = pipeline.load(PERIODS, p, pseudonym_key=KEY)  # one key for both homes: comparable pseudonyms
    pipeline.transform(p)
    return {"extract": extracted, "load": loaded, "paths": p}


SKIP_COLUMNS = {"landed_at", "loaded_at", "validated_at", "result_path", "built_at", "published_at", "landed_path"}


def _digests(p, schemas: tuple[str, ...]) -> dict[str, str]:
    out = {}
    with warehouse.connect(p.warehouse) as con:
        rels = con.execute(
            f"select table_schema, table_name from information_schema.tables where table_schema in {schemas} "
            "and table_catalog = current_database() order by 1, 2").fetchall()
        for schema, table in rels:
            cols = [c[0] for c in con.execute(f'describe {schema}."{table}"').fetchall() if c[0] not in SKIP_COLUMNS]
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {quoted} from {schema}."{table}" order by all').fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def _ledger(p) -> dict[str, tuple]:
    with warehouse.connect(p.warehouse) as con:
        return {r[0]: r[1:] for r in con.execute(
            "select submission_id, status, version, reason from meta.submissions").fetchall()}


@pytest.fixture(scope="module")
def runs(store, tmp_path_factory):
    import os

    before = os.environ.get("DOLISA_HOME")
    try:
        base = tmp_path_factory.mktemp("baseline")
        baseline = _night(store, base, faults=False)
        home = tmp_path_factory.mktemp("faulty")
        night1 = _night(store, home, faults=True)
        night1["deferred_ledger"] = read_deferred(night1["paths"].raw)
        night1["ledger"] = _ledger(night1["paths"])
        night2 = _night(store, home, faults=False)
    finally:
        if before is None:
            os.environ.pop("DOLISA_HOME", None)
        else:
            os.environ["DOLISA_HOME"] = before
    return baseline, night1, night2


def test_night1_defers_every_hub_fault_and_rejects_only_bad_data(store, runs):
    baseline, night1, _ = runs
    deferred = night1["extract"]["deferred"]
    versions = {d["submission_id"] for d in deferred if d["submission_id"]}
    listings = {d["unit_code"] for d in deferred if not d["submission_id"]}
    assert versions == {f"{u}-2021-05-v1" for u in TRANSPORT}
    assert listings == set(LISTING) | {LISTING_503}
    assert {(d["unit_code"], d["period"], d["submission_id"]) for d in night1["deferred_ledger"]} == {
        (d["unit_code"], d["period"], d["submission_id"]) for d in deferred}
    for d in deferred:  # the operator sees why
        assert d["reason"]
    # nothing deferred was written as landed or rejected
    for sid in versions:
        assert sid not in night1["ledger"]
    # the only rejections are the bad data, the same as in the fault-free run
    rejected = {k for k, v in night1["ledger"].items() if v[0] == "rejected"}
    base_rejected = {k for k, v in _ledger(baseline["paths"]).items() if v[0] == "rejected"}
    assert rejected == base_rejected
    assert {f"{u}-2021-06-v3" for u in ("040", "042", "043", "045")} <= rejected
    assert len([k for k in base_rejected if k.startswith("047-2021-06-")]) == len(MALFORMED_ENTRIES)


def test_rejection_reasons_name_the_defect(runs):
    baseline = runs[0]
    ledger = _ledger(baseline["paths"])
    assert "complete body" in ledger["040-2021-06-v3"][2]
    assert "longer than the listed" in ledger["042-2021-06-v3"][2]
    assert "expands" in ledger["043-2021-06-v3"][2]
    assert "not a plain file name" in ledger["045-2021-06-v3"][2]
    reasons = " | ".join(v[2] for k, v in ledger.items() if k.startswith("047-2021-06-") and v[0] == "rejected")
    for words in ("listed twice", "no bytes", "no version", "is not a positive integer", "with an offset",
                  "reserved", "not a safe name", "not an object"):
        assert words in reasons, words


def test_night2_loses_nothing(store, runs):
    baseline, _, night2 = runs
    assert night2["extract"]["deferred"] == [] and read_deferred(night2["paths"].raw) == []
    assert _ledger(night2["paths"]) == _ledger(baseline["paths"])
    listed = {s["submission_id"] for _, _, s in store.iter_submissions()}
    assert listed <= set(_ledger(night2["paths"]))


def test_rows_balance_for_every_file(runs):
    for run in (runs[0], runs[2]):
        with warehouse.connect(run["paths"].warehouse) as con:
            files = con.execute("select submission_id, dataset, file_name, rows_declared, rows_in, rows_loaded, "
                                "rows_quarantined from meta.files where status = 'accepted'").fetchall()
            assert files
            for sid, ds, name, declared, rows_in, loaded, quarantined in files:
                in_raw = con.execute(f"select count(*) from raw.{ds} where submission_id = ?", [sid]).fetchone()[0]
                in_q = con.execute("select count(*) from meta.quarantined_rows where submission_id = ? and "
                                   "file_name = ?", [sid, name]).fetchone()[0]
                assert rows_in == declared == in_raw + in_q and (loaded, quarantined) == (in_raw, in_q), (sid, name)


def test_marts_after_night2_equal_the_fault_free_run(runs):
    baseline, _, night2 = runs
    want = _digests(baseline["paths"], ("marts", "reports"))
    got = _digests(night2["paths"], ("marts", "reports"))
    assert want and set(got) == set(want)
    assert [t for t in want if got[t] != want[t]] == []
