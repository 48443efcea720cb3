"""The production deployment for real: CeleryExecutor on Redis and PostgreSQL, two workers.

No Docker engine here, so the test runs what `docker-compose.yml` runs, as processes of this
machine: `scripts/services.sh` starts a private PostgreSQL 15 and Redis 7 (Debian packages);
`airflow api-server`, `airflow scheduler`, `airflow dag-processor` and **two**
`airflow celery worker` (hostnames `celery-worker-a` and `celery-worker-b`) share the DAG folder,
the Airflow settings, the task logs and one DOLISA_HOME, as several machines share them over NFS.
The Celery, heartbeat and retry settings are read from docker-compose.yml itself
(`celery_deployment.compose_settings`), so the compose file holds what ran.

Each night gets a fresh metadata database, its own Redis database and a fresh DOLISA_HOME, and
runs `district_submissions_nightly` **on its schedule** (no trigger, no conf): the run the
scheduler owes with `catchup=False` is the last 02:30 Asia/Ho_Chi_Minh, and it pulls the three
months before its month, which the demo hub serves (generated for exactly that window).

1. An undisturbed night: every task succeeded, tasks ran on both workers
   (`task_instance.hostname`), no two tasks of the `duckdb_writer` pool overlapped in time (their
   start and end in the metadata database, every try), and the marts equal those of the same
   night run with `airflow dags test` (one process, SQLite).
   Whichever worker the broker picks for a task is chance; so that both take part in every run,
   the worker that runs `extract_and_land` is drained for one task (Celery's cancel_consumer, as
   an operator drains a worker before maintenance): `validate_and_load` then runs on the other
   worker and loads what the first one landed, through the shared DOLISA_HOME.
2. A worker lost mid-night: a second night, in which the worker running `build_marts` is
   SIGKILLed — its whole process tree (Celery, the task's supervisor, the task and dbt), as when
   its machine dies — once dbt has written its first incremental fact table. The scheduler finds
   the task without a heartbeat, it is retried on the other worker, and the night ends with the
   same ledger and marts as the undisturbed night: no version lost, nothing loaded twice, the
   DuckDB file whole, the writer lock free. (`validate_and_load` takes seconds on this window,
   too short to be caught between two months; dbt's build takes about a minute.)

The second night starts first; the undisturbed one runs while the second night's scheduler waits
for the lost worker's heartbeat timeout and the retry delay, and `airflow dags test` runs in the
background from the start (the machine would be idle otherwise). On failure the services' logs
and the tasks' logs are printed. Every process is stopped by its pid.
Skipped only when PostgreSQL or Redis cannot be installed here (not root, no apt-get).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import psutil
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from dolisa.pipeline import revision_window
from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server

try:
    from . import celery_deployment as cd
except ImportError:
    import celery_deployment as cd  # type: ignore[no-redef]

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DAG_ID = "district_submissions_nightly"
POOL = "duckdb_writer"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
WORKERS = ("celery-worker-a", "celery-worker-b")
KILLED_TASK = "build_marts"
DRAINED_AFTER = ("extract_and_land", "validate_and_load")  # night 1: these two on different workers
NIGHT_DEADLINE_S = 10 * 60  # a night, from the services' start to the run's end
TOKEN = "celery-" + secrets.token_hex(8)
PSEUDONYM_KEY = "celery-test-key-" + secrets.token_hex(8)  # one key: the three nights' marts compare
SETTINGS = cd.compose_settings()
WRITTEN = re.compile(r"OK created sql incremental model (\S+)")  # dbt's log line for a fact table merged


# --------------------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_due(now: dt.datetime) -> dt.datetime:
    """The last 02:30 Asia/Ho_Chi_Minh at or before `now` (the run a catchup=False scheduler owes)."""
    local = now.astimezone(HCM)
    due = local.replace(hour=2, minute=30, second=0, microsecond=0)
    return due if due <= local else due - dt.timedelta(days=1)


def tail(path: Path, n: int = 60) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"<{path}: {exc}>"
    return f"--- {path} (last {min(n, len(lines))} lines)\n" + "\n".join(lines[-n:])


def services(*args: str) -> str:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), *args],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode == 3:
        pytest.skip(f"scripts/services.sh {' '.join(args)}: cannot be installed here: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"scripts/services.sh {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


def kill_tree(pid: int) -> list[int]:
    """SIGKILL a process and every descendant at once (a lost machine: nothing cleans up)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    return [p.pid for p in procs]


