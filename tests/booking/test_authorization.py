"""Who may do what: every route of the app against every role, on both backends.

`CASES` holds one row per route and method (and per action of the booking-action routes); a route
added to the app without a row here fails `test_every_route_has_a_row`. Each row says how to call
the route (on fresh data when the call changes something) and the status each role gets. The API is
called with bearer tokens and JSON; pages as a browser does, signed in with the session cookie and
posting forms with their CSRF token. `LOGIN` means the page sends the caller to the login page.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import itertools
from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import AnyConverter

from booking import domain, service
from booking.service import BookingRequest
from labs.accounts.models import User
from labs.catalog.models import Instrument, Lab
from labs.db import session_scope
from labs.workdays import day_kind
from tests.booking.support import ServiceClock
from tests.conftest import PASSWORD, booking_body, next_working_day
from tests.labs.test_holiday_schedule import SCHEDULE_2027
from tests.web.conftest import csrf_token, signed_in

ROLES = ("anonymous", "admin", "manager", "other_manager", "technician", "inspector", "owner", "other")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def expect(default: int, **by_role: int) -> dict[str, int]:
    unknown = set(by_role) - set(ROLES)
    assert not unknown, unknown
    return {role: by_role.get(role, default) for role in ROLES}


LOGIN = "login"  # a redirect to the login page
PUBLIC = expect(200)
SIGNED_IN = expect(200, anonymous=401)
ADMIN_ONLY = expect(403, anonymous=401, admin=200)
MANAGES_LAB = expect(403, anonymous=401, admin=200, manager=200)
CREATES_IN_LAB = expect(403, anonymous=401, admin=201, manager=201)
ENTERPRISES = expect(403, anonymous=401, owner=201, other=201)
# Another lab's booking is absent to a manager (404), as another enterprise's is to an enterprise.
DECIDES = expect(403, anonymous=401, admin=200, manager=200, other_manager=404, other=404)
RUNS_LAB = expect(403, anonymous=401, admin=200, manager=200, technician=200, other_manager=404, other=404)
# Pages answer a form that worked with a redirect (303/302), anonymous callers with the login page.
PAGE_SIGNED_IN = expect(200, anonymous=LOGIN)
PAGE_ENTERPRISES = expect(403, anonymous=LOGIN, owner=200, other=200)
PAGE_ADMIN = expect(403, anonymous=LOGIN, admin=200)
PAGE_DECIDES = expect(403, anonymous=LOGIN, admin=302, manager=302, other_manager=404, other=404)
PAGE_MANAGES_LAB = expect(403, anonymous=LOGIN, admin=200, manager=200)
PAGE_CHANGES_LAB = expect(403, anonymous=LOGIN, admin=302, manager=302)
# Spot-check plans are organised by administrators and inspectors.
ORGANISES = expect(403, anonymous=401, admin=201, inspector=201)
ORGANISES_200 = expect(403, anonymous=401, admin=200, inspector=200)
PAGE_ORGANISES = expect(403, anonymous=LOGIN, admin=200, inspector=200)
PAGE_ORGANISES_303 = expect(403, anonymous=LOGIN, admin=303, inspector=303)


class Scene:
    """A lab managed by `manager`, where `technician` works, enterprise A (`owner`) with bookings in
    it, enterprise B (`other`). The booking service's clock reads 09:30 on the last working day: the
    bookings made for 09:00 that day have begun (check-in, no-shows), the others lie ahead."""

    def __init__(self, world, clock: ServiceClock | None = None):
        self.world = world
        self.app = world.app
        self.ids: dict[str, int] = {}
        self.emails: dict[str, str] = {}
        for role, user_role, enterprise in [
                ("admin", "admin", None), ("manager", "lab_manager", None), ("other_manager", "lab_manager", None),
                ("technician", "technician", None), ("inspector", "inspector", None),
                ("owner", "enterprise", 0), ("other", "enterprise", 1)]:
            self.ids[role], self.emails[role] = world.user(user_role, enterprise=enterprise)
        self.headers = {role: world.token(email) for role, email in self.emails.items()}
        self.headers["anonymous"] = {}
        self._page_clients: dict = {}
        # Many bays, so every call that needs a fresh booking gets one in the same slot.
        # Steps of a minute: each booking lasts a minute longer than the one before (see new_booking).
        self.lab = world.lab(manager_ids=[self.ids["manager"]], technician_ids=[self.ids["technician"]], bays=100,
                             slot_step_minutes=1, instruments=[{"code": "CT-1", "name": "industrial CT", "certificate_no": "C1",
                                           "calibration_valid_until": dt.date.today() + dt.timedelta(days=400)}])
        self.full_lab = world.lab(manager_ids=[self.ids["manager"]], bays=1, slot_step_minutes=1)
        self.other_lab = world.lab(manager_ids=[self.ids["other_manager"]])
        self.day = next_working_day()
        self.begun_day = dt.date.today() - dt.timedelta(days=1)
        while not day_kind(self.begun_day).working:
            self.begun_day -= dt.timedelta(days=1)
        if clock is not None:
            clock.now = dt.datetime.combine(self.begun_day, dt.time(9, 30), SHANGHAI)
        self._bookings = itertools.count(1)
        self.booking = self.new_booking()
        self.new_booking(lab=self.full_lab)
        with self.app.app_context(), session_scope(self.app) as s:
            lab = s.get(Lab, self.lab)
            self.instrument = s.scalars(select(Instrument.id).where(Instrument.lab_id == lab.id)).one()
            self.lab_token = lab.calendar_token
            users = {r: s.get(User, i) for r, i in self.ids.items()}
            self.enterprise_token = users["owner"].enterprise.calendar_token
            self.other_enterprise_token = users["other"].enterprise.calendar_token
        self._seq = itertools.count(1)
        self._waits = itertools.count(0)

    def seq(self) -> int:
        return next(self._seq)

    def new_waitlist_entry(self) -> int:
        """Enterprise A's place on the waitlist for a part of the full lab's taken 09:00-10:00."""
        # A distinct slot each time (a second place for the same slot is refused): 09:00, 09:01, ...
        start = dt.datetime.combine(self.day, dt.time(9), SHANGHAI) + dt.timedelta(minutes=next(self._waits))
        assert start.minute < 30, "more waitlist entries than slots inside the taken hour"
        with self.app.app_context(), session_scope(self.app) as s:
            req = BookingRequest(**{**self.request(self.full_lab, start).__dict__,
                                    "ends_at": start + dt.timedelta(minutes=30)})
            return service.join_waitlist(s, s.get(User, self.ids["owner"]), req).id

    def page_client(self, role: str):
        """A browser-like client of `role`, signed in through the login form (anonymous: not)."""
        if role not in self._page_clients:
            self._page_clients[role] = (self.app.test_client() if role == "anonymous"
                                        else signed_in(self.app, self.emails[role]))
        return self._page_clients[role]

    def forget_page_client(self, role: str) -> None:
        self._page_clients.pop(role, None)

    def request(self, lab: int | None = None, start: dt.datetime | None = None, minutes: int = 60,
                **extra) -> BookingRequest:
        start = start or dt.datetime.combine(self.day, dt.time(9), SHANGHAI)
        return BookingRequest(lab_id=lab or self.lab, starts_at=start, ends_at=start + dt.timedelta(minutes=minutes),
                              test_type="CT scan", sample_description="valve body", batches=1,
                              contact_name="Li Si", contact_phone="13900000000", **extra)

    def new_booking(self, state: str = "requested", lab: int | None = None, **extra) -> int:
        """A booking of enterprise A in `state`, moved there through the service. Each lasts a minute
        longer than the one before (from 60), since the same request twice is refused as a duplicate."""
        begun = state in ("begun", "checked_in")
        minutes = 60 + next(self._bookings)
        with self.app.app_context(), session_scope(self.app) as s:
            owner, admin = s.get(User, self.ids["owner"]), s.get(User, self.ids["admin"])
            if begun:  # 09:00 on the last working day, approved the day before: under way now
                start = dt.datetime.combine(self.begun_day, dt.time(9), SHANGHAI)
                booking = service.request_booking(s, owner, self.request(lab, start, minutes, **extra),
                                                  now=start - dt.timedelta(days=1))
            else:
                booking = service.request_booking(s, owner, self.request(lab, minutes=minutes, **extra))
            path = {"requested": [], "approved": ["approve"], "begun": ["approve"],
                    "checked_in": ["approve", "check_in"]}[state]
            for action in path:
                service.transition(s, admin, booking.id, action)
            return booking.id


@dataclass(frozen=True)
class Case:
    call: Callable[[Scene, str], tuple[str, dict | None]]  # -> (url, json body)
    expected: dict[str, int]


def _action(state: str, action: str, **extra) -> Callable:
    return lambda sc, role: (f"/api/v1/bookings/{sc.new_booking(state, **extra)}/{action}", {"note": "by test"})


def _body(sc: Scene, lab: int | None = None, hour: int = 9) -> dict:
    return booking_body(lab or sc.lab, sc.day, hour, hour + 1)


def _page_action(state: str, action: str, **extra) -> Callable:
    return lambda sc, role: (f"/bookings/{sc.new_booking(state, **extra)}/{action}", {"note": "by test"})


def _series(sc: Scene, approved: bool = False) -> str:
    """A fresh weekly series of enterprise A (two weeks, each lasting longer than the series before)."""
    minutes = 60 + next(sc._bookings)
    start = dt.datetime.combine(sc.day, dt.time(8), SHANGHAI)  # the lab's opening: the day holds the longest
    with sc.app.app_context(), session_scope(sc.app) as s:
        owner, admin = s.get(User, sc.ids["owner"]), s.get(User, sc.ids["admin"])
        report = service.request_series(s, owner, sc.request(start=start, minutes=minutes), 2, "skip_conflicts")
        if approved:
            service.transition_series(s, admin, report["series_id"], "approve")
        return report["series_id"]


PDF = b"%PDF-1.4\n%%EOF\n"


def _awaiting_documents(sc: Scene, uploaded: bool = False) -> tuple[int, int | None]:
    """A fresh booking of enterprise A accepted with documents missing, with one uploaded if asked."""
    booking = sc.new_booking(missing_documents="test report", commitment_signed=True)
    if not uploaded:
        return booking, None
    with sc.app.app_context(), session_scope(sc.app) as s:
        return booking, service.upload_document(s, s.get(User, sc.ids["owner"]), booking, "report.pdf", PDF).id


def _uploaded(sc: Scene) -> tuple[int, int]:
    """One booking with a document, made once for the rows that read it."""
    cache = sc.__dict__.setdefault("_uploaded", [])
    if not cache:
        cache.append(_awaiting_documents(sc, uploaded=True))
    return cache[0]


def _upload(sc: Scene) -> dict:
    return {"file": (io.BytesIO(PDF), "report.pdf")}


def _booking_form(sc: Scene) -> dict:
    return {"lab_id": str(sc.lab), "date": sc.day.isoformat(), "start": "10:00", "end": "11:00",
            "test_type": "CT scan", "sample_description": "valve body", "batches": "1",
            "contact_name": "Li Si", "contact_phone": "13900000000"}


def _lab_form(sc: Scene) -> dict:
    return {"code": f"PAGE{sc.seq()}", "name": "LED lab", "discipline": "LED", "timezone": "Asia/Shanghai",
            "bays": "1", "approval_mode": "manager", "opens": "08:30", "closes": "17:30", "weekdays": ["0", "1"]}


def _spare_user(sc: Scene) -> int:
    """A user to deactivate, reactivate or reset (no password anyone knows: made without hashing)."""
    with sc.app.app_context(), session_scope(sc.app) as s:
        user = User(email=f"spare{sc.seq()}@example.com", name="spare", password_hash="-", role="technician")
        s.add(user)
        s.flush()
        return user.id


def _spare_token(sc: Scene, role: str) -> int:
    """The id of another token of `role`'s user (the owner's for the anonymous caller), to revoke."""
    from labs.accounts.models import ApiToken
    from labs.accounts.service import issue_token
    with sc.app.app_context(), session_scope(sc.app) as s:
        issue_token(s, s.get(User, sc.ids.get(role, sc.ids["owner"])))
        s.flush()
        return s.scalars(select(ApiToken.id).order_by(ApiToken.id.desc())).first()


# --- verification: an instrument of enterprise A, a rig in the lab, runs and a certificate ---------------

OWNER_CODE = "91110000600037341L"  # enterprise A's (tests.conftest.CODES[0]): `owner` owns the instruments


def _verification_cached(sc: Scene, name: str, make: Callable) -> int | str:
    cache = sc.__dict__.setdefault("_verification", {})
    if name not in cache:
        cache[name] = make()
    return cache[name]


def _vi(sc: Scene) -> int:
    """Enterprise A's fuel dispenser under verification."""
    from labs.accounts.service import SYSTEM
    from labs.verification import service as verification
    from tests.verification.conftest import DISPENSER

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            verification.sync_procedures(s)
            return verification.register_instrument(s, SYSTEM, {
                "kind": "fuel_dispenser", "serial_number": "AUTH-DISP-1", "owner_credit_code": OWNER_CODE,
                "nameplate": DISPENSER}).id
    return _verification_cached(sc, "instrument", make)


