"""A registry import's bad rows in the reader's language: `labs spotcheck import` (a real subprocess)
speaks its terminal's locale, or --lang; the upload page speaks the page's language. Both give the
same line numbers and reason codes, and the stored report holds codes and params, not sentences."""
from __future__ import annotations

import io
import os
import re
import subprocess

import pytest
from sqlalchemy import select
from stdnum.cn.uscc import calc_check_digit

from labs.db import session_scope
from labs.i18n import render_in
from labs.spotchecks.models import RegistryImport
from labs.spotchecks.registry import REASONS, Rejection, run_queued_imports, sync_regions
from tests.conftest import LABS_BIN
from tests.web.conftest import csrf_token, signed_in

HEADER = "credit_code,name,kind,region,risk_level,affiliation"
LINE = re.compile(r"^(?:line|第) (\d+)")  # "line 3: ..." / "第 3 行：..."
CODE = re.compile(r"\[(\w+)\]$")


def code(n: int) -> str:
    base = f"91320100{n:09d}"
    return base + calc_check_digit(base)


def wrong_check(valid: str) -> str:
    return valid[:17] + ("0" if valid[17] != "0" else "1")


# Line 2 is good; 3 has a wrong check character, 4 a code too short, 5 repeats line 2, 6 an unknown
# region, 7 an unknown risk level.
BAD_FILE = "\n".join([
    HEADER,
    f"{code(1)},好的,fuel_station,320100,low,",
    f"{wrong_check(code(2))},校验位,fuel_station,320100,low,",
    "9132010000000,太短,fuel_station,320100,low,",
    f"{code(1)},重复,fuel_station,320100,low,",
    f"{code(3)},地区,fuel_station,999999,low,",
    f"{code(4)},风险,fuel_station,320100,extreme,",
]) + "\n"
EXPECTED = [(3, "credit_code_check"), (4, "credit_code_format"), (5, "duplicate_in_file"), (6, "unknown_region"),
            (7, "unknown_risk_level")]


@pytest.fixture
def regions(app):
    with app.app_context(), session_scope(app) as s:
        sync_regions(s)
    return app


def import_cli(database_url, tmp_path, content: str, *options: str, **locale: str) -> subprocess.CompletedProcess:
    """`labs [options] spotcheck import entities FILE` with only the given locale variables set."""
    path = tmp_path / "entities.csv"
    path.write_text(content, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name not in ("LANG", "LANGUAGE") and
           not name.startswith("LC_")}
    env.update(LABS_DATABASE_URL=database_url, LABS_INSTANCE_PATH=str(tmp_path / "instance"), **locale)
    return subprocess.run([str(LABS_BIN), *options, "spotcheck", "import", "entities", str(path), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=120)


def report(done: subprocess.CompletedProcess) -> list[tuple[int, str, str]]:
    """(line, code, the line as printed) of each bad row the command listed."""
    rows = []
    for printed in done.stdout.splitlines():
        rows.append((int(LINE.match(printed).group(1)), CODE.search(printed).group(1), printed))
    return rows


def test_the_command_lists_bad_rows_in_the_terminals_language_with_the_same_lines_and_codes(regions, database_url,
                                                                                            tmp_path):
    english = import_cli(database_url, tmp_path, BAD_FILE, LANG="C")
    chinese = import_cli(database_url, tmp_path, BAD_FILE, LANG="zh_CN.UTF-8")
    for done in (english, chinese):
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
    assert [(line, reason) for line, reason, _ in report(english)] == EXPECTED
    assert [(line, reason) for line, reason, _ in report(chinese)] == EXPECTED

    said = {reason: printed for _, reason, printed in report(english)}
    assert said["credit_code_check"] == (f"line 3: credit_code '{wrong_check(code(2))}' has a wrong check character "
                                         f"(expected {code(2)[17]}) [credit_code_check]")
    assert said["credit_code_format"].startswith("line 4: credit_code '9132010000000' is not a unified social credit "
                                                 "code: The number has an invalid length.")
    assert said["duplicate_in_file"] == f"line 5: credit_code '{code(1)}' repeats line 2 [duplicate_in_file]"
    assert said["unknown_region"] == "line 6: unknown region '999999' [unknown_region]"
    assert "nothing was imported" in english.stderr

    said = {reason: printed for _, reason, printed in report(chinese)}
    assert said["credit_code_check"] == (f"第 3 行：credit_code“{wrong_check(code(2))}”的校验码不对"
                                         f"（应为 {code(2)[17]}） [credit_code_check]")
    assert said["duplicate_in_file"] == f"第 5 行：credit_code“{code(1)}”与第 2 行重复 [duplicate_in_file]"
    assert said["unknown_region"] == "第 6 行：未知地区“999999” [unknown_region]"
    assert said["unknown_risk_level"].startswith("第 7 行：未知风险等级“extreme”")
    assert "未导入任何内容" in chinese.stderr and "nothing" not in chinese.stdout + chinese.stderr


def test_lc_all_comes_before_lang_and_the_lang_option_before_both(regions, database_url, tmp_path):
    header_only = "credit_code,name,kind,regoin,risk_level\n"
    english = import_cli(database_url, tmp_path, header_only, LC_ALL="C", LANG="zh_CN.UTF-8")
    assert english.stdout == "line 1: the header row lacks region and has unknown columns regoin [bad_header]\n"
    traditional = import_cli(database_url, tmp_path, header_only, LC_MESSAGES="zh_HK.UTF-8", LANG="en_US.UTF-8")
    assert traditional.stdout == "第 1 行：表頭列缺少欄位：region；含有未知欄位：regoin [bad_header]\n"
    chosen = import_cli(database_url, tmp_path, header_only, "--lang", "zh_Hans_CN", LC_ALL="zh_TW.UTF-8")
    assert chosen.stdout == "第 1 行：表头行缺少列：region；含有未知列：regoin [bad_header]\n"
    assert english.returncode == traditional.returncode == chosen.returncode == 1


def test_a_good_file_is_reported_in_the_terminals_language(regions, database_url, tmp_path):
    done = import_cli(database_url, tmp_path, f"{HEADER}\n{code(9)},加油站,fuel_station,320100,low,\n",
                      LANG="zh_SG.UTF-8")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"entities：已导入 1 行，新增 1 行，更新 0 行，用时 [\d.]+ 秒\n", done.stdout)


