"""Booking as a booking system: documents for 容缺受理 (upload, content checks, who may read them,
receipt, the deadline and check-in), a weekly series as one, a rejection's reason, a request sent
twice, closures and hour changes that list the bookings they hit and tell each enterprise why they
are cancelled, usage that keeps its past, notices that link to their booking, and the grid."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from booking import documents, jobs
from booking.models import Booking, BookingDocument
from labs.db import session_scope
from labs.notify import Notification
from tests.booking.support import SHANGHAI, ServiceClock, local, working_wednesdays
from tests.conftest import booking_body
from tests.web.conftest import csrf_token, signed_in

MISSING = "营业执照副本 copy of the business licence"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


class Scene:
    """A lab managed by `manager` where `technician` works, enterprise A (`owner`) and B (`other`),
    and a manager of another lab."""

    def __init__(self, world, **lab):
        self.world, self.app = world, world.app
        self.ids, self.emails = {}, {}
        for name, role, enterprise in (("manager", "lab_manager", None), ("other_manager", "lab_manager", None),
                                       ("technician", "technician", None), ("owner", "enterprise", 0),
                                       ("other", "enterprise", 1)):
            self.ids[name], self.emails[name] = world.user(role, enterprise=enterprise)
        self.headers = {name: world.token(email) for name, email in self.emails.items()}
        self.lab = world.lab(manager_ids=[self.ids["manager"]], technician_ids=[self.ids["technician"]], **lab)
        world.lab(manager_ids=[self.ids["other_manager"]])
        self.day = working_wednesdays(1)

    def book(self, start: float = 9, end: float = 11, day: dt.date | None = None, **extra) -> dict:
        r = self.world.client.post("/api/v1/bookings", headers=self.headers["owner"],
                                   json=booking_body(self.lab, day or self.day, start, end, **extra))
        assert r.status_code == 201, r.json
        return r.json

    def with_missing_documents(self, **extra) -> dict:
        return self.book(missing_documents=MISSING, commitment_signed=True, **extra)

    def upload(self, booking_id: int, data: bytes, name: str = "licence.pdf", role: str = "owner"):
        return self.world.client.post(f"/api/v1/bookings/{booking_id}/documents", headers=self.headers[role],
                                      data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")

    def get(self, url: str, role: str):
        return self.world.client.get(url, headers=self.headers[role])

    def post(self, url: str, role: str, body: dict | None = None):
        return self.world.client.post(url, headers=self.headers[role], json=body or {})

    def status(self, booking_id: int) -> str:
        return self.get(f"/api/v1/bookings/{booking_id}", "manager").json["status"]

    def notices(self, role: str) -> list[dict]:
        return self.get("/api/v1/notifications", role).json


@pytest.fixture
def scene(world):
    return Scene(world, approval_mode="instant", document_deadline_days=4)


def _lapse(app, now: dt.datetime) -> None:
    with app.app_context(), session_scope(app) as s:
        jobs.lapse_missing_documents(s, now)


# --- documents ---------------------------------------------------------------------------------------

def test_a_pdf_and_a_png_are_stored_outside_the_database_and_served_to_the_enterprise_and_the_lab_only(scene, app):
    booking = scene.with_missing_documents()
    pdf = scene.upload(booking["id"], PDF, "营业执照.pdf")
    assert pdf.status_code == 201, pdf.json
    assert pdf.json["content_type"] == "application/pdf" and pdf.json["filename"] == "营业执照.pdf"
    image = scene.upload(booking["id"], png(), "scan.jpg")  # named .jpg, judged a PNG by its content
    assert image.status_code == 201 and image.json["content_type"] == "image/png"
    with app.app_context(), session_scope(app) as s:
        stored = s.scalars(select(BookingDocument.stored_as).order_by(BookingDocument.id)).all()
    assert (Path(app.config["DOCUMENT_DIR"]) / stored[0]).read_bytes() == PDF

    url = f"/api/v1/bookings/{booking['id']}/documents/{pdf.json['id']}"
    for role in ("owner", "manager", "technician"):
        r = scene.get(url, role)
        assert r.status_code == 200 and r.data == PDF, role
        assert r.mimetype == "application/pdf"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("attachment;")
    for role in ("other", "other_manager"):
        assert scene.get(url, role).status_code == 404, role  # as if there were no such booking
        assert scene.get(f"/api/v1/bookings/{booking['id']}/documents", role).status_code == 404
    # The page's link, likewise.
    assert signed_in(app, scene.emails["owner"]).get(f"/bookings/{booking['id']}/documents/{pdf.json['id']}").data == PDF
    assert signed_in(app, scene.emails["other"]).get(
        f"/bookings/{booking['id']}/documents/{pdf.json['id']}").status_code == 404
    assert [d["id"] for d in scene.get(f"/api/v1/bookings/{booking['id']}/documents", "technician").json] == [
        pdf.json["id"], image.json["id"]]


@pytest.mark.parametrize("data, name", [
    (b"MZ\x90\x00 an executable", "licence.pdf"),            # named like a PDF
    (b"%PDF-1.4 cut off in the middle", "licence.pdf"),       # a PDF without its end
    (b"GIF89a" + b"\x00" * 20, "photo.png"),                  # an image of a type not taken
    (b"\x89PNG\r\n\x1a\n not really a PNG", "photo.png"),      # a PNG's signature, then nothing
    (b"", "empty.pdf"),
])
def test_a_file_that_is_not_a_pdf_png_or_jpeg_by_content_is_refused_with_422_and_nothing_kept(scene, app, data, name):
    booking = scene.with_missing_documents()
    r = scene.upload(booking["id"], data, name)
    assert r.status_code == 422, r.json
    assert list(r.json["errors"]) == ["file"]
    with app.app_context(), session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(BookingDocument)) == 0
    assert not Path(app.config["DOCUMENT_DIR"]).exists() or not any(Path(app.config["DOCUMENT_DIR"]).iterdir())


def test_a_document_above_the_limit_is_refused_with_413_and_one_at_it_is_taken(scene):
    booking = scene.with_missing_documents()
    at_limit = PDF[:-6] + b" " * (documents.LIMIT_BYTES - len(PDF)) + b"%%EOF\n"
    assert len(at_limit) == documents.LIMIT_BYTES
    assert scene.upload(booking["id"], at_limit).status_code == 201
    over = scene.upload(booking["id"], at_limit + b" " * (documents.REQUEST_LIMIT_BYTES - documents.LIMIT_BYTES))
    assert over.status_code == 413, over.json
    # Every other request keeps the edge's 1 MiB.
    r = scene.world.client.post("/api/v1/bookings", headers=scene.headers["owner"], data=b"x" * (1024 * 1024 + 1),
                                content_type="application/json")
    assert r.status_code == 413


def test_only_the_enterprise_uploads_and_only_while_documents_are_missing(scene):
    booking = scene.with_missing_documents()
    assert scene.upload(booking["id"], PDF, role="manager").status_code == 403
    assert scene.upload(booking["id"], PDF, role="other").status_code == 404
    plain = scene.book(13, 14)
    r = scene.upload(plain["id"], PDF)
    assert r.status_code == 409 and r.json["code"] == "no_missing_documents"


def test_an_upload_does_not_clear_the_deadline_the_managers_receipt_does(scene, app):
    booking = scene.with_missing_documents()
    assert scene.upload(booking["id"], PDF).status_code == 201
    due = dt.date.fromisoformat(booking["documents_due"])
    after_due = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), SHANGHAI)
    assert any(n["booking_id"] == booking["id"] for n in scene.notices("manager"))  # told of the upload

    assert scene.post(f"/api/v1/bookings/{booking['id']}/documents/received", "other_manager").status_code == 404
    assert scene.post(f"/api/v1/bookings/{booking['id']}/documents/received", "owner").status_code == 403
    r = scene.post(f"/api/v1/bookings/{booking['id']}/documents/received", "manager", {"note": "originals seen"})
    assert r.status_code == 200, r.json
    assert r.json["awaiting_documents"] is False and r.json["documents_received_at"]
    _lapse(app, after_due)
    assert scene.status(booking["id"]) == "approved"
    r = scene.post(f"/api/v1/bookings/{booking['id']}/documents/received", "manager")
    assert r.status_code == 409 and r.json["code"] == "documents_received"
    assert scene.upload(booking["id"], PDF).status_code == 409  # received: nothing more to upload

    uploaded_only = scene.with_missing_documents(start=13, end=14)
    assert scene.upload(uploaded_only["id"], PDF).status_code == 201
    _lapse(app, after_due)
    assert scene.status(uploaded_only["id"]) == "lapsed"


def test_documents_are_due_no_later_than_the_slot_and_it_lapses_at_its_start(world, app):
    scene = Scene(world, approval_mode="instant", document_deadline_days=20)
    booking = scene.with_missing_documents()
    assert booking["documents_due"] == scene.day.isoformat()  # 20 working days would run past the slot
    start = local(scene.day, 9)
    _lapse(app, start - dt.timedelta(seconds=1))
    assert scene.status(booking["id"]) == "approved"
    _lapse(app, start)
    assert scene.status(booking["id"]) == "lapsed"


def test_check_in_waits_for_the_documents_to_be_received(scene, monkeypatch):
    booking = scene.with_missing_documents()
    ServiceClock(monkeypatch, local(scene.day, 9))
    r = scene.post(f"/api/v1/bookings/{booking['id']}/check_in", "technician")
    assert r.status_code == 409 and r.json["code"] == "documents_outstanding"
    assert scene.status(booking["id"]) == "approved"
    assert scene.post(f"/api/v1/bookings/{booking['id']}/documents/received", "manager").status_code == 200
    assert scene.post(f"/api/v1/bookings/{booking['id']}/check_in", "technician").status_code == 200


def test_the_enterprise_uploads_on_the_booking_page_and_the_manager_confirms_receipt_there(scene, app):
    booking = scene.with_missing_documents()
    owner = signed_in(app, scene.emails["owner"])
    page = f"/bookings/{booking['id']}"
    html = owner.get(page).get_data(as_text=True)
    assert 'id="upload-form"' in html and MISSING in html
    r = owner.post(f"{page}/documents", data={"csrf_token": csrf_token(owner, page), "file": (io.BytesIO(b"hello"), "a.pdf")},
                   content_type="multipart/form-data")
    assert r.status_code == 422 and "field-error" in r.get_data(as_text=True)
    r = owner.post(f"{page}/documents", data={"csrf_token": csrf_token(owner, page), "file": (io.BytesIO(PDF), "licence.pdf")},
                   content_type="multipart/form-data")
    assert r.status_code == 302
    assert "licence.pdf" in owner.get(page).get_data(as_text=True)

    manager = signed_in(app, scene.emails["manager"])
    html = manager.get(page).get_data(as_text=True)
    assert 'id="receipt-form"' in html and "licence.pdf" in html and 'id="upload-form"' not in html
    r = manager.post(f"{page}/documents/received", data={"csrf_token": csrf_token(manager, page)})
    assert r.status_code == 302
    html = owner.get(page).get_data(as_text=True)
    assert 'id="documents-received"' in html and 'id="upload-form"' not in html


# --- the booking page --------------------------------------------------------------------------------

def test_the_booking_page_shows_fee_timeline_and_cancels_after_confirmation(world, app):
    scene = Scene(world)
    booking = scene.book()
    owner = signed_in(app, scene.emails["owner"])
    page = f"/bookings/{booking['id']}"
    html = owner.get(page).get_data(as_text=True)
    assert f"¥{booking['fee']}" in html and 'id="timeline"' in html
    assert html.count("<li>") >= 1 and 'id="cancel-booking"' in html
    confirm = owner.get(f"{page}/cancel")
    assert confirm.status_code == 200 and 'id="confirm-cancel"' in confirm.get_data(as_text=True)
    assert scene.status(booking["id"]) == "requested"  # asking is not cancelling
    r = owner.post(f"{page}/cancel", data={"csrf_token": csrf_token(owner, page), "back": "bookings.booking",
                                           "note": "plans changed"})
    assert r.status_code == 302 and r.headers["Location"].endswith(page)
    assert scene.status(booking["id"]) == "cancelled"
    timeline = owner.get(page).get_data(as_text=True)
    assert "plans changed" in timeline
    assert signed_in(app, scene.emails["other"]).get(page).status_code == 404


def test_a_rejection_needs_its_reason_on_the_api_and_the_pages(world, app):
    scene = Scene(world)
    booking = scene.book()
    r = scene.post(f"/api/v1/bookings/{booking['id']}/reject", "manager", {"note": "  "})
    assert r.status_code == 422 and list(r.json["errors"]) == ["note"]
    manager = signed_in(app, scene.emails["manager"])
    r = manager.post(f"/bookings/{booking['id']}/reject", data={"csrf_token": csrf_token(manager, "/approvals"),
                                                               "back": "bookings.approvals"})
    assert r.status_code == 302
    assert scene.status(booking["id"]) == "requested"
    assert 'class="flash error"' in manager.get("/approvals").get_data(as_text=True)
    r = scene.post(f"/api/v1/bookings/{booking['id']}/reject", "manager", {"note": "sample outside the lab's scope"})
    assert r.status_code == 200
    assert any(n["booking_id"] == booking["id"] and "sample outside the lab's scope" in n["body"]
               for n in scene.notices("owner"))


# --- a weekly series ---------------------------------------------------------------------------------

def _series(scene, weeks: int = 3) -> dict:
    r = scene.world.client.post("/api/v1/booking-series", headers=scene.headers["owner"], json={
        **booking_body(scene.lab, working_wednesdays(weeks), 14, 16), "weeks": weeks, "policy": "all_or_nothing"})
    assert r.status_code == 201, r.json
    return r.json


def test_a_series_is_approved_as_one_and_a_week_cancelled_alone(world):
    scene = Scene(world)
    series = _series(scene)
    url = f"/api/v1/booking-series/{series['series_id']}"
    assert [b["status"] for b in scene.get(url, "owner").json] == ["requested"] * 3
    for role in ("other", "other_manager"):
        assert scene.get(url, role).status_code == 404
        assert scene.post(f"{url}/approve", role).status_code in (403, 404)
    assert scene.post(f"{url}/reject", "manager").status_code == 422  # no reason
    r = scene.post(f"{url}/approve", "manager")
    assert r.status_code == 200 and [b["status"] for b in r.json] == ["approved"] * 3
    second = series["occurrences"][1]["booking_id"]
    assert scene.post(f"/api/v1/bookings/{second}/cancel", "owner").status_code == 200
    r = scene.post(f"{url}/cancel", "owner", {"note": "project ended"})
    assert r.status_code == 200 and len(r.json) == 2
    assert [b["status"] for b in scene.get(url, "owner").json] == ["cancelled"] * 3
    r = scene.post(f"{url}/cancel", "owner")
    assert r.status_code == 409 and r.json["code"] == "series_nothing_to_do"


def test_a_series_is_one_row_on_the_pages_and_the_manager_approves_it_whole(world, app):
    scene = Scene(world)
    series = _series(scene)
    ids = [o["booking_id"] for o in series["occurrences"]]
    owner = signed_in(app, scene.emails["owner"])
    html = owner.get("/bookings").get_data(as_text=True)
    assert html.count(f'id="series-{series["series_id"]}"') == 1 and all(f'id="booking-{i}"' in html for i in ids)
    manager = signed_in(app, scene.emails["manager"])
    html = manager.get("/approvals").get_data(as_text=True)
    assert f'id="decide-series-{series["series_id"]}"' in html
    r = manager.post(f"/series/{series['series_id']}/approve", data={"csrf_token": csrf_token(manager, "/approvals"),
                                                                    "back": "bookings.approvals"})
    assert r.status_code == 302
    assert [scene.status(i) for i in ids] == ["approved"] * 3
    assert f'id="decide-series-{series["series_id"]}"' not in manager.get("/approvals").get_data(as_text=True)


# --- a request sent twice ----------------------------------------------------------------------------

def test_the_same_request_sent_twice_books_once(world, app):
    scene = Scene(world)
    headers = {**scene.headers["owner"], "Idempotency-Key": "retry-after-a-lost-answer-1"}
    body = booking_body(scene.lab, scene.day)
    first = world.client.post("/api/v1/bookings", headers=headers, json=body)
    again = world.client.post("/api/v1/bookings", headers=headers, json=body)
    assert first.status_code == 201 and again.status_code == 201 and first.json["id"] == again.json["id"]

    owner = signed_in(app, scene.emails["owner"])
    html = owner.get(f"/bookings/new?lab_id={scene.lab}&date={scene.day}&start=13:00&end=14:00").get_data(as_text=True)
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', html).group(1)
    assert 'value="13:00"' in html and 'value="14:00"' in html and f'value="{scene.day}"' in html
    form = {"csrf_token": csrf_token(owner, "/bookings/new"), "request_key": key, "lab_id": str(scene.lab),
            "date": scene.day.isoformat(), "start": "13:00", "end": "14:00", "test_type": "life test",
            "sample_description": "bearings", "batches": "1", "contact_name": "Zhang San",
            "contact_phone": "13800000000"}
    one, two = owner.post("/bookings/new", data=form), owner.post("/bookings/new", data=form)
    assert one.status_code == two.status_code == 302 and one.headers["Location"] == two.headers["Location"]
    with app.app_context(), session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 2


# --- closures and hour changes -----------------------------------------------------------------------

def test_a_closure_lists_the_bookings_it_hits_and_cancels_them_with_the_reason_each_enterprise_receives(world, app):
    scene = Scene(world, bays=2, approval_mode="instant")
    mine = scene.book(9, 11)
    theirs = world.client.post("/api/v1/bookings", headers=scene.headers["other"],
                               json=booking_body(scene.lab, scene.day, 10, 12)).json
    outside = scene.book(14, 15)
    manager = signed_in(app, scene.emails["manager"])
    page = f"/labs/{scene.lab}/manage"
    form = {"starts_at_date": scene.day.isoformat(), "starts_at_time": "08:00", "ends_at_date": scene.day.isoformat(),
            "ends_at_time": "13:00", "reason": "power maintenance"}
    r = manager.post(f"{page}/closures", data={**form, "csrf_token": csrf_token(manager, page)})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert 'id="closure-hit"' in html and f"#{mine['id']}" in html and f"#{theirs['id']}" in html
    assert f"#{outside['id']}" not in html
    with app.app_context(), session_scope(app) as s:  # nothing saved yet
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.body.contains("power"))) == 0
    r = manager.post(f"{page}/closures", data={**form, "cancel_hit": "1", "csrf_token": csrf_token(manager, page)})
    assert r.status_code == 422 and 'id="closure-hit"' in r.get_data(as_text=True)  # the reason is required
    r = manager.post(f"{page}/closures", data={**form, "cancel_hit": "1", "cancel_reason": "the power is cut that morning",
                                               "csrf_token": csrf_token(manager, page)})
    assert r.status_code == 302
    assert [scene.status(b["id"]) for b in (mine, theirs, outside)] == ["cancelled", "cancelled", "approved"]
    for role, booking in (("owner", mine), ("other", theirs)):
        assert any(n["booking_id"] == booking["id"] and "the power is cut that morning" in n["body"]
                   for n in scene.notices(role)), role
    assert scene.get(f"/api/v1/labs/{scene.lab}", "manager").status_code == 200


def test_a_closure_may_keep_the_bookings_it_hits(world, app):
    scene = Scene(world, approval_mode="instant")
    booking = scene.book(9, 11)
    manager = signed_in(app, scene.emails["manager"])
    page = f"/labs/{scene.lab}/manage"
    r = manager.post(f"{page}/closures", data={
        "starts_at_date": scene.day.isoformat(), "starts_at_time": "10:00", "ends_at_date": scene.day.isoformat(),
        "ends_at_time": "12:00", "reason": "audit visit", "keep_hit": "1", "csrf_token": csrf_token(manager, page)})
    assert r.status_code == 302
    assert scene.status(booking["id"]) == "approved"


def test_new_opening_hours_list_the_bookings_left_outside_before_saving(world, app):
    scene = Scene(world, approval_mode="instant")
    morning, afternoon = scene.book(9, 11), scene.book(15, 17)
    manager = signed_in(app, scene.emails["manager"])
    page = f"/labs/{scene.lab}/manage"
    hours = {f"{edge}_{d}": time for d in range(7) for edge, time in (("opens", "08:00"), ("closes", "12:00"))}
    form = {"set_hours": "1", "name": "Bearing lab", **hours}
    r = manager.post(f"{page}/settings", data={**form, "csrf_token": csrf_token(manager, page)})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert 'id="settings-hit"' in html and f"#{afternoon['id']}" in html and f"#{morning['id']}" not in html
    assert scene.get(f"/api/v1/labs/{scene.lab}", "manager").json["hours"][0]["closes"].startswith("18:00")
    r = manager.post(f"{page}/settings", data={**form, "cancel_hit": "1", "cancel_reason": "afternoons close",
                                               "csrf_token": csrf_token(manager, page)})
    assert r.status_code == 302
    assert scene.get(f"/api/v1/labs/{scene.lab}", "manager").json["hours"][0]["closes"].startswith("12:00")
    assert [scene.status(b["id"]) for b in (morning, afternoon)] == ["approved", "cancelled"]
    assert any("afternoons close" in n["body"] for n in scene.notices("owner"))


def test_past_months_usage_keeps_the_hours_the_lab_had_then(world, app):
    scene = Scene(world)
    last_month = (dt.datetime.now(SHANGHAI).date().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    url = f"/api/v1/labs/{scene.lab}/usage?month={last_month}"
    before = scene.get(url, "manager").json
    assert before["open_bay_hours"] > 0
    r = world.client.patch(f"/api/v1/labs/{scene.lab}", headers=scene.headers["manager"], json={
        "hours": [{"weekday": d, "opens": "08:00", "closes": "10:00"} for d in range(7)]})
    assert r.status_code == 200, r.json
    assert scene.get(url, "manager").json == before
    next_month = (dt.datetime.now(SHANGHAI).date().replace(day=28) + dt.timedelta(days=5)).strftime("%Y-%m")
    later = scene.get(f"/api/v1/labs/{scene.lab}/usage?month={next_month}", "manager").json
    assert 0 < later["open_bay_hours"] <= 31 * 2  # two hours a day from now on


# --- notices, the grid, availability and fees --------------------------------------------------------

def test_notices_link_to_their_booking_and_the_header_counts_the_unread(world, app):
    scene = Scene(world)
    booking = scene.book()
    manager = signed_in(app, scene.emails["manager"])
    header = manager.get("/approvals").get_data(as_text=True)
    assert re.search(r'id="unread-count"[^>]*>1<', header), header
    html = manager.get("/notifications").get_data(as_text=True)
    assert f'href="/bookings/{booking["id"]}"' in html and 'id="read-notifications"' in html
    r = manager.post("/notifications/read", data={"csrf_token": csrf_token(manager, "/notifications")})
    assert r.status_code == 302
    assert 'id="unread-count"' not in manager.get("/approvals").get_data(as_text=True)
    assert scene.post(f"/api/v1/bookings/{booking['id']}/approve", "manager").status_code == 200
    owner = signed_in(app, scene.emails["owner"])
    assert re.search(r'id="unread-count"[^>]*>1<', owner.get("/bookings").get_data(as_text=True))


def test_free_slots_in_the_grid_start_a_request_and_passed_time_is_not_free(world, app):
    scene = Scene(world)
    owner = signed_in(app, scene.emails["owner"])
    html = owner.get(f"/labs/{scene.lab}?week={scene.day}").get_data(as_text=True)
    assert f"/bookings/new?lab_id={scene.lab}&amp;date={scene.day}&amp;start=08:00&amp;end=16:00" in html
    today = dt.datetime.now(SHANGHAI).date()
    html = owner.get(f"/labs/{scene.lab}?week={today - dt.timedelta(days=7)}").get_data(as_text=True)
    assert f"/bookings/new?lab_id={scene.lab}&amp;date=" not in html  # last week: nothing is free
    day = scene.get(f"/api/v1/labs/{scene.lab}/availability?from={today}&to={today}", "owner").json["days"][0]
    now = dt.datetime.now(dt.timezone.utc)
    assert all(dt.datetime.fromisoformat(span["starts_at"]) >= now - dt.timedelta(minutes=1)
               for bay in day["bays"] for span in bay["free"])


def test_the_fee_is_quoted_as_the_booking_would_be_charged(world):
    scene = Scene(world, fee_per_hour="100.00", fee_per_batch="50.00")
    r = world.client.get(f"/api/v1/labs/{scene.lab}/fee", query_string={
        "starts_at": "2030-01-07T09:00:00+08:00", "ends_at": "2030-01-07T10:30:00+08:00", "batches": 3})
    assert r.status_code == 200 and r.json["fee"] == "300.00"
    r = world.client.get(f"/api/v1/labs/{scene.lab}/fee", query_string={
        "starts_at": "2030-01-07T10:30:00+08:00", "ends_at": "2030-01-07T09:00:00+08:00"})
    assert r.status_code == 422


def test_times_off_the_labs_step_are_refused(world):
    scene = Scene(world, slot_step_minutes=30)
    r = world.client.post("/api/v1/bookings", headers=scene.headers["owner"],
                          json=booking_body(scene.lab, scene.day, 9 + 10 / 60, 11))
    assert r.status_code == 422 and "30" in r.json["errors"]["starts_at"][0]
