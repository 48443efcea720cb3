"""Landing: every listed version of every unit valid in a period, landed, rejected or deferred.

`land_periods` (and `land_period`, one period) list, for every unit valid in each period
(`contract.reporting_units`), the hub's submissions and decide every version not landed before.
The decision, and everything that marks (the manifest and the rename, the run's results, the
deferred ledger), is written once, in `_land_period` → `_land_unit_month` → `_land_entry`; two
drivers feed it the hub's answers:

- one request at a time (`_land_period_sequential`, `DOLISA_EXTRACT_CONCURRENCY=1`): each
  request is made when the decision needs it (`_FetchNow`);
- with requests in flight (`_ConcurrentLanding`): the listings and downloads are made ahead in
  a thread pool, and the decision reads their outcomes (`_FetchedAhead`) in the calling thread,
  in the sequential order. So both give the same landing order, manifests, results and ledger.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import logging
import shutil
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from dolisa import contract
from dolisa.extract.client import ApiError, AuthError, Cancelled, ExportApiClient, TransientError, VerificationError
from dolisa.extract.listing import entry_problems, listing_problems, version_manifest
from dolisa.extract.raw_zone import FILES_DIR, MANIFEST, new_staging, update_deferred, version_dir, write_version
from dolisa.parse import safe_file_name

log = logging.getLogger("dolisa.extract")  # one logger for the whole extract (the task log reads it)


@dataclass
class LandResult:
    listed: int = 0
    landed: list[str] = field(default_factory=list)
    already: int = 0
    failed: list[str] = field(default_factory=list)  # versions landed as rejected (download_ or listing_error)
    deferred: list[dict] = field(default_factory=list)  # not landed: fetched again on the next run


def land_period(
    client: ExportApiClient,
    raw_root: Path,
    period: str,
    *,
    now: Callable[[], dt.datetime] | None = None,
    concurrency: int | None = None,
) -> LandResult:
    """Land every not-yet-landed version of every unit valid in `period`.

    Raises AuthError (401/403) without marking anything; every other fault defers or
    rejects one version (or one unit-month's listing) and the others go on. The deferred
    ledger (`raw/_deferred.json`) is rewritten for this period at the end.
    `concurrency` (None: the client's): see `land_periods`."""
    return land_periods(client, raw_root, [period], now=now, concurrency=concurrency)[0]


def land_periods(
    client: ExportApiClient,
    raw_root: Path,
    periods: list[str],
    *,
    now: Callable[[], dt.datetime] | None = None,
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


# ---------------------------------------------------------------------------
# The landing decision (one: both drivers call it)
# ---------------------------------------------------------------------------


class _Files(Protocol):
    """The files of the version being landed, as a driver gives them to the decision."""

    staging: Path  # the version's `.landing-*` folder; its files go into `files/`

    def fetch(self, index: int, file: dict, dest: Path) -> None:
        """The listed file at `index` into `dest`, raising what its download raised."""

    def settle(self, asked: int) -> None:
        """After the decision asked for the first `asked` files: none writes into `staging` any more."""

    def close(self) -> None:
        """The version is decided: its staging folder (if not renamed into place) is removed."""


class _Source(Protocol):
    """One unit-month, as a driver gives it to the decision."""

    unit: str
    period: str

    def listing(self) -> list:
        """The listing's entries, raising what `ExportApiClient.list_submissions` raised."""

    def skip(self, index: int) -> None:
        """The entry at `index` is landed already: its files are not needed."""

    def version_files(self, index: int, sid: str) -> _Files:
        """The files of the entry at `index`, about to be landed under `sid`."""

    def done(self) -> None:
        """The decision has finished the unit-month."""


@dataclass(frozen=True)
class _Listed:
    """A listed entry as the landing reads it: the id and folder it lands under (a synthetic id
    when its own is unusable), why it breaks the contract's shape, and whether it is landed."""

    sid: str
    target: Path
    problems: list[str]
    landed: bool

    @property
    def to_fetch(self) -> bool:
        """Its files are to be downloaded (what the concurrent landing fetches ahead)."""
        return not self.landed and not self.problems


def _read_entry(raw_root: Path, unit: str, period: str, entry: object) -> _Listed:
    problems = entry_problems(entry)
    sid = entry.get("submission_id") if isinstance(entry, dict) else None
    if not safe_file_name(sid):
        sid = _synthetic_id(unit, period, entry)
    target = version_dir(raw_root, unit, period, sid)
    return _Listed(sid, target, problems, (target / MANIFEST).exists())


def _land_period(
    client: ExportApiClient, raw_root: Path, period: str, unit_months: Iterable[_Source], now: Callable[[], dt.datetime]
) -> LandResult:
    """One period's unit-months in order, then its entries of the deferred ledger."""
    res = LandResult()
    for um in unit_months:
        _land_unit_month(res, client, raw_root, um, now)
        um.done()
    _close_period(raw_root, period, res, now)
    return res


def _land_unit_month(
    res: LandResult, client: ExportApiClient, raw_root: Path, um: _Source, now: Callable[[], dt.datetime]
) -> None:
    """A unit-month's listing, then every listed version in listed order; a listing that cannot
    be used (the hub's fault once the retries ran out, or not the contract's order) defers the
    unit-month. AuthError is raised: nothing more is marked."""
    try:
        entries = um.listing()
    except AuthError:
        raise
    except ApiError as e:
        res.deferred.append(_deferral(um.unit, um.period, None, None, f"listing not usable: {e}"))
        return
    problems = listing_problems(entries)
    if problems:
        res.deferred.append(_deferral(um.unit, um.period, None, None, "listing not usable: " + "; ".join(problems)))
        return
    for index, entry in enumerate(entries):
        _land_entry(res, client, raw_root, um, index, entry, now)


def _land_entry(
    res: LandResult,
    client: ExportApiClient,
    raw_root: Path,
    um: _Source,
    index: int,
    entry: object,
    now: Callable[[], dt.datetime],
) -> None:
    """The decision for one listed version, and its marking in `res`:

    - landed already (its manifest exists): counted, nothing fetched;
    - rejected: a malformed entry (manifest with `listing_error`, no files), or a file wrong on
      a complete body after the retries (`download_error`, no files);
    - landed: every file fetched and verified, renamed into place in one step;
    - deferred (nothing written): a file could not be fetched (TransientError).
    AuthError and anything unexpected are raised."""
    res.listed += 1
    listed = _read_entry(raw_root, um.unit, um.period, entry)
    if listed.landed:
        res.already += 1
        um.skip(index)
        return
    if listed.problems:
        _reject_entry(client, raw_root, listed, um.unit, um.period, entry, now())
        res.failed.append(listed.sid)
        return
    try:
        manifest = _land_version(
            client, raw_root, listed, um.unit, um.period, entry, now(), um.version_files(index, listed.sid)
        )
    except TransientError as e:
        log.warning("%s: DEFERRED to the next run (%s)", listed.sid, e)
        res.deferred.append(_deferral(um.unit, um.period, listed.sid, entry["version"], str(e)))
        return
    (res.failed if manifest.get("download_error") else res.landed).append(listed.sid)


def _land_version(
    client: ExportApiClient,
    raw_root: Path,
    listed: _Listed,
    unit: str,
    period: str,
    entry: dict,
    landed_at: dt.datetime,
    files: _Files,
) -> dict:
    """Fetch every file of a checked entry (in listed order, from `files`), then land the version
    atomically; the first file wrong on a complete body rejects it and no later file is asked for.

    Raises TransientError (nothing written) when a file could not be fetched."""
    try:
        manifest = version_manifest(client.config.base_url, unit, period, listed.sid, entry, landed_at)
        manifest["files"] = [dict(f) for f in entry["files"]]  # checked: exactly as listed
        asked = 0
        try:
            for i, f in enumerate(manifest["files"]):
                asked = i + 1
                try:
                    files.fetch(i, f, files.staging / FILES_DIR / f["name"])
                except VerificationError as e:  # wrong on complete bodies after the retries
                    manifest["download_error"] = str(e)
                    break
        finally:
            files.settle(asked)
        return write_version(raw_root, listed.target, manifest, files.staging)
    finally:
        files.close()


def _reject_entry(
    client: ExportApiClient,
    raw_root: Path,
    listed: _Listed,
    unit: str,
    period: str,
    entry: object,
    landed_at: dt.datetime,
) -> None:
    """Land a malformed listing entry as a rejected version (manifest with `listing_error`, no files)."""
    error = "; ".join(contract.reason("listing_entry", detail=p) for p in listed.problems)
    write_version(
        raw_root,
        listed.target,
        version_manifest(client.config.base_url, unit, period, listed.sid, entry, landed_at, listing_error=error),
        None,
    )


def _synthetic_id(unit_code: str, period: str, entry: object) -> str:
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True, default=repr).encode("utf-8")).hexdigest()[:12]
    return f"{unit_code}-{period}-invalid-{digest}"


def _deferral(unit: str, period: str, sid: str | None, version: int | None, reason: str) -> dict:
    return {
        "unit_code": unit,
        "period": period,
        "submission_id": sid,
        "version": version,
        "what": "version" if sid else "listing",
        "reason": reason,
    }


def _close_period(raw_root: Path, period: str, res: LandResult, now: Callable[[], dt.datetime]) -> None:
    update_deferred(raw_root, period, res.deferred, now())
    for d in res.deferred:
        log.warning(
            "deferred %s %s %s: %s", d["unit_code"], d["period"], d["submission_id"] or "(listing)", d["reason"]
        )


# ---------------------------------------------------------------------------
# One request at a time
# ---------------------------------------------------------------------------


def _land_period_sequential(
    client: ExportApiClient, raw_root: Path, period: str, now: Callable[[], dt.datetime]
) -> LandResult:
    """One request at a time (the reference order that the concurrent landing reproduces)."""
    return _land_period(
        client,
        raw_root,
        period,
        (_FetchNow(client, raw_root, u.unit_code, period) for u in contract.reporting_units(period)),
        now,
    )


class _FetchNow:
    """A unit-month whose requests are made when the decision needs them, one at a time."""

    def __init__(self, client: ExportApiClient, raw_root: Path, unit: str, period: str):
        self.client, self.raw_root, self.unit, self.period = client, raw_root, unit, period

    def listing(self) -> list:
        return self.client.list_submissions(self.unit, self.period)

    def skip(self, index: int) -> None:
        pass

    def version_files(self, index: int, sid: str) -> _Files:
        return _DownloadNow(self.client, self.raw_root, self.unit, sid)

    def done(self) -> None:
        pass


class _DownloadNow:
    """A version's files downloaded when asked for, one after the other, into a new staging folder."""

    def __init__(self, client: ExportApiClient, raw_root: Path, unit: str, sid: str):
        self.client, self.unit, self.sid = client, unit, sid
        self.staging = new_staging(raw_root)

    def fetch(self, index: int, file: dict, dest: Path) -> None:
        self.client.download(self.unit, self.sid, file, dest)

    def settle(self, asked: int) -> None:
        pass  # nothing runs but what was asked for

    def close(self) -> None:
        if self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)


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
      and, as each listing arrives *in order*, the downloads of every entry that the decision
      will download (`_Listed.to_fetch`: checked, not landed yet), each file into the version's
      staging folder (`.landing-*` under raw/, as before);
    - behind (`_commit_period`, this thread): the landing decision itself (`_land_period`),
      reading the listing and the files' outcomes from those requests instead of making them
      (`_FetchedAhead`). It re-checks "already landed" and calls `now()`, writes manifests and
      renames at the very points the sequential run does, so the landing order, the manifests,
      the LandResults and the deferred ledger are the sequential run's.

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

    def __init__(
        self, client: ExportApiClient, raw_root: Path, periods: list[str], now: Callable[[], dt.datetime], workers: int
    ):
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

    # -- the committing cursor: the landing decision -----------------------------------------
    def run(self) -> list[LandResult]:
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dolisa-extract")
        try:
            with self.client.stopped_by(self.abort):
                try:
                    return self._commit_periods()
                finally:
                    self.abort.set()  # nothing more starts; backoffs end at once
                    for t in self.pending:
                        t.dropped = True
                    for f in self.inflight:
                        f.cancel()
                    self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self.client.close_idle_sessions()
            for st in self.stagings:
                shutil.rmtree(st, ignore_errors=True)

    def _commit_periods(self) -> list[LandResult]:
        out = []
        i = 0
        for period in self.periods:
            n = len(contract.reporting_units(period))
            out.append(self._commit_period(period, self.slots[i : i + n]))
            i += n
        return out

    def _commit_period(self, period: str, slots: list[_UnitSlot]) -> LandResult:
        return _land_period(self.client, self.raw_root, period, (_FetchedAhead(self, s) for s in slots), self.now)

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
                    raise Cancelled()
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
            raise Cancelled()
        self.client.download(task.unit, task.sid, task.file, task.dest)

    def _expand(self, slot: _UnitSlot) -> None:
        """Queue the downloads the landing decision will ask for in this listing."""
        slot.expanded = True
        fut = slot.listing
        if fut.cancelled() or fut.exception() is not None:
            return
        entries = fut.result()
        if listing_problems(entries):
            return
        for idx, entry in enumerate(entries):
            listed = _read_entry(self.raw_root, slot.unit, slot.period, entry)
            if not listed.to_fetch:
                continue
            staging = new_staging(self.raw_root)
            self.stagings.add(staging)
            tasks = [_FileTask(slot.unit, listed.sid, f, staging / FILES_DIR / f["name"]) for f in entry["files"]]
            slot.prefetch[idx] = _Prefetch(staging, tasks)
            self.pending.extend(tasks)


