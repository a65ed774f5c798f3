"""The engine of a verification run: command the rig point by point, store each reading the moment
it arrives, compute the errors, conclude. The same engine runs inside `labs runner` (which owns the
lab's rigs) and in the foreground in `labs verify run`.

The run's state lives in the database: the engine asks it which readings each point still needs,
so a run restarted after a crash resumes at the first unfinished point, keeping every reading.
Database calls run in a worker thread so that one rig's commit never stalls another rig's line.
"""
from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from devices.drivers import DRIVERS
from devices.errors import RigError
from devices.links import LinkError
from devices.transport import BusPool
from labs.db import utcnow
from labs.verification import domain, service
from labs.verification.models import Verification

MAX_FAILED_ATTEMPTS = 5  # a point whose rig fails this often in a row stops the run (it can be retried)
LIVE_EVERY_S = 0.5  # the console is at most a second behind


@dataclass
class RunContext:
    """What the engine needs of a run, loaded once as plain values."""

    verification_id: int
    state: str
    points: list[domain.Point]
    procedure: dict
    nameplate: dict
    rig_code: str
    rig_kind: str
    rig_link: str
    rig_serial_number: str
    rig_settings: dict
    standard_problem: str | None
    readings: dict[int, list[dict]]  # point index -> [{"id", "values", "problem"}], as stored


class Store:
    """The database side of a run; every method is its own committed unit of work."""

    def __init__(self, factory: sessionmaker):
        self.factory = factory

    def _session(self) -> Session:
        return self.factory()

    def load(self, verification_id: int) -> RunContext:
        with self._session() as session:
            v = session.get(Verification, verification_id)
            rig = v.rig
            lab = session.get(service.Lab, rig.lab_id) if rig.lab_id else None
            readings: dict[int, list[dict]] = {}
            for r in service.readings_of(session, v.id):
                readings.setdefault(r.point_index, []).append({"id": r.id, "values": r.values, "problem": r.problem})
            return RunContext(v.id, v.state, service.plan_points(v), v.procedure.data, v.instrument.nameplate,
                              rig.code, rig.kind, rig.link, rig.serial_number, dict(rig.settings or {}),
                              service.standard_problem(rig, service.local_today(lab)), readings)

    def state(self, verification_id: int) -> str:
        with self._session() as session:
            return session.get(Verification, verification_id).state

    def start(self, verification_id: int) -> None:
        with self._session() as session, session.begin():
            v = session.get(Verification, verification_id)
            v.state, v.problem = "running", None
            v.started_at = v.started_at or utcnow()

    def add_reading(self, verification_id: int, point_index: int, values: dict, problem: str | None) -> int:
        with self._session() as session, session.begin():
            return service.record_reading(session, verification_id, point_index, values, problem).id

    def set_live(self, verification_id: int, live: dict) -> None:
        with self._session() as session, session.begin():
            session.get(Verification, verification_id).live = live

    def fail(self, verification_id: int, problem: str) -> None:
        with self._session() as session, session.begin():
            v = session.get(Verification, verification_id)
            v.state, v.problem, v.finished_at = "failed", problem, utcnow()

    def conclude(self, verification_id: int, evaluation: domain.Evaluation) -> tuple[int, str]:
        with self._session() as session, session.begin():
            certificate = service.conclude(session, session.get(Verification, verification_id), evaluation)
            return certificate.result_id, certificate.number


def _delivery_values(run, settings: dict) -> dict:
    return {"run_id": run.run_id, "reference_volume": run.reference_volume_l,
            "indicated_volume": run.indicated_volume_l, "flow_rate": run.flow_l_per_min,
            "rig_temperature": run.rig_temperature_c, "nozzle_temperature": run.nozzle_temperature_c,
            "ambient_temperature": run.ambient_temperature_c, "elapsed": run.elapsed_s,
            "standard_expansion": run.standard_expansion_per_c, "target_volume": settings["volume_l"],
            "target_flow": settings["flow_l_per_min"], "fuel_kind": settings["fuel_kind"], "nozzle": settings["nozzle"]}


def _pulse_values(m) -> dict:
    return {"measurement_id": m.measurement_id, "pulses": m.pulses, "dut_constant": m.dut_constant,
            "reference_constant": m.reference_constant, "voltage": m.voltage_v, "current": m.current_a,
            "power_factor": m.power_factor, "active_power": m.active_power_w, "frequency": m.frequency_hz,
            "dut_pulses": m.dut_pulses, "reference_pulses": m.reference_pulses, "error": m.bench_error_pct,
            "elapsed": m.elapsed_s}


