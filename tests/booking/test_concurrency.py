"""Many simultaneous requests for overlapping slots, through `labs serve` with 4 worker processes:
exactly one wins, all others get 409, nothing 5xx, and the table holds no overlap afterwards."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import text

from labs.accounts.models import User
from labs.accounts.service import issue_token
from labs.db import session_scope
from tests.conftest import booking_body, next_working_day, post_at_once, running_server

REQUESTS = 200


@pytest.fixture
def server(database_url, tmp_path):
    with running_server(database_url, tmp_path, workers=4) as base:
        yield base


def test_200_simultaneous_overlapping_requests_give_one_201_and_199_409(app, world, server):
    lab = world.lab(bays=1)
    users = [world.user("enterprise", enterprise=i % 4)[0] for i in range(8)]
    with app.app_context(), session_scope(app) as s:
        tokens = [issue_token(s, s.get(User, uid)) for uid in users]
    day = next_working_day()
    rng = random.Random(7)
    # Every slot contains 10:00-10:30, so any two of them overlap; starts and ends vary.
    bodies = [booking_body(lab, day, rng.choice([8, 8.5, 9, 9.5, 10]), rng.choice([10.5, 11, 12, 13]))
              for _ in range(REQUESTS)]
    statuses, payloads = post_at_once([(f"{server}/api/v1/bookings", body) for body in bodies], tokens)

    assert not [s for s in statuses if s >= 500], [p for s, p in zip(statuses, payloads) if s >= 500][:3]
    assert statuses.count(201) == 1, sorted(set(statuses))
    assert statuses.count(409) == REQUESTS - 1
    for status, payload in zip(statuses, payloads):
        if status == 409:
            assert payload["conflicts"], payload  # the slot in the way is named
    with app.app_context(), session_scope(app) as s:
        active = s.execute(text("SELECT count(*) FROM bookings WHERE status IN ('requested', 'approved', 'checked_in')")).scalar()
        overlapping = s.execute(text(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.lab_id = b.lab_id AND a.bay = b.bay AND a.id < b.id "
            "WHERE a.status IN ('requested', 'approved', 'checked_in') AND b.status IN ('requested', 'approved', 'checked_in') "
            "AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at")).scalar()
    assert active == 1
    assert overlapping == 0


def test_postgresql_itself_refuses_overlapping_active_bookings(app, world, database_url):
    """The exclusion constraint holds even for writers that skip the service's check."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no exclusion constraints; BEGIN IMMEDIATE serialises the check instead")
    from sqlalchemy.exc import IntegrityError
    lab = world.lab(bays=1)
    uid, _ = world.user("enterprise", enterprise=0)
    insert = text(
        "INSERT INTO bookings (lab_id, bay, enterprise_id, requester_id, starts_at, ends_at, status, test_type, "
        "sample_description, batches, contact_name, contact_phone, fee, created_at, decision_note, "
        "missing_documents, commitment_signed) SELECT :lab, 1, enterprise_id, id, :s, :e, :status, 't', 's', 1, "
        "'c', '1', 0, now(), '', '', false FROM users WHERE id = :uid")
    t0 = dt.datetime(2030, 1, 7, 2, tzinfo=dt.timezone.utc)
    hour = dt.timedelta(hours=1)
    with app.app_context(), session_scope(app) as s:
        s.execute(insert, {"lab": lab, "s": t0, "e": t0 + 2 * hour, "status": "approved", "uid": uid})
        s.execute(insert, {"lab": lab, "s": t0 + 2 * hour, "e": t0 + 3 * hour, "status": "requested", "uid": uid})
        s.execute(insert, {"lab": lab, "s": t0, "e": t0 + hour, "status": "cancelled", "uid": uid})
    with pytest.raises(IntegrityError) as refused:
        with app.app_context(), session_scope(app) as s:
            s.execute(insert, {"lab": lab, "s": t0 + hour, "e": t0 + 3 * hour, "status": "requested", "uid": uid})
    assert refused.value.orig.sqlstate == "23P01"
