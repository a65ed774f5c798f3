"""The demo's spot-checks: fuel stations of Nanjing and Wuxi in the registry with their nozzles,
the inspectors (the demo's two inspectors among them), public nominations of the demo dispenser,
and a plan drawn in public view with it as a nominated task, ready for review."""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from stdnum.cn import uscc

from labs.accounts.models import User
from labs.accounts.service import SYSTEM
from labs.spotchecks import results, service
from labs.spotchecks.models import Nomination, Plan, RegistryEntity, RegistryInspector, RegistryInstrument

DEMO_DISPENSER = ("91320115MA1MW8RT2X", "南京某石化加油站有限公司", "JYJ-2019-08812")
BRANDS = ("中石化", "中石油", "中海油", "壳牌", "民营")
WITNESSES = (("市局纪检监察室", "纪检 2026 第四轮 · 7731"), ("企业观察员（市加油站协会）", "协会观察员 k2Xq9"))


def _code(n: int) -> str:
    base = f"9132{'01' if n % 2 else '02'}00MA1D{n:04d}"
    return base + uscc.calc_check_digit(base)


def seed(session, key: str) -> None:
    """Once: the registry, inspectors, nominations and a drawn plan (the witnesses' secrets are the
    demo's own, shown on the draw page once revealed)."""
    if session.scalar(select(RegistryEntity.id).limit(1)) is not None:
        return
    stations = [(DEMO_DISPENSER[0], DEMO_DISPENSER[1], "320100", "high", "民营")]
    for n in range(1, 40):
        city = "320100" if n % 2 else "320200"
        stations.append((_code(n), f"{'南京' if city == '320100' else '无锡'}{BRANDS[n % 5]}第{n}加油站", city,
                         ("high", "medium", "low")[n % 3], BRANDS[n % 5]))
    for credit_code, name, region, risk, brand in stations:
        entity = RegistryEntity(credit_code=credit_code, name=name, kind="fuel_station", region=region,
                                risk_level=risk, affiliation=brand)
        session.add(entity)
        session.flush()
        serials = [DEMO_DISPENSER[2]] if credit_code == DEMO_DISPENSER[0] else [f"JYJ-{credit_code[-6:]}-{k}" for k in (1, 2, 3)]
        session.add_all([RegistryInstrument(entity_id=entity.id, kind="fuel_dispenser", serial_number=s,
                                            description=f"{i} 号加油机") for i, s in enumerate(serials, start=1)])
    inspectors = {u.email: u for u in session.scalars(select(User).where(User.role == "inspector"))}
    for email, name, affiliation in (("inspector@labs.example", "周检查员", "市局稽查支队"),
                                     ("inspector2@labs.example", "吴检查员", "市计量所"),
                                     (None, "郑检查员", "江宁分局"), (None, "孙检查员", "玄武分局")):
        session.add(RegistryInspector(name=name, user_id=inspectors[email].id if email in inspectors else None,
                                      qualifications=["fuel_dispenser", "electricity_meter"], affiliation=affiliation,
                                      conflicts=[]))
    session.flush()
    dispenser = session.scalar(select(RegistryInstrument).where(RegistryInstrument.serial_number == DEMO_DISPENSER[2]))
    for n, reason in enumerate(("加满一箱总觉得少了两升", "显示 40 升，油箱刻度只到一半", "同一辆车在别处加油明显多"), start=1):
        session.add(Nomination(instrument_id=dispenser.id, reason=reason,
                               phone_hash=results._keyed(key, f"phone:1380000000{n}"),
                               address_hash=results._keyed(key, f"address:demo-{n}")))
    plan = service.create_plan(session, SYSTEM, {
        "name": "2026 年第四季度燃油加油机双随机抽查", "instrument_kind": "fuel_dispenser",
        "regions": ["320100", "320200"], "entity_kinds": ["fuel_station"],
        "shares": {"high": "0.2", "medium": "0.1", "low": "0.05"}, "inspectors_per_task": 2,
        "instruments_per_entity": 1, "draw_date": dt.date.today(), "publication_working_days": 20})
    for name, secret in WITNESSES:
        service.add_witness(session, SYSTEM, plan.id, name, hashlib.sha256(secret.encode()).hexdigest())
    service.freeze(session, SYSTEM, plan.id)
    for position, (_, secret) in enumerate(WITNESSES, start=1):
        service.reveal(session, SYSTEM, plan.id, position, secret)
    service.draw(session, SYSTEM, plan.id)
    results.add_nominated_tasks(session, SYSTEM, plan.id, top=1)
    assert session.scalar(select(Plan.state).where(Plan.id == plan.id)) == "drawn"
