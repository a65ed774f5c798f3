"""The scheduler process (`labs scheduler`): APScheduler 3, never inside web workers.

On PostgreSQL a second scheduler waits on an advisory lock, so only one leader runs jobs.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo
from typing import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from labs.db import session_scope

log = logging.getLogger(__name__)
LEADER_LOCK = 0x1AB5  # an arbitrary key shared by every scheduler of this service


def run(app, jobs: list[tuple[Callable, dict]], run_now: bool = False) -> None:
    """Lead (or wait to lead) and run the jobs on their triggers; with `run_now`, each job also runs
    once as soon as this scheduler leads."""
    engine = app.extensions["labs.engine"]
    leader = None
    if engine.dialect.name == "postgresql":
        leader = engine.connect()
        while not leader.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK}).scalar():
            leader.rollback()
            log.info("another scheduler leads; waiting")
            time.sleep(5)
        leader.commit()
    scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])
    first = {"next_run_time": dt.datetime.now(ZoneInfo(app.config["TIMEZONE"]))} if run_now else {}
    for func, trigger in jobs:
        scheduler.add_job(_in_session(app, func), id=func.__qualname__, coalesce=True, max_instances=1,
                          **first, **trigger)
    log.info("scheduler running %d jobs", len(jobs))
    try:
        scheduler.start()
    finally:
        if leader is not None:
            leader.close()


def _in_session(app, func):
    def job():
        with app.app_context(), session_scope(app) as session:
            func(session)
        log.info("ran job %s", func.__qualname__)
    job.__name__ = func.__name__
    return job
