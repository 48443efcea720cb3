"""The desk's own login (it is not behind Airflow's).

The password is ``DOLISA_DESK_PASSWORD`` when set, otherwise the content of
``$DOLISA_HOME/secrets/desk_password`` — created on first use with a random value,
owner-only (0600). A successful login sets a session cookie signed with
``itsdangerous`` (key in ``secrets/desk_session_key``, also created on first use, so a
restart keeps sessions and a new key logs everybody out). Every other request without a
valid cookie is refused with 401. ``DOLISA_DESK_SESSION_KEY`` may give the signing key
(the compose service mounts DOLISA_HOME read-only and takes both from ``.env``).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE = "dolisa_desk"
SESSION_SECONDS = 12 * 3600
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


class DeskAuth:
    def __init__(self, secrets_dir: Path):
        self.secrets_dir = Path(secrets_dir)
        self.password_file = self.secrets_dir / "desk_password"
        self._serializer = URLSafeTimedSerializer(self._session_key(), salt="dolisa-desk-session")

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

    def check_password(self, given: str) -> bool:
        return hmac.compare_digest(str(given or "").encode(), self.password().encode())

    def cookie_for(self, user: str = "reporting") -> str:
        return self._serializer.dumps({"u": user})

    def valid(self, cookie: str | None) -> bool:
        if not cookie:
            return False
        try:
            self._serializer.loads(cookie, max_age=SESSION_SECONDS)
        except (BadSignature, SignatureExpired):
            return False
        return True
