"""Demo data for the embedded default: the bureau's public labs, one user per role, two
enterprises, and a few bookings. Running it again changes nothing."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from labs.accounts.models import User
from labs.accounts.service import SYSTEM, create_user
from labs.catalog.service import create_lab
from labs.db import session_scope

PASSWORD = "demo-password"
USERS = [
    ("admin", "admin@labs.example", None, None),
    ("lab_manager", "manager@labs.example", None, None),
    ("technician", "tech@labs.example", None, None),
    ("technician", "tech2@labs.example", None, None),  # two technicians share the work orders on site
    ("inspector", "inspector@labs.example", None, None),
    ("inspector", "inspector2@labs.example", None, None),  # a second inspector countersigns spot-checks
    ("enterprise", "alice@bearing.example", "91110000600037341L", "北京某轴承股份有限公司"),
    ("enterprise", "bob@pump.example", "91310000MA1FL8LQ21", "上海某泵阀有限公司"),
]
WEEKDAYS = [{"weekday": d, "opens": dt.time(8, 30), "closes": dt.time(17, 30)} for d in range(5)]
SATURDAY = [{"weekday": 5, "opens": dt.time(9), "closes": dt.time(15)}]
LABS = [
    ("BRG", "轴承寿命试验室", "bearings", 4, False, "120", "300", "manager", SATURDAY),
    ("PVL", "泵阀性能试验室", "pumps and valves", 2, False, "200", "500", "manager", []),
    ("LED", "LED光电性能实验室", "LED", 3, True, "0", "0", "instant", []),
    ("ICT", "工业CT检测室", "industrial CT", 1, False, "800", "150", "manager", []),
    ("EMC", "电磁兼容实验室", "EMC", 1, False, "600", "0", "manager", SATURDAY),
    ("GCY", "气瓶检验站", "gas cylinders", 2, True, "0", "0", "instant", []),
]


def seed(app) -> list[tuple[str, str, str]]:
    with app.app_context(), session_scope(app) as session:
        if session.scalar(select(User.id).limit(1)) is None:
            users = {}
            for role, email, code, name in USERS:
                users[email] = create_user(session, SYSTEM, email, PASSWORD, role, email.split("@")[0], code, name)
            admin, manager = users["admin@labs.example"], users["manager@labs.example"]
            technician = users["tech@labs.example"]
            valid = dt.date.today() + dt.timedelta(days=365)
            for code, name, discipline, bays, public, per_hour, per_batch, mode, weekend in LABS:
                create_lab(session, admin, {
                    "code": code, "name": name, "discipline": discipline, "location": "质监局检测中心",
                    "timezone": app.config["TIMEZONE"], "bays": bays, "public_benefit": public,
                    "fee_per_hour": Decimal(per_hour), "fee_per_batch": Decimal(per_batch),
                    "approval_mode": mode, "hours": WEEKDAYS + weekend, "manager_ids": [manager.id],
                    "technician_ids": [technician.id],  # the demo's technician works in every lab
                    "instruments": [
                        {"code": f"{code}-01", "name": f"{name} 主设备", "certificate_no": f"JZ{code}2026-001",
                         "calibration_valid_until": valid},
                        # one instrument whose calibration runs out soon, to show the refusal
                        {"code": f"{code}-02", "name": f"{name} 辅助设备", "certificate_no": f"JZ{code}2026-002",
                         "calibration_valid_until": dt.date.today() + dt.timedelta(days=10)},
                    ],
                })
            _demo_bookings(session, app.config["TIMEZONE"], users)
            _todays_bookings(session, app.config["TIMEZONE"], users)
            _series_and_documents(session, app.config["TIMEZONE"], users)
    return [(role, email, PASSWORD) for role, email, _, _ in USERS]


def _demo_bookings(session, timezone: str, users: dict) -> None:
    """A pending request and an instantly approved booking on the next working days."""
    from booking.service import BookingRequest, request_booking
    from labs.catalog.models import Lab
    from labs.workdays import day_kind

    tz = ZoneInfo(timezone)
    day = dt.date.today() + dt.timedelta(days=3)
    while not (day_kind(day).working and day.weekday() < 5):
        day += dt.timedelta(days=1)
    labs = {lab.code: lab.id for lab in session.scalars(select(Lab))}
    for email, code, hours, test in (("alice@bearing.example", "BRG", (9, 12), "轴承疲劳寿命试验"),
                                     ("bob@pump.example", "LED", (14, 16), "LED光通量测试")):
        start = dt.datetime.combine(day, dt.time(hours[0]), tz)
        end = dt.datetime.combine(day, dt.time(hours[1]), tz)
        request_booking(session, users[email], BookingRequest(
            labs[code], start, end, test, "样品3批", 3, email.split("@")[0], "13800000000"))


def _todays_bookings(session, timezone: str, users: dict) -> None:
    """Two approved bookings in the bearing lab today, for the technician's day page (check-in,
    complete, no-show); none when the lab is closed today."""
    from booking.service import BookingRequest, request_booking, transition
    from labs.catalog.models import Lab
    from labs.errors import Invalid

    tz = ZoneInfo(timezone)
    today = dt.datetime.now(tz).date()
    yesterday = dt.datetime.now(tz) - dt.timedelta(days=1)  # when they were requested and approved
    lab = session.scalar(select(Lab).where(Lab.code == "BRG"))
    for email, hours, test in (("alice@bearing.example", (9, 11), "轴承振动测试"),
                               ("bob@pump.example", (14, 16), "轴承温升试验")):
        request = BookingRequest(lab.id, dt.datetime.combine(today, dt.time(hours[0]), tz),
                                 dt.datetime.combine(today, dt.time(hours[1]), tz), test, "样品2批", 2,
                                 email.split("@")[0], "13800000000")
        try:
            booking = request_booking(session, users[email], request, now=yesterday)
        except Invalid:  # a holiday or a Sunday: the lab is closed today
            return
        transition(session, users["manager@labs.example"], booking.id, "approve", now=yesterday)


def _series_and_documents(session, timezone: str, users: dict) -> None:
    """A weekly series waiting in the approval queue, and a booking accepted with a document missing
    (容缺受理) whose scan the enterprise has uploaded, for the manager to confirm receipt."""
    import io

    from reportlab.pdfgen import canvas

    from booking.service import BookingRequest, request_booking, request_series, upload_document
    from labs.catalog.models import Lab
    from labs.workdays import day_kind

    tz = ZoneInfo(timezone)
    labs = {lab.code: lab.id for lab in session.scalars(select(Lab))}
    day = dt.date.today() + dt.timedelta(days=8)
    while not all(day_kind(day + dt.timedelta(weeks=week)).working for week in range(4)) or day.weekday() != 1:
        day += dt.timedelta(days=1)
    request_series(session, users["bob@pump.example"], BookingRequest(
        labs["PVL"], dt.datetime.combine(day, dt.time(9), tz), dt.datetime.combine(day, dt.time(12), tz),
        "阀门密封性能试验", "DN50 闸阀 每周1批", 1, "bob", "13900000000"), 4, "skip_conflicts")
    booking = request_booking(session, users["alice@bearing.example"], BookingRequest(
        labs["ICT"], dt.datetime.combine(day, dt.time(14), tz), dt.datetime.combine(day, dt.time(16), tz),
        "工业CT内部缺陷检测", "轴承座铸件 2 件", 1, "alice", "13800000000",
        missing_documents="营业执照副本、委托检测协议", commitment_signed=True))
    scan = io.BytesIO()
    page = canvas.Canvas(scan)
    page.drawString(72, 760, "Business licence (copy) - demo")
    page.save()
    upload_document(session, users["alice@bearing.example"], booking.id, "营业执照副本.pdf", scan.getvalue())
