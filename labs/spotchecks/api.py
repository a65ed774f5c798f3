"""/api/v1/spotchecks: plans, witnesses, the freeze, the reveals, the draw and its public record."""
from __future__ import annotations

from flask import Response

from labs.accounts.auth import current_user
from labs.api import Blueprint
from labs.db import get_session
from labs.errors import Conflict
from labs.spotchecks import schemas, service

blp = Blueprint("spotchecks", __name__, url_prefix="/api/v1/spotchecks", description="Spot-checks")
BEARER = [{"bearerAuth": []}]


def _committed(value):
    get_session().commit()
    return value


@blp.route("/plans", methods=["GET"])
@blp.response(200, schemas.PlanOut(many=True))
def list_plans():
    """Plans are public: what may be checked is published."""
    return service.list_plans(get_session())


@blp.route("/plans", methods=["POST"])
@blp.arguments(schemas.PlanIn)
@blp.response(201, schemas.PlanOut)
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def create_plan(body):
    return _committed(service.create_plan(get_session(), current_user(), body))


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@blp.response(200, schemas.PlanOut)
@blp.errors(404)
def get_plan(plan_id):
    return service.get_plan(get_session(), plan_id)


@blp.route("/plans/<int:plan_id>", methods=["PATCH"])
@blp.arguments(schemas.PlanPatch)
@blp.response(200, schemas.PlanOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def update_plan(body, plan_id):
    """The scope changes only while the plan is open (before the freeze)."""
    return _committed(service.update_plan(get_session(), current_user(), plan_id, body))


@blp.route("/plans/<int:plan_id>/witnesses", methods=["POST"])
@blp.arguments(schemas.WitnessIn)
@blp.response(201, schemas.WitnessOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def add_witness(body, plan_id):
    """A witness's commitment (the SHA-256 of a secret), before the freeze."""
    return _committed(service.add_witness(get_session(), current_user(), plan_id, **body))


@blp.route("/plans/<int:plan_id>/freeze", methods=["POST"])
@blp.response(200, schemas.PlanOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def freeze(plan_id):
    """Freeze the scope: its snapshot and SHA-256 are published; the secrets may then be revealed."""
    return _committed(service.freeze(get_session(), current_user(), plan_id))


@blp.route("/plans/<int:plan_id>/witnesses/<int:position>/reveal", methods=["POST"])
@blp.arguments(schemas.RevealIn)
@blp.response(200, schemas.WitnessOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def reveal(body, plan_id, position):
    """A secret that does not match its commitment stops the draw (409)."""
    db = get_session()
    try:
        return _committed(service.reveal(db, current_user(), plan_id, position, body["secret"]))
    except Conflict:
        db.commit()  # the stop is kept: the plan is stopped, the mismatching secret on record
        raise


@blp.route("/plans/<int:plan_id>/draw", methods=["POST"])
@blp.response(200, schemas.DrawOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def run_draw(plan_id):
    db = get_session()
    _committed(service.draw(db, current_user(), plan_id))
    return service.public_draw(db, plan_id)


@blp.route("/plans/<int:plan_id>/draw", methods=["GET"])
@blp.response(200, schemas.DrawOut)
@blp.errors(404)
def public_draw(plan_id):
    """The draw as published (no login): algorithm, witnesses, snapshot, its hash, the seed, the selection."""
    return service.public_draw(get_session(), plan_id)


@blp.route("/plans/<int:plan_id>/draw/snapshot.txt", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="text/plain")
@blp.errors(404)
def snapshot_file(plan_id):
    """The frozen scope as a file: the sorted credit codes, one a line; its SHA-256 (of the codes
    joined by newlines, no trailing newline) is the published snapshot hash."""
    record = service.public_draw(get_session(), plan_id)
    codes = sorted(code for level in (record["snapshot"] or {}).values() for code in level)
    return Response("\n".join(codes), mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}-snapshot.txt"'})


@blp.route("/plans/<int:plan_id>/draw/confirm", methods=["GET"])
@blp.response(200, schemas.ConfirmOut)
@blp.errors(404, 409)
def confirm_draw(plan_id):
    """The service re-runs the published draw from its public record alone."""
    return service.confirm_draw(get_session(), plan_id)
