"""District Export API client and the raw landing zone.

Modules, by job:

- `dolisa.extract.client`: the API client (`ExportApiClient`, on `requests`): timeouts, an
  overall deadline per request, bounded retries with backoff that honours `Retry-After`, the
  per-host bound and pause (`_HostGate`), streamed and verified downloads; what a fault
  becomes is the exception it raises (`AuthError`, `VerificationError`, `TransientError`);
- `dolisa.extract.listing`: a listing's entries checked against the contract
  (`entry_problems`, `listing_problems`) and the manifest made of one (`version_manifest`);
- `dolisa.extract.raw_zone`: the layout on disk (`version_dir`, `landed_file`,
  `landed_versions`), the atomic write of a version (`write_version`) and the deferred ledger
  `raw/_deferred.json` (`read_deferred`, `update_deferred`);
- `dolisa.extract.landing`: `land_period` / `land_periods`, the one landing decision and
  its two drivers (one request at a time, or with requests in flight).

Landing (`land_period`): for every unit valid in a period, list the submissions and
land every version not landed before under `$DOLISA_HOME/raw/<unit>/<period>/<submission_id>/`
(`manifest.json`, written last, and the files in `files/`: see `dolisa.extract.raw_zone`).

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
and deferred ledger as one request at a time. An AuthError marks exactly what the sequential
run would have marked before it.

Every module logs to the one logger `dolisa.extract`.
"""

from dolisa.extract.client import (
    CONN_ID,
    ApiError,
    AuthError,
    ExportApiClient,
    HubConfig,
    NotFound,
    RetryPolicy,
    TransientError,
    VerificationError,
)
from dolisa.extract.landing import LandResult, land_period, land_periods
from dolisa.extract.listing import entry_problems, listing_problems, parse_submitted_at, version_manifest
from dolisa.extract.raw_zone import (
    DEFERRED_LEDGER,
    FILES_DIR,
    LAYOUT,
    MANIFEST,
    RESERVED_NAMES,
    landed_file,
    landed_versions,
    read_deferred,
    update_deferred,
    version_dir,
)

__all__ = [
    "CONN_ID",
    "HubConfig",
    "RetryPolicy",
    "ExportApiClient",
    "ApiError",
    "AuthError",
    "TransientError",
    "VerificationError",
    "NotFound",
    "entry_problems",
    "listing_problems",
    "parse_submitted_at",
    "version_manifest",
    "MANIFEST",
    "FILES_DIR",
    "DEFERRED_LEDGER",
    "LAYOUT",
    "RESERVED_NAMES",
    "version_dir",
    "landed_file",
    "landed_versions",
    "read_deferred",
    "update_deferred",
    "LandResult",
    "land_period",
    "land_periods",
]
