"""Shared fixtures: an app on a fresh, migrated database, on SQLite always and on PostgreSQL when
LABS_TEST_DATABASE_URL is set (tests that take `app` run once per backend)."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from labs.app import create_app
from labs.cli import upgrade
from labs.db import normalise_url, session_scope

PG_ADMIN_URL = os.environ.get("LABS_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_ADMIN_URL else [])
PASSWORD = "correct horse battery"
CODES = ["91110000600037341L", "91310000MA1FL8LQ21", "91110000100001392H", "91440300708461136T"]


def _backends_line() -> str:
    if not PG_ADMIN_URL:
        return "PostgreSQL: not tested (set LABS_TEST_DATABASE_URL); SQLite: tested"
    return f"PostgreSQL: tested on {make_url(PG_ADMIN_URL).render_as_string(hide_password=True)}; SQLite: tested"


def pytest_report_header(config):
    return _backends_line()


def pytest_terminal_summary(terminalreporter):
    # Without the variable half of the database tests do not run: say so where a run's result is read.
    terminalreporter.write_line(_backends_line(), yellow=not PG_ADMIN_URL, bold=not PG_ADMIN_URL)


def _pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated SQLite file, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "labs.sqlite3"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}"})
    upgrade(app)
    app.extensions["labs.engine"].dispose()
    return path


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this run, migrated once; tables are emptied per test."""
    name = f"labs_test_{os.getpid()}"
    admin = create_engine(normalise_url(_pg_url(make_url(PG_ADMIN_URL).database or "postgres")),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    app = create_app({"DATABASE_URL": url})
    upgrade(app)
    app.extensions["labs.engine"].dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "labs.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'")).scalar()
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": True, "DOCUMENT_DIR": str(tmp_path / "documents")})
    yield app
    app.extensions["labs.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class World:
    """Builds users, enterprises and labs directly through the services, and signs in over HTTP."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._seq = itertools.count(1)

    def user(self, role: str, enterprise: int | None = None, email: str | None = None):
        from labs.accounts.service import SYSTEM, create_user
        n = next(self._seq)
        email = email or f"{role}{n}@example.com"
        code = CODES[enterprise] if enterprise is not None else None
        with self.app.app_context(), session_scope(self.app) as s:
            user = create_user(s, SYSTEM, email, PASSWORD, role, f"{role} {n}", code,
                               f"Enterprise {enterprise}" if code else None)
            return user.id, email

    def token(self, email: str) -> dict:
        r = self.client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.json
        return {"Authorization": f"Bearer {r.json['access_token']}"}

    def lab(self, manager_ids=(), **overrides) -> int:
        from labs.catalog.service import create_lab
        from labs.accounts.models import User
        data = {
            "code": f"L{next(self._seq)}", "name": "Bearing lab", "discipline": "bearings",
            "timezone": "Asia/Shanghai", "bays": 1, "fee_per_hour": Decimal("100"),
            "fee_per_batch": Decimal("50"), "approval_mode": "manager",
            "hours": [{"weekday": d, "opens": dt.time(8), "closes": dt.time(18)} for d in range(7)],
            "manager_ids": list(manager_ids), "max_advance_days": 365,
        }
        data.update(overrides)
        with self.app.app_context(), session_scope(self.app) as s:
            admin = s.query(User).filter_by(role="admin").first()
            if admin is None:
                from labs.accounts.service import SYSTEM, create_user
                admin = create_user(s, SYSTEM, "root-admin@example.com", PASSWORD, "admin")
            return create_lab(s, admin, data).id


@pytest.fixture
def world(app):
    return World(app)


def next_working_day(after: dt.date | None = None) -> dt.date:
    """A Wednesday at least a week ahead that is a working day (tests book at 09:00-11:00 on it)."""
    from tests.holidays import is_working_day
    day = (after or dt.date.today()) + dt.timedelta(days=7)
    while day.weekday() != 2 or not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def slot(day: dt.date, start_hour: float, end_hour: float, tz: str = "+08:00") -> dict:
    def at(h):
        return f"{day.isoformat()}T{int(h):02d}:{int(round((h % 1) * 60)):02d}:00{tz}"
    return {"starts_at": at(start_hour), "ends_at": at(end_hour)}


def booking_body(lab_id: int, day: dt.date, start_hour: float = 9, end_hour: float = 11, **extra) -> dict:
    body = {"lab_id": lab_id, **slot(day, start_hour, end_hour), "test_type": "life test",
            "sample_description": "6205 deep-groove ball bearings", "batches": 2,
            "contact_name": "Zhang San", "contact_phone": "13800000000"}
    body.update(extra)
    return body


LABS_BIN = Path(sys.executable).with_name("labs")


@contextmanager
def running_server(database_url: str, tmp_path: Path, workers: int):
    """The real server, `labs serve` with gunicorn worker processes, on the test database.

    It serves on a listening socket bound here and handed over (`--fd`), so no other process can
    take the port in between, and a request made before the workers are up waits on the socket.
    """
    log_path = tmp_path / "server.log"
    env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "instance"),
           "LABS_SECRET_KEY": "live-server-test-key-of-at-least-32-bytes"}
    # Closed here once handed over: should the server die, a waiting request is refused, not left hanging.
    with socket.create_server(("127.0.0.1", 0)) as listener, open(log_path, "w") as log:
        port = listener.getsockname()[1]
        proc = subprocess.Popen([str(LABS_BIN), "serve", "--fd", str(listener.fileno()), "--workers", str(workers)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()])
    base = f"http://127.0.0.1:{port}"
    try:
        up = requests.get(f"{base}/api/v1/labs", timeout=120).status_code == 200
    except requests.RequestException:
        up = False
    if not up:
        proc.kill()
        proc.wait()
        raise AssertionError(f"labs serve did not come up:\n{log_path.read_text()}")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def live_server(database_url, tmp_path):
    with running_server(database_url, tmp_path, workers=2) as base:
        yield base


def post_at_once(requests_: list[tuple[str, dict]], tokens: list[str]) -> tuple[list[int], list[dict]]:
    """The (url, JSON body) POSTs released together by a barrier, each on a connection of its own and
    with the tokens in turn: their statuses and answers, in order, for races the database must settle."""
    count = len(requests_)
    barrier = threading.Barrier(count)
    statuses: list[int] = [0] * count
    payloads: list[dict] = [{}] * count

    def fire(i: int) -> None:
        url, body = requests_[i]
        with requests.Session() as http:
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            barrier.wait()
            r = http.post(url, json=body, headers=headers, timeout=120)
            statuses[i], payloads[i] = r.status_code, r.json()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, payloads
