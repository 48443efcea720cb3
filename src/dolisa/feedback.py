"""Feedback to every reporting unit after each night, in Vietnamese: what was received,
what was rejected or quarantined and why, how to fix it, and which months are missing.

For each unit with anything new since its last feedback (a version received — accepted
or rejected — or a deadline passed with no accepted version), one folder of the reader
zone:

    $DOLISA_HOME/reports/feedback/<unit>/<YYYY-MM-DD>/
        phan_hoi_<unit>_<YYYYMMDD>.xlsx   the sheet (Tóm tắt, Phiên bản, Tệp, Dòng bị cách ly, Tháng còn thiếu)
        email.txt / email.html             the e-mail body (plain text and HTML)
        feedback.json                      what the sheet covers (versions, overdue months) and its items
        delivery.json                      whether it was sent: sent | failed | not_sent, attempts, when

The date is the run's date (Asia/Ho_Chi_Minh), so a rerun of a night rewrites the same
folder. "New" is decided against the sheets of earlier dates only.

Everything is read from the marts, where the business definitions live (dbt): the
versions and files (`fct_submission_versions`, `fct_submission_files`), the quarantined
rows (`fct_quarantined_row_reasons`: file, record number, reason) and the expected
unit-months of the ledger's range with their deadlines (`fct_submission_status`).
Every sentence comes from the rule's own message beside the rule
(`contract/ledger.yaml`: `vi`, `fix_vi`, through `dolisa.report.messages_vi`). No cell
value is ever written: a reason names the column and the rule, the row is named by its
number in the sender's file.

Delivery (`deliver`): the sheet is sent to the unit's address, from the reference file
`DOLISA_FEEDBACK_ADDRESSES` (CSV `unit_code,email`; optional, several rows per unit
allowed), over the SMTP connection of the failure notifier (`dolisa_alerts`, Airflow's
SMTP provider). With no address file, no address for the unit or no SMTP connection, the
sheet is only written. A failed send never fails the run: it is recorded and retried on
the next nights, up to `MAX_SEND_ATTEMPTS` attempts.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dolisa import contract
from dolisa.settings import Paths

log = logging.getLogger(__name__)

HCM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
FEEDBACK_DIR = "feedback"
ADDRESSES_ENV = "DOLISA_FEEDBACK_ADDRESSES"
MAX_SEND_ATTEMPTS = 7
FEEDBACK_JSON, DELIVERY_JSON = "feedback.json", "delivery.json"
EMAIL_TXT, EMAIL_HTML = "email.txt", "email.html"
MAX_ROWS_IN_EMAIL = 30  # the e-mail lists this many quarantined rows; the sheet lists more
MAX_ROWS_PER_FILE = 1000  # the sheet lists the first so many quarantined rows of a file, and says how many more
_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNIT = re.compile(rf"^{contract.UNIT_CODE_PATTERN}$")


# ---------------------------------------------------------------------------
# What a unit's sheet holds
# ---------------------------------------------------------------------------


@dataclass
class UnitFeedback:
    unit_code: str
    unit_name: str
    date: dt.date
    versions: list[dict] = field(default_factory=list)  # new versions, with status, reason and fix
    files: list[dict] = field(default_factory=list)  # the files of the new versions
    rows: list[dict] = field(default_factory=list)  # quarantined rows of the new versions: file, row, column, rule
    rows_not_listed: list[dict] = field(default_factory=list)  # files with more than MAX_ROWS_PER_FILE such rows
    missing: list[dict] = field(default_factory=list)  # months with no accepted version: deadline, overdue
    new_overdue: list[str] = field(default_factory=list)  # months whose deadline passed since the last sheet

    @property
    def folder_name(self) -> str:
        return self.date.isoformat()

    @property
    def xlsx_name(self) -> str:
        return f"phan_hoi_{self.unit_code}_{self.date:%Y%m%d}.xlsx"

    def as_dict(self) -> dict:
        return {
            "format": 1,
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "date": self.date.isoformat(),
            "covers": {
                "submission_ids": [v["submission_id"] for v in self.versions],
                "overdue_periods": sorted({m["period"] for m in self.missing if m["overdue"]}),
            },
            "versions": self.versions,
            "files": self.files,
            "rows": self.rows,
            "rows_not_listed": self.rows_not_listed,
            "missing": self.missing,
            "new_overdue": self.new_overdue,
        }


def _vi_date(d: dt.date | dt.datetime | None) -> str:
    if d is None:
        return ""
    if isinstance(d, dt.datetime):
        d = d.astimezone(HCM)
        return f"{d:%H:%M} ngày {d:%d/%m/%Y}"
    return f"{d:%d/%m/%Y}"


def _month_vi(period: str) -> str:
    from dolisa.report.messages_vi import month_vi

    return month_vi(period) or period


def _covered_before(unit_dir: Path, date: dt.date) -> tuple[set[str], set[str]]:
    """The versions and overdue months the unit's sheets of earlier dates covered."""
    ids: set[str] = set()
    overdue: set[str] = set()
    if not unit_dir.is_dir():
        return ids, overdue
    for d in unit_dir.iterdir():
        if not _DATE_DIR.fullmatch(d.name) or d.name >= date.isoformat() or not (d / FEEDBACK_JSON).exists():
            continue
        covers = json.loads((d / FEEDBACK_JSON).read_text(encoding="utf-8")).get("covers", {})
        ids.update(covers.get("submission_ids", []))
        overdue.update(covers.get("overdue_periods", []))
    return ids, overdue