def _rig(sc: Scene) -> int:
    """A dispenser rig of the scene's lab (no rig behind its link: runs stay queued)."""
    from labs.accounts.service import SYSTEM
    from labs.verification import service as verification

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            return verification.register_rig(s, SYSTEM, {
                "code": "AUTH-FDR-1", "kind": "fdr", "link": "modbus+tcp://127.0.0.1:1?unit=1",
                "serial_number": "FDR-SIM-0001", "lab_id": sc.lab, "standard_certificate_no": "JZ-1",
                "standard_valid_until": dt.date.today() + dt.timedelta(days=365)}).id
    return _verification_cached(sc, "rig", make)


def _new_run(sc: Scene, state: str = "queued") -> int:
    from labs.accounts.service import SYSTEM
    from labs.verification import service as verification
    from labs.verification.models import Verification
    instrument, rig = _vi(sc), _rig(sc)
    with sc.app.app_context(), session_scope(sc.app) as s:
        run = verification.request_verification(s, SYSTEM, instrument, rig, nozzle=1)
        s.flush()
        s.get(Verification, run.id).state = state
        return run.id


def _run(sc: Scene) -> int:
    return _verification_cached(sc, "run", lambda: _new_run(sc))


def _certificate(sc: Scene) -> str:
    """A notice of failure: a run concluded with no readings (every point incomplete)."""
    from labs.verification import domain, service as verification
    from labs.verification.models import Verification

    def make():
        run_id = _new_run(sc)
        with sc.app.app_context(), session_scope(sc.app) as s:
            run = s.get(Verification, run_id)
            evaluation = domain.evaluate(run.procedure.data, run.instrument.nameplate,
                                         verification.plan_points(run), {})
            return verification.conclude(s, run, evaluation).number
    return _verification_cached(sc, "certificate", make)


def _procedure_id(sc: Scene) -> int:
    from labs.verification.models import Procedure
    _vi(sc)
    with sc.app.app_context(), session_scope(sc.app) as s:
        return s.scalars(select(Procedure.id).order_by(Procedure.id)).first()


def _procedure_document(sc: Scene) -> dict:
    from labs.verification import procedures
    doc = next(d for d in procedures.shipped() if d["code"] == "JJG 443" and d["in_force"])
    return {**doc, "version": f"2023-r{sc.seq()}"}


def _instrument_body(sc: Scene) -> dict:
    return {"kind": "taxi_meter", "serial_number": f"AUTH-T-{sc.seq()}", "owner_credit_code": OWNER_CODE,
            "nameplate": {"k_imp_per_km": 1000, "tariff": "13 元 3 km"}}


def _instrument_form(sc: Scene) -> dict:
    return {"kind": "taxi_meter", "serial_number": f"AUTH-PT-{sc.seq()}", "owner_credit_code": OWNER_CODE,
            "np_k_imp_per_km": "1000", "np_tariff": "13 元 3 km"}


def _rig_body(sc: Scene) -> dict:
    return {"code": f"AUTH-R{sc.seq()}", "kind": "fdr", "link": "modbus+tcp://192.0.2.1:502?unit=1",
            "serial_number": "FDR-9", "lab_id": sc.lab, "standard_certificate_no": "JZ-2",
            "standard_valid_until": "2030-01-01"}


def _run_form(sc: Scene) -> dict:
    return {"instrument_id": str(_vi(sc)), "rig_id": str(_rig(sc)), "nozzle": "1"}


def _field_device(sc: Scene) -> str:
    """The technician's laptop, registered for field sync (see labs.field)."""
    from labs.field import service as field

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            return field.register_device(s, s.get(User, sc.ids["technician"]),
                                         "6f1c2a47-3b8e-4d1a-9c55-0e7b2d4f8a10", "laptop")["key"]
    return _verification_cached(sc, "field_device", make)


# --- verification as a service: requests of enterprise A, the taxi queue ------------------------------------

def _svc_instrument(sc: Scene) -> int:
    """A fresh taxi meter of enterprise A (an instrument is in one open request at a time)."""
    from labs.accounts.service import SYSTEM
    from labs.verification import service as verification
    with sc.app.app_context(), session_scope(sc.app) as s:
        verification.sync_procedures(s)
        return verification.register_instrument(s, SYSTEM, {**_instrument_body(sc), "nameplate": {
            "k_imp_per_km": 1000, "tariff": "13 元 3 km"}}).id


def _svc_request(sc: Scene, fresh: bool = True, then: tuple[str, ...] = (), **extra) -> int:
    """Enterprise A's request for a taxi meter at once, taken through the acts in `then`."""
    from labs.services import service as services
    if not fresh and "svc_request" in sc.__dict__.get("_verification", {}):
        return sc._verification["svc_request"]
    instrument = _svc_instrument(sc)
    with sc.app.app_context(), session_scope(sc.app) as s:
        owner, manager = s.get(User, sc.ids["owner"]), s.get(User, sc.ids["manager"])
        request = services.submit_request(s, owner, {"mode": "taxi_at_once", "instrument_ids": [instrument],
                                                     "contact_name": "王师傅", "contact_phone": "13900000001", **extra})
        for act in then:
            if act == "accept":
                services.accept_request(s, manager, request.id)
            elif act == "pause":
                services.pause_clock(s, manager, request.id, "enterprise_unavailable")
        if not fresh:
            sc.__dict__.setdefault("_verification", {})["svc_request"] = request.id
        return request.id


def _tmr_rig(sc: Scene) -> int:
    """A taxi-meter rig with no rig behind its link: runs stay queued."""
    from labs.accounts.service import SYSTEM
    from labs.verification import service as verification

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            return verification.register_rig(s, SYSTEM, {
                "code": "AUTH-TMR-1", "kind": "tmr", "link": "serial:///dev/ttyS99?baud=9600",
                "serial_number": "TMR-SIM-0001", "lab_id": sc.lab, "standard_certificate_no": "JZ-3",
                "standard_valid_until": dt.date.today() + dt.timedelta(days=365)}).id
    return _verification_cached(sc, "tmr_rig", make)


def _svc_run_body(sc: Scene) -> dict:
    request_id = _svc_request(sc, then=("accept",))
    from labs.services.models import RequestInstrument
    with sc.app.app_context(), session_scope(sc.app) as s:
        instrument = s.scalars(select(RequestInstrument.instrument_id).where(
            RequestInstrument.request_id == request_id)).one()
    return request_id, {"instrument_id": instrument, "rig_id": _tmr_rig(sc)}


def _ticket(sc: Scene, called: bool = False) -> tuple[int, str]:
    """A driver's ticket for a registered taxi meter (called to the rig when `called`): id, token."""
    from labs.services import service as services
    from labs.verification.models import VerifiedInstrument
    serial = None
    with sc.app.app_context(), session_scope(sc.app) as s:
        serial = s.get(VerifiedInstrument, _svc_instrument(sc)).serial_number
        ticket = services.take_ticket(s, "key", "京B12345", serial, f"192.0.2.{sc.seq() % 250}")
        if called:
            ticket.state = "called"
        return ticket.id, ticket.token


def _svc_request_form(sc: Scene) -> dict:
    return {"mode": "taxi_at_once", "instrument_ids": str(_svc_instrument(sc)), "contact_name": "王师傅",
            "contact_phone": "13900000001"}


CLERKS = expect(403, anonymous=401, admin=200, manager=200, other_manager=200, technician=200)
DECIDES_REQUESTS = expect(403, anonymous=401, admin=200, manager=200, other_manager=200)
PAGE_CLERKS_303 = expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303, technician=303)
PAGE_DECIDES_REQUESTS = expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303)


