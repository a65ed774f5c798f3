"""Spot-check fixtures: a small registry of fuel stations, their nozzles and inspectors."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from stdnum.cn import uscc

from labs.db import session_scope
from labs.errors import DomainError
from labs.spotchecks.models import Region, RegistryEntity, RegistryInspector, RegistryInstrument
from tests.verification.conftest import bench  # noqa: F401  (runs verifications on simulated rigs)


def _until_a_transaction_waits_for_a_lock(engine, timeout_s: float = 30) -> None:
    """Return once another PostgreSQL transaction of this database waits for a lock (a row lock or an
    advisory one): the point where a second request must take its turn."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as probe:
        while not probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND datname = current_database()")):
            assert time.monotonic() < deadline, "no transaction waited for a lock"
            probe.rollback()  # a fresh snapshot of pg_stat_activity
            time.sleep(0.01)


def race(app, first: Callable, second: Callable):
    """Two requests at once on PostgreSQL: `first(session)` runs in a transaction held open while
    `second(session)` runs in a unit of work of its own on a thread; once the second waits for a
    lock, the first commits. What the second returned, or the DomainError it raised; anything else
    it raised is raised here."""
    outcome: dict = {}

    def run_second():
        try:
            with session_scope(app) as session:
                outcome["value"] = second(session)
        except DomainError as exc:
            outcome["value"] = exc
        except BaseException as exc:  # raised again in the test's thread
            outcome["error"] = exc
    held = app.extensions["labs.sessionmaker"]()
    try:
        first(held)
        thread = threading.Thread(target=run_second)
        thread.start()
        _until_a_transaction_waits_for_a_lock(app.extensions["labs.engine"])
        held.commit()
    finally:
        held.close()
    thread.join(30)
    assert not thread.is_alive(), "the second request did not finish within 30 s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def code(n: int) -> str:
    base = f"9132010{n:010d}"
    return base + uscc.calc_check_digit(base)


@pytest.fixture
def registry(app):
    """Thirty fuel stations in two cities (the first ten high risk), two nozzles each, five inspectors."""
    with session_scope(app) as session:
        for region in (Region(code="320100", name="南京市"), Region(code="320200", name="无锡市")):
            session.merge(region)  # the shipped divisions may be loaded already
        session.flush()
        for n in range(30):
            entity = RegistryEntity(credit_code=code(n), name=f"加油站 {n}", kind="fuel_station",
                                    region="320100" if n % 2 else "320200", risk_level="high" if n < 10 else "low",
                                    affiliation="中石化" if n % 3 == 0 else "")
            session.add(entity)
            session.flush()
            session.add_all([RegistryInstrument(entity_id=entity.id, kind="fuel_dispenser", serial_number=f"JYJ-{n}-{k}",
                                                description=f"{k} 号枪") for k in (1, 2)])
        session.add_all([
            RegistryInspector(name="王检", qualifications=["fuel_dispenser"], affiliation="市局", conflicts=[code(0)]),
            RegistryInspector(name="李检", qualifications=["fuel_dispenser"], affiliation="中石化", conflicts=[]),
            RegistryInspector(name="张检", qualifications=["fuel_dispenser", "taxi_meter"], affiliation="区局一"),
            RegistryInspector(name="赵检", qualifications=["fuel_dispenser"], affiliation="区局二"),
            RegistryInspector(name="钱检", qualifications=["electricity_meter"], affiliation="区局三"),
        ])