def _rows(con, sql: str, params: list | tuple = ()) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def collect(con, run_at: dt.datetime, root: Path) -> list[UnitFeedback]:
    """Every unit's feedback of the night `run_at` (only units with something new), read
    from the marts of the open warehouse `con`; `root` is reports/feedback (earlier sheets)."""
    from dolisa.report.messages_vi import reason_fix_vi, reason_vi, unit_name_vi

    date = run_at.astimezone(HCM).date()
    versions = _rows(
        con,
        """
        select submission_id, unit_code, period, version, submitted_at, landed_at, submission_status,
               rejection_reason, is_in_force, is_after_deadline, rows_loaded, rows_quarantined
        from marts.fct_submission_versions order by unit_code, period, version""",
    )
    if not versions:
        return []
    files = _rows(
        con,
        """
        select submission_id, dataset, file_name, file_status, rejection_reason, rows_in, rows_loaded,
               rows_quarantined
        from marts.fct_submission_files order by submission_id, file_name""",
    )
    # the first MAX_ROWS_PER_FILE quarantined rows of each file (a whole file of bad rows would
    # otherwise make a sheet nobody reads), and how many rows each file has in all
    rows = _rows(
        con,
        """
        with numbered as (
            select *, dense_rank() over (partition by submission_id, file_name order by source_row) as n
            from marts.fct_quarantined_row_reasons
        )
        select submission_id, dataset, file_name, source_row, reason from numbered where n <= ?
        order by submission_id, file_name, source_row, reason""",
        [MAX_ROWS_PER_FILE],
    )
    row_totals = {
        (r["submission_id"], r["file_name"]): int(r["n"])
        for r in _rows(
            con,
            """
        select submission_id, file_name, count(distinct source_row) as n
        from marts.fct_quarantined_row_reasons group by all""",
        )
    }
    # every expected unit-month (dbt's definitions: fct_submission_status), read once:
    # - missing: no accepted version and the month has ended, with its deadline;
    # - first_accepted: when its first accepted version came (on time / late); a version after
    #   it revises accepted data, so coming after the deadline does not make it late
    status = _rows(
        con,
        """
        select unit_code, period, deadline_at, deadline_at <= ? as overdue, first_accepted_submitted_at,
               is_missing and month_start_on + interval 1 month <= ?::timestamptz as is_missing_and_ended
        from marts.fct_submission_status order by unit_code, period""",
        [run_at, run_at],
    )
    missing = [r for r in status if r["is_missing_and_ended"]]
    first_accepted = {
        (r["unit_code"], r["period"]): r["first_accepted_submitted_at"]
        for r in status
        if r["first_accepted_submitted_at"] is not None
    }

    by_unit: dict[str, UnitFeedback] = {}

    def unit(code: str) -> UnitFeedback:
        if code not in by_unit:
            by_unit[code] = UnitFeedback(code, unit_name_vi(code) or code, date)
        return by_unit[code]

    covered = {
        u: _covered_before(root / u, date)
        for u in {v["unit_code"] for v in versions} | {m["unit_code"] for m in missing}
    }
    files_of: dict[str, list[dict]] = {}
    for f in files:
        files_of.setdefault(f["submission_id"], []).append(f)
    rows_of: dict[str, list[dict]] = {}
    for r in rows:
        rows_of.setdefault(r["submission_id"], []).append(r)

    for v in versions:
        if v["submission_id"] in covered[v["unit_code"]][0]:
            continue
        fb = unit(v["unit_code"])
        rejected = v["submission_status"] == "rejected"
        fb.versions.append(
            {
                "submission_id": v["submission_id"],
                "period": v["period"],
                "version": int(v["version"]),
                "submitted_at": v["submitted_at"].isoformat() if v["submitted_at"] else None,
                "status": v["submission_status"],
                "status_vi": contract.status_vi("version", v["submission_status"]),
                "in_force": bool(v["is_in_force"]),
                "after_deadline": bool(v["is_after_deadline"]),
                "revises_accepted": _revises_accepted(v, first_accepted.get((v["unit_code"], v["period"]))),
                "rows_loaded": int(v["rows_loaded"] or 0),
                "rows_quarantined": int(v["rows_quarantined"] or 0),
                "reason_vi": reason_vi(v["rejection_reason"]) if rejected else "",
                "fix_vi": reason_fix_vi(v["rejection_reason"]) if rejected else "",
            }
        )
        for f in files_of.get(v["submission_id"], []):
            fb.files.append(
                {
                    "submission_id": v["submission_id"],
                    "period": v["period"],
                    "version": int(v["version"]),
                    "file_name": f["file_name"],
                    "dataset": f["dataset"],
                    "status": f["file_status"],
                    "status_vi": contract.status_vi("file", f["file_status"]),
                    "rows_in": _int(f["rows_in"]),
                    "rows_loaded": _int(f["rows_loaded"]),
                    "rows_quarantined": _int(f["rows_quarantined"]),
                    # the file is named beside it: its reason does not name it again
                    "reason_vi": _without_file(reason_vi(f["rejection_reason"]), f["file_name"])
                    if f["rejection_reason"]
                    else "",
                    "fix_vi": reason_fix_vi(f["rejection_reason"]) if f["rejection_reason"] else "",
                }
            )
        for f in files_of.get(v["submission_id"], []):
            total = row_totals.get((v["submission_id"], f["file_name"]), 0)
            if total > MAX_ROWS_PER_FILE:
                fb.rows_not_listed.append(
                    {
                        "submission_id": v["submission_id"],
                        "period": v["period"],
                        "version": int(v["version"]),
                        "file_name": f["file_name"],
                        "rows_quarantined": total,
                        "rows_listed": MAX_ROWS_PER_FILE,
                    }
                )
        for r in rows_of.get(v["submission_id"], []):
            parsed = contract.parse_reason(r["reason"])
            fb.rows.append(
                {
                    "submission_id": v["submission_id"],
                    "period": v["period"],
                    "version": int(v["version"]),
                    "file_name": r["file_name"],
                    "dataset": r["dataset"],
                    "row": int(r["source_row"]),
                    "column": (parsed[1].get("column") if parsed else None) or "",
                    "rule": parsed[0].kind if parsed else "unknown",
                    "problem_vi": reason_vi(r["reason"]),
                    "fix_vi": reason_fix_vi(r["reason"]),
                }
            )
    for m in missing:
        code = m["unit_code"]
        overdue = bool(m["overdue"])
        new = overdue and m["period"] not in covered[code][1]
        if new:
            unit(code).new_overdue.append(m["period"])
    for m in missing:  # every month still missing, on each sheet written
        if m["unit_code"] in by_unit:
            deadline = m["deadline_at"] - dt.timedelta(seconds=1)  # the first instant after: day 6, 00:00
            by_unit[m["unit_code"]].missing.append(
                {
                    "period": m["period"],
                    "deadline": deadline.astimezone(HCM).date().isoformat(),
                    "overdue": bool(m["overdue"]),
                }
            )
    for fb in by_unit.values():
        fb.unit_name = unit_name_vi(
            fb.unit_code, max([v["period"] for v in fb.versions] + [m["period"] for m in fb.missing], default=None)
        )
    return [by_unit[k] for k in sorted(by_unit)]


