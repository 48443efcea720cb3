"""The District Export API client (contract §2), on `requests`.

`ExportApiClient` uses connect/read timeouts, an overall deadline per request
(`DOLISA_DOWNLOAD_DEADLINE`: a trickling body is cut), bounded retries with exponential backoff
that honours `Retry-After`, streams downloads to disk, stops a body as soon as it exceeds the
listed `bytes`, and verifies `bytes` and `sha256`. The token is sent as a bearer header and
never logged (`HubConfig.__repr__` hides it).

What a fault becomes is said by the exception raised: `AuthError` (401/403: the run stops,
nothing is marked), `VerificationError` with `complete` (wrong on a complete body after the
retries: the version is rejected), `TransientError` (everything else once the retries ran out:
the version is deferred). Safe to use from several threads: see `ExportApiClient`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import requests
import urllib3

from dolisa import contract, limits

log = logging.getLogger("dolisa.extract")  # one logger for the whole extract (the task log reads it)

CONN_ID = "district_export_api"


@dataclass(frozen=True)
class HubConfig:
    base_url: str
    token: str = field(repr=False)

    def __repr__(self) -> str:  # never print the token
        return f"HubConfig(base_url={self.base_url!r}, token=***)"

    @classmethod
    def from_parts(cls, host: str, port: int | None, schema: str | None, token: str) -> "HubConfig":
        scheme = (schema or "http").strip().lower() or "http"
        if scheme not in ("http", "https"):
            raise ValueError(f"connection {CONN_ID}: schema must be http or https, got {schema!r}")
        host = (host or "").strip()
        if "://" in host:  # a host given with its scheme
            parsed = urllib.parse.urlsplit(host)
            scheme, host = parsed.scheme or scheme, parsed.hostname or ""
            port = port or parsed.port
        if not host:
            raise ValueError(f"connection {CONN_ID}: host is empty")
        netloc = f"{host}:{port}" if port else host
        return cls(f"{scheme}://{netloc}", token or "")

    @classmethod
    def from_uri(cls, uri: str) -> "HubConfig":
        """Parse an Airflow connection URI such as `http://:TOKEN@127.0.0.1:8765`."""
        p = urllib.parse.urlsplit(uri)
        token = urllib.parse.unquote(p.password or "")
        schema = urllib.parse.unquote(p.path.lstrip("/")) or None
        return cls.from_parts(p.hostname or "", p.port, schema, token)

    @classmethod
    def from_env(cls) -> "HubConfig":
        uri = os.environ.get("AIRFLOW_CONN_" + CONN_ID.upper())
        if not uri:
            raise RuntimeError(
                f"no hub connection: set AIRFLOW_CONN_{CONN_ID.upper()} (e.g. http://:TOKEN@127.0.0.1:8765) "
                f"or the Airflow connection {CONN_ID!r}"
            )
        if uri.lstrip().startswith("{"):
            d = json.loads(uri)
            return cls.from_parts(d.get("host", ""), d.get("port"), d.get("schema"), d.get("password", ""))
        return cls.from_uri(uri)


class ApiError(Exception):
    """The hub answered in a way the contract does not allow, or retries ran out."""


class AuthError(ApiError):
    """401/403: the hub refused the connection's token. Fails the task; nothing is marked."""


class TransientError(ApiError):
    """Could not fetch now (reset, timeout, deadline, 5xx, 429, 404 on a file, short body):
    the version is deferred to the next run, never rejected."""


class VerificationError(ApiError):
    """A downloaded file's size or sha256 is wrong.

    `complete` is True when the body was complete (the listed length with another sha256,
    or longer than listed): only that, after the retries, rejects the version. A short
    body is a transient fault."""

    def __init__(self, message: str, *, complete: bool):
        super().__init__(message)
        self.complete = complete


class NotFound(ApiError):
    pass


@dataclass
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float | None = None  # overall seconds per request; None: DOLISA_DOWNLOAD_DEADLINE
    sleep: Callable[[float], None] = time.sleep


RETRY_STATUS = {429, 500, 502, 503, 504}
_CHUNK = 1 << 16


class _Transport(Exception):
    """A transport fault while reading a body (timeout, reset, incomplete, deadline)."""


class _BadListing(Exception):
    """The listing body is not the contract's JSON (possibly a garbled body: retried)."""


class Cancelled(Exception):
    """The landing run was stopped (AuthError or another failure elsewhere): give up this request.
    The client raises it only within `ExportApiClient.stopped_by`."""


class _HostGate:
    """At most `limit` requests in flight to one host, and a pause shared by every worker.

    A 429 with `Retry-After` pauses the host (`pause_until`): no worker starts a request to
    it before then, not only the one that was told."""

    def __init__(self, limit: int):
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._not_before = 0.0  # time.monotonic()

    def pause_until(self, t: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, t)

    def _wait_pause(self, wait: Callable[[float], None]) -> None:
        while True:
            with self._lock:
                left = self._not_before - time.monotonic()
            if left <= 0:
                return
            wait(left)

    @contextlib.contextmanager
    def slot(self, wait: Callable[[float], None]):
        while True:
            self._wait_pause(wait)
            self._slots.acquire()
            with self._lock:
                paused = self._not_before > time.monotonic()
            if not paused:
                break
            self._slots.release()  # a 429 arrived while waiting for a slot: wait again
        try:
            yield
        finally:
            self._slots.release()


