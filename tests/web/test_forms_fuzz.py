"""Hypothesis against the pages: every page route that takes a form POST or query arguments gets
its real field names with hostile values (empty, huge, unicode, NUL bytes, numbers and dates out of
range, lists where one value is expected, missing fields) and a valid CSRF token. The house rule:
never a 5xx, a 4xx page says what is wrong, and a refused request writes nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from html import unescape
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from labs.db import Base, session_scope
from tests.conftest import CODES, booking_body, next_working_day
from tests.labs.test_holiday_schedule import SCHEDULE_2027
from tests.web.conftest import csrf_token, signed_in

BLUEPRINTS = ("web", "bookings", "admin", "verifications", "spotchecks", "staff", "services", "work_orders")
MAX_ID = 2**31 - 1

# Values that have broken form handlers somewhere: NUL (PostgreSQL refuses it in text), the ends of
# Python's and the databases' ranges, times a browser never sends, digits that are not ASCII.
NASTY = [
    "", " ", "\x00", "a\x00b", "\t\n", "0", "-1", "1.5", "1e309", "NaN", "-Infinity", "0x10",
    str(MAX_ID), str(MAX_ID + 1), "9" * 30, "-" + "9" * 30, "١٢", "１２", "true", "on",
    "0001-01-01", "9999-12-31", "1969-12-31", "1970-01-01", "2199-12-31", "2200-01-01", "2024-02-30",
    "20240101", "2024-W01", "24:00", "23:59:60", "00:00", "23:59:59.999999", "09:00+05:00", "9:00",
    "T09:00", "09:00Z", "Asia/Shanghai", "../../etc/passwd", "America", "UTC\x00",
    "<script>alert(1)</script>", "' OR 1=1 --", "{{ 7*7 }}", "%(value)s", "😀" * 3, "ß\u0301\u200b",
]
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "字", "\x00", "9"]), st.integers(201, 5000)),
    st.integers(-(2**70), 2**70).map(str),
)


# Per kind of field: values past its edges, and (EDGES) values a parser accepts that sit at the far
# ends of what the field allows, which only break something deeper when they meet another field.
DATES = ["0001-01-01", "9999-12-31", "1969-12-31", "2200-01-01", "2024-02-30", "20240101", "2024-W01-1",
         "2024-1-1", "+2024-01-01", "2024-01-01T00:00", "٢٠٢٤-٠١-٠١"]
TIMES = ["24:00", "23:59:60", "00:00:00.000001", "09:00+05:00", "09:00Z", "9:00", "T09:00", "0900", "09", "２３:００"]
NUMBERS = ["-1", "1.5", "1e3", "1e309", "NaN", "Infinity", "-0", "0.001", str(MAX_ID + 1), "9" * 30,
           "-" + "9" * 30, "1_000", " 7 ", "٣"]
ZONES = ["America", "Etc", "UTC/", "/etc/localtime", "../zoneinfo/UTC", "posix", "EST5EDT", "asia/shanghai",
         "Asia/Shanghai\x00", "+08:00", "Factory"]
EDGES = {"date": ["0001-01-01", "9999-12-31", "9999-12-01", "1970-01-01", "2199-12-31"],
         "time": ["00:00", "23:59", "23:59:59.999999", "00:00:00.000001"],
         "number": ["0", "1", "5", "52", "53", "60", "61", "100", "101", "730", "731", "1000", "1001", "1440",
                    "1441", str(MAX_ID), "100000000", "100000000.01"],
         # Zone names are only checked in the service, so the far-off ones all go deep.
         "zone": ["America", "Etc", "posix", "Asia", "Etc/GMT+12", "Etc/GMT-14", "Asia/Kathmandu"]}
# The limits the schemas allow, per field: valid, so they get past the first check and meet each other.
LIMITS = {"weeks": ["52"], "batches": ["1000"], "bays": ["100"], "fee_per_hour": ["100000000", "0"],
          "fee_per_batch": ["100000000", "0"], "approval_deadline_days": ["60", "0"],
          "document_deadline_days": ["60", "0"], "min_duration_minutes": ["5", "1440"],
          "max_duration_minutes": ["5", "1440"], "max_advance_days": ["730", "1"]}
KINDS = [(re.compile(r"timezone"), "zone", ZONES), (re.compile(r"date|valid_until|^week$"), "date", DATES),
         (re.compile(r"time|start|end|opens|closes"), "time", TIMES),
         (re.compile(r"id|bays|batches|days|minutes|fee|weeks"), "number", NUMBERS)]


def _kind(name: str) -> tuple[str | None, list[str]]:
    return next(((kind, values) for pattern, kind, values in KINDS if pattern.search(name)), (None, []))


def _hostile_for(name: str) -> st.SearchStrategy:
    """Values of the field's own kind past its edges first (they reach furthest), then anything."""
    kind, values = _kind(name)
    return st.one_of(st.sampled_from(values + EDGES[kind]), HOSTILE) if kind else HOSTILE


@dataclass
class Route:
    """One page route: how to build its path, its fields with a valid value each (None: absent
    unless the fuzz sets it), who may use it, and a sample of who may not."""

    method: str
    endpoint: str
    path: Callable[[dict], st.SearchStrategy]
    fields: Callable[[dict], dict[str, st.SearchStrategy]]
    allowed: tuple[str, ...]
    refused: tuple[str, ...] = ()
    examples: int = 25
    fresh_client: bool = False  # for /logout, which would sign out the shared client
    lists: tuple[str, ...] = ()  # fields the form sends many of (checkboxes)
    # Inputs that once gave a 500 (who, path, form), run besides the random ones whatever the seed.
    pinned: Callable[[dict], list[tuple[str, str, dict]]] = lambda c: []
    extra_keys: tuple[str, ...] = ()  # junk names sent besides the real ones
    # Tables a refused request still writes by design, audited (a wrong secret stops the draw, on record).
    kept_on_refusal: tuple[str, ...] = ()
    # Tables written with no audit entry, the row itself the record (an anonymous nomination, a queued
    # upload with its uploader).
    unaudited: tuple[str, ...] = ()
    # Where a form that worked sends its caller when it flashes nothing (an upload: to its progress).
    done_at: str | None = None


def _one(value) -> st.SearchStrategy:
    return st.just(value)


def _ids(*values) -> st.SearchStrategy:
    return st.sampled_from(values)


def _hours() -> dict[str, st.SearchStrategy]:
    return {**{f"opens_{d}": _one("08:00") for d in range(7)}, **{f"closes_{d}": _one("18:00") for d in range(7)}}


# The verification and spot-check scene (see _verification_world): the enterprise's dispenser, whose
# serial number the registry's drawn nozzle shares, so a finished run of it can be attached.
SERIAL = "JYJ-FUZZ-1"
RIG_CODE = "FUZZ-FDR-1"
NAMEPLATE_FORM = {"q_max_l_per_min": "60", "q_min_l_per_min": "5", "nozzles": "1:gasoline,2:diesel",
                  "accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": "220", "ib_a": "5",
                  "imax_a": "60", "constant_imp_per_kwh": "1200", "k_i": None, "k_u": None,
                  "k_imp_per_km": "1000", "tariff": "13 元 3 km"}
# Procedure documents that parse as JSON objects but are wrong inside, and values to put in one.
PROCEDURE_JSON = [{}, {"code": "JJG 443"}, {"code": None, "version": None}, {"points": [{}]}, {"x" * 300: 1}]
PROCEDURE_VALUES = [None, "", "x" * 3000, -1, 0, 1e308, "NaN", "Infinity", [], {}, True, "\x00", "9" * 30, 2**70,
                    [None], [{}], "JJG 443\x00"]
UPLOADS = [b"credit_code,name,kind,region,risk_level\n", b"", b"\x00\xff\xfe", b"a,b\n" * 3, "字,字\n".encode("gbk"),
           b"credit_code,name,kind,region,risk_level\n" + b"9" * 5000 + b",x,fuel station,320100,high\n"]
PLAN_SECRETS = ("one", "two")
COMMITMENTS = [hashlib.sha256(secret.encode()).hexdigest() for secret in PLAN_SECRETS]


def _rig_fields(c: dict) -> dict[str, st.SearchStrategy]:
    return {"kind": _ids("fdr", "emb", "tmr"), "link": _one("modbus+tcp://192.0.2.1:502?unit=1"),
            "serial_number": _one("FDR-9"), "standard_name": _one(None), "standard_certificate_no": _one("JZ-2"),
            "standard_valid_until": _one("2030-01-01"), "restricted": _one(None), "reference_constant": _one("1200")}


