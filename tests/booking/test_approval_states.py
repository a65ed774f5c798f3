"""Fees, approval modes and deadlines, and the booking state machine with its audit trail."""
from __future__ import annotations

import datetime as dt

import pytest

from booking import domain, jobs
from labs.db import session_scope, utcnow
from tests.booking.support import (SHANGHAI, UTC, ServiceClock, act, book_at, local, nth_working_day_after,
                                   notification_subjects, past_working_day, working_wednesdays)
from tests.conftest import booking_body

# --- fees -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start, end, batches, expected", [
    (9, 11, 2, "300.00"),      # 2 h x 100 + 2 x 50
    (9, 10.5, 3, "300.00"),    # 1.5 h x 100 + 3 x 50
    (9, 9 + 40 / 60, 1, "116.67"),  # 40 min is 66.666... yuan, rounded half up, + 50
])
def test_fee_is_hours_pro_rata_plus_batches_from_the_schedule(world, start, end, batches, expected):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(fee_per_hour="100.00", fee_per_batch="50.00", slot_step_minutes=10)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1), start, end,
                                                                batches=batches), headers=world.token(alice))
    assert r.status_code == 201, r.json
    assert r.json["fee"] == expected


def test_the_highest_rates_for_a_whole_day_and_1000_batches_are_stored_to_the_fen(world):
    _, admin = world.user("admin")
    _, alice = world.user("enterprise", enterprise=0)
    rates = {"fee_per_hour": "99999999.99", "fee_per_batch": "99999999.99"}
    r = world.client.post("/api/v1/labs", json={"code": "DEAR", "name": "EMC", "discipline": "EMC",
                                                "max_duration_minutes": 1440, **rates,
                                                "hours": [{"weekday": d, "opens": "00:00", "closes": "23:59"}
                                                          for d in range(7)]}, headers=world.token(admin))
    assert r.status_code == 201, r.json
    too_dear = world.client.post("/api/v1/labs", json={"code": "DEARER", "name": "EMC", "discipline": "EMC",
                                                       "fee_per_hour": "100000000"}, headers=world.token(admin))
    assert too_dear.status_code == 422 and "fee_per_hour" in too_dear.json["errors"]
    day = working_wednesdays(1)
    r = world.client.post("/api/v1/bookings", json=booking_body(r.json["id"], day, 0, 23.5, batches=1000),
                          headers=world.token(alice))
    assert r.status_code == 201, r.json
    assert r.json["fee"] == "102349999989.77"  # (23.5 + 1000) x 99,999,999.99 = ...989.765, half up
    stored = world.client.get(f"/api/v1/bookings/{r.json['id']}", headers=world.token(alice)).json
    assert stored["fee"] == "102349999989.77"


def test_public_benefit_lab_charges_nothing(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(public_benefit=True, fee_per_hour="100.00", fee_per_batch="50.00")
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1), batches=5),
                          headers=world.token(alice))
    assert r.status_code == 201, r.json
    assert r.json["fee"] == "0.00"


# --- approval ---------------------------------------------------------------------------------------

def test_instant_approval_lab_answers_201_approved_and_tells_the_enterprise(world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id], approval_mode="instant")
    headers = world.token(alice)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1)), headers=headers)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "approved" and r.json["approval_due"] is None
    assert any(s.startswith("预约已批准：") for s in notification_subjects(world, headers))
    assert world.client.get("/api/v1/approvals", headers=world.token(manager)).json == []


def test_manager_lab_request_is_due_for_approval_in_n_working_days_and_managers_are_told(world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id], approval_deadline_days=2)
    body, headers = booking_body(lab, working_wednesdays(1)), world.token(alice)
    today_before = dt.datetime.now(SHANGHAI).date()
    r = world.client.post("/api/v1/bookings", json=body, headers=headers)
    today_after = dt.datetime.now(SHANGHAI).date()  # a day later if the request ran across midnight
    assert r.status_code == 201, r.json
    assert r.json["status"] == "requested"
    assert r.json["approval_due"] in {nth_working_day_after(today, 2).isoformat() for today in (today_before, today_after)}
    assert r.json["overdue"] is False
    assert any(s.startswith("待审批预约：") for s in notification_subjects(world, world.token(manager)))


