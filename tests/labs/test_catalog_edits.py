"""Editing an existing lab: its managers on the administrator's lab list, closures removed,
instruments retired (offered and booked no more), a certificate that has run out refused, errors
that name their weekday, and an empty change refused rather than "saved"; on both databases."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from labs.audit import AuditEntry
from labs.catalog.models import Closure, Instrument, Lab
from labs.db import session_scope
from tests.conftest import booking_body, next_working_day
from tests.web.conftest import csrf_token, signed_in

TODAY = dt.date.today()


def _lab(world, **overrides):
    manager, manager_email = world.user("lab_manager")
    instrument = {"code": "CT-1", "name": "industrial CT", "certificate_no": "C1",
                  "calibration_valid_until": TODAY + dt.timedelta(days=400)}
    lab = world.lab(manager_ids=[manager], instruments=[instrument], **overrides)
    with session_scope(world.app) as s:
        instrument_id = s.scalar(select(Instrument.id).where(Instrument.lab_id == lab))
    return lab, instrument_id, world.token(manager_email), manager_email


def _audited(app, action: str) -> int:
    with session_scope(app) as s:
        return s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def test_a_closure_is_removed_by_the_labs_manager_only(world):
    lab, _instrument, headers, _ = _lab(world)
    day = next_working_day()
    closure = world.client.post(f"/api/v1/labs/{lab}/closures", headers=headers, json={
        "starts_at": f"{day}T08:00:00+08:00", "ends_at": f"{day}T18:00:00+08:00", "reason": "maintenance"}).json["id"]
    _, stranger_lab_manager = world.user("lab_manager")
    assert world.client.delete(f"/api/v1/labs/{lab}/closures/{closure}",
                               headers=world.token(stranger_lab_manager)).status_code == 403
    other_lab, _i, other_headers, _ = _lab(world)
    assert world.client.delete(f"/api/v1/labs/{other_lab}/closures/{closure}", headers=other_headers).status_code == 404
    assert world.client.delete(f"/api/v1/labs/{lab}/closures/{closure}", headers=headers).status_code == 204
    with session_scope(world.app) as s:
        assert s.get(Closure, closure) is None
    assert _audited(world.app, "closure.delete") == 1
    _, email = world.user("enterprise", enterprise=0)
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(email)).status_code == 201
    assert world.client.delete(f"/api/v1/labs/{lab}/closures/{closure}", headers=headers).status_code == 404


def test_a_retired_instrument_is_offered_and_booked_no_more(world):
    lab, instrument, headers, _ = _lab(world)
    retired = world.client.post(f"/api/v1/labs/{lab}/instruments/{instrument}/retire", headers=headers)
    assert retired.status_code == 200 and retired.json["retired_on"] is not None
    assert world.client.get(f"/api/v1/labs/{lab}").json["instruments"] == []
    _, email = world.user("enterprise", enterprise=0)
    refused = world.client.post("/api/v1/bookings", headers=world.token(email),
                                json=booking_body(lab, next_working_day(), instrument_ids=[instrument]))
    assert refused.status_code == 422 and "instrument_ids" in refused.json["errors"]
    again = world.client.post(f"/api/v1/labs/{lab}/instruments/{instrument}/retire", headers=headers)
    assert again.status_code == 409
    with session_scope(world.app) as s:
        assert s.get(Instrument, instrument) is not None  # on record still
    assert _audited(world.app, "instrument.retire") == 1


def test_a_certificate_that_has_run_out_is_refused_and_nothing_is_written(world):
    lab, instrument, headers, _ = _lab(world)
    yesterday = (TODAY - dt.timedelta(days=2)).isoformat()
    added = world.client.post(f"/api/v1/labs/{lab}/instruments", headers=headers,
                              json={"code": "G-2", "name": "gauge", "calibration_valid_until": yesterday})
    assert added.status_code == 422 and "calibration_valid_until" in added.json["errors"]
    changed = world.client.patch(f"/api/v1/labs/{lab}/instruments/{instrument}", headers=headers,
                                 json={"calibration_valid_until": yesterday})
    assert changed.status_code == 422 and "calibration_valid_until" in changed.json["errors"]
    with session_scope(world.app) as s:
        assert s.scalar(select(func.count(Instrument.id)).where(Instrument.lab_id == lab)) == 1
        assert s.get(Instrument, instrument).calibration_valid_until > TODAY


def test_an_hours_error_names_its_weekday(world):
    lab, _instrument, headers, _ = _lab(world)
    r = world.client.patch(f"/api/v1/labs/{lab}", headers=headers, json={"hours": [
        {"weekday": 0, "opens": "08:00", "closes": "18:00"}, {"weekday": 3, "opens": "18:00", "closes": "08:00"},
        {"weekday": 5, "opens": "08:00", "closes": "12:00"}, {"weekday": 5, "opens": "13:00", "closes": "17:00"}]})
    assert r.status_code == 422
    assert r.json["errors"]["hours"] == ["Thursday: closes must be after opens"]  # Saturday's two spans are fine


def test_an_empty_change_is_refused_not_saved(world):
    lab, instrument, headers, manager_email = _lab(world)
    assert world.client.patch(f"/api/v1/labs/{lab}", headers=headers, json={}).status_code == 422
    assert world.client.patch(f"/api/v1/labs/{lab}/instruments/{instrument}", headers=headers, json={}).status_code == 422
    client = signed_in(world.app, manager_email)
    page = f"/labs/{lab}/manage"
    r = client.post(f"{page}/instruments/{instrument}?lang=en", data={
        "csrf_token": csrf_token(client, page), "certificate_no": "", "calibration_valid_until": ""},
        follow_redirects=True)
    assert "nothing to change" in r.get_data(as_text=True)
    assert _audited(world.app, "instrument.update") == 0


def test_the_administrator_edits_the_managers_of_an_existing_lab(world):
    lab, _instrument, _headers, _ = _lab(world)
    new_manager, new_email = world.user("lab_manager")
    _, admin_email = world.user("admin")
    admin = signed_in(world.app, admin_email)
    page = f"/labs/{lab}/manage"  # an existing lab's managers are assigned on its own page
    r = admin.post(f"{page}/managers", data={"csrf_token": csrf_token(admin, page), "manager_ids": [str(new_manager)]})
    assert r.status_code == 302
    with session_scope(world.app) as s:
        assert [user.id for user in s.get(Lab, lab).managers] == [new_manager]
    assert signed_in(world.app, new_email).get(page).status_code == 200
    admin.post(f"{page}/managers", data={"csrf_token": csrf_token(admin, page)})
    with session_scope(world.app) as s:
        assert s.get(Lab, lab).managers == []
    manager = signed_in(world.app, new_email)
    assert manager.post(f"{page}/managers", data={"csrf_token": csrf_token(manager, "/"),
                                                  "manager_ids": [str(new_manager)]}).status_code == 403
