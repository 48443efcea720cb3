"""The reporting team's desk: a read-only web page over the published snapshot.

    /                                   report periods with their gate status, as-of reports, revisions
    /ky/<YYYY-Hn>                       the report table (as the XLSX summary), gate findings, downloads
    /ky/<p>/chi-tieu/<CODE>             one figure by reporting unit
    /ky/<p>/chi-tieu/<CODE>/don-vi/<U>  a reporting unit's figure by month
    /ky/<p>/phan-to/<unit>              a unit's breakdowns (sex, age band, category ...) in the half's last month,
                                        small sensitive cells marked x (as published)
    /nop/<unit>/<YYYY-MM>               the month's submission versions (in force and earlier ones)
    /ky/<p>/chat-luong                  the data-quality heatmap
    /tai-ve/<p>/<file>                  report files (CSV, XLSX, DOCX, PNG)
    /gx/...                             Great Expectations Data Docs, CDN assets served locally
    /dbt/...                            dbt docs (index.html, manifest.json, catalog.json)

Everything but ``/dang-nhap`` and the stylesheet needs the desk's login (``auth.py``).
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dolisa import contract
from dolisa import feedback as fb
from dolisa.report import formats
from dolisa.report._common import (
    AREAS,
    PROVINCE_CODE,
    STATUS_VI,
    catalogue,
    display_unit,
    indicator_phrase,
    month_label,
    period_title,
    revision_lines,
)
from dolisa.report.messages_vi import finding_vi, incomplete_note_vi, reason_vi, rule_title_vi, unit_name_vi

from .auth import COOKIE, SESSION_SECONDS, DeskAuth
from .data import (
    CODE_RE,
    DOWNLOADS,
    MONTH_RE,
    PERIOD_RE,
    SUB_FOLDER_RE,
    UNIT_RE,
    Desk,
    SnapshotMissing,
)
from .vendor import localise

HERE = Path(__file__).resolve().parent
PUBLIC_PATHS = ("/dang-nhap", "/static/desk.css")
DBT_DOCS_FILES = {"index.html", "manifest.json", "catalog.json"}


# ---------------------------------------------------------------------------
# formatting helpers for the templates
# ---------------------------------------------------------------------------


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _value(x, unit_vi=None) -> str:
    return formats.fmt_value(x, unit_vi, empty="—")


def _pct(x) -> str:
    """As the report's text writes it: 130%, 30,9%."""
    return formats.fmt_pct(x, empty="—")


def _int(x) -> str:
    return formats.fmt_int(x, empty="—")


def _when(ts) -> str:
    """A timestamp in Asia/Ho_Chi_Minh as '07/02/2021 10:05'."""
    if formats.is_missing(ts):
        return "—"
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return t.tz_convert("Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M")


def gate_status(gate: dict | None) -> tuple[str, str]:
    """(css class, Vietnamese label) of a quality_gate.json."""
    if gate is None:
        return "none", "Chưa kiểm tra"
    if not gate.get("passed"):
        return "blocked", "Bị chặn"
    if gate.get("waived"):
        return "incomplete", "Đạt, chưa đầy đủ"
    return "passed", "Đạt"


def _findings(gate: dict | None) -> dict[str, list[dict]]:
    out = {}
    for key in ("blocking", "waived", "warnings"):
        out[key] = [
            {"rule": f.get("rule"), "title": rule_title_vi(f.get("rule")), "text": finding_vi(f)}
            for f in (gate or {}).get(key, [])
        ]
    return out


# ---------------------------------------------------------------------------
# the app
# ---------------------------------------------------------------------------


# what each breakdown of the area marts is called on the page
BREAKDOWN_VI = {
    "sex": "Giới tính",
    "age_band": "Nhóm tuổi (tuổi tròn vào ngày cuối tháng)",
    "training_level": "Trình độ đào tạo",
    "destination": "Nơi làm việc",
    "borrower_type": "Đối tượng vay vốn",
    "category": "Nhóm đối tượng",
    "kind": "Loại trợ giúp",
    "occasion": "Đợt hỗ trợ",
    "benefit": "Loại chế độ",
    "circumstance": "Hoàn cảnh đặc biệt",
    "support": "Loại hỗ trợ",
}

