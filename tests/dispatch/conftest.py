"""Dispatch fixtures: a lab manager, technicians, an enterprise's instruments under verification,
portable rigs, built through the services; days picked from tests.holidays, not from the code."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.verification import service as verification
from tests.conftest import CODES
from tests.holidays import LAW_FIXED_DAYS, PUBLISHED_DAYS_OFF, is_working_day
from tests.verification.conftest import DISPENSER


def weekday_ahead(weekday: int, after: dt.date | None = None) -> dt.date:
    """The first `weekday` (0 = Monday) after `after` (default: two weeks from today) that is
    neither a holiday nor a make-up working day: a plain working weekday, or a plain weekend day off."""
    day = (after or dt.date.today() + dt.timedelta(weeks=2)) + dt.timedelta(days=1)
    while day.weekday() != weekday or is_working_day(day) != (weekday < 5) or _holiday(day):
        day += dt.timedelta(days=1)
    return day


def _holiday(day: dt.date) -> bool:
    return day in PUBLISHED_DAYS_OFF.get(day.year, set()) or day in LAW_FIXED_DAYS.get(day.year, {})


class Dispatch:
    def __init__(self, world):
        self.world, self.app = world, world.app
        self._seq = itertools.count(1)
        self.manager_id, self.manager = world.user("lab_manager")
        self.tech_id, self.tech = world.user("technician")
        self.tech2_id, self.tech2 = world.user("technician")
        self.headers = {"manager": world.token(self.manager), "tech": world.token(self.tech),
                        "tech2": world.token(self.tech2)}
        self.instrument = self.new_instrument()
        self.rig = self.new_rig()

    def new_instrument(self, enterprise: int = 0) -> int:
        with self.app.app_context(), session_scope(self.app) as s:
            verification.sync_procedures(s)
            return verification.register_instrument(s, SYSTEM, {
                "kind": "fuel_dispenser", "serial_number": f"JYJ-WO-{next(self._seq)}",
                "owner_credit_code": CODES[enterprise], "owner_name": f"Station {enterprise}",
                "nameplate": DISPENSER, "location": "3 号岛"}).id

    def new_rig(self, portable: bool = True, valid_until: dt.date | None = None) -> int:
        n = next(self._seq)
        with self.app.app_context(), session_scope(self.app) as s:
            return verification.register_rig(s, SYSTEM, {
                "code": f"FDR-P{n}", "kind": "fdr", "link": f"modbus+tcp://127.0.0.1:{n}?unit=1",
                "serial_number": f"FDR-{n}", "portable": portable, "standard_certificate_no": f"JZ-{n}",
                "standard_valid_until": valid_until or dt.date.today() + dt.timedelta(days=365)}).id

    def body(self, day: dt.date, starts: str = "09:00", ends: str = "12:00", **extra) -> dict:
        return {"instrument_ids": [self.instrument], "site": "某市江宁区双龙大道 88 号", "day": day.isoformat(),
                "starts": starts, "ends": ends, **extra}

    def plan(self, day: dt.date, starts: str = "09:00", ends: str = "12:00", who: str = "manager", **extra):
        return self.world.client.post("/api/v1/work-orders", json=self.body(day, starts, ends, **extra),
                                      headers=self.headers[who])

    def assign(self, order_id: int, who: str = "manager", **body):
        return self.world.client.post(f"/api/v1/work-orders/{order_id}/assignments", json=body,
                                      headers=self.headers[who])


@pytest.fixture
def dispatch(world):
    return Dispatch(world)
