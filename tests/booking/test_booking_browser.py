"""The booking journeys in headless Chromium against `labs serve`, at a desktop's and a phone's width:
an enterprise books a free slot from the lab's week and uploads the document it still owed; the lab
manager confirms receipt and approves a weekly series as one."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select

from booking.models import Booking
from labs.db import session_scope
from tests.booking.support import working_wednesdays
from tests.conftest import booking_body
from tests.web.conftest import browser, submit  # noqa: F401  (browser: the fixture)
from tests.web.test_browser import _log_in

SIZES = [(1280, 800), (390, 844)]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _menu(driver, element_id: str):
    """An element of the header's menu, which a phone's width folds behind its toggle."""
    element = driver.find_element(By.ID, element_id)
    if not element.is_displayed():
        driver.find_element(By.ID, "menu-toggle").click()
    return element


def _log_out(driver) -> None:
    _menu(driver, "logout").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "nav-login")))


def _bookings(app) -> int:
    with app.app_context(), session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(Booking))


@pytest.mark.parametrize("width, height", SIZES)
def test_enterprise_books_from_the_grid_and_uploads_then_manager_confirms_receipt_and_approves_a_series(
        world, app, live_server, browser, tmp_path, width, height):
    browser.set_window_size(width, height)
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(name="轴承寿命试验室", manager_ids=[manager_id], bays=2, slot_step_minutes=30,
                    fee_per_hour="100.00", fee_per_batch="50.00")
    day = working_wednesdays(3)
    series = world.client.post("/api/v1/booking-series", headers=world.token(bob), json={
        **booking_body(lab, day, 14, 16), "weeks": 3, "policy": "all_or_nothing"}).json
    wait = WebDriverWait(browser, 10)

    # The enterprise clicks a free slot of the lab's week: the form comes filled in.
    _log_in(browser, live_server, alice)
    browser.get(f"{live_server}/labs/{lab}?week={day.isoformat()}")
    slot = browser.find_element(By.CSS_SELECTOR, f"#availability a.slot.free[href*='date={day.isoformat()}']")
    slot.click()
    wait.until(EC.presence_of_element_located((By.ID, "booking-form")))
    assert browser.find_element(By.ID, "date").get_attribute("value") == day.isoformat()
    assert browser.find_element(By.ID, "start").get_attribute("value") == "08:00"
    assert browser.find_element(By.ID, "start").get_attribute("step") == "1800"  # the lab's 30 minutes
    # The day's free time, from the lab's week, and the fee as the times are typed.
    panel = wait.until(EC.visibility_of_element_located((By.ID, "day-availability")))
    assert panel.find_elements(By.CSS_SELECTOR, "button.slot.free") and "14:00–16:00" in panel.text
    end = browser.find_element(By.ID, "end")
    browser.execute_script("arguments[0].value = '10:00'; arguments[0].dispatchEvent(new Event('input'))", end)
    wait.until(EC.text_to_be_present_in_element((By.ID, "fee-quote"), "¥250.00"))  # 2 h x 100 + 1 x 50
    for field, text in (("test_type", "寿命试验"), ("sample_description", "6205 深沟球轴承 20 套"),
                        ("contact_phone", "13800000000"), ("missing_documents", "营业执照副本")):
        browser.find_element(By.ID, field).send_keys(text)
    browser.find_element(By.ID, "commitment_signed").click()
    before = _bookings(app)
    # A double click sends the form once.
    browser.execute_script("var b = document.getElementById('booking-submit'); b.click(); b.click();")
    wait.until(EC.presence_of_element_located((By.ID, "booking-status")))
    booking_id = re.search(r"/bookings/(\d+)$", browser.current_url).group(1)
    assert _bookings(app) == before + 1
    assert "08:00–10:00" in browser.find_element(By.ID, "booking-summary").text

    # The document it owed, uploaded on the booking's page.
    pdf = tmp_path / "营业执照副本.pdf"
    pdf.write_bytes(PDF)
    browser.find_element(By.ID, "document-file").send_keys(str(pdf))
    submit(browser, browser.find_element(By.ID, "upload-submit"))
    wait.until(EC.text_to_be_present_in_element((By.ID, "documents"), "营业执照副本.pdf"))
    assert browser.find_element(By.ID, "documents-due").is_displayed()  # the deadline holds until receipt
    _log_out(browser)

    # The manager: the notice links to the booking; receipt confirmed there.
    _log_in(browser, live_server, manager)
    assert _menu(browser, "unread-count").text.strip() not in ("", "0")
    _menu(browser, "nav-notifications").click()
    browser.find_element(By.CSS_SELECTOR, f"a.notice-booking[href$='/bookings/{booking_id}']").click()
    wait.until(EC.presence_of_element_located((By.ID, "confirm-receipt"))).click()
    wait.until(EC.presence_of_element_located((By.ID, "documents-received")))
    assert not browser.find_elements(By.ID, "confirm-receipt")

    # The series is one row of the queue, approved as one.
    _menu(browser, "nav-approvals").click()
    row = wait.until(EC.presence_of_element_located((By.ID, f"series-{series['series_id']}")))
    weeks = row.find_elements(By.CSS_SELECTOR, "tr.week")
    assert len(weeks) == 3 and not any(week.is_displayed() for week in weeks)  # closed until opened
    row.find_element(By.CSS_SELECTOR, ".series-toggle").click()
    assert all(week.is_displayed() for week in weeks)
    submit(browser, row.find_element(By.CSS_SELECTOR, "button.approve-series"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.flash"), "3"))
    assert not browser.find_elements(By.ID, f"series-{series['series_id']}")
    statuses = [b["status"] for b in world.client.get(f"/api/v1/booking-series/{series['series_id']}",
                                                      headers=world.token(manager)).json]
    assert statuses == ["approved"] * 3
