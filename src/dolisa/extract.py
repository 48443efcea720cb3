"""District Export API client and the raw landing zone.

The client (`ExportApiClient`, on `requests`) uses connect/read timeouts, an overall
deadline per request (`DOLISA_DOWNLOAD_DEADLINE`: a trickling body is cut), bounded
retries with exponential backoff that honours `Retry-After`, streams downloads to disk,
stops a body as soon as it exceeds the listed `bytes`, and verifies `bytes` and `sha256`.
The token is sent as a bearer header and never logged (`HubConfig.__repr__` hides it).

Landing (`land_period`): for every unit valid in a period, list the submissions and
land every version not landed before under

    $DOLISA_HOME/raw/<unit>/<period>/<submission_id>/
        manifest.json   the hub's listing entry + landed_at (written last: its
                        presence means the version is completely landed)
        files/<name>    the file's bytes, exactly as served (read-only); hub names can
                        never collide with the project's own files (layout 2; layout 1,
                        files beside manifest.json, is still read)

What happens to a version (docs/operations.md, "Faults: what the pipeline does"):

- landed: every file verified;
- **rejected** (landed with a manifest carrying `download_error` or `listing_error` and no
  files; the load rejects it and the previous accepted version stays in force) only for
  what the contract names: a size or checksum that stays wrong on *complete* bodies (a
  body of the listed length with another sha256, or a body longer than listed), an
  unsafe name, a malformed listing entry (`listing_problems`);
- **deferred** (nothing written; reported in the run summary, the task log and the
  ledger `raw/_deferred.json`, and fetched again on the next run) for everything
  transient once the retries ran out: resets, timeouts, the deadline, 5xx, 429, a 404
  on a file, a short body; and for a unit-month whose listing as a whole is unusable
  (not JSON, not the contract's shape, versions repeated or out of order);
- 401/403 raise `AuthError`: the task fails loudly and nothing is marked.

Concurrency (`DOLISA_EXTRACT_CONCURRENCY`, default 8; 1 = one request at a time): the hub sits
on a slow network, so `land_periods` keeps up to that many listings and downloads in flight
(a thread pool; one requests.Session per thread; at most that many requests per host; a 429
with Retry-After pauses the host for every worker) while everything that marks happens in the
calling thread in exactly the sequential order: the same landing order, manifests, results
and deferred ledger as one request at a time (`_ConcurrentLanding`). An AuthError marks
exactly what the sequential run would have marked before it.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import requests
import urllib3

from dolisa import contract, limits
from dolisa.parse import safe_file_name

log = logging.getLogger(__name__)

CONN_ID = "district_export_api"
MANIFEST = "manifest.json"
FILES_DIR = "files"
DEFERRED_LEDGER = "_deferred.json"
LAYOUT = 2
# Names of the project's own files in the raw zone: a hub file may never be called so.
RESERVED_NAMES = frozenset({MANIFEST, "status.json", DEFERRED_LEDGER, FILES_DIR})


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


class _Cancelled(Exception):
    """The landing run was stopped (AuthError or another failure elsewhere): give up this request."""


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

    def __init__(self, config: HubConfig, policy: RetryPolicy | None = None, session: requests.Session | None = None,
                 concurrency: int | None = None):
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
        self._abort: threading.Event | None = None  # set by a concurrent landing run that stops

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
        """The backoff (policy.sleep); cut short, raising _Cancelled, when the landing run stops."""
        abort = self._abort
        if abort is None:
            self.policy.sleep(seconds)
            return
        if abort.is_set():
            raise _Cancelled()
        if self.policy.sleep is time.sleep:
            if abort.wait(seconds):
                raise _Cancelled()
        else:
            self.policy.sleep(seconds)

    def _pause(self, seconds: float) -> None:
        """Wait out the host's pause (real time, as the pause is); _Cancelled when the run stops."""
        abort = self._abort
        if abort is None:
            time.sleep(seconds)
        elif abort.wait(seconds):
            raise _Cancelled()

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
                    raise _Cancelled()
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
                raise _Cancelled()
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
                        raise VerificationError(contract.reason(
                            "body_too_long", file=f"{submission_id}/{file['name']}", bytes=listed), complete=True)
                    h.update(chunk)
                    n += len(chunk)
                    out.write(chunk)
            if n < listed:
                raise VerificationError(f"{submission_id}/{file['name']}: short body ({n} of {listed} bytes)",
                                        complete=False)
            if h.hexdigest() != want:
                raise VerificationError(contract.reason(
                    "checksum_mismatch", file=f"{submission_id}/{file['name']}", got=f"{h.hexdigest()[:12]}…",
                    bytes=n, want=f"{want[:12]}…"), complete=True)

        self._with_retries(f"download {submission_id}/{file['name']}", url, go, retry_not_found=True)


