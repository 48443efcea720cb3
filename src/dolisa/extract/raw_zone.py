"""The raw zone on disk: where a landed version lives, how it is written, and the deferred ledger.

    $DOLISA_HOME/raw/<unit>/<period>/<submission_id>/
        manifest.json   the hub's listing entry + landed_at (written last: its
                        presence means the version is completely landed)
        files/<name>    the file's bytes, exactly as served (read-only); hub names can
                        never collide with the project's own files (layout 2; layout 1,
                        files beside manifest.json, is still read)
    $DOLISA_HOME/raw/_deferred.json
                        the versions (or listings) not fetched yet, fetched again next run

A version is written into a `.landing-*` staging folder under raw/ and renamed into place in
one step (`write_version`): it is landed completely or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from dolisa.extract.client import ApiError
from dolisa.parse import safe_file_name

log = logging.getLogger("dolisa.extract")  # one logger for the whole extract (the task log reads it)

MANIFEST = "manifest.json"
FILES_DIR = "files"
DEFERRED_LEDGER = "_deferred.json"
LAYOUT = 2
# Names of the project's own files in the raw zone: a hub file may never be called so.
RESERVED_NAMES = frozenset({MANIFEST, "status.json", DEFERRED_LEDGER, FILES_DIR})
STAGING_PREFIX = ".landing-"


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


def new_staging(raw_root: Path, *, with_files: bool = True) -> Path:
    """A new staging folder under raw/ (`.landing-*`), with its `files/` folder unless told not."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=raw_root))
    if with_files:
        (staging / FILES_DIR).mkdir()
    return staging


def write_version(raw_root: Path, target: Path, manifest: dict, staging: Path | None) -> dict:
    """manifest.json last, then one rename: a version is landed completely or not at all.

    `staging` holds the downloaded files in `files/` (None: a version landed without files)."""
    if staging is None:
        staging = new_staging(raw_root, with_files=False)
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
        log.info(
            "landed %s (%d files)%s",
            manifest["submission_id"],
            len(manifest["files"]),
            f" REJECTED: {error}" if error else "",
        )
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
        entries.append(
            {
                **d,
                "first_deferred_at": prev.get("first_deferred_at", stamp),
                "last_attempt_at": stamp,
                "runs": int(prev.get("runs", 0)) + 1,
            }
        )
    entries.sort(key=lambda d: (d["period"], d["unit_code"], d.get("submission_id") or ""))
    if not entries and not before:
        return
    path = raw_root / DEFERRED_LEDGER
    tmp = path.with_name(f".{DEFERRED_LEDGER}.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"format": 1, "updated_at": stamp, "deferred": entries}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
