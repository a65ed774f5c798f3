"""/api/v1/spotchecks: plans, witnesses, the freeze, the reveals, the draw and its public record."""
from __future__ import annotations

import hashlib

from flask import Response, current_app, request, url_for

from labs.accounts.auth import current_user
from labs.api import Blueprint, committed
from labs.db import get_session
from labs.errors import Conflict
from labs.i18n import N_
from labs.spotchecks import results, schemas, service

blp = Blueprint("spotcheck", __name__, url_prefix="/api/v1/spotchecks", description="Spot-checks")
BEARER = [{"bearerAuth": []}]



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
    """A new spot-check plan: scope, shares per risk level, draw date (administrators, inspectors)."""
    return committed(service.create_plan(get_session(), current_user(), body))


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@blp.response(200, schemas.PlanOut)
@blp.errors(404)
def get_plan(plan_id):
    """One plan, its state and its scope (public)."""
    return service.get_plan(get_session(), plan_id)


@blp.route("/plans/<int:plan_id>", methods=["PATCH"])
@blp.arguments(schemas.PlanPatch)
@blp.response(200, schemas.PlanOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def update_plan(body, plan_id):
    """The scope changes only while the plan is open (before the freeze)."""
    return committed(service.update_plan(get_session(), current_user(), plan_id, body))


@blp.route("/plans/<int:plan_id>/witnesses", methods=["POST"])
@blp.arguments(schemas.WitnessIn)
@blp.response(201, schemas.WitnessOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def add_witness(body, plan_id):
    """A witness's commitment (the SHA-256 of a secret), before the freeze."""
    return committed(service.add_witness(get_session(), current_user(), plan_id, **body))


@blp.route("/plans/<int:plan_id>/freeze", methods=["POST"])
@blp.response(200, schemas.PlanOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def freeze(plan_id):
    """Freeze the scope: its snapshot and SHA-256 are published; the secrets may then be revealed."""
    return committed(service.freeze(get_session(), current_user(), plan_id))


@blp.route("/plans/<int:plan_id>/witnesses/<int:position>/reveal", methods=["POST"])
@blp.arguments(schemas.RevealIn)
@blp.response(200, schemas.WitnessOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def reveal(body, plan_id, position):
    """A secret that does not match its commitment stops the draw (409)."""
    db = get_session()
    try:
        return committed(service.reveal(db, current_user(), plan_id, position, body["secret"]))
    except Conflict:
        db.commit()  # the stop is kept: the plan is stopped, the mismatching secret on record
        raise


@blp.route("/plans/<int:plan_id>/draw", methods=["POST"])
@blp.response(200, schemas.DrawOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def run_draw(plan_id):
    """Draw the entities, instruments and inspectors from the frozen snapshot and the revealed seed."""
    db = get_session()
    committed(service.draw(db, current_user(), plan_id))
    return service.public_draw(db, plan_id)


@blp.route("/plans/<int:plan_id>/draw", methods=["GET"])
@blp.response(200, schemas.DrawOut)
@blp.errors(404)
def public_draw(plan_id):
    """The draw as published (no login): algorithm, witnesses, snapshot, its hash, the seed, the selection."""
    return service.public_draw(get_session(), plan_id)


@blp.route("/plans/<int:plan_id>/draw/snapshot.txt", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="text/plain")
@blp.errors(404, 409)
def snapshot_file(plan_id):
    """The frozen scope as a file: the sorted credit codes, one a line; its SHA-256 (of the codes
    joined by newlines, no trailing newline) is the published snapshot hash. 409 before the freeze."""
    record = service.public_draw(get_session(), plan_id)
    if record["snapshot"] is None:  # an empty file would not match the hash, which is not published yet
        raise Conflict(N_("plan %(id)s has no snapshot yet: it is taken when the scope is frozen"),
                       code="plan_not_frozen", params={"id": plan_id})
    codes = sorted(code for level in record["snapshot"].values() for code in level)
    return Response("\n".join(codes), mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}-snapshot.txt"'})


@blp.route("/plans/<int:plan_id>/draw/confirm", methods=["GET"])
@blp.response(200, schemas.ConfirmOut)
@blp.errors(404, 409)
def confirm_draw(plan_id):
    """The service re-runs the published draw from its public record alone."""
    return service.confirm_draw(get_session(), plan_id)


@blp.route("/plans/<int:plan_id>/tasks", methods=["GET"])
@blp.response(200, schemas.TaskOut(many=True))
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def list_tasks(plan_id):
    """The plan's tasks: the drawn entities with their instruments and inspectors."""
    return results.list_tasks(get_session(), current_user(), plan_id)


@blp.route("/plans/<int:plan_id>/nominated-tasks", methods=["POST"])
@blp.arguments(schemas.NominatedTasksIn)
@blp.response(201, schemas.TaskOut(many=True))
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def add_nominated_tasks(body, plan_id):
    """The most nominated instruments of the plan's kind join the drawn plan as nominated tasks."""
    return committed(results.add_nominated_tasks(get_session(), current_user(), plan_id, body["top"]))


@blp.route("/task-instruments/<int:task_instrument_id>/verification", methods=["POST"])
@blp.arguments(schemas.AttachIn)
@blp.response(200, schemas.TaskInstrumentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def attach_verification(body, task_instrument_id):
    """Attach the instrument's finished verification run (for a follow-up: the re-verification)."""
    return committed(results.attach_verification(get_session(), current_user(), task_instrument_id,
                                                  body["verification_id"]))


@blp.route("/task-instruments/<int:task_instrument_id>/review", methods=["GET"])
@blp.response(200, schemas.ReviewSheetOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def review_sheet(task_instrument_id):
    """Errors per point with the MPE band, and the same instrument's earlier results."""
    return results.review_sheet(get_session(), current_user(), task_instrument_id)


@blp.route("/task-instruments/<int:task_instrument_id>/review", methods=["POST"])
@blp.arguments(schemas.ReviewIn)
@blp.response(200, schemas.TaskInstrumentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def review(body, task_instrument_id):
    """A drawn inspector concludes on a task's instrument from its verification results."""
    return committed(results.review(get_session(), current_user(), task_instrument_id, **body))


@blp.route("/task-instruments/<int:task_instrument_id>/countersign", methods=["POST"])
@blp.response(200, schemas.TaskInstrumentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def countersign(task_instrument_id):
    """A second inspector, not the first and not recused; the task's last countersignature publishes it."""
    return committed(results.countersign(get_session(), current_user(), task_instrument_id))


@blp.route("/nominations", methods=["POST"])
@blp.arguments(schemas.NominationIn)
@blp.response(201, schemas.NominatedOut)
@blp.errors(409, 429)
def nominate(body):
    """你点我查, no login: one person (phone) counts once per instrument; a few an hour per address."""
    count = results.nominate(get_session(), current_app.config["SECRET_KEY"], body["instrument_id"],
                             body["reason"], body["phone"], request.remote_addr or "")
    get_session().commit()
    return {"instrument_id": body["instrument_id"], "count": count}


@blp.route("/nominations", methods=["GET"])
@blp.response(200, schemas.NominationCountOut(many=True))
def nomination_counts():
    """The most nominated instruments and their counts (public)."""
    return results.nomination_counts(get_session())


RESULTS_CACHE = "labs.spotcheck_results"  # app.extensions key: {(newest id, query): (JSON body, ETag, next page)}
RESULTS_CACHE_ENTRIES = 64


def _results_answer(query: dict) -> tuple[bytes, str, str | None]:
    """The serialised page, its ETag and the next page's URL, cached in the worker per newest
    published row id.

    Published results are append-only (chained; UPDATE and DELETE are refused), and appends are
    serialised with their commit (chain.append's lock), so a row id becomes visible only after every
    smaller one: the newest id names the whole published set, and one `SELECT max(id)` a request,
    outside any unit of work, tells whether the cached answer still holds (on SQLite not even that
    while nothing is written). A publication changes the id, so the next request
    builds the answer afresh; entries of an older id are dropped then."""
    newest = results.newest_publication(get_session())
    cache = current_app.extensions.setdefault(RESULTS_CACHE, {})
    key = (newest, tuple(sorted(query.items())))
    answer = cache.get(key)
    if answer is None:
        rows = results.published_results(get_session(), **{**query, "limit": query["limit"] + 1})
        page = rows[:query["limit"]]
        body = current_app.json.dumps(schemas.PublishedOut(many=True).dump(page)).encode()
        following = (url_for(".published_results", **{**query, "before": page[-1].id})
                     if len(rows) > len(page) else None)
        answer = (body, hashlib.sha1(body).hexdigest(), following)
        kept = {k: v for k, v in list(cache.items()) if k[0] == newest} if len(cache) < RESULTS_CACHE_ENTRIES else {}
        kept[key] = answer
        current_app.extensions[RESULTS_CACHE] = kept  # swapped whole: other threads read either dict
    return answer


@blp.route("/results", methods=["GET"])
@blp.arguments(schemas.ResultsQuery, location="query")
@blp.response(200, schemas.PublishedOut(many=True))
@blp.conditional
def published_results(query):
    """Published results (no login): entities, instruments checked, verdicts, measured errors, dates;
    newest first, a page at a time (`Link: <...>; rel="next"` names the next page).
    Cacheable: an ETag, and a conditional request that matches answers 304."""
    body, etag, following = _results_answer(query)
    response = Response(body, mimetype=current_app.json.mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=60"
    if following:
        response.headers["Link"] = f'<{following}>; rel="next"'
    # werkzeug answers 304 itself when If-None-Match holds the ETag (no exception on the busiest path)
    return response.make_conditional(request)
