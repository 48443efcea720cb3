"""The reporting team's desk in a real browser (Playwright + Debian's chromium).

Once per session a small real DOLISA_HOME is built: the demo hub (real HTTP server) for
2021-01..2021-06, then the pipeline stages through the CLI (extract, load, dbt, publish,
report 2021-H1, dbt docs). The desk runs on uvicorn over it. The test clicks
province → district → month → version and checks the figures against indicators.csv and
the raw zone's manifests, opens the Data Docs with every outside request blocked,
downloads the XLSX, looks for personal data on every page, and checks that a request
without the login is refused. Screenshots go to test-output/desk/ (git-ignored).
"""

from __future__ import annotations

import csv
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import openpyxl
import pytest

from dolisa import contract
from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa.report.formats import fmt_int

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUT = ROOT / "test-output" / "desk"
TOKEN = "desk-test-token"
PERIOD = "2021-H1"
INDICATOR = "LAB_VOC_NEW_SOCAP"  # a flow count: the half is the sum of its months


def _run(env: dict, *args: str) -> None:
    proc = subprocess.run([str(BIN / "dolisa"), *args], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"dolisa {' '.join(args)}:\n{proc.stderr[-4000:]}"


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """A small real DOLISA_HOME: six months through every stage, the report and both docs."""
    base = tmp_path_factory.mktemp("desk")
    store = base / "store"
    generate(store, first="2021-01", last="2021-06")
    home = base / "home"
    env = dict(os.environ)
    env.update({"DOLISA_HOME": str(home), "DOLISA_PSEUDONYM_KEY": "desk-test-key-not-a-secret",
                "NO_PROXY": "127.0.0.1,localhost"})
    env.pop("DOLISA_DESK_PASSWORD", None)
    with start_server(store, token=TOKEN) as hub:
        env["AIRFLOW_CONN_DISTRICT_EXPORT_API"] = f"http://:{TOKEN}@127.0.0.1:{hub.port}"
        _run(env, "run", "--periods", "2021-01..2021-06", "--report-period", PERIOD)
    _run(env, "transform", "--docs")
    _run(env, "publish")
    assert (home / "reports" / PERIOD / "indicators.csv").exists()
    return home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def desk(home):
    import uvicorn

    from dolisa.desk import create_app

    app = create_app(home)
    password = app.state.auth.password()  # first use: the secret store file is created, owner-only
    secret = home / "secrets" / "desk_password"
    assert secret.read_text().strip() == password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", password
    server.should_exit = True
    thread.join(timeout=10)


def _personal_values(home: Path) -> set[str]:
    """Every full name and citizen id of the raw files (as loaded, and as quarantined)."""
    values: set[str] = set()
    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        for ds in contract.datasets().values():
            for c in ds.columns:
                if c.personal:
                    values |= {v for (v,) in con.execute(
                        f"select distinct {c.name} from raw.{ds.name} where {c.name} is not null").fetchall()}
        personal = {c.name for ds in contract.datasets().values() for c in ds.columns if c.personal}
        for (record,) in con.execute("select record from meta.quarantined_rows").fetchall():
            values |= {str(v) for k, v in json.loads(record).items() if k in personal and v}
    finally:
        con.close()
    return {v.strip() for v in values if len(v.strip()) >= 6}


def _leaks(content: str, personal: set[str]) -> list[str]:
    """The personal values found in a page: every run of 1..5 words of the page (a name has
    2..5 words, an id is one) looked up in the set, so a page is scanned once."""
    import re

    words = re.findall(r"\w+", content)
    found = set()
    for n in range(1, 6):
        for i in range(len(words) - n + 1):
            candidate = " ".join(words[i:i + n])
            if candidate in personal:
                found.add(candidate)
    return sorted(found)


def _indicators_csv(home: Path) -> dict[tuple[str, str], dict]:
    with open(home / "reports" / PERIOD / "indicators.csv", encoding="utf-8") as fh:
        return {(r["indicator_code"], r["unit_code"]): r for r in csv.DictReader(fh)}


def _login(page, base: str, password: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def _shot(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def test_trace_a_figure_download_and_no_personal_data(home, desk, browser, tmp_path):
    base, password = desk
    figures = _indicators_csv(home)
    personal = _personal_values(home)
    assert len(personal) > 100  # the raw files do carry names and ids
    ctx = browser.new_context(accept_downloads=True)
    page = ctx.new_page()
    pages: dict[str, str] = {}

    def visit(name: str) -> None:
        page.wait_for_load_state("load")
        pages[name] = page.content()
        _shot(page, name)

    _login(page, base, password)
    visit("01_periods")
    row = page.locator("#periods tr", has_text=PERIOD)
    assert "Đạt" in row.inner_text()
    import re

    home_text = page.inner_text("body")  # a person's words: no raw ISO timestamp, no technical file name
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", home_text) and "indicators.xlsx" not in home_text

    page.click(f"#periods a[href='/ky/{PERIOD}']")
    visit("02_report")
    province = figures[(INDICATOR, contract.PROVINCE_CODE)]
    cell = page.locator(f"#summary tr[data-code={INDICATOR}] a.figure")
    assert cell.inner_text() == fmt_int(float(province["value"]))
    warnings = page.locator("#findings-warnings").inner_text()
    assert "[" not in warnings and "submitted" not in warnings  # Vietnamese, not the gate's English
    # the same list the report folder published (warnings.csv), in its order
    with open(home / "reports" / PERIOD / "warnings.csv", encoding="utf-8") as fh:
        published = [r["message_vi"] for r in csv.DictReader(fh)]
    shown = page.locator("#findings-warnings tbody tr td:last-child").all_inner_texts()
    assert shown == published and published

    # the report table's figures, every one of them, are indicators.csv's
    for code_row in page.locator("#summary tr[data-code]").all():
        code = code_row.get_attribute("data-code")
        shown = code_row.locator("a.figure").inner_text()
        value = figures[(code, contract.PROVINCE_CODE)]["value"]
        if value == "":
            assert shown == "—"
        elif not code.endswith("_VND") and not code.endswith("_PCT"):
            assert shown == fmt_int(float(value)), code

    # province -> district
    cell.click()
    visit("03_by_district")
    districts = [u.unit_code for u in contract.reporting_units("2021-06")]
    for unit in districts:
        shown = page.locator(f"#by-unit tr[data-unit='{unit}'] td.num").first.inner_text()
        assert shown == fmt_int(float(figures[(INDICATOR, unit)]["value"])), unit
    # the district with two versions in one month (the demo's re-submission)
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        unit, month = con.execute(
            """select current_unit_code, period from marts.fct_submission_versions
               where half_year = ? group by all having count(*) > 1 order by 1, 2 limit 1""", [PERIOD]).fetchone()
    finally:
        con.close()
    page.click(f"#by-unit tr[data-unit='{unit}'] a.figure")
    visit("04_by_month")
    assert page.locator("#unit-value").inner_text() == fmt_int(float(figures[(INDICATOR, unit)]["value"]))
    month_values = [int(t.replace(".", "")) for t in
                    page.locator("#by-month tr[data-period] td.month-value").all_inner_texts()]
    assert len(month_values) == 6 and sum(month_values) == int(float(figures[(INDICATOR, unit)]["value"]))
    contributions = [int(t.replace(".", "")) for t in
                     page.locator("#by-month tr[data-period] td.contribution").all_inner_texts()]
    assert contributions == month_values  # a flow: every month adds its own value
    assert page.locator("#month-total").inner_text() == fmt_int(float(figures[(INDICATOR, unit)]["value"]))

    # district -> month -> versions (in force and every earlier one, as in the raw zone's manifests)
    page.click(f"#by-month tr[data-period='{month}'] a.month")
    visit("05_versions")
    manifests = sorted((home / "raw" / unit / month).glob("*/manifest.json"))
    assert len(manifests) >= 2
    shown_versions = page.locator("section.version").evaluate_all("els => els.map(e => e.dataset.version)")
    expected_versions = sorted((json.loads(m.read_text())["version"] for m in manifests), reverse=True)
    assert [int(v) for v in shown_versions] == expected_versions
    in_force = page.locator("section.version.in-force")
    assert in_force.count() == 1 and "đang có hiệu lực" in in_force.inner_text()
    assert "nan" not in page.inner_text("body").split() and "lỗi kỹ thuật" not in page.inner_text("body")
    for m in manifests:
        info = json.loads(m.read_text())
        section = page.locator(f"section.version[data-version='{info['version']}']")
        text = section.inner_text()
        assert info["submission_id"] in text
        for f in info.get("files", []):
            name = f.get("name") or f.get("file_name")
            if name:
                assert name in text, name

    # a rejected version: every file says what happened to it, in Vietnamese (issue 31: "not_loaded:
    # lỗi kỹ thuật: nan" on every row, and "Được chấp nhận: lỗi kỹ thuật: nan" on the version in force)
    page.goto(f"{base}/nop/045/2021-04")
    visit("05b_rejected_version")
    text = page.inner_text("body")
    assert "nan" not in text.split() and "lỗi kỹ thuật" not in text and "not_loaded" not in text
    assert page.locator("section.version[data-version='2'] tr[data-status='not_loaded']").count() > 0
    assert "Không nạp" in page.locator("section.version[data-version='2'] .files").inner_text()
    assert page.locator("section.version.in-force .version-status").inner_text() == "Được chấp nhận"

    # the feedback text in a font that has the Vietnamese letters (a <pre> took the monospace one)
    page.goto(f"{base}/phan-hoi/045")
    visit("05c_feedback")
    font = page.locator("pre.feedback-text").first.evaluate("e => getComputedStyle(e).fontFamily")
    assert "DejaVu Sans" in font and "Mono" not in font and "monospace" not in font

    # the heatmap
    page.goto(f"{base}/ky/{PERIOD}/chat-luong")
    visit("06_quality")
    assert page.locator("#heatmap td.status").count() == 6 * len(districts)

    # downloads: the XLSX opens, with the province figure in the summary
    page.goto(f"{base}/ky/{PERIOD}")
    with page.expect_download() as dl:
        page.click("a.dl[data-file='indicators.xlsx']")
    xlsx = tmp_path / "downloaded.xlsx"
    dl.value.save_as(xlsx)
    wb = openpyxl.load_workbook(xlsx)
    cells = {str(c) for r in wb["Tổng hợp"].iter_rows(values_only=True) for c in r if c is not None}
    assert fmt_int(float(province["value"])) in cells
    warn_cells = [str(c) for r in wb["Cảnh báo"].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert not any(c.startswith("[") for c in warn_cells)
    for name in ("indicators.csv", "indicators_annex.docx"):
        resp = ctx.request.get(f"{base}/tai-ve/{PERIOD}/{name}")
        assert resp.status == 200 and len(resp.body()) > 100, name

    # the dbt docs, served over HTTP
    page.goto(f"{base}/dbt/#!/model/model.dolisa.agg_labour_unit_months")
    page.wait_for_function("document.body.innerText.includes('source_unit_code')", timeout=30000)
    visit("08_dbt_docs")

    # no page carries a name or a citizen id of the raw files
    for name, content in pages.items():
        leaked = _leaks(content, personal)
        assert not leaked, f"{name}: {leaked[:3]}"
    ctx.close()


def test_data_docs_render_with_outside_network_blocked(desk, browser, home):
    base, password = desk
    ctx = browser.new_context()
    blocked: list[str] = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    page = ctx.new_page()
    _login(page, base, password)
    page.goto(base + "/gx/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof jQuery") == "function"
    assert page.evaluate("typeof jQuery.fn.bootstrapTable") == "function"
    _shot(page, "07_data_docs_index")
    rows = page.locator("tr[data-href*='validations/']")
    assert rows.count() > 0
    rows.first.click()  # a row of the validation results table (bootstrap-table, vendored) opens it
    page.wait_for_url("**/validations/**")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof vegaEmbed") == "function"
    body = page.inner_text("body")
    assert "Expectation Validation Result" in body and "Successful Expectations" in body
    assert page.locator("table").count() > 2  # the results, rendered
    _shot(page, "07_data_docs_validation")
    personal = _personal_values(home)
    assert not _leaks(page.content(), personal)
    # every validation result listed on the index's first page, failed ones included
    page.goto(base + "/gx/")
    page.wait_for_load_state("networkidle")
    hrefs = page.locator("tr[data-href*='validations/']").evaluate_all("rs => rs.map(r => r.dataset.href)")
    for href in hrefs:
        page.goto(base + "/gx/" + href)
        assert "Expectation Validation Result" in page.inner_text("body")
        assert not _leaks(page.content(), personal), href
    # the dbt docs too: one self-contained page reading manifest.json and catalog.json over HTTP
    page.goto(f"{base}/dbt/#!/model/model.dolisa.rpt_indicators")
    page.wait_for_function("document.body.innerText.includes('indicator_code')", timeout=30000)
    assert blocked == [], blocked  # nothing needed the internet
    ctx.close()


def test_requests_without_the_login_are_refused(desk, browser):
    base, _ = desk
    ctx = browser.new_context()
    page = ctx.new_page()
    for path in ("/", f"/ky/{PERIOD}", f"/tai-ve/{PERIOD}/indicators.xlsx", "/gx/", "/dbt/manifest.json",
                 "/nop/040/2021-03"):
        resp = page.goto(base + path)
        assert resp.status == 401, path
        assert page.locator("input[name=password]").count() == 1
        assert "Tổng hợp" not in page.content()
    _shot(page, "00_login")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Sai mật khẩu."
    forged = ctx.request.get(base + "/", headers={"Cookie": "dolisa_desk=eyJ1IjoicmVwb3J0aW5nIn0.forged.sig"})
    assert forged.status == 401
    ctx.close()


def test_breakdowns_show_figures_only_with_small_sensitive_cells_marked(desk, browser, home):
    """A unit's breakdowns as the reporting team sees them: every shown cell is the published
    figure, no sensitive count from 1 to 4 appears, hidden cells read 'x' with the legend."""
    base, password = desk
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, password)
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        unit, month = con.execute(
            """select unit_code, max(period) from marts.agg_child_welfare_unit_month_breakdowns
               where half_year = ? and flag = 'x' group by unit_code order by unit_code limit 1""", [PERIOD]).fetchone()
        published = {(d, b, c): (n, f) for d, b, c, n, f in con.execute(
            """select dataset, breakdown, category, records, flag from (
                   select * from marts.agg_labour_unit_month_breakdowns union all
                   select * from marts.agg_social_protection_unit_month_breakdowns union all
                   select * from marts.agg_child_welfare_unit_month_breakdowns)
               where unit_code = ? and period = ?""", [unit, month]).fetchall()}
    finally:
        con.close()
    page.goto(f"{base}/ky/{PERIOD}/phan-to/{unit}")
    _shot(page, "09_breakdowns")
    assert "x: số liệu được ẩn để bảo vệ thông tin cá nhân" in page.locator("#legend").inner_text()
    shown = 0
    for table in page.locator("table.breakdown").all():
        dataset, breakdown = table.get_attribute("data-dataset"), table.get_attribute("data-breakdown")
        for row in table.locator("tr[data-category]").all():
            text = row.locator("td.num").inner_text()
            records, flag = published[(dataset, breakdown, row.get_attribute("data-category"))]
            if flag == "x":
                assert text == "x"
            else:
                assert text == fmt_int(records), (dataset, breakdown)
                if "sensitive" in (row.get_attribute("class") or ""):
                    assert not 1 <= records <= 4
            shown += 1
    assert shown == len(published) and "nan" not in page.inner_text("main")
    ctx.close()
