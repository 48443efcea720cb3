"""One writer, always: the exclusive warehouse lock in DOLISA_HOME.

Every stage that writes the warehouse (load, transform, report models, publish,
rebuild, key rotation), from an Airflow task or the CLI, runs inside

    with writer_lock(paths, "load"):
        ...

The lock is an OS file lock (`fcntl.flock`) on `$DOLISA_HOME/warehouse.lock`, so it is
released by the kernel when the holder dies: a crashed writer never leaves a stale
lock. A second writer waits up to `DOLISA_LOCK_TIMEOUT` seconds (default 900) and then
fails with `LockTimeout`, naming the holder (stage, pid, host, command, since when),
which the holder writes into `warehouse.lock.holder`.

The lock is re-entrant within one process (the CLI's `run` and `airflow dags test` call
stages inside stages): an inner `writer_lock` in the process that holds it just nests.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dolisa.settings import Paths, lock_timeout_seconds

_HELD: dict[str, int] = {}  # lock path -> nesting depth in this process
_GUARD = threading.RLock()


class LockTimeout(RuntimeError):
    """Another writer held the warehouse lock for longer than the bounded wait."""


def _holder(path: Path) -> str:
    try:
        h = json.loads(Path(str(path) + ".holder").read_text(encoding="utf-8"))
        return (
            f"stage {h.get('stage')!r}, pid {h.get('pid')} on {h.get('host')}, "
            f"since {h.get('since')} ({h.get('command')})"
        )
    except (OSError, ValueError):
        return "an unknown process"


@contextmanager
def writer_lock(paths: Paths, stage: str, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive warehouse lock for `stage`; wait at most `timeout` seconds."""
    path = paths.lock_file
    key = str(path)
    with _GUARD:
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        wait = lock_timeout_seconds() if timeout is None else timeout
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(
                            f"the warehouse is being written by {_holder(path)}; waited {wait:.0f}s "
                            f"for {stage!r} (lock {path}; set DOLISA_LOCK_TIMEOUT to wait longer)"
                        ) from None
                    time.sleep(0.2)
            holder = {
                "stage": stage,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "command": " ".join(os.path.basename(a) for a in sys.argv[:3]),
            }
            hp = Path(key + ".holder")
            tmp = hp.with_name(hp.name + f".{os.getpid()}")
            tmp.write_text(json.dumps(holder), encoding="utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, hp)
            _HELD[key] = 1
            try:
                yield
            finally:
                _HELD.pop(key, None)
                hp.unlink(missing_ok=True)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
