"""Telling people when a night fails: Airflow's own notifier mechanism.

`RunFailureNotifier` is a `BaseNotifier` set as the DAG's `on_failure_callback`. When a
run fails it always logs the failing task, the reason and the run summary, and when an
SMTP connection is configured it also sends them by e-mail through the SMTP provider's
`SmtpNotifier`:

    connection `dolisa_alerts` (type smtp): host, port, login/password if any, and in its
    extra: {"to": "a@x.vn, b@x.vn", "from_email": "dolisa@x.vn",
            "disable_tls": false, "disable_ssl": true}
    e.g. AIRFLOW_CONN_DOLISA_ALERTS='smtp://mail.x.vn:25?to=a%40x.vn&from_email=dolisa%40x.vn'

No connection (or no `to`) means: log only.

The DAG-level callback context names the failing task but not its exception, so every
task's own `on_failure_callback` (`record_task_failure`) writes the exception text beside
the task logs (`$DOLISA_HOME/logs/failures/`), where the notifier reads it.
"""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)

ALERT_CONN_ID = "dolisa_alerts"
MAX_REASON = 4000


def _failures_dir() -> Path:
    from dolisa.settings import paths

    return paths().home / "logs" / "failures"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")[:150] or "run"


def _run_key(context: dict) -> str:
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(dag_run, "dag_id", "dag")
    run_id = getattr(dag_run, "run_id", None) or context.get("run_id") or "run"
    return _safe(f"{dag_id}__{run_id}")


def record_task_failure(context: dict) -> None:
    """Task-level on_failure_callback: keep the failing task's exception for the run's notifier."""
    try:
        ti = context.get("ti") or context.get("task_instance")
        exc = context.get("exception")
        folder = _failures_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{_run_key(context)}.json").write_text(
            json.dumps(
                {
                    "task_id": getattr(ti, "task_id", None),
                    "try_number": getattr(ti, "try_number", None),
                    "exception": f"{type(exc).__name__}: {exc}"[:MAX_REASON] if exc is not None else None,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    except Exception:  # a callback must never hide the task's own failure
        log.exception("could not record the task failure")


def failure_report(context: dict) -> dict:
    """What went wrong: failing task, reason, run summary (plain data)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    recorded: dict = {}
    path = _failures_dir() / f"{_run_key(context)}.json"
    if path.exists():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = {}
    exc = context.get("exception")
    reason = (
        (f"{type(exc).__name__}: {exc}" if exc is not None else None)
        or recorded.get("exception")
        or context.get("reason")
        or "unknown (see the task log)"
    )
    conf = dict(getattr(dag_run, "conf", None) or {})
    summary: dict[str, Any] = {
        "dag_id": getattr(dag_run, "dag_id", None) or getattr(context.get("dag"), "dag_id", None),
        "run_id": getattr(dag_run, "run_id", None) or context.get("run_id"),
        "logical_date": str(getattr(dag_run, "logical_date", None) or context.get("logical_date") or ""),
        "periods": conf.get("periods"),
        "report_period": conf.get("report_period"),
        "allow_incomplete": conf.get("allow_incomplete", False),
    }
    gate = _gate_summary(conf.get("report_period"))
    if gate:
        summary["report_gate"] = gate
    return {
        "failed_task": getattr(ti, "task_id", None) or recorded.get("task_id"),
        "try_number": getattr(ti, "try_number", None) or recorded.get("try_number"),
        "reason": str(reason)[:MAX_REASON],
        "log_url": getattr(ti, "log_url", None),
        "summary": summary,
    }


def _gate_summary(report_period: str | None) -> dict | None:
    if not report_period:
        return None
    from dolisa.settings import paths

    f = paths().report_dir(report_period) / "quality_gate.json"
    if not f.exists():
        return None
    try:
        g = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {
        "passed": g.get("passed"),
        "blocking": [b.get("message") for b in g.get("blocking", [])[:20]],
        "warnings": len(g.get("warnings", [])),
        "data_docs": g.get("data_docs"),
    }


def render(report: dict) -> tuple[str, str, str]:
    """(subject, plain text, html) of a failure report."""
    s = report["summary"]
    subject = f"[DOLISA] {s.get('dag_id')} failed at {report['failed_task']} ({s.get('run_id')})"
    lines = [
        f"The run {s.get('run_id')} of {s.get('dag_id')} failed.",
        f"Failing task: {report['failed_task']} (try {report.get('try_number')})",
        f"Reason: {report['reason']}",
        "",
        "Run summary:",
        *(f"  {k}: {v}" for k, v in s.items() if k != "report_gate"),
    ]
    gate = s.get("report_gate")
    if gate:
        lines += [
            "",
            f"Report gate: {'passed' if gate['passed'] else 'BLOCKED'}, {gate['warnings']} warning(s)",
            *(f"  - {m}" for m in gate["blocking"]),
            f"  Data Docs: {gate.get('data_docs')}",
        ]
    if report.get("log_url"):
        lines += ["", f"Task log: {report['log_url']}"]
    text = "\n".join(lines)
    return subject, text, f"<pre>{html.escape(text)}</pre>"


def _smtp_settings(conn_id: str) -> dict | None:
    """The alert connection's recipients and sender, or None when nothing is configured."""
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception:  # not configured (AirflowNotFoundException and friends)
        return None
    extra = conn.extra_dejson or {}
    to = extra.get("to")
    if not conn.host or not to:
        return None
    return {"to": [a.strip() for a in str(to).split(",") if a.strip()], "from_email": extra.get("from_email")}


class RunFailureNotifier(BaseNotifier):
    """DAG on_failure_callback: log always, e-mail through the SMTP connection when configured."""

    template_fields = ()

    def __init__(self, conn_id: str = ALERT_CONN_ID):
        super().__init__()
        self.conn_id = conn_id

    def render_template_fields(self, context, jinja_env=None) -> None:
        """Nothing to render (no template fields). Airflow's default asks the DAG for a Jinja
        environment, which the serialized DAG of a DAG-level callback does not have."""

    def notify(self, context) -> None:
        report = failure_report(dict(context))
        subject, text, body = render(report)
        log.error("%s\n%s", subject, text)
        smtp = _smtp_settings(self.conn_id)
        if smtp is None:
            log.warning("no SMTP connection %r with recipients configured: the failure is logged only", self.conn_id)
            return
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            to=smtp["to"],
            from_email=smtp["from_email"] or "dolisa-warehouse@localhost",
            smtp_conn_id=self.conn_id,
            subject=subject,
            html_content=body,
        ).notify(context)
        log.info("failure notification sent to %s", ", ".join(smtp["to"]))


def feedback_sender(conn_id: str = ALERT_CONN_ID):
    """The sender of the units' feedback e-mails (dolisa.feedback) over the same SMTP
    connection as the failure notifier, through Airflow's SMTP provider (`SmtpHook`), or
    None when no such connection (with a host) is configured. The connection's `to` is
    not used: each unit's address comes from the feedback address file."""
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception:  # not configured
        return None
    if not conn.host:
        return None
    from_email = (conn.extra_dejson or {}).get("from_email") or "dolisa-warehouse@localhost"

    def send(*, to: list[str], subject: str, html: str, text: str, files: list[str]) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(
                to=to, subject=subject, html_content=html, from_email=from_email, files=files, mime_charset="utf-8"
            )
        log.info("feedback e-mail sent (%d recipient(s), %d attachment(s))", len(to), len(files))

    return send
