"""The on-disk store behind the demo District Export hub.

Layout of a store directory::

    <store>/index.json
    <store>/<unit_code>/<period>/<submission_id>/<stored file name>
    <store>/demo_manifest.json          (only when made by dolisa_demo.hub.generator)

``index.json`` holds, per unit and month, the submissions oldest first exactly
as the API lists them (contract §2)::

    {"format": 1,
     "units": {"040": {"2021-06": [
        {"submission_id": "040-2021-06-v1", "version": 1,
         "submitted_at": "2021-07-03T16:20:00+07:00",
         "files": [{"dataset": "job_placements", "name": "job_placements.csv",
                    "media_type": "text/csv", "bytes": 2210, "rows": 17,
                    "sha256": "...", "_stored_as": "job_placements.csv"}]}]}}}

Keys that start with ``_`` are the store's own bookkeeping and are never sent
by the server (``_stored_as`` is the file's name on disk, which differs from
``name`` when the name is not a safe file name, e.g. ``../../evil.csv``).

Typical use in a test::

    store = HubStore(tmp_path / "hub")
    store.add_submission("040", "2021-06", 1, datetime(2021, 7, 3, 16, 20),
                         {"job_placements.csv": b"placement_id,...\\r\\n..."},
                         overrides={"job_placements.csv": {"sha256": "0" * 64}})
    store.save()

``overrides`` replaces any listed field of a file (``sha256``, ``bytes``,
``rows``, ``name``, ``dataset``, ``media_type``): the file on disk keeps its
real bytes, so the hub then serves a file that does not match its listing.
A file given as ``None`` is listed (from its overrides) but absent on disk, so
downloading it gets 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")

MEDIA_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CONTRACT_FILE_KEYS = ("dataset", "name", "media_type", "bytes", "rows", "sha256")
INDEX_NAME = "index.json"


def iso_vn(when: dt.datetime) -> str:
    """ISO 8601 with the +07:00 offset; a naive datetime is taken as Vietnam time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=TZ)
    return when.astimezone(TZ).isoformat(timespec="seconds")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def submission_id(unit_code: str, period: str, version: int) -> str:
    return f"{unit_code}-{period}-v{version}"


def count_csv_records(data: bytes) -> int:
    """Data records of a CSV file as RFC 4180 reads them, header excluded.

    A quoted line break stays inside its record; completely empty lines are not
    records. Bytes that are not UTF-8 are read as Latin-1 (structure only)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    n = sum(1 for rec in csv.reader(io.StringIO(text, newline="")) if rec)
    return max(n - 1, 0)


def count_xlsx_records(data: bytes) -> int:
    """Non-empty rows after the header row of the first sheet."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        n = 0
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            if i == 0:
                continue
            if any(v is not None and str(v).strip() != "" for v in row):
                n += 1
        return n
    finally:
        wb.close()


def count_records(name: str, data: bytes) -> int:
    if name.lower().endswith(".xlsx"):
        return count_xlsx_records(data)
    return count_csv_records(data)


