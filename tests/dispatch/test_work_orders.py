"""Work orders through the API, on both backends: the days work may be planned on, technicians and
portable rigs in one place at a time, the states, who sees what."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from labs.accounts.models import User
from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.dispatch import service
from labs.dispatch.models import Assignment, WorkOrder
from tests.dispatch.conftest import weekday_ahead
from tests.holidays import LAW_FIXED_DAYS


def _count(app, model) -> int:
    with app.app_context(), session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_work_order_on_a_working_day_is_planned_with_its_technician_and_rig(dispatch):
    day = weekday_ahead(2)
    r = dispatch.plan(day, "08:30", "16:00", technician_ids=[dispatch.tech_id], rig_ids=[dispatch.rig], note="带加油卡")
    assert r.status_code == 201, r.json
    order = r.json
    assert order["state"] == "planned" and order["day"] == day.isoformat()
    assert dt.datetime.fromisoformat(order["starts_at"]) == dt.datetime.combine(day, dt.time(0, 30), dt.timezone.utc)
    assert [i["id"] for i in order["instruments"]] == [dispatch.instrument]
    held = {(a["technician_id"], a["rig_id"]) for a in order["assignments"] if a["active"]}
    assert held == {(dispatch.tech_id, None), (None, dispatch.rig)}
    assert order["actions"] == ["start", "cancel"]


def test_an_unstaffed_weekend_day_is_refused_until_staff_declare_it_staffed(dispatch):
    saturday = weekday_ahead(5)
    r = dispatch.plan(saturday)
    assert r.status_code == 422, r.json
    assert r.json["code"] == "unstaffed_weekend"
    assert "day" in r.json["errors"]
    assert _count(dispatch.app, WorkOrder) == 0
    client = dispatch.world.client
    assert client.post("/api/v1/staffed-days", json={"day": saturday.isoformat()},
                       headers=dispatch.headers["tech"]).status_code == 403
    r = client.post("/api/v1/staffed-days", json={"day": saturday.isoformat()}, headers=dispatch.headers["manager"])
    assert r.status_code == 201, r.json
    assert dispatch.plan(saturday).status_code == 201
    # The Sunday after was not declared.
    assert dispatch.plan(saturday + dt.timedelta(days=1)).json["code"] == "unstaffed_weekend"
    listed = client.get(f"/api/v1/staffed-days?from={saturday}&to={saturday + dt.timedelta(days=1)}",
                        headers=dispatch.headers["tech"])
    assert listed.json == [{"day": saturday.isoformat()}]


def test_only_weekend_days_off_may_be_declared_staffed(dispatch):
    client, headers = dispatch.world.client, dispatch.headers["manager"]
    r = client.post("/api/v1/staffed-days", json={"day": weekday_ahead(1).isoformat()}, headers=headers)
    assert r.status_code == 422 and r.json["code"] == "not_a_weekend_day_off"
    # 2 October 2027 is a Saturday within the National Day holiday, which the law fixes.
    national_day = dt.date(2027, 10, 2)
    assert national_day.weekday() == 5 and national_day in LAW_FIXED_DAYS[2027]
    r = client.post("/api/v1/staffed-days", json={"day": national_day.isoformat()}, headers=headers)
    assert r.status_code == 422 and r.json["code"] == "statutory_holiday"


def test_a_statutory_holiday_is_refused(dispatch):
    new_year = dt.date(2027, 1, 1)  # a Friday
    assert new_year.weekday() == 4 and new_year in LAW_FIXED_DAYS[2027]
    r = dispatch.plan(new_year, technician_ids=[dispatch.tech_id])
    assert r.status_code == 422, r.json
    assert r.json["code"] == "statutory_holiday"
    assert _count(dispatch.app, WorkOrder) == _count(dispatch.app, Assignment) == 0
    # Said in the reader's language, the day and the holiday too.
    r = dispatch.world.client.post("/api/v1/work-orders", json=dispatch.body(new_year),
                                   headers={**dispatch.headers["manager"], "Accept-Language": "zh-CN"})
    assert "2027年1月1日" in r.json["detail"] and "元旦" in r.json["detail"], r.json


def test_a_make_up_working_day_counts_as_a_working_day(dispatch):
    """20 February 2027 is a Saturday. Undeclared it is refused; once the year's schedule makes it a
    make-up working day (调休) it takes work orders like any working day, with no declaration."""
    from labs.calendar.service import import_schedule
    makeup = dt.date(2027, 2, 20)
    assert makeup.weekday() == 5
    assert dispatch.plan(makeup).json["code"] == "unstaffed_weekend"
    lines = ["date,kind,holiday"] + [f"{day},off,{name}" for day, name in sorted(LAW_FIXED_DAYS[2027].items())]
    lines.append(f"{makeup},work,Spring Festival")
    with dispatch.app.app_context(), session_scope(dispatch.app) as s:
        import_schedule(s, SYSTEM, "\n".join(lines) + "\n")
    r = dispatch.plan(makeup, technician_ids=[dispatch.tech_id])
    assert r.status_code == 201, r.json


def test_a_technician_cannot_be_in_two_places_at_once(dispatch):
    day = weekday_ahead(2)
    first = dispatch.plan(day, "09:00", "12:00", technician_ids=[dispatch.tech_id]).json
    second = dispatch.plan(day, "11:00", "14:00").json
    r = dispatch.assign(second["id"], technician_id=dispatch.tech_id)
    assert r.status_code == 409, r.json
    assert r.json["code"] == "technician_busy"
    assert [c["work_order_id"] for c in r.json["conflicts"]] == [first["id"]]
    # Back to back is not overlapping: 12:00-15:00 follows 09:00-12:00.
    third = dispatch.plan(day, "12:00", "15:00").json
    assert dispatch.assign(third["id"], technician_id=dispatch.tech_id).status_code == 201
    # Another technician is free for the overlapping one; the same one twice is refused.
    assert dispatch.assign(second["id"], technician_id=dispatch.tech2_id).status_code == 201
    again = dispatch.assign(second["id"], technician_id=dispatch.tech2_id)
    assert again.status_code == 409 and again.json["code"] == "already_assigned"


def test_a_portable_rig_cannot_be_in_two_places_at_once_and_a_fixed_one_goes_nowhere(dispatch):
    day = weekday_ahead(3)
    first = dispatch.plan(day, "09:00", "12:00", rig_ids=[dispatch.rig]).json
    second = dispatch.plan(day, "10:00", "11:00").json
    r = dispatch.assign(second["id"], rig_id=dispatch.rig)
    assert r.status_code == 409 and r.json["code"] == "rig_busy"
    assert [c["work_order_id"] for c in r.json["conflicts"]] == [first["id"]]
    fixed = dispatch.new_rig(portable=False)
    r = dispatch.assign(second["id"], rig_id=fixed)
    assert r.status_code == 422 and r.json["code"] == "rig_not_portable"
    lapsing = dispatch.new_rig(valid_until=day - dt.timedelta(days=1))
    r = dispatch.assign(second["id"], rig_id=lapsing)
    assert r.status_code == 422 and r.json["code"] == "rig_standard_expired"
    assert dispatch.assign(second["id"], rig_id=dispatch.new_rig()).status_code == 201


def test_a_plan_naming_a_busy_technician_writes_nothing(dispatch):
    day = weekday_ahead(2)
    assert dispatch.plan(day, "09:00", "12:00", technician_ids=[dispatch.tech_id]).status_code == 201
    before = (_count(dispatch.app, WorkOrder), _count(dispatch.app, Assignment))
    r = dispatch.plan(day, "10:00", "16:00", technician_ids=[dispatch.tech2_id, dispatch.tech_id],
                      rig_ids=[dispatch.rig])
    assert r.status_code == 409 and r.json["code"] == "technician_busy"
    assert (_count(dispatch.app, WorkOrder), _count(dispatch.app, Assignment)) == before


def test_cancelling_or_taking_off_frees_the_technician_and_rig(dispatch):
    day = weekday_ahead(2)
    client, headers = dispatch.world.client, dispatch.headers["manager"]
    first = dispatch.plan(day, "09:00", "12:00", technician_ids=[dispatch.tech_id], rig_ids=[dispatch.rig]).json
    second = dispatch.plan(day, "09:00", "12:00").json
    assert dispatch.assign(second["id"], rig_id=dispatch.rig).status_code == 409
    rig_row = next(a for a in first["assignments"] if a["rig_id"] == dispatch.rig)
    r = client.delete(f"/api/v1/work-orders/{first['id']}/assignments/{rig_row['id']}", headers=headers)
    assert r.status_code == 200 and r.json["active"] is False
    assert dispatch.assign(second["id"], rig_id=dispatch.rig).status_code == 201
    assert dispatch.assign(second["id"], technician_id=dispatch.tech_id).status_code == 409
    r = client.post(f"/api/v1/work-orders/{first['id']}/cancel", headers=headers)
    assert r.status_code == 200 and r.json["state"] == "cancelled"
    assert not any(a["active"] for a in r.json["assignments"])
    assert dispatch.assign(second["id"], technician_id=dispatch.tech_id).status_code == 201
    # Nobody joins a cancelled work order.
    r = dispatch.assign(first["id"], technician_id=dispatch.tech2_id)
    assert r.status_code == 409 and r.json["code"] == "work_order_closed"


def test_a_technician_sees_and_works_only_their_own_work_orders(dispatch):
    day = weekday_ahead(2)
    client = dispatch.world.client
    mine = dispatch.plan(day, "09:00", "12:00", technician_ids=[dispatch.tech_id]).json
    theirs = dispatch.plan(day, "09:00", "12:00", technician_ids=[dispatch.tech2_id]).json
    listed = client.get(f"/api/v1/work-orders?from={day}&to={day}", headers=dispatch.headers["tech"])
    assert [o["id"] for o in listed.json] == [mine["id"]]
    assert client.get(f"/api/v1/work-orders/{theirs['id']}", headers=dispatch.headers["tech"]).status_code == 404
    assert client.post(f"/api/v1/work-orders/{theirs['id']}/start", headers=dispatch.headers["tech"]).status_code == 404
    r = client.post(f"/api/v1/work-orders/{mine['id']}/cancel", headers=dispatch.headers["tech"])
    assert r.status_code == 403
    for action, state in (("start", "in_progress"), ("finish", "done")):
        r = client.post(f"/api/v1/work-orders/{mine['id']}/{action}", headers=dispatch.headers["tech"])
        assert r.status_code == 200 and r.json["state"] == state
    r = client.post(f"/api/v1/work-orders/{mine['id']}/start", headers=dispatch.headers["tech"])
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"
    everything = client.get(f"/api/v1/work-orders?from={day}&to={day}", headers=dispatch.headers["manager"])
    assert {o["id"] for o in everything.json} == {mine["id"], theirs["id"]}
    wide = client.get(f"/api/v1/work-orders?from={day}&to={day + dt.timedelta(days=400)}",
                      headers=dispatch.headers["manager"])
    assert wide.status_code == 422 and wide.json["code"] == "invalid_range"


def test_a_staffed_day_with_open_work_orders_is_not_withdrawn(dispatch):
    saturday = weekday_ahead(5)
    client, headers = dispatch.world.client, dispatch.headers["manager"]
    client.post("/api/v1/staffed-days", json={"day": saturday.isoformat()}, headers=headers)
    order = dispatch.plan(saturday).json
    r = client.delete(f"/api/v1/staffed-days/{saturday}", headers=headers)
    assert r.status_code == 409 and r.json["code"] == "staffed_day_in_use"
    client.post(f"/api/v1/work-orders/{order['id']}/cancel", headers=headers)
    assert client.delete(f"/api/v1/staffed-days/{saturday}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/staffed-days/{saturday}", headers=headers).status_code == 404
    assert client.delete("/api/v1/staffed-days/someday", headers=headers).status_code == 404
    assert dispatch.plan(saturday).json["code"] == "unstaffed_weekend"


def test_a_work_order_is_one_site_s_and_its_span_one_day_s(dispatch):
    day = weekday_ahead(2)
    elsewhere = dispatch.new_instrument(enterprise=1)
    r = dispatch.plan(day, instrument_ids=[dispatch.instrument, elsewhere])
    assert r.status_code == 422 and "instrument_ids" in r.json["errors"]
    r = dispatch.plan(day, "14:00", "09:00")
    assert r.status_code == 422 and "ends" in r.json["errors"]
    r = dispatch.plan(day, "09:00+05:00", "12:00")
    assert r.status_code == 422 and "starts" in r.json["errors"]
    r = dispatch.plan(dt.date.today() - dt.timedelta(days=1))
    assert r.status_code == 422 and "day" in r.json["errors"]
    r = dispatch.plan(day, instrument_ids=[2**31 - 1])
    assert r.status_code == 422 and "instrument_ids" in r.json["errors"]
    assert _count(dispatch.app, WorkOrder) == 0
    assert dispatch.plan(day, who="tech").status_code == 403


def test_the_week_schedule_shows_each_technician_and_rig_by_day(dispatch):
    wednesday = weekday_ahead(2)
    order = dispatch.plan(wednesday, technician_ids=[dispatch.tech_id], rig_ids=[dispatch.rig]).json
    r = dispatch.world.client.get(f"/api/v1/dispatch/schedule?week={wednesday}", headers=dispatch.headers["manager"])
    assert r.status_code == 200, r.json
    assert r.json["days"][0] == (wednesday - dt.timedelta(days=2)).isoformat()
    rows = {(row["technician_id"], row["rig_id"]): row["work_orders"] for row in r.json["rows"]}
    assert rows[(dispatch.tech_id, None)][2] == [order["id"]]
    assert rows[(None, dispatch.rig)][2] == [order["id"]]
    assert rows[(dispatch.tech2_id, None)] == [[]] * 7
    assert dispatch.world.client.get(f"/api/v1/dispatch/schedule?week={wednesday}",
                                     headers=dispatch.headers["tech"]).status_code == 403


def test_the_laptop_takes_the_technician_s_open_work_orders_with_instruments_and_rigs(dispatch):
    day = weekday_ahead(2)
    open_order = dispatch.plan(day, "09:00", "12:00", technician_ids=[dispatch.tech_id], rig_ids=[dispatch.rig]).json
    cancelled = dispatch.plan(day, "13:00", "15:00", technician_ids=[dispatch.tech_id]).json
    dispatch.world.client.post(f"/api/v1/work-orders/{cancelled['id']}/cancel", headers=dispatch.headers["manager"])
    dispatch.plan(day, "13:00", "15:00", technician_ids=[dispatch.tech2_id])
    with dispatch.app.app_context(), session_scope(dispatch.app) as s:
        orders = service.work_orders_for(s, s.get(User, dispatch.tech_id), day, day)
        assert [o.id for o in orders] == [open_order["id"]]
        assert [i.serial_number for i in orders[0].instruments] and orders[0].site
        assert [r.id for r in orders[0].rigs] == [dispatch.rig]
        assert orders[0].instruments[0].enterprise.credit_code


def test_postgresql_itself_refuses_overlapping_active_assignments(dispatch, database_url):
    """The exclusion constraints hold even for writers that skip the service's look."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no exclusion constraints; BEGIN IMMEDIATE serialises the look instead")
    from sqlalchemy.exc import IntegrityError
    day = weekday_ahead(2)
    first = dispatch.plan(day, "09:00", "12:00").json["id"]
    second = dispatch.plan(day, "11:00", "13:00").json["id"]
    insert = text("INSERT INTO work_order_assignments (work_order_id, technician_id, rig_id, starts_at, ends_at, "
                  "active, assigned_at) SELECT id, :tech, :rig, starts_at, ends_at, :active, now() FROM work_orders "
                  "WHERE id = :order")
    app = dispatch.app
    for holder in ({"tech": dispatch.tech_id, "rig": None}, {"tech": None, "rig": dispatch.rig}):
        with app.app_context(), session_scope(app) as s:
            s.execute(insert, {**holder, "active": True, "order": first})
            s.execute(insert, {**holder, "active": False, "order": second})  # an inactive row does not count
        with pytest.raises(IntegrityError) as raised:
            with app.app_context(), session_scope(app) as s:
                s.execute(insert, {**holder, "active": True, "order": second})
        assert raised.value.orig.sqlstate == "23P01"


