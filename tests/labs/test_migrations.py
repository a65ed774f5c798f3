"""The Alembic migrations build exactly the schema the models declare, and carry data over."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from labs.app import create_app
from labs.cli import upgrade
from labs.db import normalise_url
from labs.models import metadata
from tests.conftest import PG_ADMIN_URL, _pg_url


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from labs.cli import MIGRATIONS
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrated_database_matches_the_models(app):
    engine = app.extensions["labs.engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


@pytest.fixture(params=["sqlite"] + (["postgresql"] if PG_ADMIN_URL else []))
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    # A name of its own, so that runs at the same time on one server do not drop each other's database.
    name = f"labs_migration_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrading_from_the_first_schema_keeps_bookings_and_what_refers_to_them(empty_database):
    app = create_app({"DATABASE_URL": empty_database})
    engine = app.extensions["labs.engine"]
    upgrade(app, "0001")
    start = dt.datetime(2030, 1, 7, 1, tzinfo=dt.timezone.utc)
    rows = [
        "INSERT INTO enterprises (id, credit_code, name, calendar_token) VALUES (1, '91110000600037341L', 'E', 't1')",
        "INSERT INTO users (id, email, name, password_hash, role, enterprise_id, active, created_at) "
        "VALUES (1, 'e@example.com', 'E', 'x', 'enterprise', 1, true, :start)",
        "INSERT INTO labs (id, code, name, discipline, location, timezone, bays, public_benefit, fee_per_hour, "
        "fee_per_batch, approval_mode, approval_deadline_days, document_deadline_days, min_duration_minutes, "
        "max_duration_minutes, max_advance_days, calendar_token) VALUES (1, 'L', 'L', 'd', '', 'Asia/Shanghai', "
        "1, false, 100, 10, 'manager', 3, 5, 30, 480, 90, 't2')",
        "INSERT INTO instruments (id, lab_id, code, name, certificate_no, calibration_valid_until) "
        "VALUES (1, 1, 'CT-1', 'CT', '', '2031-01-01')",
        "INSERT INTO bookings (id, lab_id, bay, enterprise_id, requester_id, starts_at, ends_at, status, test_type, "
        "sample_description, batches, contact_name, contact_phone, fee, created_at, decision_note, "
        "missing_documents, commitment_signed) VALUES (1, 1, 1, 1, 1, :start, :end, 'approved', 't', 's', 1, 'c', "
        "'1', 9999999999.99, :start, '', '', false)",
        "INSERT INTO booking_instruments (booking_id, instrument_id) VALUES (1, 1)",
        "INSERT INTO waitlist (id, lab_id, enterprise_id, requester_id, starts_at, ends_at, request, status, "
        "booking_id, created_at) VALUES (1, 1, 1, 1, :start, :end, '{}', 'promoted', 1, :start)",
    ]
    naive = engine.dialect.name == "sqlite"  # SQLite stores the UTC wall clock
    times = {"start": start.replace(tzinfo=None) if naive else start,
             "end": (start + dt.timedelta(hours=1)).replace(tzinfo=None) if naive else start + dt.timedelta(hours=1)}
    with engine.begin() as conn:
        for sql in rows:
            conn.execute(text(sql), times)
    upgrade(app)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, CAST(fee AS VARCHAR(20)) FROM bookings")).all() == [(1, "9999999999.99")]
        assert conn.execute(text("SELECT booking_id, instrument_id FROM booking_instruments")).all() == [(1, 1)]
        assert conn.execute(text("SELECT id, booking_id FROM waitlist")).all() == [(1, 1)]
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()
    engine.dispose()
