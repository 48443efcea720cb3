"""District Export API client and the raw landing zone.

The client (`ExportApiClient`, on `requests`) uses connect/read timeouts, bounded
retries with exponential backoff that honours `Retry-After`, streams downloads to
disk and verifies `bytes` and `sha256`. The token is sent as a bearer header and
never logged (`HubConfig.__repr__` hides it).

Landing (`land_period`): for every unit valid in a period, list the submissions
and land every version not landed before under

    $DOLISA_HOME/raw/<unit>/<period>/<submission_id>/
        manifest.json   the hub's listing entry + landed_at (written last: its
                        presence means the version is completely landed)
        <file name>     the file's bytes, exactly as served (read-only)

A version whose download still fails verification after the retries gets a
`manifest.json` with `download_error` and no files: it is rejected when loaded and
the last accepted version stays in force.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import requests

from dolisa import contract
from dolisa.parse import safe_file_name

log = logging.getLogger(__name__)

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


class VerificationError(ApiError):
    """A downloaded file's size or sha256 stayed wrong after the retries."""


@dataclass
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep


RETRY_STATUS = {429, 500, 502, 503, 504}


class ExportApiClient:
    def __init__(self, config: HubConfig, policy: RetryPolicy | None = None, session: requests.Session | None = None):
        self.config = config
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {config.token}"
        self.session.headers["User-Agent"] = "dolisa-warehouse/1 (Cao Bang DOLISA)"
        self._jitter = random.Random(0)
        self.stats = {"requests": 0, "retries": 0}

    # -- plumbing ---------------------------------------------------------
    def _url(self, *parts: str) -> str:
        return self.config.base_url.rstrip("/") + "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def _wait(self, attempt: int, response: requests.Response | None) -> float:
        p = self.policy
        delay = min(p.backoff_max, p.backoff_base * (2**attempt)) * (0.75 + 0.5 * self._jitter.random())
        if response is not None and response.status_code == 429:
            ra = response.headers.get("Retry-After", "")
            try:
                delay = max(delay, min(float(ra), p.retry_after_max))
            except ValueError:
                pass
        return delay

    def _with_retries(self, what: str, fn: Callable[[], Any]) -> Any:
        last: Exception | None = None
        for attempt in range(self.policy.attempts):
            response = None
            try:
                self.stats["requests"] += 1
                return fn()
            except _RetryableStatus as e:
                response, last = e.response, e
            except VerificationError as e:
                last = e
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
                last = e
            if attempt + 1 < self.policy.attempts:
                delay = self._wait(attempt, response)
                self.stats["retries"] += 1
                log.warning("%s: attempt %d failed (%s); retrying in %.1fs", what, attempt + 1, _short(last), delay)
                self.policy.sleep(delay)
        if isinstance(last, VerificationError):
            raise last
        raise ApiError(f"{what}: gave up after {self.policy.attempts} attempts ({_short(last)})")

    def _get(self, url: str, stream: bool = False) -> requests.Response:
        r = self.session.get(url, timeout=(self.policy.connect_timeout, self.policy.read_timeout), stream=stream)
        if r.status_code in RETRY_STATUS:
            r.close()
            raise _RetryableStatus(r)
        if r.status_code == 401:
            raise ApiError("401 Unauthorized: the hub refused the token of connection " + CONN_ID)
        if r.status_code == 404:
            raise NotFound(url.replace(self.config.base_url, ""))
        if r.status_code != 200:
            raise ApiError(f"unexpected HTTP {r.status_code} for {url.replace(self.config.base_url, '')}")
        return r

    # -- the API ----------------------------------------------------------
    def list_submissions(self, unit_code: str, period: str) -> list[dict]:
        url = self._url("api", "v1", "districts", unit_code, "submissions") + f"?period={urllib.parse.quote(period)}"

        def go() -> list[dict]:
            r = self._get(url)
            try:
                body = r.json()
                subs = body["submissions"]
            except (ValueError, KeyError, TypeError):
                raise requests.exceptions.ChunkedEncodingError("listing is not the contract's JSON") from None
            return sorted(subs, key=lambda s: s["version"])

        return self._with_retries(f"list {unit_code} {period}", go)

    def download(self, unit_code: str, submission_id: str, file: dict, dest: Path) -> None:
        """Stream one file to `dest`, verifying bytes and sha256 (retrying when they are wrong)."""
        url = self._url("api", "v1", "districts", unit_code, "submissions", submission_id, "files", file["name"])

        def go() -> None:
            h, n = hashlib.sha256(), 0
            with self._get(url, stream=True) as r, open(dest, "wb") as out:
                for chunk in r.iter_content(chunk_size=1 << 16):
                    h.update(chunk)
                    n += len(chunk)
                    out.write(chunk)
            if n != file["bytes"] or h.hexdigest() != str(file["sha256"]).lower():
                raise VerificationError(
                    f"{submission_id}/{file['name']}: got {n} bytes sha256 {h.hexdigest()[:12]}…, "
                    f"listing says {file['bytes']} bytes sha256 {str(file['sha256'])[:12]}…"
                )

        self._with_retries(f"download {submission_id}/{file['name']}", go)