# Field sync is a technician's, for their own laptop.
TECHNICIAN = expect(403, anonymous=401, technician=200)
OPERATES = expect(403, anonymous=401, admin=200, manager=200, other_manager=200, technician=200)
OPERATES_CREATES = expect(403, anonymous=401, admin=201, manager=201, other_manager=201, technician=201)
STAFF_SEE = expect(200, anonymous=401, owner=403, other=403)
OWNER_SEES = expect(200, anonymous=401, other=404)
PAGE_OPERATORS = expect(403, anonymous=LOGIN, admin=200, manager=200, other_manager=200, technician=200)
PAGE_OPERATES = expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303, technician=303)
PAGE_RIG_MANAGERS = expect(403, anonymous=LOGIN, admin=200, manager=200, other_manager=200)


RUNS_LAB_PAGE = expect(403, anonymous=LOGIN, admin=302, manager=302, technician=302, other_manager=404, other=404)


def _staff_action(state: str, action: str) -> Callable:
    return lambda sc, role: (f"/staff/bookings/{sc.new_booking(state)}/{action}", {})


def _new_closure(sc: Scene) -> int:
    from labs.accounts.service import SYSTEM
    from labs.catalog.service import add_closure
    start = dt.datetime(2030, 1, 7, 8, tzinfo=SHANGHAI) + dt.timedelta(days=sc.seq())
    with sc.app.app_context(), session_scope(sc.app) as s:
        return add_closure(s, SYSTEM, sc.lab, start, start + dt.timedelta(hours=4), "maintenance").id


def _new_instrument(sc: Scene) -> int:
    from labs.accounts.service import SYSTEM
    from labs.catalog.service import add_instrument
    with sc.app.app_context(), session_scope(sc.app) as s:
        return add_instrument(s, SYSTEM, sc.lab, {"code": f"R{sc.seq()}", "name": "gauge",
                                                  "calibration_valid_until": dt.date(2030, 1, 1)}).id


def _stored_holidays(sc: Scene) -> int:
    """A year's holiday schedule, stored for the call to remove (labs.calendar)."""
    from labs.accounts.service import SYSTEM
    from labs.calendar.service import import_schedule
    with sc.app.app_context(), session_scope(sc.app) as s:
        return import_schedule(s, SYSTEM, SCHEDULE_2027).year


# --- work orders on site: enterprise A's dispenser, the scene's technician --------------------------------

PLANS = expect(403, anonymous=401, admin=200, manager=200, other_manager=200)
PLANS_CREATES = expect(403, anonymous=401, admin=201, manager=201, other_manager=201)
SEES_WORK_ORDERS = expect(403, anonymous=401, admin=200, manager=200, other_manager=200, technician=200)
PAGE_PLANS = expect(403, anonymous=LOGIN, admin=200, manager=200, other_manager=200)
PAGE_PLANS_303 = expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303)
PAGE_WORKS_303 = expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303, technician=303)


def _work_order(sc: Scene, technician: bool = True, state: str = "planned") -> int:
    """A work order for enterprise A's dispenser on the scene's day, in a five-minute slot of its
    own, so the scene's technician (on it when `technician`) is never elsewhere at that time."""
    from labs.accounts.service import SYSTEM
    from labs.dispatch import service as dispatch
    n = next(sc.__dict__.setdefault("_work_orders", itertools.count()))
    starts = dt.datetime.combine(sc.day, dt.time(6)) + dt.timedelta(minutes=5 * n)
    with sc.app.app_context(), session_scope(sc.app) as s:
        order = dispatch.plan_work_order(s, SYSTEM, {
            "instrument_ids": [_vi(sc)], "site": "某市某路 1 号", "day": sc.day, "starts": starts.time(),
            "ends": (starts + dt.timedelta(minutes=5)).time(),
            "technician_ids": [sc.ids["technician"]] if technician else []})
        if state == "in_progress":
            dispatch.transition(s, SYSTEM, order.id, "start")
        return order.id


def _assignment(sc: Scene, page: bool = False) -> tuple[str, dict | None]:
    """The address that takes the scene's technician off a fresh work order (API or page)."""
    from labs.dispatch.models import Assignment
    order = _work_order(sc)
    with sc.app.app_context(), session_scope(sc.app) as s:
        row = s.scalar(select(Assignment.id).where(Assignment.work_order_id == order))
    if page:
        return f"/dispatch/work-orders/{order}/assignments/{row}/remove", {}
    return f"/api/v1/work-orders/{order}/assignments/{row}", None


def _saturday(sc: Scene, declared: bool = False) -> str:
    """A weekend day off after the last one used (declared staffed when `declared`)."""
    from labs.accounts.service import SYSTEM
    from labs.dispatch import service as dispatch
    from tests.dispatch.conftest import weekday_ahead
    day = sc.__dict__["_saturday"] = weekday_ahead(5, sc.__dict__.get("_saturday"))
    if declared:
        with sc.app.app_context(), session_scope(sc.app) as s:
            dispatch.declare_staffed_day(s, SYSTEM, day)
    return day.isoformat()


def _work_order_body(sc: Scene) -> dict:
    return {"instrument_ids": [_vi(sc)], "site": "某市某路 1 号", "day": sc.day.isoformat(), "starts": "09:00",
            "ends": "10:00"}


