"""Calendar feeds, monthly usage statistics, and notices by e-mail through a real SMTP server."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import func, select

from booking import service
from booking.models import Booking
from booking.service import BookingRequest
from labs.accounts.models import Enterprise, User
from labs.audit import AuditEntry
from labs.catalog.models import Lab
from labs.db import session_scope, utcnow
from labs.notify import MAIL_ATTEMPTS, Notification, send_pending_mail
from tests.booking.support import UTC, act, act_at, book_at, local, working_wednesdays
from tests.conftest import booking_body

# --- iCalendar feeds ------------------------------------------------------------------------------


def _events(world, url: str) -> dict[str, dict]:
    r = world.client.get(url)
    assert r.status_code == 200
    assert r.mimetype == "text/calendar"
    cal = Calendar.from_ical(r.data)
    return {str(e["UID"]): {"start": e.decoded("DTSTART"), "end": e.decoded("DTEND"), "status": str(e["STATUS"]),
                            "raw_start": e["DTSTART"].to_ical().decode()} for e in cal.walk("VEVENT")}


def test_feeds_hold_the_active_bookings_in_utc_and_leave_out_cancelled_and_rejected_ones(world, app):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(manager_ids=[manager_id])
    day = working_wednesdays(1)
    alice_h, bob_h, manager_h = world.token(alice), world.token(bob), world.token(manager)

    def book(headers, start, end):
        r = world.client.post("/api/v1/bookings", json=booking_body(lab, day, start, end), headers=headers)
        assert r.status_code == 201, r.json
        return r.json["id"]

    requested, approved, cancelled, rejected = (book(alice_h, 9, 10), book(alice_h, 10, 11),
                                                book(alice_h, 11, 12), book(alice_h, 13, 14))
    bobs = book(bob_h, 14, 16)
    for booking, action, headers in ((approved, "approve", manager_h), (cancelled, "cancel", alice_h),
                                     (rejected, "reject", manager_h), (bobs, "approve", manager_h)):
        assert act(world, headers, booking, action, note="by the test").status_code == 200  # a rejection needs one
    with app.app_context(), session_scope(app) as s:
        lab_token = s.get(Lab, lab).calendar_token
        alice_token, bob_token = (s.scalar(select(Enterprise.calendar_token).where(Enterprise.name == f"Enterprise {n}"))
                                  for n in (0, 1))

    events = _events(world, f"/calendar/labs/{lab_token}.ics")
    assert set(events) == {f"booking-{b}@labs" for b in (requested, approved, bobs)}
    first = events[f"booking-{requested}@labs"]
    assert first["start"] == local(day, 9) and first["end"] == local(day, 10)
    assert first["start"].utcoffset() == dt.timedelta(0)
    assert first["raw_start"] == (local(day, 9).astimezone(UTC)).strftime("%Y%m%dT%H%M%SZ")
    assert first["status"] == "TENTATIVE" and events[f"booking-{approved}@labs"]["status"] == "CONFIRMED"

    assert set(_events(world, f"/calendar/enterprises/{alice_token}.ics")) == {
        f"booking-{b}@labs" for b in (requested, approved)}
    bob_events = _events(world, f"/calendar/enterprises/{bob_token}.ics")
    assert set(bob_events) == {f"booking-{bobs}@labs"}
    assert bob_events[f"booking-{bobs}@labs"]["start"] == local(day, 14)


def test_unknown_feed_token_is_404(world):
    assert world.client.get("/calendar/labs/not-a-token.ics").status_code == 404
    assert world.client.get("/calendar/enterprises/not-a-token.ics").status_code == 404


# --- usage statistics ---------------------------------------------------------------------------------

def test_monthly_usage_matches_a_hand_computed_month(world, app):
    """October 2026: National Day closes the 1st-7th, Saturday the 10th is a make-up working day.
    Monday-Friday hours 08:00-18:00 on 2 bays give 18 working days x 10 h = 180 h, less a 2 h
    closure = 178 h per bay, 356 bay-hours."""
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    _, carol = world.user("enterprise", enterprise=2)
    technician_id, technician = world.user("technician")
    lab = world.lab(manager_ids=[manager_id], technician_ids=[technician_id], bays=2,
                    hours=[{"weekday": d, "opens": dt.time(8), "closes": dt.time(18)} for d in range(5)])
    manager_h = world.token(manager)
    then = dt.datetime(2026, 9, 20, tzinfo=UTC)
    october = dt.date(2026, 10, 1)
    r = world.client.post(f"/api/v1/labs/{lab}/closures", headers=manager_h, json={
        "starts_at": local(dt.date(2026, 10, 14), 13).isoformat(),
        "ends_at": local(dt.date(2026, 10, 14), 15).isoformat(), "reason": "power works"})
    assert r.status_code == 201, r.json

    def booking(who, day, start, end, batches, *actions):
        booking_id = book_at(app, who, lab, day, start, end, now=then, batches=batches)
        for action in actions:  # half an hour into the slot, through the service: the slot is past now
            email = technician if action in ("check_in", "complete", "no_show") else manager
            act_at(app, email, booking_id, action, now=local(day, start) + dt.timedelta(minutes=30))

    done = ("approve", "check_in", "complete")
    booking(alice, october.replace(day=12), 9, 11, 2, *done)         # 2 h, completed
    booking(bob, october.replace(day=13), 9, 12, 3, *done)           # 3 h, completed
    booking(carol, october.replace(day=15), 14, 15, 4, "approve")    # 1 h, approved, not yet served
    booking(bob, october.replace(day=16), 9, 11, 1, "cancel")        # given back: not counted
    booking(alice, october.replace(day=19), 9, 10, 1)                # never approved: not counted
    booking(bob, october.replace(day=20), 9, 11, 1, "approve", "no_show")  # 2 h held, a no-show
    booking(alice, dt.date(2026, 9, 30), 9, 11, 7, *done)            # September
    booking(bob, dt.date(2026, 11, 2), 9, 11, 7, *done)              # November

    r = world.client.get(f"/api/v1/labs/{lab}/usage", query_string={"month": "2026-10"}, headers=manager_h)
    assert r.status_code == 200, r.json
    assert r.json == {"lab_id": lab, "month": "2026-10", "open_bay_hours": 356.0, "booked_hours": 8.0,
                      "utilisation": round(8 / 356, 4), "bookings": 4, "no_shows": 1,
                      "enterprises_served": 2, "batches_tested": 5}


# --- e-mail ---------------------------------------------------------------------------------------------

class Mailbox:
    """Collects what the SMTP server receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class MailServer(Controller):
    """aiosmtpd's server in a thread, on a socket the test binds (to a port the system picks), so no
    other process can take the port between choosing it and serving on it."""

    def __init__(self, handler, sock: socket.socket | None = None):
        self.sock = sock or _bound_socket()
        super().__init__(handler, hostname="127.0.0.1", port=self.sock.getsockname()[1], ready_timeout=60)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.sock)