async def perform(driver, point: domain.Point, rig_settings: dict) -> dict:
    """Command the rig for one repetition of `point`; the raw readings, named as the rig names them."""
    s = point.settings
    if point.operation == "delivery":
        run = await driver.run_delivery(s["volume_l"], s["flow_l_per_min"], s["fuel_kind"], s["nozzle"])
        return _delivery_values(run, s)
    if point.operation in ("error", "starting", "creep"):
        await driver.set_load_point(s["voltage_v"], s["current_a"], s["power_factor"])
        if point.operation == "error":
            return _pulse_values(await driver.measure_error(s["pulses"], s["dut_constant"],
                                                            rig_settings["reference_constant"]))
        test = driver.starting_test if point.operation == "starting" else driver.creep_test
        return _pulse_values(await test(s["duration_s"]))
    if point.operation in ("distance", "standing"):
        await driver.reset()  # the rig's totals start from zero for each run
        reading = await (driver.run_distance(s["metres"], s["speed_km_h"]) if point.operation == "distance"
                         else driver.standing(s["seconds"]))
        return dataclasses.asdict(reading)
    raise ValueError(f"unknown operation {point.operation!r}")


def _valid(readings: list[dict]) -> list[dict]:
    return [r["values"] for r in readings if not r["problem"]]


async def run_verification(store: Store, verification_id: int, pool: BusPool,
                           report: Callable[[dict], None] = lambda event: None) -> str:
    """Drive one run to its end (done or failed); returns the final state. `report` hears of every
    stored reading and of the conclusion, for a terminal or a log."""
    ctx = await asyncio.to_thread(store.load, verification_id)
    if ctx.state in ("done", "cancelled"):
        return ctx.state

    async def fail(problem: str) -> str:
        await asyncio.to_thread(store.fail, verification_id, problem)
        report({"event": "failed", "verification": verification_id, "problem": problem})
        return "failed"

    async def conclude() -> str:
        evaluation = domain.evaluate(ctx.procedure, ctx.nameplate, ctx.points,
                                     {p.index: _valid(ctx.readings.get(p.index, [])) for p in ctx.points})
        result_id, number = await asyncio.to_thread(store.conclude, verification_id, evaluation)
        report({"event": "done", "verification": verification_id, "result": result_id, "certificate": number,
                "verdict": evaluation.verdict})
        return "done"

    if ctx.standard_problem:
        return await fail(ctx.standard_problem)
    if all(len(_valid(ctx.readings.get(p.index, []))) >= domain.repetitions_needed(
            ctx.procedure, ctx.nameplate, p, _valid(ctx.readings.get(p.index, []))) for p in ctx.points):
        # Every point has its readings (entered by hand, or stored before a crash): nothing to
        # ask the rig, so an unreachable rig does not hold the conclusion up.
        return await conclude()
    latest: dict = {}
    progress: dict = {}
    try:
        driver = DRIVERS[ctx.rig_kind](ctx.rig_link, pool, name=f"rig {ctx.rig_code}",
                                       on_live=lambda values: latest.update(values))
        identity = await driver.identify()
    except (RigError, LinkError) as exc:
        return await fail(str(exc))
    if identity.serial_number != ctx.rig_serial_number:
        return await fail(f"rig {ctx.rig_code} on {ctx.rig_link} identifies as serial number "
                          f"{identity.serial_number}, but {ctx.rig_serial_number} is registered: "
                          f"check the link or the rig's registration")
    await asyncio.to_thread(store.start, verification_id)

    async def publish_live():
        shown = None
        while True:
            snapshot = {**progress, "values": dict(latest), "at": utcnow().isoformat()}
            if (snapshot["values"], progress) != shown:
                await asyncio.to_thread(store.set_live, verification_id, snapshot)
                shown = (snapshot["values"], dict(progress))
            await asyncio.sleep(LIVE_EVERY_S)

    live_task = asyncio.get_running_loop().create_task(publish_live())
    try:
        for point in ctx.points:
            readings = ctx.readings.setdefault(point.index, [])
            failures = 0
            while len(_valid(readings)) < domain.repetitions_needed(ctx.procedure, ctx.nameplate, point,
                                                                    _valid(readings)):
                if await asyncio.to_thread(store.state, verification_id) == "cancelled":
                    return "cancelled"
                needed = domain.repetitions_needed(ctx.procedure, ctx.nameplate, point, _valid(readings))
                progress.update(point=point.index, key=point.key, label=point.label, points=len(ctx.points),
                                repetition=len(_valid(readings)) + 1, repetitions=needed)
                latest.clear()
                try:
                    values = await perform(driver, point, ctx.rig_settings)
                except RigError as exc:
                    failures += 1
                    report({"event": "retry", "verification": verification_id, "point": point.key, "problem": str(exc)})
                    if failures >= MAX_FAILED_ATTEMPTS:
                        return await fail(f"point {point.key}: {exc}")
                    try:
                        await driver.reset()
                    except RigError:
                        pass  # the next attempt tells whether the rig is back
                    continue
                failures = 0
                problem = domain.reading_problem(ctx.procedure, point, values)
                reading_id = await asyncio.to_thread(store.add_reading, verification_id, point.index, values, problem)
                readings.append({"id": reading_id, "values": values, "problem": problem})
                report({"event": "reading", "verification": verification_id, "reading": reading_id,
                        "point": point.key, "values": values, "problem": problem})
        return await conclude()
    finally:
        live_task.cancel()
        try:
            await live_task
        except asyncio.CancelledError:
            pass