class _RetryableStatus(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _short(e: Exception | None) -> str:
    return (f"{type(e).__name__}: {e}" if e else "?")[:300]


# ---------------------------------------------------------------------------
# The listing's entries, checked against the contract
# ---------------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_submitted_at(value: object) -> dt.datetime | None:
    """An ISO 8601 date-time with an offset, or None."""
    if not isinstance(value, str) or len(value) < 16:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def entry_problems(entry: object) -> list[str]:
    """Why one listing entry breaks the contract's shape (empty when it does not)."""
    if not isinstance(entry, dict):
        return [f"listing entry is not an object ({type(entry).__name__})"]
    out = []
    sid = entry.get("submission_id")
    if not isinstance(sid, str):
        out.append("no submission_id" if sid is None else f"submission_id is not text ({type(sid).__name__})")
    elif not safe_file_name(sid):
        out.append(f"submission_id {sid!r} is not a safe name (only letters, digits, '_', '.', '-')")
    v = entry.get("version")
    if v is None:
        out.append("no version")
    elif not _is_int(v) or v < 1:
        out.append(f"version {v!r} is not a positive integer")
    if "submitted_at" not in entry:
        out.append("no submitted_at")
    elif parse_submitted_at(entry["submitted_at"]) is None:
        out.append(f"submitted_at {entry['submitted_at']!r} is not an ISO 8601 date-time with an offset")
    files = entry.get("files")
    if not isinstance(files, list):
        out.append("no files list" if files is None else "files is not a list")
        return out
    max_bytes = limits.current().max_file_bytes
    seen: set[str] = set()
    for i, f in enumerate(files, start=1):
        if not isinstance(f, dict):
            out.append(f"file #{i} is not an object")
            continue
        name = f.get("name")
        label = repr(name) if isinstance(name, str) else f"#{i}"
        if not isinstance(name, str):
            out.append(f"file #{i}: no name")
        elif not safe_file_name(name):
            out.append(f"file name {name!r} is not a plain file name (would leave the landing zone or holds "
                       f"control characters)")
        elif name.casefold() in RESERVED_NAMES:
            out.append(f"file name {name!r} is reserved for the warehouse's own ledger files")
        elif name.casefold() in seen:
            out.append(f"file name {name!r} is listed twice in one version")
        if isinstance(name, str):
            seen.add(name.casefold())
        if not isinstance(f.get("dataset"), str):
            out.append(f"file {label}: dataset missing or not text")
        if f.get("media_type") is not None and not isinstance(f["media_type"], str):
            out.append(f"file {label}: media_type is not text")  # informative only: may be absent
        for key in ("bytes", "rows"):
            if key not in f:
                out.append(f"file {label}: no {key}")
            elif not _is_int(f[key]) or f[key] < 0:
                out.append(f"file {label}: {key} {f[key]!r} is not a non-negative integer")
        if _is_int(f.get("bytes")) and f["bytes"] > max_bytes:
            out.append(f"file {label}: listed size {f['bytes']} bytes exceeds the bound {max_bytes} "
                       f"(DOLISA_MAX_FILE_BYTES)")
        if not isinstance(f.get("sha256"), str) or not _HEX64.fullmatch(f["sha256"]):
            out.append(f"file {label}: sha256 missing or not 64 hex characters")
    return out


def listing_problems(entries: list) -> list[str]:
    """Why a listing as a whole cannot be used: versions or ids repeated, versions out of order."""
    out = []
    ids = [e.get("submission_id") for e in entries if isinstance(e, dict) and isinstance(e.get("submission_id"), str)]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        out.append(f"submission_id listed more than once: {', '.join(map(repr, dup))}")
    versions = [e["version"] for e in entries if isinstance(e, dict) and _is_int(e.get("version"))]
    if any(b <= a for a, b in zip(versions, versions[1:])):
        out.append(f"versions not listed oldest first without repeats: {versions}")
    return out


def _synthetic_id(unit_code: str, period: str, entry: object) -> str:
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True, default=repr).encode("utf-8")).hexdigest()[:12]
    return f"{unit_code}-{period}-invalid-{digest}"


