"""The desk's own login, its file serving and the offline Data Docs assets, without a
browser (the browser test, tests/browser/test_desk.py, runs the whole path on real data)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dolisa.desk import create_app
from dolisa.desk.vendor import CDN_ASSETS, localise

VENDOR = Path(__file__).resolve().parents[2] / "src" / "dolisa" / "desk" / "static" / "vendor"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("DOLISA_DESK_PASSWORD", raising=False)
    monkeypatch.delenv("DOLISA_DESK_SESSION_KEY", raising=False)
    home = tmp_path / "home"
    rep = home / "reports" / "2021-H1"
    rep.mkdir(parents=True)
    (rep / "indicators.csv").write_text("report_period,indicator_code\n", encoding="utf-8")
    (rep / "quality_gate.json").write_text(json.dumps({"passed": True, "waived": [], "blocking": [], "rules": [
        {"rule": "completeness", "severity": "blocking"}, {"rule": "late_submission", "severity": "warning"},
        {"rule": "outlier", "severity": "warning"}], "warnings": [
        {"rule": "late_submission", "severity": "warning", "message": "049 2021-01: first accepted version submitted "
         "2021-02-12 13:43 (after the 5th)", "unit_code": "049", "period": "2021-01"}]}), encoding="utf-8")
    as_of = rep / "as_of_2021-07-15"
    as_of.mkdir()
    (as_of / "indicators.xlsx").write_bytes(b"PK as-of")
    (as_of / "revisions.csv").write_text(
        "indicator_code,unit_code,value_as_of,value_now,delta,source_unit_code,source_period,version_as_of,"
        "version_now,contribution\nLAB_VOC_NEW_SOCAP,045,100,134,34,045,2021-05,1,2,34\n", encoding="utf-8")
    issued = rep / "issued" / "20210716T090000+0700"
    issued.mkdir(parents=True)
    (issued / "indicators.csv").write_text("x\n", encoding="utf-8")
    (issued / "manifest.json").write_text(json.dumps({"issued_at": "2021-07-16T09:00:00+07:00"}), encoding="utf-8")
    (home / "secrets").mkdir(mode=0o700)
    (home / "secrets" / "pseudonym.key").write_text("not-for-the-desk\n")
    target = home / "dbt" / "target"
    target.mkdir(parents=True)
    (target / "index.html").write_text("<html>dbt docs</html>", encoding="utf-8")
    (target / "manifest.json").write_text(json.dumps({"metadata": {"env": {"X": "1"}}, "nodes": {
        "model.dolisa.x": {"raw_code": "select 1", "compiled_code": "select 'secret-literal'"}}, "macros": {}}))
    docs = home / "data_docs"
    docs.mkdir()
    (docs / "index.html").write_text(
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<link href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css" rel="stylesheet">'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261201T0046Z">',
        encoding="utf-8")
    return home


def _login(client: TestClient, password: str):
    return client.post("/dang-nhap", data={"password": password, "next": "/ky/2021-H1"}, follow_redirects=False)


def test_password_from_the_secret_store_created_owner_only(home):
    app = create_app(home)
    pw_file = home / "secrets" / "desk_password"
    password = app.state.auth.password()
    assert pw_file.read_text().strip() == password and len(password) >= 20
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "secrets" / "desk_session_key").stat().st_mode) == 0o600
    assert create_app(home).state.auth.password() == password  # the same on the next start


def test_password_from_the_environment(home, monkeypatch):
    monkeypatch.setenv("DOLISA_DESK_PASSWORD", "from-env-pw")
    client = TestClient(create_app(home))
    assert _login(client, "from-env-pw").status_code == 303
    assert not (home / "secrets" / "desk_password").exists()


def test_every_request_without_a_valid_login_is_refused(home):
    client = TestClient(create_app(home))
    for path in ("/", "/ky/2021-H1", "/tai-ve/2021-H1/indicators.csv", "/gx/", "/dbt/manifest.json",
                 "/nop/040/2021-03", "/static/vendor/jquery-3.7.1/jquery.min.js"):
        resp = client.get(path)
        assert resp.status_code == 401, path
        assert 'name="password"' in resp.text
    client.cookies.set("dolisa_desk", "eyJ1IjoicmVwb3J0aW5nIn0.forged.signature")
    assert client.get("/").status_code == 401
    client.cookies.clear()
    assert _login(client, "wrong").status_code == 401


def test_login_then_pages_downloads_and_docs(home):
    app = create_app(home)
    client = TestClient(app)
    resp = _login(client, app.state.auth.password())
    assert resp.status_code == 303 and resp.headers["location"] == "/ky/2021-H1"
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Đạt" in page.text and "Số liệu chốt ngày 15/07/2021" in page.text
    # the revision, as the report words it (no snapshot here: the indicator is named by its code)
    assert "Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34" in page.text
    assert "Đã phát hành lúc 16/07/2021 09:00" in page.text
    # a person's words: no raw ISO timestamp, no technical file name as a link's text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", page.text)
    assert ">Số liệu theo mẫu của hợp đồng (CSV)</a>" in page.text and ">indicators.csv</a>" not in page.text
    # the warnings: counted as the report's list (one line per unit and kind), with its Data Docs note
    assert 'href="/ky/2021-H1#canh-bao">1</a>' in page.text
    # Data Docs mark a suite ✗ whatever the severity: the page says so, and which checks only warn
    assert "Data Docs không phân biệt" in page.text and "(nộp muộn, số liệu bất thường)" in page.text
    assert client.get("/tai-ve/2021-H1/indicators.csv").text.startswith("report_period")
    assert client.get("/tai-ve/2021-H1/indicators.xlsx", params={"ban": "as_of_2021-07-15"}).content == b"PK as-of"
    assert client.get("/tai-ve/2021-H1/indicators.csv", params={"ban": "issued/20210716T090000+0700"}).text == "x\n"
    for bad in ({"ban": "../../secrets"}, {"ban": "issued/../../../secrets"}):
        assert client.get("/tai-ve/2021-H1/pseudonym.key", params=bad).status_code == 404
    assert client.get("/tai-ve/2021-H1/..%2F..%2Fsecrets%2Fpseudonym.key").status_code == 404
    assert client.get("/gx/..%2Fsecrets%2Fpseudonym.key").status_code == 404
    assert client.get("/dbt/..%2Fsecrets%2Fpseudonym.key").status_code == 404
    assert client.get("/ky/2021-H1'%20or%201=1").status_code == 404  # parameters are validated, then bound
    manifest = client.get("/dbt/manifest.json").json()
    assert "compiled_code" not in json.dumps(manifest) and "env" not in manifest["metadata"]
    gx = client.get("/gx/").text
    assert "https://" not in gx and "/static/vendor/jquery-3.7.1/jquery.min.js" in gx
    assert client.get("/static/vendor/jquery-3.7.1/jquery.min.js").status_code == 200
    # an open redirect through `next` is not possible
    client.cookies.clear()
    resp = client.post("/dang-nhap", data={"password": app.state.auth.password(), "next": "//evil.example/"},
                       follow_redirects=False)
    assert resp.headers["location"] == "/"


def test_the_vendored_assets_cover_every_cdn_url_of_the_installed_data_docs_templates():
    import great_expectations

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    urls = set()
    for f in templates.glob("*.j2"):
        urls |= set(re.findall(r'(?:src|href)="(https?://[^"]+\.(?:js|css)|https://cdn\.jsdelivr\.net/npm/[^"]+)"',
                               f.read_text(encoding="utf-8")))
    assert urls, "the GX templates moved"
    assert urls <= set(CDN_ASSETS), sorted(urls - set(CDN_ASSETS))
    for rel in CDN_ASSETS.values():
        assert (VENDOR / rel).is_file(), rel
        assert any(p.name.upper().startswith("LICENSE") for p in (VENDOR / rel.split("/")[0]).iterdir()), rel
    html = "".join(f'<script src="{u}"></script>' for u in urls)
    assert "https://" not in localise(html)


def test_unit_codes_of_both_sides_of_the_2025_reform_are_accepted():
    """Districts (3 digits) up to 2025-06, communes and wards (5 digits) from 2025-07; nothing else."""
    from dolisa.desk.data import UNIT_RE

    assert all(UNIT_RE.match(c) for c in ("04", "045", "01273"))
    assert not any(UNIT_RE.match(c) for c in ("4", "0451", "012734", "01273/../x"))


def test_feedback_pages_show_each_units_sheet_and_whether_it_was_sent(home):
    import datetime as dt

    from dolisa import feedback as fb

    root = home / "reports" / "feedback"
    sheet = fb.UnitFeedback("01273", "Phường Tân Giang", dt.date(2025, 9, 21), versions=[{
        "submission_id": "01273-2025-08-v1", "period": "2025-08", "version": 1, "submitted_at": None,
        "status": "rejected", "status_vi": "bị từ chối", "in_force": False, "after_deadline": True,
        "rows_loaded": 0, "rows_quarantined": 0, "reason_vi": "Tệp job_placements.csv: thiếu cột bắt buộc country_code",
        "fix_vi": "Thêm cột country_code vào dòng tiêu đề của tệp, rồi gửi lại thành một phiên bản mới."}],
        missing=[{"period": "2025-08", "deadline": "2025-09-05", "overdue": True}])
    fb.write(sheet, root)
    other = fb.UnitFeedback("040", "Thành phố Cao Bằng", dt.date(2025, 9, 21))
    fb.write(other, root)

    def refuse(**_):
        raise ConnectionRefusedError("SMTP down")

    fb.deliver(root, {"01273": ["p.tangiang@caobang.gov.vn"]}, refuse)
    app = create_app(home)
    client = TestClient(app)
    _login(client, app.state.auth.password())
    page = client.get("/phan-hoi")
    assert page.status_code == 200
    assert "Phường Tân Giang (01273)" in page.text and "sẽ gửi lại đêm sau" in page.text
    assert "chưa có địa chỉ thư của đơn vị" in page.text  # 040: written only
    unit = client.get("/phan-hoi/01273")
    assert unit.status_code == 200 and "Cách khắc phục: Thêm cột country_code" in unit.text
    assert "ConnectionRefusedError" in unit.text
    xlsx = client.get("/phan-hoi/01273/2025-09-21/tai-ve")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/phan-hoi/01273/..%2F..%2Fsecrets/tai-ve").status_code == 404
    assert client.get("/phan-hoi/9999").status_code == 404
    fb.deliver(root, {"01273": ["p.tangiang@caobang.gov.vn"]}, lambda **_: None)  # the next night: sent
    assert "Đã gửi (p.tangiang@caobang.gov.vn)" in client.get("/phan-hoi").text
