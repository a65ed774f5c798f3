"""The year's holiday schedule an admin enters (labs.calendar): read and checked line by line, stored
by `labs calendar import` or the admin page, and seen by every caller of working days: availability,
booking refusals and deadlines, on both databases, in the unit of work that asks."""
from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
from sqlalchemy import func, select

from labs.calendar.domain import ScheduleInvalid, parse_schedule
from labs.calendar.models import HolidayDay
from labs.db import session_scope
from labs.workdays import add_working_days, day_kind
from tests.conftest import LABS_BIN, booking_body
from tests.holidays import LAW_FIXED_DAYS
from tests.web.conftest import csrf_token, signed_in

D = dt.date
# Written here, not taken from the code: an example schedule for 2027 (not the published one) with a
# bridge into December 2026, a weekday bridged off (2027-02-09..12) and make-up Saturdays and Sundays.
SCHEDULE_2027 = """date,kind,holiday
# example, not the State Council's notice
2026-12-31,off,元旦
2027-01-01,off,New Year's Day
2027-01-03,work,元旦
2027-01-31,work,Spring Festival
2027-02-05,off,春节
2027-02-06,off,Spring Festival
2027-02-07,off,Spring Festival
2027-02-08,off,Spring Festival
2027-02-09,off,Spring Festival
2027-02-10,off,Spring Festival
2027-02-11,off,Spring Festival
2027-02-12,off,Spring Festival
2027-02-20,work,Spring Festival
2027-04-05,off,Tomb-sweeping Day
2027-05-01,off,Labour Day
2027-05-02,off,Labour Day
2027-05-03,off,Labour Day
2027-05-08,work,Labour Day
2027-06-09,off,Dragon Boat Festival
2027-09-15,off,Mid-autumn Festival
2027-10-01,off,National Day
2027-10-02,off,National Day
2027-10-03,off,National Day
2027-10-04,off,National Day
2027-10-09,work,National Day
"""
BRIDGED_WEEKDAY = D(2027, 2, 10)  # a Wednesday off only because the schedule says so
MAKEUP_SATURDAY = D(2027, 2, 20)


def test_the_example_schedule_keeps_every_day_the_law_fixes():
    schedule = parse_schedule(SCHEDULE_2027)
    assert schedule.year == 2027
    assert all(schedule.days[day] == (False, name) for day, name in LAW_FIXED_DAYS[2027].items())
    assert schedule.days[D(2027, 2, 5)] == (False, "Spring Festival")  # 春节 read as its English name
    assert schedule.days[D(2026, 12, 31)] == (False, "New Year's Day")


@pytest.mark.parametrize("line, expected", [
    ("2027-13-01,off,Labour Day", "line 5: 2027-13-01 is not a date"),
    ("2027-03-03,work,Labour Day", "line 5: 2027-03-03 is a weekday"),
    ("2027-03-06,rest,Labour Day", "line 5: the kind is off or work, not rest"),
    ("2027-03-06,work,Labor Day", "line 5: unknown holiday Labor Day"),
    ("2027-03-06,work", "line 5: expected three values"),
    ("2027-01-01,off,New Year's Day", "line 5: 2027-01-01 is listed twice"),
    ("2025-11-30,off,New Year's Day", "2025-11-30 is not in 2027 or the December before it"),
])
def test_a_broken_line_is_named_with_its_number(line, expected):
    text = SCHEDULE_2027.replace("2027-01-03,work,元旦", line)
    with pytest.raises(ScheduleInvalid) as refused:
        parse_schedule(text)
    messages = [(f"line {p.line}: " if p.line else "") + p.message % p.params for p in refused.value.problems]
    assert any(message.startswith(expected) for message in messages), messages


def test_a_schedule_without_a_day_the_law_fixes_is_refused():
    with pytest.raises(ScheduleInvalid) as refused:
        parse_schedule(SCHEDULE_2027.replace("2027-06-09,off,Dragon Boat Festival\n", ""))
    assert [p.params for p in refused.value.problems] == [{"day": "2027-06-09", "holiday": "Dragon Boat Festival"}]


def test_an_oversized_schedule_is_refused_before_it_is_read():
    with pytest.raises(ScheduleInvalid):
        parse_schedule(SCHEDULE_2027 + "# padding\n" * 2000)


def _import(app, tmp_path, text) -> subprocess.CompletedProcess:
    path = tmp_path / "holidays.csv"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "LABS_DATABASE_URL": app.config["DATABASE_URL"],
           "LABS_INSTANCE_PATH": str(tmp_path / "instance"), "LC_ALL": "C"}  # English, whatever the machine's locale
    return subprocess.run([str(LABS_BIN), "calendar", "import", str(path)], env=env, capture_output=True,
                          text=True, timeout=120)


def _in_unit_of_work(app, ask):
    with app.app_context(), session_scope(app) as session:
        session.execute(select(func.count(HolidayDay.id)))  # the unit of work has begun
        return ask()


