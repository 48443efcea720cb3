"""Bounds on what a hostile or broken hub and its files may make the pipeline do.

Every bound is a setting read from the environment when it is used, with a sane default
(docs/operations.md, "Bounds on hostile files"). A value that is not a positive number
is a configuration error and fails loudly.

| variable | default | what |
|---|---|---|
| `DOLISA_MAX_FILE_BYTES` | 2 GiB | largest file a listing may declare; a larger one rejects the version |
| `DOLISA_MAX_LISTING_BYTES` | 16 MiB | largest listing body read; a longer one is cut and the unit-month deferred |
| `DOLISA_DOWNLOAD_DEADLINE` | 600 s | overall time for one file (or listing) request, besides the read timeout |
| `DOLISA_XLSX_MAX_MEMBERS` | 1000 | zip members of an XLSX |
| `DOLISA_XLSX_MAX_UNCOMPRESSED` | 512 MiB | total uncompressed size of an XLSX's members |
| `DOLISA_XLSX_MAX_RATIO` | 200 | uncompressed / compressed size, per member and overall |
| `DOLISA_CSV_CHUNK_BYTES` | 1 MiB | chunk in which CSV bytes are checked for UTF-8 (memory held at once) |
| `DOLISA_EXTRACT_CONCURRENCY` | 8 | requests in flight to the hub at once (listings and downloads; 1 = one at a time) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MiB = 1 << 20

DEFAULTS: dict[str, float] = {
    "DOLISA_MAX_FILE_BYTES": 2048 * MiB,
    "DOLISA_MAX_LISTING_BYTES": 16 * MiB,
    "DOLISA_DOWNLOAD_DEADLINE": 600.0,
    "DOLISA_XLSX_MAX_MEMBERS": 1000,
    "DOLISA_XLSX_MAX_UNCOMPRESSED": 512 * MiB,
    "DOLISA_XLSX_MAX_RATIO": 200.0,
    "DOLISA_CSV_CHUNK_BYTES": 1 * MiB,
    "DOLISA_EXTRACT_CONCURRENCY": 8,
}


def _setting(name: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return DEFAULTS[name]
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: not a number") from None
    if not value > 0:
        raise ValueError(f"{name}={raw!r}: must be > 0")
    return value


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_listing_bytes: int
    download_deadline: float
    xlsx_max_members: int
    xlsx_max_uncompressed: int
    xlsx_max_ratio: float
    csv_chunk_bytes: int
    extract_concurrency: int


def current() -> Limits:
    """The bounds in force now (read from the environment on every call)."""
    return Limits(
        max_file_bytes=int(_setting("DOLISA_MAX_FILE_BYTES")),
        max_listing_bytes=int(_setting("DOLISA_MAX_LISTING_BYTES")),
        download_deadline=_setting("DOLISA_DOWNLOAD_DEADLINE"),
        xlsx_max_members=int(_setting("DOLISA_XLSX_MAX_MEMBERS")),
        xlsx_max_uncompressed=int(_setting("DOLISA_XLSX_MAX_UNCOMPRESSED")),
        xlsx_max_ratio=_setting("DOLISA_XLSX_MAX_RATIO"),
        csv_chunk_bytes=max(4, int(_setting("DOLISA_CSV_CHUNK_BYTES"))),
        extract_concurrency=max(1, int(_setting("DOLISA_EXTRACT_CONCURRENCY"))),
    )
