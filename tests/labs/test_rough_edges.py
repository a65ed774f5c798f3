"""Rough edges a first user meets: a body that is not JSON, a week that does not start on a Monday,
spans written with two offsets, a docs page that does not say how to begin, a village collective's
credit code refused, `labs -h`, a port in use, a README pointing outside the repository."""
from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from stdnum.cn.uscc import calc_check_digit

from tests.conftest import LABS_BIN, booking_body, next_working_day

REPO = Path(__file__).resolve().parents[2]


def test_a_body_that_is_not_json_is_refused_with_415(world):
    _, email = world.user("admin")
    form = world.client.post("/api/v1/auth/token", data={"email": email, "password": "x"})
    assert form.status_code == 415 and form.json["code"] == "unsupported_media_type"
    text = world.client.post("/api/v1/labs", data='{"code": "L9"}', headers={**world.token(email),
                                                                           "Content-Type": "text/plain"})
    assert text.status_code == 415
    assert world.client.post("/api/v1/labs", json={"code": "L9", "name": "EMC", "discipline": "EMC"},
                             headers=world.token(email)).status_code == 201


def test_a_week_is_named_by_its_monday(world):
    monday = next_working_day() - dt.timedelta(days=2)  # next_working_day is a Wednesday
    assert world.client.get(f"/api/v1/week?monday={monday}").status_code == 200
    tuesday = world.client.get(f"/api/v1/week?monday={monday + dt.timedelta(days=1)}")
    assert tuesday.status_code == 422 and "monday" in tuesday.json["errors"]


def test_every_span_starts_and_ends_with_the_same_offset(world):
    manager, manager_email = world.user("lab_manager")
    lab = world.lab(manager_ids=[manager], bays=2)
    day = next_working_day()
    _, email = world.user("enterprise", enterprise=0)
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, day, 10, 12),
                             headers=world.token(email)).status_code == 201
    assert world.client.post(f"/api/v1/labs/{lab}/closures", headers=world.token(manager_email), json={
        "starts_at": f"{day}T14:00:00+08:00", "ends_at": f"{day}T15:00:00+08:00", "reason": "calibration"}
    ).status_code == 201
    found = world.client.get(f"/api/v1/labs/{lab}/availability?from={day}&to={day}").json["days"][0]
    spans = found["open"] + found["closures"] + [span for bay in found["bays"] for span in bay["busy"] + bay["free"]]
    assert len(spans) >= 6
    offset = re.compile(r"(Z|[+-]\d\d:\d\d)$")
    for span in spans:
        assert offset.search(span["starts_at"]).group(1) == offset.search(span["ends_at"]).group(1), span


def test_the_docs_open_with_a_token_the_error_format_and_time_zones(client):
    intro = client.get("/api/openapi.json").json["info"]["description"]
    for needed in ("POST /api/v1/auth/token", "Authorization: Bearer", "application/problem+json", "`code`",
                   "Accept-Language", "UTC offset", "Asia/Shanghai"):
        assert needed in intro, needed


def test_a_village_collectives_credit_code_is_accepted_and_a_wrong_check_character_is_not(world):
    _, admin = world.user("admin")
    village = "N2320100MA1XXXXX3"  # registered by an agriculture department: letters first
    village += calc_check_digit(village)
    made = world.client.post("/api/v1/users", headers=world.token(admin), json={
        "email": "cun@example.com", "password": "long enough password", "role": "enterprise",
        "enterprise_code": village, "enterprise_name": "某村股份经济合作社"})
    assert made.status_code == 201, made.json
    wrong = village[:-1] + ("0" if village[-1] != "0" else "1")
    refused = world.client.post("/api/v1/users", headers=world.token(admin), json={
        "email": "cun2@example.com", "password": "long enough password", "role": "enterprise",
        "enterprise_code": wrong, "enterprise_name": "某村"})
    assert refused.status_code == 422


def test_labs_h_prints_the_help():
    done = subprocess.run([str(LABS_BIN), "-h"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Usage: labs" in done.stdout and "calendar" in done.stdout


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_fails_at_once_and_says_so(command, tmp_path):
    env = {**os.environ, "LABS_INSTANCE_PATH": str(tmp_path / "instance"),
           "LABS_DATABASE_URL": f"sqlite:///{tmp_path / 'labs.sqlite3'}",
           "LABS_SECRET_KEY": "a secret key of at least thirty-two bytes", "LC_ALL": "C"}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run([str(LABS_BIN), command, "--port", str(port)], env=env, capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "labs.sqlite3").exists()  # nothing was started: not even the database


def test_the_readme_points_nowhere_outside_the_repository():
    text = (REPO / "README.md").read_text()
    assert not re.search(r"(?<!\.)\.\./", text)  # a path above the repository (an ellipsis "..." is not one)
    for target in re.findall(r"\]\(([^)]+)\)", text):
        assert not re.match(r"[a-z]+:", target), target  # a link to another site
        assert (REPO / target.split("#")[0]).exists(), target
