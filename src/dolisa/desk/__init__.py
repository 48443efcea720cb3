"""The reporting team's desk: a read-only web page in Vietnamese over the published
snapshot (``$DOLISA_HOME/published/warehouse.duckdb``) and the report folders.

    python -m dolisa.desk [--host 127.0.0.1] [--port 8800]      (scripts/desk.sh)
"""

from .app import create_app

__all__ = ["create_app"]