def _int(x: Any) -> int | None:
    return None if x is None else int(x)


def _without_file(text: str, file_name: str) -> str:
    """'Tệp job_placements.csv: thiếu cột ...' -> 'thiếu cột ...' where the file is named beside it
    (issue 31: "Tệp job_placements.csv: Tệp job_placements.csv: ..."); each '; '-joined part."""
    prefix = f"Tệp {file_name}: "
    return "; ".join(p[len(prefix) :] if p.startswith(prefix) else p for p in text.split("; "))


def _has_problem(f: dict) -> bool:
    """A file the sender must look at: rejected with a reason of its own, or with quarantined rows."""
    return bool(f["reason_vi"]) or bool(f.get("rows_quarantined"))


# ---------------------------------------------------------------------------
# The sheet and the e-mail body
# ---------------------------------------------------------------------------


def _summary_lines(fb: UnitFeedback) -> list[str]:
    rejected = [v for v in fb.versions if v["status"] == "rejected"]
    quarantined = sum(v["rows_quarantined"] for v in fb.versions)
    overdue = [m for m in fb.missing if m["overdue"]]
    due = [m for m in fb.missing if not m["overdue"]]
    out = [
        f"Số phiên bản mới nhận: {len(fb.versions)} (được chấp nhận: {len(fb.versions) - len(rejected)}, "
        f"bị từ chối: {len(rejected)})."
    ]
    if quarantined:
        out.append(f"Số dòng bị cách ly (không được tính vào số liệu): {quarantined}.")
    out += [_not_listed_vi(n)[2:] for n in fb.rows_not_listed]
    if overdue:
        out.append(
            "Tháng đã quá hạn nộp mà chưa có số liệu được chấp nhận: "
            + ", ".join(_month_vi(m["period"]) for m in overdue)
            + "."
        )
    if due:
        out.append(
            "Tháng sắp đến hạn nộp: "
            + ", ".join(f"{_month_vi(m['period'])} (hạn {_vi_date(dt.date.fromisoformat(m['deadline']))})" for m in due)
            + "."
        )
    return out


