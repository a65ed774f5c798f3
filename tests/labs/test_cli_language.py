"""The `labs` command speaks its terminal's language (LC_ALL, then LC_MESSAGES, then LANG) or the one
--lang names: real subprocesses of the installed console script on a fresh SQLite database, and a
simulated rig for `labs rig`. (`labs field sync`'s English progress and JSON summary: test_field_sync.)"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from labs.i18n import terminal_language
from simulators.harness import simulated_rig
from tests.conftest import LABS_BIN, PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("environ, language", [
    ({}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "en"),
    ({"LANG": "zh"}, "en"),  # no territory: none of the rules
    ({"LANG": "zh_CN.UTF-8"}, "zh_Hans_CN"),
    ({"LANG": "zh_CN"}, "zh_Hans_CN"),
    ({"LANG": "zh_SG.GBK"}, "zh_Hans_CN"),
    ({"LANG": "zh_TW.Big5"}, "zh_Hant_TW"),
    ({"LANG": "zh_HK.UTF-8"}, "zh_Hant_TW"),
    ({"LANG": "zh_MO"}, "zh_Hant_TW"),
    ({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "zh_CN.UTF-8"}, "zh_Hant_TW"),
    ({"LC_ALL": "C", "LC_MESSAGES": "zh_TW.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}, "zh_Hans_CN"),  # empty is unset
    ({"LC_CTYPE": "zh_CN.UTF-8"}, "en"),  # the character set's, not the messages'
])
def test_the_terminals_language_is_read_as_posix_does(environ, language):
    assert terminal_language(environ) == language


def labs(tmp_path, *args: str, stdin: str = "", **locale: str) -> subprocess.CompletedProcess:
    """`labs ARGS` on the test's own database, with only the given locale variables set."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("LANG", "LANGUAGE") and not name.startswith("LC_")}
    env.update(LABS_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
               LABS_INSTANCE_PATH=str(tmp_path / "instance"), **locale)
    return subprocess.run([str(LABS_BIN), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_user_commands_and_their_refusals_speak_the_terminals_language(tmp_path):
    done = labs(tmp_path, "db", "upgrade", LANG="zh_CN.UTF-8")
    assert (done.returncode, done.stdout) == (0, "数据库已是最新结构\n"), done.stderr
    done = labs(tmp_path, "user", "create", "boss@example.com", "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n", LANG="zh_TW.UTF-8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("已建立系統管理員 boss@example.com（ID ")
    done = labs(tmp_path, "user", "reset-password", "boss@example.com", LANG="zh_CN.UTF-8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("已重置 boss@example.com 的密码；其下次登录时须设置新密码\n一次性密码：")
    done = labs(tmp_path, "user", "deactivate", "nobody@example.com", LANG="zh_CN.UTF-8")
    assert done.returncode == 1 and "没有邮箱为 nobody@example.com 的用户" in done.stderr
    done = labs(tmp_path, "user", "deactivate", "nobody@example.com", LANG="C")
    assert done.returncode == 1 and "no user with e-mail nobody@example.com" in done.stderr
    # --lang comes before the terminal's.
    done = labs(tmp_path, "--lang", "en", "user", "deactivate", "boss@example.com", LANG="zh_CN.UTF-8")
    assert done.stdout == "deactivated boss@example.com; their sessions and tokens have ended\n", done.stderr


def test_field_sync_tells_the_technician_in_the_terminals_language_and_keeps_its_summary_json(tmp_path):
    done = labs(tmp_path, "field", "sync", "--server", "http://127.0.0.1:9", LANG="zh_CN.UTF-8")
    assert done.returncode == 1
    assert "请通过标准输入（--token-stdin）或 LABS_FIELD_TOKEN 提供检定员的令牌" in done.stderr
    done = labs(tmp_path, "field", "sync", "--server", "ftp://example.com", "--token-stdin", stdin="t\n",
                LANG="zh_HK.UTF-8")
    assert done.returncode == 2 and "應為 http:// 或 https:// 位址" in done.stderr
    assert labs(tmp_path, "db", "upgrade").returncode == 0
    # Nothing listens on port 9: the laptop keeps its work and says so.
    done = labs(tmp_path, "field", "sync", "--server", "http://127.0.0.1:9", "--token-stdin", stdin="t\n",
                LANG="zh_CN.UTF-8")
    assert done.returncode == 1 and done.stdout == ""
    assert "无法连接服务器（ConnectionError）：本笔记本上的数据将保留到下次同步" in done.stderr
    done = labs(tmp_path, "field", "sync", "--server", "http://127.0.0.1:9", "--token-stdin", stdin="t\n",
                LANG="C")
    assert "the server cannot be reached (ConnectionError)" in done.stderr


def test_rig_identify_speaks_the_terminals_language(tmp_path):
    with simulated_rig("emb", "tcp") as sim:
        done = labs(tmp_path, "rig", "identify", sim.link, "--map", "emb", LANG="zh_CN.UTF-8")
    assert (done.returncode, done.stdout) == (0, "出厂编号：EMB-SIM-0001\n固件：1.03\n"), done.stderr


def test_the_rig_commands_messages_are_translated():
    # devices/ is outside the packages the catalogs are extracted from (labs, booking): its messages
    # are checked here.
    with open(ROOT / "devices" / "cli.py", "rb") as source:
        msgids = {message for _line, message, _comments, _context in
                  extract_from_file("python", source.name, keywords={**DEFAULT_KEYWORDS, "N_": None})}
    assert "serial number: %(serial_number)s" in msgids
    for locale in ("zh_Hans_CN", "zh_Hant_TW"):
        with open(ROOT / "labs" / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
            catalog = read_po(po)
        missing = [msgid for msgid in msgids if catalog.get(msgid) is None or not catalog.get(msgid).string]
        assert not missing, (locale, missing)

