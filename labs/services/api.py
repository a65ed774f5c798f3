"""/api/v1: verification requests and their steps, the services' deadlines, the public monthly
figures, and the taxi-meter queue (a driver's ticket needs no login; its token is its key)."""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import Response, current_app, request

from labs.accounts.auth import current_user
from labs.api import Blueprint, committed
from labs.db import get_session
from labs.services import schemas, service
from labs.services.models import MODES

blp = Blueprint("verification_services", __name__, url_prefix="/api/v1", description="Verification as a service")
BEARER = [{"bearerAuth": []}]


def detail(request_id: int) -> dict:
    """A request with its clock, pauses and steps, as the API and the pages show it."""
    db = get_session()
    req = service.get_request(db, current_user(), request_id)
    return {**{c.key: getattr(req, c.key) for c in req.__table__.columns}, "enterprise": req.enterprise,
            "items": req.items, "clock": service.clock(req), "pauses": req.pauses,
            "steps": service.steps_of(db, current_user(), request_id)}


def summary(req) -> dict:
    return {**{c.key: getattr(req, c.key) for c in req.__table__.columns}, "enterprise": req.enterprise,
            "items": req.items, "clock": service.clock(req)}


@blp.route("/service-requests", methods=["GET"])
@blp.arguments(schemas.RequestQuery, location="query")
@blp.response(200, schemas.RequestOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_requests(query):
    """Staff see every request; an enterprise its own. Newest first."""
    return [summary(r) for r in service.list_requests(get_session(), current_user(), **query)]


@blp.route("/service-requests", methods=["POST"])
@blp.arguments(schemas.RequestIn)
@blp.response(201, schemas.RequestDetailOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def submit_request(body):
    """An enterprise asks for some of its registered instruments to be verified in one service."""
    req = service.submit_request(get_session(), current_user(), body)
    get_session().commit()
    return detail(req.id)


@blp.route("/service-requests/<int:request_id>", methods=["GET"])
@blp.response(200, schemas.RequestDetailOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_request(request_id):
    """The request, its clock, its pauses and every step with its time and who acted."""
    return detail(request_id)


def _act(call, request_id: int) -> dict:
    call()
    get_session().commit()
    return detail(request_id)


@blp.route("/service-requests/<int:request_id>/accept", methods=["POST"])
@blp.response(200, schemas.RequestDetailOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def accept(request_id):
    """Accept a verification request: its clock runs in working days from here."""
    return _act(lambda: service.accept_request(get_session(), current_user(), request_id), request_id)


@blp.route("/service-requests/<int:request_id>/refuse", methods=["POST"])
@blp.arguments(schemas.RefusalIn)
@blp.response(200, schemas.RequestDetailOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def refuse(body, request_id):
    """Refuse a verification request, with the reason the enterprise receives."""
    return _act(lambda: service.refuse_request(get_session(), current_user(), request_id, body["reason"]),
                request_id)


@blp.route("/service-requests/<int:request_id>/pause", methods=["POST"])
@blp.arguments(schemas.PauseIn)
@blp.response(200, schemas.RequestDetailOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def pause(body, request_id):
    """Stop the clock while waiting for the enterprise (missing documents, enterprise unavailable)."""
    return _act(lambda: service.pause_clock(get_session(), current_user(), request_id, **body), request_id)


@blp.route("/service-requests/<int:request_id>/resume", methods=["POST"])
@blp.response(200, schemas.RequestDetailOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def resume(request_id):
    """Start the clock again once the enterprise has answered."""
    return _act(lambda: service.resume_clock(get_session(), current_user(), request_id), request_id)


@blp.route("/service-requests/<int:request_id>/documents", methods=["POST"])
@blp.response(200, schemas.RequestDetailOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def documents(request_id):
    """The documents promised under the commitment are delivered; a clock stopped for them runs."""
    return _act(lambda: service.deliver_documents(get_session(), current_user(), request_id), request_id)


@blp.route("/service-requests/<int:request_id>/runs", methods=["POST"])
@blp.arguments(schemas.RequestRunIn)
@blp.response(201, schemas.RequestDetailOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def start_run(body, request_id):
    """Queue the run of one of the request's instruments on a rig."""
    return _act(lambda: service.start_run(get_session(), current_user(), request_id, **body), request_id)


@blp.route("/services", methods=["GET"])
@blp.response(200, schemas.SettingOut(many=True))
def list_services():
    """The services and their deadlines in working days (public)."""
    return list(service.settings(get_session()).values())


@blp.route(f"/services/<any({', '.join(MODES)}):mode>", methods=["PATCH"])
@blp.arguments(schemas.SettingIn)
@blp.response(200, schemas.SettingOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def configure_service(body, mode):
    """Administrators: a service's deadlines, or closing it to new requests."""
    return committed(service.configure_service(get_session(), current_user(), mode, body))


def month_of(text: str | None, today: dt.date) -> dt.date:
    return dt.date(int(text[:4]), int(text[5:7]), 1) if text else today.replace(day=1)


FIGURES_CACHE = "labs.service_figures"  # app.extensions key: {(version, *key): (body, ETag)}
FIGURES_CACHE_ENTRIES = 64


def cached_figures(key: tuple, build) -> tuple[bytes, str]:
    """The public figures as built by `build()` (JSON or a page) and their ETag, kept by the worker
    until a request changes: one `SELECT max(id)` of the steps tells whether they still hold."""
    version = service.figures_version(get_session())
    cache = current_app.extensions.setdefault(FIGURES_CACHE, {})
    answer = cache.get((version, *key))
    if answer is None:
        body = build().encode()
        answer = (body, hashlib.sha1(body).hexdigest())
        kept = {k: v for k, v in cache.items() if k[0] == version} if len(cache) < FIGURES_CACHE_ENTRIES else {}
        kept[(version, *key)] = answer
        current_app.extensions[FIGURES_CACHE] = kept  # swapped whole: other threads read either dict
    return answer


@blp.route("/public/service-figures", methods=["GET"])
@blp.etag
@blp.arguments(schemas.MonthQuery, location="query")
@blp.response(200, schemas.MonthOut)
def public_figures(query):
    """Per service and month (no login): requests, the share concluded on time (按时办结率), the mean
    working days. Cacheable: an ETag, and a conditional request that matches answers 304."""
    month = month_of(query.get("month"), service.today())
    body, etag = cached_figures(("json", month), lambda: current_app.json.dumps(schemas.MonthOut().dump(
        {"month": month.strftime("%Y-%m"), "services": service.month_figures(get_session(), month)})))
    blp.set_etag(etag)  # answers 304 here when the request's If-None-Match holds it
    return Response(body, mimetype=current_app.json.mimetype), 200, {"Cache-Control": "public, max-age=60"}


@blp.route("/taxi-tickets", methods=["POST"])
@blp.arguments(schemas.TicketIn)
@blp.response(201, schemas.TakenOut)
@blp.errors(429)
def take_ticket(body):
    """A taxi driver takes a number (no login); a few an hour per address."""
    db = get_session()
    ticket = service.take_ticket(db, current_app.config["SECRET_KEY"], body["plate_number"], body["meter_serial"],
                                 request.remote_addr or "")
    db.commit()
    return {**service.ticket_status(db, ticket), "token": ticket.token}


@blp.route("/taxi-tickets/<secret_token:token>", methods=["GET"])
@blp.response(200, schemas.TicketOut)
@blp.errors(404)
def ticket(token):
    """The ticket's place in the queue, then its run, then its certificate or notice of failure."""
    db = get_session()
    return service.ticket_status(db, service.ticket_by_token(db, token))
