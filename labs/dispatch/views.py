"""The dispatch pages: a week's schedule per technician and portable rig with the staffed weekend
days (lab managers), planning a work order, a work order with its assignments and states, and a
technician's own work orders.

Each route reads its input with the schemas the API uses (labs.dispatch.schemas), calls one service
function and renders a template of templates/dispatch/.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from labs.accounts.auth import current_user
from labs.accounts.service import require_role
from labs.db import get_session
from labs.dispatch import domain, service
from labs.dispatch.schemas import AssignmentIn, StaffedDayIn, WorkOrderIn
from labs.errors import DomainError
from labs.verification import service as verification
from labs.web.common import commit_form, domain_error_page, read_form, week_of

blp = Blueprint("work_orders", __name__, template_folder="templates")
blp.register_error_handler(DomainError, domain_error_page)

STATE = {"planned": lazy_gettext("planned"), "in_progress": lazy_gettext("in progress"),
         "done": lazy_gettext("done"), "cancelled": lazy_gettext("cancelled")}
ACTION = {"start": lazy_gettext("Start work"), "finish": lazy_gettext("Finish work"),
          "cancel": lazy_gettext("Cancel the work order")}
DONE = {"start": lazy_gettext("Work order #%(id)s is in progress."),
        "finish": lazy_gettext("Work order #%(id)s is done."),
        "cancel": lazy_gettext("Work order #%(id)s is cancelled; its technicians and rigs are free.")}
PLAN_FIELDS = ("site", "day", "starts", "ends", "note", "service_request_id")
MINE_DAYS = 28  # a technician's list: today and the four weeks ahead


@blp.context_processor
def _dispatch_context():
    return {"STATE": STATE, "ACTION": ACTION, "TRANSITIONS": domain.TRANSITIONS, "PLANNERS": service.PLANNERS,
            "tz": service.zone().key, "timedelta": dt.timedelta}


@blp.get("/dispatch/week")
def week():
    """Each technician and portable rig, a column per day, the work orders holding them."""
    db, actor = get_session(), current_user()
    require_role(actor, *service.PLANNERS)
    monday = week_of(request.args.get("week"), service.zone().key)
    return render_template("dispatch/week.html", schedule=service.week_schedule(db, actor, monday), monday=monday,
                           today=service.local_today())


@blp.route("/dispatch/work-orders/new", methods=["GET", "POST"])
def new_work_order():
    db, actor = get_session(), current_user()
    require_role(actor, *service.PLANNERS)
    errors: dict[str, list[str]] = {}
    form = {"day": request.args.get("day", ""), "starts": "09:00", "ends": "17:00",
            "service_request_id": request.args.get("service_request_id", "")}
    chosen: dict[str, set[str]] = {"instrument_ids": set(), "technician_ids": set(), "rig_ids": set()}
    if request.method == "POST":
        form = request.form
        chosen = {k: set(request.form.getlist(k)) for k in chosen}
        data = {k: request.form.get(k, "").strip() for k in PLAN_FIELDS}
        fields, errors = read_form(WorkOrderIn(), {**data, **{k: sorted(v) for k, v in chosen.items()}})
        if not errors:
            order, errors, _conflict = commit_form(lambda: service.plan_work_order(db, actor, fields), "technician_ids")
            if order:
                flash(_("Work order #%(id)s is planned.", id=order.id), "info")
                return redirect(url_for("work_orders.work_order", work_order_id=order.id), 303)
    return render_template(
        "dispatch/work_order_form.html", form=form, chosen=chosen, errors=errors,
        instruments=verification.list_instruments(db, actor), technicians=service.technicians(db),
        rigs=service.portable_rigs(db)), 422 if errors else 200


@blp.get("/dispatch/work-orders/<int:work_order_id>")
def work_order(work_order_id: int):
    db, actor = get_session(), current_user()
    order = service.get_work_order(db, actor, work_order_id)
    plans = actor.role in service.PLANNERS
    return render_template("dispatch/work_order.html", order=order, plans=plans,
                           technicians=service.technicians(db) if plans else [],
                           rigs=service.portable_rigs(db) if plans else [])


@blp.post("/dispatch/work-orders/<int:work_order_id>/assignments")
def assign(work_order_id: int):
    db, actor = get_session(), current_user()
    require_role(actor, *service.PLANNERS)
    fields, errors = read_form(AssignmentIn(), {k: request.form.get(k, "").strip()
                                                for k in ("technician_id", "rig_id")})
    if errors:
        flash("; ".join(m for ms in errors.values() for m in ms), "error")
    else:
        _commit(lambda: service.assign(db, actor, work_order_id, **fields), _("Assigned."))
    return redirect(url_for("work_orders.work_order", work_order_id=work_order_id), 303)


@blp.post("/dispatch/work-orders/<int:work_order_id>/assignments/<int:assignment_id>/remove")
def unassign(work_order_id: int, assignment_id: int):
    db, actor = get_session(), current_user()
    _commit(lambda: service.unassign(db, actor, work_order_id, assignment_id), _("Taken off the work order."))
    return redirect(url_for("work_orders.work_order", work_order_id=work_order_id), 303)


@blp.post(f"/dispatch/work-orders/<int:work_order_id>/<any({','.join(domain.TRANSITIONS)}):action>")
def act(work_order_id: int, action: str):
    db, actor = get_session(), current_user()
    _commit(lambda: service.transition(db, actor, work_order_id, action), DONE[action] % {"id": work_order_id})
    return redirect(url_for("work_orders.work_order", work_order_id=work_order_id), 303)


@blp.get("/dispatch/mine")
def mine():
    """The technician's own work orders, today and the weeks ahead."""
    db, actor = get_session(), current_user()
    require_role(actor, "technician")
    first = service.local_today()
    return render_template("dispatch/mine.html", first=first,
                           orders=service.list_work_orders(db, actor, first, first + dt.timedelta(days=MINE_DAYS - 1)))


@blp.post("/dispatch/staffed-days")
def declare_staffed_day():
    return _staffed_day(service.declare_staffed_day,
                        lambda day: _("%(day)s is staffed: work orders may be planned on it.", day=day))


@blp.post("/dispatch/staffed-days/withdraw")
def withdraw_staffed_day():
    return _staffed_day(service.withdraw_staffed_day, lambda day: _("%(day)s is no longer staffed.", day=day))


def _staffed_day(act, done):
    """Declare or withdraw a staffed weekend day from the week page's form, and go back to that week."""
    db, actor = get_session(), current_user()
    require_role(actor, *service.PLANNERS)
    fields, errors = read_form(StaffedDayIn(), {"day": request.form.get("day", "").strip()})
    if errors:
        flash("; ".join(m for ms in errors.values() for m in ms), "error")
        return redirect(url_for("work_orders.week"), 303)
    _commit(lambda: act(db, actor, fields["day"]), done(fields["day"].isoformat()))
    return redirect(url_for("work_orders.week", week=fields["day"].isoformat()), 303)


def _commit(call, done: str) -> None:
    """A button's service call: committed and `done` flashed, or its refusal (a broken rule or a
    conflict) flashed and rolled back; other refusals are error pages."""
    db = get_session()
    try:
        call()
        db.commit()
        flash(done, "info")
    except DomainError as exc:
        db.rollback()
        if exc.status not in (409, 422):
            raise
        flash(exc.detail, "error")
