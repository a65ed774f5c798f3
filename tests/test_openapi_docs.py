"""/api/openapi.json documents itself: every operation has a summary, every field and query parameter
is described, and fixed sets of values are enums."""
from __future__ import annotations

METHODS = ("get", "post", "put", "patch", "delete")
REFS = ("#/components/schemas/", "#/components/responses/")


def _operations(doc):
    return [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()
            if method in METHODS]


def test_every_operation_has_a_summary(client):
    doc = client.get("/api/openapi.json").json
    assert [(method, path) for method, path, op in _operations(doc) if not op.get("summary")] == []


def _schemas_reached(doc, node, seen, responses=None):
    """The component schemas an operation's parameters, body and answers refer to, nested ones too,
    and those of the shared answers it names (its errors' problem document)."""
    responses = set() if responses is None else responses
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        kind, _, name = ref.rpartition("/")
        if f"{kind}/" == REFS[0] and name not in seen:
            seen.add(name)
            _schemas_reached(doc, doc["components"]["schemas"][name], seen, responses)
        elif f"{kind}/" == REFS[1] and name not in responses:
            responses.add(name)
            _schemas_reached(doc, doc["components"]["responses"][name], seen, responses)
        for value in node.values():
            _schemas_reached(doc, value, seen, responses)
    elif isinstance(node, list):
        for value in node:
            _schemas_reached(doc, value, seen, responses)
    return seen


def test_every_field_of_every_operation_is_described(client):
    doc = client.get("/api/openapi.json").json
    names = set()
    for _method, _path, op in _operations(doc):
        _schemas_reached(doc, op, names)
    # The catalog's, the bookings', the accounts' and the field laptops' schemas, and the problem.
    assert {"LabOut", "BookingOut", "UserOut", "UploadIn", "Problem"} <= names, sorted(names)
    undescribed = [f"{name}.{field}" for name in sorted(names)
                   for field, prop in doc["components"]["schemas"][name].get("properties", {}).items()
                   if "$ref" not in prop and not prop.get("description")]
    assert undescribed == []


def test_every_query_parameter_is_described(client):
    doc = client.get("/api/openapi.json").json
    undescribed = [f"{method} {path} {parameter['name']}" for method, path, op in _operations(doc)
                   for parameter in op.get("parameters", [])
                   if parameter.get("in") == "query" and not parameter.get("description")]
    assert undescribed == []


def test_the_catalogs_approval_mode_is_an_enum(client):
    doc = client.get("/api/openapi.json").json
    approval = [schema["properties"]["approval_mode"] for schema in doc["components"]["schemas"].values()
                if "approval_mode" in schema.get("properties", {})]
    assert approval and all(prop["enum"] == ["instant", "manager"] for prop in approval)


# Fields that hold one of a fixed set of words (an HTTP status in a problem is a number, not one of them).
FIXED_SETS = ("state", "status", "role", "mode", "approval_mode", "verdict", "policy", "conclusion", "run_state",
              "certificate_kind", "instrument_kind", "token_type", "kind", "rig_kind", "operation", "origin",
              "pause_reason", "content_type")


def test_fixed_sets_of_values_are_enums(client):
    doc = client.get("/api/openapi.json").json
    loose = [f"{name}.{field}" for name, schema in doc["components"]["schemas"].items()
             for field, prop in schema.get("properties", {}).items()
             if field in FIXED_SETS and prop.get("type") == "string" and "enum" not in prop]
    assert loose == []
