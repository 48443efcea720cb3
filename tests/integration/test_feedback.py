"""Each reporting unit's Vietnamese feedback after a night (issue 23): what was received,
rejected or quarantined, why and how to fix it, and which months are missing; sent to the
unit's address over the failure notifier's SMTP connection, to a real SMTP server
(aiosmtpd) started by the test. A failed send never fails the run and is retried the next
night. No name or citizen id of a file with shifted columns reaches a sheet or an e-mail.

Real hub, real DuckDB file, real dbt; the CLI runs in subprocesses.
"""

from __future__ import annotations

import datetime as dt
import email
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TOKEN = "fb-token-23"
PERIODS = ("2021-05", "2021-06")
TZ = dt.timezone(dt.timedelta(hours=7))

NAMES = ("Đàm Thị Phảnhồi", "Hoàng Văn Góiý")
IDS = ("039911122233", "039944455566")
# columns shifted: names and citizen ids land in the id, sex, date, code and country columns
SHIFTED = (
    "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code\n"
    f"FB1,{NAMES[0]},{IDS[0]},M,1990-01-01,2021-06-03,DOMESTIC,,\n"
    f"FB2,{IDS[1]},M,{NAMES[1]},1990-01-01,2021-06-03,{IDS[0]},,\n"
    f"FB3,{IDS[1]},Ba,F,{NAMES[0]},2021-06-03,DOMESTIC,,{NAMES[1]}\n"
    "OK1,012345678901,Lò Văn Ba,M,1990-01-01,2021-06-03,DOMESTIC,,\n"
).encode()
NO_COUNTRY = (
    "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name\n"
    "NC1,012345678902,Lò Văn Bốn,M,1990-01-01,2021-06-03,DOMESTIC,\n"
).encode()
ADDRESSES = {"040": "ldtbxh.hoaan@caobang.gov.vn", "042": "ldtbxh.baolam@caobang.gov.vn",
             "053": "ldtbxh.thachan@caobang.gov.vn"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub") / "store"
    generate(root, first=PERIODS[0], last=PERIODS[1])
    store = HubStore(root).load()
    at = dt.datetime(2021, 7, 4, 9, 0, tzinfo=TZ)
    store.add_submission("040", "2021-06", max(s["version"] for s in store.listing("040", "2021-06")) + 1, at,
                         {"job_placements.csv": SHIFTED})
    store.add_submission("042", "2021-06", max(s["version"] for s in store.listing("042", "2021-06")) + 1, at,
                         {"job_placements.csv": NO_COUNTRY})
    del store._units["053"]["2021-06"]  # 053 never sends June: a deadline passes with nothing received
    store.save()
    with start_server(root, token=TOKEN) as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def smtp_conn(port: int) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"from_email": "kho-du-lieu@ldtbxh.caobang.gov.vn", "disable_tls": True,
                                 "disable_ssl": True, "retry_limit": 0, "timeout": 5}})


def env_for(home: Path, hub, smtp_port: int, addresses: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DOLISA_HOME": str(home),
        "AIRFLOW_CONN_DISTRICT_EXPORT_API": f"http://:{TOKEN}@127.0.0.1:{hub.port}",
        "AIRFLOW_CONN_DOLISA_ALERTS": smtp_conn(smtp_port),
        "DOLISA_FEEDBACK_ADDRESSES": str(addresses),
        "NO_PROXY": "127.0.0.1,localhost",
    })
    return env


