"""Demo District Export hub: a store of district submissions, a deterministic
generator of Cao Bằng demo data and an HTTP server implementing contract §2
with deterministic fault injection.

    from dolisa_demo.hub import generate, start_server, HubStore
    generate("/tmp/hub")                                   # 2020-01 .. 2021-06
    with start_server("/tmp/hub", faults=["503"]) as hub:  # hub.url, token 'demo-token'
        ...

CLI: ``python -m dolisa_demo.hub generate --store DIR`` and
``python -m dolisa_demo.hub serve --store DIR --port 8765 --token T``.
"""

from dolisa_demo.hub.generator import DEFECT_PLAN, REFERENCE_2021H1, SPECIAL_SUBMISSIONS, generate, manifest
from dolisa_demo.hub.server import FAULT_KINDS, HubServer, start_server
from dolisa_demo.hub.store import HubStore

__all__ = [
    "DEFECT_PLAN",
    "FAULT_KINDS",
    "REFERENCE_2021H1",
    "SPECIAL_SUBMISSIONS",
    "HubServer",
    "HubStore",
    "generate",
    "manifest",
    "start_server",
]
