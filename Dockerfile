# Image of the Cao Bằng DOLISA warehouse: Airflow 3.3 + the dolisa package + DAGs, dbt project,
# expectations. Every dependency comes from the lock file (requirements.lock), then the project
# itself without dependencies. Targets: `production` (the default, last stage; every Airflow
# service and the desk in docker-compose.yml) ships the product only; `demo` adds the demo
# package (demo/dolisa_demo: demo hub, generator, benchmark, samples) for the compose profile `demo`.
FROM python:3.11-slim AS base

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Ho_Chi_Minh \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    DOLISA_HOME=/data \
    DOLISA_DBT_PROJECT_DIR=/opt/dolisa/dbt_project \
    DOLISA_EXPECTATIONS_DIR=/opt/dolisa/expectations \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/dolisa/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Ho_Chi_Minh

# curl: health checks; tzdata: Asia/Ho_Chi_Minh for the OS clock as well.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && ln -snf /usr/share/zoneinfo/$TZ /etc/localtime && echo $TZ > /etc/timezone \
 && useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow

WORKDIR /opt/dolisa

# 1. the locked dependency set (its own layer: rebuilt only when the lock changes)
COPY requirements.lock ./
RUN python -m venv /opt/venv \
 && pip install --upgrade "pip<27" \
 && pip install -r requirements.lock

# 2. the project, without dependencies (they are all in the lock)
COPY pyproject.toml README.md MANIFEST.in ./
COPY src ./src
RUN pip install --no-deps . && rm -rf build src/*.egg-info

# 3. what Airflow and the pipeline read at run time
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
COPY deploy ./deploy

RUN chmod 0755 deploy/*.sh \
 && mkdir -p /data /opt/airflow/logs \
 && chown -R airflow:0 /data /opt/airflow /opt/dolisa/dbt_project \
 && chmod -R g+rwX /data /opt/airflow

USER airflow
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/opt/dolisa/deploy/entrypoint.sh"]
CMD ["airflow", "version"]

# The demo District Export hub's image (compose profile `demo`): the product plus the demo
# package beside it, on the virtualenv's path.
FROM base AS demo
USER root
COPY demo/dolisa_demo ./demo/dolisa_demo
RUN echo /opt/dolisa/demo > "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/dolisa_demo.pth"
USER airflow

# The production image (the default target): the product only, no demo package.
FROM base AS production