# --------------------------------------------------------------------------- one deployment, one night
@dataclass
class Night:
    """What a night left: the run and its task instances (every try) from the metadata DB, and
    the warehouse's ledger, marts and state from DOLISA_HOME."""

    run: object
    tries: list  # task_instance + task_instance_history rows
    timeouts: list  # the scheduler's "heartbeat timeout" events (table log): (task_id, try_number)
    home: Path
    airflow_home: Path
    events: dict = field(default_factory=dict)  # what the test did during the night (drained, killed)
    timings: dict = field(default_factory=dict)  # seconds from the services' start

    def final(self) -> dict:
        return {t.task_id: t for t in self.tries if t.current}


class Deployment:
    """The compose file's Airflow services as processes of this machine, on a fresh metadata
    database and a fresh DOLISA_HOME. Every process is started in its own session and stopped by pid."""

    def __init__(self, name: str, base: Path, metadata: "MetadataDatabases", redis_url: str, redis_db: int,
                 hub_url: str):
        self.name, self.base = name, base
        self.airflow_home, self.home = base / "airflow_home", base / "dolisa_home"
        self.airflow_home.mkdir(parents=True)
        self.home.mkdir()
        self.metadata = metadata
        self.db_name, self.db_url = metadata.create(name)
        self.db = sa.create_engine(self.db_url)
        self.api_port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DOLISA"))}
        env.update(SETTINGS)  # the compose file's Celery, heartbeat and retry settings
        env.update({
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
            "AIRFLOW__CELERY__BROKER_URL": f"{redis_url.rsplit('/', 1)[0]}/{redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.db_url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.airflow_home / "logs"),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW_CONN_DISTRICT_EXPORT_API": hub_url,
            "DOLISA_HOME": str(self.home),
            "DOLISA_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        })
        self.env = env

    # -- processes
    def airflow(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        p = subprocess.run([str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        assert p.returncode == 0, f"airflow {' '.join(args)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
        return p

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with open(self.base / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [str(BIN / "airflow"), *args], env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.base)

    def start_worker(self, hostname: str) -> None:
        env = dict(self.env)
        env.update({
            # two workers on one machine: each its own hostname in task_instance.hostname, log server port, pid file
            "DOLISA_TEST_WORKER_HOSTNAME": hostname,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_deployment.worker_hostname",
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        })
        self.start(hostname, "celery", "worker", "--celery-hostname", self.node(hostname),
                   "--pid", str(self.base / f"{hostname}.pid"), env=env)

    def node(self, hostname: str) -> str:  # a worker's Celery node name
        return f"{hostname}@{self.name}"

    def start_all(self) -> None:  # the database comes migrated, with the pool (MetadataDatabases)
        self.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.api_port))
        self.start("dag-processor", "dag-processor")
        self.start("scheduler", "scheduler")
        for w in WORKERS:
            self.start_worker(w)

    def check_alive(self, *, except_: tuple[str, ...] = ()) -> None:
        for name, p in self.procs.items():
            if name not in except_ and p.poll() is not None:
                raise AssertionError(f"[{self.name}] airflow {name} exited with {p.returncode}\n{self.diagnostics()}")

    def stop_all(self) -> None:
        for p in self.procs.values():  # each in its own session: its process group id is its pid
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
        for p in self.procs.values():  # what is left of these groups (api-server workers, Celery's pool)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if p.poll() is None:
                p.wait(timeout=10)

    def close(self) -> None:
        self.db.dispose()
        self.metadata.drop(self.db_name)

    # -- the metadata database
    def query(self, sql: str, **params):
        with self.db.connect() as c:
            return c.execute(sa.text(sql), params).all()

    def tries(self) -> list:
        cols = "task_id, try_number, state, hostname, pool, start_date, end_date"
        return self.query(
            f"select {cols}, true as current from task_instance where dag_id = :d "
            f"union all select {cols}, false as current from task_instance_history where dag_id = :d "
            "order by start_date nulls last", d=DAG_ID)

    def task_logs(self, task_id: str | None = None) -> list[Path]:
        pattern = f"task_id={task_id}/*.log" if task_id else "*.log"
        return sorted((self.airflow_home / "logs").rglob(pattern), key=lambda p: p.stat().st_mtime)

    def diagnostics(self) -> str:
        try:
            runs = self.query("select run_id, run_type, state, logical_date from dag_run")
            tries = self.tries()
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            runs, tries = f"<{exc}>", []
        return (f"[{self.name}] runs: {runs}\ntries:\n" + "\n".join(map(str, tries)) + "\n"
                + "\n".join(tail(self.base / f"{n}.log", 40) for n in self.procs) + "\n"
                + "\n".join(tail(p, 40) for p in self.task_logs()[-4:]))

    # -- the night
    def run_night(self, on_poll=None) -> Night:
        t0 = time.monotonic()
        self.start_all()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        health = f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health"
        while True:  # the api-server (the Task Execution API the workers call) answers
            try:
                with opener.open(health, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            self.check_alive()
            assert time.monotonic() - t0 < 180, "api-server not healthy after 180 s\n" + self.diagnostics()
            time.sleep(1)
        while not self.query("select 1 from dag where dag_id = :d", d=DAG_ID):  # parsed (paused at creation)
            self.check_alive()
            assert time.monotonic() - t0 < 240, "DAG not parsed after 240 s\n" + self.diagnostics()
            time.sleep(1)
        self.airflow("dags", "unpause", DAG_ID)
        timings = {"unpaused": round(time.monotonic() - t0)}
        run = None
        while time.monotonic() - t0 < NIGHT_DEADLINE_S:
            runs = self.query("select run_id, run_type, state, logical_date from dag_run where dag_id = :d", d=DAG_ID)
            done = [r for r in runs if r.state in ("success", "failed")]
            if done:
                run = done[0]
                break
            if on_poll:
                on_poll(self)
            self.check_alive(except_=tuple(getattr(on_poll, "killed", ())))
            time.sleep(0.5)
        timings["finished"] = round(time.monotonic() - t0)
        assert run is not None, f"no finished run after {NIGHT_DEADLINE_S} s\n{self.diagnostics()}"
        assert run.state == "success", f"run {run.run_id} {run.state}\n{self.diagnostics()}"
        timeouts = [tuple(r) for r in self.query(
            "select task_id, try_number from log where dag_id = :d and event = 'heartbeat timeout'", d=DAG_ID)]
        return Night(run=run, tries=self.tries(), timeouts=timeouts, home=self.home, airflow_home=self.airflow_home,
                     events=dict(getattr(on_poll, "record", {})), timings=timings)


def running_on(d: Deployment, task_id: str) -> str | None:
    """The hostname of the worker running `task_id`'s current try, or None."""
    ti = d.query("select state, hostname from task_instance where dag_id = :d and task_id = :t", d=DAG_ID, t=task_id)
    return ti[0].hostname if ti and ti[0].state == "running" and ti[0].hostname else None


class DrainOneWorker:
    """on_poll of the first night: once `DRAINED_AFTER[0]` runs on a worker, that worker stops
    consuming the queue (Celery's cancel_consumer, how an operator drains a worker) until
    `DRAINED_AFTER[1]` has started on the other worker; then it consumes again."""

    def __init__(self, d: Deployment):
        from celery import Celery

        self.d = d
        self.app = Celery("dolisa-test-control", broker=d.env["AIRFLOW__CELERY__BROKER_URL"])
        self.drained: str | None = None
        self.done = False
        self.record: dict = {}

    def __call__(self, d: Deployment) -> None:
        if self.done:
            return
        if self.drained is None:
            host = running_on(d, DRAINED_AFTER[0])
            if host:
                self._control("cancel_consumer", host)
                self.drained = host
                self.record["drained"] = host
        elif running_on(d, DRAINED_AFTER[1]):
            self._control("add_consumer", self.drained)
            self.done = True

    def _control(self, command: str, host: str) -> None:
        replies = getattr(self.app.control, command)("default", destination=[self.d.node(host)],
                                                     reply=True, timeout=10)
        assert replies and all("ok" in r for reply in replies for r in reply.values()), (command, host, replies)


class KillWorkerMidTask:
    """on_poll of the second night: once `KILLED_TASK` (try 1) has written its first incremental
    fact table (dbt's log), SIGKILL the whole process tree of the worker running it."""

    def __init__(self, then=lambda: None):
        self.killed: list[str] = []
        self.record: dict = {}
        self.then = then

    def __call__(self, d: Deployment) -> None:
        if self.killed:
            return
        host = running_on(d, KILLED_TASK)
        if not host:
            return
        logs = [p for p in d.task_logs(KILLED_TASK) if p.name.startswith("attempt=1")]
        text = logs[0].read_text(encoding="utf-8", errors="replace") if logs else ""
        written = WRITTEN.findall(text)
        if not written:
            return
        pids = kill_tree(d.procs[host].pid)
        d.procs[host].wait(timeout=30)
        self.killed.append(host)
        self.record = {"hostname": host, "pids": pids, "written_before_kill": written,
                       "at": dt.datetime.now(dt.timezone.utc)}
        self.then()


# --------------------------------------------------------------------------- the warehouse, read back
def ledger(home: Path) -> dict:
    """The ledger and the raw rows by version, without what is the night's own (times, paths)."""
    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        subs = con.execute("select submission_id, unit_code, period, version, submitted_at, status, reason, n_files "
                           "from meta.submissions order by all").fetchall()
        files = con.execute(
            "select submission_id, dataset, file_name, media_type, bytes, rows_declared, sha256, "
            "replace(landed_path, ?, '<home>'), status, reason, rows_in, rows_loaded, rows_quarantined "
            "from meta.files order by all", [str(home)]).fetchall()
        raw = {}
        for (table,) in con.execute("select table_name from information_schema.tables "
                                    "where table_schema = 'raw' order by 1").fetchall():
            raw[table] = con.execute(
                f'select submission_id, count(*), count(distinct source_row) from raw."{table}" '
                "group by all order by all").fetchall()
        quarantined = con.execute("select submission_id, dataset, count(*), count(distinct (file_name, source_row)) "
                                  "from meta.quarantined_rows group by all order by all").fetchall()
        return {"submissions": subs, "files": files, "raw": raw, "quarantined": quarantined}
    finally:
        con.close()


NIGHT_CLOCK = ("loaded_at", "landed_at")  # when this night landed and loaded a version: its own clock


def marts(warehouse: Path) -> dict[str, str]:
    """A digest of every table of the marts (and report) schemas, rows in a fixed order, every
    column but the night's own clock (NIGHT_CLOCK)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('marts', 'reports') order by 1, 2").fetchall():
            cols = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall() if c not in NIGHT_CLOCK]
            columns = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {columns} from {schema}."{table}" order by all').fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def whole(warehouse: Path) -> int:
    """Every table of the file read in full (a torn page fails here); returns the number of tables."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            con.execute(f'select count(*), sum(hash(t)) from {schema}."{table}" as t').fetchone()
        return len(tables)
    finally:
        con.close()


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def servers() -> tuple[str, str]:
    return services("start"), services("redis")


class MetadataDatabases:
    """Fresh Airflow metadata databases on the private PostgreSQL: `airflow db migrate` and the
    pool `duckdb_writer` (1 slot) once, into a template; each night gets a copy (CREATE DATABASE
    ... TEMPLATE), dropped afterwards."""

    def __init__(self, pg_url: str, base: Path):
        self.pg_url = pg_url
        self.admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        self.template = f"airflow_celery_template_{secrets.token_hex(3)}"
        self.names: list[str] = []
        self._sql(f'CREATE DATABASE "{self.template}"')
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DOLISA"))}
        env.update({"AIRFLOW_HOME": str(base), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.url(self.template),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags")})
        for args in (["db", "migrate"], ["pools", "set", POOL, "1", "DuckDB has one writer"]):
            p = subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, f"airflow {' '.join(args)}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"

    def url(self, name: str) -> str:
        return self.pg_url.rsplit("/", 1)[0] + "/" + name

    def _sql(self, statement: str) -> None:
        with self.admin.connect() as c:
            c.execute(sa.text(statement))

    def create(self, night: str) -> tuple[str, str]:
        name = f"airflow_celery_{night}_{secrets.token_hex(3)}"
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.names.append(name)
        return name, self.url(name)

    def drop(self, name: str) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in [*self.names, self.template]:
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="module")
def metadata(servers, tmp_path_factory):
    m = MetadataDatabases(servers[0], tmp_path_factory.mktemp("celery_migrate"))
    yield m
    m.close()


@pytest.fixture(scope="module")
def due() -> dt.datetime:
    """The run both nights' schedulers owe. A 02:30 Asia/Ho_Chi_Minh falling while the test runs
    would give the second night another logical date: wait for it to pass first."""
    now = dt.datetime.now(HCM)
    upcoming = last_due(now) + dt.timedelta(days=1)
    if upcoming - now < dt.timedelta(minutes=15):
        time.sleep((upcoming - now).total_seconds() + 5)
    return last_due(dt.datetime.now(HCM))


@pytest.fixture(scope="module")
def hub(tmp_path_factory, due):
    window = revision_window(due)
    store = tmp_path_factory.mktemp("celery_hub") / "store"
    generate(store, first=window[0], last=window[-1])
    with start_server(store, token=TOKEN) as server:
        yield f"http://:{TOKEN}@127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, hub, due):
    """The same night through `airflow dags test` (one process, SQLite), run in the background
    while the Celery nights run; `.result()` waits for its marts."""
    base = tmp_path_factory.mktemp("celery_reference")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DOLISA"))}
    env.update({
        "AIRFLOW_HOME": str(base / "airflow_home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{base / 'airflow_home' / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(base / "airflow_home" / "logs"),
        "AIRFLOW_CONN_DISTRICT_EXPORT_API": hub,
        "DOLISA_HOME": str(base / "dolisa_home"),
        "DOLISA_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "DOLISA_TASK_RETRIES": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    })
    (base / "airflow_home").mkdir()
    out: dict = {}

    def run() -> None:
        try:
            m = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                               timeout=600)
            out["migrate"] = m
            if m.returncode == 0:
                out["test"] = subprocess.run([str(BIN / "airflow"), "dags", "test", DAG_ID, due.isoformat()],
                                             env=env, capture_output=True, text=True, timeout=1500)
        except Exception as exc:  # noqa: BLE001 - reported by result()
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    class Result:
        def result(self) -> dict[str, str]:
            thread.join(timeout=1800)
            assert "error" not in out, out.get("error")
            assert out["migrate"].returncode == 0, out["migrate"].stderr[-3000:]
            proc = out["test"]
            text = proc.stdout + proc.stderr
            assert proc.returncode == 0 and "state=failed" not in text, text[-5000:]
            return marts(base / "dolisa_home" / "warehouse" / "dolisa.duckdb")

    yield Result()
    thread.join(timeout=1800)


class Background(threading.Thread):
    """A night in a thread: `.night` is what it left, or the exception it raised."""

    def __init__(self, run):
        super().__init__(daemon=True)
        self.run_night, self.night, self._lock = run, None, threading.Lock()

    def run(self) -> None:
        try:
            self.night = self.run_night()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test that reads it
            self.night = exc

    def start_once(self) -> None:
        with self._lock:
            if self.ident is None:
                self.start()


@pytest.fixture(scope="module")
def nights(servers, metadata, hub, reference, tmp_path_factory) -> dict[str, Night | BaseException]:
    """Both nights, each on its own deployment (metadata database, Redis database, DOLISA_HOME).
    The night with a lost worker starts first; the undisturbed night runs while the scheduler
    waits for the lost worker's heartbeat to time out and for the retry delay (the machine is idle
    then), or after it if the kill never happened."""
    lost = Deployment("lost", tmp_path_factory.mktemp("celery_lost"), metadata, servers[1], 1, hub)
    calm = Deployment("calm", tmp_path_factory.mktemp("celery_calm"), metadata, servers[1], 2, hub)
    undisturbed = Background(lambda: calm.run_night(on_poll=DrainOneWorker(calm)))
    kill = KillWorkerMidTask(then=undisturbed.start_once)
    out: dict = {"kill": kill}
    try:
        try:
            out["lost"] = lost.run_night(on_poll=kill)
        except BaseException as exc:  # noqa: BLE001 - re-raised by its test
            out["lost"] = exc
        finally:
            lost.stop_all()
        undisturbed.start_once()
        undisturbed.join(timeout=NIGHT_DEADLINE_S + 60)
        out["calm"] = undisturbed.night if undisturbed.night is not None else AssertionError("undisturbed night hung")
    finally:
        calm.stop_all()
        lost.close()
        calm.close()
    yield out


def night_of(nights: dict, key: str) -> Night:
    night = nights[key]
    if isinstance(night, BaseException):
        raise night
    return night


# --------------------------------------------------------------------------- the tests
def check_night(night: Night, due: dt.datetime) -> None:
    # on its schedule: a `scheduled` run at the last 02:30 Asia/Ho_Chi_Minh, not a trigger
    assert night.run.run_type == "scheduled", night.run
    assert night.run.logical_date.astimezone(HCM) == due, (night.run, due)
    final = night.final()
    for t in ("plan", "extract_and_land", "validate_and_load", "build_marts", "deliver_feedback", "publish"):
        assert final[t].state == "success", (t, final[t])
    # the report phases run when the window ends a half-year, else they are skipped
    for t in ("report_gate", "build_report_models", "write_report_files"):
        assert final[t].state in ("success", "skipped"), (t, final[t])
    assert {t.state for t in final.values()} <= {"success", "skipped"}
    # every try of a writer task that ran (on a worker: skipped ones never did) ran alone: the
    # start/end intervals of the pool's tries never overlap
    writers = sorted((t for t in night.tries if t.pool == POOL and t.hostname), key=lambda t: t.start_date)
    assert len(writers) >= 6, writers
    for a, b in zip(writers, writers[1:]):
        assert a.end_date is not None and a.end_date <= b.start_date, f"{POOL} tries overlap:\n{a}\n{b}"
    # the DuckDB file is whole, the writer lock free
    from dolisa.lock import writer_lock
    from dolisa.settings import Paths

    assert whole(night.home / "warehouse" / "dolisa.duckdb") > 20
    assert not (night.home / "warehouse.lock.holder").exists()
    with writer_lock(Paths(night.home), "test", timeout=0):
        pass


def test_two_celery_workers_run_the_night_on_its_schedule(nights, reference, due):
    undisturbed = night_of(nights, "calm")
    check_night(undisturbed, due)
    ran = [t for t in undisturbed.tries if t.hostname]
    assert {t.hostname for t in ran} == set(WORKERS), [(t.task_id, t.hostname) for t in ran]
    # what one worker landed, the other loaded (the shared DOLISA_HOME)
    final = undisturbed.final()
    assert final[DRAINED_AFTER[0]].hostname == undisturbed.events["drained"]
    assert final[DRAINED_AFTER[1]].hostname != final[DRAINED_AFTER[0]].hostname
    assert all(t.current and t.try_number <= 1 for t in undisturbed.tries), undisturbed.tries  # no retry
    assert undisturbed.timeouts == []
    got = marts(undisturbed.home / "warehouse" / "dolisa.duckdb")
    assert len(got) > 10 and got == reference.result()
    print(f"undisturbed night {undisturbed.run.run_id}: {undisturbed.timings} s; "
          f"tries: {[(t.task_id, t.hostname) for t in ran]}")


def test_a_worker_lost_mid_task_loses_nothing(nights, reference, due):
    kill = nights["kill"]
    night = night_of(nights, "lost")
    assert kill.killed, f"{KILLED_TASK} was never seen running with a fact table written"
    lost = kill.record["hostname"]
    survivor = next(w for w in WORKERS if w != lost)
    check_night(night, due)
    # the killed try: failed by the scheduler (no heartbeat), not by the task; the retry ran on the other worker
    assert night.timeouts == [(KILLED_TASK, 1)]
    tries = [t for t in night.tries if t.task_id == KILLED_TASK]
    assert [(t.try_number, t.hostname, t.state) for t in sorted(tries, key=lambda t: t.try_number)] == [
        (1, lost, "failed"), (2, survivor, "success")], tries
    after = [t for t in night.tries if t.hostname and t.start_date and t.start_date > kill.record["at"]]
    assert after and {t.hostname for t in after} == {survivor}, after  # the lost worker ran nothing more
    # the same ledger and marts as the undisturbed night: no version lost, none loaded twice
    undisturbed = night_of(nights, "calm")
    assert ledger(night.home) == ledger(undisturbed.home)
    got = marts(night.home / "warehouse" / "dolisa.duckdb")
    assert got == marts(undisturbed.home / "warehouse" / "dolisa.duckdb")
    assert got == reference.result()
    print(f"night with a lost worker: {night.timings} s; killed {lost} during {KILLED_TASK} after "
          f"{len(kill.record['written_before_kill'])} fact table(s); "
          f"tries: {[(t.task_id, t.try_number, t.hostname, t.state) for t in night.tries]}")
