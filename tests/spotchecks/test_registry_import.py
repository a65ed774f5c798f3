"""Registry imports: a file is imported whole or refused whole with every bad row and its reason;
entities are updated on re-import; instruments need registered entities; inspectors' lists are
parsed; credit codes may start with letters. On SQLite and PostgreSQL; the CLI as a subprocess."""
from __future__ import annotations

import io
import os
import subprocess

import pytest
from sqlalchemy import func, select
from stdnum.cn.uscc import calc_check_digit

from labs.accounts.service import SYSTEM, create_user, validate_credit_code
from labs.db import session_scope
from labs.errors import Forbidden
from labs.spotchecks.models import RegistryEntity, RegistryInspector, RegistryInstrument
from labs.spotchecks.registry import ImportRefused, import_registry, sync_regions
from tests.conftest import LABS_BIN, PASSWORD

HEADER = "credit_code,name,kind,region,risk_level,affiliation"


def code(prefix: str, n: int) -> str:
    """A valid credit code: `prefix` is the first eight characters (two of them may be letters)."""
    base = f"{prefix}{n:09d}"
    return base + calc_check_digit(base)


def wrong_check(valid: str) -> str:
    return valid[:17] + ("0" if valid[17] != "0" else "1")


@pytest.fixture
def registry_app(app):
    with app.app_context(), session_scope(app) as s:
        sync_regions(s)  # the PostgreSQL tests' tables are emptied between tests
    return app


def run_import(app, kind: str, text: str, bom: bool = False, actor=SYSTEM):
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    with app.app_context(), session_scope(app) as s:
        return import_registry(s, actor, kind, lambda: io.BytesIO(data))


def count(app, model) -> int:
    with session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(model))


def entities(app) -> dict[str, tuple]:
    with session_scope(app) as s:
        return {e.credit_code: (e.name, e.kind, e.region, e.risk_level, e.affiliation)
                for e in s.scalars(select(RegistryEntity))}


def test_file_with_bad_rows_is_refused_whole_with_every_bad_row_reported(registry_app):
    app = registry_app
    run_import(app, "entities", f"{HEADER}\n{code('91320100', 99)},已有,fuel_station,320100,low,\n")
    good = code("91320100", 1)
    text = "\n".join([
        HEADER,
        f"{good},南京一号加油站,fuel_station,320115,high,中石化",        # line 2: good
        f"{wrong_check(code('91320100', 2))},坏校验位,fuel_station,320100,low,",  # 3: check character
        f"9132010O0000000031,坏格式,fuel_station,320100,low,",               # 4: format (letter O)
        f"{good},重复,fuel_station,320100,low,",                            # 5: duplicate of line 2
        f"{code('91320100', 3)},未知地区,fuel_station,999999,low,",           # 6: region
        f"{code('91320100', 4)},未知种类,boat_yard,320100,low,",              # 7: kind
        f"{code('91320100', 5)},未知风险,fuel_station,320100,extreme,",       # 8: risk level
        f"{code('91320100', 6)},,fuel_station,320100,low,",                  # 9: name missing
        f"{code('91320100', 7)},好的,taxi_company,320200,medium,",           # 10: good
        f'{code("91320100", 8)},"控制\x1b[31m字符",fuel_station,320100,low,',  # 11: a control character
    ]) + "\n"
    with pytest.raises(ImportRefused) as refused:
        run_import(app, "entities", text)
    result = refused.value.result
    got = {(r.line, r.reason) for r in result.rejections}
    assert got == {(3, "credit_code_check"), (4, "credit_code_format"), (5, "duplicate_in_file"),
                   (6, "unknown_region"), (7, "unknown_kind"), (8, "unknown_risk_level"), (9, "missing_field"),
                   (11, "control_character")}
    assert (result.rows, result.rejected) == (10, 8)
    duplicate = next(r for r in result.rejections if r.reason == "duplicate_in_file")
    assert duplicate.detail == "2" and "repeats line 2" in duplicate.message()
    check = next(r for r in result.rejections if r.reason == "credit_code_check")
    assert check.detail == code("91320100", 2)[17]
    # Nothing of the file was written: the one entity registered before is all there is.
    assert list(entities(app)) == [code("91320100", 99)]


def test_good_file_imports_with_counts_and_values(registry_app):
    app = registry_app
    a, b = code("91320100", 11), code("91320500", 12)
    result = run_import(app, "entities", f"{HEADER}\n{a},南京一号加油站,fuel_station,320115,high,中石化\n"
                                         f"{b},苏州出租,taxi_company,320508,low,\n")
    assert (result.rows, result.added, result.updated, result.rejected) == (2, 2, 0, 0)
    assert entities(app) == {a: ("南京一号加油站", "fuel_station", "320115", "high", "中石化"),
                             b: ("苏州出租", "taxi_company", "320508", "low", "")}