def _not_listed_vi(n: dict) -> str:
    return (
        f"- Tháng {_month_vi(n['period'])}, phiên bản {n['version']}, tệp {n['file_name']}: có "
        f"{n['rows_quarantined']} dòng bị cách ly; phiếu chỉ liệt kê {n['rows_listed']} dòng đầu. Hãy kiểm tra "
        f"lại cả tệp (thường do cột bị lệch hoặc xuất sai mẫu)."
    )


def _revises_accepted(v: dict, first_accepted_at: dt.datetime | None) -> bool:
    """The version came after the unit-month's first accepted one: it revises accepted data."""
    return first_accepted_at is not None and v["submitted_at"] is not None and v["submitted_at"] > first_accepted_at


def _status_text(v: dict) -> str:
    """'được chấp nhận, đang có hiệu lực, nộp sau hạn'. Late is the month's first accepted
    version after the deadline (contract §1); a revision of accepted data is not late."""
    parts = [v["status_vi"]]
    if v["status"] == "accepted":
        parts.append("đang có hiệu lực" if v["in_force"] else "đã được thay bằng phiên bản sau")
    if v.get("after_deadline"):
        parts.append("bản sửa đổi nhận sau hạn, không tính là nộp muộn" if v.get("revises_accepted") else "nộp sau hạn")
    return ", ".join(parts)