def _clean_files(entry: object) -> list[dict]:
    """The listed files as the ledger can hold them (every field typed or None)."""
    files = entry.get("files") if isinstance(entry, dict) else None
    out = []
    for i, f in enumerate(files if isinstance(files, list) else [], start=1):
        f = f if isinstance(f, dict) else {}
        out.append({
            "dataset": f.get("dataset") if isinstance(f.get("dataset"), str) else None,
            "name": f.get("name") if isinstance(f.get("name"), str) else f"#{i}",
            "media_type": f.get("media_type") if isinstance(f.get("media_type"), str) else None,
            "bytes": f.get("bytes") if _is_int(f.get("bytes")) else None,
            "rows": f.get("rows") if _is_int(f.get("rows")) else None,
            "sha256": f.get("sha256") if isinstance(f.get("sha256"), str) else None,
        })
    return out


# ---------------------------------------------------------------------------
# Landing
# ---------------------------------------------------------------------------


def version_dir(raw_root: Path, unit_code: str, period: str, submission_id: str) -> Path:
    if not safe_file_name(submission_id):
        raise ApiError(f"unsafe submission id {submission_id!r}")
    return raw_root / unit_code / period / submission_id


def landed_file(vdir: Path, manifest: dict, name: str) -> Path:
    """Where a landed file is: `files/<name>` (layout 2) or beside manifest.json (layout 1)."""
    return vdir / FILES_DIR / name if int(manifest.get("layout") or 1) >= 2 else vdir / name


def landed_versions(raw_root: Path) -> Iterable[tuple[Path, dict]]:
    """Every landed version (manifest present), in (unit, period, version) order."""
    for m in sorted(raw_root.glob(f"*/*/*/{MANIFEST}")):
        if m.parent.name.startswith("."):
            continue
        yield m.parent, json.loads(m.read_text(encoding="utf-8"))


@dataclass
class LandResult:
    listed: int = 0
    landed: list[str] = field(default_factory=list)
    already: int = 0
    failed: list[str] = field(default_factory=list)  # versions landed as rejected (download_ or listing_error)
    deferred: list[dict] = field(default_factory=list)  # not landed: fetched again on the next run


def land_period(
    client: ExportApiClient, raw_root: Path, period: str, *, now: Callable[[], dt.datetime] | None = None,
    concurrency: int | None = None,
) -> LandResult:
    """Land every not-yet-landed version of every unit valid in `period`.

    Raises AuthError (401/403) without marking anything; every other fault defers or
    rejects one version (or one unit-month's listing) and the others go on. The deferred
    ledger (`raw/_deferred.json`) is rewritten for this period at the end.
    `concurrency` (None: the client's): see `land_periods`."""
    return land_periods(client, raw_root, [period], now=now, concurrency=concurrency)[0]