def test_the_upload_page_shows_the_stored_reasons_in_the_pages_language(regions, world):
    app = regions
    _, email = world.user("admin")
    client = signed_in(app, email)
    page = "/spotchecks/registry/imports"
    r = client.post(page, data={"csrf_token": csrf_token(client, page), "kind": "entities",
                                "file": (io.BytesIO(BAD_FILE.encode()), "entities.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    with app.app_context(), session_scope(app) as s:
        assert run_queued_imports(s) == 1
    with session_scope(app) as s:
        stored = s.scalar(select(RegistryImport.report))
    # The report keeps each reason's code and params: no sentence in any language.
    assert [(row[0], row[1]) for row in stored] == EXPECTED
    assert stored[0] == [3, "credit_code_check", "credit_code", wrong_check(code(2)), code(2)[17]]
    assert stored[1] == [4, "credit_code_format", "credit_code", "9132010000000", "length"]

    def reasons(lang: str | None) -> list[tuple[str, str]]:
        html = client.get(r.headers["Location"] + (f"?lang={lang}" if lang else "")).get_data(as_text=True)
        table = html[html.index('id="report"'):html.index("</table>", html.index('id="report"'))]
        return re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", table)

    default = reasons(None)  # Simplified Chinese, the service's default
    assert [line for line, _ in default] == ["3", "4", "5", "6", "7"]
    assert default[1][1] == "credit_code“9132010000000”不是统一社会信用代码：号码长度不正确。"
    assert default[2][1] == f"credit_code“{code(1)}”与第 2 行重复"
    traditional = reasons("zh_Hant_TW")
    assert traditional[3][1] == "未知地區「999999」"
    assert traditional[2][1] == f"credit_code「{code(1)}」與第 2 行重複"
    english = reasons("en")
    assert english[3][1] == "unknown region &#39;999999&#39;"
    assert english[1][1] == ("credit_code &#39;9132010000000&#39; is not a unified social credit code: "
                             "The number has an invalid length.")


# One rejection of each reason (and of each form a reason takes when its field or value is empty),
# as the importer makes them.
EACH_REASON = [
    Rejection(2, "missing_field", "name"),
    Rejection(2, "credit_code_format", "credit_code", "91320100O", "format"),
    Rejection(2, "credit_code_check", "credit_code", code(1)[:17] + "X", code(1)[17]),
    Rejection(3, "duplicate_in_file", "credit_code", code(1), "2"),
    Rejection(2, "already_registered", "serial_number", f"{code(1)}/fuel_dispenser/D-1"),
    Rejection(2, "unknown_region", "region", "999999"),
    Rejection(2, "unknown_entity", "entity_credit_code", code(1)),
    Rejection(2, "unknown_kind", "kind", "boat_yard"),
    Rejection(2, "unknown_risk_level", "risk_level", "extreme"),
    Rejection(2, "too_long", "name", "x" * 40, "200"),
    Rejection(2, "control_character", "name"),
    Rejection(2, "bad_email", "email", "nobody"),
    Rejection(2, "extra_fields"),
    Rejection(1, "bad_header", "region", "regoin", "region, regoin"),
    Rejection(1, "bad_header", "region", "", "region"),
    Rejection(1, "bad_header", "", "regoin", "regoin"),
    Rejection(4, "unreadable", detail="field larger than field limit (131072)"),
    Rejection(4, "not_utf8"),
    Rejection(1, "no_header"),
    Rejection(2, "changed", "entity_credit_code", code(1)),
    Rejection(0, "changed"),
]


def test_every_reason_reads_in_each_language_with_its_values():
    assert {rejection.reason for rejection in EACH_REASON} == set(REASONS)
    for rejection in EACH_REASON:
        english, simplified, traditional = (render_in(locale, rejection.message())
                                            for locale in ("en", "zh_Hans_CN", "zh_Hant_TW"))
        assert english not in (simplified, traditional), english
        for name in ("field", "value", "detail"):  # each param the message names, in every language
            if f"%({name})s" in rejection.message().msgid:
                shown = getattr(rejection, name)
                assert shown in english and shown in simplified and shown in traditional, (name, english)
        assert "%(" not in english + simplified + traditional
