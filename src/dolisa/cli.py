"""`dolisa` command line: every stage of the pipeline without Airflow.

dolisa extract --periods 2021-04,2021-05      # pull + land (hub from AIRFLOW_CONN_DISTRICT_EXPORT_API)
dolisa load [--periods ...] [--reload]         # parse + row rules (SQL) + load landed versions
dolisa transform [--docs]                      # dbt build through the marts (+ docs generate)
dolisa report 2021-H1 [--allow-incomplete] [--as-of 2021-07-10]  # gate + build-reports + write-report
                                               # (+ the report as of a date, with revisions.csv)
dolisa gate 2021-H1 [--allow-incomplete]       # the report gate (GX) over the marts
dolisa build-reports 2021-H1                   # the rpt_ models (after the gate passed)
dolisa write-report 2021-H1 [--out-dir DIR]    # the report files from the rpt_ models
dolisa run --periods ... [--report-period ...] # all of the above, in order
dolisa transform --full-refresh                # every model rebuilt from the ledger
dolisa rebuild                                 # warehouse from the raw zone alone (atomic swap)
dolisa rotate-key                              # new pseudonym key; every pseudonym re-keyed
dolisa publish                                 # read-only snapshot of the marts, figures only
dolisa feedback [--date 2021-07-10] [--no-send] # each unit's Vietnamese feedback sheet (+ e-mail)
dolisa hub generate|serve ...                  # the demo export hub
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from dolisa import contract


def _periods(value: str | None) -> list[str] | None:
    if not value:
        return None
    out: list[str] = []
    for part in value.split(","):
        part = part.strip()
        if ".." in part:
            a, b = part.split("..")
            out += contract.period_range(a, b)
        elif part:
            contract.parse_period(part)
            out.append(part)
    return sorted(set(out))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "hub":  # the demo hub lives beside the product (demo/dolisa_demo)
        try:
            from dolisa_demo.hub.__main__ import main as hub_main
        except ImportError:
            print(
                "dolisa hub: the demo package (demo/dolisa_demo) is not installed here; "
                "scripts/bootstrap.sh installs it into the development virtualenv",
                file=sys.stderr,
            )
            return 2
        return hub_main(argv[1:])

    ap = argparse.ArgumentParser(
        prog="dolisa", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract", help="pull and land submissions")
    e.add_argument("--periods", required=True, help="YYYY-MM list, comma-separated, ranges as A..B")
    lo = sub.add_parser("load", help="parse, check and load landed versions")
    lo.add_argument("--periods")
    lo.add_argument("--reload", action="store_true", help="reload versions already in the ledger")
    t = sub.add_parser("transform", help="dbt build through the marts")
    t.add_argument("--docs", action="store_true")
    t.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every model from the ledger (what an incremental build always equals)",
    )
    r = sub.add_parser("report", help="report gate, report models and report files for a half-year")
    r.add_argument("report_period")
    r.add_argument("--allow-incomplete", action="store_true")
    r.add_argument("--as-of", help="YYYY-MM-DD: also the report as it stood that day, with revisions.csv")
    g = sub.add_parser("gate", help="the report gate (Great Expectations over the marts) for a half-year")
    g.add_argument("report_period")
    g.add_argument("--allow-incomplete", action="store_true")
    br = sub.add_parser("build-reports", help="build the rpt_ models (after the gate passed)")
    br.add_argument("report_period")
    wr = sub.add_parser("write-report", help="write the report files of a gated half-year")
    wr.add_argument("report_period")
    wr.add_argument("--out-dir", help="report folder (default $DOLISA_HOME/reports/<period>)")
    run = sub.add_parser("run", help="extract, load, transform and (optionally) report")
    run.add_argument("--periods", required=True)
    run.add_argument("--report-period")
    run.add_argument("--allow-incomplete", action="store_true")
    sub.add_parser("rebuild", help="rebuild the warehouse from the raw zone, beside the live one, then swap it in")
    sub.add_parser("rotate-key", help="re-key every citizen-id pseudonym and rebuild the models that hold one")
    sub.add_parser("publish", help="publish the read-only snapshot of the marts (figures only)")
    fb = sub.add_parser("feedback", help="write (and send) each reporting unit's Vietnamese feedback of a night")
    fb.add_argument("--date", help="YYYY-MM-DD: the night (default: today in Asia/Ho_Chi_Minh)")
    fb.add_argument("--no-send", action="store_true", help="write the sheets only")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    from dolisa import pipeline

    out: object
    if args.cmd == "extract":
        from dolisa.extract import HubConfig

        out = pipeline.extract(_periods(args.periods), HubConfig.from_env())
    elif args.cmd == "load":
        out = pipeline.load(_periods(args.periods), only_new=not args.reload)
    elif args.cmd == "transform":
        out = pipeline.transform(docs=args.docs, full_refresh=args.full_refresh)
    elif args.cmd in ("report", "gate"):
        from dolisa.quality.report_gate import ReportGateBlocked

        try:
            if args.cmd == "report":  # the current report, its issued copy and (--as-of) the re-issue
                from dolisa import reissue, run_conf

                out = reissue.report_with_as_of(
                    args.report_period,
                    args.as_of and run_conf.parse_as_of(args.as_of),
                    allow_incomplete=args.allow_incomplete,
                )
            else:
                res = pipeline.gate(args.report_period, allow_incomplete=args.allow_incomplete)
                out = {k: v for k, v in res.as_dict().items() if k != "rules"}
        except ReportGateBlocked as e:
            print(str(e), file=sys.stderr)
            return 2
    elif args.cmd == "build-reports":
        out = pipeline.build_reports(args.report_period)
    elif args.cmd == "write-report":
        from pathlib import Path

        out = pipeline.write_report(args.report_period, out_dir=Path(args.out_dir) if args.out_dir else None)
    elif args.cmd == "run":
        from dolisa.extract import HubConfig

        periods = _periods(args.periods)
        out = {
            "extract": pipeline.extract(periods, HubConfig.from_env()),
            "load": pipeline.load(periods),
            "transform": pipeline.transform(),
        }
        if args.report_period:  # a blocked gate raises: nothing of that period is published
            from dolisa import reissue  # the report and its issued copy

            out["report"] = reissue.report_with_as_of(args.report_period, allow_incomplete=args.allow_incomplete)
        out["publish"] = pipeline.publish()
        out["feedback"] = pipeline.feedback(dt.datetime.now(pipeline.HCM))
    elif args.cmd == "feedback":
        when = dt.date.fromisoformat(args.date) if args.date else dt.datetime.now(pipeline.HCM)
        out = pipeline.feedback(when, send=not args.no_send)
    elif args.cmd == "rebuild":
        out = {"rebuild": pipeline.rebuild_from_raw(), "publish": pipeline.publish()}
    elif args.cmd == "rotate-key":
        out = pipeline.rotate_key()
    elif args.cmd == "publish":
        out = pipeline.publish()
    else:  # pragma: no cover
        ap.error(args.cmd)
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
