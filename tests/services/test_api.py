"""/api/v1 for verification requests, the public figures and the taxi queue: bearer tokens of each
kind of user against a real database; runs in-process against a simulated TMR rig."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from labs.db import session_scope
from labs.services.models import ServiceRequest, Step, TaxiTicket
from tests.services.conftest import CONTACT


class People:
    def __init__(self, world):
        self.world = world
        self.admin = self._token("admin")
        self.manager = self._token("lab_manager")
        self.technician = self._token("technician")
        self.inspector = self._token("inspector")
        self.enterprise = self._token("enterprise", 0)  # owns the bench's instruments
        self.other = self._token("enterprise", 1)

    def _token(self, role, enterprise=None):
        _, email = self.world.user(role, enterprise)
        return self.world.token(email)


def _count(app, model) -> int:
    with session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(model))


def _submit(client, headers, instrument_ids, **extra):
    return client.post("/api/v1/service-requests", headers=headers,
                       json={"mode": "at_lab", "instrument_ids": instrument_ids, **CONTACT, **extra})


def test_request_is_accepted_run_and_concluded_at_once_with_every_step_shown(app, world, bench, taxi_rig):
    people, client = People(world), world.client
    meter = bench.instrument("taxi_meter", "TM-API-1")
    r = _submit(client, people.enterprise, [meter], mode="taxi_at_once")
    assert r.status_code == 201, r.json
    request_id = r.json["id"]
    assert r.json["state"] == "requested" and r.json["clock"]["acceptance_due"]

    assert client.post(f"/api/v1/service-requests/{request_id}/accept", headers=people.technician).status_code == 403
    r = client.post(f"/api/v1/service-requests/{request_id}/accept", headers=people.manager)
    assert r.status_code == 200 and r.json["state"] == "accepted"
    r = client.post(f"/api/v1/service-requests/{request_id}/runs", headers=people.technician,
                    json={"instrument_id": meter, "rig_id": taxi_rig})
    assert r.status_code == 201, r.json
    assert bench.run(r.json["steps"][-1]["detail"]["verification_id"]) == "done"

    r = client.get(f"/api/v1/service-requests/{request_id}", headers=people.enterprise)
    assert r.json["state"] == "concluded"
    assert r.json["clock"]["on_time"] is True and r.json["clock"]["working_days_taken"] == 0
    number = r.json["items"][0]["certificate_number"]
    assert number.startswith("JD")
    steps = r.json["steps"]
    assert [s["kind"] for s in steps] == ["requested", "accepted", "run_queued", "certificate_issued", "concluded"]
    assert steps[0]["actor_name"].startswith("enterprise") and steps[1]["actor_name"].startswith("lab_manager")
    assert steps[3]["detail"]["number"] == number and steps[4]["actor_name"] == ""
    assert client.get(f"/certificates/{number}").status_code == 200


def test_bad_requests_are_refused_with_422_naming_the_field_and_write_nothing(app, world, bench):
    people, client = People(world), world.client
    meter, dispenser = bench.instrument("taxi_meter"), bench.instrument("fuel_dispenser")
    cases = [
        ({"mode": "on_site"}, "address"),
        ({"missing_documents": "营业执照"}, "commitment_signed"),
        ({"mode": "taxi_at_once", "instrument_ids": [dispenser]}, "instrument_ids"),
        ({"instrument_ids": [999999]}, "instrument_ids"),
        ({"preferred_dates": ["2020-01-01"]}, "preferred_dates"),
        ({"mode": "weekend", "preferred_dates": [_next_working_day().isoformat()]}, "preferred_dates"),
        ({"mode": "teleport"}, "mode"),
        ({"contact_name": "x" * 101}, "contact_name"),
        ({"instrument_ids": []}, "instrument_ids"),
    ]
    for extra, field in cases:
        body = {"instrument_ids": [meter], **extra}
        r = _submit(client, people.enterprise, **body)
        assert r.status_code == 422, (extra, r.json)
        assert field in r.json["errors"], (extra, r.json)
    # Another enterprise's instrument is not one of its own.
    r = _submit(client, people.other, [meter])
    assert r.status_code == 422 and "instrument_ids" in r.json["errors"]
    assert _count(app, ServiceRequest) == 0 and _count(app, Step) == 0


def _next_working_day() -> dt.date:
    from tests.holidays import is_working_day
    day = dt.date.today() + dt.timedelta(days=2)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def test_an_instrument_in_an_open_request_is_refused_with_409(world, bench):
    people, client = People(world), world.client
    meter = bench.instrument("electricity_meter")
    assert _submit(client, people.enterprise, [meter]).status_code == 201
    r = _submit(client, people.enterprise, [meter])
    assert r.status_code == 409 and r.json["code"] == "service_instrument_busy"


def test_another_enterprise_does_not_find_a_request_and_staff_roles_are_kept_apart(world, bench):
    people, client = People(world), world.client
    request_id = _submit(client, people.enterprise, [bench.instrument("electricity_meter")]).json["id"]
    assert client.get(f"/api/v1/service-requests/{request_id}", headers=people.other).status_code == 404
    assert client.get("/api/v1/service-requests", headers=people.other).json == []
    assert client.get(f"/api/v1/service-requests/{request_id}").status_code == 401
    assert client.get(f"/api/v1/service-requests/{request_id}", headers=people.inspector).status_code == 200
    assert client.post(f"/api/v1/service-requests/{request_id}/pause", headers=people.inspector,
                       json={"reason": "enterprise_unavailable"}).status_code == 403
    assert client.post(f"/api/v1/service-requests/{request_id}/pause", headers=people.enterprise,
                       json={"reason": "enterprise_unavailable"}).status_code == 403
    r = client.post(f"/api/v1/service-requests/{request_id}/pause", headers=people.technician,
                    json={"reason": "bureau_busy"})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = client.post(f"/api/v1/service-requests/{request_id}/refuse", headers=people.manager,
                    json={"reason": "仪表已报废"})
    assert r.status_code == 200 and r.json["state"] == "refused" and r.json["refusal_reason"] == "仪表已报废"
    r = client.post(f"/api/v1/service-requests/{request_id}/accept", headers=people.manager)
    assert r.status_code == 409 and r.json["code"] == "service_request_state"


def test_a_stopped_clock_is_shown_with_its_reason_and_runs_again_on_resume(world, bench):
    people, client = People(world), world.client
    request_id = _submit(client, people.enterprise, [bench.instrument("electricity_meter")]).json["id"]
    due = client.get(f"/api/v1/service-requests/{request_id}", headers=people.enterprise).json["clock"]
    r = client.post(f"/api/v1/service-requests/{request_id}/pause", headers=people.technician,
                    json={"reason": "enterprise_unavailable", "note": "厂区停电"})
    assert r.status_code == 200, r.json
    assert r.json["clock"]["pause_reason"] == "enterprise_unavailable" and r.json["clock"]["conclusion_due"] is None
    again = client.post(f"/api/v1/service-requests/{request_id}/pause", headers=people.technician,
                        json={"reason": "enterprise_unavailable"})
    assert again.status_code == 409
    r = client.post(f"/api/v1/service-requests/{request_id}/resume", headers=people.technician)
    assert r.status_code == 200
    assert r.json["clock"]["conclusion_due"] == due["conclusion_due"]  # paused and resumed the same day
    assert r.json["pauses"][0]["working_days"] == 0
    assert client.post(f"/api/v1/service-requests/{request_id}/resume", headers=people.technician).status_code == 409


def test_services_deadlines_are_set_by_administrators_and_apply_to_new_requests(world, bench):
    people, client = People(world), world.client
    assert client.patch("/api/v1/services/on_site", headers=people.manager,
                        json={"conclusion_days": 3}).status_code == 403
    r = client.patch("/api/v1/services/on_site", headers=people.admin, json={"conclusion_days": 3})
    assert r.status_code == 200 and r.json == {"mode": "on_site", "acceptance_days": 1, "conclusion_days": 3,
                                               "active": True}
    assert client.patch("/api/v1/services/on_site", headers=people.admin,
                        json={"acceptance_days": 4}).status_code == 422
    listed = {s["mode"]: s for s in client.get("/api/v1/services").json}
    assert listed["on_site"]["conclusion_days"] == 3 and listed["at_lab"]["conclusion_days"] == 5
    r = _submit(client, people.enterprise, [bench.instrument("electricity_meter")], mode="on_site", address="某路2号")
    assert r.status_code == 201
    client.patch("/api/v1/services/weekend", headers=people.admin, json={"active": False})
    r = _submit(client, people.enterprise, [bench.instrument("electricity_meter")], mode="weekend")
    assert r.status_code == 422 and "mode" in r.json["errors"]


def test_public_figures_need_no_login_name_nobody_and_answer_304_to_their_etag(world, bench):
    people, client = People(world), world.client
    request_id = _submit(client, people.enterprise, [bench.instrument("electricity_meter")]).json["id"]
    client.post(f"/api/v1/service-requests/{request_id}/refuse", headers=people.manager, json={"reason": "重复"})
    r = client.get("/api/v1/public/service-figures")
    assert r.status_code == 200 and "public" in r.headers["Cache-Control"]
    at_lab = next(s for s in r.json["services"] if s["mode"] == "at_lab")
    assert at_lab == {"mode": "at_lab", "requests": 1, "concluded": 0, "on_time": 0, "on_time_share": None,
                      "mean_working_days": None}
    text = r.get_data(as_text=True)
    assert "Enterprise 0" not in text and CONTACT["contact_name"] not in text and CONTACT["contact_phone"] not in text
    again = client.get("/api/v1/public/service-figures", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/v1/public/service-figures?month=2026-13").status_code == 422


def test_a_driver_takes_numbers_without_login_and_an_address_is_throttled(app, world):
    client = world.client
    first = client.post("/api/v1/taxi-tickets", json={"plate_number": "京B 12345", "meter_serial": "TM-1"})
    assert first.status_code == 201, first.json
    assert first.json["number"] == 1 and first.json["ahead"] == 0 and first.json["plate_number"] == "京B12345"
    second = client.post("/api/v1/taxi-tickets", json={"plate_number": "京BD12345", "meter_serial": "TM-2"})
    assert second.json["number"] == 2 and second.json["ahead"] == 1
    assert client.get(f"/api/v1/taxi-tickets/{second.json['token']}").json["ahead"] == 1
    assert client.get("/api/v1/taxi-tickets/not-a-token").status_code == 404
    bad = client.post("/api/v1/taxi-tickets", json={"plate_number": "12345", "meter_serial": "TM-3"})
    assert bad.status_code == 422 and "plate_number" in bad.json["errors"]
    client.post("/api/v1/taxi-tickets", json={"plate_number": "京B22222", "meter_serial": "TM-3"})
    throttled = client.post("/api/v1/taxi-tickets", json={"plate_number": "京B33333", "meter_serial": "TM-4"})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3600"
    assert _count(app, TaxiTicket) == 3
