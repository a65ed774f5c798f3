"""A request's steps carry a kind the API documents as an enum: the documented set is exactly the
kinds the service writes, and the pages have a name for each."""
from __future__ import annotations

import ast
import inspect

from labs.services import schemas, service, views


def _kinds_written() -> set[str]:
    """The kind given to every `_step(session, request, kind, ...)` call of the service."""
    calls = [node for node in ast.walk(ast.parse(inspect.getsource(service)))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_step"]
    assert calls and all(isinstance(call.args[2], ast.Constant) for call in calls), "a step kind is not a literal"
    return {call.args[2].value for call in calls}


def test_the_documented_step_kinds_are_those_the_service_writes_and_the_pages_name(client):
    assert _kinds_written() == set(schemas.STEP_KINDS)
    kind = client.get("/api/openapi.json").json["components"]["schemas"]["StepOut"]["properties"]["kind"]
    assert kind["enum"] == list(schemas.STEP_KINDS) and kind["description"]
    assert set(views.STEP) == set(schemas.STEP_KINDS)