def dataset_of(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def media_type_of(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return MEDIA_TYPES.get(ext, "application/octet-stream")


def safe_file_name(name: str) -> str:
    """A name that cannot leave its directory: percent-encoding, no leading dot."""
    out = quote(name, safe="-_.() ")
    if out.startswith("."):
        out = "%2E" + out[1:]
    return out or "%00"


def public(entry: dict[str, Any]) -> dict[str, Any]:
    """A copy without the store's own `_` keys (what the API sends)."""
    if isinstance(entry, dict):
        return {k: public(v) for k, v in entry.items() if not k.startswith("_")}
    if isinstance(entry, list):
        return [public(v) for v in entry]
    return entry


class HubStore:
    """A directory of district submissions as the hub serves them.

    Loads ``index.json`` when present. Changes are written to disk file by file
    in ``add_submission``; the index only on ``save()``.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self._units: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._extra: dict[str, dict[str, list[Any]]] = {}  # malformed entries, listed verbatim
        if (self.root / INDEX_NAME).exists():
            self.load()

    # ----------------------------------------------------------------- writing
    def add_submission(
        self,
        unit_code: str,
        period: str,
        version: int,
        submitted_at: dt.datetime,
        files: dict[str, bytes | None],
        datasets: dict[str, str] | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Write one submission version and list it; returns its listing entry.

        `files` maps the file name to its bytes (in the order they are listed);
        `datasets` maps a file name to its dataset when that is not the name
        without extension; `overrides[name]` replaces listed fields of a file.
        Replacing an existing version of the same unit and month is allowed.
        """
        datasets = datasets or {}
        overrides = overrides or {}
        sid = submission_id(unit_code, period, version)
        folder = self.root / unit_code / period / sid
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for name, data in files.items():
            ov = dict(overrides.get(name, {}))
            stored = safe_file_name(name)
            if data is not None:
                (folder / stored).write_bytes(data)
                meta = {
                    "dataset": datasets.get(name, dataset_of(name)),
                    "name": name,
                    "media_type": media_type_of(name),
                    "bytes": len(data),
                    "rows": ov["rows"] if "rows" in ov else count_records(name, data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            else:
                meta = {
                    "dataset": datasets.get(name, dataset_of(name)),
                    "name": name,
                    "media_type": media_type_of(name),
                    "bytes": 0,
                    "rows": 0,
                    "sha256": hashlib.sha256(b"").hexdigest(),
                }
                stored = None
            for k in CONTRACT_FILE_KEYS:
                if k in ov:
                    meta[k] = ov[k]
            meta["_stored_as"] = stored
            entries.append(meta)
        sub = {
            "submission_id": sid,
            "version": int(version),
            "submitted_at": iso_vn(submitted_at),
            "files": entries,
        }
        subs = self._units.setdefault(unit_code, {}).setdefault(period, [])
        subs[:] = [s for s in subs if s["version"] != int(version)]
        subs.append(sub)
        subs.sort(key=lambda s: s["version"])
        return sub

    def add_listing_entry(self, unit_code: str, period: str, entry: Any) -> Any:
        """List `entry` verbatim after the unit-month's submissions: any shape, malformed on
        purpose (a field missing or mistyped, a name listed twice, ...). Such entries are
        never downloadable (their files are not stored) and ignore ``available_at``."""
        self._extra.setdefault(unit_code, {}).setdefault(period, []).append(entry)
        return entry

    def save(self) -> Path:
        """Write ``index.json`` (sorted keys, stable bytes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        doc = {
            "format": 1,
            "units": {u: {p: self._units[u][p] for p in sorted(self._units[u])} for u in sorted(self._units)},
        }
        if self._extra:
            doc["extra_entries"] = self._extra
        path = self.root / INDEX_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def load(self) -> "HubStore":
        doc = json.loads((self.root / INDEX_NAME).read_text(encoding="utf-8"))
        if doc.get("format") != 1:
            raise ValueError(f"{self.root / INDEX_NAME}: unknown store format {doc.get('format')!r}")
        self._units = doc["units"]
        self._extra = doc.get("extra_entries", {})
        return self

    # ----------------------------------------------------------------- reading
    def listing(self, unit_code: str, period: str, *, available_at: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The submissions of a unit and month, oldest first, as the API lists them.

        With `available_at`, only those submitted at or before it."""
        subs = self._units.get(unit_code, {}).get(period, [])
        if available_at is not None:
            if available_at.tzinfo is None:
                available_at = available_at.replace(tzinfo=TZ)
            subs = [s for s in subs if parse_iso(s["submitted_at"]) <= available_at]
        return public(subs) + public(self._extra.get(unit_code, {}).get(period, []))

    def submission(self, unit_code: str, submission_id: str) -> dict[str, Any] | None:
        """The stored entry (with `_` keys) of a submission, or None."""
        m = re.fullmatch(r"(.+)-(\d{4}-\d{2})-v(\d+)", submission_id)
        if not m or m.group(1) != unit_code:
            return None
        for s in self._units.get(unit_code, {}).get(m.group(2), []):
            if s["submission_id"] == submission_id:
                return s
        return None

    def file_path(self, unit_code: str, submission_id: str, name: str) -> tuple[dict[str, Any], Path] | None:
        """(stored entry, path on disk) of a listed file that exists, else None."""
        sub = self.submission(unit_code, submission_id)
        if sub is None:
            return None
        period = sub["submission_id"][len(unit_code) + 1 : len(unit_code) + 8]
        for f in sub["files"]:
            if f["name"] == name and f.get("_stored_as"):
                path = self.root / unit_code / period / submission_id / f["_stored_as"]
                if path.is_file():
                    return f, path
        return None

    def units(self) -> list[str]:
        return sorted(self._units)

    def periods(self, unit_code: str) -> list[str]:
        return sorted(self._units.get(unit_code, {}))

    def iter_submissions(self):
        """(unit_code, period, stored entry) for every version, sorted."""
        for u in sorted(self._units):
            for p in sorted(self._units[u]):
                for s in self._units[u][p]:
                    yield u, p, s

    def read_file(self, unit_code: str, submission_id: str, name: str) -> bytes:
        found = self.file_path(unit_code, submission_id, name)
        if found is None:
            raise FileNotFoundError(f"{unit_code}/{submission_id}/{name}")
        return found[1].read_bytes()
