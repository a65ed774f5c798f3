"""100 simultaneous assignments of one technician (and of one portable rig) to 100 work orders whose
times all overlap, through `labs serve` with 4 worker processes: exactly one wins, the others get
409 naming the work order in the way, nothing 5xx, and the table holds no overlap afterwards."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import text

from labs.accounts.models import User
from labs.accounts.service import SYSTEM, issue_token
from labs.db import session_scope
from labs.dispatch import service
from tests.conftest import post_at_once, running_server
from tests.dispatch.conftest import weekday_ahead

ASSIGNMENTS = 100


@pytest.fixture
def server(database_url, tmp_path):
    with running_server(database_url, tmp_path, workers=4) as base:
        yield base


@pytest.mark.parametrize("holder", ["technician", "rig"])
def test_100_simultaneous_overlapping_assignments_give_one_201_and_99_409(app, dispatch, server, holder):
    day = weekday_ahead(2)
    rng = random.Random(8)
    managers = [dispatch.world.user("lab_manager")[0] for _ in range(4)]
    with app.app_context(), session_scope(app) as s:
        tokens = [issue_token(s, s.get(User, uid)) for uid in managers]
        # Every span contains 11:00-11:30, so any two overlap; starts and ends vary.
        orders = [service.plan_work_order(s, SYSTEM, {
            "instrument_ids": [dispatch.instrument], "site": f"站点 {n}", "day": day,
            "starts": dt.time(rng.choice([8, 9, 10, 11])), "ends": dt.time(rng.choice([11, 12, 13]), 30)}).id
            for n in range(ASSIGNMENTS)]
    body = {"technician_id": dispatch.tech_id} if holder == "technician" else {"rig_id": dispatch.rig}
    statuses, payloads = post_at_once(
        [(f"{server}/api/v1/work-orders/{order}/assignments", body) for order in orders], tokens)

    assert not [s for s in statuses if s >= 500], [p for s, p in zip(statuses, payloads) if s >= 500][:3]
    assert statuses.count(201) == 1, sorted(set(statuses))
    assert statuses.count(409) == ASSIGNMENTS - 1
    winner = orders[statuses.index(201)]
    for status, payload in zip(statuses, payloads):
        if status == 409:
            assert payload["code"] == f"{holder}_busy", payload
            assert [c["work_order_id"] for c in payload["conflicts"]] == [winner], payload
    column = "technician_id" if holder == "technician" else "rig_id"
    with app.app_context(), session_scope(app) as s:
        active = s.execute(text(f"SELECT count(*) FROM work_order_assignments WHERE active AND {column} IS NOT NULL")).scalar()
        overlapping = s.execute(text(
            f"SELECT count(*) FROM work_order_assignments a JOIN work_order_assignments b ON a.{column} = b.{column} "
            "AND a.id < b.id WHERE a.active AND b.active AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at")).scalar()
    assert active == 1
    assert overlapping == 0
