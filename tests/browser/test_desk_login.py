"""The desk's login throttle in a real browser (Playwright + Debian's chromium).

The desk runs on uvicorn behind what it is told is its proxy (127.0.0.1, as in the compose
deployment, where the proxy adds X-Forwarded-For): two browser contexts stand for two people
behind it, one guessing from 203.0.113.7, one with the right password at 198.51.100.20.
Screenshots go to test-output/desk/ (git-ignored).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from dolisa.desk.auth import LoginThrottle

pytestmark = pytest.mark.slow

OUT = Path(__file__).resolve().parents[2] / "test-output" / "desk"


@pytest.fixture
def desk(tmp_path, monkeypatch):
    import uvicorn

    from dolisa.desk import create_app

    monkeypatch.delenv("DOLISA_DESK_PASSWORD", raising=False)
    home = tmp_path / "home"
    rep = home / "reports" / "2021-H1"
    rep.mkdir(parents=True)
    (rep / "indicators.csv").write_text("report_period,indicator_code\n", encoding="utf-8")
    (rep / "quality_gate.json").write_text(json.dumps({"passed": True, "waived": [], "blocking": [], "warnings": []}))
    app = create_app(home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=True, forwarded_allow_ips=["127.0.0.1"]))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)


def test_guessing_is_stopped_while_the_right_password_works_for_someone_else(desk, browser):
    base, app = desk
    right = app.state.auth.password()
    OUT.mkdir(parents=True, exist_ok=True)
    contexts = [browser.new_context(extra_http_headers={"X-Forwarded-For": address})
                for address in ("203.0.113.7", "198.51.100.20")]
    attacker, user = (c.new_page() for c in contexts)

    def try_password(page, password: str) -> str:
        page.goto(f"{base}/dang-nhap")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page.locator("p.error").inner_text() if page.locator("p.error").count() else ""

    try:
        for i in range(LoginThrottle.PER_ADDRESS_FREE):
            assert try_password(attacker, f"guess-{i}") == "Sai mật khẩu."
        message = try_password(attacker, "guess-x")
        assert message.startswith("Đăng nhập sai quá nhiều lần") and "30 giây" in message
        attacker.screenshot(path=str(OUT / "login_throttled.png"))
        # while it waits, even the right password does not let the guesser in
        assert try_password(attacker, right).startswith("Đăng nhập sai quá nhiều lần")
        assert "/dang-nhap" in attacker.url
        # the colleague behind another address logs in at once and sees the desk
        assert try_password(user, right) == ""
        assert user.locator("h1").first.inner_text() != "Đăng nhập"
        assert user.locator("a[href='/dang-xuat']").count() == 1
        user.screenshot(path=str(OUT / "login_other_address.png"))
        # logging out ends the session: the page behind the login is refused again
        user.click("a[href='/dang-xuat']")
        assert user.goto(f"{base}/").status == 401
    finally:
        for c in contexts:
            c.close()
