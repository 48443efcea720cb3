"""A failed run notifies through Airflow's notifier mechanism: a real SMTP server (aiosmtpd)
started by the test receives the failing task, the reason and the run summary; with no
SMTP connection configured the notification is logged only."""

from __future__ import annotations

import datetime as dt
import email
import json
import logging
import socket
from email import policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from dolisa.notify import RunFailureNotifier, record_task_failure


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def context(dolisa_home):
    """What Airflow hands a DAG's on_failure_callback: the failing task instance and the run."""
    ti = SimpleNamespace(task_id="report_gate", try_number=1,
                         log_url="http://airflow.local/dags/district_submissions_nightly/runs/r1/tasks/report_gate")
    dag_run = SimpleNamespace(dag_id="district_submissions_nightly", run_id="scheduled__2021-07-10T02:30:00+07:00",
                              logical_date=dt.datetime(2021, 7, 9, 19, 30, tzinfo=dt.timezone.utc),
                              conf={"periods": ["2021-05", "2021-06"], "report_period": "2021-H1"})
    dag = SimpleNamespace(dag_id=dag_run.dag_id)  # the serialized DAG: no Jinja environment of its own
    return {"ti": ti, "task_instance": ti, "dag_run": dag_run, "dag": dag, "run_id": dag_run.run_id,
            "reason": "task_failure"}


def write_blocked_gate(dolisa_home):
    folder = dolisa_home / "reports" / "2021-H1"
    folder.mkdir(parents=True)
    (folder / "quality_gate.json").write_text(json.dumps({
        "passed": False, "data_docs": str(dolisa_home / "data_docs" / "index.html"),
        "blocking": [{"rule": "completeness", "message": "053 Huyện Thạch An: no accepted submission for 2021-05"}],
        "warnings": [{"rule": "late_submission"}]}), encoding="utf-8")


def test_failed_run_mails_the_failing_task_reason_and_summary(dolisa_home, smtp_server, monkeypatch):
    inbox, port = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_DOLISA_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"to": "ops@dolisa.caobang.gov.vn, lead@dolisa.caobang.gov.vn", "from_email": "dw@dolisa.vn",
                  "disable_tls": True, "disable_ssl": True, "retry_limit": 0}}))
    write_blocked_gate(dolisa_home)
    ctx = context(dolisa_home)
    # the failing task's own callback keeps its exception for the DAG-level notifier
    record_task_failure({**ctx, "exception": RuntimeError("report gate blocked the 2021-H1 report (1 blocking finding(s))")})
    RunFailureNotifier()(ctx)  # how Airflow calls a notifier

    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert sorted(inbox.envelopes[0].rcpt_tos) == ["lead@dolisa.caobang.gov.vn", "ops@dolisa.caobang.gov.vn"]
    assert "report_gate" in msg["Subject"] and "district_submissions_nightly" in msg["Subject"]
    body = msg.get_body(("html", "plain")).get_content()
    assert "Failing task: report_gate" in body
    assert "RuntimeError: report gate blocked the 2021-H1 report" in body
    assert "report_period: 2021-H1" in body and "2021-05" in body  # run summary (conf)
    assert "053 Huyện Thạch An: no accepted submission for 2021-05" in body  # the gate's reasons
    assert "http://airflow.local/dags/district_submissions_nightly" in body


def test_without_an_smtp_connection_the_failure_is_logged_only(dolisa_home, smtp_server, monkeypatch, caplog):
    inbox, _ = smtp_server
    monkeypatch.delenv("AIRFLOW_CONN_DOLISA_ALERTS", raising=False)
    ctx = context(dolisa_home)
    record_task_failure({**ctx, "exception": ValueError("boom in extract")})
    with caplog.at_level(logging.INFO, logger="dolisa.notify"):
        RunFailureNotifier()(ctx)
    assert inbox.messages == []
    text = caplog.text
    assert "Failing task: report_gate" in text and "ValueError: boom in extract" in text
    assert "logged only" in text
