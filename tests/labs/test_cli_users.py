"""`labs user create` as an operator runs it: a real subprocess on a fresh SQLite database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from labs.app import create_app

LABS_BIN = Path(sys.executable).with_name("labs")
VALID_CODE = "91110000600037341L"
BAD_CHECK_CHARACTER = "91110000600037341M"
PASSWORD = "correct horse battery"


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {**os.environ, "LABS_DATABASE_URL": url, "LABS_INSTANCE_PATH": str(tmp_path / "instance")}
    done = subprocess.run([str(LABS_BIN), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return url, env


def _labs(env, *args, password=PASSWORD):
    return subprocess.run([str(LABS_BIN), *args], env=env, input=password + "\n", capture_output=True, text=True,
                          timeout=120)


def _rows(url: str, table: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(f"SELECT * FROM {table}")))
    finally:
        engine.dispose()


def test_created_enterprise_user_can_get_a_token(database):
    url, env = database
    done = _labs(env, "user", "create", "Buyer@Example.com", "--role", "enterprise", "--password-stdin",
                 "--enterprise-code", VALID_CODE, "--enterprise-name", "Example Bearings Co.")
    assert done.returncode == 0, done.stderr
    assert "created enterprise buyer@example.com" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr

    app = create_app({"DATABASE_URL": url, "TESTING": True})
    try:
        client = app.test_client()
        r = client.post("/api/v1/auth/token", json={"email": "buyer@example.com", "password": PASSWORD})
        assert r.status_code == 200, r.json
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json['access_token']}"}).json
        assert me["role"] == "enterprise" and me["enterprise"]["credit_code"] == VALID_CODE
        assert me["enterprise"]["name"] == "Example Bearings Co."
        r = client.post("/api/v1/auth/token", json={"email": "buyer@example.com", "password": "wrong password"})
        assert r.status_code == 401
    finally:
        app.extensions["labs.engine"].dispose()


def test_credit_code_with_a_bad_check_character_is_refused_clearly_and_creates_nothing(database):
    url, env = database
    done = _labs(env, "user", "create", "buyer@example.com", "--role", "enterprise", "--password-stdin",
                 "--enterprise-code", BAD_CHECK_CHARACTER, "--enterprise-name", "Example Bearings Co.")
    assert done.returncode != 0
    assert "enterprise_code" in done.stderr and BAD_CHECK_CHARACTER in done.stderr
    assert "not a valid unified social credit code" in done.stderr and "check digit" in done.stderr
    assert "Traceback" not in done.stderr
    assert _rows(url, "users") == [] and _rows(url, "enterprises") == []


def test_short_password_is_refused_and_creates_nothing(database):
    url, env = database
    done = _labs(env, "user", "create", "admin@example.com", "--role", "admin", "--password-stdin", password="short")
    assert done.returncode != 0
    assert "password" in done.stderr and "at least 8 characters" in done.stderr
    assert _rows(url, "users") == []
