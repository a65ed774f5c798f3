"""The laptop on site, end to end with real processes: `labs serve` on the server's database, a second
SQLite as the laptop's, `labs field sync` and `labs verify run` as subprocesses against simulated rigs.
The server goes away while the laptop verifies, comes back, and the upload is cut by SIGKILL after
the server stored a batch whose acknowledgement never reached the laptop."""
from __future__ import annotations

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import threading
from contextlib import contextmanager

import requests
from sqlalchemy import func, select

from labs.app import create_app
from labs.db import session_scope
from labs.field.models import FieldRecord
from labs.dispatch.models import WorkOrder
from labs.verification.models import Certificate, Reading, Result, Verification, VerifiedInstrument
from simulators.harness import RigOptions, simulated_rig
from tests.conftest import LABS_BIN, PASSWORD, running_server
from tests.field.conftest import plan_work_order
from tests.verification.conftest import FAST, Bench


def _labs(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(LABS_BIN), *args], env=env, input=stdin, capture_output=True, text=True, timeout=300)


def _laptop_env(tmp_path) -> dict:
    return {**os.environ, "LABS_DATABASE_URL": f"sqlite:///{tmp_path / 'laptop.sqlite3'}",
            "LABS_INSTANCE_PATH": str(tmp_path / "laptop")}


def _token(base: str, email: str) -> str:
    r = requests.post(f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@contextmanager
def holding_proxy(upstream: str, hold_upload: int):
    """An HTTP proxy to `upstream` that forwards everything, but of the `hold_upload`-th upload it
    forwards the request, lets the server answer, and never hands the answer on: `held` is set then."""
    held, seen = threading.Event(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = requests.request(self.command, upstream + self.path, data=body, headers=headers, timeout=120)
            if self.path.endswith("/uploads"):
                seen.append(self.path)
                if len(seen) == hold_upload:
                    held.set()
                    return  # the server stored the batch; the laptop never hears so
            self.send_response(answer.status_code)
            for name in ("Content-Type",):
                self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = _forward

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", held
    finally:
        server.shutdown()
        server.server_close()


def _counts(app) -> dict:
    with session_scope(app) as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Verification, Reading, Result, Certificate, FieldRecord)}


