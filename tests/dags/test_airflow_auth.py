"""A refused token fails the extract task loudly, at once (no retry), and marks nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_a_refused_token_fails_the_run_without_retry_and_marks_nothing(tmp_path):
    store = tmp_path / "store"
    generate(store, first="2021-05", last="2021-05")
    home, af_home = tmp_path / "dolisa_home", tmp_path / "airflow_home"
    env = dict(os.environ)
    env.update({
        "DOLISA_HOME": str(home), "AIRFLOW_HOME": str(af_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af_home / 'airflow.db'}",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "DOLISA_TASK_RETRIES": "3",  # would be retried if the failure were not final
        "NO_PROXY": "127.0.0.1,localhost", "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    af_home.mkdir()
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    with start_server(store, token="the-right-token") as hub:
        env["AIRFLOW_CONN_DISTRICT_EXPORT_API"] = f"http://:a-wrong-token@127.0.0.1:{hub.port}"
        proc = subprocess.run(
            [str(BIN / "airflow"), "dags", "test", "district_submissions_nightly", "2021-07-10T02:30:00+07:00",
             "-c", json.dumps({"periods": ["2021-05"]})], env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert "state=failed" in out or proc.returncode != 0
    assert "AirflowFailException" in out or "401" in out
    assert "up_for_retry" not in out  # failed for good on the first try
    assert "a-wrong-token" not in out
    assert not list((home / "raw").rglob("manifest.json")) and not (home / "raw" / "_deferred.json").exists()