# (endpoint, method, action or None) -> Case
CASES: dict[tuple[str, str, str | None], Case] = {
    ("static", "GET", None): Case(lambda sc, r: ("/static/no-such-file.css", None), expect(404)),
    ("swagger_ui_files", "GET", None): Case(lambda sc, r: ("/static/swagger-ui/swagger-ui.css", None), PUBLIC),
    # Pages.
    ("bookings.catalog", "GET", None): Case(lambda sc, r: ("/", None), PUBLIC),
    ("bookings.lab", "GET", None): Case(lambda sc, r: (f"/labs/{sc.lab}", None), PUBLIC),
    ("web.login", "GET", None): Case(lambda sc, r: ("/login", None), PUBLIC),
    ("web.login", "POST", None): Case(
        lambda sc, r: ("/login", {"email": sc.emails.get(r, "nobody@example.com"),
                                  "password": PASSWORD if r != "anonymous" else "wrong password"}),
        expect(302, anonymous=401)),
    ("web.logout", "POST", None): Case(lambda sc, r: ("/logout", {}), expect(302)),
    ("web.set_language", "POST", None): Case(lambda sc, r: ("/language", {"lang": "en", "next": "/"}), expect(302)),
    ("web.notifications", "GET", None): Case(lambda sc, r: ("/notifications", None), PAGE_SIGNED_IN),
    ("web.read_notifications", "POST", None): Case(lambda sc, r: ("/notifications/read", {}),
                                                   expect(302, anonymous=LOGIN)),
    ("bookings.new_booking", "GET", None): Case(lambda sc, r: ("/bookings/new", None), PAGE_ENTERPRISES),
    ("bookings.new_booking", "POST", None): Case(
        lambda sc, r: ("/bookings/new", _booking_form(sc)), expect(403, anonymous=LOGIN, owner=302, other=302)),
    ("bookings.mine", "GET", None): Case(lambda sc, r: ("/bookings", None), PAGE_ENTERPRISES),
    ("bookings.act", "POST", "approve"): Case(_page_action("requested", "approve"), PAGE_DECIDES),
    ("bookings.act", "POST", "reject"): Case(_page_action("requested", "reject"), PAGE_DECIDES),
    ("bookings.act", "POST", "cancel"): Case(
        _page_action("approved", "cancel"),
        expect(403, anonymous=LOGIN, admin=302, manager=302, owner=302, other_manager=404, other=404)),
    ("bookings.booking", "GET", None): Case(
        lambda sc, r: (f"/bookings/{sc.booking}", None),
        expect(403, anonymous=LOGIN, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("bookings.confirm_cancel", "GET", None): Case(
        lambda sc, r: (f"/bookings/{sc.booking}/cancel", None),
        expect(403, anonymous=LOGIN, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("bookings.upload_document", "POST", None): Case(
        lambda sc, r: (f"/bookings/{_awaiting_documents(sc)[0]}/documents", _upload(sc)),
        expect(403, anonymous=LOGIN, owner=302, other=404)),
    ("bookings.document", "GET", None): Case(
        lambda sc, r: ("/bookings/{}/documents/{}".format(*_uploaded(sc)), None),
        expect(403, anonymous=LOGIN, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("bookings.documents_received", "POST", None): Case(
        lambda sc, r: (f"/bookings/{_awaiting_documents(sc)[0]}/documents/received", {}),
        expect(403, anonymous=LOGIN, admin=302, manager=302, other_manager=404)),
    ("bookings.act_on_series", "POST", "approve"): Case(
        lambda sc, r: (f"/series/{_series(sc)}/approve", {}), expect(403, anonymous=LOGIN, admin=302, manager=302,
                                                                    other_manager=404, other=404)),
    ("bookings.act_on_series", "POST", "reject"): Case(
        lambda sc, r: (f"/series/{_series(sc)}/reject", {"note": "by test"}),
        expect(403, anonymous=LOGIN, admin=302, manager=302, other_manager=404, other=404)),
    ("bookings.act_on_series", "POST", "cancel"): Case(
        lambda sc, r: (f"/series/{_series(sc, approved=True)}/cancel", {}),
        expect(403, anonymous=LOGIN, admin=302, manager=302, owner=302, other_manager=404, other=404)),
    ("bookings.leave_waitlist", "POST", None): Case(
        lambda sc, r: (f"/waitlist/{sc.new_waitlist_entry()}/leave", {}), expect(403, anonymous=LOGIN, owner=302, other=404)),
    ("bookings.approvals", "GET", None): Case(
        lambda sc, r: ("/approvals", None), expect(403, anonymous=LOGIN, admin=200, manager=200, other_manager=200)),
    ("bookings.lab_calendar", "GET", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/calendar", None), expect(403, anonymous=LOGIN, admin=200, manager=200)),
    ("bookings.manage_lab", "GET", None): Case(lambda sc, r: (f"/labs/{sc.lab}/manage", None), PAGE_MANAGES_LAB),
    ("bookings.save_settings", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/settings", {"name": "Bearing lab"}), PAGE_CHANGES_LAB),
    ("bookings.save_technicians", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/technicians", {"technician_ids": [str(sc.ids["technician"])]}),
        PAGE_CHANGES_LAB),
    ("bookings.add_instrument", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/instruments",
                       {"code": f"P{sc.seq()}", "name": "gauge", "calibration_valid_until": "2031-01-01"}),
        PAGE_CHANGES_LAB),
    ("bookings.recalibrate", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/instruments/{sc.instrument}", {"calibration_valid_until": "2031-01-01"}),
        PAGE_CHANGES_LAB),
    ("bookings.add_closure", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/closures",
                       {"starts_at_date": "2030-01-07", "starts_at_time": "08:00", "ends_at_date": "2030-01-07",
                        "ends_at_time": "12:00", "reason": "maintenance"}), PAGE_CHANGES_LAB),
    ("bookings.save_managers", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/managers", {"manager_ids": [str(sc.ids["manager"])]}),
        expect(403, anonymous=LOGIN, admin=302)),
    ("bookings.retire_instrument", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/instruments/{_new_instrument(sc)}/retire", {}), PAGE_CHANGES_LAB),
    ("bookings.remove_closure", "POST", None): Case(
        lambda sc, r: (f"/labs/{sc.lab}/manage/closures/{_new_closure(sc)}/remove", {}), PAGE_CHANGES_LAB),
    ("admin.labs", "GET", None): Case(lambda sc, r: ("/admin/labs", None), PAGE_ADMIN),
    ("admin.labs", "POST", None): Case(lambda sc, r: ("/admin/labs", _lab_form(sc)),
                                       expect(403, anonymous=LOGIN, admin=302)),
    ("admin.users", "GET", None): Case(lambda sc, r: ("/admin/users", None), PAGE_ADMIN),
    ("admin.users", "POST", None): Case(
        lambda sc, r: ("/admin/users", {"email": f"page{sc.seq()}@example.com", "password": PASSWORD,
                                        "name": "New technician", "role": "technician"}),
        expect(403, anonymous=LOGIN, admin=302)),
    ("api-docs.openapi_json", "GET", None): Case(lambda sc, r: ("/api/openapi.json", None), PUBLIC),
    ("api-docs.openapi_swagger_ui", "GET", None): Case(lambda sc, r: ("/api/docs", None), PUBLIC),
    ("feeds.lab_feed", "GET", None): Case(lambda sc, r: (f"/calendar/labs/{sc.lab_token}.ics", None), PUBLIC),
    ("feeds.enterprise_feed", "GET", None): Case(
        lambda sc, r: (f"/calendar/enterprises/{sc.enterprise_token}.ics", None), PUBLIC),
    # Accounts. The anonymous caller sends a wrong password; every other role its own.
    ("accounts.issue_token", "POST", None): Case(
        lambda sc, r: ("/api/v1/auth/token", {"email": sc.emails.get(r, "nobody@example.com"),
                                              "password": PASSWORD if r != "anonymous" else "wrong password"}),
        expect(200, anonymous=401)),
    ("accounts.me", "GET", None): Case(lambda sc, r: ("/api/v1/me", None), SIGNED_IN),
    ("accounts.create_user", "POST", None): Case(
        lambda sc, r: ("/api/v1/users", {"email": f"new{sc.seq()}@example.com", "password": PASSWORD,
                                         "role": "technician"}), expect(403, anonymous=401, admin=201)),
    ("accounts.list_users", "GET", None): Case(lambda sc, r: ("/api/v1/users", None), ADMIN_ONLY),
    ("accounts.notifications", "GET", None): Case(lambda sc, r: ("/api/v1/notifications", None), SIGNED_IN),
    ("accounts.audit_log", "GET", None): Case(lambda sc, r: ("/api/v1/audit", None), ADMIN_ONLY),
    ("accounts.revoke_token", "DELETE", None): Case(lambda sc, r: ("/api/v1/auth/token", None),
                                                    expect(204, anonymous=401)),
    ("accounts.list_tokens", "GET", None): Case(lambda sc, r: ("/api/v1/auth/tokens", None), SIGNED_IN),
    ("accounts.revoke_token_by_id", "DELETE", None): Case(
        lambda sc, r: (f"/api/v1/auth/tokens/{_spare_token(sc, r)}", None), expect(204, anonymous=401)),
    # A wrong current password: every signed-in role may try, and is refused with 422.
    ("accounts.change_password", "POST", None): Case(
        lambda sc, r: ("/api/v1/me/password", {"current_password": "not it", "new_password": "a new passphrase"}),
        expect(422, anonymous=401)),
    ("accounts.deactivate_user", "POST", None): Case(
        lambda sc, r: (f"/api/v1/users/{_spare_user(sc)}/deactivate", None), ADMIN_ONLY),
    ("accounts.reactivate_user", "POST", None): Case(
        lambda sc, r: (f"/api/v1/users/{_spare_user(sc)}/reactivate", None), ADMIN_ONLY),
    ("accounts.reset_password", "POST", None): Case(
        lambda sc, r: (f"/api/v1/users/{_spare_user(sc)}/password-reset", None), ADMIN_ONLY),
    ("web.change_password", "GET", None): Case(lambda sc, r: ("/account/password", None), PAGE_SIGNED_IN),
    ("web.change_password", "POST", None): Case(
        lambda sc, r: ("/account/password", {"current_password": "not it", "new_password": "a new passphrase",
                                             "confirm_password": "a new passphrase"}),
        expect(422, anonymous=LOGIN)),
    ("admin.deactivate", "POST", None): Case(
        lambda sc, r: (f"/admin/users/{_spare_user(sc)}/deactivate", {}), expect(403, anonymous=LOGIN, admin=302)),
    ("admin.reactivate", "POST", None): Case(
        lambda sc, r: (f"/admin/users/{_spare_user(sc)}/reactivate", {}), expect(403, anonymous=LOGIN, admin=302)),
    ("admin.password_reset", "POST", None): Case(
        lambda sc, r: (f"/admin/users/{_spare_user(sc)}/password-reset", {}), PAGE_ADMIN),
    ("admin.holidays", "GET", None): Case(lambda sc, r: ("/admin/holidays", None), PAGE_ADMIN),
    ("admin.holidays", "POST", None): Case(
        lambda sc, r: ("/admin/holidays", {"schedule": SCHEDULE_2027}), expect(403, anonymous=LOGIN, admin=302)),
    ("admin.remove_holidays", "POST", None): Case(
        lambda sc, r: (f"/admin/holidays/{_stored_holidays(sc)}/remove", {}), expect(403, anonymous=LOGIN, admin=302)),
    # The staff's daily pages: the lab's managers and technicians (another lab's see their own labs).
    ("staff.day", "GET", None): Case(lambda sc, r: ("/staff/day", None), PAGE_OPERATORS),
    ("staff.week", "GET", None): Case(lambda sc, r: ("/staff/week", None), PAGE_OPERATORS),
    ("staff.act", "POST", "check_in"): Case(_staff_action("begun", "check_in"), RUNS_LAB_PAGE),
    ("staff.act", "POST", "complete"): Case(_staff_action("checked_in", "complete"), RUNS_LAB_PAGE),
    ("staff.act", "POST", "no_show"): Case(_staff_action("begun", "no_show"), RUNS_LAB_PAGE),
    # Catalog.
    ("catalog.list_labs", "GET", None): Case(lambda sc, r: ("/api/v1/labs", None), PUBLIC),
    ("catalog.get_lab", "GET", None): Case(lambda sc, r: (f"/api/v1/labs/{sc.lab}", None), PUBLIC),
    ("catalog.create_lab", "POST", None): Case(
        lambda sc, r: ("/api/v1/labs", {"code": f"NEW{sc.seq()}", "name": "EMC lab", "discipline": "EMC"}),
        expect(403, anonymous=401, admin=201)),
    ("catalog.update_lab", "PATCH", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}", {"location": "Building 2"}), MANAGES_LAB),
    ("catalog.add_closure", "POST", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/closures",
                       {"starts_at": "2030-01-07T08:00:00+08:00", "ends_at": "2030-01-07T12:00:00+08:00",
                        "reason": "maintenance"}), CREATES_IN_LAB),
    ("catalog.add_instrument", "POST", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/instruments",
                       {"code": f"I{sc.seq()}", "name": "torque meter", "calibration_valid_until": "2030-01-01"}),
        CREATES_IN_LAB),
    ("catalog.update_instrument", "PATCH", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/instruments/{sc.instrument}", {"certificate_no": "C2"}), MANAGES_LAB),
    ("catalog.remove_closure", "DELETE", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/closures/{_new_closure(sc)}", None),
        expect(403, anonymous=401, admin=204, manager=204)),
    ("catalog.retire_instrument", "POST", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/instruments/{_new_instrument(sc)}/retire", None), MANAGES_LAB),
    # Availability and statistics.
    ("booking.lab_availability", "GET", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/availability?from={sc.day}&to={sc.day}", None), PUBLIC),
    ("booking.week", "GET", None): Case(
        lambda sc, r: (f"/api/v1/week?monday={sc.day - dt.timedelta(days=sc.day.weekday())}", None), PUBLIC),
    ("booking.usage", "GET", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/usage?month={sc.day:%Y-%m}", None), MANAGES_LAB),
    # Bookings.
    ("booking.request_booking", "POST", None): Case(lambda sc, r: ("/api/v1/bookings", _body(sc)), ENTERPRISES),
    ("booking.list_bookings", "GET", None): Case(lambda sc, r: ("/api/v1/bookings", None),
                                                 expect(200, anonymous=401, inspector=403)),
    ("booking.get_booking", "GET", None): Case(
        lambda sc, r: (f"/api/v1/bookings/{sc.booking}", None),
        expect(403, anonymous=401, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("booking.act_on_booking", "POST", "approve"): Case(_action("requested", "approve"), DECIDES),
    ("booking.act_on_booking", "POST", "reject"): Case(_action("requested", "reject"), DECIDES),
    ("booking.act_on_booking", "POST", "cancel"): Case(
        _action("approved", "cancel"),
        expect(403, anonymous=401, admin=200, manager=200, owner=200, other_manager=404, other=404)),
    ("booking.act_on_booking", "POST", "check_in"): Case(_action("begun", "check_in"), RUNS_LAB),
    ("booking.act_on_booking", "POST", "complete"): Case(_action("checked_in", "complete"), RUNS_LAB),
    ("booking.act_on_booking", "POST", "no_show"): Case(_action("begun", "no_show"), RUNS_LAB),
    ("booking.upload_document", "POST", None): Case(
        lambda sc, r: (f"/api/v1/bookings/{_awaiting_documents(sc)[0]}/documents", _upload(sc)),
        expect(403, anonymous=401, owner=201, other=404)),
    ("booking.list_documents", "GET", None): Case(
        lambda sc, r: (f"/api/v1/bookings/{_uploaded(sc)[0]}/documents", None),
        expect(403, anonymous=401, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("booking.download_document", "GET", None): Case(
        lambda sc, r: ("/api/v1/bookings/{}/documents/{}".format(*_uploaded(sc)), None),
        expect(403, anonymous=401, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("booking.confirm_documents", "POST", None): Case(
        lambda sc, r: (f"/api/v1/bookings/{_awaiting_documents(sc)[0]}/documents/received", {}),
        expect(403, anonymous=401, admin=200, manager=200, other_manager=404)),
    ("booking.get_series", "GET", None): Case(
        lambda sc, r: (f"/api/v1/booking-series/{_series(sc)}", None),
        expect(403, anonymous=401, admin=200, manager=200, technician=200, owner=200, other_manager=404, other=404)),
    ("booking.act_on_series", "POST", "approve"): Case(
        lambda sc, r: (f"/api/v1/booking-series/{_series(sc)}/approve", {}), DECIDES),
    ("booking.act_on_series", "POST", "reject"): Case(
        lambda sc, r: (f"/api/v1/booking-series/{_series(sc)}/reject", {"note": "by test"}), DECIDES),
    ("booking.act_on_series", "POST", "cancel"): Case(
        lambda sc, r: (f"/api/v1/booking-series/{_series(sc, approved=True)}/cancel", {}),
        expect(403, anonymous=401, admin=200, manager=200, owner=200, other_manager=404, other=404)),
    ("booking.fee_quote", "GET", None): Case(
        lambda sc, r: (f"/api/v1/labs/{sc.lab}/fee?starts_at=2030-01-07T09:00:00%2B08:00"
                       "&ends_at=2030-01-07T10:00:00%2B08:00", None), PUBLIC),
    ("booking.request_series", "POST", None): Case(
        lambda sc, r: ("/api/v1/booking-series", {**_body(sc, hour=14), "weeks": 2, "policy": "skip_conflicts"}),
        ENTERPRISES),
    ("booking.join_waitlist", "POST", None): Case(
        lambda sc, r: ("/api/v1/waitlist", _body(sc, lab=sc.full_lab)), ENTERPRISES),
    ("booking.waitlist", "GET", None): Case(lambda sc, r: ("/api/v1/waitlist", None),
                                            expect(403, anonymous=401, owner=200, other=200)),
    ("booking.leave_waitlist", "DELETE", None): Case(
        lambda sc, r: (f"/api/v1/waitlist/{sc.new_waitlist_entry()}", None),
        expect(403, anonymous=401, owner=200, other=404)),
    # Renewing a feed's address last: the rows above use the addresses the scene started with.
    ("booking.lab_calendar_feed", "GET", None): Case(lambda sc, r: (f"/api/v1/labs/{sc.lab}/calendar-feed", None),
                                                     MANAGES_LAB),
    ("booking.lab_calendar_feed", "POST", None): Case(lambda sc, r: (f"/api/v1/labs/{sc.lab}/calendar-feed", None),
                                                      MANAGES_LAB),
    ("booking.enterprise_calendar_feed", "GET", None): Case(lambda sc, r: ("/api/v1/me/calendar-feed", None),
                                                            expect(403, anonymous=401, owner=200, other=200)),
    ("booking.enterprise_calendar_feed", "POST", None): Case(lambda sc, r: ("/api/v1/me/calendar-feed", None),
                                                             expect(403, anonymous=401, owner=200, other=200)),
    ("bookings.renew_lab_feed", "POST", None): Case(lambda sc, r: (f"/labs/{sc.lab}/calendar/feed", {}),
                                                    PAGE_CHANGES_LAB),
    ("bookings.renew_enterprise_feed", "POST", None): Case(lambda sc, r: ("/bookings/feed", {}),
                                                           expect(403, anonymous=LOGIN, owner=302, other=302)),
    ("booking.approval_queue", "GET", None): Case(
        lambda sc, r: ("/api/v1/approvals", None),
        expect(403, anonymous=401, admin=200, manager=200, other_manager=200)),
    # Work orders on site.
    ("dispatch.list_work_orders", "GET", None): Case(
        lambda sc, r: (f"/api/v1/work-orders?from={sc.day}&to={sc.day}", None), SEES_WORK_ORDERS),
    ("dispatch.plan_work_order", "POST", None): Case(lambda sc, r: ("/api/v1/work-orders", _work_order_body(sc)),
                                                     PLANS_CREATES),
    ("dispatch.get_work_order", "GET", None): Case(
        lambda sc, r: (f"/api/v1/work-orders/{_verification_cached(sc, 'work_order', lambda: _work_order(sc))}", None),
        SEES_WORK_ORDERS),
    ("dispatch.assign", "POST", None): Case(
        lambda sc, r: (f"/api/v1/work-orders/{_work_order(sc, technician=False)}/assignments",
                       {"technician_id": sc.ids["technician"]}), PLANS_CREATES),
    ("dispatch.unassign", "DELETE", None): Case(lambda sc, r: _assignment(sc), PLANS),
    ("dispatch.act", "POST", "start"): Case(lambda sc, r: (f"/api/v1/work-orders/{_work_order(sc)}/start", None),
                                            SEES_WORK_ORDERS),
    ("dispatch.act", "POST", "finish"): Case(
        lambda sc, r: (f"/api/v1/work-orders/{_work_order(sc, state='in_progress')}/finish", None), SEES_WORK_ORDERS),
    ("dispatch.act", "POST", "cancel"): Case(lambda sc, r: (f"/api/v1/work-orders/{_work_order(sc)}/cancel", None),
                                             PLANS),
    ("dispatch.schedule", "GET", None): Case(lambda sc, r: (f"/api/v1/dispatch/schedule?week={sc.day}", None), PLANS),
    ("dispatch.staffed_days", "GET", None): Case(
        lambda sc, r: (f"/api/v1/staffed-days?from={sc.day}&to={sc.day}", None), SEES_WORK_ORDERS),
    ("dispatch.declare_staffed_day", "POST", None): Case(
        lambda sc, r: ("/api/v1/staffed-days", {"day": _saturday(sc)}), PLANS_CREATES),
    ("dispatch.withdraw_staffed_day", "DELETE", None): Case(
        lambda sc, r: (f"/api/v1/staffed-days/{_saturday(sc, declared=True)}", None),
        expect(403, anonymous=401, admin=204, manager=204, other_manager=204)),
    ("work_orders.week", "GET", None): Case(lambda sc, r: ("/dispatch/week", None), PAGE_PLANS),
    ("work_orders.new_work_order", "GET", None): Case(lambda sc, r: ("/dispatch/work-orders/new", None), PAGE_PLANS),
    ("work_orders.new_work_order", "POST", None): Case(
        lambda sc, r: ("/dispatch/work-orders/new", {**_work_order_body(sc), "instrument_ids": str(_vi(sc))}),
        PAGE_PLANS_303),
    ("work_orders.work_order", "GET", None): Case(
        lambda sc, r: (f"/dispatch/work-orders/{_verification_cached(sc, 'work_order', lambda: _work_order(sc))}",
                       None), expect(403, anonymous=LOGIN, admin=200, manager=200, other_manager=200, technician=200)),
    ("work_orders.assign", "POST", None): Case(
        lambda sc, r: (f"/dispatch/work-orders/{_work_order(sc, technician=False)}/assignments",
                       {"technician_id": str(sc.ids["technician"])}), PAGE_PLANS_303),
    ("work_orders.unassign", "POST", None): Case(lambda sc, r: _assignment(sc, page=True), PAGE_PLANS_303),
    ("work_orders.act", "POST", "start"): Case(lambda sc, r: (f"/dispatch/work-orders/{_work_order(sc)}/start", {}),
                                               PAGE_WORKS_303),
    ("work_orders.act", "POST", "finish"): Case(
        lambda sc, r: (f"/dispatch/work-orders/{_work_order(sc, state='in_progress')}/finish", {}), PAGE_WORKS_303),
    ("work_orders.act", "POST", "cancel"): Case(lambda sc, r: (f"/dispatch/work-orders/{_work_order(sc)}/cancel", {}),
                                                PAGE_PLANS_303),
    ("work_orders.mine", "GET", None): Case(lambda sc, r: ("/dispatch/mine", None),
                                            expect(403, anonymous=LOGIN, technician=200)),
    ("work_orders.declare_staffed_day", "POST", None): Case(
        lambda sc, r: ("/dispatch/staffed-days", {"day": _saturday(sc)}), PAGE_PLANS_303),
    ("work_orders.withdraw_staffed_day", "POST", None): Case(
        lambda sc, r: ("/dispatch/staffed-days/withdraw", {"day": _saturday(sc, declared=True)}), PAGE_PLANS_303),
    # Verification pages.
    ("verifications.console", "GET", None): Case(lambda sc, r: ("/verification/console", None), PAGE_OPERATORS),
    ("verifications.console", "POST", None): Case(lambda sc, r: ("/verification/console", _run_form(sc)),
                                                  PAGE_OPERATES),
    ("verifications.run", "GET", None): Case(lambda sc, r: (f"/verification/runs/{_run(sc)}", None),
                                             expect(200, anonymous=LOGIN, other=404)),
    ("verifications.live", "GET", None): Case(lambda sc, r: (f"/verification/runs/{_run(sc)}/live.json", None),
                                              OWNER_SEES),
    ("verifications.cancel", "POST", None): Case(lambda sc, r: (f"/verification/runs/{_new_run(sc)}/cancel", {}),
                                                 PAGE_OPERATES),
    ("verifications.retry", "POST", None): Case(
        lambda sc, r: (f"/verification/runs/{_new_run(sc, 'failed')}/retry", {}), PAGE_OPERATES),
    ("verifications.instruments", "GET", None): Case(lambda sc, r: ("/verification/instruments", None),
                                                     PAGE_SIGNED_IN),
    ("verifications.new_instrument", "GET", None): Case(lambda sc, r: ("/verification/instruments/new", None),
                                                        PAGE_OPERATORS),
    ("verifications.new_instrument", "POST", None): Case(
        lambda sc, r: ("/verification/instruments/new", _instrument_form(sc)), PAGE_OPERATES),
    ("verifications.instrument", "GET", None): Case(lambda sc, r: (f"/verification/instruments/{_vi(sc)}", None),
                                                    expect(200, anonymous=LOGIN, other=404)),
    ("verifications.rigs", "GET", None): Case(lambda sc, r: ("/verification/rigs", None),
                                              expect(200, anonymous=LOGIN, owner=403, other=403)),
    ("verifications.new_rig", "GET", None): Case(lambda sc, r: ("/verification/rigs/new", None), PAGE_RIG_MANAGERS),
    ("verifications.new_rig", "POST", None): Case(
        lambda sc, r: ("/verification/rigs/new", {k: str(v) for k, v in _rig_body(sc).items()}),
        expect(403, anonymous=LOGIN, admin=303, manager=303)),
    ("verifications.edit_rig", "GET", None): Case(lambda sc, r: (f"/verification/rigs/{_rig(sc)}", None),
                                                  PAGE_RIG_MANAGERS),
    ("verifications.edit_rig", "POST", None): Case(
        lambda sc, r: (f"/verification/rigs/{_rig(sc)}", {"standard_certificate_no": "JZ-3"}),
        expect(403, anonymous=LOGIN, admin=303, manager=303)),
    ("verifications.procedures", "GET", None): Case(lambda sc, r: ("/verification/procedures", None),
                                                    PAGE_SIGNED_IN),
    ("verifications.procedures", "POST", None): Case(
        lambda sc, r: ("/verification/procedures", {"document": json.dumps(_procedure_document(sc))}),
        expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303)),
    ("verifications.public_certificate", "GET", None): Case(
        lambda sc, r: (f"/certificates/{_certificate(sc)}", None), PUBLIC),
    ("verifications.certificate_pdf", "GET", None): Case(
        lambda sc, r: (f"/verification/certificates/{_certificate(sc)}.pdf", None),
        expect(200, anonymous=LOGIN, other=404)),
    # Verification API.
    ("verification.list_instruments", "GET", None): Case(lambda sc, r: ("/api/v1/instruments", None), SIGNED_IN),
    ("verification.register_instrument", "POST", None): Case(
        lambda sc, r: ("/api/v1/instruments", _instrument_body(sc)), OPERATES_CREATES),
    ("verification.get_instrument", "GET", None): Case(lambda sc, r: (f"/api/v1/instruments/{_vi(sc)}", None),
                                                       OWNER_SEES),
    ("verification.update_instrument", "PATCH", None): Case(
        lambda sc, r: (f"/api/v1/instruments/{_vi(sc)}", {"location": "某路 2 号"}), OPERATES),
    ("verification.instrument_history", "GET", None): Case(
        lambda sc, r: (f"/api/v1/instruments/{_vi(sc)}/results", None), OWNER_SEES),
    ("verification.list_rigs", "GET", None): Case(lambda sc, r: ("/api/v1/rigs", None), STAFF_SEE),
    ("verification.register_rig", "POST", None): Case(lambda sc, r: ("/api/v1/rigs", _rig_body(sc)), CREATES_IN_LAB),
    ("verification.get_rig", "GET", None): Case(lambda sc, r: (f"/api/v1/rigs/{_rig(sc)}", None), STAFF_SEE),
    ("verification.update_rig", "PATCH", None): Case(
        lambda sc, r: (f"/api/v1/rigs/{_rig(sc)}", {"standard_certificate_no": "JZ-4"}), MANAGES_LAB),
    ("verification.list_procedures", "GET", None): Case(lambda sc, r: ("/api/v1/procedures", None), SIGNED_IN),
    ("verification.add_procedure_version", "POST", None): Case(
        lambda sc, r: ("/api/v1/procedures", _procedure_document(sc)),
        expect(403, anonymous=401, admin=201, manager=201, other_manager=201)),
    ("verification.get_procedure", "GET", None): Case(
        lambda sc, r: (f"/api/v1/procedures/{_procedure_id(sc)}", None), SIGNED_IN),
    ("verification.list_verifications", "GET", None): Case(lambda sc, r: ("/api/v1/verifications", None),
                                                           SIGNED_IN),
    ("verification.request_verification", "POST", None): Case(
        lambda sc, r: ("/api/v1/verifications", {"instrument_id": _vi(sc), "rig_id": _rig(sc), "nozzle": 1}),
        OPERATES_CREATES),
    ("verification.get_verification", "GET", None): Case(
        lambda sc, r: (f"/api/v1/verifications/{_run(sc)}", None), OWNER_SEES),
    ("verification.cancel_verification", "POST", None): Case(
        lambda sc, r: (f"/api/v1/verifications/{_new_run(sc)}/cancel", None), OPERATES),
    ("verification.retry_verification", "POST", None): Case(
        lambda sc, r: (f"/api/v1/verifications/{_new_run(sc, 'failed')}/retry", None), OPERATES),
    ("verification.record_manual_reading", "POST", None): Case(
        lambda sc, r: (f"/api/v1/verifications/{_new_run(sc)}/readings",
                       {"point_index": 0, "values": {"reference_volume": 20.0, "indicated_volume": 20.04,
                                                     "rig_temperature": 20.0, "nozzle_temperature": 20.5,
                                                     "ambient_temperature": 20.0, "standard_expansion": 5e-5}}),
        OPERATES_CREATES),
    ("verification.confirm_certificate", "GET", None): Case(
        lambda sc, r: (f"/api/v1/certificates/{_certificate(sc)}", None), PUBLIC),
    ("field.register_device", "POST", None): Case(
        lambda sc, r: ("/api/v1/field/devices", {"key": f"6f1c2a47-3b8e-4d1a-9c55-{sc.seq():012d}", "name": r}),
        TECHNICIAN),
    ("field.catalog", "GET", None): Case(
        lambda sc, r: (f"/api/v1/field/devices/{_field_device(sc)}/catalog", None), TECHNICIAN),
    ("field.reserve_block", "POST", None): Case(
        lambda sc, r: (f"/api/v1/field/devices/{_field_device(sc)}/blocks", {"year": 2026}),
        expect(403, anonymous=401, technician=201)),
    ("field.upload", "POST", None): Case(
        lambda sc, r: (f"/api/v1/field/devices/{_field_device(sc)}/uploads", {}), TECHNICIAN),
    # Spot-check registry pages: uploads and their imports, administrators and inspectors only.
    ("spotchecks.upload", "GET", None): Case(lambda sc, r: ("/spotchecks/registry/imports", None),
                                             expect(403, anonymous=LOGIN, admin=200, inspector=200)),
    ("spotchecks.upload", "POST", None): Case(
        lambda sc, r: ("/spotchecks/registry/imports", {"kind": "entities", "file": (_registry_csv(), "e.csv")}),
        expect(403, anonymous=LOGIN, admin=303, inspector=303)),
    ("spotchecks.progress", "GET", None): Case(
        lambda sc, r: (f"/spotchecks/registry/imports/{_registry_import(sc)}", None),
        expect(403, anonymous=LOGIN, admin=200, inspector=200)),
    ("spotchecks.status", "GET", None): Case(
        lambda sc, r: (f"/spotchecks/registry/imports/{_registry_import(sc)}/status.json", None),
        expect(403, anonymous=LOGIN, admin=200, inspector=200)),
    ("spotchecks.static", "GET", None): Case(lambda sc, r: ("/spotchecks/static/import.js", None), PUBLIC),
    # Spot-check plans and draws: public to read, organised by administrators and inspectors.
    ("spotcheck.list_plans", "GET", None): Case(lambda sc, r: ("/api/v1/spotchecks/plans", None), PUBLIC),
    ("spotcheck.create_plan", "POST", None): Case(lambda sc, r: ("/api/v1/spotchecks/plans", _plan_body()), ORGANISES),
    ("spotcheck.get_plan", "GET", None): Case(lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'open')}", None),
                                              PUBLIC),
    ("spotcheck.update_plan", "PATCH", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'open')}", {"name": "renamed"}), ORGANISES_200),
    ("spotcheck.add_witness", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'open')}/witnesses",
                       {"name": "observer", "commitment": "a" * 64}), ORGANISES),
    ("spotcheck.freeze", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'witnessed', fresh=True)}/freeze", None), ORGANISES_200),
    ("spotcheck.reveal", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'frozen', fresh=True)}/witnesses/1/reveal",
                       {"secret": "one"}), ORGANISES_200),
    ("spotcheck.run_draw", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'revealed', fresh=True)}/draw", None), ORGANISES_200),
    ("spotcheck.public_draw", "GET", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'drawn')}/draw", None), PUBLIC),
    ("spotcheck.snapshot_file", "GET", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'drawn')}/draw/snapshot.txt", None), PUBLIC),
    ("spotcheck.confirm_draw", "GET", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'drawn')}/draw/confirm", None), PUBLIC),
    ("spotcheck.list_tasks", "GET", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'drawn')}/tasks", None),
        expect(403, anonymous=401, admin=200, inspector=200, technician=200)),
    ("spotcheck.add_nominated_tasks", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/plans/{_plan(sc, 'drawn')}/nominated-tasks", {"top": 1}), ORGANISES),
    # A task's instrument: nothing attached yet, so allowed callers meet the rules of the review.
    ("spotcheck.attach_verification", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/task-instruments/{_task_instrument(sc)}/verification",
                       {"verification_id": 999999}), expect(403, anonymous=401, admin=422, inspector=422,
                                                           technician=422)),
    ("spotcheck.review_sheet", "GET", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/task-instruments/{_task_instrument(sc)}/review", None), ORGANISES_200),
    ("spotcheck.review", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/task-instruments/{_task_instrument(sc)}/review", {"conclusion": "pass"}),
        expect(403, anonymous=401, admin=409)),  # the scene's inspector was not drawn for the task
    ("spotcheck.countersign", "POST", None): Case(
        lambda sc, r: (f"/api/v1/spotchecks/task-instruments/{_task_instrument(sc)}/countersign", None),
        expect(403, anonymous=401, admin=409, inspector=409)),
    # 你点我查 is open to anyone: an unknown instrument is refused alike for every caller.
    ("spotcheck.nominate", "POST", None): Case(
        lambda sc, r: ("/api/v1/spotchecks/nominations", {"instrument_id": 999999, "reason": "总是少加油",
                                                          "phone": "13800138000"}), expect(422)),
    ("spotcheck.nomination_counts", "GET", None): Case(lambda sc, r: ("/api/v1/spotchecks/nominations", None), PUBLIC),
    ("spotcheck.published_results", "GET", None): Case(lambda sc, r: ("/api/v1/spotchecks/results", None), PUBLIC),
    # Spot-check pages: the results, the draw's record and 你点我查 open to anyone; plans, tasks and the
    # review for administrators and inspectors; the Friday files for administrators.
    ("spotchecks.public_results", "GET", None): Case(lambda sc, r: ("/spotchecks", None), PUBLIC),
    ("spotchecks.draw_record", "GET", None): Case(lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'drawn')}/draw", None),
                                                  PUBLIC),
    ("spotchecks.nominate", "GET", None): Case(lambda sc, r: ("/spotchecks/nominate?q=加油站", None), PUBLIC),
    ("spotchecks.nominate", "POST", None): Case(
        lambda sc, r: ("/spotchecks/nominate", {"instrument_id": "999999", "reason": "总是少加油", "phone": "13800138000"}),
        expect(422)),
    ("spotchecks.nominations", "GET", None): Case(lambda sc, r: ("/spotchecks/nominations", None), PUBLIC),
    ("spotchecks.plans", "GET", None): Case(lambda sc, r: ("/spotchecks/plans", None), PAGE_ORGANISES),
    ("spotchecks.new_plan", "GET", None): Case(lambda sc, r: ("/spotchecks/plans/new", None), PAGE_ORGANISES),
    ("spotchecks.new_plan", "POST", None): Case(
        lambda sc, r: ("/spotchecks/plans/new", {"name": "抽查", "instrument_kind": "fuel_dispenser", "regions": "320100",
                                                 "entity_kinds": "fuel_station", "share_high": "100",
                                                 "draw_date": "2026-12-01"}), PAGE_ORGANISES_303),
    ("spotchecks.plan", "GET", None): Case(lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'drawn')}", None),
                                           PAGE_ORGANISES),
    ("spotchecks.add_witness", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'open', fresh=True)}/witnesses",
                       {"name": "observer", "commitment": "a" * 64}), PAGE_ORGANISES_303),
    ("spotchecks.freeze", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'witnessed', fresh=True)}/freeze", {}), PAGE_ORGANISES_303),
    ("spotchecks.reveal", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'frozen', fresh=True)}/witnesses/1/reveal", {"secret": "one"}),
        PAGE_ORGANISES_303),
    ("spotchecks.run_draw", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'revealed', fresh=True)}/draw", {}), PAGE_ORGANISES_303),
    ("spotchecks.add_nominated_tasks", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/plans/{_plan(sc, 'drawn')}/nominated-tasks", {"top": "1"}), PAGE_ORGANISES_303),
    ("spotchecks.review_page", "GET", None): Case(
        lambda sc, r: (f"/spotchecks/task-instruments/{_task_instrument(sc)}", None), PAGE_ORGANISES),
    # Nothing attached to the task's instrument yet: allowed callers meet the rules of the review.
    ("spotchecks.attach_verification", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/task-instruments/{_task_instrument(sc)}/verification",
                       {"verification_id": "999999"}), expect(403, anonymous=LOGIN, admin=422, inspector=422)),
    ("spotchecks.review", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/task-instruments/{_task_instrument(sc)}/review", {"conclusion": "pass"}),
        expect(403, anonymous=LOGIN, admin=422)),  # the scene's inspector was not drawn for the task
    ("spotchecks.countersign", "POST", None): Case(
        lambda sc, r: (f"/spotchecks/task-instruments/{_task_instrument(sc)}/countersign", {}), PAGE_ORGANISES_303),
    ("spotchecks.exports", "GET", None): Case(lambda sc, r: ("/spotchecks/exports", None), PAGE_ADMIN),
    ("spotchecks.export_file", "GET", None): Case(lambda sc, r: ("/spotchecks/exports/999999.csv", None),
                                                  expect(403, anonymous=LOGIN, admin=404)),
    # Verification requests: enterprises ask for their own instruments; lab managers and administrators
    # accept or refuse; technicians too stop and restart the clock and queue runs; the figures are public.
    ("verification_services.list_requests", "GET", None): Case(lambda sc, r: ("/api/v1/service-requests", None),
                                                               SIGNED_IN),
    ("verification_services.submit_request", "POST", None): Case(
        lambda sc, r: ("/api/v1/service-requests", {"mode": "taxi_at_once", "instrument_ids": [_svc_instrument(sc)],
                                                    "contact_name": "王师傅", "contact_phone": "13900000001"}),
        expect(403, anonymous=401, owner=201, other=422)),  # B may not ask for A's instrument
    ("verification_services.get_request", "GET", None): Case(
        lambda sc, r: (f"/api/v1/service-requests/{_svc_request(sc, fresh=False)}", None), OWNER_SEES),
    ("verification_services.accept", "POST", None): Case(
        lambda sc, r: (f"/api/v1/service-requests/{_svc_request(sc)}/accept", None), DECIDES_REQUESTS),
    ("verification_services.refuse", "POST", None): Case(
        lambda sc, r: (f"/api/v1/service-requests/{_svc_request(sc)}/refuse", {"reason": "仪表已报废"}),
        DECIDES_REQUESTS),
    ("verification_services.pause", "POST", None): Case(
        lambda sc, r: (f"/api/v1/service-requests/{_svc_request(sc)}/pause", {"reason": "enterprise_unavailable"}),
        CLERKS),
    ("verification_services.resume", "POST", None): Case(
        lambda sc, r: (f"/api/v1/service-requests/{_svc_request(sc, then=('pause',))}/resume", None), CLERKS),
    ("verification_services.documents", "POST", None): Case(
        lambda sc, r: (f"/api/v1/service-requests/{_svc_request(sc, missing_documents='委托书', commitment_signed=True)}"
                       "/documents", None), expect(403, anonymous=401, admin=200, manager=200, other_manager=200,
                                                   technician=200, owner=200, other=404)),
    ("verification_services.start_run", "POST", None): Case(
        lambda sc, r: (lambda rb: (f"/api/v1/service-requests/{rb[0]}/runs", rb[1]))(_svc_run_body(sc)),
        expect(403, anonymous=401, admin=201, manager=201, other_manager=201, technician=201)),
    ("verification_services.list_services", "GET", None): Case(lambda sc, r: ("/api/v1/services", None), PUBLIC),
    ("verification_services.configure_service", "PATCH", None): Case(
        lambda sc, r: ("/api/v1/services/on_site", {"conclusion_days": 5}), ADMIN_ONLY),
    ("verification_services.public_figures", "GET", None): Case(
        lambda sc, r: ("/api/v1/public/service-figures", None), PUBLIC),
    # A driver needs no login: a plate number that is none is refused alike for every caller.
    ("verification_services.take_ticket", "POST", None): Case(
        lambda sc, r: ("/api/v1/taxi-tickets", {"plate_number": "12345", "meter_serial": "TM-1"}), expect(422)),
    ("verification_services.ticket", "GET", None): Case(
        lambda sc, r: (f"/api/v1/taxi-tickets/{_ticket(sc)[1]}", None), PUBLIC),
    ("services.requests", "GET", None): Case(lambda sc, r: ("/services/requests", None), PAGE_SIGNED_IN),
    ("services.new_request", "GET", None): Case(lambda sc, r: ("/services/requests/new", None), PAGE_ENTERPRISES),
    ("services.new_request", "POST", None): Case(
        lambda sc, r: ("/services/requests/new", _svc_request_form(sc)),
        expect(403, anonymous=LOGIN, owner=303, other=422)),
    ("services.request", "GET", None): Case(
        lambda sc, r: (f"/services/requests/{_svc_request(sc, fresh=False)}", None),
        expect(200, anonymous=LOGIN, other=404)),
    ("services.accept", "POST", None): Case(
        lambda sc, r: (f"/services/requests/{_svc_request(sc)}/accept", {}), PAGE_DECIDES_REQUESTS),
    ("services.refuse", "POST", None): Case(
        lambda sc, r: (f"/services/requests/{_svc_request(sc)}/refuse", {"reason": "仪表已报废"}),
        PAGE_DECIDES_REQUESTS),
    ("services.pause", "POST", None): Case(
        lambda sc, r: (f"/services/requests/{_svc_request(sc)}/pause", {"reason": "enterprise_unavailable"}),
        PAGE_CLERKS_303),
    ("services.resume", "POST", None): Case(
        lambda sc, r: (f"/services/requests/{_svc_request(sc, then=('pause',))}/resume", {}), PAGE_CLERKS_303),
    ("services.documents", "POST", None): Case(
        lambda sc, r: (f"/services/requests/{_svc_request(sc, missing_documents='委托书', commitment_signed=True)}"
                       "/documents", {}), expect(403, anonymous=LOGIN, admin=303, manager=303, other_manager=303,
                                                 technician=303, owner=303, other=404)),
    ("services.start_run", "POST", None): Case(
        lambda sc, r: (lambda rb: (f"/services/requests/{rb[0]}/runs", {k: str(v) for k, v in rb[1].items()}))(
            _svc_run_body(sc)), PAGE_CLERKS_303),
    ("services.settings", "GET", None): Case(lambda sc, r: ("/services/settings", None), PAGE_ADMIN),
    ("services.settings", "POST", None): Case(
        lambda sc, r: ("/services/settings", {"mode": "on_site", "acceptance_days": "1", "conclusion_days": "5",
                                              "active": "on"}), expect(403, anonymous=LOGIN, admin=303)),
    ("services.public", "GET", None): Case(lambda sc, r: ("/public/services", None), PUBLIC),
    ("services.taxi", "GET", None): Case(lambda sc, r: ("/taxi", None), PUBLIC),
    ("services.taxi", "POST", None): Case(lambda sc, r: ("/taxi", {"plate_number": "12345", "meter_serial": "TM-1"}),
                                          expect(422)),
    ("services.ticket", "GET", None): Case(lambda sc, r: (f"/taxi/{_ticket(sc)[1]}", None), PUBLIC),
    ("services.queue", "GET", None): Case(lambda sc, r: ("/services/taxi-queue", None), PAGE_OPERATORS),
    ("services.call_next", "POST", None): Case(lambda sc, r: ("/services/taxi-queue/next", {}), PAGE_CLERKS_303),
    ("services.ticket_run", "POST", None): Case(
        lambda sc, r: (f"/services/taxi-queue/{_ticket(sc, called=True)[0]}/run", {"rig_id": str(_tmr_rig(sc))}),
        PAGE_CLERKS_303),
    ("services.skip", "POST", None): Case(
        lambda sc, r: (f"/services/taxi-queue/{_ticket(sc, called=True)[0]}/skip", {}), PAGE_CLERKS_303),
}