def land_periods(
    client: ExportApiClient, raw_root: Path, periods: list[str], *, now: Callable[[], dt.datetime] | None = None,
    concurrency: int | None = None,
) -> list[LandResult]:
    """`land_period` for each period in turn, one LandResult per period; same landing, same ledger.

    With concurrency 1 (`DOLISA_EXTRACT_CONCURRENCY=1`) it is exactly that: one request at a
    time. With more, up to `concurrency` listings and file downloads are in flight at once
    (also across the periods), each file downloaded into its version's staging folder, while
    everything that marks (the already-landed check, `now()`, the manifest and the rename,
    the results and the deferred ledger) happens in this thread in exactly the sequential
    order, from the outcomes the requests had (`_ConcurrentLanding`)."""
    now = now or (lambda: dt.datetime.now(dt.timezone.utc))
    raw_root.mkdir(parents=True, exist_ok=True)
    workers = max(1, int(concurrency if concurrency is not None else client.concurrency))
    if workers == 1:
        return [_land_period_sequential(client, raw_root, period, now) for period in periods]
    return _ConcurrentLanding(client, raw_root, list(periods), now, workers).run()


def _land_period_sequential(client: ExportApiClient, raw_root: Path, period: str,
                            now: Callable[[], dt.datetime]) -> LandResult:
    """One request at a time (the reference order that the concurrent landing reproduces)."""
    res = LandResult()
    for unit in contract.reporting_units(period):
        u = unit.unit_code
        try:
            entries = client.list_submissions(u, period)
        except AuthError:
            raise
        except ApiError as e:
            res.deferred.append(_deferral(u, period, None, None, f"listing not usable: {e}"))
            continue
        problems = listing_problems(entries)
        if problems:
            res.deferred.append(_deferral(u, period, None, None, "listing not usable: " + "; ".join(problems)))
            continue
        for entry in entries:
            res.listed += 1
            problems = entry_problems(entry)
            sid, target = _entry_target(raw_root, u, period, entry)
            if (target / MANIFEST).exists():
                res.already += 1
                continue
            if problems:
                _reject_entry(client, raw_root, target, u, period, sid, entry, problems, now())
                res.failed.append(sid)
                continue
            try:
                manifest = _land_version(client, raw_root, target, u, period, sid, entry, now())
            except TransientError as e:
                log.warning("%s: DEFERRED to the next run (%s)", sid, e)
                res.deferred.append(_deferral(u, period, sid, entry["version"], str(e)))
                continue
            (res.failed if manifest.get("download_error") else res.landed).append(sid)
    _close_period(raw_root, period, res, now)
    return res


def _entry_target(raw_root: Path, unit: str, period: str, entry: object) -> tuple[str, Path]:
    """The submission id a listing entry lands under (a synthetic one when its own is unusable)
    and its version folder."""
    sid = entry.get("submission_id") if isinstance(entry, dict) else None
    if not safe_file_name(sid):
        sid = _synthetic_id(unit, period, entry)
    return sid, version_dir(raw_root, unit, period, sid)


def _reject_entry(client: ExportApiClient, raw_root: Path, target: Path, unit: str, period: str, sid: str,
                  entry: object, problems: list[str], landed_at: dt.datetime) -> None:
    """Land a malformed listing entry as a rejected version (manifest with `listing_error`, no files)."""
    error = "; ".join(contract.reason("listing_entry", detail=p) for p in problems)
    _write_version(client, raw_root, target, _manifest(client, unit, period, sid, entry, landed_at,
                                                       listing_error=error), None)


def _close_period(raw_root: Path, period: str, res: LandResult, now: Callable[[], dt.datetime]) -> None:
    update_deferred(raw_root, period, res.deferred, now())
    for d in res.deferred:
        log.warning("deferred %s %s %s: %s", d["unit_code"], d["period"], d["submission_id"] or "(listing)", d["reason"])


# ---------------------------------------------------------------------------
# Concurrent landing: requests ahead, marking in the sequential order
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class _FileTask:
    unit: str
    sid: str
    file: dict
    dest: Path
    future: Future | None = None
    dropped: bool = False  # not needed any more (an earlier file of its version decided it): never submitted


