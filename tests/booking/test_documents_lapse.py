"""Accept with missing documents (容缺受理): the commitment, the deadline, and the lapse job."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from booking import jobs
from labs.audit import AuditEntry
from labs.db import session_scope
from labs.notify import Notification
from tests.booking.support import SHANGHAI, nth_working_day_after, notification_subjects, working_wednesdays
from tests.conftest import booking_body

MISSING = "营业执照副本 copy of the business licence"
DEADLINE_DAYS = 4


def _run_lapse_job(app, now: dt.datetime) -> None:
    with app.app_context(), session_scope(app) as s:
        jobs.lapse_missing_documents(s, now)


def _counts(app) -> tuple[int, int]:
    with app.app_context(), session_scope(app) as s:
        return (s.scalar(select(func.count()).select_from(AuditEntry)),
                s.scalar(select(func.count()).select_from(Notification)))


def _book_with_missing_documents(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(approval_mode="instant", document_deadline_days=DEADLINE_DAYS)
    day = working_wednesdays(1)
    headers = world.token(alice)
    r = world.client.post("/api/v1/bookings", headers=headers, json=booking_body(
        lab, day, missing_documents=MISSING, commitment_signed=True))
    assert r.status_code == 201, r.json
    return lab, day, headers, r.json


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI)


def test_missing_documents_without_signed_commitment_is_refused_with_422_naming_the_field(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab()
    r = world.client.post("/api/v1/bookings", headers=world.token(alice),
                          json=booking_body(lab, working_wednesdays(1), missing_documents=MISSING))
    assert r.status_code == 422, r.json
    assert list(r.json["errors"]) == ["commitment_signed"]
    assert "commitment" in r.json["errors"]["commitment_signed"][0]


def test_documents_are_due_the_configured_number_of_working_days_ahead(world):
    today_before = dt.datetime.now(SHANGHAI).date()
    _, _, _, booking = _book_with_missing_documents(world)
    today_after = dt.datetime.now(SHANGHAI).date()  # a day later if the request ran across midnight
    assert booking["missing_documents"] == MISSING and booking["commitment_signed"] is True
    assert booking["documents_due"] in {nth_working_day_after(today, DEADLINE_DAYS).isoformat()
                                        for today in (today_before, today_after)}


def test_lapse_job_lapses_after_the_deadline_notifies_frees_the_slot_and_is_idempotent(world, app):
    lab, day, headers, booking = _book_with_missing_documents(world)
    due = dt.date.fromisoformat(booking["documents_due"])

    _run_lapse_job(app, _start_of(due + dt.timedelta(days=1)) - dt.timedelta(seconds=1))  # last second of due
    assert world.client.get(f"/api/v1/bookings/{booking['id']}", headers=headers).json["status"] == "approved"

    _run_lapse_job(app, _start_of(due + dt.timedelta(days=1)))
    r = world.client.get(f"/api/v1/bookings/{booking['id']}", headers=headers)
    assert r.json["status"] == "lapsed"
    assert f"{due:%b} {due.day}, {due.year}" in r.json["decision_note"] and MISSING in r.json["decision_note"]
    assert any(s.startswith("预约已失效：") for s in notification_subjects(world, headers))

    before = _counts(app)
    _run_lapse_job(app, _start_of(due + dt.timedelta(days=2)))
    assert _counts(app) == before
    assert world.client.get(f"/api/v1/bookings/{booking['id']}", headers=headers).json["status"] == "lapsed"

    _, bob = world.user("enterprise", enterprise=1)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(bob))
    assert r.status_code == 201, r.json


def test_lapse_is_audited_as_the_scheduler(world, app):
    _, _, _, booking = _book_with_missing_documents(world)
    _run_lapse_job(app, _start_of(dt.date.fromisoformat(booking["documents_due"]) + dt.timedelta(days=1)))
    admin_id, admin = world.user("admin")
    entries = [e for e in world.client.get("/api/v1/audit", headers=world.token(admin)).json
               if e["entity"] == "booking" and e["entity_id"] == booking["id"] and e["action"] == "booking.lapse"]
    assert len(entries) == 1
    assert entries[0]["actor_id"] is None
    assert entries[0]["before"]["status"] == "approved" and entries[0]["after"]["status"] == "lapsed"
