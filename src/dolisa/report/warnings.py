"""The warnings published with a report, as one list: the one builder the annex, the workbook,
``warnings.csv`` and the desk read.

The gate's findings (``quality_gate.json``: one per unit, month and item) become lines a person
can work through:

* grouped: one line per kind, reporting unit and dataset, with its months in that one line
  ("Huyện Hà Quảng nộp muộn số liệu tháng 2/2021, 5/2021");
* ordered by severity (``high`` first: a figure of the report may be wrong; ``medium``: a figure
  may still change or is incomplete; ``low``: timeliness and technical notes), then by kind,
  unit, dataset and month;
* each with its Vietnamese sentence (:mod:`dolisa.report.messages_vi`, one wording per rule).

``warnings.csv`` (beside ``indicators.csv``, in the reader zone) holds these lines with the
header :data:`CSV_COLUMNS`: codes, months and the sentence; never a record id, a person's name,
a birth date or a cell value (the gate's findings carry none: they name units, months,
datasets and counts).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import atomic_path, unit_sort_key
from .messages_vi import (
    _fields,
    dataset_vi,
    finding_vi,
    month_vi,
    outlier_basis_vi,
    outlier_detail_vi,
    outlier_numbers_vi,
    rule_title_vi,
    share_vi,
    unit_name_vi,
)

CSV_NAME = "warnings.csv"
CSV_COLUMNS = ["kind", "severity", "unit_code", "dataset", "periods", "findings", "title_vi", "message_vi"]

HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_ORDER = {HIGH: 0, MEDIUM: 1, LOW: 2}
SEVERITY_VI = {HIGH: "Cao", MEDIUM: "Trung bình", LOW: "Thấp"}

# gate rule -> (kind in warnings.csv, severity). The order is the order of kinds in the list.
KINDS: dict[str, tuple[str, str]] = {
    "outlier": ("outlier", HIGH),  # a figure the report prints may be wrong
    "missing_dataset": ("missing_dataset", HIGH),
    "gate_error": ("gate_error", HIGH),
    "same_period_gap": ("same_period_gap", MEDIUM),  # a same-period figure is incomplete
    "rejected_version": ("rejected_version", MEDIUM),  # the unit's correction is not in the figures
    "deferred_version": ("deferred_version", MEDIUM),  # a version not fetched yet may change a figure
    "quarantine_share": ("quarantine", MEDIUM),  # low when under QUARANTINE_NOTABLE_SHARE (below)
    "quarantined_rows": ("quarantine", MEDIUM),
    "late_submission": ("late", LOW),
    "dbt_test_warning": ("dbt_test", LOW),
}
KIND_ORDER = {k: i for i, k in enumerate(dict.fromkeys(kind for kind, _ in KINDS.values()))}
# a unit-month whose quarantined rows are under this share of its rows is a low-severity note
QUARANTINE_NOTABLE_SHARE = 0.01


@dataclass(frozen=True)
class ReportWarning:
    """One line of the list."""

    kind: str
    severity: str
    unit_code: str | None
    dataset: str | None
    periods: tuple[str, ...]
    findings: int  # how many of the gate's findings the line groups
    title_vi: str
    message_vi: str

    @property
    def severity_vi(self) -> str:
        return SEVERITY_VI.get(self.severity, self.severity)

    @property
    def unit_vi(self) -> str:
        return unit_name_vi(self.unit_code, self.periods[-1] if self.periods else None) or ""

    @property
    def dataset_vi(self) -> str:
        return dataset_vi(self.dataset) if self.dataset else ""

    @property
    def months_vi(self) -> str:
        return ", ".join(month_vi(p) or p for p in self.periods)

    def as_row(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "unit_code": self.unit_code or "",
            "dataset": self.dataset or "",
            "periods": ";".join(self.periods),
            "findings": str(self.findings),
            "title_vi": self.title_vi,
            "message_vi": self.message_vi,
        }


# ---------------------------------------------------------------------------
# findings -> lines
# ---------------------------------------------------------------------------

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _rule_of(finding: Any) -> str:
    return str(_fields(finding).get("rule") or "")


def _severity(rule: str, fields: dict) -> str:
    kind_severity = KINDS.get(rule, (rule, LOW))[1]
    if rule == "quarantine_share":
        try:
            if float(fields.get("quarantine_share")) < QUARANTINE_NOTABLE_SHARE:
                return LOW
        except (TypeError, ValueError):
            pass
    return kind_severity


def _months_phrase(periods: Sequence[str]) -> str:
    months = [month_vi(p) or p for p in periods]
    return months[0] if len(months) == 1 else ", ".join(months[:-1]) + " và " + months[-1]


def _message(rule: str, unit_code: str | None, dataset: str | None, members: list[dict]) -> str:
    """The line's sentence: the rule's own sentence for one finding; for several months of one
    unit (and dataset), one sentence with the months, each with its detail where it has one."""
    if len(members) == 1:
        return finding_vi(members[0])
    periods = [m.get("period") for m in members]
    unit = unit_name_vi(unit_code, periods[-1]) if unit_code else None
    if rule in ("outlier", "missing_dataset") and all(m.get("expected_rows") is not None for m in members):
        tail = " — cần hỏi lại đơn vị." if rule == "missing_dataset" else " — cần kiểm tra lại."
        bases = {outlier_basis_vi(m) for m in members}
        if len(bases) == 1:  # the basis said once, the months' figures after it
            parts = [f"tháng {month_vi(m['period'])}: {outlier_numbers_vi({**m, 'item': dataset})}" for m in members]
            return f"{unit}, {dataset_vi(dataset or '')} (mức dự kiến {bases.pop()}): " + "; ".join(parts) + tail
        parts = [f"tháng {month_vi(m['period'])}: {outlier_detail_vi({**m, 'item': dataset})}" for m in members]
        return f"{unit}, {dataset_vi(dataset or '')}: " + "; ".join(parts) + tail
    if rule in ("quarantine_share", "quarantined_rows"):
        parts = []
        for m in members:
            n = m.get("rows_quarantined")
            share = m.get("quarantine_share")
            detail = f"{n} dòng" if n is not None else "có dòng"
            if share is not None:
                detail += f", {share_vi(float(share))}"
            parts.append(f"tháng {month_vi(m['period'])} ({detail})")
        return (
            f"{unit}: dòng dữ liệu của phiên bản có hiệu lực bị cách ly, không được tính vào số liệu: "
            + "; ".join(parts)
            + "."
        )
    if rule == "late_submission":
        return (
            f"{unit} nộp muộn số liệu tháng {_months_phrase(periods)} (phiên bản được chấp nhận đầu tiên "
            "nộp sau hạn ngày 5 tháng sau)."
        )
    if rule == "same_period_gap":
        current = members[0].get("current_unit_code")
        whose = f"của {unit_name_vi(current, None)} " if current else ""
        return (
            f"{unit} chưa có số liệu được chấp nhận tháng {_months_phrase(periods)} (cùng kỳ năm trước): "
            f"số liệu cùng kỳ {whose}chưa đầy đủ."
        )
    if rule == "rejected_version":
        return (
            f"{unit}: có phiên bản bị từ chối ở tháng {_months_phrase(periods)}; phiên bản được chấp nhận trước "
            "đó vẫn có hiệu lực (xem phản hồi gửi đơn vị)."
        )
    if rule == "deferred_version":
        return (
            f"{unit}: có phiên bản chưa tải về được ở tháng {_months_phrase(periods)} (lỗi tạm thời), sẽ tải "
            "lại ở lần chạy sau."
        )
    texts = list(dict.fromkeys(finding_vi(m).rstrip(".") for m in members))
    return "; ".join(texts) + "."


def build_warnings(findings: Iterable[Any]) -> list[ReportWarning]:
    """The grouped, ordered list of the report's warnings (see the module docs). ``findings``
    are the gate's findings (``Finding``, their ``as_dict()`` form as in ``quality_gate.json``,
    or ``"[rule] message"`` strings); a plain string without a rule is kept as its own line."""
    groups: dict[tuple, list[dict]] = {}
    free: list[str] = []
    for f in findings or ():
        if isinstance(f, str) and not re.match(r"^\[[^\]]+\]", f):
            free.append(f)
            continue
        fields = _fields(f)
        rule = str(fields.get("rule") or "")
        unit = fields.get("unit_code") or None
        dataset = fields.get("item") if rule in ("outlier", "missing_dataset") else None
        key = (rule, unit, dataset)
        if rule not in KINDS or not unit:  # no unit: one line per item, as the gate gives it
            key = (rule, unit, dataset, fields.get("item"), len(groups))
        groups.setdefault(key, []).append(fields)
    out: list[ReportWarning] = []
    for key, members in groups.items():
        rule, unit, dataset = key[0], key[1], key[2]
        members = sorted(members, key=lambda m: str(m.get("period") or ""))
        periods = tuple(dict.fromkeys(str(m["period"]) for m in members if _MONTH.match(str(m.get("period") or ""))))
        severity = min((_severity(rule, m) for m in members), key=lambda s: SEVERITY_ORDER.get(s, 9))
        kind = KINDS.get(rule, (rule, LOW))[0]
        out.append(
            ReportWarning(
                kind,
                severity,
                unit,
                dataset,
                periods,
                len(members),
                rule_title_vi(rule),
                _message(rule, unit, dataset, members),
            )
        )
    out += [ReportWarning("note", LOW, None, None, (), 1, "", text) for text in free]
    out.sort(
        key=lambda w: (
            SEVERITY_ORDER.get(w.severity, 9),
            KIND_ORDER.get(w.kind, len(KIND_ORDER)),
            unit_sort_key(w.unit_code or "~"),
            w.dataset or "",
            w.periods,
        )
    )
    return out


def as_warnings(items: Iterable[Any]) -> list[ReportWarning]:
    """The list itself, or the list built from the gate's findings (a writer called on its own)."""
    items = list(items or ())
    if all(isinstance(x, ReportWarning) for x in items):
        return items
    return build_warnings(items)


