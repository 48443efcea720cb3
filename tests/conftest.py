"""Shared test set-up: every test gets its own DOLISA_HOME; Airflow never touches the user's home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def dolisa_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dolisa_home"
    home.mkdir()
    monkeypatch.setenv("DOLISA_HOME", str(home))
    return home
