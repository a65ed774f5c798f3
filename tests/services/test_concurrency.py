"""Simultaneous submissions through the service layer, each thread its own unit of work: drivers
taking numbers get one number each, and two requests for one instrument cannot both be open."""
from __future__ import annotations

import threading

from sqlalchemy import select

from labs.accounts.models import User
from labs.db import session_scope
from labs.errors import Conflict
from labs.services import service
from labs.services.models import RequestInstrument, TaxiTicket
from tests.services.conftest import CONTACT

DRIVERS = 20
REQUESTS = 10


def _at_once(n: int, work) -> list:
    """Run work(i) in n threads released together; what each returned or raised."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = work(i)
        except Exception as exc:  # noqa: BLE001 (kept to be asserted on)
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_drivers_taking_numbers_at_once_get_one_number_each(app):
    def take(i: int) -> int:
        with session_scope(app) as s:
            return service.take_ticket(s, "key", f"京B{10000 + i}", f"M-{i}", f"198.51.100.{i}").number
    numbers = _at_once(DRIVERS, take)
    assert sorted(numbers) == list(range(1, DRIVERS + 1)), numbers
    with session_scope(app) as s:
        assert len(s.scalars(select(TaxiTicket.id)).all()) == DRIVERS


def test_one_instrument_asked_for_at_once_is_in_one_open_request(app, world, bench):
    owner_id, _ = world.user("enterprise", enterprise=0)
    meter = bench.instrument("electricity_meter")

    def ask(_i: int) -> int:
        with session_scope(app) as s:
            return service.submit_request(s, s.get(User, owner_id), {
                "mode": "at_lab", "instrument_ids": [meter], **CONTACT}).id
    outcomes = _at_once(REQUESTS, ask)
    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, int)), outcomes
    with session_scope(app) as s:
        assert len(s.scalars(select(RequestInstrument.id)).all()) == 1
