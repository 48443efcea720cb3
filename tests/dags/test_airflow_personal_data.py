"""Through Airflow: the pseudonym key configured as an Airflow Variable is masked and
reaches no file of the Airflow home (task logs), DOLISA_HOME or the dbt target; no name or
citizen id of a file with shifted columns reaches a task log; the task logs are owner-only.

One small real run (`airflow dags test`, one month) against the real demo hub.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "af-pd-token-19"
PERIOD = "2021-05"  # no half-year ends here: the run builds no report
SENTINEL_KEY = "AIRFLOW-SENTINEL-pseudonym-key-5d1e77"
NAMES = ("Nông Thị Sentinelnam", "Lục Văn Sentinelbac")
IDS = ("038812345670", "038876543210")
SHIFTED = (
    "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code\n"
    f"SH1,{NAMES[0]},{IDS[0]},M,1990-01-01,2021-05-03,DOMESTIC,,\n"
    f"SH2,{IDS[1]},M,{NAMES[1]},1990-01-01,2021-05-03,{IDS[0]},,\n"
    "OK1,012345678901,Lò Văn Ba,M,1990-01-01,2021-05-03,DOMESTIC,,\n"
).encode()


def _contains(root: Path, needle: str) -> list[str]:
    hits = []
    for f in root.rglob("*"):
        if f.is_file() and needle.encode() in f.read_bytes():
            hits.append(str(f.relative_to(root)))
    return hits


def test_airflow_run_leaks_no_key_and_no_personal_value(tmp_path):
    store_root = tmp_path / "store"
    generate(store_root, first=PERIOD, last=PERIOD)
    store = HubStore(store_root).load()
    version = max(s["version"] for s in store.listing("047", PERIOD)) + 1
    store.add_submission("047", PERIOD, version, dt.datetime(2021, 6, 4, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))),
                         {"job_placements.csv": SHIFTED})
    store.save()
    home, af_home = tmp_path / "dolisa_home", tmp_path / "airflow_home"
    env = {k: v for k, v in os.environ.items() if k != "DOLISA_PSEUDONYM_KEY"}
    env.update({
        "DOLISA_HOME": str(home),
        "AIRFLOW_HOME": str(af_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(af_home / "logs"),
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW_VAR_DOLISA_PSEUDONYM_SECRET": SENTINEL_KEY,
        "DOLISA_TASK_RETRIES": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    af_home.mkdir()
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    with start_server(store_root, token=TOKEN) as hub:
        env["AIRFLOW_CONN_DISTRICT_EXPORT_API"] = f"http://:{TOKEN}@127.0.0.1:{hub.port}"
        proc = subprocess.run(
            [str(BIN / "airflow"), "dags", "test", "district_submissions_nightly", "2021-07-10T02:30:00+07:00",
             "-c", json.dumps({"periods": [PERIOD]})],
            env=env, capture_output=True, text=True, timeout=1800,
        )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "state=failed" not in out, out[-5000:]
    assert (home / "warehouse" / "dolisa.duckdb").exists()
    assert SENTINEL_KEY not in out
    for root in (home, af_home):
        assert _contains(root, SENTINEL_KEY) == [], root
    # the pseudonyms were made with the Variable's key, not a stored one
    assert not (home / "secrets" / "pseudonym.key").exists()
    logs = af_home / "logs"
    task_logs = [f for f in logs.rglob("*") if f.is_file()]
    for value in NAMES + IDS:
        assert value not in out, value
        assert _contains(logs, value) == [], value
    for f in task_logs:
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, (str(f), oct(f.stat().st_mode))
