"""/api/openapi.json documents itself: every operation has a summary, the docs page opens with how
to begin, and the catalog's operations describe every field and give fixed sets of values as enums."""
from __future__ import annotations

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(doc):
    return [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()
            if method in METHODS]


def test_every_operation_has_a_summary(client):
    doc = client.get("/api/openapi.json").json
    assert [(method, path) for method, path, op in _operations(doc) if not op.get("summary")] == []


def _schemas_reached(doc, node, seen):
    """The component schemas an operation's parameters, body and answers refer to, nested ones too."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in seen:
            name = ref.rsplit("/", 1)[1]
            seen.add(name)
            _schemas_reached(doc, doc["components"]["schemas"][name], seen)
        for value in node.values():
            _schemas_reached(doc, value, seen)
    elif isinstance(node, list):
        for value in node:
            _schemas_reached(doc, value, seen)
    return seen


def test_the_catalogs_fields_are_described_and_fixed_sets_are_enums(client):
    doc = client.get("/api/openapi.json").json
    catalog = [op for _m, _path, op in _operations(doc) if op.get("tags") == ["catalog"]]
    assert catalog, "no catalog operations found by tag"
    names = set()
    for op in catalog:
        _schemas_reached(doc, {k: v for k, v in op.items() if k != "responses"}, names)
        _schemas_reached(doc, {code: answer for code, answer in op["responses"].items() if code.startswith("2")}, names)
    assert {"Lab", "Instrument", "Closure"} <= {name.removesuffix("Out").removesuffix("In") for name in names}, names
    undescribed = [f"{name}.{field}" for name in sorted(names)
                   for field, prop in doc["components"]["schemas"][name].get("properties", {}).items()
                   if "$ref" not in prop and not prop.get("description")]
    assert undescribed == []
    approval = [doc["components"]["schemas"][name]["properties"]["approval_mode"] for name in names
                if "approval_mode" in doc["components"]["schemas"][name].get("properties", {})]
    assert approval and all(prop["enum"] == ["instant", "manager"] for prop in approval)


# Fields that hold one of a fixed set of words (an HTTP status in a problem is a number, not one of them).
FIXED_SETS = ("state", "status", "role", "mode", "approval_mode", "verdict", "policy", "conclusion", "run_state",
              "certificate_kind", "instrument_kind", "token_type")


def test_fixed_sets_of_values_are_enums(client):
    doc = client.get("/api/openapi.json").json
    loose = [f"{name}.{field}" for name, schema in doc["components"]["schemas"].items()
             for field, prop in schema.get("properties", {}).items()
             if field in FIXED_SETS and prop.get("type") == "string" and "enum" not in prop]
    assert loose == []
