"""The `ratios` section of the benchmark (issue 34): the headline figures as ratios, each pair
measured side by side in one run, so that the machine's drift from day to day (1.4-1.6 x on the
2-core machine of docs/performance.md) cancels out.

    python -m dolisa_demo.bench --sections ratios [--ingest-scale 5] [--ratios-scale60]

1. load      -- the project's load stage (`dolisa load`, `pipeline.load` timed in-process by the
                probe) against bare DuckDB `read_csv` per file with the columns declared (no
                sniffer, the header read in Python: bench's `duckdb_per_file_known`), on the same
                landed files at --ingest-scale, one right after the other: rows/s of the project
                over rows/s of the bare reader (target >= 0.9 x).
2. nightly56 -- the 56-unit nightly (2026-04..2026-06 and the 2026-H1 report on the 23-month
                reform history) through `airflow dags test` against the CLI's `dolisa run` of the
                same window on an identical copy of the home (target <= 1.10 x). The history's
                dbt docs are generated beforehand, as after any earlier night through Airflow
                (`build_marts` regenerates them only when the dbt project changed; the CLI never
                does: on a home without them the first Airflow night pays `dbt docs generate`,
                which the earlier 117.3 s against 97.5 s of the reform56 section included); with it, each
                Airflow task's duration and the report files' cost (`write_report_files` against
                `pipeline.write_report` inside the CLI run, timed by the probe).
3. scale60   -- only with --ratios-scale60 (about 15 minutes on 2 cores): the full 18-month run at
                scale 60 through `airflow dags test` against the CLI stages of the same code
                (extract, load, transform, report) plus `dolisa publish` (target <= 1.10 x).

`--ratios-repeats N` runs each pair N times, alternating which side goes first.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

TARGETS = {"load": (">=", 0.9), "nightly56": ("<=", 1.10), "scale60": ("<=", 1.10), "report_files_s": ("<=", 10.0)}


def _b():
    from dolisa_demo import bench

    return bench


def _verdict(key: str, value: float | None) -> str:
    if value is None:
        return "not measured"
    op, target = TARGETS[key]
    ok = value >= target if op == ">=" else value <= target
    return "met" if ok else "MISSED"


# ---------------------------------------------------------------------------
# 1. the load stage against bare DuckDB read_csv per file, columns declared
# ---------------------------------------------------------------------------


def load_vs_bare(work: Path, scale: float, results: dict, *, repeats: int = 1) -> dict:
    b = _b()
    store = b.ensure_store(work, scale, results)
    home = work / f"home_ratio_load_s{scale:g}"
    b.rmtree(home)
    stages: list = []
    print(f"bench: ratios: load vs bare DuckDB at scale {scale:g}: landing all 18 months once", flush=True)
    with b.hub(store) as url:
        b.stage(
            stages,
            "ratio land",
            b.dolisa_cmd("extract", "--periods", "..".join(b.ALL_PERIODS)),
            b.base_env(home, url),
            work,
        )
    files = sorted(str(p) for p in (home / "raw").rglob("*.csv") if p.is_file())
    listing = work / "ratio_csv_files.json"
    listing.write_text(json.dumps(files))
    for p in (home / "raw").rglob("*"):  # the page cache warmed alike for both sides
        if p.is_file():
            p.read_bytes()
    pairs = []
    for i in range(repeats):
        pair: dict[str, Any] = {}
        order = ("project", "bare") if i % 2 == 0 else ("bare", "project")
        for side in order:
            if side == "project":
                for f in (home / "warehouse").glob("dolisa.duckdb*"):
                    f.unlink()
                pr = work / f"probe_ratio_load_{i}.json"
                m = b.stage(
                    stages, f"ratio project load {i}", b.dolisa_cmd("load", probe_out=pr), b.base_env(home), work
                )
                rows = b.warehouse_rows(home / "warehouse" / "dolisa.duckdb")
                seconds = b.read_probe(pr).get("load_total") or m["wall"]
                n = sum(rows["rows_in_by_type"].values())
                pair["project"] = {"rows": n, "seconds": seconds, "wall": m["wall"], "peak_rss": m["peak_rss"]}
            else:
                res = work / f"ratio_bare_{i}.json"
                m = b.stage(
                    stages,
                    f"ratio bare duckdb_per_file_known {i}",
                    [
                        sys.executable,
                        "-m",
                        "dolisa_demo.bench",
                        "--contender",
                        "duckdb_per_file_known",
                        str(listing),
                        str(work / "ratio_bare.duckdb"),
                        str(res),
                    ],
                    b.base_env(home),
                    work,
                )
                r = json.loads(res.read_text())
                pair["bare"] = {
                    "rows": r["rows"],
                    "seconds": r["seconds"],
                    "wall": m["wall"],
                    "peak_rss": m["peak_rss"],
                }
        p, q = pair["project"], pair["bare"]
        pair["ratio"] = (p["rows"] / p["seconds"]) / (q["rows"] / q["seconds"])
        pair["order"] = list(order)
        pairs.append(pair)
    ratios = sorted(x["ratio"] for x in pairs)
    return {"scale": scale, "csv_files": len(files), "pairs": pairs, "ratio": ratios[len(ratios) // 2]}


# ---------------------------------------------------------------------------
# 2. the 56-unit nightly through Airflow against `dolisa run`
# ---------------------------------------------------------------------------

NIGHTLY_WINDOW = "2026-04..2026-06"  # the default revision window of a nightly run in July 2026


def _reform_store(work: Path, results: dict) -> Path:
    b = _b()
    store = work / "stores" / f"s1_{b.REFORM_FIRST}_{b.REFORM_LAST}"
    if not (store / "index.json").exists():
        b.rmtree(store)
        store.parent.mkdir(parents=True, exist_ok=True)
        print(f"bench: generating the reform store {b.REFORM_FIRST}..{b.REFORM_LAST} into {store} ...", flush=True)
        m = b.run_tree(
            [sys.executable, "-m", "dolisa_demo.hub", "generate", "--store", str(store)]
            + ["--first", b.REFORM_FIRST, "--last", b.REFORM_LAST],
            log=work / "logs" / "generate_reform.log",
        )
        if m["rc"] != 0:
            raise RuntimeError(f"generate reform store: rc {m['rc']}")
        results.setdefault("generate", {})["reform"] = {"wall": m["wall"], "peak_rss": m["peak_rss"]}
    return store


def nightly56(work: Path, results: dict, *, repeats: int = 1, docs_ready: bool = True) -> dict:
    b = _b()
    store = _reform_store(work, results)
    hist = work / "home_ratio_reform_hist"
    b.rmtree(hist)
    stages: list = []
    out: dict[str, Any] = {
        "window": NIGHTLY_WINDOW,
        "report_period": b.REFORM_REPORT,
        "docs_ready": docs_ready,
        "pairs": [],
    }
    with b.hub(store) as url:
        print(f"bench: ratios: the reform history {b.REFORM_FIRST}..{b.REFORM_PREV}, loaded and published", flush=True)
        env = b.base_env(hist, url)
        b.stage(
            stages,
            "ratio reform history extract",
            b.dolisa_cmd("extract", "--periods", f"{b.REFORM_FIRST}..{b.REFORM_PREV}"),
            env,
            work,
        )
        b.stage(stages, "ratio reform history load", b.dolisa_cmd("load"), env, work)
        # the marts and dbt's docs, as a home that has had a night through Airflow has them (the DAG's
        # build_marts runs `dbt docs generate` only when the project changed; `dolisa run` never does)
        docs = [sys.executable, "-c", "from dolisa import pipeline; pipeline.transform(docs=True)"]
        b.stage(stages, "ratio reform history transform", docs if docs_ready else b.dolisa_cmd("transform"), env, work)
        b.stage(stages, "ratio reform history publish", b.dolisa_cmd("publish"), env, work)
        conf = json.dumps({"periods": b.contract_periods(NIGHTLY_WINDOW), "report_period": b.REFORM_REPORT})
        for i in range(repeats):
            pair: dict[str, Any] = {}
            order = ("cli", "airflow") if i % 2 == 0 else ("airflow", "cli")
            for side in order:
                home = work / f"home_ratio_reform_{side}"
                b.copy_home(hist, home)
                if side == "cli":
                    pr = work / f"probe_ratio_nightly_{i}.json"
                    m = b.stage(
                        stages,
                        f"ratio nightly cli run {i}",
                        b.dolisa_cmd(
                            "run", "--periods", NIGHTLY_WINDOW, "--report-period", b.REFORM_REPORT, probe_out=pr
                        ),
                        b.base_env(home, url),
                        work,
                    )
                    pair["cli"] = {
                        "wall": m["wall"],
                        "peak_rss": m["peak_rss"],
                        "cpu": m.get("cpu"),
                        "probe": b.read_probe(pr),
                    }
                else:
                    af_home = work / "airflow_home_ratio_reform"
                    b.rmtree(af_home)
                    af_home.mkdir(parents=True)
                    aenv = b.airflow_env(af_home, home, url)
                    b.stage(
                        stages, f"ratio airflow db migrate {i}", [str(b.BIN / "airflow"), "db", "migrate"], aenv, work
                    )
                    b.stage(
                        stages,
                        f"ratio airflow pools set {i}",
                        [str(b.BIN / "airflow"), "pools", "set", "duckdb_writer", "1", "bench"],
                        aenv,
                        work,
                    )
                    m = b.stage(
                        stages,
                        f"ratio nightly airflow dags test {i}",
                        [str(b.BIN / "airflow"), "dags", "test", "district_submissions_nightly", b.REFORM_LOGICAL_DATE]
                        + ["-c", conf],
                        aenv,
                        work,
                        check=False,
                    )
                    tasks = b.task_durations(af_home)
                    failed = m["rc"] != 0 or any(str(v) == "failed" for k, v in tasks.items() if k.endswith(":state"))
                    pair["airflow"] = {
                        "wall": m["wall"],
                        "peak_rss": m["peak_rss"],
                        "cpu": m.get("cpu"),
                        "rc": m["rc"],
                        "failed": failed,
                        "tasks": tasks,
                        "tasks_sum": sum(v for k, v in tasks.items() if not k.endswith(":state")),
                    }
            pair["order"] = list(order)
            pair["ratio"] = pair["airflow"]["wall"] / pair["cli"]["wall"]
            out["pairs"].append(pair)
    ratios = sorted(x["ratio"] for x in out["pairs"])
    out["ratio"] = ratios[len(ratios) // 2]
    files = [x["airflow"]["tasks"].get("write_report_files") for x in out["pairs"]]
    files = sorted(x for x in files if x)
    out["write_report_files"] = files[len(files) // 2] if files else None
    return out


# ---------------------------------------------------------------------------
# 3. scale 60: airflow dags test against the CLI stages plus publish
# ---------------------------------------------------------------------------


def scale60(work: Path, scale: float, results: dict) -> dict:
    b = _b()
    cli = b.full_run(work, scale, results)
    home = work / f"home_full_s{scale:g}"
    stages: list = []
    pub = b.stage(stages, f"s{scale:g} publish", b.dolisa_cmd("publish"), b.base_env(home), work)
    cli_wall = cli["wall"] + pub["wall"]
    af = b.national_airflow(work, scale, results)
    return {
        "scale": scale,
        "cli_stages": {s["name"]: s["wall"] for s in cli["stages"]} | {pub["name"]: pub["wall"]},
        "cli_wall": cli_wall,
        "airflow_wall": af["dags_test"],
        "airflow_failed": af["failed"],
        "airflow_tasks": {k: v["duration"] for k, v in af["tasks"].items()},
        "ratio": af["dags_test"] / cli_wall,
    }


# ---------------------------------------------------------------------------
# the section and its table
# ---------------------------------------------------------------------------


def run(work: Path, results: dict, *, ingest_scale: float, scale60_scale: float | None, repeats: int = 1) -> dict:
    b = _b()
    out: dict[str, Any] = {"loadavg_before": os.getloadavg(), "cpu_busy_before": b.busy_cpu(2.0)}
    out["load"] = load_vs_bare(work, ingest_scale, results, repeats=repeats)
    out["nightly56"] = nightly56(work, results, repeats=repeats)
    if scale60_scale:
        out["scale60"] = scale60(work, scale60_scale, results)
    out["loadavg_after"] = os.getloadavg()
    return out


def _rate(side: dict) -> float:
    return side["rows"] / side["seconds"]


def table(r: dict) -> str:
    b = _b()
    rows = []
    ld = r.get("load")
    if ld:
        for p in ld["pairs"]:
            rows.append(
                [
                    f"load vs bare read_csv, columns declared (scale {ld['scale']:g})",
                    f"{p['ratio']:.2f} x",
                    f"{_rate(p['project']):,.0f} vs {_rate(p['bare']):,.0f} rows/s "
                    f"({b.sec(p['project']['seconds'])} vs {b.sec(p['bare']['seconds'])})",
                    ">= 0.9 x",
                    _verdict("load", p["ratio"]),
                ]
            )
    n = r.get("nightly56")
    if n:
        for p in n["pairs"]:
            rows.append(
                [
                    "56-unit nightly: airflow dags test vs dolisa run",
                    f"{p['ratio']:.2f} x",
                    f"{b.sec(p['airflow']['wall'])} vs {b.sec(p['cli']['wall'])}",
                    "<= 1.10 x",
                    _verdict("nightly56", p["ratio"]) + (" (DAG run FAILED)" if p["airflow"]["failed"] else ""),
                ]
            )
            wr = p["cli"]["probe"].get("write_report")
            rows.append(
                [
                    "  write_report_files at 56 units (Airflow task; CLI in-process)",
                    b.sec(p["airflow"]["tasks"].get("write_report_files")),
                    f"CLI pipeline.write_report {b.sec(wr)}",
                    "<= 10 s",
                    _verdict("report_files_s", p["airflow"]["tasks"].get("write_report_files")),
                ]
            )
    s = r.get("scale60")
    if s:
        rows.append(
            [
                f"scale {s['scale']:g}: airflow dags test vs CLI stages + publish",
                f"{s['ratio']:.2f} x",
                f"{b.sec(s['airflow_wall'])} vs {b.sec(s['cli_wall'])}",
                "<= 1.10 x",
                _verdict("scale60", s["ratio"]),
            ]
        )
    else:
        rows.append(
            ["scale 60: airflow vs CLI + publish", "not run", "(--ratios-scale60)", "<= 1.10 x", "not measured"]
        )
    txt = b.table(rows, ["figure", "ratio", "the two sides", "target", "verdict"])
    if n:
        for i, p in enumerate(n["pairs"]):
            t = {k: v for k, v in p["airflow"]["tasks"].items() if not k.endswith(":state")}
            cli = p["cli"]["probe"]
            txt += (
                f"\nnightly pair {i} (order {' then '.join(p['order'])}): Airflow tasks "
                + ", ".join(f"{k} {v:.1f}" for k, v in t.items())
                + f"; Airflow overhead (wall - tasks) {p['airflow']['wall'] - p['airflow']['tasks_sum']:.1f} s"
                + "; CLI probe "
                + ", ".join(f"{k} {v:.1f}" for k, v in cli.items() if isinstance(v, float) and v >= 0.5)
            )
    txt += (
        f"\nload average before {' '.join(f'{x:.2f}' for x in r['loadavg_before'])}, after "
        f"{' '.join(f'{x:.2f}' for x in r['loadavg_after'])}; CPU busy before {r['cpu_busy_before']:.0f}%"
    )
    return txt


# ---------------------------------------------------------------------------
# write_report_files alone, on a home whose report gate has passed
# ---------------------------------------------------------------------------


def report_files(home: Path, report_period: str, repeats: int = 1) -> list[dict]:
    """`pipeline.write_report` (what the DAG's `write_report_files` task runs, minus the issued
    copy) on `home`, in this process: wall and CPU seconds of each call. The first call also
    pays the writers' lazy imports (matplotlib, python-docx, xlsxwriter), as the task does."""
    import time

    os.environ["DOLISA_HOME"] = str(home)
    from dolisa import pipeline

    out = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline.write_report(report_period)
        out.append({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0})
        print(f"write_report {report_period}: wall {out[-1]['wall']:.2f} s, CPU {out[-1]['cpu']:.2f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m dolisa_demo.ratios_bench", description="write_report_files alone")
    ap.add_argument("home", help="a DOLISA_HOME whose report gate passed (e.g. a reform56 bench home)")
    ap.add_argument("report_period", nargs="?", default="2026-H1")
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args(argv)
    report_files(Path(a.home), a.report_period, a.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