def test_a_laptop_verifies_offline_and_its_upload_lands_exactly_once(app, world, database_url, tmp_path):
    bench = Bench(app)
    technician_id, email = world.user("technician")
    laptop = _laptop_env(tmp_path)
    for sub in ("first", "second"):
        (tmp_path / sub).mkdir()
    assert _labs(laptop, "db", "upgrade").returncode == 0
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=-0.1, speed=FAST, seed=8)) as good, \
            simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.5, speed=FAST, seed=9)) as bad:
        bench.rig("fdr", good.link, good.models[0].serial_number)
        bench.rig("fdr", bad.link, bad.models[0].serial_number)
        bench.instrument("fuel_dispenser", serial_number="DSP-SITE-1")
        bench.instrument("fuel_dispenser", serial_number="DSP-SITE-2")
        bench.instrument("fuel_dispenser", serial_number="DSP-ELSEWHERE")  # not on the work order: stays behind
        plan_work_order(app, technician_id, ["DSP-SITE-1", "DSP-SITE-2"])

        with running_server(database_url, tmp_path / "first", workers=1) as base:
            token = _token(base, email)
            down = _labs(laptop, "field", "sync", "--server", base, "--token-stdin", stdin=token)
            assert down.returncode == 0, down.stderr
            summary = json.loads(down.stdout)
            assert (summary["work_orders"], summary["instruments"], summary["rigs"]) == (1, 2, 2)
            assert summary["certificate_numbers_left"] == 50
            assert summary["uploaded"] == {"runs": 0, "readings": 0, "verification_results": 0, "certificates": 0}
        # Checked now: a later sync replaces the copy, and after midnight today's order is no longer ahead.
        mine = create_app({"DATABASE_URL": laptop["LABS_DATABASE_URL"]})
        with session_scope(mine) as local:
            [order] = local.scalars(select(WorkOrder)).all()  # the work order came down with its instruments
            assert sorted(i.serial_number for i in order.instruments) == ["DSP-SITE-1", "DSP-SITE-2"]
            assert [a.technician.email for a in order.assignments] == [email]
            assert local.scalar(select(VerifiedInstrument).where(
                VerifiedInstrument.serial_number == "DSP-ELSEWHERE")) is None
        mine.extensions["labs.engine"].dispose()

        # The server is gone: the laptop verifies on its own database.
        numbers = []
        for rig, serial in (("FDR-1", "DSP-SITE-1"), ("FDR-2", "DSP-SITE-2")):
            run = _labs(laptop, "verify", "run", "--procedure", "JJG 443", "--rig", rig, "--instrument", serial,
                        "--nozzle", "1", "--technician", email, "--json")
            assert run.returncode == 0, run.stderr
            numbers.append(json.loads(run.stdout)["certificate"])
    year = numbers[0][2:6]
    assert numbers == [f"JD{year}-900000", f"TZ{year}-900000"]  # from the block reserved for this laptop
    assert _labs(laptop, "audit", "verify").returncode == 0

    with running_server(database_url, tmp_path / "second", workers=1) as base:
        before = _counts(app)
        with holding_proxy(base, hold_upload=2) as (proxy, held):
            cut = subprocess.Popen([str(LABS_BIN), "field", "sync", "--server", proxy, "--token-stdin",
                                    "--batch-size", "5"], env=laptop, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            cut.stdin.write(token + "\n")
            cut.stdin.close()
            assert held.wait(timeout=240), cut.stderr.read()
            cut.send_signal(signal.SIGKILL)
            cut.wait(timeout=30)
            assert "batch 1 acknowledged" in cut.stderr.read()
        middle = _counts(app)
        assert before["readings"] < middle["readings"]  # the held batch is on the server
        assert middle["readings"] < 12 or middle["verification_results"] < 2  # ... and not all of it

        for _ in range(2):
            again = _labs(laptop, "field", "sync", "--server", base, "--token-stdin", "--batch-size", "5",
                          stdin=token)
            assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["uploaded"] == {"runs": 0, "readings": 0, "verification_results": 0,
                                                        "certificates": 0}
        for number in numbers:
            page = requests.get(f"{base}/certificates/{number}", timeout=60)
            assert page.status_code == 200 and number in page.text and "DSP-SITE" in page.text

    mine = create_app({"DATABASE_URL": laptop["LABS_DATABASE_URL"]})
    with session_scope(mine) as local, session_scope(app) as server:
        local_readings = list(local.scalars(select(Reading).order_by(Reading.id)))
        server_readings = list(server.scalars(select(Reading).order_by(Reading.id)))
        assert [(r.point_index, r.values, r.at) for r in server_readings] == \
               [(r.point_index, r.values, r.at) for r in local_readings]  # each exactly once, in order
        assert server.scalar(select(func.count()).select_from(Result)) == 2
        assert sorted(server.scalars(select(Certificate.number))) == sorted(numbers)
        receipts = {(f.table_name, f.local_id): f.local_hash for f in server.scalars(select(FieldRecord))}
        assert receipts == {**{("readings", r.id): r.hash for r in local_readings},
                            **{("verification_results", r.id): r.hash for r in local.scalars(select(Result))},
                            **{("certificates", c.id): c.hash for c in local.scalars(select(Certificate))}}
        assert all(v.state == "done" for v in server.scalars(select(Verification)))
    mine.extensions["labs.engine"].dispose()
    server_env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "second")}
    assert _labs(server_env, "audit", "verify").returncode == 0
    assert _labs(laptop, "audit", "verify").returncode == 0


def test_a_laptop_restored_from_an_older_copy_is_refused_and_told_why(app, world, database_url, tmp_path):
    """The laptop's database is put back from a copy taken before its last upload, and a new run
    made on it: its rows take the ids of rows the server holds. Nothing is merged: every clash is
    reported and the server keeps what it had."""
    bench = Bench(app)
    technician_id, email = world.user("technician")
    laptop = _laptop_env(tmp_path)
    assert _labs(laptop, "db", "upgrade").returncode == 0
    (tmp_path / "server").mkdir()
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=-0.1, speed=FAST, seed=3)) as sim:
        bench.rig("fdr", sim.link, sim.models[0].serial_number)
        bench.instrument("fuel_dispenser", serial_number="DSP-COPY-1")
        plan_work_order(app, technician_id, ["DSP-COPY-1"])
        with running_server(database_url, tmp_path / "server", workers=1) as base:
            token = _token(base, email)
            sync = ["field", "sync", "--server", base, "--token-stdin"]
            assert _labs(laptop, *sync, stdin=token).returncode == 0
            copy = tmp_path / "copy.sqlite3"
            with sqlite3.connect(tmp_path / "laptop.sqlite3") as source, sqlite3.connect(copy) as target:
                source.backup(target)
            verify = ["verify", "run", "--procedure", "JJG 443", "--rig", "FDR-1", "--instrument", "DSP-COPY-1",
                      "--nozzle", "1"]
            assert _labs(laptop, *verify).returncode == 0
            assert _labs(laptop, *sync, stdin=token).returncode == 0
            held = _counts(app)

            restored = {**laptop, "LABS_DATABASE_URL": f"sqlite:///{copy}"}
            assert _labs(restored, *verify).returncode == 0
            refused = _labs(restored, *sync, stdin=token)
    assert refused.returncode == 1
    assert "refused: readings row 1: the server holds a different readings row 1 from this laptop" in refused.stderr
    assert "refused: verification_results row 1" in refused.stderr
    assert "refused: certificates row 1" in refused.stderr
    assert _counts(app) == held
