"""Domain errors carry an English message id, params and a stable code; they are shown in the
reader's language, with dates and times in local, human form."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from labs.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooManyAttempts
from labs.i18n import N_, accepted_locale

MOMENT = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Beijing
TAKEN = N_("every bay of lab %(lab)s is taken at some point between %(start)s and %(end)s")
ENGLISH = ("every bay of lab EMC is taken at some point between Dec 3, 2026, 10:00 Beijing time and "
           "Dec 3, 2026, 12:00 Beijing time")


def taken() -> Conflict:
    return Conflict(TAKEN, code="slot_taken", params={"lab": "EMC", "start": MOMENT,
                                                      "end": MOMENT + dt.timedelta(hours=2)},
                    conflicts=[{"booking_id": 7}])


def test_outside_a_request_an_error_reads_in_english_with_local_human_times():
    error = taken()
    assert str(error) == error.detail == ENGLISH
    assert error.code == "slot_taken" and error.extra == {"conflicts": [{"booking_id": 7}]}


def test_each_class_has_a_default_code():
    assert [cls(N_("x")).code for cls in (DomainError, NotFound, Forbidden, Conflict, Invalid)] == \
        ["bad_request", "not_found", "forbidden", "conflict", "invalid"]
    assert TooManyAttempts(N_("x"), retry_after=5).code == "too_many_attempts"


def test_invalid_formats_its_field_messages_with_the_params():
    error = Invalid(N_("the booking is not valid"), {"starts_at": [N_("%(day)s is a holiday")]},
                    params={"day": dt.date(2027, 1, 1)}, code="statutory_holiday")
    assert error.errors == {"starts_at": ["Jan 1, 2027 is a holiday"]}
    assert error.extra["errors"] == error.errors


@pytest.mark.parametrize("header, locale", [
    ("zh-CN,zh;q=0.9", "zh_Hans_CN"), ("zh-Hans", "zh_Hans_CN"), ("zh", "zh_Hans_CN"), ("zh-SG", "zh_Hans_CN"),
    ("zh-TW", "zh_Hant_TW"), ("zh-HK,en;q=0.5", "zh_Hant_TW"), ("zh-Hant-HK", "zh_Hant_TW"),
    ("en-GB,zh;q=0.8", "en"), ("fr-FR,en;q=0.5,zh;q=0.4", "en"), ("fr", None), ("de;q=0.9,zh-TW;q=0.2", "zh_Hant_TW"),
])
def test_accept_language_picks_one_of_our_languages(app, header, locale):
    with app.test_request_context("/api/v1/labs", headers={"Accept-Language": header}):
        from flask import request
        assert accepted_locale(request.accept_languages) == locale


@pytest.mark.parametrize("header, expected", [
    ("zh-CN", "实验室 EMC 在 2026年12月3日 10:00 北京时间 至 2026年12月3日 12:00 北京时间 之间某一时段的所有工位均已被占用"),
    ("zh-TW", "實驗室 EMC 在 2026年12月3日 10:00 北京時間 至 2026年12月3日 12:00 北京時間 之間某一時段的所有工位均已被佔用"),
    ("en", ENGLISH),
])
def test_in_a_request_an_error_reads_in_the_requests_language(app, header, expected):
    with app.test_request_context("/api/v1/bookings", headers={"Accept-Language": header}):
        error = taken()
        assert error.detail == expected
        assert str(error) == ENGLISH


def test_a_lab_zone_other_than_the_services_is_named():
    urumqi = MOMENT.astimezone(ZoneInfo("Asia/Urumqi"))
    error = Conflict(TAKEN, params={"lab": "X", "start": urumqi, "end": urumqi + dt.timedelta(hours=1)})
    assert str(error).endswith("between Dec 3, 2026, 08:00 China (Urumqi) Time and Dec 3, 2026, 09:00 China (Urumqi) Time")


@pytest.mark.parametrize("header, detail, language", [
    ("zh-CN", "此地址没有内容", "zh-Hans"), ("zh-TW", "此位址沒有內容", "zh-Hant"),
    ("en-US", "there is nothing at this address", "en"), (None, "there is nothing at this address", "en"),
])
def test_an_api_problem_has_a_code_and_reads_in_the_accept_language(client, header, detail, language):
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": header} if header else {})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.json["code"] == "not_found" and response.json["detail"] == detail
    assert response.headers["Content-Language"] == language


@pytest.mark.parametrize("header, detail", [("zh-CN", "请求无效"), ("zh-TW", "請求無效"), ("en", "the request is not valid")])
def test_a_request_the_schema_refuses_is_invalid_in_every_language(client, header, detail):
    response = client.post("/api/v1/auth/token", json={"email": "x@example.com"}, headers={"Accept-Language": header})
    assert response.status_code == 422
    assert response.json["code"] == "invalid" and response.json["detail"] == detail
    assert list(response.json["errors"]) == ["password"]
