"""The services pages: the request form, a request's steps for its enterprise and staff, the public
figures (no login, cached with their ETag, nothing personal), the taxi pages and the station's queue.
Forms that refuse input write nothing; the steps are append-only in the database."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from labs.db import session_scope
from labs.services.models import ServiceRequest, Step, TaxiTicket
from tests.services.conftest import CONTACT
from tests.web.conftest import csrf_token, signed_in


def _count(app, model) -> int:
    with session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(model))


def _form(client, path: str, data: dict):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/taxi")})


def test_enterprise_requests_on_the_form_and_reads_every_step_with_who_and_when(app, world, bench, desk):
    _, email = world.user("enterprise", enterprise=0)
    _, other = world.user("enterprise", enterprise=1)
    manager_id, _ = world.user("lab_manager")
    meter = bench.instrument("electricity_meter", "DNB-PAGE-1")
    client = signed_in(app, email)
    assert f'value="{meter}"' in client.get("/services/requests/new").get_data(as_text=True)
    body = {"mode": "on_site", "instrument_ids": str(meter), "address": "某路 9 号", **CONTACT,
            "preferred_dates": "2030-01-02"}
    refused = _form(client, "/services/requests/new", {**body, "address": ""})
    assert refused.status_code == 422 and "field-error" in refused.get_data(as_text=True)
    assert _count(app, ServiceRequest) == 0 and _count(app, Step) == 0
    r = _form(client, "/services/requests/new", body)
    assert r.status_code == 303
    request_id = int(r.headers["Location"].rsplit("/", 1)[1])
    desk.call(manager_id, "accept_request", request_id)
    html = client.get(f"/services/requests/{request_id}?lang=en").get_data(as_text=True)
    assert 'data-state="accepted"' in html and "step-requested" in html and "step-accepted" in html
    assert "lab_manager" in html and "Accepted" in html and "to be concluded by" in html
    assert signed_in(app, other).get(f"/services/requests/{request_id}").status_code == 404
    assert app.test_client().get(f"/services/requests/{request_id}").status_code == 302  # to the login page


def test_staff_stop_the_clock_on_the_page_and_the_enterprise_sees_why(app, world, bench, desk):
    owner_id, email = world.user("enterprise", enterprise=0)
    _, technician = world.user("technician")
    request_id = desk.submit(owner_id, [bench.instrument("electricity_meter")])
    staff = signed_in(app, technician)
    r = _form(staff, f"/services/requests/{request_id}/pause", {"reason": "nap"})
    assert r.status_code == 422 and _count(app, Step) == 1
    r = _form(staff, f"/services/requests/{request_id}/pause", {"reason": "enterprise_unavailable", "note": "停产检修"})
    assert r.status_code == 303
    html = signed_in(app, email).get(f"/services/requests/{request_id}?lang=en").get_data(as_text=True)
    assert 'id="clock-stopped"' in html and "the enterprise cannot receive us" in html
    assert desk.steps(request_id) == ["requested", "paused"]


def test_public_figures_are_cached_with_their_etag_and_show_a_new_request_at_once(app, world, bench, desk):
    owner_id, _ = world.user("enterprise", enterprise=0)
    anonymous = app.test_client()
    first = anonymous.get("/public/services?lang=en")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=60"
    again = anonymous.get("/public/services?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    desk.submit(owner_id, [bench.instrument("electricity_meter")], mode="at_lab")
    after = anonymous.get("/public/services?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    html = after.get_data(as_text=True)
    assert '<td class="requests">1</td>' in html
    assert "Enterprise 0" not in html and CONTACT["contact_phone"] not in html and CONTACT["contact_name"] not in html
    assert anonymous.get("/public/services?month=2026-13").status_code == 400


def test_steps_are_append_only_in_the_database(app, world, bench, desk):
    owner_id, _ = world.user("enterprise", enterprise=0)
    desk.submit(owner_id, [bench.instrument("electricity_meter")])
    for statement in ("UPDATE service_steps SET kind = 'concluded'", "DELETE FROM service_steps"):
        with pytest.raises(DBAPIError):
            with app.extensions["labs.engine"].begin() as conn:
                conn.execute(text(statement))
    assert _count(app, Step) == 1


def test_driver_takes_a_number_and_the_station_calls_it(app, world, bench, taxi_rig):
    _, technician = world.user("technician")
    bench.instrument("taxi_meter", "JJQ-PAGE-1")
    driver = app.test_client()
    assert _form(driver, "/taxi", {"plate_number": "京B", "meter_serial": "JJQ-PAGE-1"}).status_code == 422
    assert _count(app, TaxiTicket) == 0
    r = _form(driver, "/taxi", {"plate_number": "京B12345", "meter_serial": "JJQ-PAGE-1"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/taxi/")
    ticket = driver.get(r.headers["Location"] + "?lang=en")
    assert 'id="ticket-place"' in ticket.get_data(as_text=True) and ticket.headers["Cache-Control"] == "no-store"
    assert driver.get("/taxi/" + "x" * 32).status_code == 404

    staff = signed_in(app, technician)
    assert _form(staff, "/services/taxi-queue/next", {}).status_code == 303
    queue = staff.get("/services/taxi-queue").get_data(as_text=True)
    assert 'id="start-1"' in queue
    with session_scope(app) as s:
        ticket_id = s.scalar(select(TaxiTicket.id))
    assert _form(staff, f"/services/taxi-queue/{ticket_id}/run", {"rig_id": str(taxi_rig)}).status_code == 303
    assert 'id="ticket-running"' in driver.get(r.headers["Location"]).get_data(as_text=True)
    # Nobody else waits: calling again says so and changes nothing.
    _form(staff, "/services/taxi-queue/next", {})
    with session_scope(app) as s:
        assert s.scalar(select(TaxiTicket.state)) == "running"


def test_too_many_numbers_from_one_address_get_429_with_retry_after(app, world):
    driver = app.test_client()
    for n in range(3):
        assert _form(driver, "/taxi", {"plate_number": f"京B1234{n}", "meter_serial": f"M-{n}"}).status_code == 303
    r = _form(driver, "/taxi", {"plate_number": "京B12349", "meter_serial": "M-9"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600" and 'id="too-many"' in r.get_data(as_text=True)
    assert _count(app, TaxiTicket) == 3


def test_a_driver_whose_run_was_cancelled_is_sent_to_the_station(app, world, bench, taxi_rig):
    from labs.accounts.models import User
    from labs.services import service
    from labs.verification import service as verification
    technician_id, _ = world.user("technician")
    bench.instrument("taxi_meter", "JJQ-PAGE-2")
    with session_scope(app) as s:
        ticket = service.take_ticket(s, "key", "京B54321", "JJQ-PAGE-2", "192.0.2.9")
        staff = s.get(User, technician_id)
        run = service.start_ticket_run(s, staff, service.call_next(s, staff).id, taxi_rig)
        verification.cancel_verification(s, staff, run.id)
        token = ticket.token
    html = app.test_client().get(f"/taxi/{token}").get_data(as_text=True)
    assert 'id="ticket-problem"' in html and 'data-final="yes"' in html
