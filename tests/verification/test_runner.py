"""`labs runner` as a real process: killed with SIGKILL in the middle of a run, restarted, it resumes
at the first unfinished point and loses nothing it acknowledged; two runners share one rig without
ever driving it at once."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest
from sqlalchemy import select

from labs import chain
from labs.db import session_scope
from labs.verification.models import Reading, Rig, Verification
from simulators.harness import RigOptions, simulated_rig
from tests.conftest import LABS_BIN
from tests.verification.conftest import FAST

TRUE_ERROR_PCT = 0.17
SECRET = "runner-test-secret-key-of-at-least-32-bytes"


class RunnerProcess:
    """`labs runner` in a process of its own; its stdout (JSON lines) read by a thread into a queue,
    each event stamped with the time it arrived."""

    def __init__(self, database_url: str, tmp_path, name: str):
        env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_SECRET_KEY": SECRET,
               "LABS_INSTANCE_PATH": str(tmp_path / "instance")}
        self.name = name
        self.stderr_path = tmp_path / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.process = subprocess.Popen(
            [str(LABS_BIN), "runner", "--name", name, "--lease-seconds", "2", "--poll-seconds", "0.2"],
            env=env, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            event = json.loads(line)
            event["received"] = time.monotonic()
            self.events.put(event)
        self.events.put(None)  # the process ended

    def next_event(self, deadline: float) -> dict:
        """The next event printed; fails when the process ends or the deadline passes first."""
        try:
            event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"runner {self.name}: no event in time\n{self.stderr_path.read_text()}") from None
        if event is None:
            raise AssertionError(f"runner {self.name} ended ({self.process.poll()})\n{self.stderr_path.read_text()}")
        self.seen.append(event)
        return event

    def drain(self) -> list[dict]:
        """Every event printed so far and not yet taken."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return self.seen
            if event is not None:
                self.seen.append(event)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(10)
        self._stderr.close()


def _wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


def _state(app, verification_id: int) -> str:
    with session_scope(app) as session:
        return session.get(Verification, verification_id).state


def test_a_runner_killed_mid_run_resumes_after_restart_and_keeps_every_acknowledged_reading(bench, database_url,
                                                                                         tmp_path):
    # At 100 simulated seconds a second a Q1 delivery (20 L at 54 L/min) takes a fifth of a second and
    # a Q2 one (20 L at 6 L/min) two seconds: the whole run some seven seconds.
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=TRUE_ERROR_PCT, speed=100, seed=3)) as sim:
        rig_id = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        verification_id = bench.request(bench.instrument("fuel_dispenser"), rig_id, nozzle=1)
        first = RunnerProcess(database_url, tmp_path, "first")
        try:
            deadline = time.monotonic() + 60
            acknowledged = []
            while len(acknowledged) < 2:
                event = first.next_event(deadline)
                if event["event"] == "reading":
                    acknowledged.append(event)
            first.kill()
        finally:
            first.stop()
        assert all(e["verification"] == verification_id for e in acknowledged)
        assert _state(bench.app, verification_id) == "running"

        second = RunnerProcess(database_url, tmp_path, "second")
        try:
            _wait_until(lambda: _state(bench.app, verification_id) in ("done", "failed"), 90,
                        "the restarted runner to finish the run")
        finally:
            second.stop()
        deliveries = sim.models[0].run_count

    summary = bench.summary(verification_id)
    assert summary["state"] == "done", summary["problem"]
    # The second runner took the rig once the killed one's lease lapsed, and started where it stopped.
    started = [e for e in second.drain() if e["event"] == "start"]
    assert [(e["verification"], e["runner"]) for e in started] == [(verification_id, "second")]
    assert not any(e["event"] == "reading" and e["reading"] in {a["reading"] for a in acknowledged}
                   for e in second.seen)

    with session_scope(bench.app) as session:
        stored = {r.id: r for r in session.scalars(select(Reading).where(Reading.verification_id == verification_id))}
        for event in acknowledged:
            row = stored[event["reading"]]
            assert (row.values, row.problem) == (event["values"], event["problem"])
        counts, breaks = chain.verify(session)
        assert not breaks and counts["readings"] == len(stored)

    # Resumed, not started over: each point has exactly the readings it needs, and the rig delivered at
    # most once more than that (the delivery the kill interrupted, run again).
    assert [len(p["readings"]) for p in summary["points"]] == [p["repetitions"] for p in summary["points"]]
    assert len(stored) <= deliveries <= len(stored) + 1
    assert summary["verdict"] == "pass"
    for point in summary["points"]:
        assert point["rounded_pct"] == f"{TRUE_ERROR_PCT:.2f}"
        assert point["errors_pct"] == pytest.approx([TRUE_ERROR_PCT] * 3, abs=0.005)


def test_two_runners_never_drive_one_rig_at_once(bench, database_url, tmp_path):
    runs = 3
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=TRUE_ERROR_PCT, speed=FAST, seed=5)) as sim:
        rig_id = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        instrument_id = bench.instrument("fuel_dispenser")
        verification_ids = [bench.request(instrument_id, rig_id, nozzle=1 + i % 2) for i in range(runs)]
        runners = [RunnerProcess(database_url, tmp_path, name) for name in ("north", "south")]
        leases = set()
        try:
            def all_done():
                with session_scope(bench.app) as session:
                    leases.add(session.get(Rig, rig_id).leased_by)
                    states = set(session.scalars(select(Verification.state).where(Verification.rig_id == rig_id)))
                return states <= {"done", "failed"} and states
            _wait_until(all_done, 120, "both runners to finish the queued runs", poll_s=0.05)
        finally:
            for runner in runners:
                runner.stop()

    events = {runner.name: runner.drain() for runner in runners}
    for verification_id in verification_ids:
        assert bench.summary(verification_id)["state"] == "done"
        # Each run was started, read and concluded by one runner alone.
        drivers = {name for name, seen in events.items()
                   if any(e.get("verification") == verification_id and e["event"] in ("start", "reading", "done")
                          for e in seen)}
        assert len(drivers) == 1, (verification_id, drivers)
    # And never two at a time: one runner's span from a run's start to its end overlaps no other's.
    spans = []
    for name, seen in events.items():
        begun = {}
        for e in seen:
            if e["event"] == "start":
                begun[e["verification"]] = e["received"]
            elif e["event"] in ("done", "failed"):
                spans.append((begun.pop(e["verification"]), e["received"], name))
    spans.sort()
    assert len(spans) == runs
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        assert name == other or end <= start, spans
    assert leases <= {None, "north", "south"}
    with session_scope(bench.app) as session:
        assert session.get(Rig, rig_id).leased_by is None  # given up when the queue was empty
