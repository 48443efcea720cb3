"""A hub listing's entries, checked against the contract (§2), and the ledger entry made of one.

`entry_problems` says why one entry breaks the contract's shape (the landing rejects such an
entry: `listing_error`); `listing_problems` why a listing as a whole cannot be used (the
landing defers its unit-month); `version_manifest` is what `manifest.json` records of an
entry: typed fields only, a malformed entry kept raw beside.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dolisa import limits
from dolisa.extract.raw_zone import LAYOUT, RESERVED_NAMES
from dolisa.parse import safe_file_name

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
            out.append(
                f"file name {name!r} is not a plain file name (would leave the landing zone or holds "
                f"control characters)"
            )
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
            out.append(
                f"file {label}: listed size {f['bytes']} bytes exceeds the bound {max_bytes} (DOLISA_MAX_FILE_BYTES)"
            )
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
    if any(b <= a for a, b in zip(versions, versions[1:], strict=False)):
        out.append(f"versions not listed oldest first without repeats: {versions}")
    return out


def _clean_files(entry: object) -> list[dict]:
    """The listed files as the ledger can hold them (every field typed or None)."""
    files = entry.get("files") if isinstance(entry, dict) else None
    out = []
    for i, f in enumerate(files if isinstance(files, list) else [], start=1):
        f = f if isinstance(f, dict) else {}
        out.append(
            {
                "dataset": f.get("dataset") if isinstance(f.get("dataset"), str) else None,
                "name": f.get("name") if isinstance(f.get("name"), str) else f"#{i}",
                "media_type": f.get("media_type") if isinstance(f.get("media_type"), str) else None,
                "bytes": f.get("bytes") if _is_int(f.get("bytes")) else None,
                "rows": f.get("rows") if _is_int(f.get("rows")) else None,
                "sha256": f.get("sha256") if isinstance(f.get("sha256"), str) else None,
            }
        )
    return out


def version_manifest(
    hub: str, unit_code: str, period: str, sid: str, entry: Any, landed_at: dt.datetime, **errors: str
) -> dict:
    """The ledger entry of a version (`manifest.json`) from its listing entry, landed from `hub`
    (the base URL): typed fields only; a malformed listing entry is kept raw beside."""
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
        "hub": hub,
        "layout": LAYOUT,
    }
    manifest.update(errors)
    if "listing_error" in errors:
        manifest["listing_entry"] = entry
    return manifest