def _procedure_document(doc: dict) -> st.SearchStrategy:
    """The shipped document as a new version, or with one key (of its own or of its first point)
    set to something odd."""
    top = st.tuples(st.sampled_from(sorted(doc)), st.sampled_from(PROCEDURE_VALUES)).map(
        lambda kv: {**doc, kv[0]: kv[1]})
    point = st.tuples(st.sampled_from(sorted(doc["points"][0])), st.sampled_from(PROCEDURE_VALUES)).map(
        lambda kv: {**doc, "points": [{**doc["points"][0], kv[0]: kv[1]}, *doc["points"][1:]]})
    odd = st.one_of(st.just(doc), top, point, st.sampled_from(PROCEDURE_JSON))
    return st.tuples(odd, st.integers(1, 10**6)).map(lambda t: json.dumps(
        {**t[0], "version": f"2023-r{t[1]}"} if t[0].get("version") == doc["version"] else t[0], ensure_ascii=False))


# Query keys that collide with a URL rule's own arguments or with url_for's keywords.
JUNK_QUERY = ("lab_id", "endpoint", "_external", "_scheme", "_anchor", "_method", "values")

BOOKING = {"start": "09:00", "end": "11:00", "test_type": "life test", "sample_description": "6205 bearings",
           "batches": "2", "contact_name": "Zhang San", "contact_phone": "13800000000"}

