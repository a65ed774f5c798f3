"""What the spot-check API answers holds to the fixed sets its OpenAPI document gives: a task's
origin (drawn or nominated), a nominated instrument's kind, a review sheet's kind."""
from __future__ import annotations

from sqlalchemy import select

from labs.db import session_scope
from labs.spotchecks.models import RegistryInstrument
from tests.spotchecks.test_tasks import _draw


def _enum(doc: dict, schema: str, field: str) -> list:
    return doc["components"]["schemas"][schema]["properties"][field]["enum"]


def test_origins_and_kinds_answered_are_among_the_documented_ones(app, world, registry):
    doc = world.client.get("/api/openapi.json").json
    with session_scope(app) as session:
        target = session.scalar(select(RegistryInstrument.id).where(RegistryInstrument.serial_number == "JYJ-25-2"))
    nominated = world.client.post("/api/v1/spotchecks/nominations",
                                  json={"instrument_id": target, "reason": "总觉得少了两升", "phone": "13800138000"})
    assert nominated.status_code == 201, nominated.json
    plan = _draw(app)
    _, email = world.user("inspector")
    inspector = world.token(email)
    added = world.client.post(f"/api/v1/spotchecks/plans/{plan}/nominated-tasks", json={"top": 1}, headers=inspector)
    assert added.status_code == 201, added.json

    tasks = world.client.get(f"/api/v1/spotchecks/plans/{plan}/tasks", headers=inspector).json
    assert {task["origin"] for task in tasks} == {"drawn", "nominated"} == set(_enum(doc, "TaskOut", "origin"))
    counts = world.client.get("/api/v1/spotchecks/nominations").json
    assert counts and all(c["kind"] in _enum(doc, "NominationCountOut", "kind") for c in counts)
    sheet = world.client.get(f"/api/v1/spotchecks/task-instruments/{tasks[0]['instruments'][0]['id']}/review",
                             headers=inspector)
    assert sheet.status_code == 200 and sheet.json["kind"] in _enum(doc, "ReviewSheetOut", "kind")