def _registry_csv():
    import io
    return io.BytesIO(b"credit_code,name,kind,region,risk_level\n")


def _registry_import(sc: Scene) -> int:
    """An upload waiting for the importer."""
    from labs.accounts.service import SYSTEM
    from labs.spotchecks.registry import queue_import

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            return queue_import(s, SYSTEM, "entities", "e.csv", _registry_csv().read()).id
    return _verification_cached(sc, "registry_import", make)


# --- spot-checks: plans in each state of the draw, and a task's instrument -------------------------------

PLAN_SECRETS = ("one", "two")


def _plan_body() -> dict:
    return {"name": "抽查", "instrument_kind": "fuel_dispenser", "regions": ["320100"], "entity_kinds": ["fuel_station"],
            "shares": {"high": "1"}, "draw_date": "2026-12-01"}


def _plan(sc: Scene, state: str, fresh: bool = False) -> int:
    """A plan brought to `state` (open, witnessed, frozen, revealed, drawn) through the service."""
    import hashlib
    from labs.accounts.service import SYSTEM
    from labs.spotchecks import service as spotchecks

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            plan = spotchecks.create_plan(s, SYSTEM, {**_plan_body(), "draw_date": dt.date(2026, 12, 1)})
            steps = ["open", "witnessed", "frozen", "revealed", "drawn"]
            if steps.index(state) >= 1:
                for secret in PLAN_SECRETS:
                    spotchecks.add_witness(s, SYSTEM, plan.id, "witness", hashlib.sha256(secret.encode()).hexdigest())
            if steps.index(state) >= 2:
                spotchecks.freeze(s, SYSTEM, plan.id)
            if steps.index(state) >= 3:
                for position, secret in enumerate(PLAN_SECRETS, start=1):
                    spotchecks.reveal(s, SYSTEM, plan.id, position, secret)
            if steps.index(state) >= 4:
                spotchecks.draw(s, SYSTEM, plan.id)
            return plan.id
    return make() if fresh else _verification_cached(sc, f"plan-{state}", make)


