"""Personal data stays protected (issue 10): the pseudonym key never leaves its store,
the project is safe with zero configuration, key rotation re-keys every pseudonym, no
name or citizen id from a file with shifted columns reaches anything outside the
restricted zone, and the restricted zone is owner-only on disk.

Real hub, real DuckDB files, real dbt; the CLI runs in subprocesses.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TOKEN = "pd-token-31"
PERIOD = "2021-06"
TZ = dt.timezone(dt.timedelta(hours=7))
SENTINEL_KEY = "SENTINEL-pseudonym-key-7f3a9c2e41"

# A file whose columns are shifted: names and citizen ids land in the id, sex, code and
# free-text columns. None of these values may be found outside the restricted zone.
NAMES = ("Đàm Thị Xuyếnsentinel", "Hoàng Văn Quýsentinel")
IDS = ("039912345678", "039987654321")
SHIFTED = (
    "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code\n"
    f"SHIFT1,{NAMES[0]},{IDS[0]},M,1990-01-01,2021-06-03,DOMESTIC,,\n"
    f"SHIFT2,{IDS[1]},M,{NAMES[1]},1990-01-01,2021-06-03,{IDS[0]},,\n"
    f"SHIFT3,{IDS[1]},Ba,F,{NAMES[0]},2021-06-03,DOMESTIC,,{NAMES[1]}\n"
    f"SHIFT4,{IDS[1]},Ba,F,1990-01-01,{IDS[0]},ABROAD,,{IDS[1]}\n"
    "OK1,012345678901,Lò Văn Ba,M,1990-01-01,2021-06-03,DOMESTIC,,\n"
).encode()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub") / "store"
    generate(root, first=PERIOD, last=PERIOD)
    store = HubStore(root).load()
    version = max(s["version"] for s in store.listing("040", PERIOD)) + 1
    store.add_submission("040", PERIOD, version, dt.datetime(2021, 7, 4, 9, 0, tzinfo=TZ),
                         {"job_placements.csv": SHIFTED})
    store.save()
    with start_server(root, token=TOKEN) as server:
        yield server


def env_for(home: Path, hub, key: str | None = None, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DOLISA_PSEUDONYM_KEY"}
    env.update({
        "DOLISA_HOME": str(home),
        "AIRFLOW_CONN_DISTRICT_EXPORT_API": f"http://:{TOKEN}@127.0.0.1:{hub.port}",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    if key:
        env["DOLISA_PSEUDONYM_KEY"] = key
    env.update(extra)
    return env


def dolisa(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "dolisa"), "-v", *args], env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"dolisa {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def run_all(env: dict) -> str:
    """Extract, load, dbt (with docs), publish and an (incomplete) report; returns everything printed."""
    out = []
    for args in (("run", "--periods", PERIOD), ("transform", "--docs"),
                 ("report", "2021-H1", "--allow-incomplete")):
        proc = dolisa(env, *args, check=args[0] != "report")
        out += [proc.stdout, proc.stderr]
    return "\n".join(out)


def files_containing(root: Path, needle: str, skip: tuple[Path, ...] = ()) -> list[str]:
    hits = []
    variants = {needle.encode("utf-8")}
    for dirpath, _, names in os.walk(root):
        for n in names:
            f = Path(dirpath) / n
            if any(f == s or s in f.parents for s in skip):
                continue
            data = f.read_bytes()
            if any(v in data for v in variants):
                hits.append(str(f.relative_to(root)))
    return hits


def text_values(db: Path, needle: str) -> list[str]:
    """Every (table.column) of a DuckDB file whose text holds `needle` (storage may compress text)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        hits = []
        cols = con.execute("""select table_schema, table_name, column_name from information_schema.columns
                              where data_type in ('VARCHAR', 'JSON') """).fetchall()
        for schema, table, col in cols:
            n = con.execute(f'select count(*) from {schema}."{table}" where contains("{col}"::varchar, ?)',
                            [needle]).fetchone()[0]
            if n:
                hits.append(f"{schema}.{table}.{col}")
        for (sql,) in con.execute("select coalesce(sql, '') from duckdb_views() union all "
                                  "select coalesce(macro_definition, '') from duckdb_functions()").fetchall():
            if needle in (sql or ""):
                hits.append("a view or macro definition")
        return hits
    finally:
        con.close()