def dolisa(env: dict, *args: str) -> dict:
    proc = subprocess.run([str(BIN / "dolisa"), *args], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"dolisa {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    out = proc.stdout
    return json.loads(out[out.index("{\n") if out.startswith("{\n") else out.index("\n{\n") + 1:])


@pytest.fixture(scope="module")
def nights(tmp_path_factory, hub):
    """Night 1: the SMTP server is down (every send fails, the run succeeds). Night 2 (the
    next day): nothing new, the server is up: the failed sheets are sent."""
    base = tmp_path_factory.mktemp("feedback")
    home = base / "home"
    addresses = base / "addresses.csv"
    addresses.write_text("unit_code,email\n" + "".join(f"{u},{a}\n" for u, a in ADDRESSES.items())
                         + "999,not-an-address\n", encoding="utf-8")
    down = free_port()  # nothing listens there
    first = dolisa(env_for(home, hub, down, addresses), "run", "--periods", ",".join(PERIODS))
    today = dt.date.fromisoformat(first["feedback"]["date"])
    state_after_first = {d.parent.parent.name: json.loads(d.read_text(encoding="utf-8"))
                         for d in (home / "reports" / "feedback").glob("*/*/delivery.json")}
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        second = dolisa(env_for(home, hub, controller.port, addresses), "feedback", "--date",
                        (today + dt.timedelta(days=1)).isoformat())
    finally:
        controller.stop()
    return {"home": home, "first": first, "second": second, "today": today, "inbox": inbox,
            "state_after_first": state_after_first}


def sheet(home: Path, unit: str, date: dt.date) -> dict:
    return json.loads((home / "reports" / "feedback" / unit / date.isoformat() / "feedback.json")
                      .read_text(encoding="utf-8"))


def xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))


def test_every_unit_with_something_new_gets_a_sheet(nights):
    home, today = nights["home"], nights["today"]
    written = nights["first"]["feedback"]["written"]
    units = sorted(Path(w).parts[1] for w in written)
    assert units == sorted(p.name for p in (home / "reports" / "feedback").iterdir() if p.is_dir())
    assert {"040", "042", "053"} <= set(units) and len(units) >= 10  # every district sent something
    folder = home / "reports" / "feedback" / "042" / today.isoformat()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["delivery.json", "email.html", "email.txt", "feedback.json", f"phan_hoi_042_{today:%Y%m%d}.xlsx"])
    # the night after, nothing new: no new sheet
    assert nights["second"]["written"] == []
    assert not list((home / "reports" / "feedback").glob(f"*/{today + dt.timedelta(days=1)}"))


def test_a_rejected_version_names_the_file_the_column_and_the_fix(nights):
    fb = sheet(nights["home"], "042", nights["today"])
    rejected = [v for v in fb["versions"] if v["status"] == "rejected"]
    assert [v["period"] for v in rejected] == ["2021-06"]
    v = rejected[0]
    assert v["status_vi"] == "bị từ chối"
    assert "job_placements.csv" in v["reason_vi"] and "thiếu cột bắt buộc country_code" in v["reason_vi"]
    # the fix, from the rule's own message and the contract's description of the column
    assert "Thêm cột country_code" in v["fix_vi"]
    assert "chỉ điền khi destination = ABROAD, để trống ở các dòng khác" in v["fix_vi"]
    files = [f for f in fb["files"] if f["submission_id"] == v["submission_id"]]
    assert [f["status"] for f in files] == ["rejected"] and files[0]["fix_vi"] == v["fix_vi"]
    # the previous accepted version of June stays in force; the sender is told it was accepted
    assert any(x["period"] == "2021-06" and x["status"] == "accepted" and x["in_force"] for x in fb["versions"])
    body = (nights["home"] / "reports" / "feedback" / "042" / nights["today"].isoformat() / "email.txt").read_text()
    assert "Cách khắc phục: Thêm cột country_code" in body


def test_quarantined_rows_are_named_by_row_column_and_rule(nights):
    fb = sheet(nights["home"], "040", nights["today"])
    rows = [r for r in fb["rows"] if r["file_name"] == "job_placements.csv" and r["period"] == "2021-06"]
    by_row: dict[int, list[dict]] = {}
    for r in rows:
        by_row.setdefault(r["row"], []).append(r)
    assert sorted(by_row) == [1, 2, 3]  # record numbers in the sender's own file; OK1 (row 4) loaded
    assert {("citizen_id", "malformed_citizen_id")} <= {(r["column"], r["rule"]) for r in by_row[1]}
    assert ("sex", "unparseable_sex") in {(r["column"], r["rule"]) for r in by_row[2]}
    assert all(r["problem_vi"] and r["fix_vi"] for r in rows)
    assert next(r for r in by_row[2] if r["column"] == "sex")["problem_vi"] == \
        "sex: không đọc được giới tính (cần M/F hoặc Nam/Nữ)"
    v = next(v for v in fb["versions"] if v["submission_id"] == rows[0]["submission_id"])
    assert v["status"] == "accepted" and v["rows_quarantined"] == 3 and v["rows_loaded"] == 1


