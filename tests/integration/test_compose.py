"""The production compose file, validated by a real compose implementation.

`docker-compose config` (Debian's docker-compose 1.29 needs no engine for it) parses,
validates and interpolates docker-compose.yml with `.env.example` as the env file; the test
then checks the rendered model: services, the `demo` profile, health checks, DOLISA_HOME on
a volume, secrets only from the env file. The Airflow commands of the services and their
health checks are parsed by the installed Airflow 3.3 CLI, so a flag that does not exist fails here.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    from . import celery_deployment as cd
except ImportError:
    import celery_deployment as cd  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SHARED_DATA = ROOT / "deploy" / "docker-compose.shared-data.yml"
BIN = Path(sys.executable).parent

AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
SERVICES = AIRFLOW_SERVICES | {"postgres", "redis", "demo-hub", "desk", "desk-proxy"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|PSEUDONYM_KEY|AIRFLOW_CONN_|BROKER_URL|RESULT_BACKEND|SQL_ALCHEMY_CONN")

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (CI installs Debian's docker-compose: apt-get install -y docker-compose)",
)


def env_values(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def compose_config(env_file: Path, *files: Path, extra_env: dict[str, str] | None = None,
                   check: bool = True) -> subprocess.CompletedProcess:
    # A clean environment: nothing from the caller's shell may fill a ${...}.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env["DOLISA_ENV_FILE"] = str(env_file)  # the containers' env_file (default .env, git-ignored)
    env.update(extra_env or {})
    args = ["docker-compose"]
    for f in files or (COMPOSE,):
        args += ["-f", str(f)]
    args += ["--env-file", str(env_file), "config"]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(compose_config(ENV_EXAMPLE).stdout)


def test_services_and_profiles(config):
    services = config["services"]
    assert set(services) == SERVICES
    assert services["demo-hub"].get("profiles") == ["demo"]
    for name in SERVICES - {"demo-hub"}:
        assert not services[name].get("profiles"), name  # the platform starts without any profile
    assert services["postgres"]["image"].split(":")[1].startswith("15")
    assert services["redis"]["image"].split(":")[1].startswith("7")
    for name in AIRFLOW_SERVICES:
        s = services[name]
        assert s["build"]["dockerfile"] == "Dockerfile", name
        env = s["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg v3, which is not installed
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://airflow:"), name
        assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Ho_Chi_Minh", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith("/execution/"), name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/dolisa/dags", name
        deps = s["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
    cmd = {n: services[n]["command"] for n in AIRFLOW_SERVICES}
    assert cmd["airflow-apiserver"][:2] == ["airflow", "api-server"]
    assert cmd["airflow-scheduler"] == ["airflow", "scheduler"]
    assert cmd["airflow-dag-processor"] == ["airflow", "dag-processor"]
    assert cmd["airflow-triggerer"] == ["airflow", "triggerer"]
    assert cmd["airflow-worker"] == ["airflow", "celery", "worker"]
    demo = " ".join(services["demo-hub"]["command"])
    assert "python -m dolisa_demo.hub generate --store /data/demo_hub_store" in demo
    assert "python -m dolisa_demo.hub serve --store /data/demo_hub_store --host 0.0.0.0 --port 8765 --token" in demo
    assert "DEMO_HUB_TOKEN" in demo
    # the demo hub is built from the `demo` target; every other service from the default
    # (production) target, which does not ship the demo package
    assert services["demo-hub"]["build"]["target"] == "demo"
    for name in SERVICES - {"demo-hub"}:
        assert "target" not in (services[name].get("build") or {}), name


def test_health_checks_on_every_long_running_service(config):
    services = config["services"]
    for name in SERVICES - {"airflow-init"}:  # airflow-init is one-shot
        hc = services[name].get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), name
    tests = {n: " ".join(services[n]["healthcheck"]["test"]) for n in SERVICES - {"airflow-init"}}
    assert "/api/v2/monitor/health" in tests["airflow-apiserver"]
    assert "airflow jobs check --job-type SchedulerJob" in tests["airflow-scheduler"]
    assert "airflow jobs check --job-type DagProcessorJob" in tests["airflow-dag-processor"]
    assert "airflow jobs check --job-type TriggererJob" in tests["airflow-triggerer"]
    assert "inspect ping" in tests["airflow-worker"]
    assert "pg_isready" in tests["postgres"]
    assert "redis-cli" in tests["redis"] and "ping" in tests["redis"]


def test_airflow_commands_and_health_checks_exist_in_the_installed_airflow(config):
    """Every `airflow ...` argv of the compose file parses with the installed Airflow CLI."""
    services = config["services"]
    argvs = []
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        argvs.append(services[name]["command"][1:])
        test = services[name]["healthcheck"]["test"]
        if test[0] == "CMD" and test[1] == "airflow":
            argvs.append(test[2:])
    script = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "p = get_parser()\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    p.parse_args(argv)\n"
        "from airflow.providers.celery.executors import celery_executor\n"
        "assert celery_executor.app.main\n"
        "print('ok')\n"
    )
    env = dict(os.environ, AIRFLOW__CORE__EXECUTOR="CeleryExecutor", AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:1/0")
    proc = subprocess.run([str(BIN / "python"), "-c", script, json.dumps(argvs)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, f"{argvs}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    # the init script's commands too
    init = (ROOT / "deploy" / "init.sh").read_text(encoding="utf-8")
    assert "airflow db migrate" in init and "airflow pools set duckdb_writer 1" in init


def test_dolisa_home_on_a_named_volume(config):
    services = config["services"]
    assert "dolisa-data" in config["volumes"]
    for name in ("airflow-worker", "airflow-init"):
        s = services[name]
        assert s["environment"]["DOLISA_HOME"] == "/data", name
        assert any(v.split(":")[:2] == ["dolisa-data", "/data"] for v in s["volumes"]), (name, s["volumes"])
    assert any(v.split(":")[:2] == ["postgres-db", "/var/lib/postgresql/data"] for v in services["postgres"]["volumes"])
    assert all(not v.startswith(("/", ".")) for s in services.values() for v in s.get("volumes", []))  # no bind mounts


def test_no_secret_is_hard_coded():
    raw_text = COMPOSE.read_text(encoding="utf-8")
    example = env_values(ENV_EXAMPLE)
    secret_names = [k for k in example if SECRET_NAME.search(k)]
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__API__SECRET_KEY", "AIRFLOW_ADMIN_PASSWORD",
            "AIRFLOW_CONN_DISTRICT_EXPORT_API", "DEMO_HUB_TOKEN"} <= set(secret_names)
    # the pseudonym key is optional (contract §5: a safe default on first use): no placeholder to fill
    assert "DOLISA_PSEUDONYM_KEY" not in example
    for k in secret_names:
        assert "CHANGE_ME" in example[k], f".env.example must hold a placeholder for {k}"
        assert example[k] not in raw_text, k
    # every secret-looking value the compose file sets itself is a ${...} reference
    raw = yaml.safe_load(raw_text)
    for name, s in raw["services"].items():
        env = s.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
        for k, v in items:
            if SECRET_NAME.search(k) and not k.endswith("_FILE"):
                assert "${" in str(v), f"{name}: {k} is hard-coded"
        if name != "desk-proxy":  # the TLS proxy needs no secret and is given none
            assert s.get("env_file") == "${DOLISA_ENV_FILE:-.env}", name
    # .env is git-ignored, so a filled-in copy is never committed
    if (ROOT / ".git").exists():
        assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0


def test_secret_values_come_from_the_env_file(tmp_path):
    values = {k: (v if "CHANGE_ME" not in v else f"s3cr3t-{k.lower()}-{secrets.token_hex(6)}")
              for k, v in env_values(ENV_EXAMPLE).items()}
    values["DOLISA_PSEUDONYM_KEY"] = f"s3cr3t-pseudonym-key-{secrets.token_hex(8)}"  # optional; when set it reaches the workers
    env_file = tmp_path / "prod.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    rendered = compose_config(env_file).stdout
    assert "CHANGE_ME" not in rendered
    cfg = yaml.safe_load(rendered)
    env = cfg["services"]["airflow-scheduler"]["environment"]
    assert values["POSTGRES_PASSWORD"] in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert values["REDIS_PASSWORD"] in env["AIRFLOW__CELERY__BROKER_URL"]
    for k in ("AIRFLOW__CORE__FERNET_KEY", "DOLISA_PSEUDONYM_KEY", "AIRFLOW_CONN_DISTRICT_EXPORT_API"):
        assert env[k] == values[k], k
    # a missing secret stops compose instead of starting with an empty password
    partial = tmp_path / "partial.env"
    partial.write_text("".join(f"{k}={v}\n" for k, v in values.items() if k != "POSTGRES_PASSWORD"),
                       encoding="utf-8")
    proc = compose_config(partial, check=False)
    assert proc.returncode != 0 and "POSTGRES_PASSWORD" in proc.stderr, proc.stderr


def test_shared_data_override_for_several_worker_machines():
    cfg = yaml.safe_load(compose_config(ENV_EXAMPLE, COMPOSE, SHARED_DATA, extra_env={
        "DOLISA_NFS_SERVER": "10.0.0.5", "DOLISA_NFS_EXPORT": "/srv/dolisa"}).stdout)
    vol = cfg["volumes"]["dolisa-data"]
    assert vol["driver_opts"]["type"] == "nfs"
    assert "addr=10.0.0.5" in vol["driver_opts"]["o"] and vol["driver_opts"]["device"] == ":/srv/dolisa"


def test_image_installs_the_lock_file_then_the_project():
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", docker, re.M)
    lock = docker.index("pip install -r requirements.lock")
    assert docker.index("pip install --no-deps .") > lock
    for folder in ("dags", "dbt_project", "expectations"):
        assert re.search(rf"^COPY {folder} ", docker, re.M), folder
    # the last stage is the default target: the product, without the demo package
    stages = re.split(r"^FROM ", docker, flags=re.M)
    assert stages[-1].startswith("base AS production") and "demo" not in stages[-1].split("\n", 1)[1]
    assert "COPY demo" not in stages[1]
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".env", ".venv", ".dolisa_home", ".services", ".git"):
        assert entry in ignore, entry
    lock_pins = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for pkg in ("psycopg2-binary", "asyncpg", "apache-airflow-providers-celery", "celery", "redis"):
        assert re.search(rf"^{re.escape(pkg)}==", lock_pins, re.M), pkg


def test_desk_serves_the_published_snapshot_read_only(config):
    desk = config["services"]["desk"]
    assert desk["command"][:3] == ["python", "-m", "dolisa.desk"]
    assert desk["environment"]["DOLISA_HOME"] == "/data"
    assert desk["volumes"] and all(v.endswith(":ro") for v in desk["volumes"])  # it never writes the warehouse
    assert "/dang-nhap" in " ".join(desk["healthcheck"]["test"])


def test_the_desk_is_reached_only_through_its_tls_proxy_whose_headers_alone_it_believes(config):
    services = config["services"]
    desk, proxy = services["desk"], services["desk-proxy"]
    assert not desk.get("ports")  # nothing reaches the desk but the proxy
    assert set(desk["networks"]) == {"desk"} and set(proxy["networks"]) == {"desk"}
    proxy_ip = proxy["networks"]["desk"]["ipv4_address"]
    assert desk["environment"]["DOLISA_DESK_TRUSTED_PROXIES"] == proxy_ip  # that one address, no other
    assert desk["networks"]["desk"]["ipv4_address"] != proxy_ip
    assert str(desk["environment"]["DOLISA_DESK_COOKIE_SECURE"]).lower() == "true"
    assert any(str(p.get("target", p)).endswith("8443") for p in proxy["ports"])
    subnet = config["networks"]["desk"]["ipam"]["config"][0]["subnet"]
    import ipaddress
    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(subnet)
    cmd = proxy["command"]
    assert cmd[:2] == ["caddy", "reverse-proxy"] and cmd[cmd.index("--to") + 1] == "desk:8800"
    assert cmd[cmd.index("--from") + 1].startswith("https://") and "--internal-certs" in cmd
    assert "env_file" not in proxy  # it needs no secret, so it is given none
    assert "/dang-nhap" in " ".join(proxy["healthcheck"]["test"])


def commented_env_values(path: Path) -> dict[str, str]:
    """`# NAME=value` lines: the optional settings an env file documents with their defaults."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#\s*([A-Z][A-Z0-9_]*)=(\S*)\s*$", line.strip())
        if m:
            out[m[1]] = m[2]
    return out


