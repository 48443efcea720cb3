"""Keyed pseudonyms of citizen ids, and the key that never leaves its store.

    person_key = HMAC-SHA256(key, citizen_id)        (hex, 64 characters)

`citizen_id` is the loader's normalised value: trimmed, NFC, and 12 or 9 digits (a
malformed id is quarantined, so it never gets a pseudonym).

**Where it is computed.** Once, in the loader (`dolisa.load`), as rows move into
`raw.<dataset>`: the key is captured in a Python function registered on the DuckDB
connection as the SQL function `dolisa_pseudonym(varchar)`. The SQL text names the
function, never the key, so the key cannot reach a view or macro definition, dbt's
compiled SQL, manifest, run_results or logs, an Airflow log or an XCom. dbt reads the
ready `person_key` column (docs/architecture.md, "Pseudonyms").

**Where the key comes from** (`resolve_key`), first match wins:
1. a configured key: the Airflow Variable `dolisa_pseudonym_secret` (the DAG passes it;
   Airflow masks Variables whose name holds "secret") or a secrets backend behind it;
2. the environment variable `DOLISA_PSEUDONYM_KEY`;
3. the project's own secret store `$DOLISA_HOME/secrets/pseudonym.key` (0600, in a
   0700 folder), created with 32 random bytes on first use. Safe with zero configuration.

**The warehouse remembers which key built it**: `meta.pseudonym_key` holds the key's
fingerprint (an HMAC of a fixed label, which does not reveal the key). A load with
another key fails loudly instead of mixing pseudonyms; `dolisa rotate-key` is the one
way to change the key (`rotate`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from dolisa import contract
from dolisa.settings import Paths

log = logging.getLogger(__name__)

KEY_ENV = "DOLISA_PSEUDONYM_KEY"
AIRFLOW_VARIABLE = "dolisa_pseudonym_secret"
STORE_NAME = "pseudonym.key"
SQL_FUNCTION = "dolisa_pseudonym"
PERSON_KEY_COLUMN = "person_key"
MIN_KEY_LENGTH = 16
_FINGERPRINT_LABEL = b"dolisa pseudonym key fingerprint v1"


class PseudonymKeyError(RuntimeError):
    """The key is unusable, or is not the key the warehouse was built with."""


@dataclass(frozen=True)
class Key:
    secret: bytes = field(repr=False)
    source: str  # "configured" | "environment" | "store"

    def __repr__(self) -> str:  # never print the key
        return f"Key(source={self.source!r}, fingerprint={self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, citizen_id: str | None) -> str | None:
        if citizen_id is None:
            return None
        return hmac.digest(self.secret, citizen_id.encode("utf-8"), "sha256").hex()  # = HMAC-SHA256, C fast path

    def hasher(self) -> Callable[[str | None], str | None]:
        """The same HMAC-SHA256 as `pseudonym`, for millions of ids: the key's inner and outer
        pads (RFC 2104) are hashed once and each id only continues copies of those states,
        about half the cost of `hmac.digest`, which sets the key up again on every call."""
        k = self.secret if len(self.secret) <= 64 else hashlib.sha256(self.secret).digest()
        k = k.ljust(64, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))

        def pseudonym(citizen_id: str | None) -> str | None:
            if citizen_id is None:
                return None
            i = inner.copy()
            i.update(citizen_id.encode("utf-8"))
            o = outer.copy()
            o.update(i.digest())
            return o.hexdigest()

        return pseudonym


def _checked(value: str, source: str) -> Key:
    value = value.strip()
    if len(value) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(f"the {source} pseudonym key must be at least {MIN_KEY_LENGTH} characters")
    return Key(value.encode("utf-8"), source)


def store_path(p: Paths) -> Path:
    return p.secrets / STORE_NAME


def _write_secret(path: Path, value: str, *, exclusive: bool) -> None:
    """Write an owner-only secret file atomically (0600 from its creation on)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        return
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    os.replace(tmp, path)


def _read_store(path: Path) -> Key:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("secret store %s was readable by others (mode %o): reset to 0600", path, mode)
    return _checked(path.read_text(encoding="utf-8"), "stored")


def new_secret() -> str:
    return _secrets.token_hex(32)


def resolve_key(p: Paths, configured: str | None = None) -> Key:
    """The key in use: configured > environment > the store (created on first use)."""
    if configured:
        return _checked(configured, "configured")
    env = os.environ.get(KEY_ENV, "")
    if env.strip():
        return _checked(env, "environment")
    path = store_path(p)
    if not path.exists():
        try:
            _write_secret(path, new_secret(), exclusive=True)
            log.info("created the pseudonym key store %s (owner-only)", path)
        except FileExistsError:  # another process created it first: use theirs
            pass
    key = _read_store(path)
    return Key(key.secret, "store")


# ---------------------------------------------------------------------------
# The warehouse side
# ---------------------------------------------------------------------------

KEY_DDL = """create table if not exists meta.pseudonym_key (
    fingerprint varchar not null,       -- HMAC of a fixed label: names the key, does not reveal it
    set_at timestamptz not null,
    marts_stale boolean not null        -- true after a rotation until dbt has fully refreshed the marts
)"""


