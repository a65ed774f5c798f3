"""The staff's day: the bookings of the labs a lab manager or technician works in (Lab.staffed_by),
and which of check-in, complete and no-show each allows now."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking import domain
from booking.models import Booking
from booking.service import awaiting_documents
from labs.accounts.service import Actor, require_role
from labs.catalog.models import Lab

# The actions of a day's work, in the order the pages offer them.
DAY_ACTIONS = ("check_in", "complete", "no_show")
# The bookings a day's work deals with: those to run, and those run or missed, for the record.
SHOWN = ("approved", "checked_in", "completed", "no_show")


def staffed_labs(session: Session, actor: Actor | None) -> list[Lab]:
    """The labs the actor works in (Lab.staffed_by), by code."""
    actor = require_role(actor, "admin", "lab_manager", "technician")
    return list(session.scalars(select(Lab).where(Lab.staffed_by(actor)).order_by(Lab.code)))


def staff_bookings(session: Session, actor: Actor | None, start: dt.datetime, end: dt.datetime,
                   lab_id: int | None = None) -> list[Booking]:
    """The bookings overlapping [start, end) of the labs the actor works in (with `lab_id`, of that
    one lab: its calendar), by start."""
    actor = require_role(actor, "admin", "lab_manager", "technician")
    query = (select(Booking).options(selectinload(Booking.lab), selectinload(Booking.enterprise))
             .where(Booking.lab.has(Lab.staffed_by(actor)), Booking.status.in_(SHOWN),
                    # A lower bound on starts_at too, so the (lab_id, starts_at) index bounds the scan.
                    Booking.starts_at >= start - domain.MAX_BOOKING_LENGTH, Booking.starts_at < end,
                    Booking.ends_at > start))
    if lab_id is not None:
        query = query.where(Booking.lab_id == lab_id)
    return list(session.scalars(query.order_by(Booking.starts_at, Booking.lab_id, Booking.bay)))


def actions_now(booking: Booking, now: dt.datetime) -> list[str]:
    """The day's actions the booking's state and `now` allow (the service checks them again)."""
    return [action for action in DAY_ACTIONS
            if booking.status in domain.TRANSITIONS[action].source
            and domain.timing_problem(action, False, now, booking.starts_at, booking.ends_at) is None
            and not (action == "check_in" and awaiting_documents(booking))]