def test_a_work_order_carries_out_an_accepted_verification_request_s_instruments(dispatch):
    from labs.services import service as services
    day = weekday_ahead(2)
    owner_id, _ = dispatch.world.user("enterprise", enterprise=0)
    not_requested = dispatch.new_instrument()
    app = dispatch.app
    with app.app_context(), session_scope(app) as s:
        request_id = services.submit_request(s, s.get(User, owner_id), {
            "mode": "on_site", "address": "某市江宁区双龙大道 88 号", "instrument_ids": [dispatch.instrument],
            "preferred_dates": [], "contact_name": "王工", "contact_phone": "13800000000"}).id
    r = dispatch.plan(day, service_request_id=request_id)
    assert r.status_code == 422 and "service_request_id" in r.json["errors"], r.json  # not accepted yet
    with app.app_context(), session_scope(app) as s:
        services.accept_request(s, s.get(User, dispatch.manager_id), request_id)
    r = dispatch.plan(day, service_request_id=request_id, instrument_ids=[dispatch.instrument, not_requested])
    assert r.status_code == 422 and "instrument_ids" in r.json["errors"], r.json
    assert dispatch.plan(day, service_request_id=2**31 - 1).status_code == 422
    r = dispatch.plan(day, service_request_id=request_id)
    assert r.status_code == 201 and r.json["service_request_id"] == request_id
    assert _count(app, WorkOrder) == 1
