"""Concurrent landing lands exactly what, and in exactly the order, the sequential one does.

One demo hub with faults of every kind the landing distinguishes (a 429 with Retry-After, a
503 that passes, a 503 and a 404 that stay, a truncated body, a complete body with the wrong
sha256 on the second file of three, malformed listing entries, an unusable listing) and a
revision that arrives between two nights. Each night is landed twice, one request at a time
and with a pool, into two raw roots with a fixed `now`, against the same hub (its fault
counters reset in between, so both see the same faults). The landing order (the `landed`
log lines, one per rename), the LandResults, every manifest and file and the deferred
ledger must be identical. No timing is asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from pathlib import Path

import pytest

from dolisa import contract
from dolisa.extract import AuthError, ExportApiClient, HubConfig, RetryPolicy, land_periods
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore

TZ = dt.timezone(dt.timedelta(hours=7))
TOKEN = "test-token-conc"
PERIODS = ["2021-05", "2021-06"]
FIXED_NOW = dt.datetime(2021, 7, 10, 2, 30, tzinfo=dt.timezone.utc)
NIGHT1 = dt.datetime(2021, 7, 5, 0, 0, tzinfo=TZ)  # before the revisions were submitted


def body(tag: str, n: int = 3) -> bytes:
    return ("id,value\n" + "".join(f"{tag}-{i},{i}\n" for i in range(n))).encode()


def three_files(tag: str) -> dict[str, bytes]:
    return {"a.csv": body(tag + "a"), "b.csv": body(tag + "b", 5), "c.csv": body(tag + "c", 2)}


@pytest.fixture
def faulty_hub(tmp_path):
    units = [u.unit_code for u in contract.reporting_units("2021-05")]
    assert len(units) >= 8
    s = HubStore(tmp_path / "store")
    at = dt.datetime(2021, 7, 3, 9, 0, tzinfo=TZ)
    late = dt.datetime(2021, 7, 20, 9, 0, tzinfo=TZ)
    for period in PERIODS:
        for i, u in enumerate(units):
            if i % 4 == 3:
                continue  # nothing submitted (an empty listing)
            s.add_submission(u, period, 1, at + dt.timedelta(hours=i), three_files(f"{u}{period}v1"))
    u0, u1, u2, u3, u4, u5 = units[:6]
    s.add_submission(u0, "2021-05", 2, late, three_files(f"{u0}v2"))  # a revision (night 2)
    s.add_submission(u1, "2021-05", 2, at + dt.timedelta(days=1), three_files(f"{u1}v2"),
                     overrides={"b.csv": {"sha256": "0" * 64}})  # complete body, wrong sha256: rejected
    s.add_listing_entry(u0, "2021-06", ["not an object"])  # malformed entries: rejected
    s.add_listing_entry(u2, "2021-06", {"submission_id": f"{u2}-2021-06-v2", "version": "2",
                                        "submitted_at": "2021-07-04T10:00:00+07:00", "files": []})
    s.save()
    plan = {
        f"{u0}-2021-05-v1/files/b.csv": ["429"],  # Retry-After: 1 (capped by the policy), then fine
        f"{u2}-2021-05-v1/files/a.csv": ["503"],  # once: passes on the retry
        f"{u2}-2021-06-v1/files/c.csv": ["truncate"],  # a short body once: passes on the retry
        f"{u4}-2021-05-v1/files/": ["503"] * 9,  # stays: deferred
        f"{u5}-2021-06-v1/files/b.csv": ["404"] * 9,  # stays: deferred
    }
    server = start_server(s.root, token=TOKEN, fault_plan=plan, listing_faults={f"{u1}/2021-06": "notjson"},
                          available_at=NIGHT1.replace(tzinfo=None))
    with server:
        yield server


def _client(server, concurrency: int) -> ExportApiClient:
    policy = RetryPolicy(attempts=3, backoff_base=0.01, backoff_max=0.03, retry_after_max=0.2, connect_timeout=2,
                         read_timeout=2.0)
    return ExportApiClient(HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{server.port}"), policy=policy,
                           concurrency=concurrency)


def _shaken(client: ExportApiClient, seed: int) -> ExportApiClient:
    """Requests finish in a shuffled order (a small random delay per download)."""
    rng, lock, real = random.Random(seed), threading.Lock(), client.download

    def download(*a, **kw):
        with lock:
            d = rng.random() * 0.02
        time.sleep(d)
        return real(*a, **kw)

    client.download = download
    return client


def _land(server, raw: Path, concurrency: int, caplog) -> tuple[list, list[str]]:
    server.hits.clear()  # the same faults for every run
    caplog.clear()
    client = _client(server, concurrency)
    if concurrency > 1:
        _shaken(client, seed=concurrency)
    with caplog.at_level(logging.INFO, logger="dolisa.extract"):
        results = land_periods(client, raw, PERIODS, now=lambda: FIXED_NOW)
    order = [r.getMessage() for r in caplog.records if r.name == "dolisa.extract" and r.getMessage().startswith("landed ")]
    return [vars(r) for r in results], order


def _tree(raw: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(raw.rglob("*")):
        if p.is_file():
            rel = str(p.relative_to(raw))
            out[rel] = json.loads(p.read_text()) if p.suffix == ".json" else p.read_bytes()
    return out


@pytest.mark.parametrize("concurrency", [3, 8])
def test_concurrent_landing_equals_sequential_landing(faulty_hub, tmp_path, caplog, concurrency):
    seq_raw, conc_raw = tmp_path / "seq" / "raw", tmp_path / f"conc{concurrency}" / "raw"
    for night in (1, 2):
        if night == 2:
            faulty_hub.available_at = None  # the revision is there now
        seq, seq_order = _land(faulty_hub, seq_raw, 1, caplog)
        conc, conc_order = _land(faulty_hub, conc_raw, concurrency, caplog)
        assert conc_order == seq_order, f"night {night}: landing order"
        assert conc == seq, f"night {night}: LandResults"
        assert _tree(conc_raw) == _tree(seq_raw), f"night {night}: manifests, files, deferred ledger"
        assert not list(conc_raw.glob(".landing-*")) and not list(seq_raw.glob(".landing-*"))
        # the scenario does what it says
        landed = [sid for r in seq for sid in r["landed"]]
        failed = [sid for r in seq for sid in r["failed"]]
        deferred = [d for r in seq for d in r["deferred"]]
        if night == 1:
            assert len(seq_order) == len(landed) + len(failed) and len(landed) >= 10
            assert len(failed) == 3  # the wrong sha256 and the two malformed entries
            assert sorted(d["what"] for d in deferred) == ["listing", "version", "version"]
            assert seq[0]["already"] == 0
        else:
            assert len(landed) == 1 and failed == []  # the revision
            assert sum(r["already"] for r in seq) > 10 and len(deferred) == 3
    ledger = json.loads((seq_raw / "_deferred.json").read_text())
    assert {d["runs"] for d in ledger["deferred"]} == {2}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_auth_failure_marks_what_the_sequential_run_marks_before_it(faulty_hub, tmp_path, concurrency):
    """A 403 on a version in the middle of 2021-05: what lands before it lands (in both modes
    the same), nothing after it, no ledger, no staging folder left."""
    units = [u.unit_code for u in contract.reporting_units("2021-05")]
    faulty_hub.fault_plan[f"{units[2]}-2021-05-v1/files/b.csv"] = ["403"] * 9
    trees = {}
    for c in (1, concurrency):
        raw = tmp_path / f"c{c}" / "raw"
        faulty_hub.hits.clear()
        client = _client(faulty_hub, c)
        if c > 1:
            _shaken(client, seed=c)
        with pytest.raises(AuthError, match="HTTP 403"):
            land_periods(client, raw, PERIODS, now=lambda: FIXED_NOW)
        assert not list(raw.glob(".landing-*")) and not (raw / "_deferred.json").exists()
        trees[c] = _tree(raw)
    assert trees[concurrency] == trees[1]
    landed_units = {k.split("/")[0] for k in trees[1]}
    assert landed_units == {units[0], units[1]}  # the units listed before it, in contract order
