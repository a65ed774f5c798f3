"""`labs scheduler` processes: on PostgreSQL only one leads (advisory lock), the other waits."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import LABS_BIN


def start_scheduler(database_url: str, tmp_path: Path, name: str, *args: str, **env: str):
    """`labs scheduler ARGS` on the database, its output in tmp_path/NAME.log; (process, log)."""
    log = tmp_path / f"{name}.log"
    env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / name),
           "LABS_SECRET_KEY": "scheduler-test-key-of-at-least-32-bytes", **env}
    return subprocess.Popen([str(LABS_BIN), "scheduler", *args], env=env, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT), log


def wait_for(log: Path, text: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return True
        time.sleep(0.2)
    return False


def test_second_scheduler_waits_while_the_first_leads(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("leader election uses a PostgreSQL advisory lock; the embedded default runs one scheduler")
    first, first_log = start_scheduler(database_url, tmp_path, "first")
    second = None
    try:
        assert wait_for(first_log, "scheduler running"), first_log.read_text()
        second, second_log = start_scheduler(database_url, tmp_path, "second")
        assert wait_for(second_log, "another scheduler leads"), second_log.read_text()
        assert "scheduler running" not in second_log.read_text()
        first.terminate()
        first.wait(timeout=20)
        # The lock is released with the leader's connection; the waiting one takes over.
        assert wait_for(second_log, "scheduler running", seconds=30), second_log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
