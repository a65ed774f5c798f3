"""A plan's life over the API: witnesses commit, the scope is frozen and published, the secrets are
revealed, the draw runs and is published, and anyone can re-run it — the service itself, and the
stand-alone snippet in the README."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labs.accounts.models import User
from labs.db import session_scope
from labs.errors import Conflict
from labs.spotchecks import domain, registry, service
from labs.spotchecks.models import RegistryEntity, RegistryInspector, Task
from tests.spotchecks.conftest import code as _code
from tests.spotchecks.conftest import race

README = Path(__file__).resolve().parents[2] / "README.md"
SECRETS = ["纪检监察室：第四轮抽查 7731", "企业观察员 k2Xq9"]


def _plan(world, headers, **extra) -> int:
    body = {"name": "2026 年第四轮加油机抽查", "instrument_kind": "fuel_dispenser", "regions": ["320100", "320200"],
            "entity_kinds": ["fuel_station"], "shares": {"high": "0.3", "low": "0.05"}, "inspectors_per_task": 2,
            "instruments_per_entity": 1, "draw_date": "2026-12-01", **extra}
    r = world.client.post("/api/v1/spotchecks/plans", json=body, headers=headers)
    assert r.status_code == 201, r.json
    return r.json["id"]


def _drawn_plan(world, headers) -> int:
    plan = _plan(world, headers)
    for name, secret in zip(("纪检监察室", "企业观察员"), SECRETS):
        r = world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses", headers=headers,
                              json={"name": name, "commitment": hashlib.sha256(secret.encode()).hexdigest()})
        assert r.status_code == 201, r.json
    frozen = world.client.post(f"/api/v1/spotchecks/plans/{plan}/freeze", headers=headers)
    assert frozen.status_code == 200 and frozen.json["state"] == "frozen"
    for position, secret in enumerate(SECRETS, start=1):
        r = world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses/{position}/reveal", headers=headers,
                              json={"secret": secret})
        assert r.status_code == 200, r.json
    drawn = world.client.post(f"/api/v1/spotchecks/plans/{plan}/draw", headers=headers)
    assert drawn.status_code == 200, drawn.json
    return plan


def test_a_published_draw_is_confirmed_by_the_service_and_by_the_readme_snippet(app, world, registry, tmp_path):
    _, email = world.user("inspector")
    plan = _drawn_plan(world, world.token(email))
    record = world.client.get(f"/api/v1/spotchecks/plans/{plan}/draw").json  # no login
    assert record["seed"] == hashlib.sha256("\n".join(SECRETS).encode()).hexdigest()
    assert len(record["selection"]["entities"]["high"]) == 3 and len(record["selection"]["entities"]["low"]) == 1
    snapshot = world.client.get(f"/api/v1/spotchecks/plans/{plan}/draw/snapshot.txt").get_data(as_text=True)
    assert hashlib.sha256(snapshot.encode()).hexdigest() == record["snapshot_sha256"]
    assert len(snapshot.split("\n")) == 30
    assert world.client.get(f"/api/v1/spotchecks/plans/{plan}/draw/confirm").json["confirmed"] is True
    snippet = re.search(r"<!-- draw-check -->\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "draw.json").write_text(json.dumps(record, ensure_ascii=False))
    (tmp_path / "check.py").write_text(snippet)
    done = subprocess.run([sys.executable, str(tmp_path / "check.py"), (tmp_path / "draw.json").as_uri()],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "the draw is confirmed" in done.stdout, done.stderr
    # a tampered record fails the snippet
    record["selection"]["entities"]["high"].reverse()
    (tmp_path / "draw.json").write_text(json.dumps(record, ensure_ascii=False))
    done = subprocess.run([sys.executable, str(tmp_path / "check.py"), (tmp_path / "draw.json").as_uri()],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "high" in done.stderr


def test_no_recused_inspector_is_drawn_and_skips_are_published(app, world, registry):
    _, email = world.user("inspector")
    record = world.client.get(f"/api/v1/spotchecks/plans/{_drawn_plan(world, world.token(email))}/draw").json
    with session_scope(app) as session:
        inspectors = {i.id: domain.Inspector(i.id, i.affiliation, frozenset(i.conflicts or ()))
                      for i in session.scalars(select(RegistryInspector))}
        affiliation = dict(session.execute(select(RegistryEntity.credit_code, RegistryEntity.affiliation)).all())
    assert record["selection"]["inspector_pool"] == [1, 2, 3, 4]  # 5 is not qualified for dispensers
    for task in record["selection"]["tasks"]:
        code = task["credit_code"]
        why = {i: domain.recusal(inspector, code, affiliation[code]) for i, inspector in inspectors.items()}
        assert len(task["inspectors"]) == 2 and not any(why[i] for i in task["inspectors"])
        # every inspector passed over before the last one chosen is published with the registry's reason
        walk = [i for i in sorted(why, key=lambda i: domain.rank(record["seed"], f"{code}#{i}")) if i != 5]
        passed = walk[:walk.index(task["inspectors"][-1])]
        assert task["skipped"] == [{"id": i, "why": why[i]} for i in passed if why[i]]


def test_the_scope_cannot_change_after_the_freeze_and_a_wrong_reveal_stops_the_draw(app, world, registry):
    _, email = world.user("inspector")
    headers = world.token(email)
    plan = _plan(world, headers)
    for secret in ("a", "b"):
        world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses", headers=headers,
                          json={"name": "witness", "commitment": hashlib.sha256(secret.encode()).hexdigest()})
    assert world.client.post(f"/api/v1/spotchecks/plans/{plan}/freeze", headers=headers).status_code == 200
    moved = world.client.patch(f"/api/v1/spotchecks/plans/{plan}", headers=headers, json={"regions": ["320100"]})
    assert moved.status_code == 409 and "frozen" in moved.json["detail"]
    assert world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses/1/reveal", headers=headers,
                             json={"secret": "a"}).status_code == 200
    wrong = world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses/2/reveal", headers=headers,
                              json={"secret": "not b"})
    assert wrong.status_code == 409 and "does not match" in wrong.json["detail"]
    assert world.client.get(f"/api/v1/spotchecks/plans/{plan}").json["state"] == "stopped"
    assert world.client.post(f"/api/v1/spotchecks/plans/{plan}/draw", headers=headers).status_code == 409


def test_a_changed_registry_changes_the_snapshot_hash(app, world, registry):
    _, email = world.user("inspector")
    headers = world.token(email)
    hashes = []
    for _ in range(2):
        plan = _plan(world, headers)
        for secret in ("a", "b"):
            world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses", headers=headers,
                              json={"name": "w", "commitment": hashlib.sha256(secret.encode()).hexdigest()})
        hashes.append(world.client.post(f"/api/v1/spotchecks/plans/{plan}/freeze", headers=headers).json["snapshot_sha256"])
        with session_scope(app) as session:
            session.get(RegistryEntity, 4).kind = "taxi company"  # out of scope now
    assert hashes[0] != hashes[1]


def test_only_organisers_make_plans_and_witnesses_are_needed(app, world, registry):
    _, enterprise = world.user("enterprise", enterprise=0)
    assert world.client.post("/api/v1/spotchecks/plans", json={}, headers=world.token(enterprise)).status_code in (403, 422)
    _, email = world.user("inspector")
    headers = world.token(email)
    plan = _plan(world, headers)
    lonely = world.client.post(f"/api/v1/spotchecks/plans/{plan}/freeze", headers=headers)
    assert lonely.status_code == 409 and "at least 2 witnesses" in lonely.json["detail"]
    one_inspector = world.client.post("/api/v1/spotchecks/plans", headers=headers, json={
        "name": "x", "instrument_kind": "fuel_dispenser", "regions": ["320100"], "entity_kinds": ["fuel_station"],
        "shares": {"high": "0.1"}, "inspectors_per_task": 1, "draw_date": "2026-12-01"})
    assert one_inspector.status_code == 422 and "inspectors_per_task" in one_inspector.json["errors"]


def test_a_draw_written_in_batches_stores_the_published_selection(app, world, registry, monkeypatch):
    monkeypatch.setattr(service, "DRAW_WRITE_BATCH", 2)  # four tasks: two full batches, an empty last one
    _, email = world.user("inspector")
    plan = _drawn_plan(world, world.token(email))
    published = world.client.get(f"/api/v1/spotchecks/plans/{plan}/draw").json["selection"]["tasks"]
    with session_scope(app) as session:
        stored = {task.entity.credit_code: (task.inspector_ids, sorted(ti.instrument.serial_number
                                                                       for ti in task.instruments))
                  for task in session.scalars(select(Task).where(Task.plan_id == plan))}
    assert len(published) == 4
    assert stored == {t["credit_code"]: (t["inspectors"], sorted(t["instruments"])) for t in published}


def test_a_draw_that_runs_out_of_inspectors_part_way_writes_nothing(app, world, registry, monkeypatch):
    """Entity 0 recuses two of the four qualified inspectors (a declared conflict, the same
    affiliation), so a plan needing three per task cannot be drawn: the tasks already written in
    earlier batches are undone with the rest, and the plan stays frozen."""
    monkeypatch.setattr(service, "DRAW_WRITE_BATCH", 1)
    _, email = world.user("inspector")
    headers = world.token(email)
    plan = _plan(world, headers, shares={"high": "1"}, inspectors_per_task=3)
    for secret in ("a", "b"):
        world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses", headers=headers,
                          json={"name": "w", "commitment": hashlib.sha256(secret.encode()).hexdigest()})
    assert world.client.post(f"/api/v1/spotchecks/plans/{plan}/freeze", headers=headers).status_code == 200
    for position, secret in ((1, "a"), (2, "b")):
        world.client.post(f"/api/v1/spotchecks/plans/{plan}/witnesses/{position}/reveal", headers=headers,
                          json={"secret": secret})
    seed = domain.seed_from_reveals([hashlib.sha256(s.encode()).hexdigest() for s in "ab"], ["a", "b"])
    high = domain.order(seed, sorted(_code(n) for n in range(10)))  # the draw's order: all ten are drawn
    assert high.index(_code(0)) > 0  # some tasks come before the refusal, so some batches were written
    refused = world.client.post(f"/api/v1/spotchecks/plans/{plan}/draw", headers=headers)
    assert refused.status_code == 409 and refused.json["code"] == "too_few_inspectors", refused.json
    assert world.client.get(f"/api/v1/spotchecks/plans/{plan}").json["state"] == "frozen"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Task).where(Task.plan_id == plan)) == 0


def test_malformed_plans_are_refused_field_by_field_and_nothing_is_written(app, world, registry):
    _, email = world.user("inspector")
    headers = world.token(email)
    first = _plan(world, headers)
    refusals = {
        "previous_plan_id": {"previous_plan_id": 999_999},  # no such plan (was a 500: its foreign key)
        "regions": {"regions": ["320100\n"]},  # a line break after the code would draw nothing
        "shares": {"shares": {"high": "0.5\n"}},
        "inspectors_per_task": {"inspectors_per_task": 2.5},  # not taken as 2
    }
    for field, change in refusals.items():
        r = world.client.post("/api/v1/spotchecks/plans", headers=headers, json={
            "name": "x", "instrument_kind": "fuel_dispenser", "regions": ["320100"], "entity_kinds": ["fuel_station"],
            "shares": {"high": "0.1"}, "draw_date": "2026-12-01", **change})
        assert r.status_code == 422 and field in str(r.json["errors"]), (field, r.json)
    # A plan's previous round is an earlier plan: not itself, not a later one.
    later = _plan(world, headers, previous_plan_id=first)
    for plan, previous in ((first, first), (first, later), (later, later + 1)):
        r = world.client.patch(f"/api/v1/spotchecks/plans/{plan}", headers=headers, json={"previous_plan_id": previous})
        assert r.status_code == 422 and "previous_plan_id" in r.json["errors"], (plan, previous, r.json)
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(service.Plan)) == 2
        assert session.get(service.Plan, first).previous_plan_id is None


def test_a_plan_not_frozen_has_no_snapshot_file_and_a_missing_plan_no_tasks(app, world, registry):
    _, email = world.user("inspector")
    headers = world.token(email)
    plan = _plan(world, headers)
    r = world.client.get(f"/api/v1/spotchecks/plans/{plan}/draw/snapshot.txt")
    assert r.status_code == 409 and r.json["code"] == "plan_not_frozen"
    assert world.client.get(f"/api/v1/spotchecks/plans/{plan}/tasks", headers=headers).json == []
    missing = world.client.get(f"/api/v1/spotchecks/plans/{plan + 1}/tasks", headers=headers)
    assert missing.status_code == 404 and missing.json["code"] == "no_plan"
    # A review's note is text: line breaks are fine, other control characters are not.
    note = world.client.post("/api/v1/spotchecks/task-instruments/1/review", headers=headers,
                             json={"conclusion": "pass", "note": "a\x1b[31mred\x07"})
    assert note.status_code == 422 and "note" in note.json["errors"], note.json


def test_two_witnesses_committing_at_once_take_turns_on_postgresql(app, world, registry):
    """The second request waits for the first's lock on the plan, then reads its witness: positions 1
    and 2, where both used to read none, take position 1, and the loser's unique key was a 500."""
    engine = app.extensions["labs.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns by BEGIN IMMEDIATE: there is no race to lose")
    user_id, email = world.user("inspector")
    plan = _plan(world, world.token(email))
    commitment = hashlib.sha256(b"secret").hexdigest()
    position = race(app, lambda s: service.add_witness(s, s.get(User, user_id), plan, "甲", commitment),
                    lambda s: service.add_witness(s, s.get(User, user_id), plan, "乙", commitment).position)
    assert position == 2
    assert [w["position"] for w in world.client.get(f"/api/v1/spotchecks/plans/{plan}/draw").json["witnesses"]] == [1, 2]


def test_a_failed_background_write_is_raised_but_never_hides_the_callers_own_refusal(app):
    columns = {Task.__tablename__: ("id", "plan_id", "entity_id", "origin", "inspector_ids")}
    orphan = {Task.__tablename__: [(999_999, 999_999, 999_999, "drawn", "[]")]}  # no such plan or entity
    session = app.extensions["labs.sessionmaker"]()
    try:
        with pytest.raises(Exception) as failed:  # psycopg's error from the writer's thread, or SQLAlchemy's
            with registry.BackgroundWriter(session, columns) as writer:
                writer.write(orphan)
        assert "foreign key" in str(failed.value).lower(), failed.value
    finally:
        session.rollback()
        session.close()
    if app.extensions["labs.engine"].dialect.name != "postgresql":
        return  # SQLite writes at once: the failure comes before anything else can
    session = app.extensions["labs.sessionmaker"]()
    try:
        with pytest.raises(Conflict):  # what the draw raised part-way, not the writer's failure
            with registry.BackgroundWriter(session, columns) as writer:
                writer.write(orphan)
                raise Conflict("too few inspectors", code="too_few_inspectors")
    finally:
        session.rollback()
        session.close()
