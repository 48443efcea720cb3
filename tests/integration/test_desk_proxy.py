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


@pytest.fixture
def behind_caddy(home, tmp_path):
    """The desk (trusting 127.0.0.1) behind a real Caddy with its own certificate, as in the
    compose deployment's desk-proxy (Debian's caddy package here). Yields (https base, desk)."""
    import shutil

    import urllib3

    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail("Debian's caddy is not installed (scripts/test.sh installs it)")
    desk, base = start_desk(home, "127.0.0.1")
    port = _free_port()
    (tmp_path / "Caddyfile").write_text(
        "{\n\tadmin off\n\tskip_install_trust\n}\n"
        f"https://localhost:{port} {{\n\ttls internal\n\treverse_proxy {base.removeprefix('http://')}\n}}\n")
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    proxy = subprocess.Popen([caddy, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    urllib3.disable_warnings()
    front = f"https://localhost:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(f"{front}/dang-nhap", timeout=1, verify=False)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield front, desk
    finally:
        proxy.terminate()
        proxy.wait(10)
        desk.terminate()
        desk.wait(10)


def test_through_a_real_caddy_a_client_cannot_choose_its_address(behind_caddy):
    front, desk = behind_caddy

    def via_proxy(password: str, spoof: str) -> requests.Response:
        return requests.post(f"{front}/dang-nhap", data={"password": password, "next": "/"}, verify=False,
                             headers={"X-Forwarded-For": spoof}, allow_redirects=False, timeout=10)

    for i in range(LoginThrottle.PER_ADDRESS_FREE):  # a new made-up address on every guess
        assert via_proxy("guess", f"10.8.0.{i}").status_code == 401
    assert via_proxy("guess", "10.8.1.1").status_code == 429  # still one client to the desk
    assert via_proxy("proxy-test-pw-8c1", "10.8.2.2").status_code == 429
    desk.terminate()
    out, _ = desk.communicate(timeout=10)
    assert "failed login from 127.0.0.1" in out and "10.8." not in out


def test_through_a_real_caddy_the_cookie_is_secure(behind_caddy):
    front, _ = behind_caddy
    ok = requests.post(f"{front}/dang-nhap", data={"password": "proxy-test-pw-8c1", "next": "/"}, verify=False,
                       allow_redirects=False, timeout=10)
    assert ok.status_code == 303 and "secure" in ok.headers["set-cookie"].lower()