def test_byte_order_mark_columns_in_any_order_and_optional_columns_left_out(registry_app):
    app = registry_app
    a = code("91320100", 21)
    result = run_import(app, "entities", f"risk_level,region,kind,name,credit_code\nlow,320100,fuel_station,甲,{a}\n",
                        bom=True)
    assert result.added == 1 and entities(app)[a] == ("甲", "fuel_station", "320100", "low", "")


def test_header_naming_unknown_or_missing_columns_refuses_the_file(registry_app):
    with pytest.raises(ImportRefused) as refused:
        run_import(registry_app, "entities", "credit_code,name,kind,regoin,risk_level\n")
    [rejection] = refused.value.result.rejections
    assert rejection.line == 1 and rejection.reason == "bad_header"
    assert "region" in rejection.detail and "regoin" in rejection.detail


def test_reimport_updates_registered_entities_and_counts_them(registry_app):
    app = registry_app
    a, b = code("91320100", 31), code("91320100", 32)
    run_import(app, "entities", f"{HEADER}\n{a},旧名,fuel_station,320100,low,集团\n")
    result = run_import(app, "entities", f"{HEADER}\n{a},新名,taxi_company,320200,high,集团\n"
                                         f"{b},新的,fuel_station,320100,medium,\n")
    assert (result.added, result.updated) == (1, 1)
    assert entities(app)[a] == ("新名", "taxi_company", "320200", "high", "集团")
    assert count(app, RegistryEntity) == 2
    # The affiliation changes too (inspectors of the same affiliation are recused by it) ...
    run_import(app, "entities", f"{HEADER}\n{a},新名,taxi_company,320200,high,另一集团\n")
    assert entities(app)[a][4] == "另一集团"
    # ... and a file without that optional column leaves it as registered.
    run_import(app, "entities", f"credit_code,name,kind,region,risk_level\n{a},又一名,taxi_company,320200,high\n")
    assert entities(app)[a] == ("又一名", "taxi_company", "320200", "high", "另一集团")


def test_instruments_refer_to_registered_entities(registry_app):
    app = registry_app
    a = code("91320100", 41)
    run_import(app, "entities", f"{HEADER}\n{a},加油站,fuel_station,320100,low,\n")
    header = "entity_credit_code,kind,serial_number,description"
    with pytest.raises(ImportRefused) as refused:
        run_import(app, "instruments", f"{header}\n{a},fuel_dispenser,D-1,1 号枪\n"
                                       f"{code('91320100', 42)},fuel_dispenser,D-2,\n"
                                       f"{a},water_meter,W-1,\n{a},fuel_dispenser,D-1,again\n")
    assert {(r.line, r.reason) for r in refused.value.result.rejections} == {
        (3, "unknown_entity"), (4, "unknown_kind"), (5, "duplicate_in_file")}
    assert count(app, RegistryInstrument) == 0
    result = run_import(app, "instruments", f"{header}\n{a},fuel_dispenser,D-1,1 号枪\n{a},taxi_meter,T-1,\n")
    assert result.added == 2
    with session_scope(app) as s:
        entity_id = s.scalar(select(RegistryEntity.id).where(RegistryEntity.credit_code == a))
        rows = {(i.entity_id, i.kind, i.serial_number, i.description) for i in s.scalars(select(RegistryInstrument))}
    assert rows == {(entity_id, "fuel_dispenser", "D-1", "1 号枪"), (entity_id, "taxi_meter", "T-1", "")}
    with pytest.raises(ImportRefused) as again:
        run_import(app, "instruments", f"{header}\n{a},fuel_dispenser,D-1,\n")
    assert [(r.line, r.reason) for r in again.value.result.rejections] == [(2, "already_registered")]