# ---------------------------------------------------------------------------
# warnings.csv
# ---------------------------------------------------------------------------


def warnings_csv_text(warnings: Sequence[ReportWarning]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for item in warnings:
        w.writerow(item.as_row())
    return buf.getvalue()


def write_warnings_csv(path: str | os.PathLike, warnings: Sequence[ReportWarning]) -> Path:
    """``warnings.csv`` (UTF-8, header :data:`CSV_COLUMNS`, ``periods`` ``;``-separated), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(warnings_csv_text(warnings), encoding="utf-8")
    return path


def read_warnings_csv(path: str | os.PathLike) -> list[ReportWarning]:
    """The list as written (the desk reads what the report files printed)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            ReportWarning(
                r["kind"],
                r["severity"],
                r["unit_code"] or None,
                r["dataset"] or None,
                tuple(p for p in r["periods"].split(";") if p),
                int(r.get("findings") or 1),
                r.get("title_vi") or "",
                r["message_vi"],
            )
            for r in csv.DictReader(fh)
        ]


def report_warnings(folder: str | os.PathLike, gate: dict | None = None) -> list[ReportWarning]:
    """The list a report folder published (its warnings.csv); for a folder written before
    warnings.csv existed, the same list built from its quality_gate.json's warnings."""
    path = Path(folder) / CSV_NAME
    if path.is_file():
        return read_warnings_csv(path)
    return build_warnings((gate or {}).get("warnings") or [])


def summary_vi(warnings: Sequence[ReportWarning]) -> str:
    """'59 cảnh báo: 3 mức cao, 19 trung bình, 37 thấp.' (empty list: 'Không có cảnh báo.')"""
    if not warnings:
        return "Không có cảnh báo."
    counts = {s: sum(w.severity == s for w in warnings) for s in SEVERITY_ORDER}
    parts = [f"{n} mức {SEVERITY_VI[s].lower()}" for s, n in counts.items() if n]
    return f"{len(warnings)} cảnh báo: " + ", ".join(parts) + "."
