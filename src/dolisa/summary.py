"""Print what a run left behind: where the report is and the province summary table.

python -m dolisa.summary 2021-H1
"""

from __future__ import annotations

import csv
import json
import sys

from dolisa import warehouse
from dolisa.settings import paths


def province_summary(report_period: str) -> list[dict]:
    p = paths()
    with warehouse.connect(p.warehouse, read_only=True) as con:
        rows = con.execute(
            """select sort_order, indicator_code, label_vi, unit_vi, value, plan_value, pct_of_plan,
                      same_period_value, pct_of_same_period
               from reports.rpt_indicators where report_period = ? and unit_code = '04' order by sort_order""",
            [report_period],
        ).fetchall()
    keys = ["stt", "code", "label", "unit", "value", "plan", "pct_plan", "same", "pct_same"]
    return [dict(zip(keys, r, strict=False)) for r in rows]


def _feedback_lines(p) -> None:
    """Where each reporting unit's feedback of the last night is, and what it says."""
    from dolisa.feedback import FEEDBACK_DIR, sheets

    items = sheets(p.reports / FEEDBACK_DIR)
    if not items:
        return
    last = max(i["date"] for i in items)
    night = [i for i in items if i["date"] == last]
    print(f"unit feedback     {p.reports / FEEDBACK_DIR}/<unit>/{last}/  ({len(night)} unit(s); the desk: /phan-hoi)")
    for i in night:
        doc = i["feedback"]
        rejected = sum(v["status"] == "rejected" for v in doc["versions"])
        overdue = sum(m["overdue"] for m in doc["missing"])
        if rejected or doc["rows"] or overdue:
            print(
                f"  {i['unit_code']:<6} {doc['unit_name'][:28]:<28} {rejected} version(s) rejected, "
                f"{len(doc['rows'])} quarantined row reason(s), {overdue} month(s) overdue"
                f"  [{i['delivery'].get('status', 'pending')}]"
            )


def main(argv: list[str] | None = None) -> int:
    from dolisa.report.formats import fmt_pct, fmt_value

    argv = sys.argv[1:] if argv is None else argv
    report_period = argv[0] if argv else "2021-H1"
    p = paths()
    out = p.report_dir(report_period)
    print()
    print(f"DOLISA_HOME       {p.home}")
    print(f"warehouse         {p.warehouse}")
    print(f"published marts   {p.published / 'warehouse.duckdb'}")
    print(f"dbt docs          {p.dbt_target / 'index.html'}")
    print(f"data docs (GX)    {p.data_docs / 'index.html'}  (the last report gate)")
    print(f"report folder     {out}")
    _feedback_lines(p)
    csv_path = out / "indicators.csv"
    if not csv_path.exists():
        print(f"\nNo indicators.csv for {report_period}: see {out / 'quality_gate.json'}")
        gate_file = out / "quality_gate.json"
        if gate_file.exists():
            gate = json.loads(gate_file.read_text(encoding="utf-8"))
            for f in gate.get("blocking", [])[:20]:
                print(f"  [{f['rule']}] {f['message']}")
            print(f"Data Docs of the gate: {gate.get('data_docs')}")
        return 1
    for f in sorted(out.iterdir()):
        print(f"  {f.name}")
    with open(csv_path, encoding="utf-8") as fh:
        n = sum(1 for _ in csv.reader(fh)) - 1
    print(f"\nindicators.csv: {n} rows")
    gate_file = out / "quality_gate.json"
    if gate_file.exists():
        gate = json.loads(gate_file.read_text(encoding="utf-8"))
        kinds: dict[str, int] = {}
        for w in gate["warnings"]:
            kinds[w["rule"]] = kinds.get(w["rule"], 0) + 1
        print(
            f"report gate: passed, {len(gate['warnings'])} warning(s) "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items())) or 'none'}) — see {gate_file.name}"
        )
        print(f"report gate Data Docs: {gate.get('data_docs')}")
        if gate.get("waived"):
            print(f"INCOMPLETE REPORT: {len(gate['waived'])} blocking finding(s) waived by allow_incomplete")

    def num(v, unit):
        return fmt_value(v, unit, empty="—")

    print(f"\nTỉnh Cao Bằng — kết quả {report_period}")
    head = f"{'STT':>3}  {'Chỉ tiêu':<58} {'Kết quả':>16} {'KH năm':>8} {'% KH':>7} {'Cùng kỳ':>16} {'% CK':>7}"
    print(head)
    print("-" * len(head))
    for i, r in enumerate(province_summary(report_period), start=1):
        unit = "triệu đồng" if r["unit"] == "đồng" else r["unit"]  # fmt_value prints money in triệu
        print(
            f"{i:>3}  {(r['label'] + ' (' + unit + ')')[:58]:<58} {num(r['value'], r['unit']):>16} "
            f"{num(r['plan'], r['unit']) if r['plan'] is not None else '':>8} "
            f"{fmt_pct(r['pct_plan']) if r['pct_plan'] is not None else '':>7} "
            f"{num(r['same'], r['unit']) if r['same'] is not None else '':>16} "
            f"{fmt_pct(r['pct_same']) if r['pct_same'] is not None else '':>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
