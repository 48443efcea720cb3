"""The API client against the real demo hub (faults on), landing, loading and idempotency."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pytest

from dolisa import warehouse
from dolisa.extract import ApiError, ExportApiClient, HubConfig, RetryPolicy, land_period, landed_versions
from dolisa.hub.server import start_server
from dolisa.hub.store import HubStore
from dolisa.load import load_landed
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
    assert res.failed == [] and len(res.landed) == 3
    for vdir, manifest in landed_versions(raw):
        for f in manifest["files"]:
            data = (vdir / f["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]


def test_persistently_wrong_checksum_rejects_that_version_only(store, tmp_path, dolisa_home):
    at = dt.datetime(2021, 8, 1, 9, 0, tzinfo=TZ)
    store.add_submission("040", PERIOD, 3, at, {"job_placements.csv": jp(9)},
                         overrides={"job_placements.csv": {"sha256": "0" * 64}})
    store.save()
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        res = land_period(client_for(server, attempts=3), p.raw, PERIOD)
    assert res.failed == ["040-2021-06-v3"]
    with warehouse.connect(p.warehouse) as con:
        load_landed(con, p.raw, quarantine_root=p.quarantine)
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
    assert "would leave the landing zone" in manifest["download_error"]
    assert not (tmp_path / "evil.csv").exists() and not (tmp_path / "zone" / "evil.csv").exists()
    assert sorted(p.name for p in (raw / "042" / PERIOD / "042-2021-06-v2").iterdir()) == ["manifest.json"]


def test_only_new_versions_are_fetched_and_landed_files_are_read_only(store, tmp_path):
    raw = tmp_path / "raw"
    with start_server(store.root, token=TOKEN) as server:
        first = land_period(client_for(server), raw, PERIOD)
        second = land_period(client_for(server), raw, PERIOD)
    assert len(first.landed) == 3 and second.landed == [] and second.already == 3
    f = raw / "040" / PERIOD / "040-2021-06-v1" / "job_placements.csv"
    assert not (f.stat().st_mode & 0o222)


def _table_digest(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    out = {}
    for schema, table in con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'meta') order by 1, 2"
    ).fetchall():
        cols = [c[0] for c in con.execute(f"describe {schema}.{table}").fetchall()
                if c[0] not in ("landed_at", "validated_at", "result_path")]
        rows = con.execute(f"select {', '.join(cols)} from {schema}.{table} order by all").fetchall()
        out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def test_loading_is_idempotent_and_rows_balance(store, tmp_path, dolisa_home):
    p = paths().ensure()
    with start_server(store.root, token=TOKEN) as server:
        land_period(client_for(server), p.raw, PERIOD)
    with warehouse.connect(p.warehouse) as con:
        load_landed(con, p.raw)
        before = _table_digest(con)
        load_landed(con, p.raw, only_new=False)  # reload every version
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