def test_imported_schedule_decides_the_year_for_every_caller(app, world, tmp_path):
    assert not _in_unit_of_work(app, lambda: day_kind(BRIDGED_WEEKDAY)).covered
    done = _import(app, tmp_path, SCHEDULE_2027)
    assert done.returncode == 0, done.stderr
    assert "stored the holiday schedule of 2027: 20 days off, 5 make-up working days" in done.stdout

    bridged = _in_unit_of_work(app, lambda: day_kind(BRIDGED_WEEKDAY))
    assert (bridged.working, bridged.holiday_name, bridged.covered) == (False, "Spring Festival", True)
    assert _in_unit_of_work(app, lambda: day_kind(MAKEUP_SATURDAY)).makeup_working
    # The December day belongs to 2027's notice; the rest of December 2026 is chinese-calendar's.
    assert _in_unit_of_work(app, lambda: day_kind(D(2026, 12, 31))).statutory_holiday
    assert _in_unit_of_work(app, lambda: day_kind(D(2026, 12, 30))).working
    # Deadlines in working days skip the bridged days: after Thursday 4 February comes Monday 15 February.
    assert _in_unit_of_work(app, lambda: add_working_days(D(2027, 2, 4), 1)) == D(2027, 2, 15)
    # Outside any unit of work the stored rows cannot be read: the library and the law decide.
    assert day_kind(BRIDGED_WEEKDAY).covered is False

    # The API's availability and the booking rules see it too.
    manager, _ = world.user("lab_manager")
    lab = world.lab(manager_ids=[manager], max_advance_days=500)
    days = world.client.get(f"/api/v1/labs/{lab}/availability?from=2027-02-10&to=2027-02-20").json["days"]
    by_date = {day["date"]: day for day in days}
    assert by_date["2027-02-10"]["working_day"] is False and by_date["2027-02-10"]["open"] == []
    assert by_date["2027-02-10"]["calendar_covered"] is True
    assert by_date["2027-02-20"]["working_day"] is True
    _, email = world.user("enterprise", enterprise=0)
    refused = world.client.post("/api/v1/bookings", json=booking_body(lab, BRIDGED_WEEKDAY),
                                headers=world.token(email))
    assert refused.status_code == 422 and "starts_at" in refused.json["errors"], refused.json


def test_a_refused_import_stores_nothing_and_says_why(app, tmp_path):
    done = _import(app, tmp_path, SCHEDULE_2027.replace("2027-09-15,off", "2027-09-15,work"))
    assert done.returncode == 1
    assert "2027-09-15 is a weekday: a make-up working day is a Saturday or Sunday" in done.stderr
    with session_scope(app) as session:
        assert session.scalar(select(func.count(HolidayDay.id))) == 0


def test_a_second_import_replaces_the_year(app, tmp_path):
    assert _import(app, tmp_path, SCHEDULE_2027).returncode == 0
    assert _import(app, tmp_path, SCHEDULE_2027.replace("2027-02-20,work,Spring Festival\n", "")).returncode == 0
    assert _in_unit_of_work(app, lambda: day_kind(MAKEUP_SATURDAY)).working is False
    with session_scope(app) as session:
        assert session.scalar(select(func.count(HolidayDay.id))) == SCHEDULE_2027.count("\n") - 3


def _sign_in(world, role):
    _, email = world.user(role)
    client = signed_in(world.app, email)
    return client, csrf_token(client, "/")


def test_admin_page_stores_shows_and_removes_a_schedule(app, world):
    client, token = _sign_in(world, "admin")
    broken = client.post("/admin/holidays?lang=en", data={"schedule": SCHEDULE_2027.replace("2027-05-08", "2027-05-07"),
                                                          "csrf_token": token})
    assert broken.status_code == 422
    assert "line 20: 2027-05-07 is a weekday" in broken.get_data(as_text=True)
    in_chinese = client.post("/admin/holidays?lang=zh_Hans_CN", data={
        "schedule": SCHEDULE_2027.replace("2027-05-08", "2027-05-07"), "csrf_token": token})
    assert "第 20 行：2027-05-07 是工作日" in in_chinese.get_data(as_text=True)
    stored = client.post("/admin/holidays", data={"schedule": SCHEDULE_2027, "csrf_token": token})
    assert stored.status_code == 302
    page = client.get("/admin/holidays?lang=en").get_data(as_text=True)
    assert 'id="holidays-2027"' in page and "make-up working day" in page
    assert client.post("/admin/holidays/2027/remove", data={"csrf_token": token}).status_code == 302
    with session_scope(app) as session:
        assert session.scalar(select(func.count(HolidayDay.id))) == 0
    assert client.post("/admin/holidays/2027/remove", data={"csrf_token": token}).status_code == 404


def test_only_an_admin_enters_a_schedule(app, world):
    client, token = _sign_in(world, "lab_manager")
    assert client.get("/admin/holidays").status_code == 403
    assert client.post("/admin/holidays", data={"schedule": SCHEDULE_2027, "csrf_token": token}).status_code == 403
    with session_scope(app) as session:
        assert session.scalar(select(func.count(HolidayDay.id))) == 0