def test_request_past_its_approval_deadline_is_flagged_overdue_in_the_queue_and_reminded(world, app):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id], bays=2)
    day = working_wednesdays(1)
    month_ago = utcnow() - dt.timedelta(days=30)
    old = book_at(app, alice, lab, day, 9, 11, now=month_ago)
    # 09:00-12:00: the same slot again would be refused as a duplicate.
    fresh = world.client.post("/api/v1/bookings", json=booking_body(lab, day, 9, 12), headers=world.token(alice)).json
    headers = world.token(manager)
    queue = world.client.get("/api/v1/approvals", headers=headers).json
    assert [(b["id"], b["overdue"]) for b in queue] == [(old, True), (fresh["id"], False)]
    assert queue[0]["approval_due"] == nth_working_day_after(month_ago.astimezone(SHANGHAI).date(), 3).isoformat()

    for _ in range(2):  # a second run the same day (a restarted scheduler) reminds no one again
        with app.app_context(), session_scope(app) as s:
            jobs.remind_overdue_approvals(s)
    reminders = [s for s in notification_subjects(world, headers) if s.startswith("逾期未审批")]
    assert len(reminders) == 1
    body = world.client.get("/api/v1/notifications", headers=headers).json[0]["body"]
    assert f"#{old}" in body and f"#{fresh['id']}" not in body
    with app.app_context(), session_scope(app) as s:  # the next day brings the next reminder
        jobs.remind_overdue_approvals(s, now=utcnow() + dt.timedelta(days=1))
    assert len([s for s in notification_subjects(world, headers) if s.startswith("逾期未审批")]) == 2


# --- the state machine ----------------------------------------------------------------------------

# The allowed transitions, (state, action): new state, written out by hand from the approval rules.
# Not read from booking.domain.TRANSITIONS: a rule broken there must disagree with this table.
ALLOWED = {
    ("requested", "approve"): "approved",
    ("requested", "reject"): "rejected",
    ("requested", "cancel"): "cancelled",
    ("approved", "cancel"): "cancelled",
    ("approved", "check_in"): "checked_in",
    ("approved", "no_show"): "no_show",
    ("checked_in", "complete"): "completed",
    ("requested", "lapse"): "lapsed",  # the scheduler's, when committed documents are late
    ("approved", "lapse"): "lapsed",
}


def test_the_state_machine_allows_exactly_the_transitions_of_the_table():
    declared = {(state, action): rule.target for action, rule in domain.TRANSITIONS.items() for state in rule.source}
    assert declared == ALLOWED
    assert set(domain.STATES) == {state for pair in ALLOWED for state in (pair[0], ALLOWED[pair])}


# How to bring a booking into each state over HTTP, and who acts.
PATHS = {
    "requested": [], "approved": ["approve"], "rejected": ["reject"], "cancelled": ["cancel"],
    "checked_in": ["approve", "check_in"], "completed": ["approve", "check_in", "complete"],
    "no_show": ["approve", "no_show"], "lapsed": None,  # the scheduler's doing, see below
}
ACTOR = {"approve": "manager", "reject": "manager", "cancel": "owner", "check_in": "technician",
         "complete": "technician", "no_show": "technician"}
# When each actor acts, in minutes from the start of the booking: the enterprise cancels before its
# slot begins; the lab checks in, completes and records no-shows once it has begun.
ACTS_AT = {"approve": 15, "reject": 15, "cancel": -60, "check_in": 15, "complete": 15, "no_show": 15}