def _bound_socket() -> socket.socket:
    """Bound, not listening yet: a connection to its port is refused until a server listens on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def mailbox(app):
    box = Mailbox()
    controller = MailServer(box)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_FROM="labs@bureau.example")
    yield box
    controller.stop()


def _mail_job(app, now: dt.datetime | None = None) -> int:
    """The scheduler's job, run as `labs scheduler` runs it: in its own unit of work."""
    with app.app_context(), session_scope(app) as s:
        return send_pending_mail(s, now)


def test_booking_notice_is_mailed_by_the_scheduler_once(world, app, mailbox):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(approval_mode="instant")
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1)),
                          headers=world.token(alice))
    assert r.status_code == 201, r.json
    assert mailbox.messages == []  # the request itself never waits for a mail server
    assert _mail_job(app) == 1
    mail = mailbox.messages[0]
    assert mail["To"] == alice and mail["From"] == "labs@bureau.example"
    assert mail["Subject"].startswith("预约已批准：")
    assert f"预约 #{r.json['id']}" in mail.get_content()  # in the recipient's language
    assert _mail_job(app) == 0 and len(mailbox.messages) == 1  # a second run sends nothing again


def _request(lab: int) -> BookingRequest:
    day = working_wednesdays(1)
    return BookingRequest(lab_id=lab, starts_at=local(day, 9), ends_at=local(day, 11), test_type="life test",
                          sample_description="bearings", batches=1, contact_name="Zhang San",
                          contact_phone="13800000000")