ROUTES = [
    Route("GET", "bookings.catalog", lambda c: _one("/"), lambda c: {"week": _one(c["day"].isoformat()), "lang": _one("en")},
          ("anonymous", "enterprise"), extra_keys=JUNK_QUERY),
    Route("GET", "bookings.lab", lambda c: _ids(f"/labs/{c['lab']}"),
          lambda c: {"week": _one(c["day"].isoformat()), "lang": _one("zh_Hant_TW")},
          ("anonymous", "enterprise"), extra_keys=JUNK_QUERY),
    Route("GET", "web.login", lambda c: _one("/login"), lambda c: {"next": _one("/bookings"), "lang": _one("en")},
          ("anonymous",), extra_keys=JUNK_QUERY),
    Route("POST", "web.login", lambda c: _one("/login"),
          lambda c: {"email": _ids(c["enterprise"], c["manager"]), "password": _one("correct horse battery"),
                     "next": _one("/bookings")},
          ("anonymous",), examples=30, pinned=lambda c: [("anonymous", "/login", {"email": "\x00"})]),
    Route("POST", "web.logout", lambda c: _one("/logout"), lambda c: {}, ("enterprise", "anonymous"), examples=8,
          fresh_client=True, extra_keys=("next", "lang")),
    # A language is a preference on the user's row, not a state change to audit.
    Route("POST", "web.set_language", lambda c: _one("/language"), lambda c: {"lang": _one("en"), "next": _one("/")},
          ("enterprise", "anonymous"), examples=8, unaudited=("users",), done_at="/"),
    Route("GET", "web.notifications", lambda c: _one("/notifications"), lambda c: {"lang": _one("en")},
          ("enterprise",), ("anonymous",), examples=10, extra_keys=JUNK_QUERY),
    # Whether a notice was read is no state change to audit.
    Route("POST", "web.read_notifications", lambda c: _one("/notifications/read"), lambda c: {},
          ("manager", "enterprise"), ("anonymous",), examples=8, extra_keys=("note", "lang"),
          unaudited=("notifications",)),
    Route("GET", "bookings.new_booking", lambda c: _one("/bookings/new"),
          lambda c: {"lab_id": _one(str(c["lab"])), "date": _one(c["day"].isoformat()), "lang": _one("en")},
          ("enterprise",), ("manager", "anonymous"), extra_keys=JUNK_QUERY),
    Route("POST", "bookings.new_booking", lambda c: _one("/bookings/new"),
          lambda c: {"lab_id": _one(str(c["lab"])),
                     "date": _ids(*[(c["day"] + dt.timedelta(weeks=w)).isoformat() for w in range(4)]),
                     "start": _ids("09:00", "13:00"), "end": _ids("11:00", "15:00"),
                     "test_type": _one("life test"), "sample_description": _one("6205 bearings"),
                     "batches": _one("2"), "contact_name": _one("Zhang San"), "contact_phone": _one("13800000000"),
                     "instrument_ids": _one(str(c["instrument"])), "missing_documents": _one(None),
                     "commitment_signed": _one(None), "weeks": _one("1"), "policy": _one("all_or_nothing"),
                     "waitlist": _one(None)},
          ("enterprise",), ("manager", "anonymous"), examples=60, lists=("instrument_ids",),
          pinned=lambda c: [("enterprise", "/bookings/new", {**BOOKING, "lab_id": str(c["lab"]), "date": "9999-12-01",
                                                            "weeks": "52"}),
                            ("enterprise", "/bookings/new", {**BOOKING, "lab_id": str(c["lab"]),
                                                            "date": c["day"].isoformat(), "contact_name": "Zh\x00"})]),
    Route("GET", "bookings.mine", lambda c: _one("/bookings"), lambda c: {"lang": _one("en")},
          ("enterprise",), ("manager",), examples=10, extra_keys=JUNK_QUERY),
    Route("POST", "bookings.leave_waitlist",
          lambda c: _ids(c["entry"], 999999, MAX_ID + 1).map(lambda i: f"/waitlist/{i}/leave"),
          lambda c: {}, ("enterprise2",), ("enterprise", "manager", "anonymous"), examples=12,
          extra_keys=("note",)),
    Route("POST", "bookings.act",
          lambda c: st.tuples(_ids(c["booking"], c["booking_docs"], 999999, MAX_ID + 1),
                              _ids("approve", "reject", "cancel")).map(lambda t: f"/bookings/{t[0]}/{t[1]}"),
          lambda c: {"note": _one("ok"), "back": _ids("bookings.approvals", "bookings.mine")},
          ("manager", "enterprise"), ("enterprise2", "other_manager", "technician", "anonymous"), examples=30),
    Route("GET", "bookings.booking",
          lambda c: _ids(c["booking"], c["booking_docs"], 999999, MAX_ID + 1).map(lambda i: f"/bookings/{i}"),
          lambda c: {"lang": _one("en")}, ("enterprise", "manager"), ("enterprise2", "other_manager", "anonymous"),
          examples=12, extra_keys=JUNK_QUERY),
    Route("GET", "bookings.confirm_cancel",
          lambda c: _ids(c["booking"], 999999, MAX_ID + 1).map(lambda i: f"/bookings/{i}/cancel"),
          lambda c: {"lang": _one("en")}, ("enterprise", "manager"), ("enterprise2", "other_manager", "anonymous"),
          examples=10, extra_keys=JUNK_QUERY),
    Route("POST", "bookings.upload_document",
          lambda c: _ids(c["booking_docs"], c["booking"], 999999).map(lambda i: f"/bookings/{i}/documents"),
          lambda c: {"file": _one("licence.pdf")}, ("enterprise",), ("enterprise2", "manager", "anonymous"),
          examples=12),
    Route("GET", "bookings.document",
          lambda c: _ids(0, 999999, MAX_ID + 1).map(lambda i: f"/bookings/{c['booking_docs']}/documents/{i}"),
          lambda c: {"lang": _one("en")}, ("enterprise", "manager"), ("enterprise2", "anonymous"), examples=8,
          extra_keys=JUNK_QUERY),
    Route("POST", "bookings.documents_received",
          lambda c: _ids(c["booking_docs"], c["booking"], 999999).map(lambda i: f"/bookings/{i}/documents/received"),
          lambda c: {"note": _one("originals seen")}, ("manager",),
          ("enterprise", "other_manager", "technician", "anonymous"), examples=12),
    Route("POST", "bookings.act_on_series",
          lambda c: st.tuples(_ids("0" * 32, "f" * 32), _ids("approve", "reject", "cancel")).map(
              lambda t: f"/series/{t[0]}/{t[1]}"),
          lambda c: {"note": _one("ok"), "back": _ids("bookings.approvals", "bookings.mine")},
          ("manager", "enterprise"), ("enterprise2", "other_manager", "anonymous"), examples=12),
    Route("POST", "bookings.renew_lab_feed",
          lambda c: _ids(c["lab"], 999999, MAX_ID + 1).map(lambda i: f"/labs/{i}/calendar/feed"),
          lambda c: {}, ("manager",), ("other_manager", "enterprise", "anonymous"), examples=10, extra_keys=("note",)),
    Route("POST", "bookings.renew_enterprise_feed", lambda c: _one("/bookings/feed"), lambda c: {},
          ("enterprise",), ("manager", "anonymous"), examples=8, extra_keys=("next", "lang")),
    Route("GET", "bookings.approvals", lambda c: _one("/approvals"), lambda c: {"lang": _one("en")},
          ("manager",), ("enterprise",), examples=10, extra_keys=JUNK_QUERY),
    Route("GET", "bookings.lab_calendar", lambda c: _one(f"/labs/{c['lab']}/calendar"),
          lambda c: {"week": _one(c["day"].isoformat()), "lang": _one("en")},
          ("manager",), ("enterprise", "other_manager"), extra_keys=JUNK_QUERY),
    Route("GET", "bookings.manage_lab", lambda c: _one(f"/labs/{c['managed']}/manage"), lambda c: {"lang": _one("en")},
          ("manager",), ("other_manager", "enterprise"), examples=10, extra_keys=JUNK_QUERY),
    Route("POST", "bookings.save_settings", lambda c: _one(f"/labs/{c['managed']}/manage/settings"),
          lambda c: {"name": _one("Pump lab"), "location": _one("Building 2"), "bays": _one("2"),
                     "fee_per_hour": _one("80"), "fee_per_batch": _one("20.5"), "approval_mode": _one("instant"),
                     "approval_deadline_days": _one("3"), "document_deadline_days": _one("5"),
                     "min_duration_minutes": _one("30"), "max_duration_minutes": _one("480"),
                     "max_advance_days": _one("90"), "max_weekly_hours_per_enterprise": _one("20"),
                     "public_benefit": _one(None), "set_hours": _one(None), **_hours()},
          ("manager",), ("other_manager", "enterprise", "anonymous"), examples=50),
    Route("POST", "bookings.save_technicians", lambda c: _one(f"/labs/{c['managed']}/manage/technicians"),
          lambda c: {"technician_ids": _ids(str(c["technician_id"]), str(c["manager_id"]))},
          ("manager",), ("other_manager", "enterprise", "anonymous"), examples=30, lists=("technician_ids",)),
    Route("POST", "bookings.add_instrument", lambda c: _one(f"/labs/{c['managed']}/manage/instruments"),
          lambda c: {"code": _one("CT-9"), "name": _one("industrial CT"), "certificate_no": _one("JJG-9"),
                     "calibration_valid_until": _one("2030-01-01")},
          ("manager",), ("other_manager", "enterprise", "anonymous"), examples=30),
    Route("POST", "bookings.recalibrate",
          lambda c: _ids(c["managed_instrument"], c["instrument"], 999999).map(
              lambda i: f"/labs/{c['managed']}/manage/instruments/{i}"),
          lambda c: {"certificate_no": _one("JJG-10"), "calibration_valid_until": _one("2031-06-30")},
          ("manager",), ("other_manager", "enterprise", "anonymous"), examples=30),
    Route("POST", "bookings.retire_instrument",
          lambda c: _ids(c["managed_instrument"], c["instrument"], 999999).map(
              lambda i: f"/labs/{c['managed']}/manage/instruments/{i}/retire"),
          lambda c: {}, ("manager",), ("other_manager", "enterprise", "anonymous"), examples=15,
          extra_keys=("next", "lang")),
    Route("POST", "bookings.remove_closure",
          lambda c: _ids(c["managed_closure"], c["closure"], 999999).map(
              lambda i: f"/labs/{c['managed']}/manage/closures/{i}/remove"),
          lambda c: {}, ("manager",), ("other_manager", "enterprise", "anonymous"), examples=15,
          extra_keys=("next", "lang")),
    Route("POST", "bookings.save_managers",
          lambda c: _ids(f"/labs/{c['managed']}/manage/managers", f"/labs/{MAX_ID}/manage/managers"),
          lambda c: {"manager_ids": _one(str(c["manager_id"]))}, ("admin",),
          ("manager", "other_manager", "enterprise", "anonymous"), examples=25, lists=("manager_ids",)),
    Route("POST", "bookings.add_closure", lambda c: _one(f"/labs/{c['managed']}/manage/closures"),
          lambda c: {"starts_at_date": _one((c["day"] + dt.timedelta(days=60)).isoformat()),
                     "starts_at_time": _one("08:00"),
                     "ends_at_date": _one((c["day"] + dt.timedelta(days=61)).isoformat()),
                     "ends_at_time": _one("18:00"), "reason": _one("maintenance")},
          ("manager",), ("other_manager", "enterprise", "anonymous"), examples=40),
    Route("GET", "admin.labs", lambda c: _one("/admin/labs"), lambda c: {"lang": _one("en")},
          ("admin",), ("manager",), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "admin.labs", lambda c: _one("/admin/labs"),
          lambda c: {"code": st.integers(1, 10**6).map(lambda n: f"N{n}"), "name": _one("EMC lab"),
                     "discipline": _one("EMC"), "location": _one(None), "timezone": _one("Asia/Shanghai"),
                     "bays": _one("1"), "fee_per_hour": _one("100"), "fee_per_batch": _one("50"),
                     "approval_mode": _one("manager"), "approval_deadline_days": _one("3"),
                     "document_deadline_days": _one("5"), "min_duration_minutes": _one("30"),
                     "max_duration_minutes": _one("480"), "max_advance_days": _one("90"),
                     "public_benefit": _one(None), "opens": _one("08:30"), "closes": _one("17:30"),
                     "weekdays": _one(["0", "1", "2", "3", "4"]), "manager_ids": _one(str(c["manager_id"]))},
          ("admin",), ("manager", "enterprise", "anonymous"), examples=50, lists=("weekdays", "manager_ids"),
          pinned=lambda c: [("admin", "/admin/labs", {"code": "TZ1", "name": "EMC lab", "discipline": "EMC",
                                                      "timezone": "America", "opens": "08:30", "closes": "17:30",
                                                      "weekdays": ["0"]})]),
    Route("GET", "web.change_password", lambda c: _one("/account/password"),
          lambda c: {"next": _one("/bookings"), "lang": _one("en")}, ("enterprise",), ("anonymous",), examples=8,
          extra_keys=JUNK_QUERY),
    Route("POST", "web.change_password", lambda c: _one("/account/password"),
          lambda c: {"current_password": _one("correct horse battery"), "new_password": _one("a new passphrase"),
                     "confirm_password": _one("a new passphrase"), "next": _one("/bookings")},
          ("technician",), ("anonymous",), examples=30),
    Route("POST", "admin.deactivate", lambda c: _ids(f"/admin/users/{c['manager_id']}/deactivate",
                                                     f"/admin/users/{MAX_ID}/deactivate"),
          lambda c: {}, ("admin",), ("manager", "anonymous"), examples=10, extra_keys=("next", "lang")),
    Route("POST", "admin.reactivate", lambda c: _ids(f"/admin/users/{c['manager_id']}/reactivate",
                                                     f"/admin/users/{MAX_ID}/reactivate"),
          lambda c: {}, ("admin",), ("manager", "anonymous"), examples=10, extra_keys=("next", "lang")),
    Route("POST", "admin.password_reset", lambda c: _ids(f"/admin/users/{c['manager_id']}/password-reset",
                                                         f"/admin/users/{MAX_ID}/password-reset"),
          lambda c: {}, ("admin",), ("manager", "anonymous"), examples=10, extra_keys=("next", "lang")),
    Route("GET", "admin.users", lambda c: _one("/admin/users"), lambda c: {"lang": _one("en")},
          ("admin",), ("manager",), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "admin.users", lambda c: _one("/admin/users"),
          lambda c: {"email": st.integers(1, 10**6).map(lambda n: f"new{n}@example.com"),
                     "password": _one("long enough password"), "name": _one("Li Si"), "role": _one("enterprise"),
                     "enterprise_code": _one("91310000MA1FL8LQ21"), "enterprise_name": _one("Enterprise 1")},
          ("admin",), ("manager", "enterprise", "anonymous"), examples=50),
    Route("GET", "admin.holidays", lambda c: _one("/admin/holidays"), lambda c: {"lang": _one("en")},
          ("admin",), ("manager",), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "admin.holidays", lambda c: _one("/admin/holidays"), lambda c: {"schedule": _one(SCHEDULE_2027)},
          ("admin",), ("manager", "enterprise", "anonymous"), examples=40,
          pinned=lambda c: [("admin", "/admin/holidays", {"schedule": SCHEDULE_2027.replace("off", "work")}),
                            ("admin", "/admin/holidays", {"schedule": "date,kind,holiday\n9999-12-31,off,元旦\n"})]),
    Route("POST", "admin.remove_holidays", lambda c: _ids("/admin/holidays/2027/remove", f"/admin/holidays/{MAX_ID}/remove"),
          lambda c: {}, ("admin",), ("manager", "anonymous"), examples=8, extra_keys=("next", "lang")),
    # --- the staff's daily pages ----------------------------------------------------------------------
    Route("GET", "staff.day", lambda c: _one("/staff/day"), lambda c: {"day": _one(c["day"].isoformat()),
                                                                       "lang": _one("en")},
          ("manager", "technician"), ("enterprise", "anonymous"), examples=15, extra_keys=JUNK_QUERY),
    Route("GET", "staff.week", lambda c: _one("/staff/week"), lambda c: {"week": _one(c["day"].isoformat()),
                                                                         "lang": _one("en")},
          ("manager", "technician"), ("enterprise", "anonymous"), examples=15, extra_keys=JUNK_QUERY),
    Route("POST", "staff.act",
          lambda c: st.tuples(_ids(c["booking"], 999999, MAX_ID + 1), _ids("check_in", "complete", "no_show")).map(
              lambda t: f"/staff/bookings/{t[0]}/{t[1]}"),
          lambda c: {"back": _ids("/staff/day", "/staff/week?week=2026-01-05")},
          ("manager",), ("enterprise", "enterprise2", "other_manager", "technician", "anonymous"), examples=30,
          extra_keys=("note", "lang")),

    # --- verification pages ---------------------------------------------------------------------------
    Route("GET", "verifications.console", lambda c: _one("/verification/console"),
          lambda c: {"instrument_id": _one(str(c["vi"])), "as_found_id": _one(None), "rig_id": _one(str(c["rig"])),
                     "nozzle": _one("1"), "serial_number": _one(SERIAL), "lang": _one("en")},
          ("technician", "manager"), ("enterprise", "anonymous"), examples=15, extra_keys=JUNK_QUERY),
    Route("POST", "verifications.console", lambda c: _one("/verification/console"),
          lambda c: {"instrument_id": _one(str(c["vi"])), "rig_id": _one(str(c["rig"])),
                     "procedure_id": _one(None), "nozzle": _ids("1", "2"), "as_found_id": _one(None),
                     "adjustment": _one(None), "seal_number": _one("S-1")},
          ("technician", "manager", "admin"), ("enterprise", "anonymous"), examples=40),
    Route("GET", "verifications.run", lambda c: _ids(c["run"], c["done_run"], 999999, MAX_ID + 1).map(
              lambda i: f"/verification/runs/{i}"),
          lambda c: {"lang": _one("en")}, ("technician", "enterprise"), ("enterprise2", "anonymous"), examples=10,
          extra_keys=JUNK_QUERY),
    Route("GET", "verifications.live", lambda c: _ids(c["run"], c["done_run"], 999999, MAX_ID + 1).map(
              lambda i: f"/verification/runs/{i}/live.json"),
          lambda c: {}, ("technician", "enterprise"), ("enterprise2", "anonymous"), examples=10,
          extra_keys=JUNK_QUERY),
    Route("POST", "verifications.cancel", lambda c: _ids(c["run"], c["done_run"], 999999, MAX_ID + 1).map(
              lambda i: f"/verification/runs/{i}/cancel"),
          lambda c: {}, ("technician", "manager"), ("enterprise", "enterprise2", "anonymous"), examples=12,
          extra_keys=("note",)),
    Route("POST", "verifications.retry", lambda c: _ids(c["failed_run"], c["done_run"], 999999, MAX_ID + 1).map(
              lambda i: f"/verification/runs/{i}/retry"),
          lambda c: {}, ("technician", "manager"), ("enterprise", "enterprise2", "anonymous"), examples=12,
          extra_keys=("note",)),
    Route("GET", "verifications.instruments", lambda c: _one("/verification/instruments"),
          lambda c: {"kind": _one("fuel_dispenser"), "serial_number": _one(SERIAL), "lang": _one("en")},
          ("technician", "enterprise"), ("anonymous",), examples=15, extra_keys=JUNK_QUERY),
    Route("GET", "verifications.new_instrument", lambda c: _one("/verification/instruments/new"),
          lambda c: {"kind": _one("taxi_meter"), "lang": _one("en")},
          ("technician",), ("enterprise", "anonymous"), examples=10, extra_keys=JUNK_QUERY),
    Route("POST", "verifications.new_instrument", lambda c: _one("/verification/instruments/new"),
          lambda c: {"kind": _ids("fuel_dispenser", "electricity_meter", "taxi_meter"),
                     "serial_number": st.integers(1, 10**6).map(lambda n: f"VI-{n}"),
                     "owner_credit_code": _one(CODES[0]), "owner_name": _one(None), "model": _one("DJY-1"),
                     "manufacturer": _one(None), "location": _one("某路 1 号"), "plate_number": _one(None),
                     "next_due": _one(None), **{f"np_{k}": _one(v) for k, v in NAMEPLATE_FORM.items()}},
          ("technician", "manager"), ("enterprise", "anonymous"), examples=50),
    Route("GET", "verifications.instrument", lambda c: _ids(c["vi"], 999999, MAX_ID + 1).map(
              lambda i: f"/verification/instruments/{i}"),
          lambda c: {"lang": _one("en")}, ("technician", "enterprise"), ("enterprise2", "anonymous"), examples=10,
          extra_keys=JUNK_QUERY),
    Route("GET", "verifications.rigs", lambda c: _one("/verification/rigs"), lambda c: {"lang": _one("en")},
          ("technician", "manager"), ("enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "verifications.new_rig", lambda c: _one("/verification/rigs/new"), lambda c: {"lang": _one("en")},
          ("manager", "admin"), ("technician", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "verifications.new_rig", lambda c: _one("/verification/rigs/new"),
          lambda c: {**_rig_fields(c), "code": st.integers(1, 10**6).map(lambda n: f"R{n}"),
                     "lab_id": _one(str(c["lab"]))},
          ("manager", "admin"), ("other_manager", "technician", "enterprise", "anonymous"), examples=50),
    Route("GET", "verifications.edit_rig", lambda c: _ids(c["rig"], 999999, MAX_ID + 1).map(
              lambda i: f"/verification/rigs/{i}"),
          lambda c: {"lang": _one("en")}, ("manager", "other_manager"), ("technician", "enterprise", "anonymous"),
          examples=10, extra_keys=JUNK_QUERY),
    Route("POST", "verifications.edit_rig", lambda c: _ids(c["rig"], 999999).map(lambda i: f"/verification/rigs/{i}"),
          lambda c: {**_rig_fields(c), "code": _one(RIG_CODE), "active_shown": _one("1"), "active": _one("on")},
          ("manager", "admin"), ("other_manager", "technician", "enterprise", "anonymous"), examples=40),
    Route("GET", "verifications.procedures", lambda c: _one("/verification/procedures"),
          lambda c: {"lang": _one("en")}, ("technician", "enterprise"), ("anonymous",), examples=8,
          extra_keys=JUNK_QUERY),
    Route("POST", "verifications.procedures", lambda c: _one("/verification/procedures"),
          lambda c: {"document": _procedure_document(c["procedure"])},
          ("manager", "admin"), ("technician", "enterprise", "anonymous"), examples=40,
          pinned=lambda c: [("manager", "/verification/procedures", {"document": json.dumps(doc)}) for doc in (
              {**c["procedure"], "method": []},
              {**c["procedure"], "points": [{**c["procedure"]["points"][0], "operation": [None]}]})]),
    Route("GET", "verifications.public_certificate",
          lambda c: st.one_of(_ids(c["certificate"], "NOPE-1", "x" * 32, "%00", "..", "%E5%AD%97"),
                              st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/"),
                                      min_size=1, max_size=32)).map(lambda n: f"/certificates/{n}"),
          lambda c: {"lang": _one("en")}, ("anonymous", "enterprise2"), examples=20, extra_keys=JUNK_QUERY),
    Route("GET", "verifications.certificate_pdf",
          lambda c: _ids(c["certificate"], "NOPE-1", "x" * 32).map(lambda n: f"/verification/certificates/{n}.pdf"),
          lambda c: {}, ("technician", "enterprise"), ("enterprise2", "anonymous"), examples=8,
          extra_keys=JUNK_QUERY),
    # --- spot-check pages: the registry upload, the public pages, plans, a task's instrument ----------
    Route("GET", "spotchecks.upload", lambda c: _one("/spotchecks/registry/imports"), lambda c: {"lang": _one("en")},
          ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "spotchecks.upload", lambda c: _one("/spotchecks/registry/imports"),
          lambda c: {"kind": _ids("entities", "instruments", "inspectors"),
                     "file": st.builds(lambda body, name: (io.BytesIO(body), name), st.sampled_from(UPLOADS),
                                       st.sampled_from(["e.csv", "", "\x00.csv", "../../e.csv", "字" * 300]))},
          ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=30,
          unaudited=("registry_imports",), done_at="/spotchecks/registry/imports/"),
    Route("GET", "spotchecks.progress", lambda c: _ids(c["import"], 999999, MAX_ID + 1).map(
              lambda i: f"/spotchecks/registry/imports/{i}"),
          lambda c: {"lang": _one("en")}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=8,
          extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.status", lambda c: _ids(c["import"], 999999, MAX_ID + 1).map(
              lambda i: f"/spotchecks/registry/imports/{i}/status.json"),
          lambda c: {}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=8,
          extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.static", lambda c: _ids("import.js", "review.js", "vendor/README", "nope.js", "vendor/",
                                                     "../views.py", "..%2Fviews.py", "%00", "字.js").map(
              lambda f: f"/spotchecks/static/{f}"),
          lambda c: {}, ("anonymous",), examples=10, extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.public_results", lambda c: _one("/spotchecks"), lambda c: {"lang": _one("en")},
          ("anonymous", "inspector"), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.draw_record", lambda c: _ids(*c["plans"].values(), 999999, MAX_ID + 1).map(
              lambda i: f"/spotchecks/plans/{i}/draw"),
          lambda c: {"lang": _one("en")}, ("anonymous", "inspector"), examples=15, extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.nominate", lambda c: _one("/spotchecks/nominate"),
          lambda c: {"q": _ids("加油站", CODES[0], "JYJ", "%", "_"), "lang": _one("en")},
          ("anonymous",), examples=20, extra_keys=JUNK_QUERY),
    Route("POST", "spotchecks.nominate", lambda c: _one("/spotchecks/nominate"),
          lambda c: {"instrument_id": _one(str(c["registry_instrument"])), "reason": _one("总是少加油"),
                     "phone": st.integers(0, 10**8 - 1).map(lambda n: f"138{n:08d}"), "q": _one(None)},
          ("anonymous", "enterprise"), examples=30, unaudited=("spotcheck_nominations",)),
    Route("GET", "spotchecks.nominations", lambda c: _one("/spotchecks/nominations"), lambda c: {"lang": _one("en")},
          ("anonymous",), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.plans", lambda c: _one("/spotchecks/plans"), lambda c: {"lang": _one("en")},
          ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.new_plan", lambda c: _one("/spotchecks/plans/new"), lambda c: {"lang": _one("en")},
          ("inspector",), ("technician", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "spotchecks.new_plan", lambda c: _one("/spotchecks/plans/new"),
          lambda c: {"name": _one("抽查"), "instrument_kind": _one("fuel_dispenser"), "regions": _one("320100, 320300"),
                     "entity_kinds": _one(["fuel_station"]), "share_high": _one("100"), "share_medium": _one("50"),
                     "share_low": _one(None), "inspectors_per_task": _one("2"), "instruments_per_entity": _one("1"),
                     "draw_date": _one("2026-12-01"), "publication_working_days": _one("20")},
          ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=50, lists=("entity_kinds",)),
    Route("GET", "spotchecks.plan", lambda c: _ids(*c["plans"].values(), 999999, MAX_ID + 1).map(
              lambda i: f"/spotchecks/plans/{i}"),
          lambda c: {"lang": _one("en")}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=15,
          extra_keys=JUNK_QUERY),
    Route("POST", "spotchecks.add_witness", lambda c: _ids(c["plans"]["open"], c["plans"]["frozen"], 999999).map(
              lambda i: f"/spotchecks/plans/{i}/witnesses"),
          lambda c: {"name": _one("observer"), "commitment": _ids("a" * 64, "A" * 64, COMMITMENTS[0])},
          ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=30),
    Route("POST", "spotchecks.freeze", lambda c: _ids(c["plans"]["witnessed"], c["plans"]["open"], 999999).map(
              lambda i: f"/spotchecks/plans/{i}/freeze"),
          lambda c: {}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=12,
          extra_keys=("note",)),
    Route("POST", "spotchecks.reveal",
          lambda c: st.tuples(_ids(c["plans"]["frozen"], c["plans"]["open"], 999999),
                              _ids(1, 2, 3, MAX_ID + 1)).map(lambda t: f"/spotchecks/plans/{t[0]}/witnesses/{t[1]}/reveal"),
          lambda c: {"secret": _ids(*PLAN_SECRETS)}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"),
          examples=30, kept_on_refusal=("audit_log", "spotcheck_plans", "spotcheck_witnesses")),
    Route("POST", "spotchecks.run_draw", lambda c: _ids(c["plans"]["revealed"], c["plans"]["frozen"], 999999).map(
              lambda i: f"/spotchecks/plans/{i}/draw"),
          lambda c: {}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=12,
          extra_keys=("note",)),
    Route("POST", "spotchecks.add_nominated_tasks",
          lambda c: _ids(c["plans"]["drawn"], c["plans"]["open"], 999999).map(
              lambda i: f"/spotchecks/plans/{i}/nominated-tasks"),
          lambda c: {"top": _ids("1", "5")}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"),
          examples=30),
    Route("GET", "spotchecks.review_page", lambda c: _ids(c["task_instrument"], 999999, MAX_ID + 1).map(
              lambda i: f"/spotchecks/task-instruments/{i}"),
          lambda c: {"lang": _one("en")}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=10,
          extra_keys=JUNK_QUERY),
    Route("POST", "spotchecks.attach_verification", lambda c: _ids(c["task_instrument"], 999999).map(
              lambda i: f"/spotchecks/task-instruments/{i}/verification"),
          lambda c: {"verification_id": _ids(str(c["done_run"]), str(c["run"]))},
          ("inspector", "admin", "technician"), ("manager", "enterprise", "anonymous"), examples=30),
    Route("POST", "spotchecks.review", lambda c: _ids(c["task_instrument"], 999999).map(
              lambda i: f"/spotchecks/task-instruments/{i}/review"),
          lambda c: {"conclusion": _ids("pass", "fail"), "note": _one("ok")},
          ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=30),
    Route("POST", "spotchecks.countersign", lambda c: _ids(c["task_instrument"], 999999).map(
              lambda i: f"/spotchecks/task-instruments/{i}/countersign"),
          lambda c: {}, ("inspector", "admin"), ("manager", "enterprise", "anonymous"), examples=12,
          extra_keys=("note",)),
    Route("GET", "spotchecks.exports", lambda c: _one("/spotchecks/exports"), lambda c: {"lang": _one("en")},
          ("admin",), ("inspector", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "spotchecks.export_file",
          lambda c: st.tuples(_ids(1, 999999, MAX_ID + 1), _ids("csv", "json")).map(
              lambda t: f"/spotchecks/exports/{t[0]}.{t[1]}"),
          lambda c: {}, ("admin",), ("inspector", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "work_orders.week", lambda c: _one("/dispatch/week"),
          lambda c: {"week": _one(c["day"].isoformat()), "lang": _one("en")},
          ("manager", "admin"), ("technician", "enterprise", "anonymous"), examples=15, extra_keys=JUNK_QUERY),
    Route("GET", "work_orders.new_work_order", lambda c: _one("/dispatch/work-orders/new"),
          lambda c: {"day": _one(c["day"].isoformat()), "lang": _one("en")},
          ("manager",), ("technician", "enterprise", "anonymous"), examples=10, extra_keys=JUNK_QUERY),
    Route("POST", "work_orders.new_work_order", lambda c: _one("/dispatch/work-orders/new"),
          lambda c: {"site": _one("某市某路 1 号"), "day": _ids(c["day"].isoformat(), c["saturday"].isoformat()),
                     "starts": _ids("09:00", "13:00"), "ends": _ids("12:00", "17:30"), "note": _one(None),
                     "instrument_ids": _one(str(c["wo_instrument"])), "technician_ids": _one(str(c["technician_id"])),
                     "rig_ids": _one(str(c["portable_rig"]))},
          ("manager", "admin"), ("technician", "enterprise", "anonymous"), examples=60,
          lists=("instrument_ids", "technician_ids", "rig_ids")),
    Route("GET", "work_orders.work_order",
          lambda c: _ids(c["work_order"], 999999, MAX_ID + 1).map(lambda i: f"/dispatch/work-orders/{i}"),
          lambda c: {"lang": _one("en")}, ("manager", "technician"), ("enterprise", "anonymous"), examples=10,
          extra_keys=JUNK_QUERY),
    Route("POST", "work_orders.assign",
          lambda c: _ids(c["free_order"], c["work_order"], 999999).map(lambda i: f"/dispatch/work-orders/{i}/assignments"),
          lambda c: {"technician_id": _ids(str(c["technician_id"]), str(c["manager_id"])),
                     "rig_id": _one(None)},
          ("manager",), ("technician", "enterprise", "anonymous"), examples=40),
    Route("POST", "work_orders.unassign",
          lambda c: st.tuples(_ids(c["work_order"], 999999), _ids(c["assignment"], 999999, MAX_ID + 1)).map(
              lambda t: f"/dispatch/work-orders/{t[0]}/assignments/{t[1]}/remove"),
          lambda c: {}, ("manager",), ("technician", "enterprise", "anonymous"), examples=12, extra_keys=("note",)),
    Route("POST", "work_orders.act",
          lambda c: st.tuples(_ids(c["work_order"], c["free_order"], 999999, MAX_ID + 1),
                              _ids("start", "finish", "cancel")).map(lambda t: f"/dispatch/work-orders/{t[0]}/{t[1]}"),
          lambda c: {}, ("manager", "technician"), ("enterprise", "anonymous"), examples=30, extra_keys=("note",)),
    Route("GET", "work_orders.mine", lambda c: _one("/dispatch/mine"), lambda c: {"lang": _one("en")},
          ("technician",), ("manager", "enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "work_orders.declare_staffed_day", lambda c: _one("/dispatch/staffed-days"),
          lambda c: {"day": _ids((c["saturday"] + dt.timedelta(days=7)).isoformat(), c["day"].isoformat())},
          ("manager",), ("technician", "enterprise", "anonymous"), examples=30),
    Route("POST", "work_orders.withdraw_staffed_day", lambda c: _one("/dispatch/staffed-days/withdraw"),
          lambda c: {"day": _ids(c["saturday"].isoformat(), c["day"].isoformat())},
          ("manager",), ("technician", "enterprise", "anonymous"), examples=30),
    # Verification as a service: requests, the clock's acts, the deadlines, the public figures, the taxi queue.
    Route("GET", "services.requests", lambda c: _one("/services/requests"),
          lambda c: {"state": _ids("requested", "concluded"), "lang": _one("en")}, ("enterprise", "manager"),
          ("anonymous",), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "services.new_request", lambda c: _one("/services/requests/new"), lambda c: {"lang": _one("en")},
          ("enterprise",), ("manager", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "services.new_request", lambda c: _one("/services/requests/new"),
          lambda c: {"mode": _ids("on_site", "weekend", "taxi_at_once"), "instrument_ids": _one(str(c["svc_meter"])),
                     "address": _one("某区某路 1 号"), "preferred_dates": _one(None), "contact_name": _one("李明"),
                     "contact_phone": _one("13800000001"), "note": _one(None), "missing_documents": _one(None),
                     "commitment_signed": _one(None)},
          ("enterprise",), ("enterprise2", "manager", "anonymous"), examples=50,
          lists=("instrument_ids", "preferred_dates"), unaudited=("service_requests", "service_request_instruments",
                                                                  "service_steps")),
    Route("GET", "services.request", lambda c: _ids(c["svc_request"], 999999, MAX_ID + 1).map(
              lambda i: f"/services/requests/{i}"), lambda c: {"lang": _one("en")},
          ("enterprise", "technician"), ("enterprise2", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "services.accept", lambda c: _ids(c["svc_request"], c["svc_accepted"], 999999).map(
              lambda i: f"/services/requests/{i}/accept"), lambda c: {},
          ("manager",), ("technician", "enterprise", "anonymous"), examples=10, extra_keys=("note",),
          unaudited=("service_requests", "service_steps")),
    Route("POST", "services.refuse", lambda c: _ids(c["svc_request"], c["svc_accepted"], 999999).map(
              lambda i: f"/services/requests/{i}/refuse"), lambda c: {"reason": _one("仪表已报废")},
          ("manager",), ("technician", "enterprise", "anonymous"), examples=25,
          unaudited=("service_requests", "service_steps")),
    Route("POST", "services.pause", lambda c: _ids(c["svc_request"], c["svc_docs"], 999999).map(
              lambda i: f"/services/requests/{i}/pause"),
          lambda c: {"reason": _ids("missing_documents", "enterprise_unavailable"), "note": _one("停产")},
          ("technician", "manager"), ("enterprise", "anonymous"), examples=25,
          unaudited=("service_pauses", "service_steps")),
    Route("POST", "services.resume", lambda c: _ids(c["svc_paused"], c["svc_request"], 999999).map(
              lambda i: f"/services/requests/{i}/resume"), lambda c: {},
          ("technician",), ("enterprise", "anonymous"), examples=8, extra_keys=("note",),
          unaudited=("service_requests", "service_pauses", "service_steps")),
    Route("POST", "services.documents", lambda c: _ids(c["svc_docs"], c["svc_request"], 999999).map(
              lambda i: f"/services/requests/{i}/documents"), lambda c: {},
          ("enterprise", "technician"), ("enterprise2", "anonymous"), examples=8, extra_keys=("note",),
          unaudited=("service_requests", "service_steps")),
    Route("POST", "services.start_run", lambda c: _ids(c["svc_accepted"], c["svc_request"], 999999).map(
              lambda i: f"/services/requests/{i}/runs"),
          lambda c: {"instrument_id": _ids(str(c["svc_accepted_meter"]), str(c["vi"])),
                     "rig_id": _ids(str(c["tmr_rig"]), str(c["rig"]))},
          ("technician",), ("enterprise", "anonymous"), examples=25, unaudited=("service_steps",)),
    Route("GET", "services.settings", lambda c: _one("/services/settings"), lambda c: {"lang": _one("en")},
          ("admin",), ("manager", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "services.settings", lambda c: _one("/services/settings"),
          lambda c: {"mode": _ids("on_site", "weekend"), "acceptance_days": _one("1"), "conclusion_days": _one("5"),
                     "active": _one("on")},
          ("admin",), ("manager", "enterprise", "anonymous"), examples=40),
    Route("GET", "services.public", lambda c: _one("/public/services"),
          lambda c: {"month": _ids("2026-09", "2026-10"), "lang": _one("en")}, ("anonymous", "enterprise"),
          examples=25, extra_keys=JUNK_QUERY),
    Route("GET", "services.taxi", lambda c: _one("/taxi"), lambda c: {"lang": _one("en")}, ("anonymous",),
          examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "services.taxi", lambda c: _one("/taxi"),
          lambda c: {"plate_number": _one("京B12345"), "meter_serial": _one("TM-FUZZ-1")}, ("anonymous",),
          examples=40, unaudited=("taxi_tickets",), done_at="/taxi/"),
    Route("GET", "services.ticket", lambda c: _ids(c["svc_ticket"], "x" * 43, "x" * 65).map(lambda t: f"/taxi/{t}"),
          lambda c: {"lang": _one("en")}, ("anonymous",), examples=8, extra_keys=JUNK_QUERY),
    Route("GET", "services.queue", lambda c: _one("/services/taxi-queue"), lambda c: {"lang": _one("en")},
          ("technician",), ("enterprise", "anonymous"), examples=8, extra_keys=JUNK_QUERY),
    Route("POST", "services.call_next", lambda c: _one("/services/taxi-queue/next"), lambda c: {},
          ("technician",), ("enterprise", "anonymous"), examples=8, extra_keys=("note",), unaudited=("taxi_tickets",)),
    Route("POST", "services.ticket_run", lambda c: _ids(c["svc_called"], c["svc_ticket_id"], 999999).map(
              lambda i: f"/services/taxi-queue/{i}/run"),
          lambda c: {"rig_id": _ids(str(c["tmr_rig"]), str(c["rig"]))},
          ("technician",), ("enterprise", "anonymous"), examples=25, unaudited=("taxi_tickets",)),
    Route("POST", "services.skip", lambda c: _ids(c["svc_called"], c["svc_ticket_id"], 999999).map(
              lambda i: f"/services/taxi-queue/{i}/skip"), lambda c: {},
          ("technician",), ("enterprise", "anonymous"), examples=8, extra_keys=("note",), unaudited=("taxi_tickets",)),
]


# Signing in and out, and a refused password change, write their own records (sessions, the failures
# the throttle counts, the audit log) whatever the answer, and nothing else.
SIGN_IN_RECORDS = {"audit_log", "sign_in_failures", "user_sessions"}


def _fast_hashes(monkeypatch):
    # argon2's memory-hard defaults cost a tenth of a second a login; the pages do not care how hard.
    import labs.accounts.service as accounts
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def _world(app, world) -> dict:
    """A lab to book (one bay, taken at 09:00-11:00 with someone waiting, and a booking with missing
    documents) and a lab to manage, users of every kind, and a signed-in client for each."""
    manager_id, manager = world.user("lab_manager")
    _, other_manager = world.user("lab_manager")
    _, admin = world.user("admin")
    technician_id, technician = world.user("technician")
    _, enterprise = world.user("enterprise", enterprise=0)
    _, enterprise2 = world.user("enterprise", enterprise=2)
    day = next_working_day()
    instrument = {"code": "CT-1", "name": "industrial CT", "certificate_no": "C1",
                  "calibration_valid_until": day + dt.timedelta(days=400)}
    lab = world.lab(manager_ids=[manager_id], instruments=[instrument])
    managed = world.lab(manager_ids=[manager_id], instruments=[instrument])
    ids = {}
    with app.app_context(), session_scope(app) as s:
        from labs.accounts.service import SYSTEM
        from labs.catalog.models import Instrument
        from labs.catalog.service import add_closure
        closed = dt.datetime.combine(day + dt.timedelta(days=30), dt.time(8), ZoneInfo("Asia/Shanghai"))
        for lab_id, key in ((lab, "instrument"), (managed, "managed_instrument")):
            ids[key] = s.scalar(select(Instrument.id).where(Instrument.lab_id == lab_id))
        for lab_id, key in ((lab, "closure"), (managed, "managed_closure")):
            ids[key] = add_closure(s, SYSTEM, lab_id, closed, closed + dt.timedelta(hours=4), "maintenance").id
    api = world.client
    r = api.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(enterprise))
    assert r.status_code == 201, r.json
    ids["booking"] = r.json["id"]
    r = api.post("/api/v1/bookings", json=booking_body(lab, day, 13, 15, missing_documents="licence",
                                                       commitment_signed=True), headers=world.token(enterprise))
    assert r.status_code == 201, r.json
    ids["booking_docs"] = r.json["id"]
    r = api.post("/api/v1/waitlist", json=booking_body(lab, day), headers=world.token(enterprise2))
    assert r.status_code == 201, r.json
    ids["entry"] = r.json["id"]
    emails = {"manager": manager, "other_manager": other_manager, "admin": admin, "technician": technician,
              "enterprise": enterprise, "enterprise2": enterprise2}
    clients = {name: signed_in(app, email) for name, email in emails.items()}
    clients["anonymous"] = app.test_client()
    return {**ids, **emails, "lab": lab, "managed": managed, "day": day, "manager_id": manager_id,
            "technician_id": technician_id,
            "clients": clients, "emails": emails}


def _verification_world(app, world, ctx: dict) -> dict:
    """For the verification and spot-check pages: the enterprise's dispenser and a rig of the lab,
    runs queued, failed and done (its notice of failure), a registry with the dispenser's station
    in it, plans in each state of the draw, the drawn nozzle with the done run attached and a first
    conclusion (the `inspector` is one of the two inspectors drawn for it), and an upload waiting
    for the importer."""
    from labs.accounts.service import SYSTEM
    from labs.spotchecks import registry, results, service as spotchecks
    from labs.spotchecks.models import Region, RegistryEntity, RegistryInspector, RegistryInstrument, Task
    from labs.verification import domain, procedures, service as verification
    from labs.verification.models import Verification
    from tests.verification.conftest import DISPENSER
    inspector_id, inspector = world.user("inspector")
    ids: dict = {}
    with app.app_context(), session_scope(app) as s:
        verification.sync_procedures(s)
        ids["vi"] = verification.register_instrument(s, SYSTEM, {
            "kind": "fuel_dispenser", "serial_number": SERIAL, "owner_credit_code": CODES[0],
            "nameplate": DISPENSER}).id
        ids["rig"] = verification.register_rig(s, SYSTEM, {
            "code": RIG_CODE, "kind": "fdr", "link": "modbus+tcp://127.0.0.1:1?unit=1", "serial_number": "FDR-SIM-1",
            "lab_id": ctx["lab"], "standard_certificate_no": "JZ-1",
            "standard_valid_until": dt.date.today() + dt.timedelta(days=365)}).id
        runs = {}
        for state in ("queued", "failed", "done"):
            run = verification.request_verification(s, SYSTEM, ids["vi"], ids["rig"], nozzle=1)
            s.flush()
            run.state = "queued" if state == "done" else state
            runs[state] = run.id
        done = s.get(Verification, runs["done"])
        evaluation = domain.evaluate(done.procedure.data, done.instrument.nameplate, verification.plan_points(done), {})
        ids["certificate"] = verification.conclude(s, done, evaluation).number
        ids.update(run=runs["queued"], failed_run=runs["failed"], done_run=runs["done"])
        ids["procedure"] = next(d for d in procedures.shipped() if d["code"] == "JJG 443" and d["in_force"])
        s.merge(Region(code="320100", name="南京市"))
        s.merge(Region(code="320300", name="徐州市"))
        entity = RegistryEntity(credit_code=CODES[0], name="Enterprise 0", kind="fuel_station", region="320300",
                                risk_level="high")
        s.add(entity)
        s.flush()
        nozzle = RegistryInstrument(entity_id=entity.id, kind="fuel_dispenser", serial_number=SERIAL)
        s.add(nozzle)
        s.add_all([RegistryInspector(name="A", qualifications=["fuel_dispenser"], affiliation="A", user_id=inspector_id),
                   RegistryInspector(name="B", qualifications=["fuel_dispenser"], affiliation="B")])
        s.flush()
        ids["registry_instrument"] = nozzle.id
        ids["plans"] = {}
        steps = ["open", "witnessed", "frozen", "revealed", "drawn"]
        for state in steps:
            plan = spotchecks.create_plan(s, SYSTEM, {
                "name": f"抽查 {state}", "instrument_kind": "fuel_dispenser", "regions": ["320300"],
                "entity_kinds": ["fuel_station"], "shares": {"high": "1"}, "draw_date": dt.date(2026, 12, 1)})
            if steps.index(state) >= 1:
                for commitment in COMMITMENTS:
                    spotchecks.add_witness(s, SYSTEM, plan.id, "witness", commitment)
            if steps.index(state) >= 2:
                spotchecks.freeze(s, SYSTEM, plan.id)
            if steps.index(state) >= 3:
                for position, secret in enumerate(PLAN_SECRETS, start=1):
                    spotchecks.reveal(s, SYSTEM, plan.id, position, secret)
            if steps.index(state) >= 4:
                spotchecks.draw(s, SYSTEM, plan.id)
                ids["task_instrument"] = s.scalar(select(Task).where(Task.plan_id == plan.id)).instruments[0].id
                # Its run attached and concluded, so the review and the countersignature go past their first check.
                results.attach_verification(s, SYSTEM, ids["task_instrument"], runs["done"])
                results.review(s, SYSTEM, ids["task_instrument"], "fail", "short by 0.4 %")
            ids["plans"][state] = plan.id
        ids["import"] = registry.queue_import(s, SYSTEM, "entities", "e.csv", UPLOADS[0]).id
    ctx["clients"]["inspector"] = signed_in(app, inspector)
    ctx["emails"]["inspector"] = inspector
    return ids


def _services_world(app, ctx: dict) -> dict:
    """For the services pages: the enterprise's taxi meters, requests just made, accepted, paused and
    with documents to follow, a TMR rig, and a ticket waiting and one called to the rig."""
    from labs.accounts.models import User
    from labs.accounts.service import SYSTEM
    from labs.services import service as services
    from labs.verification import service as verification
    from tests.verification.conftest import NAMEPLATES
    ids: dict = {}
    with app.app_context(), session_scope(app) as s:
        owner = s.scalar(select(User).where(User.email == ctx["enterprise"]))
        manager = s.scalar(select(User).where(User.email == ctx["manager"]))

        def meter(n: int) -> int:
            return verification.register_instrument(s, SYSTEM, {
                "kind": "taxi_meter", "serial_number": f"TM-FUZZ-{n}", "owner_credit_code": CODES[0],
                "nameplate": NAMEPLATES["taxi_meter"]}).id

        def request(n: int, **extra) -> int:
            return services.submit_request(s, owner, {"mode": "taxi_at_once", "instrument_ids": [meter(n)],
                                                      "contact_name": "李明", "contact_phone": "13800000001",
                                                      **extra}).id
        ids["svc_meter"] = meter(1)
        ids["svc_request"] = request(2)
        ids["svc_accepted"] = request(3)
        services.accept_request(s, manager, ids["svc_accepted"])
        ids["svc_accepted_meter"] = s.get(services.ServiceRequest, ids["svc_accepted"]).items[0].instrument_id
        ids["svc_paused"] = request(4)
        services.pause_clock(s, manager, ids["svc_paused"], "enterprise_unavailable")
        ids["svc_docs"] = request(5, missing_documents="授权委托书", commitment_signed=True)
        ids["tmr_rig"] = verification.register_rig(s, SYSTEM, {
            "code": "FUZZ-TMR-1", "kind": "tmr", "link": "serial:///dev/ttyS99?baud=9600",
            "serial_number": "TMR-SIM-1", "lab_id": ctx["lab"], "standard_certificate_no": "JZ-3",
            "standard_valid_until": dt.date.today() + dt.timedelta(days=365)}).id
        services.take_ticket(s, "key", "京B54321", "TM-FUZZ-1", "192.0.2.2")
        ids["svc_called"] = services.call_next(s, manager).id
        waiting = services.take_ticket(s, "key", "京B12345", "TM-FUZZ-1", "192.0.2.1")
        ids["svc_ticket"], ids["svc_ticket_id"] = waiting.token, waiting.id
    return ids


def _dispatch_world(app, ctx: dict) -> dict:
    """For the dispatch pages: the enterprise's dispenser, a portable rig, a work order on the day
    with the technician and the rig, another with nobody yet, and a Saturday declared staffed."""
    from labs.accounts.service import SYSTEM
    from labs.dispatch import service as dispatch
    from labs.dispatch.models import Assignment
    from labs.verification import service as verification
    from tests.dispatch.conftest import weekday_ahead
    from tests.verification.conftest import DISPENSER
    saturday = weekday_ahead(5)
    with app.app_context(), session_scope(app) as s:
        verification.sync_procedures(s)
        instrument = verification.register_instrument(s, SYSTEM, {
            "kind": "fuel_dispenser", "serial_number": "JYJ-FUZZ-WO", "owner_credit_code": CODES[0],
            "nameplate": DISPENSER}).id
        rig = verification.register_rig(s, SYSTEM, {
            "code": "FUZZ-FDR-P", "kind": "fdr", "link": "modbus+tcp://127.0.0.1:1?unit=1", "serial_number": "FDR-P",
            "portable": True, "standard_certificate_no": "JZ-P",
            "standard_valid_until": dt.date.today() + dt.timedelta(days=365)}).id
        plan = {"instrument_ids": [instrument], "site": "某市某路 1 号", "day": ctx["day"]}
        order = dispatch.plan_work_order(s, SYSTEM, {**plan, "starts": dt.time(9), "ends": dt.time(12),
                                                     "technician_ids": [ctx["technician_id"]], "rig_ids": [rig]})
        free = dispatch.plan_work_order(s, SYSTEM, {**plan, "starts": dt.time(14), "ends": dt.time(16)})
        dispatch.declare_staffed_day(s, SYSTEM, saturday)
        s.flush()
        assignment = s.scalar(select(Assignment.id).where(Assignment.work_order_id == order.id,
                                                          Assignment.rig_id == rig))
    return {"wo_instrument": instrument, "portable_rig": rig, "work_order": order.id, "free_order": free.id,
            "assignment": assignment, "saturday": saturday}


def _snapshot(app) -> dict[str, list[str]]:
    """Every row of every table, through the app's engine: a refused request must leave all equal."""
    with app.extensions["labs.engine"].connect() as conn:
        return {t.name: sorted(repr(tuple(row)) for row in conn.execute(select(t)))
                for t in Base.metadata.sorted_tables}


def _flashes(client) -> list[tuple[str, str]]:
    """The messages a redirect left for the next page, taken (so the next request starts clean)."""
    with client.session_transaction() as sess:
        return sess.pop("_flashes", [])


MESSAGE_RE = re.compile(r'<(p|div|span) class="(?:flash error|field-error)"[^>]*>(.*?)</\1>', re.S)
WERKZEUG_RE = re.compile(r"<title>\d{3} [^<]+</title>\s*<h1>[^<]+</h1>\s*<p>(.+?)</p>", re.S)


def _message(html: str) -> str:
    texts = [re.sub(r"<[^>]+>", " ", m.group(2)) for m in MESSAGE_RE.finditer(html)]
    texts += [m.group(1) for m in WERKZEUG_RE.finditer(html)]  # routing's 404 for an id past the column
    if html.startswith("{"):  # the JSON a page polls (live.json) says what is wrong in its detail
        texts.append(str(json.loads(html).get("detail") or ""))
    return " ".join(unescape(" ".join(texts)).split())


def _twisted(valid) -> st.SearchStrategy:
    """A valid value made hostile: with a NUL byte, too long, padded, with an emoji."""
    if not isinstance(valid, str):
        return HOSTILE
    return st.sampled_from([valid + "\x00", "\x00" + valid, valid * 400, f" {valid} ", valid + "😀", valid[:-1]])


@st.composite
def _request(draw, route: Route, ctx: dict):
    who = draw(st.sampled_from(route.allowed * 3 + route.refused))
    path = draw(route.path(ctx))
    good = route.fields(ctx)
    names = sorted(good)
    # One broken field in an otherwise valid form, so the input gets past the first check to the
    # service and the database; or every field of a kind (dates, times, numbers, zones) at once at
    # its far edges, where two fields meet (52 weekly slots from 9999-12-01); or any set of fields.
    # Shrinks towards the valid form.
    mode = draw(st.sampled_from(["one", "edges", "any"])) if names else "any"
    broken = set()
    if mode == "one":
        broken = {draw(st.sampled_from(names))}
    elif mode == "any" and names:
        broken = draw(st.sets(st.sampled_from(names)))
    data: dict[str, object] = {}
    for name in names:
        value = draw(good[name])
        kind = _kind(name)[0]
        edges = LIMITS.get(name) or (EDGES[kind] if kind and kind != "number" else None)
        if mode == "edges" and edges and not isinstance(value, list) and draw(st.booleans()):
            value = draw(st.sampled_from(edges))
        elif name in broken:
            valid = value if value is not None else "1"
            value = draw(st.one_of(
                _hostile_for(name),
                st.just(None),  # missing
                _twisted(valid),
                st.lists(HOSTILE, min_size=2, max_size=4),  # many where one is expected
                st.lists(st.one_of(st.just(valid), HOSTILE), min_size=2, max_size=3).map(
                    lambda vs: [v for item in vs for v in (item if isinstance(item, list) else [item])]),
                st.lists(HOSTILE, min_size=51, max_size=60) if name in route.lists else HOSTILE,
            ))
        if value is not None:
            data[name] = value
    for key in draw(st.sets(st.sampled_from(route.extra_keys))) if route.extra_keys else ():
        data[key] = draw(HOSTILE)
    return who, path, data


def _form_routes_in(app) -> set[tuple[str, str]]:
    return {(method, rule.endpoint) for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in BLUEPRINTS for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_page_route_is_fuzzed(app):
    """A new page route must join ROUTES: the fuzz only covers what it is told about."""
    assert _form_routes_in(app) == {(r.method, r.endpoint) for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_hostile_form_input_is_refused_cleanly_and_writes_nothing(app, world, route, monkeypatch):
    _fast_hashes(monkeypatch)
    ctx = _world(app, world)
    if route.endpoint.split(".")[0] in ("verifications", "spotchecks"):
        ctx.update(_verification_world(app, world, ctx))
    if route.endpoint.split(".")[0] == "services":
        ctx.update(_verification_world(app, world, ctx))
        ctx.update(_services_world(app, ctx))
    if route.endpoint.split(".")[0] == "work_orders":
        ctx.update(_dispatch_world(app, ctx))

    def client_for(who: str):
        if route.fresh_client:
            return signed_in(app, ctx["emails"][who]) if who != "anonymous" else app.test_client()
        return ctx["clients"][who]

    @settings(max_examples=route.examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=_request(route, ctx))
    def exercise(case):
        who, path, data = case
        client = client_for(who)
        # Fetched each time: a successful login starts a new session, and with it a new token.
        token = csrf_token(client, "/login") if route.method == "POST" else None
        before = _snapshot(app)
        if route.method == "GET":
            r = client.get(path, query_string=data)
        else:
            r = client.post(path, data={**data, "csrf_token": token})
        html = r.get_data().decode("utf-8", "replace")  # a PDF, too
        flashes = _flashes(client)
        after = _snapshot(app)
        changed = sorted(t for t in before if before[t] != after[t])
        said = f"{who} {route.method} {path} {data!r} -> {r.status_code}"
        assert r.status_code < 500, said
        if 400 <= r.status_code < 500:
            assert _message(html), f"{said}: no message on the page\n{html[-2000:]}"
        to_login = r.status_code == 302 and r.headers["Location"].startswith("/login")
        refused = r.status_code >= 400 or to_login or (
            r.status_code in (302, 303) and route.method == "POST" and not any(c == "info" for c, _m in flashes)
            and not (route.done_at and r.headers["Location"].startswith(route.done_at)))
        if route.endpoint in ("web.login", "web.logout") or route.endpoint == "web.change_password" and refused:
            # Every checked password is audited and a wrong one counted, refused or not.
            assert set(changed) <= SIGN_IN_RECORDS, f"{said}: {changed} changed"
        elif refused and changed and route.kept_on_refusal and who not in route.refused:
            assert "audit_log" in changed and set(changed) <= set(route.kept_on_refusal), f"{said}: {changed} changed"
        elif route.method == "GET" or refused:
            assert changed == [], f"{said}: refused, yet {changed} changed"
        elif changed and not set(changed) <= set(route.unaudited):
            # Every write a page makes is audited: a change without its entry is half a record.
            assert "audit_log" in changed, f"{said}: {changed} changed without an audit entry"
        if who in route.refused:
            assert refused, f"{said}: {who} may not use this"

    for case in route.pinned(ctx):
        exercise = example(case=case)(exercise)
    exercise()