def render_text(fb: UnitFeedback) -> tuple[str, str]:
    """(subject, plain-text body) of a unit's feedback e-mail."""
    subject = f"[Sở LĐ-TB&XH Cao Bằng] Phản hồi số liệu đã nộp – {fb.unit_name} – ngày {_vi_date(fb.date)}"
    lines = [
        f"Kính gửi: {fb.unit_name} (mã {fb.unit_code}),",
        "",
        f"Kho dữ liệu của Sở Lao động – Thương binh và Xã hội tỉnh Cao Bằng phản hồi về số liệu đơn vị đã nộp, "
        f"tính đến ngày {_vi_date(fb.date)}.",
        "",
        *_summary_lines(fb),
    ]
    sections = iter(range(1, 10))
    if fb.versions:
        lines += ["", f"{next(sections)}. CÁC PHIÊN BẢN ĐÃ NHẬN"]
        for v in fb.versions:
            lines.append(
                f"- Tháng {_month_vi(v['period'])}, phiên bản {v['version']} ({v['submission_id']}): "
                f"{_status_text(v)}" + (f", {v['rows_quarantined']} dòng bị cách ly" if v["rows_quarantined"] else "")
            )
            if v["reason_vi"]:
                lines.append(f"    Lý do: {v['reason_vi']}")
                lines.append(f"    Cách khắc phục: {v['fix_vi']}")
    bad_files = [f for f in fb.files if f["reason_vi"]]
    if bad_files:
        lines += ["", f"{next(sections)}. TỆP BỊ TỪ CHỐI"]
        for f in bad_files:
            lines += [
                f"- Tháng {_month_vi(f['period'])}, phiên bản {f['version']}, tệp {f['file_name']}: {f['reason_vi']}",
                f"    Cách khắc phục: {f['fix_vi']}",
            ]
    if fb.rows:
        lines += ["", f"{next(sections)}. DÒNG BỊ CÁCH LY (số thứ tự bản ghi trong tệp, không tính dòng tiêu đề)"]
        for r in fb.rows[:MAX_ROWS_IN_EMAIL]:
            lines += [
                f"- Tháng {_month_vi(r['period'])}, phiên bản {r['version']}, tệp {r['file_name']}, "
                f"bản ghi số {r['row']}: {r['problem_vi']}",
                f"    Cách sửa: {r['fix_vi']}",
            ]
        if len(fb.rows) > MAX_ROWS_IN_EMAIL:
            lines.append(f"- … và {len(fb.rows) - MAX_ROWS_IN_EMAIL} dòng khác: xem tệp đính kèm {fb.xlsx_name}.")
    if fb.missing:
        lines += ["", f"{next(sections)}. THÁNG CHƯA CÓ SỐ LIỆU ĐƯỢC CHẤP NHẬN"]
        for m in fb.missing:
            state = "đã quá hạn" if m["overdue"] else "chưa đến hạn"
            lines.append(
                f"- Tháng {_month_vi(m['period'])}: hạn nộp {_vi_date(dt.date.fromisoformat(m['deadline']))} ({state})"
            )
    lines += [
        "",
        "Số liệu sửa lại được gửi thành một phiên bản mới của cùng tháng; phiên bản mới thay thế toàn bộ "
        "phiên bản trước.",
        f"Chi tiết đầy đủ trong tệp đính kèm {fb.xlsx_name}.",
        "",
        "Thư này được gửi tự động; xin không trả lời thư này.",
    ]
    return subject, "\n".join(lines) + "\n"


def render_html(text: str) -> str:
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"></head><body>'
        f'<pre style="font-family: sans-serif; white-space: pre-wrap">{html.escape(text)}</pre></body></html>'
    )


LINE_POINTS = 13  # one line of the sheet's 10-point text


def _row_height(cells: list, widths: list[int]) -> float | None:
    """The height that shows a row's wrapped text whole (LibreOffice and Excel printing a file
    they have not laid out keep the default height and clip it): None for one line."""
    import math

    lines = 1
    for value, width in zip(cells, widths, strict=False):
        chars = max(int(width * 1.05) - 1, 1)
        text = "" if value is None else str(value)
        lines = max(lines, sum(max(1, math.ceil(len(part) / chars)) for part in text.split("\n")))
    return LINE_POINTS * lines + 3 if lines > 1 else None


