"""The desk's own login (it is not behind Airflow's), its sessions and its guard against
guessing.

**Password.** ``DOLISA_DESK_PASSWORD`` when set, otherwise the content of
``$DOLISA_HOME/secrets/desk_password``, created on first use with a random value, owner-only
(0600). It is read again on every request, so a changed password takes effect at once.

**Sessions are held by the server.** A login creates a random session id, kept in this
process's memory with its start, its last use and a fingerprint of the password it was opened
with; the cookie carries the id, signed with ``itsdangerous`` (key ``DOLISA_DESK_SESSION_KEY``,
else ``secrets/desk_session_key``, created on first use). A request is logged in only when its
session is in the server's table, so:

- logging out removes the session: the cookie is worthless afterwards, even if it was copied;
- changing the password ends every session (their fingerprint no longer matches);
- a session ends after ``SESSION_SECONDS`` (12 h), or ``IDLE_SECONDS`` (2 h) without a request;
- restarting the desk ends every session (the table is in memory: nothing about a session is
  written to disk, and the desk's DOLISA_HOME may be read-only).

**Throttling failed logins** (``LoginThrottle``), per client address and overall, each failure
logged with its address (never the password tried):

- an address that failed ``PER_ADDRESS_FREE`` times within ``WINDOW_SECONDS`` must wait before
  its next try, 30 s doubling with each further failure up to the window (15 min);
- when more than ``OVERALL_LIMIT`` logins failed within the window across all addresses (many
  addresses guessing at once), an address that failed at all within the window may not try
  again until the overall count falls below the limit; an address with no failure may still
  try, so the team's right password works for anyone who is not the one guessing. Its first
  wrong try makes it wait too.

A refused try is answered 429 with ``Retry-After`` and its password is not even compared. The
client address is the TCP peer, or the ``X-Forwarded-For`` of a proxy the desk is told to
trust (``--forwarded-allow-ips``, docs/deployment.md): a client cannot choose its own address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

log = logging.getLogger("dolisa.desk.auth")

COOKIE = "dolisa_desk"
SESSION_SECONDS = 12 * 3600
IDLE_SECONDS = 2 * 3600
PASSWORD_ENV = "DOLISA_DESK_PASSWORD"
SESSION_KEY_ENV = "DOLISA_DESK_SESSION_KEY"


def _secret_file(secrets_dir: Path, name: str, nbytes: int = 18) -> str:
    """Read ``secrets_dir/name``; create it (0600, folder 0700) with a random value if absent."""
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    path = secrets_dir / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)
    return value


@dataclass
class _Session:
    user: str
    started: float
    last_seen: float
    password_fingerprint: str


class DeskAuth:
    def __init__(self, secrets_dir: Path, clock=time.monotonic):
        self.secrets_dir = Path(secrets_dir)
        self.password_file = self.secrets_dir / "desk_password"
        self._clock = clock
        key = self._session_key()
        self._serializer = URLSafeSerializer(key, salt="dolisa-desk-session")
        self._pepper = hashlib.sha256(b"dolisa desk password fingerprint\0" + key.encode()).digest()
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self.throttle = LoginThrottle(clock=clock)

    def _session_key(self) -> str:
        """DOLISA_DESK_SESSION_KEY, else the secret store's file; on a read-only DOLISA_HOME
        (the compose service) without the variable, a random key for this process."""
        env = os.environ.get(SESSION_KEY_ENV)
        if env:
            return env
        try:
            return _secret_file(self.secrets_dir, "desk_session_key", 32)
        except OSError:
            return secrets.token_urlsafe(32)

    def password(self) -> str:
        env = os.environ.get(PASSWORD_ENV)
        if env:
            return env
        return _secret_file(self.secrets_dir, "desk_password")

    def _fingerprint(self, password: str) -> str:
        return hmac.new(self._pepper, password.encode(), hashlib.sha256).hexdigest()

    def check_password(self, given: str) -> bool:
        return hmac.compare_digest(str(given or "").encode(), self.password().encode())

    # -- sessions ------------------------------------------------------------

    def open_session(self, user: str = "reporting") -> str:
        """A new server-side session; returns the cookie value."""
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._expire(now)
            self._sessions[sid] = _Session(user, now, now, self._fingerprint(self.password()))
        return self._serializer.dumps({"sid": sid})

    def _sid(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie)
        except BadSignature:
            return None
        return data.get("sid") if isinstance(data, dict) else None

    def valid(self, cookie: str | None) -> bool:
        sid = self._sid(cookie)
        if sid is None:
            return False
        now = self._clock()
        current = self._fingerprint(self.password())
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                return False
            if (
                now - s.started > SESSION_SECONDS
                or now - s.last_seen > IDLE_SECONDS
                or not hmac.compare_digest(s.password_fingerprint, current)
            ):
                del self._sessions[sid]
                return False
            s.last_seen = now
            return True

    def close_session(self, cookie: str | None) -> None:
        sid = self._sid(cookie)
        if sid is not None:
            with self._lock:
                self._sessions.pop(sid, None)

    def sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _expire(self, now: float) -> None:
        for sid in [
            k
            for k, s in self._sessions.items()
            if now - s.started > SESSION_SECONDS or now - s.last_seen > IDLE_SECONDS
        ]:
            del self._sessions[sid]


class LoginThrottle:
    """Failed logins per client address and overall (module docstring)."""

    WINDOW_SECONDS = 15 * 60
    PER_ADDRESS_FREE = 5
    FIRST_WAIT_SECONDS = 30
    OVERALL_LIMIT = 50
    MAX_ADDRESSES = 10_000  # addresses remembered at once; the oldest are forgotten first

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._overall: list[float] = []
        self._lock = threading.Lock()

    def _recent(self, times: list[float], now: float) -> list[float]:
        return [t for t in times if now - t < self.WINDOW_SECONDS]

    def retry_after(self, address: str) -> int:
        """0 when `address` may try a password now, else the seconds it must wait."""
        now = self._clock()
        with self._lock:
            mine = self._recent(self._failures.get(address, []), now)
            self._overall = self._recent(self._overall, now)
            wait = 0.0
            if len(mine) >= self.PER_ADDRESS_FREE:
                delay = min(self.FIRST_WAIT_SECONDS * 2 ** (len(mine) - self.PER_ADDRESS_FREE), self.WINDOW_SECONDS)
                wait = max(wait, mine[-1] + delay - now)
            if mine and len(self._overall) > self.OVERALL_LIMIT:
                wait = max(wait, self._overall[len(self._overall) - self.OVERALL_LIMIT - 1] + self.WINDOW_SECONDS - now)
            return int(wait + 0.999) if wait > 0 else 0

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            mine = self._recent(self._failures.pop(address, []), now) + [now]
            self._failures[address] = mine  # most recent last
            while len(self._failures) > self.MAX_ADDRESSES:
                self._failures.popitem(last=False)
            self._overall = self._recent(self._overall, now) + [now]
            overall = len(self._overall)
        log.warning(
            "desk: failed login from %s (%d from this address, %d overall in the last %d min)",
            address,
            len(mine),
            overall,
            self.WINDOW_SECONDS // 60,
        )
        if overall == self.OVERALL_LIMIT + 1:
            log.warning(
                "desk: more than %d failed logins in %d min: every address that failed must now wait",
                self.OVERALL_LIMIT,
                self.WINDOW_SECONDS // 60,
            )

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
