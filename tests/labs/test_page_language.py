"""The pages' language: a first visit follows Accept-Language, a choice made with the language links
is remembered (in the session for a visitor, on the account for a signed-in user)."""
from __future__ import annotations

import re

from labs.accounts.models import User
from labs.db import session_scope
from tests.web.conftest import csrf_token, login

HREFLANG = re.compile(r'hreflang="([^"]+)"')


def _lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def test_a_first_visit_follows_accept_language(app):
    for header, lang, text in (("zh-TW,zh;q=0.8", "zh-Hant-TW", "實驗室目錄"), ("en-GB,en;q=0.9", "en", "Lab catalog"),
                               ("zh-CN", "zh-Hans-CN", "实验室目录"), ("fr-FR", "zh-Hans-CN", "实验室目录"),
                               (None, "zh-Hans-CN", "实验室目录")):
        page = app.test_client().get("/", headers={"Accept-Language": header} if header else {})
        assert _lang(page.get_data(as_text=True)) == lang and text in page.get_data(as_text=True), header
        assert "Accept-Language" in page.headers["Vary"]


def test_the_language_links_carry_bcp47_tags(app):
    page = app.test_client().get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert set(HREFLANG.findall(page)) == {"zh-Hans", "zh-Hant"}
    page = app.test_client().get("/").get_data(as_text=True)
    assert set(HREFLANG.findall(page)) == {"zh-Hant", "en"}


def test_a_visitors_choice_outweighs_accept_language_for_the_session(app):
    client = app.test_client()
    assert "Lab catalog" in client.get("/?lang=en", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    again = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert _lang(again) == "en" and "Log in" in again
    assert _lang(app.test_client().get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)) == "zh-Hans-CN"


def test_a_users_choice_is_stored_and_follows_them_to_another_browser(app, world):
    user_id, alice = world.user("enterprise", enterprise=0)
    first = app.test_client()
    login(first, alice)
    page = first.get("/bookings").get_data(as_text=True)
    assert 'action="/language"' in page and 'lang="zh-Hant"' in page  # the links post the choice
    r = first.post("/language", data={"lang": "zh_Hant_TW", "next": "/bookings",
                                      "csrf_token": csrf_token(first, "/bookings")})
    assert r.status_code == 302 and r.headers["Location"] == "/bookings"
    assert _lang(first.get("/bookings").get_data(as_text=True)) == "zh-Hant-TW"
    with session_scope(app) as s:
        assert s.get(User, user_id).locale == "zh_Hant_TW"
    assert app.test_client().get("/?lang=en").status_code == 200  # a visitor's GET link writes nothing

    other = app.test_client()  # another browser that asks for English
    assert _lang(other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "en"
    login(other, alice)
    page = other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(page) == "zh-Hant-TW" and "我的預約" in page


def test_a_user_who_never_chose_gets_their_browsers_language(app, world):
    user_id, alice = world.user("enterprise", enterprise=0)
    client = app.test_client()
    login(client, alice)
    page = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert _lang(page) == "en" and "My bookings" in page
    with session_scope(app) as s:
        assert s.get(User, user_id).locale is None


def test_the_error_pages_speak_the_readers_language(app):
    client = app.test_client()
    for header, title, text in (("zh-CN", "未找到", "此地址没有页面。"), ("zh-TW", "找不到", "此位址沒有頁面。"),
                                ("en", "Not found", "There is no page at this address.")):
        page = client.get("/no-such-page", headers={"Accept-Language": header})
        assert page.status_code == 404 and page.mimetype == "text/html"
        assert f"<h1>{title}</h1>" in page.get_data(as_text=True) and text in page.get_data(as_text=True)
    refused = client.post("/", headers={"Accept-Language": "en"})
    assert refused.status_code == 405 and "GET" in refused.headers["Allow"]
    assert "This address does not take that kind of request." in refused.get_data(as_text=True)


def test_a_known_discipline_is_shown_in_the_readers_language_and_free_text_as_typed(app, world):
    world.lab(code="BRG", discipline="bearings")
    world.lab(code="ODD", discipline="100% odd things")
    for header, shown in (("zh-CN", "轴承"), ("zh-TW", "軸承"), ("en", "bearings")):
        page = app.test_client().get("/", headers={"Accept-Language": header}).get_data(as_text=True)
        assert f'<span class="muted">{shown}</span>' in page and "100% odd things" in page