class _RetryableStatus(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class NotFound(ApiError):
    pass


def _short(e: Exception | None) -> str:
    return (f"{type(e).__name__}: {e}" if e else "?")[:300]


# ---------------------------------------------------------------------------
# Landing
# ---------------------------------------------------------------------------


def version_dir(raw_root: Path, unit_code: str, period: str, submission_id: str) -> Path:
    if not safe_file_name(submission_id):
        raise ApiError(f"unsafe submission id {submission_id!r}")
    return raw_root / unit_code / period / submission_id


def landed_versions(raw_root: Path) -> Iterable[tuple[Path, dict]]:
    """Every landed version (manifest present), in (unit, period, version) order."""
    for m in sorted(raw_root.glob("*/*/*/manifest.json")):
        yield m.parent, json.loads(m.read_text(encoding="utf-8"))


@dataclass
class LandResult:
    listed: int = 0
    landed: list[str] = field(default_factory=list)
    already: int = 0
    failed: list[str] = field(default_factory=list)  # versions landed with a download_error


def land_period(
    client: ExportApiClient, raw_root: Path, period: str, *, now: Callable[[], dt.datetime] | None = None
) -> LandResult:
    """Land every not-yet-landed version of every unit valid in `period`."""
    now = now or (lambda: dt.datetime.now(dt.timezone.utc))
    res = LandResult()
    for unit in contract.district_units(period):
        for sub in client.list_submissions(unit.unit_code, period):
            res.listed += 1
            sid = sub["submission_id"]
            target = version_dir(raw_root, unit.unit_code, period, sid)
            if (target / "manifest.json").exists():
                res.already += 1
                continue
            manifest = _land_version(client, raw_root, target, unit.unit_code, period, sub, now())
            (res.failed if manifest.get("download_error") else res.landed).append(sid)
    return res


def _land_version(
    client: ExportApiClient, raw_root: Path, target: Path, unit_code: str, period: str, sub: dict, landed_at: dt.datetime
) -> dict:
    manifest: dict[str, Any] = {
        "unit_code": unit_code,
        "period": period,
        "submission_id": sub["submission_id"],
        "version": sub["version"],
        "submitted_at": sub.get("submitted_at"),
        "files": sub.get("files", []),
        "landed_at": landed_at.isoformat(),
        "hub": client.config.base_url,
    }
    raw_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".landing-", dir=raw_root))
    try:
        for f in manifest["files"]:
            name = str(f.get("name", ""))
            if not safe_file_name(name):
                manifest["download_error"] = f"file name {name!r} is not a plain file name (would leave the landing zone)"
                break
            try:
                client.download(unit_code, sub["submission_id"], f, staging / name)
            except ApiError as e:
                manifest["download_error"] = str(e)
                break
        if manifest.get("download_error"):
            for p in staging.iterdir():
                p.unlink()
        for p in staging.iterdir():
            p.chmod(0o444)
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, target)  # atomic: a version is landed completely or not at all
        log.info("landed %s (%d files)%s", sub["submission_id"], len(manifest["files"]),
                 f" REJECTED: {manifest['download_error']}" if manifest.get("download_error") else "")
        return manifest
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
