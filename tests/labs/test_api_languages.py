"""The API answers in the Accept-Language language, with the same machine code in every language:
a booking on a statutory holiday, a slot already taken, a body the schema refuses, a role that may
not act. On SQLite and on PostgreSQL (the `world` fixture runs on each backend)."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import booking_body, next_working_day

LANGUAGES = {"zh-CN": "zh-Hans", "zh-TW": "zh-Hant", "en": "en"}


def _post(world, body: dict, headers: dict, language: str):
    return world.client.post("/api/v1/bookings", json=body, headers={**headers, "Accept-Language": language})


def _answers(world, body: dict, headers: dict) -> dict:
    """language -> (status, problem document), the Content-Language checked on the way."""
    out = {}
    for language, tag in LANGUAGES.items():
        r = _post(world, body, headers, language)
        assert r.mimetype == "application/problem+json" and r.headers["Content-Language"] == tag
        out[language] = (r.status_code, r.json)
    return out


@pytest.fixture
def scene(world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    _, tech = world.user("technician")
    return world, world.lab(code="EMC", bays=1), world.token(alice), world.token(bob), world.token(tech)


def test_a_booking_on_a_statutory_holiday(scene):
    world, lab, alice, _bob, _tech = scene
    new_year = dt.date(dt.date.today().year + 1, 1, 1)
    answers = _answers(world, booking_body(lab, new_year), alice)
    assert {status for status, _ in answers.values()} == {422}
    assert {problem["code"] for _, problem in answers.values()} == {"statutory_holiday"}
    day = new_year.year
    assert answers["en"][1]["errors"]["starts_at"] == [
        f"Jan 1, {day} is a statutory holiday (New Year's Day): the lab is closed"]
    assert answers["zh-CN"][1]["errors"]["starts_at"] == [f"{day}年1月1日 是法定节假日（元旦）：实验室不开放"]
    assert answers["zh-TW"][1]["errors"]["starts_at"] == [f"{day}年1月1日 是法定節假日（元旦）：實驗室不開放"]
    assert answers["en"][1]["detail"] == "the booking request breaks the lab's rules"
    assert answers["zh-CN"][1]["detail"] == "预约申请不符合实验室的规则"
    assert answers["zh-TW"][1]["detail"] == "預約申請不符合實驗室的規則"


def test_a_slot_already_taken(scene):
    world, lab, alice, bob, _tech = scene
    day = next_working_day()
    assert _post(world, booking_body(lab, day, 9, 11), alice, "en").status_code == 201
    answers = _answers(world, booking_body(lab, day, 10, 12), bob)
    assert {status for status, _ in answers.values()} == {409}
    assert {problem["code"] for _, problem in answers.values()} == {"slot_taken"}
    english = answers["en"][1]["detail"]
    when = f"{day:%b} {day.day}, {day.year}"
    assert english == (f"every bay of lab EMC is taken at some point between {when}, 10:00 Beijing time "
                       f"and {when}, 12:00 Beijing time")
    chinese = f"{day.year}年{day.month}月{day.day}日"
    assert answers["zh-CN"][1]["detail"] == (f"实验室 EMC 在 {chinese} 10:00 北京时间 至 {chinese} 12:00 北京时间 "
                                             "之间某一时段的所有工位均已被占用")
    assert answers["zh-TW"][1]["detail"].endswith("之間某一時段的所有工位均已被佔用")
    for _, problem in answers.values():  # the slots in the way stay machine-readable
        assert [slot["bay"] for slot in problem["conflicts"]] == [1]


def test_a_body_the_schema_refuses(scene):
    world, lab, alice, _bob, _tech = scene
    body = booking_body(lab, next_working_day(), batches="many")
    del body["contact_name"]
    answers = _answers(world, body, alice)
    assert {(status, problem["code"]) for status, problem in answers.values()} == {(422, "invalid")}
    assert answers["en"][1]["errors"] == {"contact_name": ["Missing data for required field."],
                                          "batches": ["Not a valid integer."]}
    assert answers["zh-CN"][1]["errors"] == {"contact_name": ["缺少必填项。"], "batches": ["不是有效的整数。"]}
    assert answers["zh-TW"][1]["errors"] == {"contact_name": ["缺少必填項。"], "batches": ["不是有效的整數。"]}
    assert answers["zh-CN"][1]["detail"] == "请求无效"


def test_a_role_that_may_not_act(scene):
    world, lab, _alice, _bob, tech = scene
    answers = _answers(world, booking_body(lab, next_working_day()), tech)
    assert {(status, problem["code"]) for status, problem in answers.values()} == {(403, "forbidden_role")}
    assert answers["en"][1]["detail"] == "a technician may not do this (it needs: enterprise)"
    assert answers["zh-CN"][1]["detail"] == "检定员无权执行此操作（需要：企业用户）"
    assert answers["zh-TW"][1]["detail"] == "檢定員無權執行此操作（需要：企業用戶）"