class ExportApiClient:
    """The hub's API (contract §2). Safe to use from several threads (`land_period` does, up
    to `concurrency` at once): one requests.Session per thread, counters and the jitter RNG
    under a lock, at most `concurrency` requests in flight per host and a shared pause after
    a 429 with Retry-After (`_HostGate`). `concurrency` None: `DOLISA_EXTRACT_CONCURRENCY`."""

    def __init__(
        self,
        config: HubConfig,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        concurrency: int | None = None,
    ):
        self.config = config
        self.policy = policy or RetryPolicy()
        self.concurrency = max(1, int(concurrency if concurrency is not None else limits.current().extract_concurrency))
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[tuple[threading.Thread, requests.Session]] = []
        if session is not None:
            self._adopt(session)
        self._jitter = random.Random(0)
        self.stats = {"requests": 0, "retries": 0}
        self._gates: dict[str, _HostGate] = {}
        self._abort: threading.Event | None = None  # stopped_by: set when a concurrent landing run stops

    # -- sessions: one per thread (requests.Session is not guaranteed thread-safe) ------------
    def _adopt(self, session: requests.Session) -> requests.Session:
        session.headers["Authorization"] = f"Bearer {self.config.token}"
        session.headers["User-Agent"] = "dolisa-warehouse/1 (Cao Bang DOLISA)"
        session.headers["Accept-Encoding"] = "identity"  # the listed bytes are the bytes on the wire
        self._local.session = session
        with self._lock:
            self._sessions.append((threading.current_thread(), session))
        return session

    @property
    def session(self) -> requests.Session:
        """This thread's session."""
        s = getattr(self._local, "session", None)
        return s if s is not None else self._adopt(requests.Session())

    @session.setter
    def session(self, session: requests.Session) -> None:
        self._adopt(session)

    @contextlib.contextmanager
    def stopped_by(self, abort: threading.Event):
        """Within: once `abort` is set, no request starts, backoffs and host pauses end and a body
        being read stops, each raising Cancelled (a concurrent landing run that stops)."""
        self._abort = abort
        try:
            yield self
        finally:
            self._abort = None

    def close_idle_sessions(self) -> None:
        """Close the sessions of threads that ended (a landing run's workers)."""
        with self._lock:
            gone = [s for t, s in self._sessions if not t.is_alive()]
            self._sessions = [(t, s) for t, s in self._sessions if t.is_alive()]
        for s in gone:
            s.close()

    # -- plumbing ---------------------------------------------------------
    def _url(self, *parts: str) -> str:
        return self.config.base_url.rstrip("/") + "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def _gate(self, url: str) -> _HostGate:
        host = urllib.parse.urlsplit(url).netloc
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(self.concurrency)
            return gate

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def _sleep(self, seconds: float) -> None:
        """The backoff (policy.sleep); cut short, raising Cancelled, when the landing run stops."""
        abort = self._abort
        if abort is None:
            self.policy.sleep(seconds)
            return
        if abort.is_set():
            raise Cancelled()
        if self.policy.sleep is time.sleep:
            if abort.wait(seconds):
                raise Cancelled()
        else:
            self.policy.sleep(seconds)

    def _pause(self, seconds: float) -> None:
        """Wait out the host's pause (real time, as the pause is); Cancelled when the run stops."""
        abort = self._abort
        if abort is None:
            time.sleep(seconds)
        elif abort.wait(seconds):
            raise Cancelled()

    def _deadline(self) -> float:
        d = self.policy.deadline if self.policy.deadline is not None else limits.current().download_deadline
        return time.monotonic() + d

    def _retry_after(self, response: requests.Response | None) -> float | None:
        if response is None or response.status_code != 429:
            return None
        try:
            return min(float(response.headers.get("Retry-After", "")), self.policy.retry_after_max)
        except ValueError:
            return None

    def _wait(self, attempt: int, response: requests.Response | None) -> float:
        p = self.policy
        with self._lock:
            r = self._jitter.random()
        delay = min(p.backoff_max, p.backoff_base * (2**attempt)) * (0.75 + 0.5 * r)
        ra = self._retry_after(response)
        if ra is not None:
            delay = max(delay, ra)
        return delay

    def _with_retries(self, what: str, url: str, fn: Callable[[], Any], *, retry_not_found: bool = False) -> Any:
        gate = self._gate(url)
        last: Exception | None = None
        for attempt in range(self.policy.attempts):
            response = None
            try:
                if self._abort is not None and self._abort.is_set():
                    raise Cancelled()
                with gate.slot(self._pause):
                    self._count("requests")
                    return fn()
            except _RetryableStatus as e:
                response, last = e.response, e
            except NotFound as e:
                if not retry_not_found:
                    raise
                last = e
            except (VerificationError, _Transport, _BadListing) as e:
                last = e
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
                last = e
            ra = self._retry_after(response)
            if ra is not None and self.concurrency > 1:
                gate.pause_until(time.monotonic() + ra)  # the whole host waits, not only this worker
            if attempt + 1 < self.policy.attempts:
                delay = self._wait(attempt, response)
                self._count("retries")
                log.warning("%s: attempt %d failed (%s); retrying in %.1fs", what, attempt + 1, _short(last), delay)
                self._sleep(delay)
        if isinstance(last, VerificationError) and last.complete:
            raise last  # wrong on a complete body, every time: the contract's rejection
        raise TransientError(f"{what}: gave up after {self.policy.attempts} attempts ({_short(last)})")

    def _get(self, url: str, stream: bool = False) -> requests.Response:
        r = self.session.get(url, timeout=(self.policy.connect_timeout, self.policy.read_timeout), stream=stream)
        if r.status_code in RETRY_STATUS:
            r.close()
            raise _RetryableStatus(r)
        if r.status_code in (401, 403):
            r.close()
            raise AuthError(f"HTTP {r.status_code}: the hub refused the token of connection {CONN_ID}")
        if r.status_code == 404:
            r.close()
            raise NotFound(f"HTTP 404 for {url.replace(self.config.base_url, '')}")
        if r.status_code != 200:
            r.close()
            raise _RetryableStatus(r)  # not the contract: treated as transient
        return r

    def _chunks(self, r: requests.Response, deadline: float) -> Iterable[bytes]:
        """The body, chunk by chunk as it arrives (never waiting to fill a chunk), cut at the deadline
        (and when a concurrent landing run stops)."""
        while True:
            if self._abort is not None and self._abort.is_set():
                raise Cancelled()
            if time.monotonic() > deadline:
                raise _Transport("overall deadline passed (DOLISA_DOWNLOAD_DEADLINE): body cut")
            try:
                chunk = r.raw.read1(_CHUNK, decode_content=True)
            except (urllib3.exceptions.HTTPError, OSError) as e:
                raise _Transport(f"{type(e).__name__}") from None
            if not chunk:
                return
            yield chunk

    # -- the API ----------------------------------------------------------
    def list_submissions(self, unit_code: str, period: str) -> list:
        """The listing's `submissions`, as listed (entries are checked by `listing_problems`)."""
        url = self._url("api", "v1", "districts", unit_code, "submissions") + f"?period={urllib.parse.quote(period)}"
        cap = limits.current().max_listing_bytes

        def go() -> list:
            deadline = self._deadline()
            with self._get(url, stream=True) as r:
                body = bytearray()
                for chunk in self._chunks(r, deadline):
                    body += chunk
                    if len(body) > cap:
                        raise _BadListing(f"listing longer than {cap} bytes (DOLISA_MAX_LISTING_BYTES)")
            try:
                doc = json.loads(bytes(body).decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise _BadListing("listing is not JSON") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("submissions"), list):
                raise _BadListing("listing is not the contract's shape (an object with a list `submissions`)")
            if doc.get("unit_code") != unit_code or doc.get("period") != period:
                raise _BadListing("listing is for another unit or period than asked")
            return doc["submissions"]

        return self._with_retries(f"list {unit_code} {period}", url, go)

    def download(self, unit_code: str, submission_id: str, file: dict, dest: Path) -> None:
        """Stream one file to `dest`, verifying bytes and sha256 (retrying when they are wrong).

        The body is cut as soon as it exceeds the listed `bytes`, and at the deadline."""
        url = self._url("api", "v1", "districts", unit_code, "submissions", submission_id, "files", file["name"])
        listed, want = int(file["bytes"]), str(file["sha256"]).lower()

        def go() -> None:
            deadline = self._deadline()
            h, n = hashlib.sha256(), 0
            with self._get(url, stream=True) as r, open(dest, "wb") as out:
                for chunk in self._chunks(r, deadline):
                    if n + len(chunk) > listed:
                        raise VerificationError(
                            contract.reason("body_too_long", file=f"{submission_id}/{file['name']}", bytes=listed),
                            complete=True,
                        )
                    h.update(chunk)
                    n += len(chunk)
                    out.write(chunk)
            if n < listed:
                raise VerificationError(
                    f"{submission_id}/{file['name']}: short body ({n} of {listed} bytes)", complete=False
                )
            if h.hexdigest() != want:
                raise VerificationError(
                    contract.reason(
                        "checksum_mismatch",
                        file=f"{submission_id}/{file['name']}",
                        got=f"{h.hexdigest()[:12]}…",
                        bytes=n,
                        want=f"{want[:12]}…",
                    ),
                    complete=True,
                )

        self._with_retries(f"download {submission_id}/{file['name']}", url, go, retry_not_found=True)


class _RetryableStatus(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _short(e: Exception | None) -> str:
    return (f"{type(e).__name__}: {e}" if e else "?")[:300]
