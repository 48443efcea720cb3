"""The desk holds against guessing and keeps its sessions under control: failed logins are
throttled per address and overall and logged; logging out and changing the password end
sessions on the server; every answer carries the security headers; a path parameter with a
newline or a NUL is a 404, never a 500. (The browser test of the throttle is
tests/browser/test_desk_login.py; the trusted proxy is tests/integration/test_desk_proxy.py.)"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dolisa.desk import create_app
from dolisa.desk.auth import IDLE_SECONDS, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("DOLISA_DESK_PASSWORD", raising=False)
    monkeypatch.delenv("DOLISA_DESK_SESSION_KEY", raising=False)
    home = tmp_path / "home"
    rep = home / "reports" / "2021-H1"
    rep.mkdir(parents=True)
    (rep / "indicators.csv").write_text("report_period,indicator_code\n", encoding="utf-8")
    (rep / "quality_gate.json").write_text(json.dumps({"passed": True, "waived": [], "blocking": [], "warnings": []}))
    (home / "data_docs").mkdir()
    (home / "data_docs" / "index.html").write_text("<html>docs</html>", encoding="utf-8")
    return home


@pytest.fixture
def app(home):
    app = create_app(home)
    clock = Clock()
    app.state.auth._clock = clock
    app.state.auth.throttle._clock = clock
    app.state.clock = clock
    return app


def client(app, address: str = "203.0.113.7") -> TestClient:
    return TestClient(app, client=(address, 50000))


def login(c: TestClient, password: str):
    return c.post("/dang-nhap", data={"password": password, "next": "/"}, follow_redirects=False)


def test_failed_logins_are_throttled_per_address_and_logged(app, caplog):
    right = app.state.auth.password()
    attacker = client(app, "203.0.113.7")
    with caplog.at_level(logging.WARNING, logger="dolisa.desk.auth"):
        for _ in range(LoginThrottle.PER_ADDRESS_FREE):
            assert login(attacker, "guess").status_code == 401
    assert caplog.text.count("failed login from 203.0.113.7") == LoginThrottle.PER_ADDRESS_FREE
    assert "guess" not in caplog.text  # the password tried is never logged
    locked = login(attacker, "guess")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == LoginThrottle.FIRST_WAIT_SECONDS
    assert "Đăng nhập sai quá nhiều lần" in locked.text
    assert login(attacker, right).status_code == 429  # while it waits, not even the right password is compared
    # someone else, not under attack, logs in at once
    assert login(client(app, "198.51.100.20"), right).status_code == 303
    # after the wait the address may try again; each further failure doubles the wait
    app.state.clock.now += LoginThrottle.FIRST_WAIT_SECONDS + 1
    assert login(attacker, "guess").status_code == 401
    assert int(login(attacker, "guess").headers["Retry-After"]) == 2 * LoginThrottle.FIRST_WAIT_SECONDS
    app.state.clock.now += 2 * LoginThrottle.FIRST_WAIT_SECONDS + 1
    assert login(attacker, right).status_code == 303  # the right password, once allowed, works
    assert login(attacker, "guess").status_code == 401  # and a success forgets the address's failures


def test_many_addresses_guessing_at_once_are_throttled_overall(app, caplog):
    right = app.state.auth.password()
    with caplog.at_level(logging.WARNING, logger="dolisa.desk.auth"):
        for i in range(LoginThrottle.OVERALL_LIMIT + 1):  # one guess each: no address reaches its own limit
            assert login(client(app, f"10.0.{i // 250}.{i % 250}"), "guess").status_code == 401
    assert "every address that failed must now wait" in caplog.text
    assert login(client(app, "10.0.0.3"), right).status_code == 429  # an address that guessed waits
    assert login(client(app, "198.51.100.20"), right).status_code == 303  # a clean address still logs in
    newcomer = client(app, "192.0.2.99")
    assert login(newcomer, "guess").status_code == 401  # a clean address gets one try
    assert login(newcomer, "guess").status_code == 429
    app.state.clock.now += LoginThrottle.WINDOW_SECONDS + 1
    assert login(client(app, "10.0.0.3"), right).status_code == 303


def test_logging_out_ends_the_session_on_the_server(app):
    c = client(app)
    assert login(c, app.state.auth.password()).status_code == 303
    cookie = c.cookies.get("dolisa_desk")
    assert c.get("/").status_code == 200 and app.state.auth.sessions() == 1
    c.get("/dang-xuat", follow_redirects=False)
    assert app.state.auth.sessions() == 0
    replay = client(app)
    replay.cookies.set("dolisa_desk", cookie)  # a copy of the cookie taken before the logout
    assert replay.get("/").status_code == 401


def test_changing_the_password_ends_every_session(app, monkeypatch):
    monkeypatch.setenv("DOLISA_DESK_PASSWORD", "first-password-4d2")
    a, b = client(app, "198.51.100.1"), client(app, "198.51.100.2")
    for c in (a, b):
        assert login(c, "first-password-4d2").status_code == 303
        assert c.get("/").status_code == 200
    monkeypatch.setenv("DOLISA_DESK_PASSWORD", "second-password-9x7")
    assert a.get("/").status_code == 401 and b.get("/").status_code == 401
    assert app.state.auth.sessions() == 0
    assert login(a, "second-password-9x7").status_code == 303 and a.get("/").status_code == 200


def test_an_idle_session_ends(app):
    c = client(app)
    login(c, app.state.auth.password())
    app.state.clock.now += IDLE_SECONDS + 1
    assert c.get("/").status_code == 401


def test_every_page_and_download_sends_the_security_headers(app):
    c = client(app)
    pages = ["/dang-nhap", "/", "/tai-ve/2021-H1/indicators.csv", "/gx/", "/khong-co"]
    for path in pages:  # before the login (every one is the login page or the 401) ...
        _check_headers(c.get(path), path)
    login(c, app.state.auth.password())
    for path in pages:  # ... and after it
        _check_headers(c.get(path), path)
    css = c.get("/static/desk.css")
    assert css.status_code == 200 and "frame-ancestors 'none'" in css.headers["Content-Security-Policy"]
    assert css.headers["X-Content-Type-Options"] == "nosniff"


def _check_headers(resp, path: str) -> None:
    h = resp.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"], path
    assert "default-src 'self'" in h["Content-Security-Policy"], path
    assert h["X-Content-Type-Options"] == "nosniff", path
    assert h["Referrer-Policy"] == "no-referrer", path
    assert h["Cache-Control"] == "no-store", path
    if not path.startswith("/gx/"):
        assert "unsafe-inline" not in h["Content-Security-Policy"], path


@pytest.mark.parametrize("path", [
    "/ky/2021-H1%0a/chat-luong", "/ky/2021-H1%0a", "/gx/index.html%00.png", "/gx/index.html%0a",
    "/nop/040/2021-01%0a", "/nop/040%0a/2021-01", "/tai-ve/2021-H1%0a/indicators.csv",
    "/tai-ve/2021-H1/indicators.csv%00", "/phan-hoi/040%0a", "/dbt/index.html%00",
    "/ky/2021-H1/chi-tieu/LAB_VOC_NEW_SOCAP%0a",
])
def test_a_path_parameter_with_a_newline_or_a_nul_is_not_found(app, path):
    c = client(app)
    login(c, app.state.auth.password())
    resp = c.get(path)
    assert resp.status_code == 404, (path, resp.status_code)
