"""Services fixtures: the verification bench (procedures, simulated rigs, instruments of enterprise 0),
and a helper that makes requests through the service with a chosen moment."""
from __future__ import annotations

import datetime as dt

import pytest

from labs.accounts.models import User
from labs.db import session_scope
from labs.services import service
from simulators.harness import RigOptions, simulated_rig
from tests.verification.conftest import FAST, Bench

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CONTACT = {"contact_name": "李明", "contact_phone": "13800000001"}
TAXI_SPEED = FAST / 4  # simulated seconds per second on the TMR rig


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """A moment on a day in Shanghai, the service's time zone."""
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI)


class Desk:
    """Requests through the service layer, as a given user, at a given moment."""

    def __init__(self, app):
        self.app = app

    def call(self, user_id: int, name: str, *args, **kw):
        with session_scope(self.app) as s:
            result = getattr(service, name)(s, s.get(User, user_id), *args, **kw)
            return getattr(result, "id", result)

    def submit(self, user_id: int, instrument_ids: list[int], mode: str = "at_lab", now=None, **extra) -> int:
        data = {"mode": mode, "instrument_ids": instrument_ids, **CONTACT, **extra}
        return self.call(user_id, "submit_request", data, now=now)

    def clock(self, request_id: int) -> dict:
        with session_scope(self.app) as s:
            return service.clock(s.get(service.ServiceRequest, request_id))

    def steps(self, request_id: int) -> list[str]:
        with session_scope(self.app) as s:
            return [step.kind for step in s.scalars(service.select(service.Step).where(
                service.Step.request_id == request_id).order_by(service.Step.id))]


@pytest.fixture
def bench(app):
    return Bench(app)


@pytest.fixture
def desk(app):
    return Desk(app)


@pytest.fixture
def taxi_rig(bench):
    """A simulated TMR rig over a pty, registered; the meter it simulates reads 0.7 % low (a pass)."""
    with simulated_rig("tmr", "serial", options=RigOptions(speed=TAXI_SPEED, error_pct=-0.7, seed=328)) as sim:
        yield bench.rig("tmr", sim.link, sim.models[0].serial_number)
