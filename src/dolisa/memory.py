"""Give memory back to the operating system after a heavy stage.

Under `airflow dags test` every task runs inside the one `airflow` process (Airflow 3's
`InProcessTestSupervisor`), and the CLI's `dolisa run` runs every stage in one process too:
what a stage leaves in the process is still counted while the next stage runs. Two things
stay unless asked:

- freed C heap that glibc keeps in its arenas (pandas frames of the report gate, the
  loader's worker threads): `malloc_trim(0)` returns the free pages;
- objects in reference cycles (GX's context and results, dbt's manifest) until the cyclic
  collector runs: `gc.collect()` first, so their memory is free when it is trimmed.

(DuckDB's own memory is returned when its database is closed: `dolisa.dbt` closes the
database dbt-duckdb would otherwise keep open after a run.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_libc: Any = None


def _malloc_trim() -> None:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim  # noqa: B018 (the lookup raises AttributeError off glibc: musl, macOS)
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


def release() -> None:
    """Collect cycles and return the C heap's free pages to the OS (cheap: well under a second)."""
    gc.collect()
    _malloc_trim()


def releases_memory(fn: F) -> F:
    """Decorate a pipeline stage: `release()` when it returns or raises."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            release()

    wrapper.releases_memory = True  # type: ignore[attr-defined]  # (tests check every stage has it)
    return wrapper  # type: ignore[return-value]
