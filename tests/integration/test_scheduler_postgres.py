"""The real scheduler on a real PostgreSQL: the nightly DAG runs *on its schedule*.

No `airflow dags test` here. The test

1. gets a private PostgreSQL 15 from `scripts/services.sh` (Debian package, started on a
   private port and socket under `.services/`) and creates a fresh metadata database for this run;
2. builds a fresh AIRFLOW_HOME in tmp_path (LocalExecutor — the test's executor; the compose
   deployment uses Celery), `airflow db migrate`, pool `duckdb_writer` (1 slot);
3. generates a demo hub store for the revision window the scheduler is going to pull and serves
   it from this process (`dolisa_demo.hub.server.start_server`, bearer token);
4. starts `airflow api-server` (Airflow 3 workers reach the metadata DB only through its Task
   Execution API, `[core] execution_api_server_url`), `airflow dag-processor` and
   `airflow scheduler` as subprocesses, waits for the DAG to be parsed and unpauses it;
5. waits (bounded) for the scheduler to create and finish the run it owes: the DAG has
   `CronTriggerTimetable("30 2 * * *", timezone="Asia/Ho_Chi_Minh")` and `catchup=False`, so it
   creates exactly one `scheduled` run whose logical date is the last 02:30 Asia/Ho_Chi_Minh
   before now, and that run pulls the three months before its month;
6. checks the warehouse: every district and month of that window has an accepted submission,
   the marts exist and have those months, the published snapshot exists.

Why the store covers "the three months before the current month" and not the demo's 2020-2021:
with `catchup=False` the scheduler only creates the most recent due run, and a scheduled run
has no conf, so it pulls its default revision window. The generator's reference totals hold
only for 2021; this test checks the plumbing, not the totals.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from dolisa import contract
from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa.pipeline import revision_window

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "district_submissions_nightly"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE_S = 8 * 60  # for the run itself, from the scheduler's start
TOKEN = "sched-" + secrets.token_hex(8)


# --------------------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_due(now: dt.datetime) -> dt.datetime:
    """The last 02:30 Asia/Ho_Chi_Minh at or before `now` (what a catchup=False scheduler runs)."""
    local = now.astimezone(HCM)
    due = local.replace(hour=2, minute=30, second=0, microsecond=0)
    if due > local:
        due -= dt.timedelta(days=1)
    return due


def tail(path: Path, n: int = 60) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"<{path}: {exc}>"
    return f"--- {path} (last {min(n, len(lines))} lines)\n" + "\n".join(lines[-n:])


def task_log_tails(airflow_home: Path, n: int = 40) -> str:
    logs = sorted((airflow_home / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime)
    return "\n".join(tail(p, n) for p in logs[-4:])


@pytest.fixture(scope="module")
def pg_url() -> str:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "start"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode == 3:
        pytest.skip(f"PostgreSQL cannot be installed here: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"scripts/services.sh start failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture
def metadata_db(pg_url):
    """A fresh, empty Airflow metadata database for this test run (dropped afterwards)."""
    import sqlalchemy as sa

    name = f"airflow_sched_{secrets.token_hex(4)}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Procs:
    """The Airflow services this test starts; every one is stopped by its own pid/process group."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir, self.procs = env, log_dir, {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        p = subprocess.Popen([str(BIN / "airflow"), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.log_dir)
        log.close()
        self.procs[name] = p
        return p

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {p.returncode}\n{self.tails()}")

    def tails(self) -> str:
        return "\n".join(tail(self.log_dir / f"{name}.log") for name in self.procs)

    def stop_all(self) -> None:
        for p in self.procs.values():  # each was started in its own session: its pgid is its pid
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        t_end = time.monotonic() + 30
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, t_end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():  # leftovers (LocalExecutor workers, api-server workers) of these groups
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if p.poll() is None:
                p.wait(timeout=10)