def write_xlsx(fb: UnitFeedback, path: Path) -> None:
    """The sheet: a one-page portrait summary, then one table a sheet (landscape, fitted to the
    page's width, rows as tall as their text); the files' table lists the files with a problem."""
    import xlsxwriter

    # Arial: the widths below are in its characters, in Excel and in LibreOffice (Liberation Sans has
    # its metrics); with the default Calibri, LibreOffice without Carlito drew wider text than the page
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "default_format_properties": {"font_name": "Arial", "font_size": 10},
        },
    )
    try:
        title = wb.add_format({"bold": True, "font_size": 13})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
        cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        bad = wb.add_format(
            {"border": 1, "text_wrap": True, "valign": "top", "font_color": "#9C0006", "bg_color": "#FFC7CE"}
        )
        who = f"{fb.unit_name} (mã {fb.unit_code}) – ngày {_vi_date(fb.date)}"

        def page(ws, *, landscape: bool) -> None:
            ws.set_paper(9)  # A4
            ws.set_landscape() if landscape else ws.set_portrait()
            ws.fit_to_pages(1, 0)
            ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
            ws.set_footer("&CTrang &P/&N")

        def sheet(
            name: str,
            heading: str,
            headers: list[str],
            widths: list[int],
            rows: list[list],
            flag=None,
            note: str | None = None,
        ):
            ws = wb.add_worksheet(name)
            page(ws, landscape=True)
            ws.write(0, 0, heading, title)
            ws.write(1, 0, who)
            if note:
                ws.write(2, 0, note)
            for c, (h, w) in enumerate(zip(headers, widths, strict=False)):
                ws.write(3, c, h, head)
                ws.set_column(c, c, w)
            ws.set_row(3, _row_height(headers, widths))
            for r, values in enumerate(rows, start=4):
                fmt = bad if flag and flag(values) else cell
                for c, v in enumerate(values):
                    ws.write(r, c, "" if v is None else v, fmt)
                ws.set_row(r, _row_height(values, widths))
            if not rows:
                ws.write(4, 0, "Không có.", cell)
            ws.freeze_panes(4, 0)
            ws.repeat_rows(3)
            return ws

        ws = wb.add_worksheet("Tóm tắt")
        page(ws, landscape=False)
        width = 92  # characters: A4 portrait, 11 points
        ws.set_column(0, 0, width, wrap)
        ws.write(0, 0, "PHẢN HỒI VỀ SỐ LIỆU ĐÃ NỘP", title)
        ws.write(1, 0, who)
        for i, line in enumerate(
            _summary_lines(fb)
            + [
                "",
                "Các trang sau liệt kê từng phiên bản, các tệp có lỗi, từng dòng bị cách ly (theo số thứ tự bản "
                "ghi trong tệp của đơn vị, không tính dòng tiêu đề) và các tháng còn thiếu, kèm cách khắc phục.",
                "Số liệu sửa lại được gửi thành một phiên bản mới của cùng tháng; phiên bản mới thay thế toàn bộ "
                "phiên bản trước.",
            ],
            start=3,
        ):
            ws.write(i, 0, line, wrap)
            ws.set_row(i, _row_height([line], [width]))
        sheet(
            "Phiên bản",
            "CÁC PHIÊN BẢN ĐÃ NHẬN",
            [
                "Tháng",
                "Phiên bản",
                "Mã lần nộp",
                "Thời điểm nộp",
                "Trạng thái",
                "Số dòng đã nạp",
                "Số dòng bị cách ly",
                "Lý do",
                "Cách khắc phục",
            ],
            [9, 9, 17, 20, 26, 10, 10, 45, 45],
            [
                [
                    _month_vi(v["period"]),
                    v["version"],
                    v["submission_id"],
                    _vi_date(dt.datetime.fromisoformat(v["submitted_at"])) if v["submitted_at"] else "",
                    _status_text(v),
                    v["rows_loaded"],
                    v["rows_quarantined"],
                    v["reason_vi"],
                    v["fix_vi"],
                ]
                for v in fb.versions
            ],
            flag=lambda r: bool(r[7]),
        )
        problems = [f for f in fb.files if _has_problem(f)]
        fine = len(fb.files) - len(problems)
        sheet(
            "Tệp",
            "CÁC TỆP CÓ LỖI",
            [
                "Tháng",
                "Phiên bản",
                "Tệp",
                "Trạng thái",
                "Số dòng trong tệp",
                "Đã nạp",
                "Bị cách ly",
                "Lý do",
                "Cách khắc phục",
            ],
            [9, 9, 30, 12, 11, 10, 10, 45, 45],
            [
                [
                    _month_vi(f["period"]),
                    f["version"],
                    f["file_name"],
                    f["status_vi"],
                    f["rows_in"],
                    f["rows_loaded"],
                    f["rows_quarantined"],
                    f["reason_vi"],
                    f["fix_vi"],
                ]
                for f in problems
            ],
            flag=lambda r: bool(r[7]),
            note=(f"{fine} tệp khác của các phiên bản trên không có lỗi nên không liệt kê ở đây." if fine else None),
        )
        sheet(
            "Dòng bị cách ly",
            "DÒNG BỊ CÁCH LY (không được tính vào số liệu)",
            ["Tháng", "Phiên bản", "Tệp", "Bản ghi số (không tính dòng tiêu đề)", "Cột", "Lỗi", "Cách sửa"],
            [9, 9, 28, 14, 20, 45, 45],
            [
                [
                    _month_vi(r["period"]),
                    r["version"],
                    r["file_name"],
                    r["row"],
                    r["column"],
                    r["problem_vi"],
                    r["fix_vi"],
                ]
                for r in fb.rows
            ],
        )
        sheet(
            "Tháng còn thiếu",
            "THÁNG CHƯA CÓ SỐ LIỆU ĐƯỢC CHẤP NHẬN",
            ["Tháng", "Hạn nộp", "Tình trạng"],
            [10, 14, 20],
            [
                [
                    _month_vi(m["period"]),
                    _vi_date(dt.date.fromisoformat(m["deadline"])),
                    "đã quá hạn" if m["overdue"] else "chưa đến hạn",
                ]
                for m in fb.missing
            ],
            flag=lambda r: r[2] == "đã quá hạn",
        )
    finally:
        wb.close()


