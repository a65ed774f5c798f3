"""The services pages: an enterprise's requests, their progress step by step, and the staff's acts on
them (accept, refuse, stop and restart the clock, queue runs); the services' deadlines for
administrators; the public monthly figures (no login); and the taxi-meter queue: a phone page where a
driver takes a number and follows it to the certificate, and the station's queue for staff.

Each route reads its input with the schemas the API uses (labs.services.schemas), calls one service
function and renders a template of templates/services/.
"""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import get_locale, gettext as _, lazy_gettext

from labs.accounts.auth import current_user
from labs.accounts.service import require_role
from labs.db import get_session
from labs.errors import Conflict, DomainError, Invalid, TooManyAttempts
from labs.services import schemas, service
from labs.services.api import cached_figures, month_of
from labs.verification import service as verification
from labs.web.common import commit_button, commit_form, domain_error_page, read_form

blp = Blueprint("services", __name__, template_folder="templates")
blp.register_error_handler(DomainError, domain_error_page)

MODE = {"at_lab": lazy_gettext("at the lab"), "on_site": lazy_gettext("on site"),
        "weekend": lazy_gettext("at the weekend"), "pickup": lazy_gettext("pick-up and return"),
        "taxi_at_once": lazy_gettext("taxi meters at once")}
STATE = {"requested": lazy_gettext("requested"), "accepted": lazy_gettext("accepted"),
         "refused": lazy_gettext("refused"), "concluded": lazy_gettext("concluded")}
PAUSE_REASON = {"missing_documents": lazy_gettext("waiting for the missing documents"),
                "enterprise_unavailable": lazy_gettext("the enterprise cannot receive us")}
STEP = {"requested": lazy_gettext("Request made"), "accepted": lazy_gettext("Accepted"),
        "refused": lazy_gettext("Refused"), "paused": lazy_gettext("Clock stopped"),
        "resumed": lazy_gettext("Clock running again"), "documents_delivered": lazy_gettext("Documents delivered"),
        "run_queued": lazy_gettext("Verification queued"), "certificate_issued": lazy_gettext("Result issued"),
        "concluded": lazy_gettext("Concluded")}
TICKET_STATE = {"waiting": lazy_gettext("waiting"), "called": lazy_gettext("called to the rig"),
                "running": lazy_gettext("being verified"), "no_show": lazy_gettext("missed")}
REQUEST_FIELDS = ("mode", "address", "contact_name", "contact_phone", "note", "missing_documents")
PAGE_GLOBALS = {"MODE": MODE, "STATE": STATE, "PAUSE_REASON": PAUSE_REASON, "STEP": STEP,
                "TICKET_STATE": TICKET_STATE}


@blp.context_processor
def _names():
    return PAGE_GLOBALS


def _page(template: str, status: int = 200, **context):
    return render_template(f"services/{template}", **context), status


# --- requests ---------------------------------------------------------------------------------------------

@blp.get("/services/requests", endpoint="requests")
def requests_page():
    state = request.args.get("state") if request.args.get("state") in STATE else None
    db = get_session()
    found = service.list_requests(db, current_user(), state=state)
    return render_template("services/requests.html", requests=found, state=state,
                           clocks={r.id: service.clock(r) for r in found})


def _request_input(form) -> dict:
    data = {k: form.get(k, "").strip() for k in REQUEST_FIELDS}
    data["instrument_ids"] = [v for v in form.getlist("instrument_ids") if v]
    data["preferred_dates"] = [v for v in form.getlist("preferred_dates") if v.strip()]
    data["commitment_signed"] = "commitment_signed" in form
    return data


@blp.route("/services/requests/new", methods=["GET", "POST"], endpoint="new_request")
def new_request():
    """An enterprise chooses a service and its instruments, the dates it prefers and a contact;
    documents it cannot give yet it may promise under the commitment (容缺受理)."""
    db = get_session()
    actor = require_role(current_user(), "enterprise")
    instruments = verification.list_instruments(db, actor)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        fields, errors = read_form(schemas.RequestIn(), _request_input(request.form))
        if not errors:
            created, errors, _conflict = commit_form(lambda: service.submit_request(db, actor, fields),
                                                     "instrument_ids")
            if not errors:
                flash(_("Request %(id)s sent.", id=created.id), "info")
                return redirect(url_for("services.request", request_id=created.id), 303)
        status = 422
    return _page("request_form.html", status, form=request.form, errors=errors, instruments=instruments,
                 settings=service.settings(db), chosen={int(v) for v in request.form.getlist("instrument_ids")
                                                        if v.isdigit()})


