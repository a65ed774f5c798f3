"""The demo's work orders on site: a portable dispenser rig, two fuel stations' dispensers and a
factory's meters, and a week of work orders from today for the two demo technicians, one of them
on a staffed Saturday. Runs after the verification demo (its instruments); once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from labs.accounts.models import User
from labs.accounts.service import SYSTEM
from labs.dispatch import service
from labs.dispatch.models import WorkOrder
from labs.verification import service as verification
from labs.verification.models import Rig, VerifiedInstrument
from labs.workdays import day_kind

RIG = {"code": "FDR-P01", "kind": "fdr", "link": "modbus+tcp://192.0.2.30:502?unit=1", "serial_number": "FDR-P-0001",
       "portable": True, "standard_name": "便携式标准金属量器 0.05级", "standard_certificate_no": "JZ-FDR-2026-031"}
DISPENSER = {"q_max_l_per_min": 60, "q_min_l_per_min": 5,
             "nozzles": [{"number": 1, "fuel": "gasoline"}, {"number": 2, "fuel": "diesel"}]}
# credit code, owner, site, serial numbers of its dispensers
STATIONS = [
    ("91320115MA1MW8RT2X", "南京某石化加油站有限公司", "某市江宁区双龙大道 88 号", ["JYJ-2019-08813", "JYJ-2019-08814"]),
    ("91440300708461136T", "某市某能源加油站有限公司", "某市浦口区江浦街道文德路 6 号", ["JYJ-2021-11020", "JYJ-2021-11021"]),
]
FACTORY = ("91110000600037341L", "北京某轴承股份有限公司 厂区配电室")
# (days from the first, site index or None for the factory, technicians by e-mail, with the rig, from, to)
PLAN = [
    (0, 0, ["tech@labs.example"], True, (9, 0), (12, 0)),
    (0, None, ["tech2@labs.example"], False, (14, 0), (16, 30)),
    (1, 1, ["tech@labs.example", "tech2@labs.example"], True, (8, 30), (15, 0)),
    (2, None, ["tech@labs.example"], False, (9, 0), (11, 0)),
    (3, 0, ["tech2@labs.example"], True, (13, 0), (17, 0)),
    (4, 1, ["tech@labs.example"], True, (9, 0), (12, 0)),
]


def seed(session) -> None:
    manager = session.scalar(select(User).where(User.email == "manager@labs.example"))
    if manager is None or session.scalar(select(WorkOrder.id).limit(1)) is not None:
        return
    rig = session.scalar(select(Rig).where(Rig.code == RIG["code"])) or verification.register_rig(
        session, SYSTEM, {**RIG, "standard_valid_until": dt.date.today() + dt.timedelta(days=300)})
    sites = []
    for code, owner, address, serials in STATIONS:
        ids = [_dispenser(session, code, owner, address, serial) for serial in serials]
        sites.append((address, ids))
    meters = list(session.scalars(select(VerifiedInstrument.id).where(VerifiedInstrument.kind == "electricity_meter")))
    technicians = {u.email: u.id for u in session.scalars(select(User).where(User.role == "technician"))}
    days = _days(session, manager)
    for index, site, emails, with_rig, starts, ends in PLAN:
        address, instruments = sites[site] if site is not None else (FACTORY[1], meters)
        if not instruments or index >= len(days):
            continue
        order = service.plan_work_order(session, manager, {
            "instrument_ids": instruments, "site": address, "day": days[index], "starts": dt.time(*starts),
            "ends": dt.time(*ends), "note": "请站方提前清空油罐附近车辆" if site is not None else "",
            "technician_ids": [technicians[e] for e in emails if e in technicians],
            "rig_ids": [rig.id] if with_rig else []})
        if days[index] == service.local_today() and site is not None:  # the morning's work has begun
            service.transition(session, manager, order.id, "start")


def _dispenser(session, code: str, owner: str, address: str, serial: str) -> int:
    found = session.scalar(select(VerifiedInstrument.id).where(VerifiedInstrument.serial_number == serial))
    return found or verification.register_instrument(session, SYSTEM, {
        "kind": "fuel_dispenser", "serial_number": serial, "owner_credit_code": code, "owner_name": owner,
        "model": "税控燃油加油机 CS46", "manufacturer": "正星科技", "location": address, "nameplate": DISPENSER}).id


def _days(session, manager) -> list[dt.date]:
    """Today and the next working days; the first Saturday ahead is declared staffed and joins them."""
    today = service.local_today()
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    if not day_kind(saturday).working and day_kind(saturday).holiday_name is None:
        service.declare_staffed_day(session, manager, saturday)
    days, day = [], today
    while len(days) < len(PLAN):
        kind = day_kind(day)
        if kind.working or day == saturday and kind.holiday_name is None:
            days.append(day)
        day += dt.timedelta(days=1)
    return days
