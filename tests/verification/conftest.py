"""Verification fixtures: the shipped procedures loaded, simulated rigs registered as rigs, and
instruments whose nameplates match the simulated devices under test."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from devices.transport import BusPool
from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.verification import service
from labs.verification.engine import Store, run_verification
from simulators.harness import RigOptions, simulated_rig

OWNER = ("91110000600037341L", "北京某石化加油站有限公司")
DISPENSER = {"q_max_l_per_min": 60, "q_min_l_per_min": 5,
             "nozzles": [{"number": 1, "fuel": "gasoline"}, {"number": 2, "fuel": "diesel"}]}
METER = {"accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": 220, "ib_a": 5,
         "imax_a": 60, "constant_imp_per_kwh": 1200}
TAXI = {"k_imp_per_km": 1000, "tariff": "13 元 3 km, 2.3 元/km"}
NAMEPLATES = {"fuel_dispenser": DISPENSER, "electricity_meter": METER, "taxi_meter": TAXI}
RIG_KIND = {"fuel_dispenser": "fdr", "electricity_meter": "emb", "taxi_meter": "tmr"}
TRANSPORT = {"fdr": "tcp", "emb": "tcp", "tmr": "serial"}
FAST = 400  # simulated seconds per second: a 20 L delivery takes a tenth of a second


class Bench:
    """Registers rigs and instruments through the service and runs verifications in-process."""

    def __init__(self, app):
        self.app = app
        self.seq = 0
        with session_scope(app) as session:
            service.sync_procedures(session)

    def rig(self, kind: str, link: str, serial_number: str, valid_until: dt.date | None = None, **extra) -> int:
        self.seq += 1
        settings = {"reference_constant": 600000} if kind == "emb" else {}
        with session_scope(self.app) as session:
            return service.register_rig(session, SYSTEM, {
                "code": f"{kind.upper()}-{self.seq}", "kind": kind, "link": link, "serial_number": serial_number,
                "settings": settings, "standard_certificate_no": f"JZ2026-{self.seq:03d}",
                "standard_valid_until": valid_until or dt.date.today() + dt.timedelta(days=365), **extra}).id

    def instrument(self, kind: str, serial_number: str | None = None, nameplate: dict | None = None) -> int:
        self.seq += 1
        with session_scope(self.app) as session:
            return service.register_instrument(session, SYSTEM, {
                "kind": kind, "serial_number": serial_number or f"SN-{self.seq}", "owner_credit_code": OWNER[0],
                "owner_name": OWNER[1], "nameplate": nameplate or NAMEPLATES[kind], "location": "某市某路1号"}).id

    def request(self, instrument_id: int, rig_id: int, actor=SYSTEM, **kw) -> int:
        with session_scope(self.app) as session:
            return service.request_verification(session, actor, instrument_id, rig_id, **kw).id

    def run(self, verification_id: int, events: list | None = None) -> str:
        async def main():
            async with BusPool() as pool:
                return await run_verification(Store(self.app.extensions["labs.sessionmaker"]), verification_id,
                                              pool, (events.append if events is not None else lambda e: None))
        return asyncio.run(main())

    def verify(self, instrument_kind: str, options: RigOptions, nozzle: int | None = None) -> int:
        """A whole run against a simulated rig of the right kind; the verification's id."""
        kind = RIG_KIND[instrument_kind]
        with simulated_rig(kind, TRANSPORT[kind], options=options) as sim:
            rig_id = self.rig(kind, sim.link, sim.models[0].serial_number)
            verification_id = self.request(self.instrument(instrument_kind), rig_id,
                                           nozzle=nozzle if nozzle or instrument_kind != "fuel_dispenser" else 1)
            assert self.run(verification_id) == "done", self.summary(verification_id)["problem"]
        return verification_id

    def summary(self, verification_id: int) -> dict:
        from labs.verification.cli import run_summary
        with session_scope(self.app) as session:
            return run_summary(session, verification_id)


@pytest.fixture
def bench(app):
    return Bench(app)
