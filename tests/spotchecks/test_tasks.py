"""After the draw: a verification run attached to each drawn instrument, review and
countersignature by two inspectors, follow-ups of failures, publication within its deadline in
working days, public nominations, and the Friday file for the credit publicity system."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import select

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.spotchecks import results, service
from labs.spotchecks.models import RegistryInspector, Task, TaskInstrument
from labs.verification import service as verification
from simulators.harness import RigOptions, simulated_rig
from tests.spotchecks.conftest import code, race
from tests.verification.conftest import DISPENSER, FAST, Bench

SECRETS = ["a secret", "another secret"]


def _draw(app, **plan_fields) -> int:
    with session_scope(app) as session:
        plan = service.create_plan(session, SYSTEM, {
            "name": "2026 年第四轮", "instrument_kind": "fuel_dispenser", "regions": ["320100", "320200"],
            "entity_kinds": ["fuel_station"], "shares": {"high": "0.2"}, "inspectors_per_task": 2,
            "instruments_per_entity": 1, "draw_date": dt.date(2026, 12, 1), **plan_fields})
        for secret in SECRETS:
            service.add_witness(session, SYSTEM, plan.id, "witness", hashlib.sha256(secret.encode()).hexdigest())
        service.freeze(session, SYSTEM, plan.id)
        for position, secret in enumerate(SECRETS, start=1):
            service.reveal(session, SYSTEM, plan.id, position, secret)
        service.draw(session, SYSTEM, plan.id)
        return plan.id


def _inspector_users(app, world) -> dict[int, tuple[int, str]]:
    """A user for each registry inspector: registry id -> (user id, e-mail)."""
    users = {}
    with session_scope(app) as session:
        inspector_ids = list(session.scalars(select(RegistryInspector.id)))
    for inspector_id in inspector_ids:
        users[inspector_id] = world.user("inspector")
    with session_scope(app) as session:
        for inspector_id, (user_id, _) in users.items():
            session.get(RegistryInspector, inspector_id).user_id = user_id
    return users


def _verify(bench: Bench, task_instrument_id: int, error_pct: float) -> int:
    """Register the drawn nozzle as an instrument under verification and run it on a simulated rig."""
    app = bench.app
    with session_scope(app) as session:
        ti = session.get(TaskInstrument, task_instrument_id)
        kind, serial = ti.instrument.kind, ti.instrument.serial_number
        credit_code, name = ti.task.entity.credit_code, ti.task.entity.name
        existing = verification.list_instruments(session, SYSTEM, kind=kind, serial_number=serial)
        instrument_id = existing[0].id if existing else verification.register_instrument(session, SYSTEM, {
            "kind": kind, "serial_number": serial, "owner_credit_code": credit_code, "owner_name": name,
            "nameplate": DISPENSER}).id
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=error_pct, speed=FAST)) as sim:
        rig = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        run = bench.request(instrument_id, rig, nozzle=1)
        assert bench.run(run) == "done"
    return run


def _first_task(app, plan_id: int) -> tuple[int, int, list[int]]:
    with session_scope(app) as session:
        task = session.scalar(select(Task).where(Task.plan_id == plan_id).order_by(Task.id))
        return task.id, task.instruments[0].id, list(task.inspector_ids)


def test_two_inspectors_conclude_a_task_and_its_result_is_published_and_exported(app, world, registry, bench, tmp_path):
    plan = _draw(app)
    users = _inspector_users(app, world)
    task_id, ti, (first, second) = _first_task(app, plan)
    run = _verify(bench, ti, 0.12)
    h1, h2 = world.token(users[first][1]), world.token(users[second][1])
    base = "/api/v1/spotchecks/task-instruments"
    assert world.client.post(f"{base}/{ti}/review", json={"conclusion": "pass"}, headers=h1).status_code == 409
    assert world.client.post(f"{base}/{ti}/verification", json={"verification_id": run}, headers=h1).status_code == 200
    sheet = world.client.get(f"{base}/{ti}/review", headers=h1).json
    assert [p["key"] for p in sheet["points"]] == ["Q1", "Q2"] and sheet["points"][0]["x"] == pytest.approx(54)
    assert {"mpe_low_pct", "mpe_high_pct", "rounded_pct"} <= set(sheet["points"][0])
    outsider = next(u for i, u in users.items() if i not in (first, second) and i != 5)
    assert world.client.post(f"{base}/{ti}/review", json={"conclusion": "pass"},
                             headers=world.token(outsider[1])).status_code == 403
    assert world.client.post(f"{base}/{ti}/review", json={"conclusion": "pass", "note": "误差在允许范围内"},
                             headers=h1).status_code == 200
    assert world.client.post(f"{base}/{ti}/countersign", headers=h1).status_code == 403  # not the first again
    signed = world.client.post(f"{base}/{ti}/countersign", headers=h2)
    assert signed.status_code == 200, signed.json
    published = world.client.get(f"/api/v1/spotchecks/results?plan_id={plan}")  # no login
    assert published.status_code == 200 and published.json[0]["task_id"] == task_id
    content = published.json[0]["content"]
    assert content["verdict"] == "pass" and content["instruments"][0]["errors"][0]["rounded_pct"] is not None
    assert world.client.get(f"/api/v1/spotchecks/results?plan_id={plan}",
                            headers={"If-None-Match": published.headers["ETag"]}).status_code == 304
    with session_scope(app) as session:
        export = results.export_week(session, str(tmp_path))
        assert export is not None and export.rows == 1
        assert results.export_week(session, str(tmp_path)) is None  # once a week
    raw = (tmp_path / f"credit-{export.week}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][0] == "统一社会信用代码" and rows[1][4] == "合格"
    assert json.loads((tmp_path / f"credit-{export.week}.json").read_text())["results"][0]["credit_code"] == rows[1][0]


def test_a_failure_opens_a_follow_up_and_re_verification_puts_it_back_into_use(app, world, registry, bench):
    plan = _draw(app)
    users = _inspector_users(app, world)
    _, ti, (first, second) = _first_task(app, plan)
    as_found = _verify(bench, ti, 0.45)
    with session_scope(app) as session:
        first_user = session.get(verification.User, users[first][0])
        second_user = session.get(verification.User, users[second][0])
        results.attach_verification(session, first_user, ti, as_found)
        results.review(session, first_user, ti, "fail", "Q1 误差 +0.45 %")
        results.countersign(session, second_user, ti, today=dt.date(2026, 9, 28))
        row = session.get(TaskInstrument, ti)
        # 15 working days from Monday 28 September 2026, across National Day (1-7 October off,
        # Saturday 10 October worked): counted by hand on the published schedule.
        assert row.out_of_use and row.rectify_by == dt.date(2026, 10, 23)
        assert row.task.publish_by == dt.date(2026, 10, 30)  # 20 working days
    rerun = _verify(bench, ti, 0.05)
    with session_scope(app) as session:
        results.attach_verification(session, session.get(verification.User, users[first][0]), ti, rerun)
        assert session.get(TaskInstrument, ti).out_of_use is False


def test_the_publication_deadline_counts_working_days_across_the_spring_festival(app, world, registry, bench):
    plan = _draw(app)
    users = _inspector_users(app, world)
    _, ti, (first, second) = _first_task(app, plan)
    run = _verify(bench, ti, 0.1)
    with session_scope(app) as session:
        first_user = session.get(verification.User, users[first][0])
        results.attach_verification(session, first_user, ti, run)
        results.review(session, first_user, ti, "pass")
        results.countersign(session, session.get(verification.User, users[second][0]), ti, today=dt.date(2026, 2, 10))
        # From Tuesday 10 February 2026: 15-23 February off, Saturdays 14 and 28 February worked.
        assert session.get(TaskInstrument, ti).task.publish_by == dt.date(2026, 3, 16)


def test_nominations_count_a_person_once_are_rate_limited_and_enter_a_plan(app, world, registry):
    with session_scope(app) as session:
        target = session.scalar(select(results.RegistryInstrument).where(
            results.RegistryInstrument.serial_number == "JYJ-25-2")).id
    body = {"instrument_id": target, "reason": "加满一箱总觉得少了两升", "phone": "138 0013 8000"}
    assert world.client.post("/api/v1/spotchecks/nominations", json=body).json["count"] == 1
    again = world.client.post("/api/v1/spotchecks/nominations", json={**body, "phone": "+8613800138000"})
    assert again.status_code == 409 and "counts once" in again.json["detail"]
    for n in range(1, 5):
        r = world.client.post("/api/v1/spotchecks/nominations", json={**body, "phone": f"1390000000{n}"})
        assert r.status_code == 201 and r.json["count"] == n + 1
    limited = world.client.post("/api/v1/spotchecks/nominations", json={**body, "phone": "13700000009"})
    assert limited.status_code == 429 and limited.json["code"] == "too_many_nominations"
    assert int(limited.headers["Retry-After"]) == limited.json["retry_after"] > 0
    assert world.client.post("/api/v1/spotchecks/nominations", json={**body, "phone": "12345"}).status_code == 422
    counts = world.client.get("/api/v1/spotchecks/nominations").json
    assert counts[0]["instrument_id"] == target and counts[0]["count"] == 5 and counts[0]["credit_code"] == code(25)
    plan = _draw(app)
    _, email = world.user("inspector")
    added = world.client.post(f"/api/v1/spotchecks/plans/{plan}/nominated-tasks", json={"top": 1},
                              headers=world.token(email))
    assert added.status_code == 201, added.json
    assert added.json[0]["origin"] == "nominated" and added.json[0]["credit_code"] == code(25)
    assert world.client.get("/api/v1/spotchecks/nominations").json[0]["plan_id"] == plan


def test_nominations_from_one_address_at_once_keep_to_the_hourly_limit_on_postgresql(app, registry):
    """The last nomination the limit allows is not committed yet when another from the same address
    comes: the second waits for the first's count and insert, then counts it and is refused."""
    engine = app.extensions["labs.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns by BEGIN IMMEDIATE: there is no race to lose")
    key, address = app.config["SECRET_KEY"], "203.0.113.7"
    with session_scope(app) as session:
        target = session.scalar(select(results.RegistryInstrument.id).where(
            results.RegistryInstrument.serial_number == "JYJ-25-2"))
        for n in range(results.NOMINATIONS_PER_HOUR - 1):
            results.nominate(session, key, target, "总觉得少了", f"1390000000{n}", address)
    refused = race(app, lambda s: results.nominate(s, key, target, "总觉得少了", "13900000008", address),  # the last allowed
                   lambda s: results.nominate(s, key, target, "总觉得少了", "13900000009", address))
    assert isinstance(refused, results.TooManyAttempts) and refused.code == "too_many_nominations"
    with session_scope(app) as session:
        assert results.nomination_count(session, target) == results.NOMINATIONS_PER_HOUR
