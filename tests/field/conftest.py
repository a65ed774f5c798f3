"""Field fixtures: a work order that takes a technician (and rigs) to a site, where the laptop brings
its instruments down from."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.verification.models import VerifiedInstrument
from labs.workdays import day_kind


def plan_work_order(app, technician_id: int, serials: list[str], rig_ids: tuple[int, ...] = ()) -> int:
    """The technician's work order on the first working day from today, for the instruments named."""
    from labs.dispatch import service as dispatch
    day = dispatch.local_today()
    while not day_kind(day).working:
        day += dt.timedelta(days=1)
    with session_scope(app) as session:
        ids = list(session.scalars(select(VerifiedInstrument.id).where(VerifiedInstrument.serial_number.in_(serials))))
        return dispatch.plan_work_order(session, SYSTEM, {
            "instrument_ids": ids, "site": "某市某区加油站 3 号岛", "day": day, "starts": dt.time(8),
            "ends": dt.time(18), "technician_ids": [technician_id], "rig_ids": list(rig_ids)}).id