class _FetchedAhead:
    """A unit-month as `_ConcurrentLanding` gives it to the decision: the outcomes of its requests
    made ahead (waiting for them, and pumping more, as needed)."""

    def __init__(self, landing: _ConcurrentLanding, slot: _UnitSlot):
        self.landing, self.slot, self.unit, self.period = landing, slot, slot.unit, slot.period

    def listing(self) -> list:
        self.landing._wait_expanded(self.slot)
        return self.landing._outcome(self.slot.listing)

    def skip(self, index: int) -> None:
        self.landing._discard(self.slot.prefetch.pop(index, None))

    def version_files(self, index: int, sid: str) -> _Files:
        pre = self.slot.prefetch.pop(index, None)
        if pre is None:  # not fetched ahead (landed meanwhile elsewhere, then removed): as sequentially
            return _DownloadNow(self.landing.client, self.landing.raw_root, self.unit, sid)
        return _Prefetched(self.landing, pre)

    def done(self) -> None:
        self.landing._done(self.slot)


class _Prefetched:
    """A version's files as `_ConcurrentLanding` downloads them ahead into its staging folder."""

    def __init__(self, landing: _ConcurrentLanding, pre: _Prefetch):
        self.landing, self.pre, self.staging = landing, pre, pre.staging

    def fetch(self, index: int, file: dict, dest: Path) -> None:
        task = self.pre.tasks[index]
        try:
            self.landing._outcome(task)
        except Cancelled:  # never expected here: fetch it now, as sequentially
            self.landing.client.download(task.unit, task.sid, task.file, task.dest)

    def settle(self, asked: int) -> None:
        self.landing._drop(self.pre.tasks[asked:])  # the sequential run would not ask for the later files
        self.landing._settle(self.pre.tasks)  # nothing writes into the staging folder any more

    def close(self) -> None:
        self.landing.stagings.discard(self.staging)
        if self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)