def test_inspectors_qualifications_conflicts_and_user_link_are_parsed(registry_app):
    app = registry_app
    with app.app_context(), session_scope(app) as s:
        inspector_id = create_user(s, SYSTEM, "wang@example.com", PASSWORD, "inspector", "王五").id
        create_user(s, SYSTEM, "tech@example.com", PASSWORD, "technician", "技术员")
    conflict = code("91320100", 51)
    header = "name,email,qualifications,affiliation,conflicts"
    result = run_import(app, "inspectors", f"{header}\n王五,Wang@example.com,fuel_dispenser; taxi_meter,一分局,{conflict}\n"
                                           f"赵六,tech@example.com,electricity_meter,二分局,\n"
                                           f"钱七,,electricity_meter,二分局,{conflict};{code('N2320100', 52)}\n")
    assert result.added == 3
    with session_scope(app) as s:
        got = {i.name: (i.email, i.user_id, i.qualifications, i.affiliation, i.conflicts)
               for i in s.scalars(select(RegistryInspector))}
    assert got == {
        "王五": ("wang@example.com", inspector_id, ["fuel_dispenser", "taxi_meter"], "一分局", [conflict]),
        "赵六": ("tech@example.com", None, ["electricity_meter"], "二分局", []),  # not an inspector's account
        "钱七": (None, None, ["electricity_meter"], "二分局", [conflict, code("N2320100", 52)]),
    }
    with pytest.raises(ImportRefused) as refused:
        run_import(app, "inspectors", f"{header}\n王五,wang@example.com,fuel_dispenser,一分局,\n"
                                      f"孙八,,boats,三分局,{wrong_check(conflict)}\n"
                                      f"孙八,,taxi_meter,三分局,\n")
    assert {(r.line, r.reason) for r in refused.value.result.rejections} == {
        (2, "already_registered"), (3, "unknown_kind"), (3, "credit_code_check"), (4, "duplicate_in_file")}


def test_credit_codes_with_letters_in_the_first_two_places_are_accepted_when_the_check_is_right(registry_app):
    app = registry_app
    village, other = code("N2320100", 61), code("Y1320100", 62)
    assert validate_credit_code(village) == village and validate_credit_code(other.lower()) == other
    result = run_import(app, "entities", f"{HEADER}\n{village},某村股份经济合作社,power_supplier,320100,low,\n"
                                         f"{other},某协会,fuel_station,320100,low,\n")
    assert result.added == 2
    with pytest.raises(ImportRefused) as refused:
        run_import(app, "entities", f"{HEADER}\n{wrong_check(code('N2320100', 63))},错,fuel_station,320100,low,\n")
    assert [r.reason for r in refused.value.result.rejections] == ["credit_code_check"]


def test_only_administrators_and_inspectors_import(registry_app):
    app = registry_app
    with app.app_context(), session_scope(app) as s:
        technician = create_user(s, SYSTEM, "t@example.com", PASSWORD, "technician")
        with pytest.raises(Forbidden):
            import_registry(s, technician, "entities", lambda: io.BytesIO(HEADER.encode()))


def test_cli_lists_every_bad_row_and_exits_1_then_imports_a_good_file(registry_app, database_url, tmp_path):
    env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "instance")}
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    a = code("91320100", 71)
    good.write_text(f"\ufeff{HEADER}\n{a},加油站,fuel_station,320100,low,\n", encoding="utf-8")
    bad.write_text(f"{HEADER}\n{a},加油站,fuel_station,320100,low,\n{wrong_check(a)},x,fuel_station,000000,low,\n",
                   encoding="utf-8")
    done = subprocess.run([str(LABS_BIN), "spotcheck", "import", "entities", str(bad), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "line 3: credit_code" in done.stdout and "check character" in done.stdout
    assert "line 3: unknown region '000000'" in done.stdout and "nothing was imported" in done.stderr
    assert count(registry_app, RegistryEntity) == 0
    done = subprocess.run([str(LABS_BIN), "spotcheck", "import", "entities", str(good), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 rows imported, 1 added, 0 updated" in done.stdout
    assert list(entities(registry_app)) == [a]


def test_an_entity_registered_between_the_check_and_the_write_refuses_the_file_whole(registry_app):
    app = registry_app
    a, b = code("91320100", 81), code("91320100", 82)
    data = f"{HEADER}\n{a},甲,fuel_station,320100,low,\n{b},乙,fuel_station,320100,low,\n".encode()

    def meanwhile(phase, rows, _read):
        if phase == "writing" and rows == 0:  # checked, not yet written: another import registers b
            with session_scope(app) as other:
                other.add(RegistryEntity(credit_code=b, name="别处", kind="fuel_station", region="320100",
                                         risk_level="low", affiliation=""))

    with pytest.raises(ImportRefused) as refused:
        with app.app_context(), session_scope(app) as s:
            import_registry(s, SYSTEM, "entities", lambda: io.BytesIO(data), meanwhile)
    assert [r.reason for r in refused.value.result.rejections] == ["changed"]
    assert entities(app) == {b: ("别处", "fuel_station", "320100", "low", "")}
