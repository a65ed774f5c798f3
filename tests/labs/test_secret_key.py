"""No default secret key: long-running commands refuse to start without one of at least 32 bytes
(with the old public fallback anyone could sign an admin's session cookie), and the demo makes its
own (mode 0600) and reuses it."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from labs.config import demo_secret_key

LABS_BIN = Path(sys.executable).with_name("labs")


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LABS_SECRET_KEY"}
    env.update(LABS_DATABASE_URL=f"sqlite:///{tmp_path / 'labs.sqlite3'}", LABS_INSTANCE_PATH=str(tmp_path / "i"),
               LC_ALL="C")  # English, whatever this machine's locale
    env.update(extra)
    return env


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["scheduler"]])
def test_long_running_commands_refuse_to_start_without_a_secret_key(tmp_path, command):
    done = subprocess.run([str(LABS_BIN), *command], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "LABS_SECRET_KEY is not set" in done.stderr
    assert "secrets.token_urlsafe" in done.stderr  # how to make one


def test_a_short_secret_key_is_refused_naming_the_minimum(tmp_path):
    done = subprocess.run([str(LABS_BIN), "serve", "--port", "1"], env=_env(tmp_path, LABS_SECRET_KEY="x" * 31),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "31 bytes long" in done.stderr and "at least 32" in done.stderr


def test_the_refusal_speaks_the_terminals_language(tmp_path):
    done = subprocess.run([str(LABS_BIN), "serve", "--port", "1"], env=_env(tmp_path, LC_ALL="zh_CN.UTF-8"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "未设置 LABS_SECRET_KEY" in done.stderr and "secrets.token_urlsafe" in done.stderr


def test_the_demo_makes_a_private_key_once_and_reuses_it(tmp_path):
    key = demo_secret_key(str(tmp_path))
    path = tmp_path / "secret_key"
    assert len(key.encode()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_secret_key(str(tmp_path)) == key
    other = tmp_path / "another-instance"
    other.mkdir()
    assert demo_secret_key(str(other)) != key  # random, not a constant