@dataclass(eq=False)
class _Prefetch:
    staging: Path
    tasks: list[_FileTask]


@dataclass(eq=False)
class _UnitSlot:
    period: str
    unit: str
    listing: Future | None = None
    expanded: bool = False
    prefetch: dict[int, _Prefetch] = field(default_factory=dict)  # entry index -> its files, fetched ahead


class _ConcurrentLanding:
    """`land_periods` with up to `workers` requests in flight.

    Two cursors over the same sequence of unit-months (every period's units, in order):

    - ahead (`_pump`, this thread): submits the listings of the next `lookahead` unit-months
      and, as each listing arrives *in order*, the downloads of every entry that
      `_land_period_sequential` would download (checked, not landed yet), each file into the
      version's staging folder (`.landing-*` under raw/, as before);
    - behind (`_commit_period`, this thread): the sequential loop itself, reading the listing
      and the files' outcomes from those requests instead of making them. It re-checks
      "already landed" and calls `now()`, writes manifests and renames at the very points the
      sequential loop does, so the landing order, the manifests, the LandResults and the
      deferred ledger are the sequential run's.

    A version's outcome is its first file (in listed order) that did not verify or could not
    be fetched, as sequentially; the later files of that version may have been fetched
    needlessly (never kept: a rejected version keeps no files, a deferred one nothing). A
    version is marked only when all its downloads have finished (none writes into its
    staging folder any more).

    AuthError (or any unexpected exception) is raised when the committing cursor reaches it,
    so exactly what the sequential run would have marked before it is marked (and a 401 met
    only on a file the sequential run would not have asked for, after a rejected file of the
    same version, is ignored as it would never have been seen). Raising stops the run: no
    new request starts, backoffs are cut short, the running requests end (each bounded by
    its timeouts and deadline) and every staging folder not committed is removed.
    """

    def __init__(self, client: ExportApiClient, raw_root: Path, periods: list[str],
                 now: Callable[[], dt.datetime], workers: int):
        self.client, self.raw_root, self.periods, self.now, self.workers = client, raw_root, periods, now, workers
        self.slots = [_UnitSlot(p, u.unit_code) for p in periods for u in contract.reporting_units(p)]
        self.lookahead = 4 * workers  # unit-months listed (and their files fetched) ahead of the committed one
        self.queue_cap = 2 * workers  # requests submitted and not finished (the pool's queue stays short)
        self.committed = 0  # slots committed
        self.next_listing = 0
        self.next_expand = 0
        self.pending: collections.deque[_FileTask] = collections.deque()
        self.inflight: set[Future] = set()
        self.stagings: set[Path] = set()
        self.abort = threading.Event()
        self.pool: ThreadPoolExecutor | None = None

    # -- the committing cursor: the sequential loop ------------------------------------------
    def run(self) -> list[LandResult]:
        out = []
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dolisa-extract")
        self.client._abort = self.abort
        i = 0
        try:
            for period in self.periods:
                n = len(contract.reporting_units(period))
                out.append(self._commit_period(period, self.slots[i:i + n]))
                i += n
            return out
        finally:
            self.abort.set()  # nothing more starts; backoffs end at once
            for t in self.pending:
                t.dropped = True
            for f in self.inflight:
                f.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.client._abort = None
            self.client.close_idle_sessions()
            for st in self.stagings:
                shutil.rmtree(st, ignore_errors=True)

    def _commit_period(self, period: str, slots: list[_UnitSlot]) -> LandResult:
        client, raw_root, now = self.client, self.raw_root, self.now
        res = LandResult()
        for slot in slots:
            u = slot.unit
            self._wait_expanded(slot)
            try:
                entries = self._outcome(slot.listing)
            except AuthError:
                raise
            except ApiError as e:
                res.deferred.append(_deferral(u, period, None, None, f"listing not usable: {e}"))
                self._done(slot)
                continue
            problems = listing_problems(entries)
            if problems:
                res.deferred.append(_deferral(u, period, None, None, "listing not usable: " + "; ".join(problems)))
                self._done(slot)
                continue
            for idx, entry in enumerate(entries):
                res.listed += 1
                problems = entry_problems(entry)
                sid, target = _entry_target(raw_root, u, period, entry)
                pre = slot.prefetch.pop(idx, None)
                if (target / MANIFEST).exists():
                    res.already += 1
                    self._discard(pre)
                    continue
                if problems:
                    _reject_entry(client, raw_root, target, u, period, sid, entry, problems, now())
                    res.failed.append(sid)
                    continue
                try:
                    if pre is None:  # not fetched ahead (landed meanwhile elsewhere, then removed): as sequentially
                        manifest = _land_version(client, raw_root, target, u, period, sid, entry, now())
                    else:
                        manifest = self._land_prefetched(pre, target, u, period, sid, entry, now())
                except TransientError as e:
                    log.warning("%s: DEFERRED to the next run (%s)", sid, e)
                    res.deferred.append(_deferral(u, period, sid, entry["version"], str(e)))
                    continue
                (res.failed if manifest.get("download_error") else res.landed).append(sid)
            self._done(slot)
        _close_period(raw_root, period, res, now)
        return res

    def _land_prefetched(self, pre: _Prefetch, target: Path, unit_code: str, period: str, sid: str, entry: dict,
                         landed_at: dt.datetime) -> dict:
        """`_land_version` from the downloads made ahead (same outcome, same manifest)."""
        manifest = _manifest(self.client, unit_code, period, sid, entry, landed_at)
        manifest["files"] = [dict(f) for f in entry["files"]]  # checked: exactly as listed
        try:
            failure: BaseException | None = None
            for i, task in enumerate(pre.tasks):
                try:
                    self._outcome(task)
                except _Cancelled:  # never expected here: fetch it now, as sequentially
                    try:
                        self.client.download(task.unit, task.sid, task.file, task.dest)
                    except BaseException as e:  # noqa: BLE001 (handled below as the sequential loop would)
                        failure = e
                except BaseException as e:  # noqa: BLE001
                    failure = e
                if failure is not None:
                    self._drop(pre.tasks[i + 1:])  # the sequential loop would not ask for the later files
                    break
            self._settle(pre.tasks)  # nothing writes into the staging folder any more
            if isinstance(failure, VerificationError):  # wrong on complete bodies after the retries
                manifest["download_error"] = str(failure)
            elif failure is not None:
                raise failure  # TransientError: deferred by the caller; AuthError and the unexpected: stop
            return _write_version(self.client, self.raw_root, target, manifest, pre.staging)
        finally:
            self.stagings.discard(pre.staging)
            if pre.staging.exists():
                shutil.rmtree(pre.staging, ignore_errors=True)

    def _done(self, slot: _UnitSlot) -> None:
        for pre in slot.prefetch.values():  # entries the commit did not reach (none in practice)
            self._discard(pre)
        slot.prefetch.clear()
        slot.listing = None
        self.committed += 1

    def _discard(self, pre: _Prefetch | None) -> None:
        if pre is None:
            return
        self._drop(pre.tasks)
        self._settle(pre.tasks)
        self.stagings.discard(pre.staging)
        shutil.rmtree(pre.staging, ignore_errors=True)

    # -- waiting ------------------------------------------------------------------------------
    def _outcome(self, what: Future | _FileTask | None) -> Any:
        """The result of a request made ahead (raising what it raised), pumping while waiting."""
        while True:
            fut = what.future if isinstance(what, _FileTask) else what
            if fut is not None and fut.done():
                if fut.cancelled():
                    raise _Cancelled()
                return fut.result()
            self._step(urgent=what)

    def _wait_expanded(self, slot: _UnitSlot) -> None:
        while not slot.expanded:
            self._step(urgent=slot)

    def _settle(self, tasks: list[_FileTask]) -> None:
        """Wait until none of `tasks` runs."""
        for t in tasks:
            while t.future is not None and not t.future.done():
                self._step(urgent=None)

    def _drop(self, tasks: list[_FileTask]) -> None:
        for t in tasks:
            t.dropped = True
            if t.future is not None:
                t.future.cancel()  # only if it has not started

    def _step(self, urgent: Any) -> None:
        """Submit what may be submitted; if nothing could be, wait for one request to finish.

        The caller checks what it waits for and steps again."""
        if self._pump():
            return
        if self.inflight:
            done, _ = wait(self.inflight, return_when=FIRST_COMPLETED)
            self.inflight -= done
            return
        # nothing in flight and nothing to submit: the awaited work was never queued
        # (cannot happen by construction; made safe rather than waiting forever)
        if isinstance(urgent, _FileTask) and urgent.future is None:
            self._submit_file(urgent, force=True)
        else:
            raise RuntimeError(f"landing: waiting for {urgent!r}, which was never requested")

    # -- the cursor ahead -----------------------------------------------------------------------
    def _pump(self) -> bool:
        """Expand the listings that arrived (in order) and submit requests; True if anything moved."""
        moved = False
        self.inflight = {f for f in self.inflight if not f.done()}
        while True:
            while self.next_expand < self.next_listing and self.slots[self.next_expand].listing.done():
                self._expand(self.slots[self.next_expand])
                self.next_expand += 1
                moved = True
            if self.abort.is_set() or len(self.inflight) >= self.queue_cap:
                return moved
            if self.next_listing < min(len(self.slots), self.committed + self.lookahead):
                slot = self.slots[self.next_listing]
                slot.listing = self.pool.submit(self.client.list_submissions, slot.unit, slot.period)
                self.inflight.add(slot.listing)
                self.next_listing += 1
                moved = True
                continue
            while self.pending and self.pending[0].dropped:
                self.pending.popleft()
            if not self.pending:
                return moved
            self._submit_file(self.pending.popleft())
            moved = True

    def _submit_file(self, task: _FileTask, force: bool = False) -> None:
        if task.dropped and not force:
            return
        task.future = self.pool.submit(self._fetch, task)
        self.inflight.add(task.future)

    def _fetch(self, task: _FileTask) -> None:
        if self.abort.is_set():
            raise _Cancelled()
        self.client.download(task.unit, task.sid, task.file, task.dest)

    def _expand(self, slot: _UnitSlot) -> None:
        """Queue the downloads `_land_period_sequential` would make for this listing."""
        slot.expanded = True
        fut = slot.listing
        if fut.cancelled() or fut.exception() is not None:
            return
        entries = fut.result()
        if listing_problems(entries):
            return
        for idx, entry in enumerate(entries):
            if entry_problems(entry):
                continue
            sid = entry["submission_id"]  # checked: a safe name
            target = version_dir(self.raw_root, slot.unit, slot.period, sid)
            if (target / MANIFEST).exists():
                continue
            staging = Path(tempfile.mkdtemp(prefix=".landing-", dir=self.raw_root))
            self.stagings.add(staging)
            (staging / FILES_DIR).mkdir()
            tasks = [_FileTask(slot.unit, sid, f, staging / FILES_DIR / f["name"]) for f in entry["files"]]
            slot.prefetch[idx] = _Prefetch(staging, tasks)
            self.pending.extend(tasks)


