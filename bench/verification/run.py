"""Verification benchmarks: the cost of what a run adds to the rig, as ratios against baselines
measured in the same run, on SQLite and (given a PostgreSQL URL) on PostgreSQL.

    .venv/bin/python bench/verification/run.py [--database postgresql://postgres@127.0.0.1:5432/test] [--quick]

(LABS_TEST_DATABASE_URL is used when --database is not given.)

a. readings stored per second through the engine's path (Store.add_reading: a unit of work, the hash
   chain's lock, last hash and seal, the insert, the commit) / a bare SQLAlchemy Core INSERT of the same
   rows (same JSON values), each committed (target >= 0.5);
b. a whole FDR run's wall time through the engine (plan, rig, readings stored and chained, result and
   certificate) against the same deliveries driven directly with the driver on the same simulated rig
   (target >= 0.95); the rig's own time (the runs' elapsed time over the simulation's speed) is printed
   beside it.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import itertools
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devices.drivers import FdrDriver  # noqa: E402
from devices.transport import BusPool  # noqa: E402
from labs.accounts.service import SYSTEM  # noqa: E402
from labs.app import create_app  # noqa: E402
from labs.cli import upgrade  # noqa: E402
from labs.db import normalise_url, session_scope, utcnow  # noqa: E402
from labs.verification import service  # noqa: E402
from labs.verification.engine import Store, run_verification  # noqa: E402
from labs.verification.models import Reading  # noqa: E402
from simulators.harness import RigOptions, simulated_rig  # noqa: E402

DB_NAME = "labs_bench_verification"
DISPENSER = {"q_max_l_per_min": 60, "q_min_l_per_min": 5,
             "nozzles": [{"number": 1, "fuel": "gasoline"}, {"number": 2, "fuel": "diesel"}]}
# What one FDR reading holds, as the engine stores it.
VALUES = {"run_id": 17, "reference_volume": 20.0, "indicated_volume": 20.0412, "flow_rate": 54.0,
          "rig_temperature": 15.03, "nozzle_temperature": 16.01, "ambient_temperature": 20.0, "elapsed": 22.2,
          "standard_expansion": 5e-05, "target_volume": 20.0, "target_flow": 54.0, "fuel_kind": "gasoline",
          "nozzle": 1}


class Database:
    """A fresh, migrated database and the app over it."""

    def __init__(self, backend: str, admin_url: str | None):
        self.backend, self.admin_url = backend, admin_url
        if backend == "sqlite":
            self.folder = tempfile.TemporaryDirectory(prefix="labs-bench-")
            self.url = f"sqlite:///{self.folder.name}/labs.sqlite3"
        else:
            admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
            admin.dispose()
            self.url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
        self.app = create_app({"DATABASE_URL": self.url})
        upgrade(self.app)
        self.factory = self.app.extensions["labs.sessionmaker"]
        self._seq = itertools.count(1)

    def close(self):
        self.app.extensions["labs.engine"].dispose()
        if self.backend == "sqlite":
            self.folder.cleanup()
        else:
            admin = create_engine(normalise_url(self.admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            admin.dispose()

    def verification(self, link: str, serial_number: str) -> int:
        """A rig, an instrument and a queued run of JJG 443 on nozzle 1."""
        n = next(self._seq)
        with session_scope(self.app) as session:
            rig = service.register_rig(session, SYSTEM, {
                "code": f"FDR-B{n}", "kind": "fdr", "link": link, "serial_number": serial_number,
                "standard_certificate_no": f"JZ-B{n}", "standard_valid_until": dt.date.today() + dt.timedelta(days=30)})
            instrument = service.register_instrument(session, SYSTEM, {
                "kind": "fuel_dispenser", "serial_number": f"DSP-B{n}", "owner_credit_code": "91110000600037341L",
                "owner_name": "bench", "nameplate": DISPENSER})
            return service.request_verification(session, SYSTEM, instrument.id, rig.id, nozzle=1).id


def _rate(store_one, rows: int) -> float:
    start = time.perf_counter()
    for i in range(rows):
        store_one(i)
    return rows / (time.perf_counter() - start)


def readings_per_second(db: Database, rows: int, rounds: int) -> None:
    verification_id = db.verification("modbus+tcp://127.0.0.1:1502?unit=1", "FDR-SIM-0001")
    store = Store(db.factory)
    engine = db.app.extensions["labs.engine"]
    table = Reading.__table__
    counter = itertools.count()

    def chained(i):
        store.add_reading(verification_id, i % 2, VALUES, None)

    def bare(i):
        n = next(counter)
        with engine.begin() as conn:
            conn.execute(insert(table).values(
                verification_id=verification_id, point_index=i % 2, values=VALUES, problem=None, manual=False,
                at=utcnow(), prev_hash="0" * 64, hash=hashlib.sha256(f"bare {n}".encode()).hexdigest()))

    chained_rates, bare_rates = [], []
    for _ in range(rounds):  # alternated, so drift in the machine's load hits both alike
        bare_rates.append(_rate(bare, rows))
        chained_rates.append(_rate(chained, rows))
    c, b = statistics.median(chained_rates), statistics.median(bare_rates)
    print(f"  a. readings/s through Store.add_reading {c:.0f}, bare INSERT {b:.0f} "
          f"({rows} rows x {rounds} rounds, medians): ratio {c / b:.3f} (target >= 0.5)", flush=True)


async def _direct(link: str, points) -> tuple[float, float]:
    """The run's deliveries driven straight with the driver: wall seconds, and the rig's elapsed seconds."""
    async with BusPool() as pool:
        driver = FdrDriver(link, pool)
        await driver.identify()
        start = time.perf_counter()
        elapsed = 0.0
        for point in points:
            s = point.settings
            for _ in range(point.repetitions):
                run = await driver.run_delivery(s["volume_l"], s["flow_l_per_min"], s["fuel_kind"], s["nozzle"])
                elapsed += run.elapsed_s
        return time.perf_counter() - start, elapsed


async def _engine(db: Database, verification_id: int) -> float:
    async with BusPool() as pool:
        start = time.perf_counter()
        state = await run_verification(Store(db.factory), verification_id, pool)
        wall = time.perf_counter() - start
    if state != "done":
        raise SystemExit(f"the benchmark run ended {state}")
    return wall


def run_against_rig(db: Database, speed: float, rounds: int) -> None:
    engine_walls, direct_walls, rig_times = [], [], []
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.1, speed=speed, seed=1)) as sim:
        for _ in range(rounds):
            verification_id = db.verification(sim.link, sim.models[0].serial_number)
            with session_scope(db.app) as session:
                points = service.plan_points(session.get(service.Verification, verification_id))
            direct_wall, _ = asyncio.run(_direct(sim.link, points))
            engine_wall = asyncio.run(_engine(db, verification_id))
            with session_scope(db.app) as session:
                rig_s = sum(r.values["elapsed"] for r in service.readings_of(session, verification_id)) / speed
            direct_walls.append(direct_wall)
            engine_walls.append(engine_wall)
            rig_times.append(rig_s)
    e, d, r = (statistics.median(x) for x in (engine_walls, direct_walls, rig_times))
    print(f"  b. a JJG 443 run ({len(points)} points, {sum(p.repetitions for p in points)} deliveries, "
          f"speed {speed:g}): engine {e:.2f} s, driver alone {d:.2f} s, the rig's own time {r:.2f} s; "
          f"driver/engine {d / e:.3f} (target >= 0.95), rig/engine {r / e:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("LABS_TEST_DATABASE_URL"),
                        help="a PostgreSQL URL (its server's admin database); a database is made and dropped")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    backends = [("sqlite", None)] + ([("postgresql", args.database)] if args.database else [])
    for backend, url in backends:
        print(f"{backend}:", flush=True)
        db = Database(backend, url)
        try:
            readings_per_second(db, rows=100 if args.quick else 500, rounds=3 if args.quick else 5)
            run_against_rig(db, speed=400 if args.quick else 100, rounds=1 if args.quick else 3)
        finally:
            db.close()
    if not args.database:
        print("postgresql: not measured (give --database or set LABS_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
