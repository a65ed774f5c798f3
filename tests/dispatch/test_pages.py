"""The dispatch pages, signed in as a browser is: a lab manager plans a work order with a form,
assigns and takes off, declares a weekend day staffed on the week's schedule; a technician sees
their own work orders and starts one."""
from __future__ import annotations

import re

from tests.dispatch.conftest import weekday_ahead
from tests.web.conftest import csrf_token, signed_in


def test_a_lab_manager_plans_a_work_order_and_sees_it_in_the_week(dispatch):
    app = dispatch.app
    manager = signed_in(app, dispatch.manager)
    day = weekday_ahead(2)
    form = {"site": "某市江宁区双龙大道 88 号", "day": day.isoformat(), "starts": "09:00", "ends": "12:00",
            "instrument_ids": [str(dispatch.instrument)], "technician_ids": [str(dispatch.tech_id)],
            "rig_ids": [str(dispatch.rig)]}
    r = manager.post("/dispatch/work-orders/new", data={**form, "csrf_token": csrf_token(manager, "/dispatch/work-orders/new")})
    assert r.status_code == 303, r.get_data(as_text=True)
    order_path = r.headers["Location"]
    order_id = int(re.search(r"/dispatch/work-orders/(\d+)", order_path).group(1))
    page = manager.get(order_path).get_data(as_text=True)
    assert "某市江宁区双龙大道 88 号" in page and "09:00–12:00" in page
    week = manager.get(f"/dispatch/week?week={day.isoformat()}&lang=en").get_data(as_text=True)
    row = re.search(rf'<tr id="technician-{dispatch.tech_id}">(.*?)</tr>', week, re.S).group(1)
    assert f"#{order_id} 09:00–12:00" in row
    assert f"#{order_id}" in re.search(rf'<tr id="rig-{dispatch.rig}">(.*?)</tr>', week, re.S).group(1)

    # The same technician again at an overlapping time: the form comes back saying why, nothing planned.
    again = {**form, "starts": "11:00", "ends": "15:00", "rig_ids": []}
    r = manager.post("/dispatch/work-orders/new", data={**again, "csrf_token": csrf_token(manager, "/dispatch/work-orders/new")})
    assert r.status_code == 422
    said = " ".join(re.findall(r'class="field-error">([^<]*)<', r.get_data(as_text=True)))
    assert f"work order #{order_id}" in said, said  # the work order in the way, named (in English: ?lang=en above)
    week = manager.get(f"/dispatch/week?week={day.isoformat()}").get_data(as_text=True)
    assert week.count("11:00–15:00") == 0


def test_a_weekend_day_is_declared_staffed_on_the_week_page_and_then_takes_work(dispatch):
    manager = signed_in(dispatch.app, dispatch.manager)
    saturday = weekday_ahead(5)
    form = {"site": "某市某路 1 号", "day": saturday.isoformat(), "starts": "09:00", "ends": "12:00",
            "instrument_ids": [str(dispatch.instrument)]}
    token = csrf_token(manager, "/dispatch/work-orders/new")
    r = manager.post("/dispatch/work-orders/new", data={**form, "csrf_token": token})
    assert r.status_code == 422
    r = manager.post("/dispatch/staffed-days", data={"day": saturday.isoformat(), "csrf_token": token})
    assert r.status_code == 303
    week = manager.get(f"/dispatch/week?week={saturday.isoformat()}").get_data(as_text=True)
    assert f'id="staff-{saturday.isoformat()}"' in week
    assert manager.post("/dispatch/work-orders/new", data={**form, "csrf_token": token}).status_code == 303


def test_a_technician_sees_their_work_orders_and_starts_one(dispatch):
    day = weekday_ahead(2)
    order = dispatch.plan(day, technician_ids=[dispatch.tech_id], rig_ids=[dispatch.rig]).json
    other = dispatch.plan(day, technician_ids=[dispatch.tech2_id]).json
    tech = signed_in(dispatch.app, dispatch.tech)
    mine = tech.get("/dispatch/mine").get_data(as_text=True)
    assert f'id="work-order-{order["id"]}"' in mine and f'id="work-order-{other["id"]}"' not in mine
    page = tech.get(f"/dispatch/work-orders/{order['id']}").get_data(as_text=True)
    assert 'id="start"' in page and 'id="cancel"' not in page
    r = tech.post(f"/dispatch/work-orders/{order['id']}/start",
                  data={"csrf_token": csrf_token(tech, f"/dispatch/work-orders/{order['id']}")})
    assert r.status_code == 303
    assert 'id="finish"' in tech.get(f"/dispatch/work-orders/{order['id']}").get_data(as_text=True)
    assert tech.get(f"/dispatch/work-orders/{other['id']}").status_code == 404
    assert tech.get("/dispatch/week").status_code == 403