# Content-Security-Policy: the desk's own pages load nothing but its own files and run no
# inline code; the Data Docs (GX) and dbt docs are generated pages full of inline scripts and
# styles, allowed there, still only from the desk itself, and never framed.
CSP_DESK = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CSP_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
COOKIE_SECURE_ENV = "DOLISA_DESK_COOKIE_SECURE"


class SecurityHeaders(BaseHTTPMiddleware):
    """Every answer, page or download: CSP with frame-ancestors 'none', nosniff, no referrer;
    and no-store for everything behind the login (every path but the stylesheet)."""

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        # the decoded path as the router sees it (request.url.path drops a trailing newline)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in request.scope["path"]):
            # no route has a control character (a decoded %0a or %00): not found, before any
            # route's pattern can take "2021-H1\n" for "2021-H1"
            templates: Jinja2Templates = request.app.state.templates
            response = templates.TemplateResponse(
                request, "error.html", {"message": "Không tìm thấy trang hoặc số liệu."}, status_code=404
            )
        else:
            response = await call_next(request)
        docs = path.startswith(("/gx/", "/dbt/"))
        response.headers["Content-Security-Policy"] = CSP_DOCS if docs else CSP_DESK
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


class LoginRequired(BaseHTTPMiddleware):
    def __init__(self, app, auth: DeskAuth):
        super().__init__(app)
        self.auth = auth

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if path in PUBLIC_PATHS or self.auth.valid(request.cookies.get(COOKIE)):
            return await call_next(request)
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(request, "login.html", {"next": path, "error": None}, status_code=401)


