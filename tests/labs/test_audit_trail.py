"""An audit trail nobody can rewrite: a trigger refuses UPDATE and DELETE on audit_log on both
databases; on PostgreSQL the service runs as a role (`labs db grant-service-role`) that may only
insert and read the audit log and the chained verification records, and `labs serve` works as that
role. Manager, opening-hour and closure changes are recorded with what they were before."""
from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
import requests
import sqlalchemy.exc
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from labs.audit import AuditEntry
from labs.db import normalise_url, session_scope
from labs.grants import APPEND_ONLY, service_role_sql
from tests.conftest import LABS_BIN, PASSWORD, running_server


def _one_audit_row(app) -> int:
    with session_scope(app) as session:
        entry = AuditEntry(action="test.entry", entity="lab", entity_id=1, before=None, after={"x": 1})
        session.add(entry)
        session.flush()
        return entry.id


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'rewritten' WHERE id = :id",
                                       "DELETE FROM audit_log WHERE id = :id"])
def test_the_audit_log_refuses_update_and_delete_through_the_services_connection(app, statement):
    entry_id = _one_audit_row(app)
    engine = app.extensions["labs.engine"]
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement), {"id": entry_id})
    with session_scope(app) as session:
        assert session.get(AuditEntry, entry_id).action == "test.entry"


# --- PostgreSQL: the service's own role --------------------------------------------------------------

@pytest.fixture
def service_role(database_url, request):
    """A real second login role on the test database, granted by `labs db grant-service-role` run as
    the owner; its URL. Dropped afterwards."""
    if not database_url.startswith("postgresql"):
        pytest.skip("database roles are PostgreSQL's")
    role, password = f"labs_service_{os.getpid()}", "service-role-password"
    owner_url = database_url
    admin = create_engine(normalise_url(owner_url), isolation_level="AUTOCOMMIT")
    database = make_url(owner_url).database

    def drop():
        with admin.connect() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).scalar():
                conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{database}" FROM {role}')
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")

    drop()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    env = {**os.environ, "LABS_MIGRATION_DATABASE_URL": owner_url, "LABS_DATABASE_URL": "sqlite:////nonexistent/x"}
    done = subprocess.run([str(LABS_BIN), "db", "grant-service-role", role], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"GRANT SELECT, INSERT ON audit_log TO {role};" in done.stdout
    url = make_url(owner_url).set(username=role, password=password).render_as_string(hide_password=False)
    yield url
    admin.dispose()
    drop()


def test_the_service_role_may_insert_and_read_the_audit_log_but_not_change_it(service_role, app):
    entry_id = _one_audit_row(app)
    engine = create_engine(normalise_url(service_role))
    try:
        with engine.begin() as conn:
            assert conn.execute(text("SELECT current_user")).scalar().startswith("labs_service_")
            conn.execute(text("INSERT INTO audit_log (at, action, entity, entity_id) "
                              "VALUES (now(), 'by.service', 'lab', 1)"))
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2
        for table in APPEND_ONLY:
            for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}", f"TRUNCATE {table}"):
                with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
                    with engine.begin() as conn:
                        conn.execute(text(statement))
        # The rest of the service's tables it reads and writes; the schema's version it only reads.
        with engine.begin() as conn:
            conn.execute(text("UPDATE labs SET bays = bays"))
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
    finally:
        engine.dispose()
    with session_scope(app) as session:
        assert session.get(AuditEntry, entry_id).action == "test.entry"


def test_labs_serve_works_as_the_service_role_and_its_changes_are_audited(service_role, world, tmp_path):
    admin_id, admin = world.user("admin")
    manager_id, _manager = world.user("lab_manager")
    with running_server(service_role, tmp_path, workers=1) as base:
        token = requests.post(f"{base}/api/v1/auth/token", json={"email": admin, "password": PASSWORD},
                              timeout=30).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = requests.post(f"{base}/api/v1/labs", headers=headers, timeout=30, json={
            "code": "EMC", "name": "EMC lab", "discipline": "emc", "fee_per_hour": "100.00",
            "fee_per_batch": "0.00", "hours": [{"weekday": 0, "opens": "08:00", "closes": "17:00"}]})
        assert r.status_code == 201, r.text
        lab_id = r.json()["id"]
        r = requests.patch(f"{base}/api/v1/labs/{lab_id}", headers=headers, timeout=30,
                           json={"manager_ids": [manager_id]})
        assert r.status_code == 200, r.text
    with session_scope(world.app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "lab.update")).one()
        assert entry.actor_id == admin_id
        assert (entry.before["manager_ids"], entry.after["manager_ids"]) == ([], [manager_id])


def test_the_grants_are_plain_statements_for_a_plain_role_name():
    statements = service_role_sql("labs_web")
    assert "GRANT SELECT, INSERT ON audit_log TO labs_web" in statements
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON certificates FROM labs_web" in statements
    with pytest.raises(ValueError):
        service_role_sql("labs; DROP TABLE audit_log")


# --- what is recorded --------------------------------------------------------------------------------

def _lab_updates(app, lab_id: int) -> list[AuditEntry]:
    with session_scope(app) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "lab.update",
                                                             AuditEntry.entity_id == lab_id)
                                    .order_by(AuditEntry.id)))


def test_manager_and_opening_hour_changes_are_recorded_with_what_they_were(app, world):
    admin_id, admin = world.user("admin")
    first_id, _ = world.user("lab_manager")
    second_id, _ = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[first_id],
                       hours=[{"weekday": 0, "opens": dt.time(8), "closes": dt.time(17)}])
    headers = world.token(admin)
    r = world.client.patch(f"/api/v1/labs/{lab_id}", headers=headers, json={"manager_ids": [second_id]})
    assert r.status_code == 200, r.json
    r = world.client.patch(f"/api/v1/labs/{lab_id}", headers=headers, json={
        "hours": [{"weekday": 1, "opens": "09:00", "closes": "12:00"}]})
    assert r.status_code == 200, r.json
    managers, hours = _lab_updates(app, lab_id)
    assert (managers.before["manager_ids"], managers.after["manager_ids"]) == ([first_id], [second_id])
    assert managers.before["hours"] == managers.after["hours"]
    assert hours.before["hours"] == [{"weekday": 0, "opens": "08:00:00", "closes": "17:00:00"}]
    assert hours.after["hours"] == [{"weekday": 1, "opens": "09:00:00", "closes": "12:00:00"}]
    assert hours.actor_id == admin_id


def test_a_closure_is_recorded(app, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    r = world.client.post(f"/api/v1/labs/{lab_id}/closures", headers=world.token(manager), json={
        "starts_at": "2030-01-02T08:00:00+08:00", "ends_at": "2030-01-03T08:00:00+08:00", "reason": "maintenance"})
    assert r.status_code == 201, r.json
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "closure.create")).one()
        assert (entry.actor_id, entry.entity_id, entry.before) == (manager_id, r.json["id"], None)
        after = {**entry.after, "starts_at": dt.datetime.fromisoformat(entry.after["starts_at"]),
                 "ends_at": dt.datetime.fromisoformat(entry.after["ends_at"])}
        utc = dt.timezone.utc
        assert after == {"lab_id": lab_id, "starts_at": dt.datetime(2030, 1, 2, tzinfo=utc),
                         "ends_at": dt.datetime(2030, 1, 3, tzinfo=utc), "reason": "maintenance"}