class Scene:
    """A ten-bay lab, its technician, and bookings from 09:00 on a past day, acted on over HTTP with
    the booking service's clock set to the moment each action is taken (ACTS_AT)."""

    def __init__(self, world, app, monkeypatch):
        self.world, self.app = world, app
        self.ids, headers = {}, {}
        for name, role, enterprise in (("admin", "admin", None), ("manager", "lab_manager", None),
                                       ("technician", "technician", None), ("owner", "enterprise", 0)):
            self.ids[name], email = world.user(role, enterprise=enterprise)
            headers[name] = world.token(email)
        self.headers = headers
        self.owner_email = email
        self.lab = world.lab(manager_ids=[self.ids["manager"]], technician_ids=[self.ids["technician"]],
                             bays=len(PATHS) + 2, document_deadline_days=1, slot_step_minutes=5)
        self.day = past_working_day()
        self.then = dt.datetime.combine(self.day - dt.timedelta(days=7), dt.time(), UTC)
        self.start = local(self.day, 9)
        self.clock = ServiceClock(monkeypatch)
        self._bookings = 0

    def act(self, booking: int, action: str, note: str = ""):
        """`action` by its actor, at its moment (ACTS_AT)."""
        self.clock.now = self.start + dt.timedelta(minutes=ACTS_AT[action])
        return act(self.world, self.headers[ACTOR[action]], booking, action, note)

    def booking_in(self, state: str) -> int:
        # Each ends a step (5 minutes) later than the one before: the same request twice would be a duplicate.
        self._bookings += 1
        end = 11 + self._bookings * 5 / 60
        if state == "lapsed":
            booking = book_at(self.app, self.owner_email, self.lab, self.day, 9, end, now=self.then,
                              missing_documents="test outline", commitment_signed=True)
            with self.app.app_context(), session_scope(self.app) as s:
                jobs.lapse_missing_documents(s, now=self.start)
        else:
            booking = book_at(self.app, self.owner_email, self.lab, self.day, 9, end, now=self.then)
            for action in PATHS[state]:
                r = self.act(booking, action, note=f"on the way to {state}")  # a rejection needs its reason
                assert r.status_code == 200, r.json
        assert self.status(booking) == state
        return booking

    def status(self, booking: int) -> str:
        return self.world.client.get(f"/api/v1/bookings/{booking}", headers=self.headers["admin"]).json["status"]

    def audit(self) -> list[dict]:
        r = self.world.client.get("/api/v1/audit", query_string={"limit": 1000}, headers=self.headers["admin"])
        assert r.status_code == 200, r.json
        return r.json


@pytest.fixture
def scene(world, app, monkeypatch):
    return Scene(world, app, monkeypatch)


@pytest.mark.parametrize("action", sorted(ACTOR))
def test_transition_is_allowed_only_from_its_source_states_and_is_audited(scene, world, action):
    actor = ACTOR[action]
    for state in PATHS:
        booking = scene.booking_in(state)
        audit_before = scene.audit()
        r = scene.act(booking, action, note=f"{action} from {state}")
        target = ALLOWED.get((state, action))
        if target is not None:
            assert r.status_code == 200, (state, r.json)
            assert r.json["status"] == target
            new = [e for e in scene.audit() if e["id"] not in {a["id"] for a in audit_before}]
            assert [(e["action"], e["entity"], e["entity_id"], e["actor_id"]) for e in new] == [
                (f"booking.{action}", "booking", booking, scene.ids[actor])]
            assert new[0]["before"]["status"] == state and new[0]["after"]["status"] == target
            assert new[0]["after"]["decision_note"] == f"{action} from {state}"
        else:
            assert r.status_code == 409, (state, r.json)
            assert r.mimetype == "application/problem+json" and r.json["code"] == "invalid_transition"
            assert domain.STATUS_NAMES[state] in r.json["detail"]  # the state as people name it
            assert scene.status(booking) == state
            assert scene.audit() == audit_before


def test_every_booking_request_is_audited_with_its_requester(scene):
    booking = scene.booking_in("requested")
    (entry,) = [e for e in scene.audit() if e["entity"] == "booking" and e["entity_id"] == booking]
    assert entry["action"] == "booking.request" and entry["actor_id"] == scene.ids["owner"]
    assert entry["before"] is None and entry["after"]["status"] == "requested"


