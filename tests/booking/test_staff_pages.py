"""The staff's daily pages: a lab's managers and technicians see the day's and the week's bookings of
their labs and check in, complete and record no-shows from them; nobody else sees them. A booking
running now needs the real clock (the pages read it), so the lab is put in a zone where it is about
midday now, on a day it is open; the booking runs now, so it is on today's page and this week's
(the bureau's day), whatever the lab's own date."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking import service
from booking.models import Booking
from booking.service import BookingRequest
from labs.accounts.models import User
from labs.accounts.service import SYSTEM
from labs.db import session_scope
from tests.conftest import booking_body
from tests.holidays import is_working_day
from tests.web.conftest import csrf_token, signed_in


def zone_where_it_is_midday(now: dt.datetime | None = None) -> tuple[str, dt.date, int]:
    """A fixed-offset zone whose local hour is between 10 and 14 now, on a working day there: the
    zone, that local date and the local hour. Skips when every such day is a holiday."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for offset in range(-12, 15):
        local = now + dt.timedelta(hours=offset)
        if 10 <= local.hour <= 14 and is_working_day(local.date()):
            return f"Etc/GMT{-offset:+d}", local.date(), local.hour
    pytest.skip("the days where it is midday now are all holidays")


def running_booking(world, manager, technician, owner_email):
    """A lab staffed by `manager` and `technician` and an approved booking of it running now."""
    zone, day, hour = zone_where_it_is_midday()
    lab = world.lab(manager_ids=[manager], timezone=zone, technician_ids=[technician])
    at = lambda h: dt.datetime.combine(day, dt.time(h), ZoneInfo(zone))  # noqa: E731
    body = {**booking_body(lab, day), "starts_at": at(hour - 1), "ends_at": at(hour + 2), "instrument_ids": ()}
    yesterday = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    with world.app.app_context(), session_scope(world.app) as s:
        owner = s.scalar(select(User).where(User.email == owner_email))
        booking = service.request_booking(s, owner, BookingRequest(**body), now=yesterday).id
        service.transition(s, SYSTEM, booking, "approve")
    return lab, booking, day


@pytest.fixture
def staffed(world):
    manager, manager_email = world.user("lab_manager")
    technician, technician_email = world.user("technician")
    _, owner_email = world.user("enterprise", enterprise=0)
    lab, booking, day = running_booking(world, manager, technician, owner_email)
    return world, {"manager": manager_email, "technician": technician_email, "owner": owner_email}, lab, booking, day


def _status(app, booking_id):
    with session_scope(app) as s:
        return s.scalar(select(Booking.status).where(Booking.id == booking_id))


def test_technician_checks_in_and_completes_from_the_day_page(staffed):
    world, emails, _lab, booking, day = staffed
    client = signed_in(world.app, emails["technician"])
    page = client.get("/staff/day?lang=en").get_data(as_text=True)
    assert f'id="check_in-{booking}"' in page and f'id="no_show-{booking}"' in page
    assert f'id="complete-{booking}"' not in page
    back = "/staff/day?lang=en"
    done = client.post(f"/staff/bookings/{booking}/check_in",
                       data={"csrf_token": csrf_token(client, back), "back": back})
    assert done.status_code == 302 and done.headers["Location"] == back
    assert _status(world.app, booking) == "checked_in"
    page = client.get(back).get_data(as_text=True)
    assert f'id="complete-{booking}"' in page and f'id="check_in-{booking}"' not in page
    client.post(f"/staff/bookings/{booking}/complete", data={"csrf_token": csrf_token(client, back), "back": back})
    assert _status(world.app, booking) == "completed"


def test_manager_records_a_no_show_from_the_week_page(staffed):
    world, emails, _lab, booking, day = staffed
    client = signed_in(world.app, emails["manager"])
    week = "/staff/week"
    page = client.get(week).get_data(as_text=True)
    assert f'id="staff-booking-{booking}"' in page
    client.post(f"/staff/bookings/{booking}/no_show", data={"csrf_token": csrf_token(client, week), "back": week})
    assert _status(world.app, booking) == "no_show"


def test_a_second_check_in_is_refused_with_its_reason_and_changes_nothing(staffed):
    world, emails, _lab, booking, day = staffed
    client = signed_in(world.app, emails["technician"])
    token = csrf_token(client, "/staff/day")
    client.post(f"/staff/bookings/{booking}/check_in", data={"csrf_token": token})
    again = client.post(f"/staff/bookings/{booking}/no_show?lang=en", data={"csrf_token": token},
                        follow_redirects=True)
    assert again.status_code == 200 and _status(world.app, booking) == "checked_in"
    assert '<p class="flash error">' in again.get_data(as_text=True)


def test_another_labs_staff_and_enterprises_do_not_see_or_act_on_the_booking(staffed):
    world, emails, _lab, booking, day = staffed
    _, other_technician = world.user("technician")
    client = signed_in(world.app, other_technician)
    assert f"staff-booking-{booking}" not in client.get("/staff/day").get_data(as_text=True)
    refused = client.post(f"/staff/bookings/{booking}/check_in", data={"csrf_token": csrf_token(client, "/staff/day")})
    assert refused.status_code == 404 and _status(world.app, booking) == "approved"
    owner = signed_in(world.app, emails["owner"])
    assert owner.get("/staff/day").status_code == 403
    assert world.app.test_client().get("/staff/day").status_code == 302  # to the login page


def test_the_back_address_stays_on_the_staff_pages(staffed):
    world, emails, _lab, booking, _day = staffed
    client = signed_in(world.app, emails["technician"])
    done = client.post(f"/staff/bookings/{booking}/check_in",
                       data={"csrf_token": csrf_token(client, "/staff/day"), "back": "//evil.example/staff/"})
    assert done.headers["Location"] == "/staff/day"


def test_a_day_that_is_not_a_date_shows_today_and_says_so(staffed):
    world, emails, *_ = staffed
    client = signed_in(world.app, emails["technician"])
    page = client.get("/staff/day?day=soon&lang=en")
    assert page.status_code == 200 and "soon is not a date" in page.get_data(as_text=True)


def test_one_labs_calendar_shows_only_its_bookings(staffed):
    world, emails, lab, booking, _day = staffed
    with session_scope(world.app) as s:
        technician = s.scalar(select(User.id).where(User.email == emails["technician"]))
    other = world.lab(technician_ids=[technician])
    stranger = world.lab()
    client = signed_in(world.app, emails["technician"])
    assert f"staff-booking-{booking}" in client.get(f"/staff/week?lab={lab}").get_data(as_text=True)
    narrowed = client.get(f"/staff/week?lab={other}").get_data(as_text=True)
    assert f"staff-booking-{booking}" not in narrowed and f'id="lab-filter-{lab}"' in narrowed
    # A lab the technician does not work in is no filter: all of their labs are shown.
    assert f"staff-booking-{booking}" in client.get(f"/staff/day?lab={stranger}").get_data(as_text=True)
