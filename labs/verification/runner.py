"""`labs runner`: the long-lived process that owns the lab's rigs and executes queued runs.

A runner leases a rig before it drives it (a conditional UPDATE, atomic on SQLite and PostgreSQL)
and renews the lease while it works, so several runners share the work and each rig has one
driver at a time. A runner that dies stops renewing; when its lease lapses another runner (or the
same one restarted) takes the rig and resumes its run at the first unfinished point.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
from typing import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from devices.transport import BusPool
from labs.db import utcnow
from labs.verification.engine import Store, run_verification
from labs.verification.models import Rig, Verification

log = logging.getLogger(__name__)
PENDING = ("queued", "running")


class Runner:
    def __init__(self, factory: sessionmaker, name: str | None = None, lease_s: float = 30.0,
                 poll_s: float = 1.0, report: Callable[[dict], None] | None = None):
        self.factory, self.lease_s, self.poll_s = factory, lease_s, poll_s
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.store = Store(factory)
        self.report = report or (lambda event: print(json.dumps(event, ensure_ascii=False), flush=True))
        self.tasks: dict[int, asyncio.Task] = {}

    def _lease_until(self) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.lease_s)

    def claim(self) -> list[int]:
        """Lease every free rig that has a run waiting; the rig ids won."""
        won = []
        with self.factory() as session, session.begin():
            now = utcnow()
            rig_ids = session.scalars(select(Verification.rig_id).where(Verification.state.in_(PENDING)).distinct())
            for rig_id in rig_ids:
                if rig_id in self.tasks:
                    continue
                claimed = session.execute(
                    update(Rig).where(Rig.id == rig_id, or_(Rig.leased_by.is_(None), Rig.lease_until < now,
                                                            Rig.leased_by == self.name))
                    .values(leased_by=self.name, lease_until=self._lease_until())).rowcount
                if claimed:
                    won.append(rig_id)
        return won

    def renew(self) -> set[int]:
        """Extend the leases held; the rig ids whose lease was lost (another runner took it)."""
        with self.factory() as session, session.begin():
            held = set(session.scalars(select(Rig.id).where(Rig.leased_by == self.name)))
            session.execute(update(Rig).where(Rig.leased_by == self.name).values(lease_until=self._lease_until()))
        return set(self.tasks) - held

    def release(self, rig_id: int) -> None:
        with self.factory() as session, session.begin():
            session.execute(update(Rig).where(Rig.id == rig_id, Rig.leased_by == self.name)
                            .values(leased_by=None, lease_until=None))

    def next_run(self, rig_id: int) -> int | None:
        with self.factory() as session:
            return session.scalar(select(Verification.id).where(Verification.rig_id == rig_id,
                                                                Verification.state.in_(PENDING))
                                  .order_by(Verification.id).limit(1))

    async def drive(self, rig_id: int, pool: BusPool) -> None:
        """Run the rig's waiting runs one after another, then give the rig up."""
        try:
            while (verification_id := await asyncio.to_thread(self.next_run, rig_id)) is not None:
                self.report({"event": "start", "verification": verification_id, "rig": rig_id, "runner": self.name})
                await run_verification(self.store, verification_id, pool, self.report)
        finally:
            await asyncio.to_thread(self.release, rig_id)

    async def run(self, stop: asyncio.Event) -> None:
        async with BusPool() as pool:
            try:
                while not stop.is_set():
                    for rig_id, task in list(self.tasks.items()):
                        if task.done():  # it gave its rig up
                            del self.tasks[rig_id]
                            if not task.cancelled() and task.exception():
                                log.error("rig %s: %s", rig_id, task.exception())
                    for rig_id in await asyncio.to_thread(self.renew):
                        log.warning("lost the lease of rig %s; stopping its run", rig_id)
                        self.tasks.pop(rig_id).cancel()
                    for rig_id in await asyncio.to_thread(self.claim):
                        self.tasks[rig_id] = asyncio.get_running_loop().create_task(self.drive(rig_id, pool))
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=min(self.poll_s, self.lease_s / 3))
                    except asyncio.TimeoutError:
                        pass
            finally:
                for task in self.tasks.values():
                    task.cancel()
                await asyncio.gather(*self.tasks.values(), return_exceptions=True)