def write(fb: UnitFeedback, root: Path) -> Path:
    """The unit's folder of the night, written anew (a rerun of the night rewrites it);
    an existing delivery record of the same night is kept."""
    from dolisa.settings import reader_dir, share

    folder = reader_dir(root / fb.unit_code / fb.folder_name)
    for p in folder.iterdir():
        if p.name != DELIVERY_JSON and p.is_file():
            p.unlink()
    write_xlsx(fb, folder / fb.xlsx_name)
    subject, text = render_text(fb)
    (folder / EMAIL_TXT).write_text(f"Tiêu đề: {subject}\n\n{text}", encoding="utf-8")
    (folder / EMAIL_HTML).write_text(render_html(text), encoding="utf-8")
    _write_json(folder / FEEDBACK_JSON, {**fb.as_dict(), "subject": subject})
    share(folder)
    return folder


def _write_json(path: Path, doc: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    os.chmod(path, 0o644)


# ---------------------------------------------------------------------------
# Addresses and delivery
# ---------------------------------------------------------------------------


def read_addresses(path: Path | None = None) -> dict[str, list[str]]:
    """unit_code -> e-mail addresses, from the reference CSV `unit_code,email`
    (`DOLISA_FEEDBACK_ADDRESSES`). No file configured: {}. A row that is not a unit code
    and an address is skipped with a warning; a file that cannot be read raises."""
    if path is None:
        raw = os.environ.get(ADDRESSES_ENV, "").strip()
        if not raw:
            return {}
        path = Path(raw)
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or {"unit_code", "email"} - {h.strip() for h in reader.fieldnames}:
            raise ValueError(f"{ADDRESSES_ENV}: {path} must have the header unit_code,email")
        for n, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            code, addr = row.get("unit_code", ""), row.get("email", "")
            if not _UNIT.fullmatch(code) or not _EMAIL.fullmatch(addr):
                log.warning("%s: line %d skipped (not a unit code and an e-mail address)", path.name, n)
                continue
            if addr not in out.setdefault(code, []):
                out[code].append(addr)
    return out


Sender = Callable[..., None]  # (to, subject, html, text, files) -> None; raises when the send failed


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def deliver(
    root: Path, addresses: dict[str, list[str]], send: Sender | None, *, now: Callable[[], dt.datetime] = _now
) -> dict:
    """Send every sheet that waits: this night's new ones and earlier ones whose send failed
    (up to MAX_SEND_ATTEMPTS attempts). Never raises because of a send; returns counts."""
    counts = {"sent": 0, "failed": 0, "not_sent": 0}
    if not root.is_dir():
        return counts
    for unit_dir in sorted(p for p in root.iterdir() if p.is_dir() and _UNIT.fullmatch(p.name)):
        for folder in sorted(p for p in unit_dir.iterdir() if p.is_dir() and _DATE_DIR.fullmatch(p.name)):
            if not (folder / FEEDBACK_JSON).exists():
                continue
            state = _read_delivery(folder)
            if state.get("status") == "sent" or (
                state.get("status") == "failed" and state.get("attempts", 0) >= MAX_SEND_ATTEMPTS
            ):
                continue
            if state.get("status") == "not_sent" and state.get("checked"):
                continue  # written with nothing configured: not sent later on its own
            to = addresses.get(unit_dir.name, [])
            if not to or send is None:
                _write_json(
                    folder / DELIVERY_JSON,
                    {
                        "status": "not_sent",
                        "checked": True,
                        "attempts": 0,
                        "why": "no address for the unit" if send is not None else "no SMTP connection configured",
                        "at": now().isoformat(),
                    },
                )
                counts["not_sent"] += 1
                continue
            doc = json.loads((folder / FEEDBACK_JSON).read_text(encoding="utf-8"))
            text = (folder / EMAIL_TXT).read_text(encoding="utf-8").split("\n\n", 1)[-1]
            attempts = int(state.get("attempts", 0)) + 1
            try:
                send(
                    to=to,
                    subject=doc["subject"],
                    html=(folder / EMAIL_HTML).read_text(encoding="utf-8"),
                    text=text,
                    files=[str(p) for p in sorted(folder.glob("*.xlsx"))],
                )
            except Exception as e:  # noqa: BLE001 - any failure of a send is recorded, never raised
                log.warning(
                    "feedback %s %s: send failed (attempt %d of %d), retried next night: %s",
                    unit_dir.name,
                    folder.name,
                    attempts,
                    MAX_SEND_ATTEMPTS,
                    f"{type(e).__name__}: {e}"[:300],
                )
                _write_json(
                    folder / DELIVERY_JSON,
                    {
                        "status": "failed",
                        "attempts": attempts,
                        "to": to,
                        "last_error": f"{type(e).__name__}: {e}"[:500],
                        "at": now().isoformat(),
                    },
                )
                counts["failed"] += 1
                continue
            _write_json(
                folder / DELIVERY_JSON, {"status": "sent", "attempts": attempts, "to": to, "at": now().isoformat()}
            )
            counts["sent"] += 1
    return counts


def _read_delivery(folder: Path) -> dict:
    try:
        return json.loads((folder / DELIVERY_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run(run_at: dt.datetime, p: Paths | None = None, *, send: Sender | None | bool = True) -> dict:
    """The night's feedback: read the marts, write every unit's new sheet, send what waits.

    `send`: True = the SMTP connection of the failure notifier when configured
    (`dolisa.notify.feedback_sender`), False/None = write only, or a callable."""
    from dolisa import warehouse
    from dolisa.lock import writer_lock
    from dolisa.settings import paths as default_paths
    from dolisa.settings import reader_dir

    p = (p or default_paths()).ensure()
    root = reader_dir(p.reports / FEEDBACK_DIR)
    with writer_lock(p, "feedback"), warehouse.connect(p.warehouse) as con:  # dbt may hold it in-process
        sheets = collect(con, run_at, root)
    written = [str(write(fb, root).relative_to(p.reports)) for fb in sheets]
    if send is True:
        from dolisa.notify import feedback_sender

        sender = feedback_sender()
    else:
        sender = send or None
    try:
        addresses = read_addresses()
    except (OSError, ValueError) as e:  # a broken address file: the sheets are written, sent next night
        log.error("feedback: the address file cannot be read (%s); nothing is sent this night", e)
        return {"date": run_at.astimezone(HCM).date().isoformat(), "written": written, "address_error": str(e)}
    delivered = deliver(root, addresses, sender)
    log.info("feedback %s: %d sheet(s) written, %s", run_at.astimezone(HCM).date(), len(written), delivered)
    return {"date": run_at.astimezone(HCM).date().isoformat(), "written": written, **delivered}


def sheets(root: Path, unit_code: str | None = None) -> list[dict]:
    """The sheets written so far (newest first), with their delivery state: for the desk."""
    out = []
    if not root.is_dir():
        return out
    for unit_dir in sorted(p for p in root.iterdir() if p.is_dir() and _UNIT.fullmatch(p.name)):
        if unit_code and unit_dir.name != unit_code:
            continue
        for folder in sorted(
            (p for p in unit_dir.iterdir() if p.is_dir() and _DATE_DIR.fullmatch(p.name)), reverse=True
        ):
            if not (folder / FEEDBACK_JSON).exists():
                continue
            doc = json.loads((folder / FEEDBACK_JSON).read_text(encoding="utf-8"))
            out.append(
                {
                    "unit_code": unit_dir.name,
                    "date": folder.name,
                    "folder": folder,
                    "feedback": doc,
                    "delivery": _read_delivery(folder),
                }
            )
    return out