def test_rolled_back_unit_of_work_sends_no_mail(world, app, mailbox):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(approval_mode="instant")
    with app.app_context():
        with pytest.raises(RuntimeError), session_scope(app) as s:
            service.request_booking(s, s.scalar(select(User).where(User.email == alice)), _request(lab))
            raise RuntimeError("something after the booking failed")
        session = app.extensions["labs.sessionmaker"]()  # closed without commit, as a failed request's is
        service.request_booking(session, session.scalar(select(User).where(User.email == alice)), _request(lab))
        session.close()
    assert _mail_job(app) == 0 and mailbox.messages == []
    with app.app_context(), session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 0
        service.request_booking(s, s.scalar(select(User).where(User.email == alice)), _request(lab))
    assert _mail_job(app) == 1 and [m["To"] for m in mailbox.messages] == [alice]


def test_unreachable_mail_server_keeps_the_booking_and_the_notice_is_mailed_when_it_is_back(world, app):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(approval_mode="instant")
    port_of_the_server_to_come = _bound_socket()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port_of_the_server_to_come.getsockname()[1])
    headers = world.token(alice)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1)), headers=headers)
    assert r.status_code == 201, r.json
    assert _mail_job(app) == 0
    assert world.client.get(f"/api/v1/bookings/{r.json['id']}", headers=headers).json["status"] == "approved"
    with app.app_context(), session_scope(app) as s:
        notice = s.scalars(select(Notification)).one()
        assert (notice.mailed_at, notice.mail_attempts) == (None, 1)
    box = Mailbox()
    controller = MailServer(box, port_of_the_server_to_come)  # the same port, now listening
    controller.start()
    try:
        assert _mail_job(app) == 1
    finally:
        controller.stop()
    assert [m["To"] for m in box.messages] == [alice]


def test_notices_past_their_attempts_or_older_than_a_day_are_not_mailed(world, app, mailbox):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(approval_mode="instant")
    for hour in (9, 12):
        r = world.client.post("/api/v1/bookings", json=booking_body(lab, working_wednesdays(1), hour, hour + 1),
                              headers=world.token(alice))
        assert r.status_code == 201, r.json
    with app.app_context(), session_scope(app) as s:
        first, second = s.scalars(select(Notification).order_by(Notification.id)).all()
        first.mail_attempts = MAIL_ATTEMPTS
    assert _mail_job(app, now=utcnow() + dt.timedelta(days=2)) == 0  # both too old by then
    assert _mail_job(app) == 1 and len(mailbox.messages) == 1  # the second; the first gave up


def test_a_new_feed_address_replaces_the_old_one_at_once_and_the_audit_keeps_no_token(world, app):
    manager_id, manager = world.user("lab_manager")
    _, other_manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    _, alice_colleague = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(manager_ids=[manager_id])
    for url, owner, stranger in ((f"/api/v1/labs/{lab}/calendar-feed", manager, other_manager),
                                 ("/api/v1/me/calendar-feed", alice, None)):
        headers = world.token(owner)
        old = world.client.get(url, headers=headers).json["url"]
        assert world.client.get(old.removeprefix("http://localhost")).status_code == 200
        if stranger:
            assert world.client.post(url, headers=world.token(stranger)).status_code == 403
        r = world.client.post(url, headers=headers)
        assert r.status_code == 200
        new = r.json["url"]
        assert new != old and world.client.get(url, headers=headers).json["url"] == new
        assert world.client.get(old.removeprefix("http://localhost")).status_code == 404
        assert world.client.get(new.removeprefix("http://localhost")).status_code == 200
        audit = world.client.get("/api/v1/audit", headers=world.token(world.user("admin")[1])).json
        assert not any(new.rsplit("/", 1)[1].removesuffix(".ics") in str(entry) for entry in audit)
    # The enterprise's address is shared by its members, and another enterprise's is its own.
    mine = world.client.get("/api/v1/me/calendar-feed", headers=world.token(alice)).json["url"]
    assert world.client.get("/api/v1/me/calendar-feed", headers=world.token(alice_colleague)).json["url"] == mine
    assert world.client.get("/api/v1/me/calendar-feed", headers=world.token(bob)).json["url"] != mine
    with app.app_context(), session_scope(app) as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.action.like("%feed_renewed")))]
    assert sorted(actions) == ["enterprise.feed_renewed", "lab.feed_renewed"]
