"""Data warehouse of the Cao Bằng Department of Labour, Invalids and Social Affairs.

Stages: extract (District Export API) -> land (raw zone + ledger) -> parse/validate
(door gate) -> load (DuckDB raw tables) -> dbt (staging, marts, reports) -> report gate
-> report files. Every stage runs from Airflow (dags/) or from the CLI (`dolisa ...`).
"""

__version__ = "0.1.0"