def _task_instrument(sc: Scene) -> int:
    """A drawn station's nozzle in a drawn plan, with two qualified inspectors in the registry."""
    import hashlib
    from labs.accounts.service import SYSTEM
    from labs.spotchecks import service as spotchecks
    from labs.spotchecks.models import Region, RegistryEntity, RegistryInspector, RegistryInstrument, Task

    def make():
        with sc.app.app_context(), session_scope(sc.app) as s:
            s.merge(Region(code="320300", name="徐州市"))
            entity = RegistryEntity(credit_code=OWNER_CODE, name="Enterprise 0", kind="fuel_station", region="320300",
                                    risk_level="high")
            s.add(entity)
            s.flush()
            s.add(RegistryInstrument(entity_id=entity.id, kind="fuel_dispenser", serial_number="JYJ-AUTH-1"))
            s.add_all([RegistryInspector(name=n, qualifications=["fuel_dispenser"], affiliation=n) for n in "AB"])
            plan = spotchecks.create_plan(s, SYSTEM, {**_plan_body(), "regions": ["320300"],
                                                      "draw_date": dt.date(2026, 12, 1)})
            for secret in PLAN_SECRETS:
                spotchecks.add_witness(s, SYSTEM, plan.id, "witness", hashlib.sha256(secret.encode()).hexdigest())
            spotchecks.freeze(s, SYSTEM, plan.id)
            for position, secret in enumerate(PLAN_SECRETS, start=1):
                spotchecks.reveal(s, SYSTEM, plan.id, position, secret)
            spotchecks.draw(s, SYSTEM, plan.id)
            return s.scalar(select(Task).where(Task.plan_id == plan.id)).instruments[0].id
    return _verification_cached(sc, "task_instrument", make)


