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