def person_key_column(ds: contract.Dataset) -> str | None:
    """The citizen-id column whose pseudonym a dataset's rows carry (None: the dataset has none)."""
    ids = [c.name for c in ds.columns if c.type == "citizen_id"]
    if len(ids) > 1:
        raise ValueError(f"{ds.name}: more than one citizen_id column ({ids}); person_key is ambiguous")
    return ids[0] if ids else None


def register(con: duckdb.DuckDBPyConnection, key: Key, name: str = SQL_FUNCTION) -> None:
    """Make `name(varchar)` compute the key's pseudonym on this connection (the key stays in Python)."""
    try:
        con.remove_function(name)
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass
    con.create_function(name, key.hasher(), ["VARCHAR"], "VARCHAR", side_effects=False)


def warehouse_state(con: duckdb.DuckDBPyConnection) -> tuple[str, bool] | None:
    con.execute(KEY_DDL)
    rows = con.execute(
        "select fingerprint, marts_stale from meta.pseudonym_key"
    ).fetchall()  # fetch all: no unfinished result
    row = rows[0] if rows else None
    return (row[0], bool(row[1])) if row else None


def _repseudonymise(con: duckdb.DuckDBPyConnection, only_missing: bool) -> int:
    n = 0
    for ds in contract.datasets().values():
        col = person_key_column(ds)
        if col is None:
            continue
        where = f"{PERSON_KEY_COLUMN} is null and {col} is not null" if only_missing else "true"
        n += con.execute(
            f"update raw.{ds.name} set {PERSON_KEY_COLUMN} = {SQL_FUNCTION}({col}) where {where}"
        ).fetchone()[0]
    return n


def bind(con: duckdb.DuckDBPyConnection, p: Paths, configured: str | None = None) -> Key:
    """Resolve the key, check it is the warehouse's, and register `dolisa_pseudonym` on `con`.

    A new warehouse records the key's fingerprint. Rows loaded before pseudonyms were
    computed in the loader get theirs now. A key that differs from the warehouse's
    fails: run `dolisa rotate-key` (after a rotation interrupted after its commit, the
    stored next key is the warehouse's and is installed here).
    """
    key = resolve_key(p, configured)
    state = warehouse_state(con)
    if state is not None and state[0] != key.fingerprint:
        pending = store_path(p).with_name(STORE_NAME + ".next")
        if key.source == "store" and pending.exists():
            nxt = _read_store(pending)
            if nxt.fingerprint == state[0]:  # the rotation committed; finish installing its key
                os.replace(pending, store_path(p))
                key = Key(nxt.secret, "store")
        if state[0] != key.fingerprint:
            raise PseudonymKeyError(
                f"the {key.source} pseudonym key (fingerprint {key.fingerprint}) is not the key this warehouse "
                f"was built with (fingerprint {state[0]}): restore that key, or run `dolisa rotate-key` to "
                "re-key every pseudonym"
            )
    register(con, key)
    if state is None:
        con.execute(
            "insert into meta.pseudonym_key values (?, ?, false)", [key.fingerprint, dt.datetime.now(dt.timezone.utc)]
        )
    filled = _repseudonymise(con, only_missing=True)
    if filled:
        log.info("pseudonymised %d rows loaded before pseudonyms were computed at load", filled)
    return key


def rotate(con: duckdb.DuckDBPyConnection, p: Paths, configured: str | None = None) -> dict:
    """Re-key every pseudonym in the warehouse in one transaction.

    With a configured key (Airflow Variable / DOLISA_PSEUDONYM_KEY), the warehouse moves to
    that key (change the configuration first). Without one, a new random key replaces
    the store's: it is written to `pseudonym.key.next` first and installed after the
    commit, so a crash at any point leaves one key matching every pseudonym. The marts
    are flagged stale until dbt rebuilds them in full (`dolisa.pipeline.transform`).
    """
    state = warehouse_state(con)
    old = state[0] if state else None
    explicit = configured or os.environ.get(KEY_ENV, "").strip()
    pending = store_path(p).with_name(STORE_NAME + ".next")
    if explicit:
        new = resolve_key(p, configured)
        if new.fingerprint == old:
            raise PseudonymKeyError(
                "the configured pseudonym key is already the warehouse's: change the configured key "
                f"(Airflow Variable {AIRFLOW_VARIABLE} or {KEY_ENV}) first, then rotate"
            )
    else:
        value = new_secret()
        _write_secret(pending, value, exclusive=False)
        new = _checked(value, "store")
    register(con, new)
    con.execute("begin transaction")
    try:
        n = _repseudonymise(con, only_missing=False)
        con.execute("delete from meta.pseudonym_key")
        con.execute(
            "insert into meta.pseudonym_key values (?, ?, true)", [new.fingerprint, dt.datetime.now(dt.timezone.utc)]
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if not explicit:
        os.replace(pending, store_path(p))
    log.info("pseudonym key rotated: %s -> %s (%d rows re-keyed)", old, new.fingerprint, n)
    return {"old_fingerprint": old, "new_fingerprint": new.fingerprint, "rows_rekeyed": n, "source": new.source}


def marts_stale(con: duckdb.DuckDBPyConnection) -> bool:
    state = warehouse_state(con)
    return bool(state and state[1])


def mark_marts_fresh(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(KEY_DDL)
    con.execute("update meta.pseudonym_key set marts_stale = false")