def _routes(app) -> set[tuple[str, str, str | None]]:
    out = set()
    for rule in app.url_map.iter_rules():
        actions = [None]
        converter = rule._converters.get("action")
        if isinstance(converter, AnyConverter):
            actions = sorted(converter.items)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.update((rule.endpoint, method, action) for action in actions)
    return out


def test_every_route_has_a_row(app):
    routes = _routes(app)
    assert routes - set(CASES) == set(), "routes without an authorization row"
    assert set(CASES) - routes == set(), "rows for routes that do not exist"
    actions = {a for (endpoint, _, a) in routes if a and endpoint.startswith("booking")}
    assert actions == set(domain.TRANSITIONS) - {"lapse"}


@pytest.fixture
def scene(world, monkeypatch):
    return Scene(world, ServiceClock(monkeypatch))


def _call(scene: Scene, role: str, method: str, url: str, body: dict | None):
    if url.startswith(("/api/", "/calendar/", "/static/")):
        if body is not None and "file" in body:  # an upload: multipart, as a program sends a file
            return scene.world.client.open(url, method=method, data=body, headers=scene.headers[role],
                                           content_type="multipart/form-data")
        r = scene.world.client.open(url, method=method, json=body, headers=scene.headers[role])
        if (method, url) == ("DELETE", "/api/v1/auth/token") and role != "anonymous":
            scene.headers[role] = scene.world.token(scene.emails[role])  # that one is revoked: the next rows need one
        return r
    client = scene.page_client(role)
    if method == "GET":
        return client.get(url)
    # The form's CSRF token, taken from a page as a browser would (bound to this client's session).
    token = csrf_token(client, "/login" if role == "anonymous" else "/")
    r = client.open(url, method=method, data={**(body or {}), "csrf_token": token})
    if url == "/logout":
        scene.forget_page_client(role)  # signed out: the next page call signs in afresh
    return r


