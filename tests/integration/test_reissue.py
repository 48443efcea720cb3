"""Re-issuing a report as it stood on a date, and explaining every revision since (contract §6).

Real demo hub (HTTP, its clock `available_at`), real pipeline stages, real DuckDB and dbt.
The generated months 2020-06..2021-06 are the background; a few unit-months are replaced by
tiny hand-made files so that every expected figure below is computed by hand:

  040 2021-05  v1 (on time): 2 job placements, both DOMESTIC
               v2 (2021-08-05, after D): 5 placements, 4 DOMESTIC + 1 ABROAD  -> flow +3
  042 2021-06  v1 (on time): register of 3 ACTIVE beneficiaries
               v2 (2021-08-06): 4 ACTIVE + 1 STOPPED in June               -> stock +1
  048 2021-06  v1 only on 2021-08-03 (late first submission): 2 SO_CAP enrolments
  043 2020-06  v2 (2021-08-07): register of 2 ACTIVE (last year's month: same period only)
  045 2020-12  v2 (2021-08-08): 1 placement (outside the half and its same period: nothing)

The report is issued on D = 2021-07-31 (hub clock 18:00 that day, an incomplete report:
048 had not sent June), then the revisions arrive and the report is run again with as_of D.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import shutil
import stat
from pathlib import Path

import pytest

from dolisa import cli, contract, pipeline, reissue
from dolisa.extract import HubConfig
from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore
from dolisa.settings import Paths

pytestmark = pytest.mark.slow

TZ = dt.timezone(dt.timedelta(hours=7))
TOKEN = "reissue-token-5c1"
PERIODS = contract.period_range("2020-06", "2021-06")
RP = "2021-H1"
D = dt.date(2021, 7, 31)
ISSUED_AT = dt.datetime(2021, 7, 31, 18, 0, tzinfo=TZ)

JP_HEADER = "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code"
SA_HEADER = ("beneficiary_id,citizen_id,full_name,sex,birth_date,category,monthly_amount_vnd,approved_on,"
             "status,stopped_on")
VE_HEADER = ("enrolment_id,citizen_id,full_name,sex,birth_date,training_level,occupation,institution_code,"
             "enrolled_on,is_rural_worker")


def placements(period: str, destinations: list[str]) -> bytes:
    lines = [JP_HEADER]
    for i, dest in enumerate(destinations, start=1):
        country = "JP" if dest == "ABROAD" else ""
        lines.append(f"T{i},0010900{i:05d},Nông Văn Thử {i},M,1990-01-0{i},{period}-1{i},{dest},,{country}")
    return ("\n".join(lines) + "\n").encode()


def register(rows: list[tuple[str, str]], period: str) -> bytes:
    lines = [SA_HEADER]
    for i, (bid, status) in enumerate(rows, start=1):
        stopped = f"{period}-15" if status == "STOPPED" else ""
        lines.append(f"{bid},0010400{i:05d},Hoàng Thị Thử {i},F,1935-03-0{i},ELDERLY_80PLUS,405000,2015-03-01,"
                     f"{status},{stopped}")
    return ("\n".join(lines) + "\n").encode()


def enrolments(period: str, n: int) -> bytes:
    lines = [VE_HEADER] + [f"V{i},0012000{i:05d},Lý Văn Thử {i},M,2000-05-0{i},SO_CAP,,,{period}-1{i},"
                           for i in range(1, n + 1)]
    return ("\n".join(lines) + "\n").encode()


def at(*t) -> dt.datetime:
    return dt.datetime(*t, tzinfo=TZ)


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def by_key(rows):
    return {(r["indicator_code"], r["unit_code"]): r for r in rows}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Issue the report on D, let the revisions arrive, run the report with as_of D."""
    tmp = tmp_path_factory.mktemp("reissue")
    root = tmp / "store"
    generate(root, first="2020-06", last="2021-06", scale=0.1)
    store = HubStore(root)
    first_at = {(u, pr): store.listing(u, pr)[0]["submitted_at"] for u, pr in [("040", "2021-05"), ("042", "2021-06")]}
    # hand-made unit-months (they replace the generated version 1)
    store.add_submission("040", "2021-05", 1, dt.datetime.fromisoformat(first_at["040", "2021-05"]),
                         {"job_placements.csv": placements("2021-05", ["DOMESTIC", "DOMESTIC"])})
    store.add_submission("042", "2021-06", 1, dt.datetime.fromisoformat(first_at["042", "2021-06"]),
                         {"social_allowance_register.csv": register([("B1", "ACTIVE"), ("B2", "ACTIVE"),
                                                                     ("B3", "ACTIVE")], "2021-06")})
    store.add_submission("048", "2021-06", 1, at(2021, 8, 3, 9, 0), {"vocational_enrolments.csv": enrolments("2021-06", 2)})
    # revisions after D
    store.add_submission("040", "2021-05", 2, at(2021, 8, 5, 10, 0),
                         {"job_placements.csv": placements("2021-05", ["DOMESTIC"] * 4 + ["ABROAD"])})
    store.add_submission("042", "2021-06", 2, at(2021, 8, 6, 10, 0),
                         {"social_allowance_register.csv": register([("B1", "ACTIVE"), ("B2", "ACTIVE"), ("B3", "ACTIVE"),
                                                                     ("B4", "ACTIVE"), ("B5", "STOPPED")], "2021-06")})
    store.add_submission("043", "2020-06", 2, at(2021, 8, 7, 10, 0),
                         {"social_allowance_register.csv": register([("S1", "ACTIVE"), ("S2", "ACTIVE")], "2020-06")})
    store.add_submission("045", "2020-12", 2, at(2021, 8, 8, 10, 0), {"job_placements.csv": placements("2020-12", ["DOMESTIC"])})
    store.save()

    home = tmp / "home"
    out: dict = {"home": home}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOLISA_HOME", str(home))
        mp.setenv("DOLISA_PSEUDONYM_KEY", "reissue-test-key-not-a-secret")
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        p = Paths(home)
        with start_server(root, token=TOKEN, available_at=ISSUED_AT) as hub:
            cfg = HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{hub.port}")
            # 1. the report as issued on D (048 had not sent June: issued as incomplete)
            pipeline.extract(PERIODS, cfg, p)
            pipeline.load(PERIODS, p)
            pipeline.transform(p)
            out["issued"] = reissue.report_with_as_of(RP, None, allow_incomplete=True, p=p, issued_at=ISSUED_AT)
            # 2. the revisions and the late June of 048 arrive
            hub.available_at = None
            pipeline.extract(PERIODS, cfg, p)
            pipeline.load(PERIODS, p)
            pipeline.transform(p)
        # 3. the current report (now complete) and the report as of D
        out["now"] = reissue.report_with_as_of(RP, D.isoformat(), allow_incomplete=True, p=p)
        out["allowed"] = tmp / "as_of_allowed"  # step 4 writes the same folder: keep what step 3 wrote
        shutil.copytree(home / "reports" / RP / f"as_of_{D.isoformat()}", out["allowed"])
        # 4. the same as of D under the normal gate: blocked (048 June missing on D), no exception
        out["blocked"] = reissue.reissue(RP, D, p=p)
        # 5. as of today, from the command line: the current report itself
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert cli.main(["report", RP, "--as-of", reissue.today_hcm().isoformat()]) == 0
        text = "\n" + buf.getvalue()  # dbt logs to stdout too: the CLI's JSON is printed last
        out["today"] = json.loads(text[text.rindex("\n{") + 1:])["as_of"]
    return out


