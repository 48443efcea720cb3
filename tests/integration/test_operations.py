"""Operations: reruns and backfills are idempotent, a crash leaves no partial month, the
warehouse can be rebuilt from the raw zone alone, and the published snapshot can be read
while a load writes. Real hub, real DuckDB files, real dbt; the CLI runs in subprocesses
so a crash is a real dying process."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TOKEN = "ops-token-77"
PERIODS = "2021-04..2021-06"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub") / "store"
    generate(root, first="2021-04", last="2021-06")
    return root


@pytest.fixture(scope="module")
def hub(store):
    with start_server(store, token=TOKEN) as server:
        yield server


def env_for(home: Path, hub, **extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DOLISA_HOME": str(home),
        "AIRFLOW_CONN_DISTRICT_EXPORT_API": f"http://:{TOKEN}@127.0.0.1:{hub.port}",
        "DOLISA_PSEUDONYM_KEY": "ops-test-key-not-a-secret",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update(extra)
    return env


def dolisa(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "dolisa"), *args], env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"dolisa {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def digest(db: Path, schemas=("raw", "marts", "reports"),
           skip_cols=("landed_at", "loaded_at", "validated_at", "result_path")) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for schema, table in con.execute(
            f"select table_schema, table_name from information_schema.tables where table_schema in {schemas} order by 1, 2"
        ).fetchall():
            cols = [c[0] for c in con.execute(f'describe {schema}."{table}"').fetchall() if c[0] not in skip_cols]
            rows = con.execute(f'select {", ".join(cols)} from {schema}."{table}" order by all').fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, hub) -> tuple[Path, dict]:
    """A clean run: extract, load, transform. Its digest is what every other path must reach."""
    home = tmp_path_factory.mktemp("clean")
    env = env_for(home, hub)
    dolisa(env, "run", "--periods", PERIODS)
    return home, digest(home / "warehouse" / "dolisa.duckdb")


def test_rerun_and_backfill_leave_the_same_warehouse(reference, hub):
    home, expected = reference
    env = env_for(home, hub)
    dolisa(env, "run", "--periods", PERIODS)  # a rerun: nothing new to land
    assert digest(home / "warehouse" / "dolisa.duckdb") == expected
    dolisa(env, "load", "--periods", PERIODS, "--reload")  # a backfill reprocessing the months
    dolisa(env, "transform")
    assert digest(home / "warehouse" / "dolisa.duckdb") == expected


def test_rebuild_from_the_raw_zone_alone(reference, hub, tmp_path):
    home, expected = reference
    copy = tmp_path / "restored"
    shutil.copytree(home / "raw", copy / "raw")  # only the raw zone (files + manifests) survives
    env = env_for(copy, hub)
    dolisa(env, "rebuild")
    assert digest(copy / "warehouse" / "dolisa.duckdb") == expected


def test_a_crash_in_the_middle_of_a_load_leaves_no_partial_month(reference, hub, tmp_path):
    _, expected = reference
    home = tmp_path / "crashy"
    env = env_for(home, hub)
    dolisa(env, "extract", "--periods", PERIODS)
    dolisa(env, "load", "--periods", "2021-04")
    # die (like kill -9) after half of May's versions were written, before the month commits
    crash = env_for(home, hub, DOLISA_CRASH_AT="load:2021-05:049-2021-05-v1")
    proc = dolisa(crash, "load", "--periods", PERIODS, check=False)
    assert proc.returncode == 137
    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        months = dict(con.execute("select period, count(*) from meta.submissions group by 1").fetchall())
        assert "2021-05" not in months and "2021-04" in months  # May is all or nothing
        assert con.execute("select count(*) from raw.social_allowance_register where period = '2021-05'").fetchall()[0][0] == 0
    finally:
        con.close()
    dolisa(env, "load", "--periods", PERIODS)  # the rerun completes the work
    dolisa(env, "transform")
    assert digest(home / "warehouse" / "dolisa.duckdb") == expected


def test_a_killed_dbt_build_is_repaired_by_the_rerun(reference, hub, tmp_path):
    _, expected = reference
    home = tmp_path / "killed_dbt"
    env = env_for(home, hub)
    dolisa(env, "extract", "--periods", PERIODS)
    dolisa(env, "load", "--periods", PERIODS)
    proc = subprocess.Popen([str(BIN / "dolisa"), "transform"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(6)  # dbt is building models by now
    proc.kill()
    proc.wait()
    dolisa(env, "transform")
    assert digest(home / "warehouse" / "dolisa.duckdb") == expected


def test_published_snapshot_is_readable_while_a_load_writes(reference, hub, tmp_path):
    home, _ = reference
    snapshot = home / "published" / "warehouse.duckdb"
    assert snapshot.exists()
    work = tmp_path / "writer"
    shutil.copytree(home, work)
    env = env_for(work, hub)
    writer = subprocess.Popen([str(BIN / "dolisa"), "load", "--periods", PERIODS, "--reload"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    reads = 0
    published = work / "published" / "warehouse.duckdb"
    try:
        while writer.poll() is None or reads < 3:
            con = duckdb.connect(str(published), read_only=True)
            try:
                n = con.execute("select count(*) from marts.fct_submission_status").fetchall()[0][0]
                assert n > 0
                cols = {c[0] for c in con.execute(
                    "select column_name from information_schema.columns").fetchall()}
                assert not cols & {"full_name", "citizen_id", "borrower_citizen_id"}
            finally:
                con.close()
            reads += 1
            time.sleep(0.2)
    finally:
        writer.wait(timeout=600)
    assert writer.returncode == 0, writer.stderr.read()[-3000:]
    assert reads >= 3
    # publishing again (atomic replace) while a reader holds the old snapshot open
    reader = duckdb.connect(str(published), read_only=True)
    try:
        dolisa(env, "publish")
        assert reader.execute("select count(*) from marts.fct_submission_status").fetchall()[0][0] > 0
    finally:
        reader.close()


# ---------------------------------------------------------------- one writer, no stale facts

HOLD = """
import sys, time
from dolisa.lock import writer_lock
from dolisa.settings import paths
with writer_lock(paths().ensure(), "test-holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def test_a_second_writer_waits_then_fails_naming_the_holder(reference, hub, tmp_path):
    home, _ = reference
    env = env_for(home, hub, DOLISA_LOCK_TIMEOUT="2")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "60"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (("load", "--periods", PERIODS), ("transform",), ("rebuild",), ("publish",)):
            started = time.monotonic()
            proc = dolisa(env, *args, check=False)
            assert proc.returncode != 0, args
            assert "test-holder" in proc.stderr and f"pid {holder.pid}" in proc.stderr, proc.stderr[-2000:]
            assert time.monotonic() - started >= 2
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead holder's lock: the next writer goes ahead
    dolisa(env_for(home, hub, DOLISA_LOCK_TIMEOUT="5"), "load", "--periods", PERIODS)


@pytest.mark.parametrize("crash_at", ["load:2021-05:040-2021-05-v1", "rebuild:swap"])
def test_a_crashed_rebuild_leaves_the_old_warehouse_intact(reference, hub, tmp_path, crash_at):
    home, expected = reference
    work = tmp_path / "work"
    shutil.copytree(home, work)
    env = env_for(work, hub)
    proc = dolisa(env_for(work, hub, DOLISA_CRASH_AT=crash_at), "rebuild", check=False)
    assert proc.returncode == 137
    assert digest(work / "warehouse" / "dolisa.duckdb") == expected
    dolisa(env, "rebuild")  # the next rebuild completes, and swaps in the same warehouse
    assert digest(work / "warehouse" / "dolisa.duckdb") == expected
    assert not (work / "warehouse" / "dolisa.rebuild.duckdb").exists()


def test_a_reloaded_version_gives_the_marts_of_a_full_refresh(reference, hub, tmp_path):
    """A version whose landed copy was corrected and reloaded: the incremental build must not
    keep its stale rows (it equals a full refresh, table by table)."""
    import json

    home, _ = reference
    work = tmp_path / "work"
    shutil.copytree(home, work)
    env = env_for(work, hub)
    versions = sorted(((json.loads(p.read_text()), p.parent)
                       for p in (work / "raw" / "040" / "2021-06").glob("*/manifest.json")),
                      key=lambda mv: mv[0]["version"])
    manifest, vdir = versions[-1]  # the version in force
    entry = next(f for f in manifest["files"] if f["dataset"] == "job_placements")
    landed = next(p for p in vdir.rglob(entry["name"]) if p.is_file())
    lines = landed.read_bytes().splitlines(keepends=True)
    assert len(lines) > 3
    os.chmod(landed, 0o600)
    corrected = b"".join(lines[:-1])  # the operator re-landed a copy without its last record
    landed.write_bytes(corrected)
    entry.update(rows=entry["rows"] - 1, bytes=len(corrected), sha256=hashlib.sha256(corrected).hexdigest())
    (vdir / "manifest.json").write_text(json.dumps(manifest))
    dolisa(env, "load", "--periods", "2021-06", "--reload")
    dolisa(env, "transform")
    incremental = digest(work / "warehouse" / "dolisa.duckdb", schemas=("marts",))
    dolisa(env, "transform", "--full-refresh")
    assert digest(work / "warehouse" / "dolisa.duckdb", schemas=("marts",)) == incremental
    con = duckdb.connect(str(work / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        n_fct = con.execute("select count(*) from marts.fct_job_placements where submission_id = ?",
                            [manifest["submission_id"]]).fetchone()[0]
        n_raw = con.execute("select count(*) from raw.job_placements where submission_id = ?",
                            [manifest["submission_id"]]).fetchone()[0]
    finally:
        con.close()
    assert n_fct == n_raw


def test_a_rebuild_keeps_the_gate_decisions_and_the_report_tables(reference, hub, tmp_path):
    """The gate's decisions are the one thing not in the raw zone: a rebuild carries them over
    and builds the report tables of the periods they allow again."""
    home, _ = reference
    work = tmp_path / "work"
    shutil.copytree(home, work)
    env = env_for(work, hub)
    dolisa(env, "report", "2021-H1", "--allow-incomplete")  # 2021-01..03 were never pulled: overridden
    wh = work / "warehouse" / "dolisa.duckdb"
    before = digest(wh, schemas=("marts", "reports"))
    assert any(k.startswith("reports.") for k in before)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        decisions = con.execute("select report_period, passed, overridden from meta.report_gate_decisions").fetchall()
    finally:
        con.close()
    assert decisions == [("2021-H1", True, True)]
    dolisa(env, "rebuild")
    assert digest(wh, schemas=("marts", "reports")) == before
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("select report_period, passed, overridden from meta.report_gate_decisions").fetchall() == decisions
    finally:
        con.close()


def test_a_snapshot_published_night_by_night_equals_the_reference(reference, hub, tmp_path):
    """Month by month, then a reload and a full refresh: the snapshot the reporting team reads
    is the one the reference home published from one run of the whole window."""
    home, _ = reference
    expected = digest(home / "published" / "warehouse.duckdb", schemas=("marts", "reports"))
    work = tmp_path / "work"
    env = env_for(work, hub)
    published = work / "published" / "warehouse.duckdb"
    dolisa(env, "run", "--periods", "2021-04..2021-05")
    dolisa(env, "run", "--periods", "2021-06")  # the nightly adding a month
    assert digest(published, schemas=("marts", "reports")) == expected

    dolisa(env, "load", "--periods", "2021-06", "--reload")  # every 2021-06 version gets a new loaded_at
    dolisa(env, "transform")
    dolisa(env, "publish")
    assert digest(published, schemas=("marts", "reports")) == expected
    dolisa(env, "transform", "--full-refresh")
    dolisa(env, "publish")
    assert digest(published, schemas=("marts", "reports")) == expected
