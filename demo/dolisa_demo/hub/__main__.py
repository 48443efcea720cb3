"""python -m dolisa_demo.hub generate|serve ..."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dolisa_demo.hub", description="Demo District Export hub")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write a deterministic demo store")
    g.add_argument("--store", required=True)
    g.add_argument("--seed", type=int, default=2021)
    g.add_argument("--scale", type=float, default=1.0)
    g.add_argument("--first", default="2020-01")
    g.add_argument("--last", default="2021-06")
    g.add_argument(
        "--inject-anomalies",
        action="store_true",
        help="inject the true anomalies of ANOMALY_PLAN in the range (listed in demo_manifest.json)",
    )
    g.add_argument(
        "--registers",
        type=float,
        default=1.0,
        help="multiply the two registers (social allowance, child protection) by this (the heavy shape: 3)",
    )
    g.add_argument(
        "--omit-empty",
        action="store_true",
        help="send no file for a dataset without records (default: half of them are sent empty)",
    )
    s = sub.add_parser("serve", help="serve a store over HTTP (contract §2)")
    s.add_argument("--store", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--token", default="demo-token")
    s.add_argument(
        "--faults", default="", help="comma-separated: 429,500,502,503,504,403,404,stall,reset,truncate,trickle"
    )
    s.add_argument(
        "--listing-fault",
        action="append",
        default=[],
        metavar="UNIT/PERIOD=KIND",
        help="serve that listing malformed: notjson, shape, reversed, repeated (repeatable)",
    )
    s.add_argument("--trickle-seconds", type=float, default=0.2)
    s.add_argument("--fault-rate", type=float, default=0.0)
    s.add_argument("--fault-listings", action="store_true", help="inject faults into listings too")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--stall-seconds", type=float, default=3.0)
    s.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay every response by this many milliseconds (a slow network; concurrent "
        "requests are delayed in parallel)",
    )
    s.add_argument("--available-at", default=None, help="ISO datetime cut-off (naive = Asia/Ho_Chi_Minh)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if a.cmd == "generate":
        from dolisa_demo.hub.generator import generate

        t0 = time.monotonic()
        store = generate(
            a.store,
            seed=a.seed,
            scale=a.scale,
            first=a.first,
            last=a.last,
            anomalies=a.inject_anomalies,
            registers=a.registers,
            omit_empty=a.omit_empty,
        )
        n = sum(1 for _ in store.iter_submissions())
        print(f"{n} submission versions written to {store.root} in {time.monotonic() - t0:.1f} s")
        return 0
    from dolisa_demo.hub.server import HubServer

    listing_faults = dict(x.split("=", 1) for x in a.listing_fault)
    hub = HubServer(
        a.store,
        a.host,
        a.port,
        a.token,
        [f for f in a.faults.split(",") if f],
        a.fault_rate,
        a.seed,
        dt.datetime.fromisoformat(a.available_at) if a.available_at else None,
        a.stall_seconds,
        a.fault_listings,
        listing_faults=listing_faults,
        trickle_seconds=a.trickle_seconds,
        latency_ms=a.latency_ms,
    )
    print(f"serving {a.store} on {hub.url}", flush=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