# --------------------------------------------------------------------------- the test
def test_scheduler_runs_the_nightly_dag_on_its_schedule(metadata_db, tmp_path):
    import sqlalchemy as sa

    t0 = time.monotonic()
    airflow_home = tmp_path / "airflow_home"
    dolisa_home = tmp_path / "dolisa_home"
    airflow_home.mkdir()
    dolisa_home.mkdir()

    # The run the scheduler owes us, and the window it will pull. If a 02:30 falls inside the
    # test's time budget the scheduler may owe the next one instead: cover both windows.
    now = dt.datetime.now(HCM)
    expected = last_due(now)
    windows = {expected: revision_window(expected)}
    upcoming = expected + dt.timedelta(days=1)
    if upcoming <= now + dt.timedelta(seconds=DEADLINE_S + 120):
        windows[upcoming] = revision_window(upcoming)
    periods = sorted({p for w in windows.values() for p in w})
    store = tmp_path / "hub_store"
    generate(store, first=periods[0], last=periods[-1])

    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}  # nothing from scripts/env.sh
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "DOLISA_HOME": str(dolisa_home),
        "DOLISA_PSEUDONYM_KEY": "scheduler-test-key-" + secrets.token_hex(8),
        "DOLISA_TASK_RETRIES": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })

    def airflow(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
        p = subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout)
        assert p.returncode == 0, f"airflow {' '.join(args)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
        return p

    airflow("db", "migrate", timeout=300)
    airflow("pools", "set", "duckdb_writer", "1", "DuckDB has one writer")

    db = sa.create_engine(metadata_db)
    procs = Procs(env, tmp_path)
    with start_server(store, token=TOKEN) as hub:
        env["AIRFLOW_CONN_DISTRICT_EXPORT_API"] = f"http://:{TOKEN}@127.0.0.1:{hub.port}"
        try:
            procs.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(api_port))
            procs.start("dag-processor", "dag-processor")
            procs.start("scheduler", "scheduler")
            t_sched = time.monotonic()

            # the API server (Task Execution API) answers
            health = f"http://127.0.0.1:{api_port}/api/v2/monitor/health"
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            while True:
                try:
                    with opener.open(health, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                procs.check_alive()
                assert time.monotonic() - t_sched < 120, "api-server not healthy after 120 s\n" + procs.tails()
                time.sleep(1)

            # the dag-processor has parsed the DAG (new DAGs are paused at creation) -> unpause it
            while True:
                with db.connect() as c:
                    row = c.execute(sa.text("select is_paused from dag where dag_id = :d"), {"d": DAG_ID}).first()
                if row is not None:
                    break
                procs.check_alive()
                assert time.monotonic() - t_sched < 180, "DAG not parsed after 180 s\n" + procs.tails()
                time.sleep(1)
            airflow("dags", "unpause", DAG_ID)
            with db.connect() as c:
                assert c.execute(sa.text("select is_paused from dag where dag_id = :d"), {"d": DAG_ID}).scalar() is False

            # the scheduler creates the run it owes and runs it to the end
            run = None
            while time.monotonic() - t_sched < DEADLINE_S:
                with db.connect() as c:
                    runs = c.execute(sa.text(
                        "select run_id, run_type, state, logical_date from dag_run where dag_id = :d "
                        "order by logical_date"), {"d": DAG_ID}).all()
                done = [r for r in runs if r.state in ("success", "failed")]
                if done:
                    run = done[0]
                    break
                procs.check_alive()
                time.sleep(3)
            with db.connect() as c:
                tis = c.execute(sa.text(
                    "select task_id, state, try_number from task_instance where dag_id = :d order by start_date"),
                    {"d": DAG_ID}).all()
            diag = (f"runs: {runs}\ntask instances: {tis}\n" + procs.tails() + "\n" + task_log_tails(airflow_home))
            assert run is not None, f"no finished run after {DEADLINE_S} s\n{diag}"
            assert run.state == "success", f"run {run.run_id} {run.state}\n{diag}"
        finally:
            procs.stop_all()
            db.dispose()

    # it ran on its schedule: a `scheduled` run at the last 02:30 Asia/Ho_Chi_Minh, not a manual trigger
    assert run.run_type == "scheduled", run
    logical = run.logical_date.astimezone(HCM)
    assert logical in windows, f"logical date {logical}, expected one of {list(windows)}"
    assert (logical.hour, logical.minute) == (2, 30)
    states = {t.task_id: t.state for t in tis}
    for t in ("plan", "extract_and_land", "validate_and_load", "build_marts", "publish"):
        assert states[t] == "success", (t, states)
    # the report phases run when the window ends a half-year, else they are skipped
    assert {states[t] for t in ("report_gate", "build_report_models", "write_report_files")} <= {"success", "skipped"}
    window = windows[logical]

    # the warehouse afterwards
    con = duckdb.connect(str(dolisa_home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        accepted = set(con.execute(
            "select distinct unit_code, period from meta.submissions where status = 'accepted'").fetchall())
        for period in window:
            for unit in contract.reporting_units(period):
                assert (unit.unit_code, period) in accepted, (unit.unit_code, period)
        marts = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        for t in ("agg_labour_unit_months", "agg_social_protection_unit_months", "agg_child_welfare_unit_months",
                  "fct_submission_status"):
            assert t in marts, t
        got = {p for (p,) in con.execute("select distinct period from marts.agg_labour_unit_months").fetchall()}
        assert set(window) <= got
        in_force = con.execute(
            "select count(*) from marts.fct_submission_status where is_expected and versions_received > 0 "
            "and period in (select unnest(?))", [window]).fetchone()[0]
        assert in_force == sum(len(contract.reporting_units(p)) for p in window)
    finally:
        con.close()
    published = dolisa_home / "published" / "warehouse.duckdb"
    assert published.exists() and published.stat().st_size > 0
    print(f"scheduled run {run.run_id} (window {window[0]}..{window[-1]}) succeeded; "
          f"test took {time.monotonic() - t0:.0f} s")
