"""iCalendar feeds per lab and per enterprise, reached through secret-token URLs."""
from __future__ import annotations

import datetime as dt
import re

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking import domain
from booking.models import Booking
from labs import audit
from labs.accounts.models import Enterprise
from labs.accounts.service import Actor, new_calendar_token, require_role
from labs.catalog.models import Lab
from labs.catalog.service import managed_lab
from labs.errors import NotFound
from labs.i18n import N_, render

FEED_PAST = dt.timedelta(days=90)
# Line breaks of every kind, and the other control characters no calendar line may hold.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x9f]")


def _line(text: str) -> str:
    """A value for a one-line property (the calendar's name, a summary, a location): line breaks
    become spaces and other control characters go. Names are refused with them at the edge
    (labs.api.Line); this keeps rows written before from breaking the feed."""
    return _CONTROL.sub("", _BREAKS.sub(" ", text))


def _text(text: str) -> str:
    """A value that may span lines (the description): every line break is one newline, which the
    iCalendar writer escapes as \\n; other control characters go."""
    return _CONTROL.sub("", _BREAKS.sub("\n", text))


def _feed(name: str, bookings: list[Booking], with_enterprise: bool) -> bytes:
    """In the request's language: the feed's address may carry ?lang=, else Accept-Language."""
    cal = Calendar()
    cal.add("prodid", "-//labs//booking//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _line(name))
    for b in bookings:
        event = Event()
        event.add("uid", f"booking-{b.id}@labs")
        event.add("dtstart", b.starts_at)
        event.add("dtend", b.ends_at)
        event.add("dtstamp", b.created_at)
        params = {"id": b.id, "code": b.lab.code, "test": b.test_type, "status": domain.STATUS_NAMES[b.status],
                  "enterprise": b.enterprise.name, "lab": b.lab.name, "location": b.lab.location, "bay": b.bay,
                  "batches": b.batches, "sample": b.sample_description}
        summary = N_("%(code)s %(test)s (%(status)s) — %(enterprise)s") if with_enterprise else \
            N_("%(code)s %(test)s (%(status)s)")
        event.add("summary", _line(render(summary, params)))
        event.add("location", _line(render(N_("%(lab)s, %(location)s, bay %(bay)s"), params)))
        event.add("status", "CONFIRMED" if b.status in ("approved", "checked_in", "completed") else "TENTATIVE")
        event.add("description", _text(render(N_("#%(id)s %(status)s; %(batches)s batches; %(sample)s"), params)))
        cal.add_component(event)
    return cal.to_ical()


def _bookings(session: Session, *where, now: dt.datetime) -> list[Booking]:
    return list(session.scalars(select(Booking).options(selectinload(Booking.lab), selectinload(Booking.enterprise))
                                .where(*where, Booking.status.in_(domain.ACTIVE + ("completed",)),
                                       Booking.starts_at >= now - FEED_PAST).order_by(Booking.starts_at)))


def lab_feed(session: Session, token: str, now: dt.datetime) -> bytes:
    lab = session.scalar(select(Lab).where(Lab.calendar_token == token))
    if lab is None:
        raise NotFound(N_("no such calendar"), code="no_calendar")
    return _feed(f"{lab.code} {lab.name}", _bookings(session, Booking.lab_id == lab.id, now=now), True)


def enterprise_feed(session: Session, token: str, now: dt.datetime) -> bytes:
    enterprise = session.scalar(select(Enterprise).where(Enterprise.calendar_token == token))
    if enterprise is None:
        raise NotFound(N_("no such calendar"), code="no_calendar")
    return _feed(enterprise.name, _bookings(session, Booking.enterprise_id == enterprise.id, now=now), False)


# A feed's address is a secret that calendar programs keep: when it leaks (a colleague leaves, a
# link is shared), a new one is made and the old stops working at once. The audit log records the
# renewal, never a token.

def lab_feed_token(session: Session, actor: Actor | None, lab_id: int, renew: bool = False) -> str:
    actor, lab = managed_lab(session, actor, lab_id)
    if renew:
        lab.calendar_token = new_calendar_token()
        audit.record(session, actor.id, "lab.feed_renewed", "lab", lab.id, None, None)
    return lab.calendar_token


def enterprise_feed_token(session: Session, actor: Actor | None, renew: bool = False) -> str:
    actor = require_role(actor, "enterprise")
    enterprise = actor.enterprise
    if renew:
        enterprise.calendar_token = new_calendar_token()
        audit.record(session, actor.id, "enterprise.feed_renewed", "enterprise", enterprise.id, None, None)
    return enterprise.calendar_token
