"""The demo District Export hub: contract §2 over stdlib ``http.server``.

Endpoints (every request needs ``Authorization: Bearer <token>``, else 401)::

    GET /api/v1/districts/{unit_code}/submissions?period=YYYY-MM
    GET /api/v1/districts/{unit_code}/submissions/{submission_id}/files/{name}

- 404 for a unit code not in admin_units.csv (the province ``04`` included),
  a malformed or missing ``period``, an unknown submission or file, any other
  path; 200 with an empty list for a known code not valid in that month or with
  nothing submitted (yet).
- ``available_at`` (a datetime, naive = Vietnam time, or None) hides every
  submission submitted after it, in listings and downloads: it simulates the
  passage of time. It can be changed on a running server
  (``server.available_at = ...``).

Fault injection (deterministic):

- ``faults=["429", "503", "truncate"]``: every download URL answers its first
  ``len(faults)`` requests with those faults in order, then normally. With
  ``fault_listings=True`` listing URLs (path and query) do the same.
- ``fault_rate=p`` (> 0): instead, each eligible request fails with probability
  ``p`` with a fault drawn from ``faults`` (or all kinds), seeded by ``seed``,
  the URL and how many times it was asked, so a run is reproducible.

Kinds: ``429`` (with ``Retry-After: 1``), ``500``, ``502``, ``503``, ``504``,
``403``, ``404``; ``stall``: waits ``stall_seconds`` before answering normally (a
client with a shorter read timeout gives up first); ``reset``: closes the
connection with a TCP reset and no response; ``truncate``: sends the full
``Content-Length`` header, half of the body, then closes; ``trickle``: sends the
body one byte every ``trickle_seconds`` (each read is quick, the whole is not).

- ``fault_plan={"<url part>": ["503", ...]}``: URLs containing the key get these
  faults on their first requests instead of ``faults`` (to aim at one file or listing).
- ``listing_faults={"<unit>/<period>": kind}`` (changeable on a running server)
  serves that unit-month's listing malformed: ``notjson`` (a body that is not JSON),
  ``shape`` (JSON, not the contract's object), ``reversed`` (versions newest first),
  ``repeated`` (the last version listed twice).
- Malformed listing *entries* are data of the store (``HubStore.add_listing_entry``).
- ``body_bytes_sent`` counts the file-body bytes written (to see a client cut a body).

Latency (a poor provincial network, deterministic):

- ``latency_ms=N``: every request waits N ms before it is answered (faults, 401 and 404
  included), on its own handler thread: the server is a ``ThreadingHTTPServer`` (one
  thread per connection), so the delays of concurrent clients overlap as on a real network
  and a client with k connections sees about k requests per N ms. ``requests`` counts every
  request received.

The token is never logged.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import random
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from dolisa import contract
from dolisa_demo.hub.store import TZ, HubStore

log = logging.getLogger("dolisa_demo.hub.server")

FAULT_KINDS = ("429", "500", "502", "503", "504", "403", "404", "stall", "reset", "truncate", "trickle")
LISTING_FAULTS = ("notjson", "shape", "reversed", "repeated")
PREFIX = ("api", "v1", "districts")


def _valid_period(p: str | None) -> bool:
    try:
        contract.parse_period(p)  # type: ignore[arg-type]
        return True
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DolisaDemoHub/1"
    # Headers and body go out in separate writes; without TCP_NODELAY every keep-alive
    # response waits ~40 ms for the client's delayed ACK (Nagle), 2 000 requests = 80 s.
    disable_nagle_algorithm = True
    hub: "HubServer"  # set on the subclass made per server

    # ---------------------------------------------------------------- plumbing
    def log_message(self, fmt: str, *args: Any) -> None:  # request line only, never headers
        log.info("%s %s", self.address_string(), fmt % args)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

    def _send_json(self, status: int, doc: Any, extra: dict[str, str] | None = None, truncate: bool = False) -> None:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        self._send_json(status, {"error": message, "status": status}, extra)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    # ---------------------------------------------------------------- routing
    def do_GET(self) -> None:  # noqa: N802
        hub = self.hub
        with hub._lock:
            hub.requests += 1
        if hub.latency_seconds > 0 and hub._stop_event.wait(hub.latency_seconds):
            self._reset()  # the hub is stopping
            return
        auth = self.headers.get("Authorization", "")
        expected = f"Bearer {hub.token}"
        if not hmac.compare_digest(auth.encode("utf-8", "replace"), expected.encode("utf-8")):
            self._error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            return
        parts = urlsplit(self.path)
        segs = [unquote(s) for s in parts.path.split("/")[1:]]
        if tuple(segs[:3]) != PREFIX or len(segs) < 5 or segs[4] != "submissions":
            self._error(404, "not found")
            return
        unit = segs[3]
        if unit not in contract.known_unit_codes():
            self._error(404, f"unknown unit code {unit!r}")
            return
        if len(segs) == 5:
            period = (parse_qs(parts.query).get("period") or [None])[0]
            if not _valid_period(period):
                self._error(404, "period must be YYYY-MM")
                return
            self._listing(unit, period)  # type: ignore[arg-type]
        elif len(segs) == 8 and segs[6] == "files":
            self._file(unit, segs[5], segs[7])
        else:
            self._error(404, "not found")

    def _fault(self, kind: str | None) -> bool:
        """Apply a fault; True when the request has been answered (or dropped)."""
        if kind is None or kind == "stall":
            if kind == "stall":
                self.hub._stop_event.wait(self.hub.stall_seconds)
            return False
        if kind == "reset":
            self._reset()
            return True
        if kind in ("truncate", "trickle"):
            return False  # handled by the body writer
        extra = {"Retry-After": "1"} if kind == "429" else None
        self._error(int(kind), f"injected fault {kind}", extra)
        return True

    def _listing(self, unit: str, period: str) -> None:
        hub = self.hub
        kind = hub._next_fault(self.path, listing=True)
        if self._fault(kind):
            return
        valid = any(u.unit_code == unit for u in contract.reporting_units(period))
        subs = hub.store.listing(unit, period, available_at=hub.available_at) if valid else []
        doc: Any = {"unit_code": unit, "period": period, "submissions": subs}
        bad = hub.listing_faults.get(f"{unit}/{period}")
        if bad == "notjson":
            body = b"<html><body>502 Bad Gateway (proxy)</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if bad == "shape":
            doc = {"unit_code": unit, "period": period, "submissions": {"count": len(subs)}}
        elif bad == "reversed":
            doc["submissions"] = list(reversed(subs))
        elif bad == "repeated" and subs:
            doc["submissions"] = subs + subs[-1:]
        self._send_json(200, doc, truncate=kind == "truncate")

    def _file(self, unit: str, sid: str, name: str) -> None:
        hub = self.hub
        found = hub.store.file_path(unit, sid, name)
        sub = hub.store.submission(unit, sid)
        if found is None or sub is None or not hub._available(sub):
            self._error(404, "unknown submission or file")
            return
        kind = hub._next_fault(self.path, listing=False)
        if self._fault(kind):
            return
        meta, path = found
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", meta.get("media_type") or "application/octet-stream")
        self.send_header("Content-Length", str(size))
        if kind == "truncate":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        limit = size // 2 if kind == "truncate" else size
        step = 1 if kind == "trickle" else 65536
        sent = 0
        with open(path, "rb") as fh:
            while sent < limit:
                chunk = fh.read(min(step, limit - sent))
                if not chunk:
                    break
                if kind == "trickle":
                    if hub._stop_event.wait(hub.trickle_seconds):
                        break
                    self.wfile.flush()
                try:
                    self.wfile.write(chunk)
                except OSError:  # the client cut the body
                    break
                sent += len(chunk)
                with hub._lock:
                    hub.body_bytes_sent += len(chunk)
        if kind == "truncate":
            self._reset()


class _ThreadingServer(ThreadingHTTPServer):
    request_queue_size = 128  # listen backlog: many clients may connect at once (default 5)


class HubServer:
    """A running hub; see the module docstring. Use ``start_server``."""

    def __init__(
        self,
        store_root,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "demo-token",
        faults: Iterable[str] = (),
        fault_rate: float = 0.0,
        seed: int = 0,
        available_at: dt.datetime | None = None,
        stall_seconds: float = 3.0,
        fault_listings: bool = False,
        *,
        fault_plan: dict[str, list[str]] | None = None,
        listing_faults: dict[str, str] | None = None,
        trickle_seconds: float = 0.2,
        latency_ms: float = 0.0,
    ):
        self.store = HubStore(store_root)
        if not (Path(store_root) / "index.json").exists():
            raise FileNotFoundError(f"{store_root}: no index.json (generate a store first)")
        self.token = token
        self.faults = [str(f).strip() for f in faults if str(f).strip()]
        bad = [f for f in self.faults if f not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kind(s) {bad}; known: {', '.join(FAULT_KINDS)}")
        self.fault_rate = float(fault_rate)
        self.seed = seed
        self.available_at = available_at
        self.stall_seconds = float(stall_seconds)
        self.fault_listings = fault_listings
        self.fault_plan = {k: [str(f) for f in v] for k, v in (fault_plan or {}).items()}
        self.listing_faults = dict(listing_faults or {})
        bad += [f for v in self.fault_plan.values() for f in v if f not in FAULT_KINDS]
        bad += [f for f in self.listing_faults.values() if f not in LISTING_FAULTS]
        if bad:
            raise ValueError(f"unknown fault kind(s) {bad}; known: {', '.join(FAULT_KINDS + LISTING_FAULTS)}")
        self.trickle_seconds = float(trickle_seconds)
        if not latency_ms >= 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
        self.latency_seconds = float(latency_ms) / 1000.0
        self.requests = 0
        self.body_bytes_sent = 0
        self.hits: dict[str, int] = {}
        self.faults_served: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        handler = type("HubHandler", (_Handler,), {"hub": self})
        self.httpd = _ThreadingServer((host, port), handler)
        self.httpd.daemon_threads = True  # one thread per connection: delayed responses overlap
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.httpd.server_address[0]

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reload(self) -> None:
        """Re-read the store's index.json (after a test changed the store)."""
        self.store = HubStore(self.store.root)

    def _available(self, sub: dict[str, Any]) -> bool:
        if self.available_at is None:
            return True
        cut = self.available_at if self.available_at.tzinfo else self.available_at.replace(tzinfo=TZ)
        return dt.datetime.fromisoformat(sub["submitted_at"]) <= cut

    def _next_fault(self, url: str, *, listing: bool) -> str | None:
        with self._lock:
            n = self.hits.get(url, 0)
            self.hits[url] = n + 1
            planned = [v for k, v in self.fault_plan.items() if k in url]
            if planned:
                kind = planned[0][n] if n < len(planned[0]) else None
                if kind:
                    self.faults_served.append((url, kind))
                return kind
            if listing and not self.fault_listings:
                return None
            kind = None
            if self.fault_rate > 0:
                r = random.Random(f"{self.seed}|{url}|{n}")
                if r.random() < self.fault_rate:
                    kind = r.choice(self.faults or list(FAULT_KINDS))
            elif n < len(self.faults):
                kind = self.faults[n]
            if kind:
                self.faults_served.append((url, kind))
                log.info("fault %s on %s (request %d)", kind, url, n + 1)
            return kind

    def start(self) -> "HubServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"hub-{self.port}", daemon=True)
            self._thread.start()
            log.info("District Export hub on %s (store %s)", self.url, self.store.root)
        return self

    def serve_forever(self) -> None:
        log.info("District Export hub on %s (store %s)", self.url, self.store.root)
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_server(
    store_root,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = "demo-token",
    faults: Iterable[str] = (),
    fault_rate: float = 0.0,
    seed: int = 0,
    available_at: dt.datetime | None = None,
    stall_seconds: float = 3.0,
    fault_listings: bool = False,
    **kw: Any,
) -> HubServer:
    """Start a hub in a background thread (port 0: an ephemeral port); ``.stop()`` or ``with``.

    Keyword options: ``fault_plan``, ``listing_faults``, ``trickle_seconds``, ``latency_ms`` (module doc)."""
    return HubServer(
        store_root, host, port, token, faults, fault_rate, seed, available_at, stall_seconds, fault_listings, **kw
    ).start()
