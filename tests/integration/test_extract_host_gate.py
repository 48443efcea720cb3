"""The client's per-host bound and the pause a 429 with Retry-After puts on the whole host."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from dolisa import limits
from dolisa.extract import ExportApiClient, HubConfig, RetryPolicy
from dolisa.extract.client import _HostGate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore

TZ = dt.timezone(dt.timedelta(hours=7))
TOKEN = "gate-token"


def test_concurrency_setting(monkeypatch):
    monkeypatch.delenv("DOLISA_EXTRACT_CONCURRENCY", raising=False)
    assert limits.current().extract_concurrency == 8  # good without any configuration
    monkeypatch.setenv("DOLISA_EXTRACT_CONCURRENCY", "1")
    assert limits.current().extract_concurrency == 1
    assert ExportApiClient(HubConfig("http://127.0.0.1:1", "t")).concurrency == 1
    monkeypatch.setenv("DOLISA_EXTRACT_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="DOLISA_EXTRACT_CONCURRENCY"):
        limits.current()


def test_at_most_limit_requests_in_flight_per_host():
    gate = _HostGate(2)
    inside, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def request():
        with gate.slot(time.sleep):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            release.wait(5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=request) for _ in range(5)]
    for t in threads:
        t.start()
    while True:  # two are in; the others wait for a slot
        with lock:
            if inside[0] == 2:
                break
        time.sleep(0.01)
    assert not gate._slots.acquire(blocking=False)
    release.set()
    for t in threads:
        t.join(5)
    assert peak[0] == 2 and inside[0] == 0


def test_a_pause_holds_every_new_request_to_the_host():
    gate = _HostGate(4)
    gate.pause_until(time.monotonic() + 60)
    waited = []

    def wait(seconds):  # instead of sleeping: record, then end the pause
        waited.append(seconds)
        gate._not_before = 0.0

    with gate.slot(wait):
        pass
    assert len(waited) == 1 and 59 < waited[0] <= 60


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_429_with_retry_after_pauses_the_host_only_with_workers(tmp_path, concurrency):
    s = HubStore(tmp_path / "store")
    s.add_submission("040", "2021-06", 1, dt.datetime(2021, 7, 3, 9, 0, tzinfo=TZ), {"a.csv": b"id\n1\n"})
    s.save()
    with start_server(s.root, token=TOKEN, fault_plan={"/files/a.csv": ["429"]}) as server:
        client = ExportApiClient(HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{server.port}"),
                                 policy=RetryPolicy(attempts=3, backoff_base=0.01, retry_after_max=0.1),
                                 concurrency=concurrency)
        (entry,) = client.list_submissions("040", "2021-06")
        before = time.monotonic()
        client.download("040", entry["submission_id"], entry["files"][0], tmp_path / "a.csv")
        gate = client._gate(server.url)
    assert (tmp_path / "a.csv").read_bytes() == b"id\n1\n" and client.stats == {"requests": 3, "retries": 1}
    if concurrency == 1:
        assert gate._not_before == 0.0  # one request at a time: its own backoff honours Retry-After, as before
    else:
        assert gate._not_before >= before + 0.1  # Retry-After (capped at retry_after_max) for the whole host