@blp.get("/services/requests/<int:request_id>", endpoint="request")
def request_page(request_id: int, errors: dict | None = None):
    """The request with its clock and every step, with its time and who acted; staff act from here
    (a refused form comes back here with its errors)."""
    db = get_session()
    actor = current_user()
    req = service.get_request(db, actor, request_id)
    rigs = verification.list_rigs(db, actor) if actor.role in service.CLERKS else []
    return render_template("services/request.html", req=req, clock=service.clock(req), errors=errors or {},
                           steps=service.steps_of(db, actor, request_id), rigs=[r for r in rigs if r.active],
                           tz=current_app.config["TIMEZONE"]), 422 if errors else 200


def _act(request_id: int, call, done: str):
    commit_button(call, lambda _result: done)
    return redirect(url_for("services.request", request_id=request_id), 303)


@blp.post("/services/requests/<int:request_id>/accept", endpoint="accept")
def accept(request_id: int):
    return _act(request_id, lambda: service.accept_request(get_session(), current_user(), request_id),
                _("Request accepted."))


@blp.post("/services/requests/<int:request_id>/refuse", endpoint="refuse")
def refuse(request_id: int):
    fields, errors = read_form(schemas.RefusalIn(), {"reason": request.form.get("reason", "").strip()})
    if errors:
        return request_page(request_id, errors)
    return _act(request_id, lambda: service.refuse_request(get_session(), current_user(), request_id,
                                                           fields["reason"]), _("Request refused."))


@blp.post("/services/requests/<int:request_id>/pause", endpoint="pause")
def pause(request_id: int):
    fields, errors = read_form(schemas.PauseIn(), {k: request.form.get(k, "").strip() for k in ("reason", "note")})
    if errors:
        return request_page(request_id, errors)
    return _act(request_id, lambda: service.pause_clock(get_session(), current_user(), request_id, **fields),
                _("The clock is stopped."))


@blp.post("/services/requests/<int:request_id>/resume", endpoint="resume")
def resume(request_id: int):
    return _act(request_id, lambda: service.resume_clock(get_session(), current_user(), request_id),
                _("The clock runs again."))


@blp.post("/services/requests/<int:request_id>/documents", endpoint="documents")
def documents(request_id: int):
    return _act(request_id, lambda: service.deliver_documents(get_session(), current_user(), request_id),
                _("Documents recorded as delivered."))


@blp.post("/services/requests/<int:request_id>/runs", endpoint="start_run")
def start_run(request_id: int):
    fields, errors = read_form(schemas.RequestRunIn(), {k: request.form.get(k, "").strip()
                                                        for k in ("instrument_id", "rig_id", "nozzle")})
    if errors:
        return request_page(request_id, errors)
    db = get_session()
    try:
        run = service.start_run(db, current_user(), request_id, **fields)
        db.commit()
    except (Conflict, Invalid) as exc:
        db.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("services.request", request_id=request_id), 303)
    flash(_("Verification %(id)s queued.", id=run.id), "info")
    return redirect(url_for("verifications.run", verification_id=run.id), 303)


# --- the services' deadlines ----------------------------------------------------------------------------

@blp.route("/services/settings", methods=["GET", "POST"], endpoint="settings")
def settings():
    db = get_session()
    actor = require_role(current_user(), "admin")
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        mode = request.form.get("mode", "")
        data = {k: request.form.get(k, "").strip() for k in ("acceptance_days", "conclusion_days")}
        data["active"] = "active" in request.form
        fields, errors = read_form(schemas.SettingIn(), data)
        if not errors:
            _saved, errors, _conflict = commit_form(lambda: service.configure_service(db, actor, mode, fields), "mode")
            if not errors:
                flash(_("Service %(name)s saved.", name=MODE.get(mode, mode)), "info")
                return redirect(url_for("services.settings"), 303)
        status = 422
    return _page("settings.html", status, settings=service.settings(db), errors=errors)


# --- in public view ---------------------------------------------------------------------------------------

