"""The API client against the real demo hub (faults on), landing, loading and idempotency."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pytest

from dolisa import contract, pipeline, warehouse
from dolisa.extract import (ApiError, AuthError, ExportApiClient, HubConfig, RetryPolicy, land_period, landed_file,
                            landed_versions, read_deferred)
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore
from dolisa.settings import paths

TZ = dt.timezone(dt.timedelta(hours=7))
TOKEN = "test-token-123"
PERIOD = "2021-06"
JP_HEADER = "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code\n"


def jp(n: int, start: int = 1, bad: int = 0) -> bytes:
    lines = [f"P{i},0123456789{i % 100:02d},Người {i},F,1990-01-01,2021-06-{1 + i % 28:02d},DOMESTIC,," for i in
             range(start, start + n)]
    lines += [f"X{i},0123456789{i % 100:02d},Người {i},F,1990-01-01,2021-06-01,NOWHERE,," for i in range(bad)]
    return (JP_HEADER + "\n".join(lines) + "\n").encode("utf-8")


def fast_policy(**kw) -> RetryPolicy:
    return RetryPolicy(attempts=kw.pop("attempts", 8), backoff_base=0.01, backoff_max=0.05, retry_after_max=1.5,
                       connect_timeout=2, read_timeout=kw.pop("read_timeout", 1.0), **kw)


@pytest.fixture
def store(tmp_path):
    s = HubStore(tmp_path / "store")
    at = dt.datetime(2021, 7, 3, 9, 0, tzinfo=TZ)
    s.add_submission("040", PERIOD, 1, at, {"job_placements.csv": jp(5, bad=1)})
    s.add_submission("040", PERIOD, 2, at + dt.timedelta(days=20), {"job_placements.csv": jp(7)})
    s.add_submission("042", PERIOD, 1, at, {"job_placements.csv": jp(3)})
    s.save()
    return s


def client_for(server, token=TOKEN, **kw) -> ExportApiClient:
    return ExportApiClient(HubConfig.from_uri(f"http://:{token}@127.0.0.1:{server.port}"), policy=fast_policy(**kw))


def test_connection_uri_and_token_never_in_repr():
    c = HubConfig.from_uri("http://:s3cr%40t@10.0.0.1:8765")
    assert c.base_url == "http://10.0.0.1:8765" and c.token == "s3cr@t"
    assert "s3cr" not in repr(c)
    assert HubConfig.from_uri("http://:t@hub.example:443/https").base_url == "https://hub.example:443"
    assert HubConfig.from_parts("hub", 8080, None, "t").base_url == "http://hub:8080"


def test_wrong_token_is_refused(store):
    with start_server(store.root, token=TOKEN) as server:
        with pytest.raises(ApiError, match="401"):
            client_for(server, token="wrong").list_submissions("040", PERIOD)


def test_listing_rules(store):
    with start_server(store.root, token=TOKEN) as server:
        c = client_for(server)
        assert [s["version"] for s in c.list_submissions("040", PERIOD)] == [1, 2]
        assert c.list_submissions("044", PERIOD) == []  # a merged unit: valid code, empty list
        assert c.list_submissions("043", PERIOD) == []  # nothing submitted yet
        with pytest.raises(ApiError):
            c.list_submissions("04", PERIOD)  # the province is not a submitting unit: 404


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "504", "stall", "reset", "truncate"])
def test_each_fault_kind_is_survived(store, tmp_path, fault):
    raw = tmp_path / "raw"
    with start_server(store.root, token=TOKEN, faults=[fault, fault], stall_seconds=2.0) as server:
        res = land_period(client_for(server), raw, PERIOD)
    assert res.failed == [] and res.deferred == [] and len(res.landed) == 3
    for vdir, manifest in landed_versions(raw):
        for f in manifest["files"]:
            data = landed_file(vdir, manifest, f["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]


def test_persistently_wrong_checksum_rejects_that_version_only(store, tmp_path, dolisa_home):
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    store.add_submission("040", PERIOD, 3, at, {"job_placements.csv": jp(9)},
                         overrides={"job_placements.csv": {"sha256": "0" * 64}})
    store.save()
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        res = land_period(client_for(server, attempts=3), p.raw, PERIOD)
    assert res.failed == ["040-2021-06-v3"] and res.deferred == []
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        status = dict(con.execute("select submission_id, status from meta.submissions").fetchall())
        assert status == {"040-2021-06-v1": "accepted", "040-2021-06-v2": "accepted",
                          "040-2021-06-v3": "rejected", "042-2021-06-v1": "accepted"}
        reason = con.execute("select reason from meta.submissions where submission_id = '040-2021-06-v3'").fetchone()[0]
        assert "sha256" in reason
        # the version in force for 040 is still v2 (the highest accepted one)
        in_force = con.execute(
            "select max(version) from meta.submissions where unit_code = '040' and status = 'accepted'").fetchone()[0]
        assert in_force == 2
    assert (p.quarantine / "040" / PERIOD / "040-2021-06-v3.rejected.json").exists()


def test_file_name_that_would_leave_the_landing_zone_is_rejected(store, tmp_path):
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    store.add_submission("042", PERIOD, 2, at, {"../../evil.csv": jp(1)}, datasets={"../../evil.csv": "job_placements"})
    store.save()
    raw = tmp_path / "zone" / "raw"
    with start_server(store.root, token=TOKEN) as server:
        res = land_period(client_for(server), raw, PERIOD)
    assert res.failed == ["042-2021-06-v2"]
    manifest = json.loads((raw / "042" / PERIOD / "042-2021-06-v2" / "manifest.json").read_text())
    assert "would leave the landing zone" in manifest["listing_error"]
    assert not (tmp_path / "evil.csv").exists() and not (tmp_path / "zone" / "evil.csv").exists()
    assert sorted(p.name for p in (raw / "042" / PERIOD / "042-2021-06-v2").iterdir()) == ["manifest.json"]


def test_only_new_versions_are_fetched_and_landed_files_are_read_only(store, tmp_path):
    raw = tmp_path / "raw"
    with start_server(store.root, token=TOKEN) as server:
        first = land_period(client_for(server), raw, PERIOD)
        second = land_period(client_for(server), raw, PERIOD)
    assert len(first.landed) == 3 and second.landed == [] and second.already == 3
    f = raw / "040" / PERIOD / "040-2021-06-v1" / "files" / "job_placements.csv"
    assert not (f.stat().st_mode & 0o222)


def _table_digest(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    out = {}
    for schema, table in con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'meta') order by 1, 2"
    ).fetchall():
        cols = [c[0] for c in con.execute(f"describe {schema}.{table}").fetchall()
                if c[0] not in ("landed_at", "loaded_at", "validated_at", "result_path")]
        rows = con.execute(f"select {', '.join(cols)} from {schema}.{table} order by all").fetchall()
        out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def test_loading_is_idempotent_and_rows_balance(store, tmp_path, dolisa_home):
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        land_period(client_for(server), p.raw, PERIOD)
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        before = _table_digest(con)
    pipeline.load(None, p, only_new=False)  # reload every version
    with warehouse.connect(p.warehouse) as con:
        assert _table_digest(con) == before
        bad = con.execute(
            "select count(*) from meta.files where status = 'accepted' and rows_in <> rows_loaded + rows_quarantined"
        ).fetchone()[0]
        assert bad == 0
        assert con.execute("select count(*) from meta.quarantined_rows").fetchone()[0] == 1
        assert con.execute("select reasons from meta.quarantined_rows").fetchone()[0] == "destination: unknown code"
        # every accepted version's rows are kept; v2 of 040 has 7 rows, v1 5 (+1 quarantined)
        counts = dict(con.execute("select submission_id, count(*) from raw.job_placements group by 1").fetchall())
        assert counts == {"040-2021-06-v1": 5, "040-2021-06-v2": 7, "042-2021-06-v1": 3}


@pytest.fixture
def three_months(store, dolisa_home):
    """Three months of 040 landed (4, 5 and 6 rows): (months, paths)."""
    at = dt.datetime(2021, 7, 3, 9, 0, tzinfo=TZ)
    months = ["2021-03", "2021-04", "2021-05"]
    for i, month in enumerate(months):
        body = jp(4 + i).replace(b"2021-06-", f"{month}-".encode())
        store.add_submission("040", month, 1, at, {"job_placements.csv": body})
    store.save()
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        for month in months:
            land_period(client_for(server), p.raw, month)
    return months, p


def test_months_are_prepared_ahead_and_commit_in_order(three_months, monkeypatch):
    from dolisa import load

    months, p = three_months
    committed, real_commit = [], load.commit_period

    def commit(con, prepared, **kw):
        committed.append(prepared.period)
        return real_commit(con, prepared, **kw)

    monkeypatch.setattr(load, "commit_period", commit)
    pipeline.load(None, p)
    assert committed == months  # month n+1 is prepared while n commits, and commits after it
    with warehouse.connect(p.warehouse) as con:
        assert dict(con.execute("select period, count(*) from raw.job_placements group by 1").fetchall()) == {
            "2021-03": 4, "2021-04": 5, "2021-05": 6}


def test_a_failed_month_stops_the_load_and_leaves_no_work_tables(three_months, monkeypatch):
    from dolisa import load, pseudonym

    _, p = three_months
    real_commit = load.commit_period

    def commit(con, prepared, **kw):
        if prepared.period == "2021-04":
            raise RuntimeError("disk full")
        return real_commit(con, prepared, **kw)

    monkeypatch.setattr(load, "commit_period", commit)
    with warehouse.connect(p.warehouse) as con:
        pseudonym.bind(con, p)
        with pytest.raises(RuntimeError, match="disk full"):
            load.load_landed(con, p.raw)
        # March is in, April and May are not; the month prepared meanwhile (May) was dropped
        assert [r[0] for r in con.execute("select distinct period from meta.submissions").fetchall()] == ["2021-03"]
        assert con.execute("select count(*) from duckdb_tables() where database_name = ?",
                           [load.WORK]).fetchone()[0] == 0


# --- transient is not permanent (issue 11.1) -------------------------------------------------


@pytest.mark.parametrize("fault", ["429", "503", "reset", "stall", "truncate", "404"])
def test_transient_failure_is_deferred_then_fetched_next_run(store, dolisa_home, fault):
    p = paths().ensure()
    # night 1: every request of 040 v2's file fails (more times than the client tries)
    plan = {"040-2021-06-v2/files/": [fault] * 3}
    with start_server(store.root, token=TOKEN, fault_plan=plan, stall_seconds=2.0) as server:
        night1 = land_period(client_for(server, attempts=2), p.raw, PERIOD)
    assert night1.failed == [] and sorted(night1.landed) == ["040-2021-06-v1", "042-2021-06-v1"]
    assert [d["submission_id"] for d in night1.deferred] == ["040-2021-06-v2"]
    assert "gave up after 2 attempts" in night1.deferred[0]["reason"]
    assert not (p.raw / "040" / PERIOD / "040-2021-06-v2").exists()  # not landed, not rejected
    (entry,) = read_deferred(p.raw)
    assert entry["submission_id"] == "040-2021-06-v2" and entry["version"] == 2 and entry["runs"] == 1
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        assert con.execute("select count(*) from meta.submissions where status = 'rejected'").fetchone()[0] == 0
    # night 2, healthy: the deferred version lands and loads, the ledger of deferrals empties
    with start_server(store.root, token=TOKEN) as server:
        night2 = land_period(client_for(server), p.raw, PERIOD)
    assert night2.landed == ["040-2021-06-v2"] and night2.deferred == [] and night2.already == 2
    assert read_deferred(p.raw) == []
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        assert con.execute("select status from meta.submissions where submission_id = '040-2021-06-v2'"
                           ).fetchone() == ("accepted",)


def test_short_body_is_transient_wrong_complete_body_is_permanent(store, tmp_path):
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    store.add_submission("042", PERIOD, 2, at, {"job_placements.csv": jp(4)},
                         overrides={"job_placements.csv": {"sha256": "1" * 64}})
    store.save()
    raw = tmp_path / "raw"
    plan = {"040-2021-06-v1/files/": ["truncate"] * 4}
    with start_server(store.root, token=TOKEN, fault_plan=plan) as server:
        res = land_period(client_for(server, attempts=3), raw, PERIOD)
    assert [d["submission_id"] for d in res.deferred] == ["040-2021-06-v1"]  # short every time: transient
    assert res.failed == ["042-2021-06-v2"]  # complete body, wrong sha256 every time: rejected
    m = json.loads((raw / "042" / PERIOD / "042-2021-06-v2" / "manifest.json").read_text())
    assert "complete body" in m["download_error"]


@pytest.mark.parametrize("where", ["listing", "file"])
@pytest.mark.parametrize("status", ["401", "403"])
def test_auth_failure_fails_loudly_and_marks_nothing(store, tmp_path, where, status):
    raw = tmp_path / "raw"
    if status == "401":
        server = start_server(store.root, token="another-token")
    else:
        key = "040/submissions?period=" if where == "listing" else "040-2021-06-v1/files/"
        server = start_server(store.root, token=TOKEN, fault_plan={key: [status] * 9})
    with server:
        with pytest.raises(AuthError, match=f"HTTP {status}"):
            land_period(client_for(server), raw, PERIOD)
    assert list(landed_versions(raw)) == [] and read_deferred(raw) == []


# --- hostile files are bounded (issue 10.5) --------------------------------------------------


def test_oversize_body_is_cut_at_the_listed_size_and_rejects_that_version(store, dolisa_home):
    big = JP_HEADER.encode() + b"P1,012345678901,A,F,1990-01-01,2021-06-01,DOMESTIC,,\n" * (40 * 2**20 // 52)
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    store.add_submission("042", PERIOD, 2, at, {"job_placements.csv": big},
                         overrides={"job_placements.csv": {"bytes": 10}})
    store.save()
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        res = land_period(client_for(server, attempts=2), p.raw, PERIOD)
        sent = server.body_bytes_sent
    assert res.failed == ["042-2021-06-v2"] and res.deferred == []
    m = json.loads((p.raw / "042" / PERIOD / "042-2021-06-v2" / "manifest.json").read_text())
    assert "body longer than the listed 10 bytes" in m["download_error"]
    assert sent < len(big), f"the hub wrote {sent} body bytes for a file listed at 10 (2 attempts)"
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        status = dict(con.execute("select submission_id, status from meta.submissions").fetchall())
    assert status == {"040-2021-06-v1": "accepted", "040-2021-06-v2": "accepted", "042-2021-06-v1": "accepted",
                      "042-2021-06-v2": "rejected"}


def test_trickling_body_is_cut_by_the_overall_deadline(store, dolisa_home):
    p = paths().ensure()
    plan = {"040-2021-06-v2/files/": ["trickle"] * 2}
    with start_server(store.root, token=TOKEN, fault_plan=plan, trickle_seconds=0.05) as server:
        # every byte arrives well within the read timeout; the whole body would take ~30 s
        client = ExportApiClient(HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{server.port}"),
                                 policy=RetryPolicy(attempts=2, backoff_base=0.01, read_timeout=1.0, deadline=1.5))
        t0 = dt.datetime.now()
        res = land_period(client, p.raw, PERIOD)
        took = (dt.datetime.now() - t0).total_seconds()
    assert [d["submission_id"] for d in res.deferred] == ["040-2021-06-v2"]
    assert "deadline" in res.deferred[0]["reason"] and took < 10
    assert sorted(res.landed) == ["040-2021-06-v1", "042-2021-06-v1"]
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        assert con.execute("select count(*) from meta.submissions where status = 'accepted'").fetchone()[0] == 2


def test_deadline_is_a_setting(monkeypatch):
    monkeypatch.setenv("DOLISA_DOWNLOAD_DEADLINE", "7.5")
    from dolisa import limits

    assert limits.current().download_deadline == 7.5
    monkeypatch.setenv("DOLISA_DOWNLOAD_DEADLINE", "-1")
    with pytest.raises(ValueError, match="DOLISA_DOWNLOAD_DEADLINE"):
        limits.current()


def _xlsx_bomb() -> bytes:
    import io
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(JP_HEADER.strip().split(","))
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for i in zin.infolist():
            zout.writestr(i.filename, zin.read(i))
        zout.writestr("xl/media/fill.xml", b"\x20" * (64 << 20))
    return out.getvalue()


def test_xlsx_bomb_and_newline_name_each_rejected_while_the_month_loads(store, dolisa_home):
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    store.add_submission("040", PERIOD, 3, at, {"job_placements.xlsx": _xlsx_bomb()})
    store.add_submission("042", PERIOD, 2, at, {"job_placements.csv\n": jp(2)},
                         datasets={"job_placements.csv\n": "job_placements"})
    store.save()
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        res = land_period(client_for(server), p.raw, PERIOD)
    assert res.failed == ["042-2021-06-v2"] and res.deferred == []
    pipeline.load(None, p)
    with warehouse.connect(p.warehouse) as con:
        rows = {r[0]: r[1:] for r in con.execute("select submission_id, status, reason from meta.submissions").fetchall()}
        assert rows["040-2021-06-v3"][0] == "rejected" and "expands" in rows["040-2021-06-v3"][1]
        assert rows["042-2021-06-v2"][0] == "rejected" and "'job_placements.csv\\n'" in rows["042-2021-06-v2"][1]
        assert {k for k, v in rows.items() if v[0] == "accepted"} == {"040-2021-06-v1", "040-2021-06-v2",
                                                                      "042-2021-06-v1"}
        assert con.execute("select count(*) from raw.job_placements").fetchone()[0] == 5 + 7 + 3
    assert (p.quarantine / "040" / PERIOD / "040-2021-06-v3.rejected.json").exists()
    assert (p.quarantine / "042" / PERIOD / "042-2021-06-v2.rejected.json").exists()


# --- a bad listing rejects one version, never the run (issue 11.2) ---------------------------


def _good_entry(store) -> dict:
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    return json.loads(json.dumps({k: v for k, v in store.add_submission(
        "040", "2021-05", 1, at, {"job_placements.csv": jp(1)}).items()}))


def _malformed(kind: str, e: dict) -> object:
    f = e["files"][0]
    f.pop("_stored_as", None)
    e["submission_id"], e["version"] = "040-2021-06-v3", 3
    if kind == "duplicate_name":
        e["files"] = [f, dict(f)]
    elif kind == "no_bytes":
        f.pop("bytes")
    elif kind == "no_version":
        e.pop("version")
    elif kind == "version_text":
        e["version"] = "3"
    elif kind == "no_offset":
        e["submitted_at"] = "2021-07-03 16:20"
    elif kind == "other_format":
        e["submitted_at"] = "03/07/2021 16:20"
    elif kind == "ledger_name":
        f["name"] = "manifest.json"
    elif kind == "newline_id":
        e["submission_id"] = "040-2021-06-v3\n"
    elif kind == "not_object":
        return ["040-2021-06-v3"]
    return e


MALFORMED = ["duplicate_name", "no_bytes", "no_version", "version_text", "no_offset", "other_format", "ledger_name",
             "newline_id", "not_object"]


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_listing_entry_rejects_that_version_only(store, dolisa_home, kind):
    store.add_listing_entry("040", PERIOD, _malformed(kind, _good_entry(store)))
    store.save()
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        res = land_period(client_for(server), p.raw, PERIOD)
        again = land_period(client_for(server), p.raw, PERIOD)
    assert sorted(res.landed) == ["040-2021-06-v1", "040-2021-06-v2", "042-2021-06-v1"] and res.deferred == []
    (bad,) = res.failed
    assert again.failed == [] and again.landed == [] and again.already == 4  # rejected once, for good
    summary = pipeline.load(None, p)
    assert summary["accepted"] == 3
    with warehouse.connect(p.warehouse) as con:
        status, reason = con.execute("select status, reason from meta.submissions where submission_id = ?",
                                     [bad]).fetchone()
        assert status == "rejected" and reason
        files = con.execute("select status from meta.files where submission_id = ?", [bad]).fetchall()
        assert all(s == ("rejected",) for s in files)
        assert con.execute("select count(*) from raw.job_placements").fetchone()[0] == 5 + 7 + 3
    doc = json.loads((p.quarantine / "040" / PERIOD / f"{bad}.rejected.json").read_text())
    assert doc["reason"] == reason and "listing_entry" in doc
    assert (p.raw / "040" / PERIOD / bad / "manifest.json").is_file()


@pytest.mark.parametrize("kind", ["notjson", "shape", "reversed", "repeated"])
def test_unusable_listing_defers_that_unit_month_only(store, dolisa_home, kind):
    p = paths().ensure()
    with start_server(store.root, token=TOKEN, listing_faults={f"040/{PERIOD}": kind}) as server:
        res = land_period(client_for(server, attempts=2), p.raw, PERIOD)
        assert res.landed == ["042-2021-06-v1"] and res.failed == []
        (d,) = res.deferred
        assert d["unit_code"] == "040" and d["submission_id"] is None and "listing" in d["reason"]
        assert read_deferred(p.raw)[0]["what"] == "listing"
        server.listing_faults.clear()  # the next night the hub is healthy
        res = land_period(client_for(server), p.raw, PERIOD)
    assert sorted(res.landed) == ["040-2021-06-v1", "040-2021-06-v2"] and read_deferred(p.raw) == []


def test_hub_file_named_like_the_ledger_never_overwrites_it(store, tmp_path):
    raw = tmp_path / "raw"
    with start_server(store.root, token=TOKEN) as server:
        land_period(client_for(server), raw, PERIOD)
    vdir = raw / "040" / PERIOD / "040-2021-06-v1"
    assert sorted(x.name for x in vdir.iterdir()) == ["files", "manifest.json"]
    assert json.loads((vdir / "manifest.json").read_text())["layout"] == 2


def test_old_layout_is_still_loaded(store, dolisa_home):
    """Versions landed before layout 2 (files beside manifest.json) load and rebuild as before."""
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        land_period(client_for(server), p.raw, PERIOD)
    for vdir, manifest in list(landed_versions(p.raw)):
        for f in manifest["files"]:
            src = vdir / "files" / f["name"]
            src.chmod(0o600)
            src.rename(vdir / f["name"])
        (vdir / "files").rmdir()
        manifest.pop("layout")
        (vdir / "manifest.json").write_text(json.dumps(manifest))
    summary = pipeline.load(None, p)
    assert summary["accepted"] == 3 and summary["rows_loaded"] == 5 + 7 + 3


def test_each_month_pulls_exactly_the_units_valid_in_it_across_the_2025_reform(tmp_path):
    """Contract §7: ten districts up to 2025-06 (a late revision of 2025-05 still comes from a
    district code, in September 2025), the 56 communes and wards from 2025-07. A code outside
    its own periods gets 200 with an empty list from the hub (§2), and is never asked for."""
    s = HubStore(tmp_path / "store")
    may = dt.datetime(2025, 6, 3, 9, 0, tzinfo=TZ)
    s.add_submission("045", "2025-05", 1, may, {"job_placements.csv": jp(2)})
    s.add_submission("045", "2025-05", 2, dt.datetime(2025, 9, 15, 10, 0, tzinfo=TZ), {"job_placements.csv": jp(3)})
    s.add_submission("01273", "2025-07", 1, dt.datetime(2025, 8, 4, 9, 0, tzinfo=TZ), {"job_placements.csv": jp(1)})
    s.save()
    with start_server(s.root, token=TOKEN) as server:
        client = client_for(server)
        assert client.list_submissions("045", "2025-08") == []  # a district after 2025-06
        assert client.list_submissions("01363", "2025-05") == []  # a commune before its validity
        asked: list[tuple[str, str]] = []
        real = client.list_submissions

        def recording(unit, period):
            asked.append((unit, period))
            return real(unit, period)

        client.list_submissions = recording
        may_res = land_period(client, tmp_path / "raw", "2025-05")
        jul_res = land_period(client, tmp_path / "raw", "2025-07")
    districts = {u.unit_code for u in contract.reporting_units("2025-06")}
    communes = {u.unit_code for u in contract.reporting_units("2025-07")}
    assert len(districts) == 10 and len(communes) == 56 and not districts & communes
    assert {u for u, p in asked if p == "2025-05"} == districts
    assert {u for u, p in asked if p == "2025-07"} == communes
    assert len(asked) == 66
    assert sorted(may_res.landed) == ["045-2025-05-v1", "045-2025-05-v2"] and jul_res.landed == ["01273-2025-07-v1"]