def create_app(home: str | os.PathLike | None = None) -> Starlette:
    from dolisa.settings import paths

    p = paths(home)
    desk = Desk(p.home)
    auth = DeskAuth(p.secrets)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals.update(
        value=_value,
        pct=_pct,
        int=_int,
        when=_when,
        month_label=month_label,
        period_title=period_title,
        unit_name=unit_name_vi,
        display_unit=display_unit,
        STATUS_VI=STATUS_VI,
        reason_vi=reason_vi,
        quote=quote,
    )

    def render(request: Request, name: str, **ctx) -> HTMLResponse:
        return templates.TemplateResponse(request, name, ctx)

    def need(value: str, pattern: re.Pattern) -> str:
        # fullmatch: `$` would let a trailing newline through ("2021-H1\n")
        if not pattern.fullmatch(value or ""):
            raise HTTPException(404)
        return value

    # -- login ----------------------------------------------------------------

    async def login(request: Request):
        if request.method == "GET":
            return render(request, "login.html", next="/", error=None)
        form = await request.form()
        nxt = str(form.get("next") or "/")
        if not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
            nxt = "/"
        address = request.client.host if request.client else "unknown"
        wait = auth.throttle.retry_after(address)
        if wait:  # not even compared: guessing gets no answer while it waits
            return templates.TemplateResponse(
                request,
                "login.html",
                {"next": nxt, "error": f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {wait} giây."},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        if not auth.check_password(str(form.get("password") or "")):
            auth.throttle.failed(address)
            return templates.TemplateResponse(
                request, "login.html", {"next": nxt, "error": "Sai mật khẩu."}, status_code=401
            )
        auth.throttle.succeeded(address)
        resp = RedirectResponse(nxt, status_code=303)
        secure = request.url.scheme == "https" or os.environ.get(COOKIE_SECURE_ENV, "").lower() in ("1", "true", "yes")
        resp.set_cookie(
            COOKIE, auth.open_session(), max_age=SESSION_SECONDS, httponly=True, samesite="strict", secure=secure
        )
        return resp

    async def logout(request: Request):
        auth.close_session(request.cookies.get(COOKIE))  # the session ends on the server, not only in the browser
        resp = RedirectResponse("/dang-nhap", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # -- pages ------------------------------------------------------------------

    async def home_page(request: Request):
        from dolisa.report._common import FILE_LABELS_VI, MAIN_FILES
        from dolisa.report.warnings import report_warnings

        periods = desk.periods()
        for item in periods:
            item["status"] = gate_status(item["gate"])
            _with_revisions(item["period"], item["as_of"])
            listed = report_warnings(desk.reports / item["period"], item["gate"]) if item["gate"] else None
            item["warnings"] = (
                None if listed is None else {"lines": len(listed), "high": sum(w.severity == "high" for w in listed)}
            )
            for copy in item["issued"]:  # an issued copy: when, and its main files by what they are
                copy["when"] = (
                    _when(copy["issued_at"])
                    if re.match(r"^\d{4}-\d{2}-\d{2}T", copy["issued_at"])
                    else copy["issued_at"]
                )
                copy["main"] = [f for f in MAIN_FILES if f in copy["files"]]
            for a in item["as_of"]:
                a["date_vi"] = pd.Timestamp(a["date"]).strftime("%d/%m/%Y")
                a["main"] = [f for f in MAIN_FILES if f in a["files"]]
        latest = next((p["gate"] for p in periods if p["gate"]), None)
        warning_rules = [
            rule_title_vi(r["rule"]) for r in (latest or {}).get("rules", []) if r["severity"] == "warning"
        ]
        return render(
            request,
            "index.html",
            periods=periods,
            labels=FILE_LABELS_VI,
            main_files=MAIN_FILES,
            warning_rules=list(dict.fromkeys(warning_rules)),
            has_gx=(desk.data_docs / "index.html").exists(),
            has_dbt=(desk.dbt_target / "index.html").exists(),
        )

    def _with_revisions(period: str, as_of: list[dict]) -> list[dict]:
        """Each as-of report's gate status and its revisions as the report words them
        ('Tuyển mới ...: Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34 người')."""
        indicators = None
        for a in as_of:
            a["status"] = gate_status(a["gate"])
            rev = a.get("revisions")
            if rev is not None and len(rev) and indicators is None:
                try:
                    indicators = desk.indicators(period)
                except SnapshotMissing:
                    indicators = pd.DataFrame(columns=["indicator_code", "label_vi", "unit_vi"])
            a["revision_lines"] = [
                f"{label}: {line}"
                for label, line in revision_lines(rev, indicators if indicators is not None else pd.DataFrame())
            ]
        return as_of

    async def report_page(request: Request):
        from dolisa.report._common import FILE_LABELS_VI
        from dolisa.report.warnings import report_warnings, summary_vi

        period = need(request.path_params["period"], PERIOD_RE)
        ind = desk.indicators(period)
        if ind.empty:
            raise HTTPException(404, "Không có số liệu cho kỳ này")
        cat = catalogue(ind)
        prov = {r["indicator_code"]: r for _, r in ind[ind["unit_code"] == PROVINCE_CODE].iterrows()}
        groups = []
        for area, title in AREAS.items():
            rows = []
            for _, meta in cat[cat["area"] == area].iterrows():
                r = prov.get(meta["indicator_code"])
                rows.append(
                    {
                        "code": meta["indicator_code"],
                        "label": meta["label_vi"],
                        "unit_vi": meta["unit_vi"],
                        "r": r if r is not None else {},
                        "phrase": indicator_phrase(r, period) if r is not None else "",
                    }
                )
            groups.append({"title": title, "rows": rows})
        gate = desk.gate(period)
        folder = desk.reports / period
        files = [f for f in DOWNLOADS if (folder / f).exists()]
        warnings = report_warnings(folder, gate)  # the list the annex and the workbook printed
        issued = desk.issued(period)
        for copy in issued:
            copy["when"] = (
                _when(copy["issued_at"]) if re.match(r"^\d{4}-\d{2}-\d{2}T", copy["issued_at"]) else copy["issued_at"]
            )
        as_of = _with_revisions(period, desk.as_of_reports(period))
        for a in as_of:
            a["date_vi"] = pd.Timestamp(a["date"]).strftime("%d/%m/%Y")
        return render(
            request,
            "report.html",
            period=period,
            groups=groups,
            gate=gate,
            status=gate_status(gate),
            findings=_findings(gate),
            files=files,
            labels=FILE_LABELS_VI,
            warnings=warnings,
            warning_rules=list(
                dict.fromkeys(
                    rule_title_vi(r["rule"]) for r in (gate or {}).get("rules", []) if r["severity"] == "warning"
                )
            ),
            warnings_summary=summary_vi(warnings),
            incomplete=incomplete_note_vi((gate or {}).get("waived")),
            as_of=as_of,
            issued=issued,
        )

    async def indicator_page(request: Request):
        period = need(request.path_params["period"], PERIOD_RE)
        code = need(request.path_params["code"], CODE_RE)
        ind = desk.indicators(period)
        sub = ind[ind["indicator_code"] == code]
        if sub.empty:
            raise HTTPException(404)
        meta = sub.iloc[0]
        sub = sub.assign(_k=sub["unit_code"].map(lambda c: (c != PROVINCE_CODE, c))).sort_values("_k")
        return render(
            request, "indicator.html", period=period, code=code, meta=meta, rows=[r for _, r in sub.iterrows()]
        )

    async def unit_page(request: Request):
        period = need(request.path_params["period"], PERIOD_RE)
        code = need(request.path_params["code"], CODE_RE)
        unit = need(request.path_params["unit"], UNIT_RE)
        ind = desk.indicators(period)
        sub = ind[(ind["indicator_code"] == code) & (ind["unit_code"] == unit)]
        if sub.empty:
            raise HTTPException(404)
        meta = sub.iloc[0]
        by_month = desk.indicator_by_month(period, code, unit, meta["area"])
        months = desk.unit_months(period, unit)
        values = {(r["period"], r["source_unit_code"]): r for _, r in by_month.iterrows()}
        rows = []
        for _, m in months.iterrows():
            v = values.get((m["period"], m["source_unit_code"]))
            rows.append(
                {
                    "period": m["period"],
                    "source_unit_code": m["source_unit_code"],
                    "value": None if v is None else v["month_value"],
                    "contribution": None if v is None else v["half_year_contribution"],
                    "timeliness": m["timeliness"],
                    "version": m["in_force_version"],
                }
            )
        total = by_month["half_year_contribution"].sum() if len(by_month) else None
        return render(
            request,
            "unit.html",
            period=period,
            code=code,
            unit=unit,
            meta=meta,
            rows=rows,
            total=total,
            by_month=not by_month.empty,
        )

    async def breakdown_page(request: Request):
        period = need(request.path_params["period"], PERIOD_RE)
        unit = need(request.path_params["unit"], UNIT_RE)
        month, rows, legend = desk.breakdowns(period, unit)
        if month is None:
            raise HTTPException(404)
        tables = []
        for (dataset, breakdown), cells in rows.groupby(["dataset", "breakdown"], sort=False):
            tables.append(
                {
                    "dataset": dataset,
                    "dataset_vi": contract.dataset(dataset).label_vi,
                    "breakdown": breakdown,
                    "breakdown_vi": BREAKDOWN_VI.get(breakdown, breakdown),
                    "cells": [
                        {
                            "category": r["category"],
                            "label": r["category_label_vi"],
                            "sensitive": bool(r["is_sensitive"]),
                            "shown": "x" if r["flag"] == "x" else _int(r["records"]),
                        }
                        for _, r in cells.iterrows()
                    ],
                }
            )
        return render(request, "breakdowns.html", period=period, unit=unit, month=month, tables=tables, legend=legend)

    async def submission_page(request: Request):
        from dolisa.report.messages_vi import dataset_vi

        unit = need(request.path_params["unit"], UNIT_RE)
        month = need(request.path_params["month"], MONTH_RE)
        versions = desk.versions(unit, month)
        files = desk.files(unit, month)
        reasons = desk.quarantine_reasons(unit, month)

        def clean(row) -> dict:
            # a cell the mart leaves empty comes back as NaN: it is no reason ("lỗi kỹ thuật: nan")
            return {k: (None if formats.is_missing(v) else v) for k, v in row.items()}

        items = []
        for _, v in versions.iterrows():
            sid = v["submission_id"]
            v = clean(v)
            v["status_vi"] = contract.status_vi("version", v["submission_status"])
            v["reason_vi"] = reason_vi(v["rejection_reason"]) if v["rejection_reason"] else ""
            version_files = []
            for _, f in files[files["submission_id"] == sid].iterrows():
                f = clean(f)
                f["status_vi"] = contract.status_vi("file", f["file_status"])
                # the file is named in its own column: its reason does not name it again
                f["reason_vi"] = (
                    fb._without_file(reason_vi(f["rejection_reason"]), f["file_name"]) if f["rejection_reason"] else ""
                )
                version_files.append(f)
            items.append(
                {
                    "v": v,
                    "files": version_files,
                    "reasons": [
                        dict(clean(r), dataset_vi=dataset_vi(r["dataset"]))
                        for _, r in reasons[reasons["submission_id"] == sid].iterrows()
                    ],
                }
            )
        back = request.query_params.get("tu", "")
        if not re.fullmatch(r"/ky/\d{4}-H[12]/chi-tieu/[A-Z0-9_]+/don-vi/" + contract.UNIT_CODE_PATTERN, back):
            back = ""  # only a link back to the desk's own month table
        return render(request, "submission.html", unit=unit, month=month, items=items, back=back)

    async def quality_page(request: Request):
        period = need(request.path_params["period"], PERIOD_RE)
        q = desk.quality(period)
        months = contract.half_year_periods(period)
        grid: dict[str, dict] = {}
        for _, r in q.iterrows():
            row = grid.setdefault(r["unit_code"], {"name": r["unit_name_vi"], "cells": {}})
            row["cells"][r["period"]] = r
        has_png = (desk.reports / period / "data_quality_heatmap.png").exists()
        return render(
            request, "quality.html", period=period, months=months, grid=dict(sorted(grid.items())), has_png=has_png
        )

    # -- each unit's feedback sheets (dolisa.feedback), and whether they were sent --------

    feedback_root = desk.reports / "feedback"

    def _delivery_vi(state: dict) -> tuple[str, str]:
        status = state.get("status")
        if status == "sent":
            return "sent", f"Đã gửi ({', '.join(state.get('to', []))}) lúc {_when(state.get('at'))}"
        if status == "failed":
            return "failed", (
                f"Gửi không được ({state.get('attempts', 0)} lần), sẽ gửi lại đêm sau"
                if state.get("attempts", 0) < fb.MAX_SEND_ATTEMPTS
                else f"Gửi không được sau {state.get('attempts', 0)} lần: đã ngừng gửi lại"
            )
        if status == "not_sent":
            why = {
                "no address for the unit": "chưa có địa chỉ thư của đơn vị",
                "no SMTP connection configured": "chưa cấu hình máy chủ thư",
            }.get(state.get("why", ""), "")
            return "not-sent", "Chỉ lưu, không gửi" + (f" ({why})" if why else "")
        return "pending", "Chưa gửi"

    async def feedback_index(request: Request):
        latest: dict[str, dict] = {}
        for item in fb.sheets(feedback_root):
            latest.setdefault(item["unit_code"], item)  # newest first
        rows = []
        for unit, item in sorted(latest.items()):
            doc = item["feedback"]
            cls, text = _delivery_vi(item["delivery"])
            rows.append(
                {
                    "unit": unit,
                    "date": item["date"],
                    "doc": doc,
                    "cls": cls,
                    "delivery": text,
                    "rejected": sum(v["status"] == "rejected" for v in doc["versions"]),
                    "overdue": sum(m["overdue"] for m in doc["missing"]),
                }
            )
        return render(request, "feedback_index.html", rows=rows)

    async def feedback_unit(request: Request):
        unit = need(request.path_params["unit"], UNIT_RE)
        items = fb.sheets(feedback_root, unit)
        if not items:
            raise HTTPException(404)
        for item in items:
            item["cls"], item["delivery_vi"] = _delivery_vi(item["delivery"])
            item["date_vi"] = pd.Timestamp(item["date"]).strftime("%d/%m/%Y")
            item["text"] = (item["folder"] / fb.EMAIL_TXT).read_text(encoding="utf-8")
            item["xlsx"] = next((p.name for p in item["folder"].glob("*.xlsx")), None)
        return render(request, "feedback_unit.html", unit=unit, items=items)

    async def feedback_download(request: Request):
        unit = need(request.path_params["unit"], UNIT_RE)
        date = need(request.path_params["date"], DATE_RE)
        folder = feedback_root / unit / date
        f = next(iter(sorted(folder.glob("*.xlsx"))), None) if folder.is_dir() else None
        if f is None:
            raise HTTPException(404)
        return FileResponse(f, media_type=DOWNLOADS["indicators.xlsx"], filename=f.name)

    async def download(request: Request):
        period = need(request.path_params["period"], PERIOD_RE)
        name = request.path_params["name"]
        sub = request.query_params.get("ban", "")
        folder = desk.reports / period
        if sub:
            if not SUB_FOLDER_RE.fullmatch(sub):
                raise HTTPException(404)
            folder = folder / sub
        if name not in DOWNLOADS:
            raise HTTPException(404)
        f = folder / name
        if not f.is_file():
            raise HTTPException(404)
        media = DOWNLOADS.get(name) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        inline = media.startswith("image/")
        return FileResponse(f, media_type=media, filename=None if inline else f"{period}_{name}")

    def _inside(root: Path, rel: str) -> Path:
        if any(ord(ch) < 32 for ch in rel):  # NUL, newline: no file has such a name here
            raise HTTPException(404)
        f = (root / rel).resolve()
        if root.resolve() not in f.parents and f != root.resolve():
            raise HTTPException(404)
        if f.is_dir():
            f = f / "index.html"
        if not f.is_file():
            raise HTTPException(404)
        return f

    async def gx_docs(request: Request):
        f = _inside(desk.data_docs, request.path_params.get("path") or "index.html")
        if f.suffix == ".html":
            return HTMLResponse(localise(f.read_text(encoding="utf-8")))
        return FileResponse(f)

    async def dbt_docs(request: Request):
        rel = request.path_params.get("path") or "index.html"
        if rel not in DBT_DOCS_FILES:
            raise HTTPException(404)
        f = _inside(desk.dbt_target, rel)
        if rel == "manifest.json":  # compiled SQL may carry literal variables: never serve it
            manifest = json.loads(f.read_text(encoding="utf-8"))
            for node in list(manifest.get("nodes", {}).values()) + list(manifest.get("macros", {}).values()):
                node.pop("compiled_code", None)
            manifest.get("metadata", {}).pop("env", None)
            return Response(json.dumps(manifest), media_type="application/json")
        return FileResponse(f)

    async def not_found(request: Request, exc: HTTPException):
        status = exc.status_code
        msg = {404: "Không tìm thấy trang hoặc số liệu."}.get(
            status, exc.detail if isinstance(exc.detail, str) else "Lỗi"
        )
        return templates.TemplateResponse(request, "error.html", {"message": msg}, status_code=status)

    async def snapshot_missing(request: Request, exc: SnapshotMissing):
        return templates.TemplateResponse(
            request,
            "error.html",
            {"message": "Chưa có bản công bố của kho dữ liệu (published/warehouse.duckdb). Hãy chạy quy trình trước."},
            status_code=503,
        )

    routes = [
        Route("/dang-nhap", login, methods=["GET", "POST"]),
        Route("/dang-xuat", logout, methods=["GET", "POST"]),
        Route("/", home_page),
        Route("/ky/{period}", report_page),
        Route("/ky/{period}/chi-tieu/{code}", indicator_page),
        Route("/ky/{period}/chi-tieu/{code}/don-vi/{unit}", unit_page),
        Route("/ky/{period}/chat-luong", quality_page),
        Route("/ky/{period}/phan-to/{unit}", breakdown_page),
        Route("/nop/{unit}/{month}", submission_page),
        Route("/tai-ve/{period}/{name}", download),
        Route("/phan-hoi", feedback_index),
        Route("/phan-hoi/{unit}", feedback_unit),
        Route("/phan-hoi/{unit}/{date}/tai-ve", feedback_download),
        Route("/gx/", gx_docs),
        Route("/gx/{path:path}", gx_docs),
        Route("/dbt/", dbt_docs),
        Route("/dbt/{path:path}", dbt_docs),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found, SnapshotMissing: snapshot_missing})
    app.state.templates = templates
    app.state.desk = desk
    app.state.auth = auth
    app.add_middleware(LoginRequired, auth=auth)
    app.add_middleware(SecurityHeaders)
    return app