def person_keys(db: Path) -> dict[str, set[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for schema, table in con.execute("""select table_schema, table_name from information_schema.columns
                                            where column_name = 'person_key'""").fetchall():
            out[f"{schema}.{table}"] = {r[0] for r in con.execute(
                f'select distinct person_key from {schema}."{table}" where person_key is not null').fetchall()}
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def sentinel_run(tmp_path_factory, hub):
    home = tmp_path_factory.mktemp("sentinel") / "home"
    printed = run_all(env_for(home, hub, key=SENTINEL_KEY))
    return home, printed


def test_the_key_is_nowhere_outside_its_store(sentinel_run):
    home, printed = sentinel_run
    assert SENTINEL_KEY not in printed
    assert files_containing(home, SENTINEL_KEY) == []
    assert text_values(home / "warehouse" / "dolisa.duckdb", SENTINEL_KEY) == []
    # a configured key is used as it is: no copy of it is written to the store
    assert not (home / "secrets" / "pseudonym.key").exists()
    # dbt's artifacts were written (so the search above looked at them)
    assert (home / "dbt" / "target" / "manifest.json").exists()
    assert (home / "dbt" / "target" / "run_results.json").exists()


def test_pseudonyms_are_hmac_of_the_citizen_id(sentinel_run):
    import hashlib
    import hmac

    home, _ = sentinel_run
    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        cid, pk = con.execute("select citizen_id, person_key from raw.job_placements where placement_id = 'OK1'").fetchone()
    finally:
        con.close()
    assert pk == hmac.new(SENTINEL_KEY.encode(), cid.encode(), hashlib.sha256).hexdigest()
    assert pk in person_keys(home / "warehouse" / "dolisa.duckdb")["marts.fct_job_placements"]
    # the reader zone holds figures: no pseudonym at all in the published snapshot
    assert person_keys(home / "published" / "warehouse.duckdb") == {}


def test_shifted_columns_leave_no_name_or_id_outside_the_restricted_zone(sentinel_run):
    home, printed = sentinel_run
    published = home / "published" / "warehouse.duckdb"
    assert published.exists() and any((home / "reports").rglob("*.csv"))
    for value in NAMES + IDS:
        assert value not in printed, value  # the task log of the CLI
        for zone in ("published", "reports", "data_docs"):
            if (home / zone).exists():
                assert files_containing(home / zone, value) == [], (zone, value)
        assert text_values(published, value) == [], value
    # the values are kept for operators, in the restricted zone, with reasons that name the column
    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        rows = con.execute("""select source_row, reasons, record from meta.quarantined_rows
                              where dataset = 'job_placements' and submission_id like '040-%'
                              order by source_row""").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert NAMES[0] in rows[0][2]
    assert "citizen_id: malformed citizen id" in rows[0][1]
    assert "sex: cannot be read as a sex" in rows[1][1]


def test_restricted_zone_is_owner_only_and_reader_zone_is_shared(sentinel_run):
    home, _ = sentinel_run
    shared = (home / "published", home / "reports")
    checked = 0
    for dirpath, dirs, files in os.walk(home):
        for name in dirs + files:
            f = Path(dirpath) / name
            mode = stat.S_IMODE(f.lstat().st_mode)
            if any(f == s or s in f.parents for s in shared):
                want = 0o755 if f.is_dir() else 0o644
                assert mode & 0o777 == want or (not f.is_dir() and mode == 0o444), (str(f), oct(mode))
            else:
                assert mode & 0o077 == 0, (str(f), oct(mode))
            checked += 1
    assert checked > 50
    assert stat.S_IMODE(home.stat().st_mode) & 0o044 == 0  # others cannot list the home


def test_zero_configuration_creates_a_key_store_and_pseudonyms_are_stable(tmp_path, hub):
    home = tmp_path / "home"
    env = env_for(home, hub)  # no key configured anywhere
    dolisa(env, "run", "--periods", PERIOD)
    store = home / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    key = store.read_text().strip()
    assert len(key) >= 32
    before = person_keys(home / "warehouse" / "dolisa.duckdb")
    assert before["marts.fct_job_placements"]
    # a second run (reload + transform) gives the same pseudonyms
    dolisa(env, "load", "--periods", PERIOD, "--reload")
    dolisa(env, "transform")
    assert person_keys(home / "warehouse" / "dolisa.duckdb") == before
    assert store.read_text().strip() == key

    # rotation: one command; every pseudonym changes, none of the old ones is left anywhere
    dolisa(env, "rotate-key")
    new_key = store.read_text().strip()
    assert new_key != key and stat.S_IMODE(store.stat().st_mode) == 0o600
    after = person_keys(home / "warehouse" / "dolisa.duckdb")
    old_all = set().union(*before.values())
    assert set(after) == set(before)
    for table, keys in after.items():
        assert len(keys) == len(before[table]), table
        assert not keys & old_all, table
    assert person_keys(home / "published" / "warehouse.duckdb") == {}  # figures only, before and after
    assert files_containing(home / "published", key) == []
    # the warehouse now refuses the old key instead of mixing pseudonyms
    proc = dolisa(env_for(home, hub, key=key), "load", "--periods", PERIOD, "--reload", check=False)
    assert proc.returncode != 0 and "rotate-key" in proc.stderr
    assert key not in proc.stderr


def test_a_configured_key_rotation(tmp_path, hub):
    home = tmp_path / "home"
    first, second = "configured-key-one-0123456789", "configured-key-two-0123456789"
    dolisa(env_for(home, hub, key=first), "run", "--periods", PERIOD)
    before = person_keys(home / "warehouse" / "dolisa.duckdb")
    proc = dolisa(env_for(home, hub, key=first), "rotate-key", check=False)
    assert proc.returncode != 0 and "already" in proc.stderr  # change the configured key first
    dolisa(env_for(home, hub, key=second), "rotate-key")
    after = person_keys(home / "warehouse" / "dolisa.duckdb")
    assert not set().union(*after.values()) & set().union(*before.values())
    assert files_containing(home, second) == [] and files_containing(home, first) == []
