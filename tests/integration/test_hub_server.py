"""The demo hub's HTTP server against a small custom store, with real `requests`."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from urllib.parse import quote

import pytest
import requests

from dolisa_demo.hub import HubStore, start_server

TOKEN = "t0ken-xyz"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CSV = b"placement_id,citizen_id\r\n" + b"A1,001234567890\r\nA2,001234567891\r\n" * 50


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("hubsrv") / "store"
    s = HubStore(root)
    s.add_submission("040", "2021-03", 1, dt.datetime(2021, 4, 3, 10, 15), {"job_placements.csv": CSV})
    s.add_submission("040", "2021-03", 2, dt.datetime(2021, 5, 14, 9, 40),
                     {"job_placements.csv": CSV + b"A3,001234567892\r\n", "../../evil.csv": b"a\n1\n"},
                     datasets={"../../evil.csv": "rice_relief"})
    s.add_submission("044", "2020-01", 1, dt.datetime(2020, 2, 4, 8, 0), {"rice_relief.csv": b"x\n"})
    s.save()
    return root


@pytest.fixture(scope="module")
def hub(store_root):
    with start_server(store_root, token=TOKEN) as h:
        yield h


def _list(base, unit, period, **kw):
    return requests.get(f"{base}/api/v1/districts/{unit}/submissions", params={"period": period},
                        headers=AUTH, timeout=5, **kw)


def test_auth(hub):
    url = f"{hub.url}/api/v1/districts/040/submissions?period=2021-03"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = requests.get(url, headers=headers, timeout=5)
        assert r.status_code == 401 and r.json()["error"]
    assert requests.get(url, headers=AUTH, timeout=5).status_code == 200


@pytest.mark.parametrize("unit,period", [("04", "2021-03"), ("999", "2021-03"), ("040", "2021-3"),
                                         ("040", "2021-13"), ("040", "")])
def test_listing_404(hub, unit, period):
    assert _list(hub.url, unit, period).status_code == 404


def test_listing_and_empty(hub):
    r = _list(hub.url, "040", "2021-03")
    doc = r.json()
    assert doc["unit_code"] == "040" and doc["period"] == "2021-03"
    assert [s["submission_id"] for s in doc["submissions"]] == ["040-2021-03-v1", "040-2021-03-v2"]
    assert set(doc["submissions"][1]["files"][0]) == {"dataset", "name", "media_type", "bytes", "rows", "sha256"}
    assert doc["submissions"][0]["files"][0]["rows"] == 100
    # known code, nothing submitted / not valid in the month
    assert _list(hub.url, "040", "2021-04").json()["submissions"] == []
    assert _list(hub.url, "044", "2021-03").json()["submissions"] == []
    assert len(_list(hub.url, "044", "2020-01").json()["submissions"]) == 1
    # a route that does not exist
    assert requests.get(f"{hub.url}/api/v1/other", headers=AUTH, timeout=5).status_code == 404


def test_download(hub):
    subs = _list(hub.url, "040", "2021-03").json()["submissions"]
    for sub in subs:
        for f in sub["files"]:
            url = f"{hub.url}/api/v1/districts/040/submissions/{sub['submission_id']}/files/{quote(f['name'], safe='')}"
            r = requests.get(url, headers=AUTH, timeout=5)
            assert r.status_code == 200
            assert int(r.headers["Content-Length"]) == f["bytes"] == len(r.content)
            assert hashlib.sha256(r.content).hexdigest() == f["sha256"]
    base = f"{hub.url}/api/v1/districts/040/submissions"
    for path in ("/040-2021-03-v9/files/job_placements.csv", "/040-2021-03-v1/files/nope.csv",
                 "/045-2021-03-v1/files/job_placements.csv"):
        assert requests.get(base + path, headers=AUTH, timeout=5).status_code == 404
    assert requests.get(base + "/040-2021-03-v1/files/job_placements.csv", timeout=5).status_code == 401


def test_available_at(store_root):
    with start_server(store_root, token=TOKEN, available_at=dt.datetime(2021, 5, 1)) as h:
        subs = _list(h.url, "040", "2021-03").json()["submissions"]
        assert [s["version"] for s in subs] == [1]
        url = f"{h.url}/api/v1/districts/040/submissions/040-2021-03-v2/files/job_placements.csv"
        assert requests.get(url, headers=AUTH, timeout=5).status_code == 404
        h.available_at = dt.datetime(2021, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=7)))
        assert len(_list(h.url, "040", "2021-03").json()["submissions"]) == 2
        assert requests.get(url, headers=AUTH, timeout=5).status_code == 200


def _get_once(url):
    try:
        r = requests.get(url, headers=AUTH, timeout=(2, 0.5))
        return r.status_code, r
    except requests.exceptions.Timeout:
        return "timeout", None
    except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
        return type(e).__name__, None


def test_faults_then_success(store_root):
    faults = ["429", "500", "502", "503", "504", "stall", "reset", "truncate"]
    with start_server(store_root, token=TOKEN, faults=faults, stall_seconds=1.0) as h:
        url = f"{h.url}/api/v1/districts/040/submissions/040-2021-03-v1/files/job_placements.csv"
        seen = []
        for _ in faults:
            status, r = _get_once(url)
            seen.append(status)
            if status == 429:
                assert r.headers["Retry-After"] == "1"
        assert seen[:5] == [429, 500, 502, 503, 504]
        assert seen[5] == "timeout"
        assert seen[6] == "ConnectionError"
        assert seen[7] in ("ChunkedEncodingError", "ConnectionError")
        status, r = _get_once(url)
        assert status == 200 and r.content == CSV
        assert [k for _, k in h.faults_served] == faults
        # listings are not faulted unless asked
        assert _list(h.url, "040", "2021-03").status_code == 200
    time.sleep(0.01)


def test_truncate_is_short_body(store_root):
    import socket

    with start_server(store_root, token=TOKEN, faults=["truncate"]) as h:
        s = socket.create_connection((h.host, h.port), timeout=5)
        s.sendall(f"GET /api/v1/districts/040/submissions/040-2021-03-v1/files/job_placements.csv HTTP/1.1\r\n"
                  f"Host: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert f"Content-Length: {len(CSV)}".encode() in head
        assert len(body) == len(CSV) // 2


def test_listing_faults_and_rate(store_root):
    with start_server(store_root, token=TOKEN, faults=["503"], fault_listings=True) as h:
        assert _list(h.url, "040", "2021-03").status_code == 503
        assert _list(h.url, "040", "2021-03").status_code == 200
    codes = []
    for _ in range(2):
        with start_server(store_root, token=TOKEN, faults=["500", "503"], fault_rate=0.5, seed=7) as h:
            url = f"{h.url}/api/v1/districts/040/submissions/040-2021-03-v1/files/job_placements.csv"
            codes.append([requests.get(url, headers=AUTH, timeout=5).status_code for _ in range(20)])
    assert codes[0] == codes[1]  # seeded
    assert {500, 503, 200} <= set(codes[0])


def test_fault_plan_aims_at_one_url_and_auth_and_404_faults(store_root):
    plan = {"040-2021-03-v1/files/job_placements.csv": ["403", "404"]}
    with start_server(store_root, token=TOKEN, fault_plan=plan, faults=["500"]) as h:
        base = f"{h.url}/api/v1/districts/040/submissions"
        aimed = base + "/040-2021-03-v1/files/job_placements.csv"
        other = base + "/040-2021-03-v2/files/job_placements.csv"
        assert [requests.get(aimed, headers=AUTH, timeout=5).status_code for _ in range(3)] == [403, 404, 200]
        assert [requests.get(other, headers=AUTH, timeout=5).status_code for _ in range(2)] == [500, 200]
    with pytest.raises(ValueError, match="unknown fault"):
        start_server(store_root, token=TOKEN, fault_plan={"x": ["explode"]})


def test_trickle_sends_the_body_slowly_and_counts_bytes(store_root):
    with start_server(store_root, token=TOKEN, faults=["trickle"], trickle_seconds=0.01) as h:
        url = f"{h.url}/api/v1/districts/040/submissions/040-2021-03-v1/files/job_placements.csv"
        r = requests.get(url, headers=AUTH, timeout=(2, 0.5), stream=True)
        t0 = time.monotonic()
        first = r.raw.read1(65536)
        assert 0 < len(first) < 100  # bytes come one by one, each well within the read timeout
        r.close()
        assert time.monotonic() - t0 < 0.5
        body = requests.get(url, headers=AUTH, timeout=5).content  # second request: no fault
        assert body == CSV
        deadline = time.monotonic() + 5  # the server counts a chunk just after writing it
        while h.body_bytes_sent < len(CSV) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert h.body_bytes_sent >= len(CSV)


@pytest.mark.parametrize("kind", ["notjson", "shape", "reversed", "repeated"])
def test_listing_faults_serve_malformed_listings(store_root, kind):
    with start_server(store_root, token=TOKEN, listing_faults={"040/2021-03": kind}) as h:
        r = _list(h.url, "040", "2021-03")
        assert r.status_code == 200
        if kind == "notjson":
            with pytest.raises(ValueError):
                r.json()
        elif kind == "shape":
            assert not isinstance(r.json()["submissions"], list)
        elif kind == "reversed":
            assert [s["version"] for s in r.json()["submissions"]] == [2, 1]
        else:
            assert [s["version"] for s in r.json()["submissions"]] == [1, 2, 2]
        assert len(_list(h.url, "044", "2020-01").json()["submissions"]) == 1  # other unit-months unchanged
        h.listing_faults.clear()
        assert [s["version"] for s in _list(h.url, "040", "2021-03").json()["submissions"]] == [1, 2]


def test_malformed_listing_entries_are_listed_verbatim(tmp_path):
    s = HubStore(tmp_path / "store")
    s.add_submission("040", "2021-03", 1, dt.datetime(2021, 4, 3, 10, 15), {"job_placements.csv": CSV})
    odd = {"submission_id": "040-2021-03-v2\n", "version": "2", "submitted_at": "2021-04-03 10:15",
           "files": [{"name": "manifest.json"}, {"name": "manifest.json"}]}
    s.add_listing_entry("040", "2021-03", odd)
    s.add_listing_entry("040", "2021-03", ["not", "an", "object"])
    s.save()
    with start_server(s.root, token=TOKEN) as h:
        subs = _list(h.url, "040", "2021-03").json()["submissions"]
    assert subs[0]["version"] == 1 and subs[1:] == [odd, ["not", "an", "object"]]
    assert HubStore(s.root).listing("040", "2021-03")[1:] == [odd, ["not", "an", "object"]]  # saved in index.json