def as_of_folder(run, day: dt.date) -> Path:
    """The as-of folder; for D, the one the run with allow_incomplete wrote (step 3)."""
    if day == D:
        return run["allowed"]
    return run["home"] / "reports" / RP / f"as_of_{day.isoformat()}"


def revisions(run) -> list[dict[str, str]]:
    return read_csv(as_of_folder(run, D) / "revisions.csv")


def test_issued_copy_is_immutable_with_its_manifest(run):
    issued = Path(run["issued"]["issued"])
    assert issued.parent.name == "issued" and issued.parent.parent.name == RP
    manifest = json.loads((issued / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["issue_date"] == "2021-07-31"
    in_force = {(s["unit_code"], s["period"]): s["version"] for s in manifest["submissions_in_force"]}
    assert in_force[("040", "2021-05")] == 1 and in_force[("042", "2021-06")] == 1
    assert ("048", "2021-06") not in in_force
    import hashlib

    for name, digest in manifest["files"].items():
        assert hashlib.sha256((issued / name).read_bytes()).hexdigest() == digest
    assert "indicators.csv" in manifest["files"]
    for f in issued.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o444, f
    # the current reports written later (steps 3 and 5) kept their own issued copies too
    assert len(reissue.issued_copies(RP, Paths(run["home"]))) == 3


def test_as_of_the_issue_date_reproduces_the_issued_report_byte_for_byte(run):
    issued = Path(run["issued"]["issued"])
    reproduced = as_of_folder(run, D) / "indicators.csv"
    assert reproduced.read_bytes() == (issued / "indicators.csv").read_bytes()
    current = run["home"] / "reports" / RP / "indicators.csv"
    assert current.read_bytes() != reproduced.read_bytes()  # the figures have moved since


def test_revisions_header_and_flow_revision(run):
    text = (as_of_folder(run, D) / "revisions.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(reissue.REVISIONS_HEADER)
    rows = revisions(run)
    now = by_key(read_csv(run["home"] / "reports" / RP / "indicators.csv"))
    then = by_key(read_csv(as_of_folder(run, D) / "indicators.csv"))
    # 040 May: 2 placements (2 domestic) -> 5 (4 domestic, 1 abroad)
    for code, moved in (("LAB_JOB_PLACEMENTS", 3), ("LAB_JOB_PLACEMENTS_DOMESTIC", 2), ("LAB_JOB_PLACEMENTS_ABROAD", 1)):
        for unit in ("040", "04"):
            [r] = [r for r in rows if r["indicator_code"] == code and r["unit_code"] == unit]
            assert (r["source_unit_code"], r["source_period"], r["version_as_of"], r["version_now"]) == \
                ("040", "2021-05", "1", "2")
            assert int(r["contribution"]) == moved and int(r["delta"]) == moved
            assert int(r["value_now"]) - int(r["value_as_of"]) == moved
            assert r["value_now"] == now[(code, unit)]["value"] and r["value_as_of"] == then[(code, unit)]["value"]


def test_late_first_submission_has_no_version_as_of(run):
    rows = [r for r in revisions(run) if r["source_unit_code"] == "048"]
    assert {r["source_period"] for r in rows} == {"2021-06"}
    assert all(r["version_as_of"] == "" and r["version_now"] == "1" for r in rows)
    socap = {r["unit_code"]: r for r in rows if r["indicator_code"] == "LAB_VOC_NEW_SOCAP"}
    assert set(socap) == {"048", "04"}
    assert all(int(r["contribution"]) == 2 and int(r["delta"]) == 2 for r in socap.values())
    # the stock of 048 had no data as of D (no June) and is 0 now: listed, with no number to add
    [stock] = [r for r in rows if r["indicator_code"] == "SP_ALLOWANCE_ACTIVE"]
    assert (stock["unit_code"], stock["value_as_of"], stock["value_now"], stock["delta"], stock["contribution"]) == \
        ("048", "", "0", "", "")


def test_stock_revision(run):
    rows = [r for r in revisions(run) if r["indicator_code"] == "SP_ALLOWANCE_ACTIVE" and r["source_unit_code"] == "042"]
    assert {r["unit_code"] for r in rows} == {"042", "04"}
    for r in rows:  # 3 ACTIVE -> 4 ACTIVE + 1 STOPPED
        assert (r["source_period"], r["version_as_of"], r["version_now"]) == ("2021-06", "1", "2")
        assert int(r["contribution"]) == 1 and int(r["delta"]) == 1
    [district] = [r for r in rows if r["unit_code"] == "042"]
    assert (district["value_as_of"], district["value_now"]) == ("3", "4")


def test_last_years_month_moves_only_the_same_period_value(run):
    assert not [r for r in revisions(run) if r["source_period"] == "2020-06"]
    now = by_key(read_csv(run["home"] / "reports" / RP / "indicators.csv"))
    then = by_key(read_csv(as_of_folder(run, D) / "indicators.csv"))
    assert now[("SP_ALLOWANCE_ACTIVE", "043")]["same_period_value"] == "2"
    assert then[("SP_ALLOWANCE_ACTIVE", "043")]["same_period_value"] != "2"
    assert all(now[k]["value"] == then[k]["value"] for k in now if k[1] == "043")


def test_a_month_outside_the_half_produces_nothing(run):
    assert not [r for r in revisions(run) if r["source_period"] == "2020-12"]
    now = by_key(read_csv(run["home"] / "reports" / RP / "indicators.csv"))
    then = by_key(read_csv(as_of_folder(run, D) / "indicators.csv"))
    assert all(now[k] == then[k] for k in now if k[1] == "045")


def test_flow_contributions_add_up_to_the_delta(run):
    kinds = {}
    for r in read_csv(run["home"] / "reports" / RP / "indicators.csv"):
        kinds[r["indicator_code"]] = r
    rows = revisions(run)
    flows = {"LAB_JOB_PLACEMENTS", "LAB_JOB_PLACEMENTS_DOMESTIC", "LAB_JOB_PLACEMENTS_ABROAD", "LAB_VOC_NEW_SOCAP",
             "LAB_VOC_NEW_ALL"}
    groups: dict = {}
    for r in rows:
        if r["indicator_code"] in flows:
            groups.setdefault((r["indicator_code"], r["unit_code"]), []).append(r)
    assert ("LAB_JOB_PLACEMENTS", "04") in groups and ("LAB_VOC_NEW_ALL", "04") in groups
    for key, rs in groups.items():
        assert sum(int(r["contribution"]) for r in rs) == int(rs[0]["delta"]), key
    # every changed value is explained, nothing else is listed
    now = by_key(read_csv(run["home"] / "reports" / RP / "indicators.csv"))
    then = by_key(read_csv(as_of_folder(run, D) / "indicators.csv"))
    changed = {k for k in now if now[k]["value"] != then[k]["value"]}
    assert {(r["indicator_code"], r["unit_code"]) for r in rows} == changed


def test_human_facing_files_state_the_date_and_list_the_revisions(run):
    import docx
    import openpyxl

    folder = as_of_folder(run, D)
    wb = openpyxl.load_workbook(folder / "indicators.xlsx", read_only=True)
    texts = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("31/07/2021" in t for t in texts)
    assert any("Điều chỉnh số liệu".upper() in t.upper() for t in [*wb.sheetnames, *texts])
    assert any("tháng 5/2021: phiên bản 1 → 2, +3" in t for t in texts), [t for t in texts if "phiên bản" in t][:5]
    doc = docx.Document(str(folder / "indicators_annex.docx"))
    body = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "31/07/2021" in body and "Điều chỉnh số liệu".upper() in body.upper()
    assert "tháng 6/2021: phiên bản 1 → 2, +1" in body


def test_blocked_as_of_report_writes_no_indicators_and_says_why(run):
    assert run["blocked"]["report"] is None
    folder = run["home"] / "reports" / RP / f"as_of_{D.isoformat()}"
    # the blocked run wrote where the allowed one had written: nothing may look current there
    assert not (folder / "indicators.csv").exists() and not (folder / "revisions.csv").exists()
    gate = json.loads((folder / "quality_gate.json").read_text(encoding="utf-8"))
    assert gate["passed"] is False and gate["as_of"] == D.isoformat()
    assert any(f.get("unit_code") == "048" and f.get("period") == "2021-06" for f in gate["blocking"])
    assert Path(gate["data_docs"]).is_file()  # the as-of gate's Data Docs are kept (restricted zone)
    assert (run["home"] / "reports" / RP / "indicators.csv").exists()  # the current report is unaffected


def test_as_of_today_is_the_current_report(run):
    folder = as_of_folder(run, reissue.today_hcm())
    assert (folder / "indicators.csv").read_bytes() == (run["home"] / "reports" / RP / "indicators.csv").read_bytes()
    assert (folder / "revisions.csv").read_text(encoding="utf-8") == ",".join(reissue.REVISIONS_HEADER) + "\n"
    assert run["today"]["scenarios"] == 0
