"""/api/v1: work orders on site, the technicians and portable rigs assigned to them, a week's
schedule, staffed weekend days."""
from __future__ import annotations

import datetime as dt

from labs.accounts.auth import current_user
from labs.api import Blueprint, committed
from labs.db import get_session
from labs.dispatch import domain, schemas, service
from labs.errors import NotFound
from labs.i18n import N_

blp = Blueprint("dispatch", __name__, url_prefix="/api/v1", description="Work orders on site")
BEARER = [{"bearerAuth": []}]
ACTIONS = ",".join(domain.TRANSITIONS)


@blp.route("/work-orders", methods=["GET"])
@blp.arguments(schemas.WorkOrderQuery, location="query")
@blp.response(200, schemas.WorkOrderOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_work_orders(query):
    """Work orders by day (at most 92 days): a technician's own, every one for lab managers."""
    return service.list_work_orders(get_session(), current_user(), **query)


@blp.route("/work-orders", methods=["POST"])
@blp.arguments(schemas.WorkOrderIn)
@blp.response(201, schemas.WorkOrderOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def plan_work_order(body):
    """Plan one site's instruments on one day; the technicians and rigs named are assigned at once,
    all or none (409 when one is elsewhere at that time). Weekend days need declaring staffed;
    statutory holidays are refused."""
    db = get_session()
    order = committed(service.plan_work_order(db, current_user(), body))
    return service.get_work_order(db, current_user(), order.id)


@blp.route("/work-orders/<int:work_order_id>", methods=["GET"])
@blp.response(200, schemas.WorkOrderOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_work_order(work_order_id):
    """One work order on site: its instruments, site, time and technicians."""
    return service.get_work_order(get_session(), current_user(), work_order_id)


@blp.route("/work-orders/<int:work_order_id>/assignments", methods=["POST"])
@blp.arguments(schemas.AssignmentIn)
@blp.response(201, schemas.AssignmentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def assign(body, work_order_id):
    """Put a technician or a portable rig on the work order; 409 when they are elsewhere then."""
    return committed(service.assign(get_session(), current_user(), work_order_id, **body))


@blp.route("/work-orders/<int:work_order_id>/assignments/<int:assignment_id>", methods=["DELETE"])
@blp.response(200, schemas.AssignmentOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def unassign(work_order_id, assignment_id):
    """Take a technician or rig off the work order (the row stays, inactive)."""
    return committed(service.unassign(get_session(), current_user(), work_order_id, assignment_id))


@blp.route(f"/work-orders/<int:work_order_id>/<any({ACTIONS}):action>", methods=["POST"])
@blp.response(200, schemas.WorkOrderOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def act(work_order_id, action):
    """start, finish (a technician on it, or a lab manager) or cancel (a lab manager)."""
    return committed(service.transition(get_session(), current_user(), work_order_id, action))


@blp.route("/dispatch/schedule", methods=["GET"])
@blp.arguments(schemas.WeekQuery, location="query")
@blp.response(200, schemas.ScheduleOut)
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def schedule(query):
    """A week's work orders per technician and per portable rig (lab managers)."""
    week = query["week"]
    return service.week_schedule(get_session(), current_user(), week - dt.timedelta(days=week.weekday()))


@blp.route("/staffed-days", methods=["GET"])
@blp.arguments(schemas.RangeQuery, location="query")
@blp.response(200, schemas.StaffedDayOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def staffed_days(query):
    """The weekend days declared staffed for work on site, between two dates."""
    return [{"day": day} for day in service.staffed_days(get_session(), current_user(), **query)]


@blp.route("/staffed-days", methods=["POST"])
@blp.arguments(schemas.StaffedDayIn)
@blp.response(201, schemas.StaffedDayOut)
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def declare_staffed_day(body):
    """Declare a weekend day off staffed (lab managers): work orders may then be planned on it."""
    return committed(service.declare_staffed_day(get_session(), current_user(), body["day"]))


@blp.route("/staffed-days/<int:year>-<int:month>-<int:day>", methods=["DELETE"])
@blp.response(204)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def withdraw_staffed_day(year, month, day):
    """The day (YYYY-MM-DD) is no longer staffed; refused while work orders are open on it."""
    try:
        chosen = dt.date(year, month, day)
    except ValueError:
        raise NotFound(N_("no such day"), code="not_a_date")
    committed(service.withdraw_staffed_day(get_session(), current_user(), chosen))
