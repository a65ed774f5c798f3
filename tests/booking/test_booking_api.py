"""Booking through the API on a real database (both backends)."""
from __future__ import annotations

from tests.conftest import booking_body, next_working_day


def test_enterprise_books_and_manager_approves(world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id])
    day = next_working_day()
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(alice))
    assert r.status_code == 201, r.json
    assert r.json["status"] == "requested" and r.json["fee"] == "300.00"
    booking_id = r.json["id"]
    queue = world.client.get("/api/v1/approvals", headers=world.token(manager)).json
    assert [b["id"] for b in queue] == [booking_id]
    r = world.client.post(f"/api/v1/bookings/{booking_id}/approve", json={}, headers=world.token(manager))
    assert r.status_code == 200 and r.json["status"] == "approved"


def test_overlapping_booking_is_refused_with_409_and_back_to_back_is_allowed(world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab()
    day = next_working_day()
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, day, 9, 11),
                             headers=world.token(alice)).status_code == 201
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day, 10, 12), headers=world.token(bob))
    assert r.status_code == 409
    assert r.mimetype == "application/problem+json"
    assert len(r.json["conflicts"]) == 1 and r.json["conflicts"][0]["bay"] == 1
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day, 11, 12), headers=world.token(bob))
    assert r.status_code == 201, r.json