def test_missing_months_are_listed_with_their_deadline(nights):
    fb = sheet(nights["home"], "053", nights["today"])
    assert fb["missing"] == [{"period": "2021-06", "deadline": "2021-07-05", "overdue": True}]
    assert fb["new_overdue"] == ["2021-06"]
    body = (nights["home"] / "reports" / "feedback" / "053" / nights["today"].isoformat() / "email.txt").read_text()
    assert "Tháng 6/2021: hạn nộp 05/07/2021 (đã quá hạn)" in body
    # units that sent everything have nothing missing
    assert sheet(nights["home"], "042", nights["today"])["missing"] == []


def test_a_failed_send_does_not_fail_the_run_and_is_retried_the_next_night(nights):
    first = nights["state_after_first"]
    assert {u: first[u]["status"] for u in ADDRESSES} == {u: "failed" for u in ADDRESSES}
    assert all(first[u]["attempts"] == 1 and first[u]["last_error"] for u in ADDRESSES)
    others = sorted(set(first) - set(ADDRESSES))
    assert others and all(first[u]["status"] == "not_sent" and first[u]["why"] == "no address for the unit"
                          for u in others)
    assert nights["first"]["feedback"]["failed"] == 3
    assert nights["second"]["sent"] == 3 and nights["second"]["failed"] == 0
    home, today = nights["home"], nights["today"]
    for u, addr in ADDRESSES.items():
        state = json.loads((home / "reports" / "feedback" / u / today.isoformat() / "delivery.json").read_text())
        assert state["status"] == "sent" and state["attempts"] == 2 and state["to"] == [addr]
    inbox = nights["inbox"]
    assert sorted(m["To"] for m in inbox.messages) == sorted(ADDRESSES.values())
    msg = next(m for m in inbox.messages if m["To"] == ADDRESSES["042"])
    assert "Phản hồi số liệu đã nộp" in msg["Subject"] and "Huyện Bảo Lâm" in msg["Subject"]
    assert msg["From"] == "kho-du-lieu@ldtbxh.caobang.gov.vn"
    parts = list(msg.walk())
    html_part = next(p for p in parts if p.get_content_type() == "text/html")
    assert "Thêm cột country_code" in html_part.get_content()
    attachment = next(p for p in parts if p.get_filename())
    assert attachment.get_filename() == f"phan_hoi_042_{today:%Y%m%d}.xlsx"
    assert "thiếu cột bắt buộc country_code" in xlsx_text_bytes(attachment.get_payload(decode=True))


def xlsx_text_bytes(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))


def test_no_name_or_citizen_id_in_any_sheet_or_email(nights):
    home = nights["home"]
    texts = []
    for f in (home / "reports" / "feedback").rglob("*"):
        if f.is_file():
            texts.append(xlsx_text(f) if f.suffix == ".xlsx" else f.read_text(encoding="utf-8"))
    for m in nights["inbox"].messages:
        for part in m.walk():
            if part.get_filename():
                texts.append(xlsx_text_bytes(part.get_payload(decode=True)))
            elif part.get_content_maintype() == "text":
                texts.append(part.get_content())
    texts += [r.decode("utf-8", "replace") for r in nights["inbox"].raw]
    assert len(texts) > 30 and any("040" in t for t in texts)
    for value in NAMES + IDS + ("Lò Văn Ba", "012345678901"):
        assert not [t[:80] for t in texts if value in t], value
