"""The demo hub's store and generator (dolisa_demo.hub.store, dolisa_demo.hub.generator).

The reference totals are recomputed here from the generated files by a small,
deliberately plain parser written from the contract text (csv + openpyxl), not
from the generator's bookkeeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from dolisa import contract
from dolisa_demo.hub.generator import REFERENCE_2021H1, SOCAP_2020H1, generate, manifest
from dolisa_demo.hub.store import HubStore, count_csv_records

# --------------------------------------------------------------------------- reference parser


class FileDefect(Exception):
    pass


def _nfc(v):
    return unicodedata.normalize("NFC", v) if isinstance(v, str) else v


def read_table(name: str, data: bytes) -> tuple[list[str], list[list]]:
    if name.lower().endswith(".xlsx"):
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        rows = [r for i, r in enumerate(rows) if i == 0 or any(v is not None and str(v).strip() != "" for v in r)]
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise FileDefect(f"{name}: not UTF-8 at byte {e.start}") from None
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    if not rows:
        raise FileDefect(f"{name}: empty")
    header = [_nfc(str(h or "")).strip().lower() for h in rows[0]]
    return header, rows[1:]


def _is_empty(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def parse_value(col: contract.Column, v):
    """Parsed value, or raise ValueError."""
    if isinstance(v, str):
        v = _nfc(v).strip()
    t = col.type
    if t == "text":
        return str(v)
    if t == "citizen_id":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            s = str(int(v))
            s = s.zfill(12) if len(s) in (10, 11) else s.zfill(9) if len(s) == 8 else s
        else:
            s = str(v)
        if not (s.isdigit() and len(s) in (9, 12)):
            raise ValueError("citizen_id")
        return s
    if t == "sex":
        m = {"m": "M", "nam": "M", "f": "F", "nữ": "F"}
        if str(v).lower() not in m:
            raise ValueError("sex")
        return m[str(v).lower()]
    if t == "date":
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        s = str(v)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            return dt.date.fromisoformat(s)
        m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", s)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        raise ValueError("date")
    if t == "integer":
        if isinstance(v, bool):
            raise ValueError("integer")
        if isinstance(v, (int, float)):
            if v != int(v):
                raise ValueError("integer")
            n = int(v)
        else:
            s = str(v)
            if re.fullmatch(r"-?\d{1,3}(\.\d{3})+", s):
                s = s.replace(".", "")
            if not re.fullmatch(r"-?\d+", s):
                raise ValueError("integer")
            n = int(s)
        if (col.min is not None and n < col.min) or (col.max is not None and n > col.max):
            raise ValueError("range")
        return n
    if t == "boolean":
        if isinstance(v, bool):
            return v
        s = str(v).lower()
        if s in ("true", "1", "có"):
            return True
        if s in ("false", "0", "không"):
            return False
        raise ValueError("boolean")
    if t == "code":
        s = str(v).upper()
        if s not in col.codes:
            raise ValueError("code")
        return s
    if t == "country":
        s = str(v).upper()
        if s not in contract.country_codes():
            raise ValueError("country")
        return s
    raise AssertionError(t)


def parse_file(ds: contract.Dataset, name: str, data: bytes, period: str) -> tuple[list[dict], int]:
    """(loaded rows, number of quarantined rows); raises FileDefect."""
    header, records = read_table(name, data)
    idx = {}
    for i, h in enumerate(header):
        idx.setdefault(h, i)
    missing = [c.name for c in ds.columns if c.name not in idx]
    if missing:
        raise FileDefect(f"{name}: missing column(s) {missing}")
    first, last = contract.month_start(period), contract.month_end(period)
    good, bad = [], 0
    for rec in records:
        cells = {c.name: (rec[idx[c.name]] if idx[c.name] < len(rec) else None) for c in ds.columns}
        row, ok = {}, True
        for c in ds.columns:
            v = cells[c.name]
            if _is_empty(v):
                row[c.name] = None
                continue
            try:
                row[c.name] = parse_value(c, v)
            except ValueError:
                row[c.name] = None
                ok = False
        for c in ds.columns:
            required = not c.optional
            if c.required_when:
                (k, val), = c.required_when.items()
                required = row.get(k) == val
                if not required and row[c.name] is not None:
                    ok = False
            if required and row[c.name] is None:
                ok = False
            if ok and c.event_date and not first <= row[c.name] <= last:
                ok = False
            if ok and c.max_age_years and row[c.name] is not None:
                b = row[c.name]
                try:
                    limit = b.replace(year=b.year + c.max_age_years)
                except ValueError:
                    limit = b.replace(year=b.year + c.max_age_years, day=28)
                if limit <= last:
                    ok = False
        if ok:
            good.append(row)
        else:
            bad += 1
    by_id: dict = {}
    for row in good:
        by_id.setdefault(row[ds.record_id], []).append(row)
    out = []
    for rows in by_id.values():
        if all(r == rows[0] for r in rows):
            out.append(rows[0])
        else:
            bad += len(rows)
    return out, bad


def load_accepted(store_root: Path, periods: list[str], available_at=None, key: str = "submission_id") -> dict:
    """{(unit, period): (sub[key], {dataset: rows})} from each unit-month's latest accepted version
    submitted by `available_at` (None: every version); `key` "version" gives the version number."""
    store = HubStore(store_root)
    dsets = contract.datasets()
    out = {}
    for period in periods:
        for u in contract.reporting_units(period):
            subs = store.listing(u.unit_code, period, available_at=available_at)
            for sub in reversed(subs):
                try:
                    tables = {}
                    for f in sub["files"]:
                        data = store.read_file(u.unit_code, sub["submission_id"], f["name"])
                        if len(data) != f["bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
                            raise FileDefect("checksum")
                        if f["rows"] != len(read_table(f["name"], data)[1]):
                            raise FileDefect("rows")
                        rows, _ = parse_file(dsets[f["dataset"]], f["name"], data, period)
                        tables[f["dataset"]] = rows
                    out[(u.unit_code, period)] = (sub[key], tables)
                    break
                except FileDefect:
                    continue
    return out


def indicators(loaded: dict, half: str) -> dict:
    periods = contract.half_year_periods(half)
    last = periods[-1]

    def rows(ds, p=None):
        for (unit, period), (_, t) in loaded.items():
            if period in periods and (p is None or period == p):
                for r in t.get(ds, []):
                    yield unit, period, r

    v: dict = {}
    voc = [r for _, _, r in rows("vocational_enrolments")]
    v["LAB_VOC_NEW_SOCAP"] = sum(r["training_level"] == "SO_CAP" for r in voc)
    v["LAB_VOC_NEW_ALL"] = len(voc)
    jp = [r for _, _, r in rows("job_placements")]
    v["LAB_JOB_PLACEMENTS"] = len(jp)
    v["LAB_JOB_PLACEMENTS_DOMESTIC"] = sum(r["destination"] == "DOMESTIC" for r in jp)
    v["LAB_JOB_PLACEMENTS_ABROAD"] = sum(r["destination"] == "ABROAD" for r in jp)
    v["LAB_OVERSEAS_DEPARTURES"] = sum(1 for _ in rows("overseas_departures"))
    v["LAB_FUND_JOBS"] = sum(r["jobs_created"] for _, _, r in rows("employment_fund_loans"))
    ui = [r for _, _, r in rows("unemployment_benefit_decisions")]
    v["LAB_UI_DECISIONS"] = len(ui)
    v["LAB_UI_AMOUNT_VND"] = sum(r["total_amount_vnd"] for r in ui)
    h0, h1 = contract.month_start(periods[0]), contract.month_end(last)
    v["SP_ALLOWANCE_NEW"] = len({(u, r["beneficiary_id"]) for u, _, r in rows("social_allowance_register")
                                 if h0 <= r["approved_on"] <= h1})
    v["SP_ALLOWANCE_ACTIVE"] = sum(r["status"] == "ACTIVE" for _, _, r in rows("social_allowance_register", last))
    pay = [r for _, _, r in rows("social_assistance_payments")]
    for kind, c, a in (("FUNERAL", "SP_FUNERAL_CASES", "SP_FUNERAL_AMOUNT_VND"),
                       ("EMERGENCY", "SP_EMERGENCY_CASES", "SP_EMERGENCY_AMOUNT_VND"),
                       ("CENTENARIAN_GIFT", "SP_CENTENARIAN_GIFTS", None)):
        v[c] = sum(r["kind"] == kind for r in pay)
        if a:
            v[a] = sum(r["amount_vnd"] for r in pay if r["kind"] == kind)
    rice = list(rows("rice_relief"))
    v["SP_RICE_KG"] = sum(r["rice_kg"] for _, _, r in rice)
    latest: dict = {}
    for u, _, r in rice:
        k = (u, r["household_id"])
        cand = (r["distributed_on"], r["household_size"])
        latest[k] = max(latest.get(k, cand), cand)
    v["SP_RICE_HOUSEHOLDS"] = len(latest)
    v["SP_RICE_PERSONS"] = sum(s for _, s in latest.values())
    mer = list(rows("meritorious_benefits"))
    v["MER_TET_GIFT_PERSONS"] = len({(u, r["citizen_id"]) for u, _, r in mer if r["benefit"] == "TET_GIFT"})
    v["MER_TET_GIFT_AMOUNT_VND"] = sum(r["amount_vnd"] for _, _, r in mer if r["benefit"] == "TET_GIFT")
    for b, c in (("ONE_TIME_ALLOWANCE", "MER_ONE_TIME_DECISIONS"), ("MONTHLY_ALLOWANCE", "MER_MONTHLY_DECISIONS"),
                 ("CONVALESCENCE_CENTRAL", "MER_CONVALESCENCE_CENTRAL"), ("CONVALESCENCE_HOME", "MER_CONVALESCENCE_HOME")):
        v[c] = sum(r["benefit"] == b for _, _, r in mer)
    v["MER_NEW_DECISIONS"] = v["MER_ONE_TIME_DECISIONS"] + v["MER_MONTHLY_DECISIONS"]
    reg = [r for _, _, r in rows("child_protection_register", last) if r["status"] == "ACTIVE"]
    v["CH_SPECIAL_ACTIVE"] = len(reg)
    v["CH_SPECIAL_SUPPORTED_PCT"] = 100 * sum(r["is_receiving_support"] for r in reg) / len(reg) if reg else None
    ev = list(rows("child_support_events"))
    for s, c in (("DISABILITY_SCREENING", "CH_SCREENED"), ("SURGERY_REFERRAL", "CH_SURGERY_REFERRALS"),
                 ("MILK_FUND", "CH_MILK_FUND"), ("EMERGENCY_SUPPORT", "CH_EMERGENCY_CHILDREN")):
        v[c] = len({(u, r["child_id"]) for u, _, r in ev if r["support"] == s})
    v["CH_SCHOLARSHIPS"] = sum(r["support"] == "SCHOLARSHIP" for _, _, r in ev)
    v["CH_SCHOLARSHIP_AMOUNT_VND"] = sum(r["amount_vnd"] for _, _, r in ev if r["support"] == "SCHOLARSHIP")
    v["CH_EMERGENCY_AMOUNT_VND"] = sum(r["amount_vnd"] for _, _, r in ev if r["support"] == "EMERGENCY_SUPPORT")
    return v


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub") / "store"
    generate(root, first="2021-01", last="2021-02")
    return root


def _fingerprint(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- store

def test_store_roundtrip_and_overrides(tmp_path):
    store = HubStore(tmp_path / "s")
    good = "placement_id,x\r\n1,\"a\nb\"\r\n2,c\r\n".encode()
    store.add_submission("040", "2021-06", 2, dt.datetime(2021, 7, 20, 9, 0), {"job_placements.csv": good})
    store.add_submission("040", "2021-06", 1, dt.datetime(2021, 7, 3, 16, 20),
                         {"job_placements.csv": good, "evil": b"x\n1\n"},
                         datasets={"evil": "rice_relief"},
                         overrides={"job_placements.csv": {"sha256": "0" * 64},
                                    "evil": {"name": "../../evil.csv", "rows": 7}})
    store.save()
    again = HubStore(tmp_path / "s")
    subs = again.listing("040", "2021-06")
    assert [s["version"] for s in subs] == [1, 2]
    assert subs[0]["submission_id"] == "040-2021-06-v1"
    assert subs[0]["submitted_at"] == "2021-07-03T16:20:00+07:00"
    f0, f1 = subs[0]["files"]
    assert f0 == {"dataset": "job_placements", "name": "job_placements.csv", "media_type": "text/csv",
                  "bytes": len(good), "rows": 2, "sha256": "0" * 64}
    assert f1["name"] == "../../evil.csv" and f1["rows"] == 7 and f1["dataset"] == "rice_relief"
    assert subs[1]["files"][0]["sha256"] == hashlib.sha256(good).hexdigest()
    # nothing escaped the submission folder
    assert {p.name for p in (tmp_path / "s").iterdir()} == {"040", "index.json"}
    assert again.read_file("040", "040-2021-06-v1", "../../evil.csv") == b"x\n1\n"
    assert again.listing("040", "2021-06", available_at=dt.datetime(2021, 7, 10)) == subs[:1]
    assert again.listing("040", "2021-05") == []


def test_count_csv_records():
    assert count_csv_records(b"\xef\xbb\xbfa,b\r\n1,\"x\r\ny\"\r\n2,z") == 2
    assert count_csv_records(b"a,b\n") == 0


# --------------------------------------------------------------------------- generator

def test_deterministic(small_store, tmp_path):
    other = tmp_path / "again"
    generate(other, first="2021-01", last="2021-02")
    assert _fingerprint(small_store) == _fingerprint(other)


def test_the_heavy_shape_has_larger_registers_and_no_empty_file(small_store, tmp_path):
    """Issue 34's second shape: --registers 3 --omit-empty. The default shape is the store above
    (test_deterministic: unchanged by the options' defaults)."""
    heavy = tmp_path / "heavy"
    generate(heavy, first="2021-01", last="2021-02", registers=3, omit_empty=True)

    def files(root):
        store = HubStore(root)
        return [f for u in store.units() for p in ("2021-01", "2021-02") for s in store.listing(u, p)
                for f in s["files"]]

    default, big = files(small_store), files(heavy)
    assert any(f["rows"] == 0 for f in default) and not any(f["rows"] == 0 for f in big)
    assert len(big) < len(default)
    for ds in ("social_allowance_register", "child_protection_register"):
        n, m = (sum(f["rows"] for f in fs if f["dataset"] == ds) for fs in (default, big))
        assert 2.5 * n < m < 3.5 * n
    assert manifest(heavy)["shape"] == {"registers": 3.0, "omit_empty": True}
    assert "shape" not in manifest(small_store)


def test_units_per_month(tmp_path):
    root = tmp_path / "jan"
    generate(root, first="2020-01", last="2020-02", scale=0.05)
    store = HubStore(root)
    jan = {u for u in store.units() if store.listing(u, "2020-01")}
    feb = {u for u in store.units() if store.listing(u, "2020-02")}
    assert len(jan) == 13 and {"044", "046", "049", "050"} <= jan
    assert feb == {u.unit_code for u in contract.reporting_units("2020-02")} and len(feb) == 10
    assert "044" not in feb and "050" not in feb


def test_listing_matches_files(small_store):
    store = HubStore(small_store)
    n_files = 0
    for unit, period, sub in store.iter_submissions():
        assert sub["submission_id"] == f"{unit}-{period}-v{sub['version']}"
        when = dt.datetime.fromisoformat(sub["submitted_at"])
        assert when.utcoffset() == dt.timedelta(hours=7)
        for f in store.listing(unit, period)[sub["version"] - 1]["files"]:
            data = store.read_file(unit, sub["submission_id"], f["name"])
            assert f["bytes"] == len(data)
            assert f["sha256"] == hashlib.sha256(data).hexdigest()
            assert f["rows"] == len(read_table(f["name"], data)[1]), (sub["submission_id"], f["name"])
            assert f["name"] == f"{f['dataset']}.{f['name'].rsplit('.', 1)[1]}"
            n_files += 1
    assert n_files > 150
    # every unit has both registers every month
    for u in contract.reporting_units("2021-01"):
        names = {f["dataset"] for f in store.listing(u.unit_code, "2021-01")[-1]["files"]}
        assert {"social_allowance_register", "child_protection_register"} <= names


def test_variants_present(small_store):
    m = manifest(small_store)
    tags = {t for v in m["variants"].values() for t in v}
    for t in ("xlsx", "bom", "crlf", "nfd", "header_messy", "shuffle", "extra", "multiline", "dmy",
              "thousands", "sex_vi", "codes_messy", "bool:có/không"):
        assert t in tags, t
    raw = b"".join(p.read_bytes() for p in small_store.rglob("*.csv"))
    assert b"\xef\xbb\xbf" in raw and b"\r\n" in raw
    assert re.search(rb"\d{2}/\d{2}/2021", raw) and re.search(rb",\d{1,3}\.\d{3}\.\d{3}", raw)
    # numeric citizen ids in an XLSX lost their leading zeros
    f = small_store / "040" / "2021-01" / "040-2021-01-v1" / "social_allowance_register.xlsx"
    ws = openpyxl.load_workbook(f, read_only=True).worksheets[0]
    ids = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert any(isinstance(i, int) and len(str(i)) in (8, 10, 11) for i in ids)


def test_manifest_and_special_cases(small_store):
    m = manifest(small_store)
    kinds = {d["kind"] for d in m["defects"]}
    assert {"unknown_code", "required_empty", "country_code_for_domestic", "duplicate_conflicting",
            "unparseable_date", "integer_out_of_range", "child_aged_16_plus"} <= kinds
    for d in m["defects"]:
        assert d["rows"] >= 1 and d["submission_id"].startswith(d["unit_code"])
    late = {(x["unit_code"], x["period"]) for x in m["late"]}
    assert ("053", "2021-02") in late
    store = HubStore(small_store)
    assert store.listing("053", "2021-02")[0]["submitted_at"] == "2021-03-12T14:05:00+07:00"


def test_defect_rows_are_caught(small_store):
    """Every injected defect row is quarantined by the reference parser (duplicates: counted once)."""
    m = manifest(small_store)
    store = HubStore(small_store)
    for d in m["defects"]:
        ds = contract.dataset(d["dataset"])
        data = store.read_file(d["unit_code"], d["submission_id"], d["file"])
        rows, bad = parse_file(ds, d["file"], data, d["period"])
        loaded = {r[ds.record_id] for r in rows}
        if d["kind"].startswith("duplicate_identical"):
            assert sum(r[ds.record_id] == d["record_ids"][0] for r in rows) == 1, d
        else:
            assert not loaded & set(d["record_ids"]), d
            assert bad >= d["rows"], d


@pytest.mark.slow
def test_reference_totals_2021_h1(tmp_path):
    root = tmp_path / "full"
    generate(root)
    m = manifest(root)
    loaded = load_accepted(root, contract.period_range("2020-01", "2021-06"))
    # the special versions
    assert loaded[("040", "2021-03")][0] == "040-2021-03-v2"
    assert loaded[("045", "2021-04")][0] == "045-2021-04-v1"
    assert loaded[("051", "2020-09")][0] == "051-2020-09-v1"
    assert len(loaded) == 13 + 17 * 10
    got = indicators(loaded, "2021-H1")
    for code, want in REFERENCE_2021H1.items():
        assert got[code] == want, (code, got[code], want)
    assert 95 < got["CH_SPECIAL_SUPPORTED_PCT"] < 98
    prev = indicators(loaded, "2020-H1")
    assert prev["LAB_VOC_NEW_SOCAP"] == SOCAP_2020H1
    for code, want in m["province_targets"]["2021-H1"].items():
        if code == "CH_SPECIAL_SUPPORTED_PCT":
            assert abs(got[code] - want) < 1e-6
        else:
            assert got[code] == want, code
    for code, want in m["province_targets"]["2020-H1"].items():
        if code != "CH_SPECIAL_SUPPORTED_PCT":
            assert prev[code] == want, code


def test_injected_anomalies_change_only_their_files(tmp_path):
    """`anomalies=True` changes the planned files of the version in force and nothing else, and the
    manifest says what each became (docs/warnings.md; the gate's recall: test_outlier_recall.py)."""
    clean, injected = tmp_path / "clean", tmp_path / "injected"
    generate(clean, first="2021-04", last="2021-04")
    generate(injected, first="2021-04", last="2021-04", anomalies=True)
    a, b = _fingerprint(clean), _fingerprint(injected)
    changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} - {"index.json", "demo_manifest.json"}
    assert changed and all(k.startswith(("051/2021-04/", "052/2021-04/")) for k in changed)
    assert "052/2021-04/052-2021-04-v1/social_allowance_register.csv" in a.keys() - b.keys()  # dataset_missing
    m = manifest(injected)["anomalies"]
    assert "anomalies" not in manifest(clean)
    store = HubStore(injected)
    listed = {f["dataset"]: f["rows"] for f in store.listing("051", "2021-04")[0]["files"]}
    near_zero = {x["dataset"]: x for x in m if x["unit_code"] == "051"}
    assert {ds: x["rows_after"] for ds, x in near_zero.items() if ds in listed} == listed
    assert near_zero["social_allowance_register"]["rows_after"] <= 0.06 * near_zero["social_allowance_register"]["rows_before"]
    assert [x["expect"] for x in m if x["unit_code"] == "052"] == ["missing_dataset"]
