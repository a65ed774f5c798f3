"""The demo's requests and taxi queue: 北京某轴承's electricity meters in each state of a request (one
accepted with its run queued, so the runner concludes it while the demo runs; one waiting for a
decision with documents to follow; one whose clock stands still for those documents; one refused),
and three drivers at the station, the first called and its meter on the TMR rig."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from labs.accounts.models import User
from labs.accounts.service import SYSTEM
from labs.services import service
from labs.services.models import ServiceRequest
from labs.verification import service as verification
from labs.verification.demo import RIGS
from labs.verification.models import Rig, VerifiedInstrument
from labs.workdays import day_kind

OWNER = ("91110000600037341L", "北京某轴承股份有限公司")  # alice@bearing.example's enterprise
METER = {"accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": 220, "ib_a": 5, "imax_a": 60,
         "constant_imp_per_kwh": 1200}
METERS = [("DNB-3301-000458", "厂区 3 号配电室"), ("DNB-3301-000459", "食堂配电箱"), ("DNB-3301-000460", "老仓库")]
TAXI_COMPANY = "91320100134883325A"
DRIVERS = [("苏A·T1234", "JJQ-517-20231"), ("苏A·T5678", "JJQ-517-20232"), ("苏AD·T9012", "JJQ-517-20233")]
CONTACT = {"contact_name": "王工", "contact_phone": "13800138000"}


def seed(session, secret_key: str) -> None:
    if session.scalar(select(ServiceRequest.id).limit(1)) is not None:
        return  # seeded before
    users = {u.email: u for u in session.scalars(select(User))}
    alice, manager = users["alice@bearing.example"], users["manager@labs.example"]
    technician = users["tech@labs.example"]
    meters = [session.scalar(select(VerifiedInstrument.id).where(
        VerifiedInstrument.serial_number == "DNB-3301-000457"))]  # registered by the verification demo
    for serial, location in METERS:
        meters.append(verification.register_instrument(session, SYSTEM, {
            "kind": "electricity_meter", "serial_number": serial, "owner_credit_code": OWNER[0],
            "owner_name": OWNER[1], "model": "DDZY102 单相费控智能电能表", "manufacturer": "某电气股份有限公司",
            "location": location, "nameplate": METER}).id)
    emb = session.scalar(select(Rig.id).where(Rig.code == RIGS["emb"][0]))
    soon = [service.today() + dt.timedelta(days=d) for d in (3, 4)]
    day_off = service.today() + dt.timedelta(days=2)
    while day_kind(day_off).working:  # a weekend day, or a holiday: what the weekend service takes
        day_off += dt.timedelta(days=1)

    on_site = service.submit_request(session, alice, {
        "mode": "on_site", "instrument_ids": [meters[0]], "address": "北京市某区某路 1 号 2 号配电室",
        "preferred_dates": soon, **CONTACT})
    service.accept_request(session, manager, on_site.id)
    service.start_run(session, technician, on_site.id, meters[0], emb)  # the runner concludes it

    service.submit_request(session, alice, {
        "mode": "weekend", "instrument_ids": [meters[1]], "preferred_dates": [day_off],
        "missing_documents": "计量器具使用说明书复印件", "commitment_signed": True, **CONTACT})

    pickup = service.submit_request(session, alice, {
        "mode": "pickup", "instrument_ids": [meters[2]], "address": "北京市某区某路 1 号 门卫室",
        "missing_documents": "授权委托书", "commitment_signed": True, **CONTACT})
    service.accept_request(session, manager, pickup.id)
    service.pause_clock(session, technician, pickup.id, "missing_documents", "委托书未盖章，已电话通知王工")

    refused = service.submit_request(session, alice, {"mode": "at_lab", "instrument_ids": [meters[3]], **CONTACT})
    service.refuse_request(session, manager, refused.id, "该表已超过使用年限，请更换后再申请")

    tmr = session.scalar(select(Rig.id).where(Rig.code == RIGS["tmr"][0]))
    for n, (plate, serial) in enumerate(DRIVERS):
        if session.scalar(select(VerifiedInstrument.id).where(VerifiedInstrument.serial_number == serial)) is None:
            verification.register_instrument(session, SYSTEM, {
                "kind": "taxi_meter", "serial_number": serial, "owner_credit_code": TAXI_COMPANY,
                "model": "JT-2000 出租汽车计价器", "manufacturer": "某计价器厂", "plate_number": plate,
                "nameplate": {"k_imp_per_km": 1000, "tariff": "起步 13 元 (3 km)，2.3 元/km，等候 0.5 元/分钟"}})
        service.take_ticket(session, secret_key, plate, serial, f"demo-driver-{n}")
    called = service.call_next(session, technician)
    service.start_ticket_run(session, technician, called.id, tmr)
