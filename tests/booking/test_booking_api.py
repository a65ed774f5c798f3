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


def test_a_nul_character_anywhere_in_a_request_is_refused_with_422_naming_the_field(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab()
    r = world.client.post("/api/v1/auth/token", json={"email": "alice\x00@example.com", "password": "x"})
    assert r.status_code == 422 and r.json["errors"] == {"email": ["a NUL character is not allowed"]}
    body = booking_body(lab, next_working_day(), contact_name="Zhang\x00", instrument_ids=["\x00"])
    r = world.client.post("/api/v1/bookings", json=body, headers=world.token(alice))
    assert r.status_code == 422 and set(r.json["errors"]) == {"contact_name", "instrument_ids.0"}
    assert world.client.get("/api/v1/bookings?status=approved\x00", headers=world.token(alice)).status_code == 422
    assert world.client.get("/api/v1/me", headers={"Authorization": "Bearer abc\x00"}).status_code == 401
    assert world.client.get("/api/v1/bookings", headers=world.token(alice)).json == []
