"""The spot-checks' scheduled jobs: reminders sent once a day, and two `labs scheduler` processes
on one PostgreSQL running each job once and writing the Friday file once."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.notify import Notification
from labs.spotchecks.jobs import reminders
from labs.spotchecks.models import CreditExport
from labs.verification import service as verification
from tests.labs.test_scheduler_leader import start_scheduler, wait_for
from tests.verification.conftest import METER


def test_an_owner_is_reminded_once_of_a_verification_falling_due(app, world):
    member, _ = world.user("enterprise", enterprise=0)
    with session_scope(app) as session:
        from tests.conftest import CODES
        verification.register_instrument(session, SYSTEM, {
            "kind": "electricity_meter", "serial_number": "DNB-1", "owner_credit_code": CODES[0],
            "nameplate": METER, "next_due": dt.date.today() + dt.timedelta(days=20)})
        verification.register_instrument(session, SYSTEM, {
            "kind": "electricity_meter", "serial_number": "DNB-2", "owner_credit_code": CODES[0],
            "nameplate": METER, "next_due": dt.date.today() + dt.timedelta(days=90)})
    with session_scope(app) as session:
        assert reminders(session) == 1
    with session_scope(app) as session:
        assert reminders(session) == 0  # the same day again: nothing new
        subjects = list(session.scalars(select(Notification.subject).where(Notification.user_id == member)))
    assert subjects == ["检定即将到期：DNB-1"]


def test_two_schedulers_run_each_job_once_and_write_the_friday_file_once(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("two schedulers share the work over PostgreSQL (advisory lock); the embedded default runs one")
    exports = {"LABS_EXPORT_DIR": str(tmp_path / "exports")}
    first, first_log = start_scheduler(database_url, tmp_path, "first", "--run-now", **exports)
    second = None
    try:
        assert wait_for(first_log, "scheduler running"), first_log.read_text()
        second, second_log = start_scheduler(database_url, tmp_path, "second", "--run-now", **exports)
        assert wait_for(second_log, "another scheduler leads"), second_log.read_text()
        for job in ("weekly_credit_export", "reminders", "send_pending_mail"):
            assert wait_for(first_log, f"ran job {job}"), first_log.read_text()
        # The follower keeps waiting while the leader lives: give it the time of a poll to misbehave.
        time.sleep(6)
        logs = first_log.read_text() + second_log.read_text()
        for job in ("weekly_credit_export", "reminders"):
            assert logs.count(f"ran job {job}") == 1, logs
        assert "ran job" not in second_log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
    assert sorted(p.suffix for p in (tmp_path / "exports").iterdir()) == [".csv", ".json"]
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CreditExport)) == 1