def _deferral(unit: str, period: str, sid: str | None, version: int | None, reason: str) -> dict:
    return {"unit_code": unit, "period": period, "submission_id": sid, "version": version,
            "what": "version" if sid else "listing", "reason": reason}


def _manifest(client: ExportApiClient, unit_code: str, period: str, sid: str, entry: Any, landed_at: dt.datetime,
              **errors: str) -> dict:
    """The ledger entry of a version: typed fields only; a malformed listing entry is kept raw beside."""
    e = entry if isinstance(entry, dict) else {}
    version = e.get("version")
    if not _is_int(version):
        m = re.search(r"-v(\d+)$", sid)
        version = int(m.group(1)) if m else 0
    submitted = parse_submitted_at(e.get("submitted_at"))
    manifest: dict[str, Any] = {
        "unit_code": unit_code,
        "period": period,
        "submission_id": sid,
        "version": version,
        "submitted_at": submitted.isoformat() if submitted else None,
        "files": _clean_files(entry),
        "landed_at": landed_at.isoformat(),
        "hub": client.config.base_url,
        "layout": LAYOUT,
    }
    manifest.update(errors)
    if "listing_error" in errors:
        manifest["listing_entry"] = entry
    return manifest


def _land_version(client: ExportApiClient, raw_root: Path, target: Path, unit_code: str, period: str, sid: str,
                  entry: dict, landed_at: dt.datetime) -> dict:
    """Download and verify every file of a checked entry, then land the version atomically.

    Raises TransientError (nothing written) when a file could not be fetched."""
    manifest = _manifest(client, unit_code, period, sid, entry, landed_at)
    manifest["files"] = [dict(f) for f in entry["files"]]  # checked: exactly as listed
    staging = Path(tempfile.mkdtemp(prefix=".landing-", dir=raw_root))
    try:
        files = staging / FILES_DIR
        files.mkdir()
        for f in manifest["files"]:
            try:
                client.download(unit_code, sid, f, files / f["name"])
            except VerificationError as e:  # wrong on complete bodies after the retries
                manifest["download_error"] = str(e)
                break
        return _write_version(client, raw_root, target, manifest, staging)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _write_version(client: ExportApiClient, raw_root: Path, target: Path, manifest: dict,
                   staging: Path | None) -> dict:
    """manifest.json last, then one rename: a version is landed completely or not at all."""
    if staging is None:
        staging = Path(tempfile.mkdtemp(prefix=".landing-", dir=raw_root))
    try:
        files = staging / FILES_DIR
        if manifest.get("download_error") or manifest.get("listing_error"):
            shutil.rmtree(files, ignore_errors=True)  # a rejected version keeps no files
        elif files.exists():
            for p in files.iterdir():
                p.chmod(0o400)  # read-only, owner-only (restricted zone)
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, target)
        error = manifest.get("download_error") or manifest.get("listing_error")
        log.info("landed %s (%d files)%s", manifest["submission_id"], len(manifest["files"]),
                 f" REJECTED: {error}" if error else "")
        return manifest
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------
# The deferred ledger: versions (or listings) not fetched yet, for the report gate
# ---------------------------------------------------------------------------


