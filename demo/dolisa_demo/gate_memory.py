"""The report gate alone, its memory measured: `python -m dolisa_demo.gate_memory HOME [PERIOD] [--ballast-mb N]`.

Runs `dolisa.pipeline.gate(PERIOD)` (default 2021-H1) in this process on the DOLISA_HOME
`HOME` (a built warehouse, e.g. the bench's home_airflow_s60) and prints one JSON line: the
process's RSS before the gate, its peak while the gate ran (sampled every 20 ms, and the
kernel's high-water mark VmHWM), its RSS after, the wall time, the DuckDB memory_limit the
gate's connection got, and the findings by rule.

`--ballast-mb N` first fills N MiB of touched memory, so the gate starts as it does inside
`airflow dags test` (Airflow, dbt and the earlier tasks' leftovers in the same process): the
connection's memory_limit is then lowered the same way (`dolisa.settings.duckdb_settings`).
The gate writes its decision, Data Docs and report folder into HOME, as it would.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dolisa_demo.gate_memory", description=__doc__.split("\n\n")[0])
    ap.add_argument("home")
    ap.add_argument("period", nargs="?", default="2021-H1")
    ap.add_argument("--ballast-mb", type=int, default=0)
    a = ap.parse_args(argv)
    os.environ["DOLISA_HOME"] = a.home
    os.environ.setdefault("DOLISA_PSEUDONYM_KEY", "dev-only-not-a-secret")
    import psutil

    from dolisa import pipeline, settings

    ballast = bytearray(a.ballast_mb << 20)
    for i in range(0, len(ballast), 4096):  # touch every page
        ballast[i] = 1
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    peak = [rss0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.02)

    limit = settings.duckdb_settings()["memory_limit"]  # what a connection opened now would get
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0 = time.perf_counter()
    error = None
    try:
        result = pipeline.gate(a.period)
    except Exception as e:  # a blocked gate is a result too
        result = getattr(e, "result", None)
        error = type(e).__name__
    wall = time.perf_counter() - t0
    done.set()
    t.join()
    rules: dict[str, int] = {}
    for f in result.findings if result is not None else []:
        rules[f.rule] = rules.get(f.rule, 0) + 1
    mib = 1 << 20
    print(
        json.dumps(
            {
                "period": a.period,
                "ballast_mb": a.ballast_mb,
                "rss_before_mb": round(rss0 / mib),
                "peak_rss_mb": round(peak[0] / mib),
                "vm_hwm_mb": round(_status("VmHWM") / mib),
                "rss_after_mb": round(proc.memory_info().rss / mib),
                "gate_above_start_mb": round((peak[0] - rss0) / mib),
                "duckdb_memory_limit_at_start": limit,
                "wall_s": round(wall, 1),
                "passed": None if result is None else result.passed,
                "error": error,
                "findings": rules,
            }
        )
    )
    del ballast
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