@blp.get("/public/services", endpoint="public")
def public_figures():
    """Per service and month (no login): the requests, the share concluded on time (按时办结率), the
    mean working days; counts only. Cacheable: each worker keeps the page for anonymous visitors
    until a request changes, with its ETag (304 when it matches)."""
    query, errors = read_form(schemas.MonthQuery(), {"month": request.args.get("month", "")})
    if errors:
        return render_template("services/public.html", errors=errors, figures=None), 400
    today = service.today()
    month = month_of(query.get("month"), today)

    def page() -> str:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        return render_template("services/public.html", month=month, errors={},
                               figures=service.month_figures(get_session(), month),
                               previous=(month - dt.timedelta(days=1)).replace(day=1),
                               following=following if following <= today else None)
    if current_user() is not None or session.get("_flashes"):  # a page for this visitor only
        return page()
    body, etag = cached_figures(("page", month, today, str(get_locale()), tuple(sorted(request.args.items()))), page)
    response = make_response(body)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Cookie")  # the language is chosen by cookie as well as by ?lang=
    return response.make_conditional(request)


# --- taxi meters at once ------------------------------------------------------------------------------------

@blp.route("/taxi", methods=["GET", "POST"], endpoint="taxi")
def taxi():
    """A driver takes a number on their phone (no login) and is sent to the ticket's own link."""
    db = get_session()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        fields, errors = read_form(schemas.TicketIn(), {k: request.form.get(k, "").strip()
                                                        for k in ("plate_number", "meter_serial")})
        if not errors:
            try:
                ticket, errors, _conflict = commit_form(lambda: service.take_ticket(
                    db, current_app.config["SECRET_KEY"], fields["plate_number"], fields["meter_serial"],
                    request.remote_addr or ""), "plate_number")
            except TooManyAttempts as exc:
                db.rollback()
                response = make_response(render_template("services/taxi.html", form=request.form, errors={},
                                                         too_many=True), 429)
                response.headers["Retry-After"] = str(exc.retry_after)
                return response
            if not errors:
                return redirect(url_for("services.ticket", token=ticket.token), 303)
        status = 422
    return _page("taxi.html", status, form=request.form, errors=errors, too_many=False)


@blp.get("/taxi/<string(maxlength=64):token>", endpoint="ticket")
def ticket(token: str):
    """The ticket: its place, then the run, then the certificate or notice; it reloads itself."""
    db = get_session()
    found = service.ticket_by_token(db, token)
    response = make_response(render_template("services/ticket.html", status=service.ticket_status(db, found)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/services/taxi-queue", endpoint="queue")
def queue():
    db = get_session()
    actor = current_user()
    tickets = service.queue(db, actor)
    return render_template("services/queue.html", tickets=tickets, rigs=service.taxi_rigs(db, actor),
                           results={t.id: service.ticket_status(db, t) for t in tickets if t.verification_id},
                           tz=current_app.config["TIMEZONE"])


@blp.post("/services/taxi-queue/next", endpoint="call_next")
def call_next():
    commit_button(lambda: service.call_next(get_session(), current_user()),
                  lambda t: _("Number %(number)s, %(plate)s, to the rig.", number=t.number, plate=t.plate_number))
    return redirect(url_for("services.queue"), 303)


@blp.post("/services/taxi-queue/<int:ticket_id>/run", endpoint="ticket_run")
def ticket_run(ticket_id: int):
    fields, errors = read_form(schemas.RequestRunIn(only=("rig_id",)),
                               {"rig_id": request.form.get("rig_id", "").strip()})
    if errors:
        flash(_("Choose a taxi meter rig."), "error")
        return redirect(url_for("services.queue"), 303)
    commit_button(lambda: service.start_ticket_run(get_session(), current_user(), ticket_id, fields["rig_id"]),
                  lambda run: _("Verification %(id)s queued.", id=run.id))
    return redirect(url_for("services.queue"), 303)


@blp.post("/services/taxi-queue/<int:ticket_id>/skip", endpoint="skip")
def skip(ticket_id: int):
    commit_button(lambda: service.skip_ticket(get_session(), current_user(), ticket_id),
                  lambda t: _("Number %(number)s missed.", number=t.number))
    return redirect(url_for("services.queue"), 303)