def test_lapse_is_not_an_action_clients_can_take(scene, world):
    booking = scene.booking_in("approved")
    assert act(world, scene.headers["admin"], booking, "lapse").status_code == 404
    assert scene.status(booking) == "approved"


def test_no_show_before_the_booking_starts_is_refused_with_409(world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id], approval_mode="instant")
    booking = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1)),
                                headers=world.token(alice)).json
    r = act(world, world.token(manager), booking["id"], "no_show")
    assert r.status_code == 409, r.json
    assert "before it starts" in r.json["detail"]


# --- when each action may be taken ------------------------------------------------------------------

# For a booking of 09:00-11:00: (action, who acts, minutes from 09:00) -> allowed. Written out by hand
# from the rules: check-in from 30 minutes before the start until the end; a no-show only once the
# slot has begun; the enterprise cancels only before the start (afterwards staff record a no-show).
WHEN = {
    ("check_in", "staff", -31): False, ("check_in", "staff", -30): True, ("check_in", "staff", 0): True,
    ("check_in", "staff", 119): True, ("check_in", "staff", 120): False, ("check_in", "staff", 24 * 60): False,
    ("no_show", "staff", -1): False, ("no_show", "staff", 0): True, ("no_show", "staff", 24 * 60): True,
    ("cancel", "owner", -24 * 60): True, ("cancel", "owner", -1): True, ("cancel", "owner", 0): False,
    ("cancel", "owner", 60): False, ("cancel", "staff", 60): True, ("cancel", "staff", 24 * 60): True,
    ("complete", "staff", -10): True, ("complete", "staff", 24 * 60): True,
    ("approve", "staff", -24 * 60): True, ("approve", "staff", 60): True, ("reject", "staff", 60): True,
}


@pytest.mark.parametrize("action, who, minutes", sorted(WHEN))
def test_each_action_is_taken_only_in_its_time(action, who, minutes):
    start = dt.datetime(2030, 1, 9, 1, tzinfo=UTC)  # 09:00 in Shanghai
    now = start + dt.timedelta(minutes=minutes)
    problem = domain.timing_problem(action, who == "owner", now, start, start + dt.timedelta(hours=2))
    assert (problem is None) == WHEN[action, who, minutes], problem


@pytest.mark.parametrize("action, minutes, expected", [
    ("check_in", -31, 409), ("check_in", -30, 200), ("check_in", 124, 200), ("check_in", 125, 409),
    ("cancel", 0, 409), ("cancel", -1, 200),
])
def test_check_in_and_the_enterprise_cancelling_are_refused_out_of_their_time_with_409(scene, action, minutes,
                                                                                       expected):
    booking = scene.booking_in("approved")  # the scene's first: 09:00-11:05
    scene.clock.now = scene.start + dt.timedelta(minutes=minutes)
    r = act(scene.world, scene.headers[ACTOR[action]], booking, action)
    assert r.status_code == expected, r.json
    assert scene.status(booking) == ("approved" if expected == 409 else ALLOWED["approved", action])


def test_after_the_start_the_enterprise_cannot_cancel_and_staff_record_a_no_show(scene):
    booking = scene.booking_in("approved")
    scene.clock.now = scene.start + dt.timedelta(minutes=5)
    r = act(scene.world, scene.headers["owner"], booking, "cancel")
    assert r.status_code == 409 and "no-show" in r.json["detail"], r.json
    r = act(scene.world, scene.headers["technician"], booking, "no_show")
    assert r.status_code == 200 and r.json["status"] == "no_show", r.json


def test_a_booking_is_completed_only_after_it_was_checked_in(scene):
    booking = scene.booking_in("approved")
    scene.clock.now = scene.start + dt.timedelta(minutes=30)
    assert act(scene.world, scene.headers["technician"], booking, "complete").status_code == 409
    assert act(scene.world, scene.headers["technician"], booking, "check_in").json["status"] == "checked_in"
    assert act(scene.world, scene.headers["technician"], booking, "complete").json["status"] == "completed"