def read_deferred(raw_root: Path) -> list[dict]:
    """The entries of `raw/_deferred.json` (empty when there is none)."""
    path = raw_root / DEFERRED_LEDGER
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("deferred", [])


def update_deferred(raw_root: Path, period: str, deferred: list[dict], now: dt.datetime) -> None:
    """Replace `period`'s entries of the deferred ledger by this run's, atomically.

    An entry deferred again keeps its `first_deferred_at` and counts `runs`; one that
    landed since disappears."""
    before = read_deferred(raw_root)
    key = lambda d: (d["unit_code"], d["period"], d.get("submission_id"))  # noqa: E731
    old = {key(d): d for d in before if d["period"] == period}
    stamp = now.isoformat()
    entries = [d for d in before if d["period"] != period]
    for d in deferred:
        prev = old.get(key(d), {})
        entries.append({**d, "first_deferred_at": prev.get("first_deferred_at", stamp), "last_attempt_at": stamp,
                        "runs": int(prev.get("runs", 0)) + 1})
    entries.sort(key=lambda d: (d["period"], d["unit_code"], d.get("submission_id") or ""))
    if not entries and not before:
        return
    path = raw_root / DEFERRED_LEDGER
    tmp = path.with_name(f".{DEFERRED_LEDGER}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"format": 1, "updated_at": stamp, "deferred": entries}, ensure_ascii=False, indent=2),
                   encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
