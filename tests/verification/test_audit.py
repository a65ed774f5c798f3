"""The chained records behind the service's back: `labs audit verify` (a real process) passes an intact
chain and names the row where someone changed or deleted one; the append-only triggers refuse every
UPDATE and DELETE that comes through the service's own connection."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess

import pytest
import sqlalchemy.exc
from sqlalchemy import select, text

from labs.db import session_scope
from labs.verification.models import Certificate, Reading, Result
from simulators.harness import RigOptions
from tests.conftest import LABS_BIN
from tests.verification.conftest import FAST

APPEND_ONLY = ("readings", "verification_results", "certificates")


def _audit(database_url: str, tmp_path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "instance"),
           "LC_ALL": "C"}  # English, whatever this machine's locale, unless --lang says otherwise
    env.pop("LABS_SECRET_KEY", None)  # a one-off command: no key needed
    return subprocess.run([str(LABS_BIN), *options, "audit", "verify"], env=env, capture_output=True, text=True,
                          timeout=120)


@contextlib.contextmanager
def _triggers_dropped(app, table: str):
    """What an owner with DDL rights could do: drop the table's append-only triggers (they are put
    back afterwards, as the migration made them, for the tests that share the database)."""
    engine = app.extensions["labs.engine"]
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
        else:
            for operation in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER {table}_no_{operation}"))
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            if postgres:
                conn.execute(text(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                  f"FOR EACH ROW EXECUTE FUNCTION labs_append_only()"))
            else:
                for operation in ("UPDATE", "DELETE"):
                    conn.execute(text(
                        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: {operation} refused'); END"))


def _reading_ids(app) -> list[int]:
    with session_scope(app) as session:
        return list(session.scalars(select(Reading.id).order_by(Reading.id)))


@pytest.fixture
def verified(bench):
    """Two whole runs, so the chains are long enough to have a middle."""
    for _ in range(2):
        bench.verify("fuel_dispenser", RigOptions(error_pct=0.1, speed=FAST, seed=1))
    return bench


def test_an_intact_chain_passes(verified, database_url, tmp_path):
    done = _audit(database_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "readings: 12 rows checked" in done.stdout
    assert "verification_results: 2 rows checked" in done.stdout
    assert "certificates: 2 rows checked" in done.stdout
    assert "every chain is intact" in done.stdout and "BROKEN" not in done.stderr
    chinese = _audit(database_url, tmp_path, "--lang", "zh_Hans_CN")
    assert chinese.returncode == 0, chinese.stderr
    assert "readings：已核对 12 行" in chinese.stdout and "所有哈希链均完整" in chinese.stdout


def test_a_reading_changed_behind_the_services_back_is_named(verified, database_url, tmp_path):
    ids = _reading_ids(verified.app)
    victim = ids[4]
    with _triggers_dropped(verified.app, "readings") as engine, engine.begin() as conn:
        stored = conn.execute(text('SELECT "values" FROM readings WHERE id = :id'), {"id": victim}).scalar()
        values = json.loads(stored) if isinstance(stored, str) else dict(stored)  # psycopg decodes JSON itself
        values["indicated_volume"] -= 0.05  # a dispenser that gave short measure made to look right
        conn.execute(text('UPDATE readings SET "values" = :v WHERE id = :id'), {"v": json.dumps(values), "id": victim})
    done = _audit(database_url, tmp_path)
    assert done.returncode != 0
    assert f"readings row {victim}:" in done.stderr and "changed" in done.stderr
    assert "every chain is intact" not in done.stdout


def test_a_reading_deleted_from_the_middle_is_named_by_the_row_after_it(verified, database_url, tmp_path):
    ids = _reading_ids(verified.app)
    with _triggers_dropped(verified.app, "readings") as engine, engine.begin() as conn:
        conn.execute(text("DELETE FROM readings WHERE id = :id"), {"id": ids[5]})
    done = _audit(database_url, tmp_path)
    assert done.returncode != 0
    assert f"readings row {ids[6]}:" in done.stderr and "deleted" in done.stderr
    assert f"readings row {ids[5]}" not in done.stderr


def test_a_verdict_changed_behind_the_services_back_is_named(verified, database_url, tmp_path):
    with session_scope(verified.app) as session:
        first = session.scalar(select(Result.id).order_by(Result.id))
    with _triggers_dropped(verified.app, "verification_results") as engine, engine.begin() as conn:
        conn.execute(text("UPDATE verification_results SET verdict = 'fail' WHERE id = :id"), {"id": first})
    done = _audit(database_url, tmp_path)
    assert done.returncode != 0 and f"verification_results row {first}:" in done.stderr


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_append_only_triggers_refuse_update_and_delete_through_the_services_connection(verified, table):
    model = {"readings": Reading, "verification_results": Result, "certificates": Certificate}[table]
    with session_scope(verified.app) as session:
        row_id = session.scalar(select(model.id).order_by(model.id))
    for statement in (f"UPDATE {table} SET at = at WHERE id = :id", f"DELETE FROM {table} WHERE id = :id"):
        with pytest.raises(sqlalchemy.exc.DBAPIError) as refused:
            with session_scope(verified.app) as session:
                session.execute(text(statement), {"id": row_id})
        assert "append-only" in str(refused.value), statement
    # The ORM's unit of work is refused alike.
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        with session_scope(verified.app) as session:
            row = session.get(model, row_id)
            row.at = row.at.replace(year=row.at.year - 1)
    with session_scope(verified.app) as session:
        assert session.scalar(select(model.id).where(model.id == row_id)) == row_id