def _got(r) -> int | str:
    if r.status_code in (302, 303) and r.headers["Location"].startswith("/login"):
        return LOGIN
    return r.status_code


def test_every_role_gets_the_expected_status_on_every_route(scene):
    wrong = []
    for (endpoint, method, action), case in CASES.items():
        for role in ROLES:
            url, body = case.call(scene, role)
            r = _call(scene, role, method, url, body)
            want = case.expected[role]
            if _got(r) != want:
                wrong.append(f"{method} {url} ({endpoint}) as {role}: want {want}, got {_got(r)} "
                             f"{r.get_data(as_text=True)[:200]}")
            elif url.startswith("/api/v1") and r.status_code >= 400:
                if r.mimetype != "application/problem+json" or r.json["status"] != r.status_code:
                    wrong.append(f"{method} {url} as {role}: error is not problem+json: {r.mimetype}")
    assert wrong == [], "\n".join(wrong)


def test_other_enterprise_sees_nothing_of_enterprise_a(scene):
    client, other = scene.world.client, scene.headers["other"]
    ids = lambda r: {b["id"] for b in r.json}  # noqa: E731
    assert scene.booking in ids(client.get("/api/v1/bookings", headers=scene.headers["owner"]))
    assert scene.booking not in ids(client.get("/api/v1/bookings", headers=other))
    assert client.get(f"/api/v1/bookings?lab_id={scene.lab}", headers=other).json == []
    assert client.get("/api/v1/bookings?status=requested", headers=other).json == []
    assert client.get("/api/v1/notifications", headers=other).json == []
    assert client.get("/api/v1/approvals", headers=other).status_code == 403
    entry = scene.new_waitlist_entry()
    assert [e["id"] for e in client.get("/api/v1/waitlist", headers=scene.headers["owner"]).json] == [entry]
    assert client.get("/api/v1/waitlist", headers=other).json == []
    # B's own calendar lists none of A's bookings.
    feed = client.get(f"/calendar/enterprises/{scene.other_enterprise_token}.ics").get_data(as_text=True)
    assert f"booking-{scene.booking}@" not in feed
    # A manager of another lab sees none of this lab's bookings either.
    assert scene.booking not in ids(client.get("/api/v1/bookings", headers=scene.headers["other_manager"]))


def test_other_enterprise_cannot_change_enterprise_a_booking(scene):
    client, other = scene.world.client, scene.headers["other"]
    for action in sorted(set(domain.TRANSITIONS) - {"lapse"}):
        r = client.post(f"/api/v1/bookings/{scene.booking}/{action}", json={}, headers=other)
        assert r.status_code == 404, (action, r.json)
    r = client.post(f"/api/v1/bookings/{scene.booking}/documents", headers=other,
                    data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "a.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 404, r.json
    # Answered exactly like a booking that does not exist, so its existence does not leak.
    unknown = client.get("/api/v1/bookings/999999", headers=other)
    mine = client.get(f"/api/v1/bookings/{scene.booking}", headers=other)
    assert unknown.status_code == mine.status_code == 404
    assert client.get(f"/api/v1/bookings/{scene.booking}", headers=scene.headers["owner"]).json["status"] == "requested"


def test_enterprise_calendar_token_is_not_derivable_from_the_other_enterprise_data(scene):
    client, other = scene.world.client, scene.headers["other"]
    seen = "".join(client.get(url, headers=other).get_data(as_text=True) for url in (
        "/api/v1/me", "/api/v1/bookings", "/api/v1/labs", f"/api/v1/labs/{scene.lab}", "/api/v1/notifications",
        f"/api/v1/labs/{scene.lab}/availability?from={scene.day}&to={scene.day}",
        f"/calendar/enterprises/{scene.other_enterprise_token}.ics"))
    for secret in (scene.enterprise_token, scene.lab_token):
        assert secret not in seen
        assert len(secret) >= 32  # secrets.token_urlsafe(24): 192 random bits, not a guessable sequence
    assert scene.enterprise_token != scene.other_enterprise_token
    last = scene.enterprise_token[-1]
    wrong = scene.enterprise_token[:-1] + ("y" if last == "x" else "x")  # never the token itself
    assert client.get(f"/calendar/enterprises/{wrong}.ics").status_code == 404
    assert client.get("/calendar/enterprises/1.ics").status_code == 404
