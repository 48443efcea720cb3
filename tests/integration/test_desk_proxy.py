"""Forwarded headers are believed only from the desk's own proxy (`python -m dolisa.desk
--trusted-proxies`, DOLISA_DESK_TRUSTED_PROXIES), so that a client can neither pick the
address the login throttle counts nor claim https; behind the trusted proxy (the compose
deployment) the session cookie is Secure. The desk runs as its own process on uvicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dolisa.desk.auth import LoginThrottle


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_desk(home: Path, trusted: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, DOLISA_HOME=str(home), DOLISA_DESK_PASSWORD="proxy-test-pw-8c1",
               DOLISA_DESK_TRUSTED_PROXIES=trusted, NO_PROXY="127.0.0.1")
    env.pop("DOLISA_DESK_COOKIE_SECURE", None)
    proc = subprocess.Popen([sys.executable, "-m", "dolisa.desk", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{base}/dang-nhap", timeout=1)
            return proc, base
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.stdout.read())


@pytest.fixture
def home(tmp_path) -> Path:
    (tmp_path / "home" / "reports").mkdir(parents=True)
    return tmp_path / "home"


def login(base: str, password: str, headers: dict) -> requests.Response:
    return requests.post(f"{base}/dang-nhap", data={"password": password, "next": "/"}, headers=headers,
                         allow_redirects=False, timeout=10)


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(home):
    proc, base = start_desk(home, "")
    try:
        # a guesser that writes another X-Forwarded-For on every try is still one address
        for i in range(LoginThrottle.PER_ADDRESS_FREE):
            assert login(base, "guess", {"X-Forwarded-For": f"10.9.0.{i}"}).status_code == 401
        assert login(base, "guess", {"X-Forwarded-For": "10.9.1.1"}).status_code == 429
        # and cannot claim https to get a cookie meant for it
        proc.terminate()
        proc.wait(10)
        proc, base = start_desk(home, "")
        ok = login(base, "proxy-test-pw-8c1", {"X-Forwarded-Proto": "https"})
        assert ok.status_code == 303 and "secure" not in ok.headers["set-cookie"].lower()
    finally:
        proc.terminate()
        proc.wait(10)


def test_behind_the_trusted_proxy_the_client_address_counts_and_the_cookie_is_secure(home):
    proc, base = start_desk(home, "127.0.0.1")  # the proxy is this host
    try:
        for _ in range(LoginThrottle.PER_ADDRESS_FREE):
            assert login(base, "guess", {"X-Forwarded-For": "203.0.113.7"}).status_code == 401
        assert login(base, "guess", {"X-Forwarded-For": "203.0.113.7"}).status_code == 429
        ok = login(base, "proxy-test-pw-8c1", {"X-Forwarded-For": "198.51.100.20", "X-Forwarded-Proto": "https"})
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "failed login from 203.0.113.7" in out and "proxy-test-pw" not in out
