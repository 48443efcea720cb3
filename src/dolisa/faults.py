"""Crash points for the crash-safety tests.

`DOLISA_CRASH_AT=<name>` makes the process die (os._exit, like a kill -9: no cleanup,
no rollback) when it reaches the crash point of that name. Unset in production.
"""

from __future__ import annotations

import os


def crash_point(name: str) -> None:
    if os.environ.get("DOLISA_CRASH_AT") == name:
        os._exit(137)
