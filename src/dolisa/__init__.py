"""Data warehouse of the Cao Bằng Department of Labour, Invalids and Social Affairs.

Stages: extract (District Export API) -> land (raw zone + ledger) -> parse and check
(the contract's file and row rules, in SQL; rejected files and rows quarantined with their
reason) -> load (DuckDB raw tables) -> dbt (staging, marts) -> report gate (Great
Expectations) -> report models and files -> publish (the reader zone's snapshot).
Every stage runs from Airflow (dags/) or from the CLI (`dolisa ...`).
"""

__version__ = "0.1.0"