def test_celery_settings_are_those_the_deployment_test_ran_with(config, tmp_path):
    """test_celery_deployment.py runs two Celery workers, one SIGKILLed mid-task, with
    `celery_deployment.compose_settings()` (read from this file's x-airflow-env): compose, given
    .env.example, must render the same values on every Airflow service, set no other Celery,
    worker, heartbeat or retry setting, and .env.example must list each with that value."""
    proven = cd.compose_settings()
    assert set(proven) == set(cd.PROVEN)
    assert proven["AIRFLOW__CELERY__TASK_ACKS_LATE"] == "True"  # a lost worker's message stays in Redis
    assert proven["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"] == "1"
    for name in AIRFLOW_SERVICES:
        env = {k: str(v) for k, v in config["services"][name]["environment"].items()}
        assert {k: env.get(k) for k in proven} == proven, name
        governed = {k for k in env if cd.GOVERNED.search(k)} - cd.NOT_GOVERNED
        assert governed == set(proven), (name, governed ^ set(proven))
    listed = commented_env_values(ENV_EXAMPLE)
    assert {k: listed.get(k) for k in proven} == proven
    # what a site sets in its env file wins, on every Airflow service
    values = dict(env_values(ENV_EXAMPLE), AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="120")
    site = tmp_path / "site.env"
    site.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    rendered = yaml.safe_load(compose_config(site).stdout)
    for name in AIRFLOW_SERVICES:
        env = rendered["services"][name]["environment"]
        assert str(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"]) == "120", name
