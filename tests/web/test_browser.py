"""End to end in headless Chromium against `labs serve`: an enterprise requests a slot, the lab
manager approves it in the approval queue, the enterprise sees it approved."""
from __future__ import annotations

import os
import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import PASSWORD, next_working_day
from tests.web.conftest import ask_for_chinese, submit


def _log_in(driver, base: str, email: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "logout")))


def _log_out(driver) -> None:
    driver.find_element(By.ID, "logout").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "nav-login")))


def _set(driver, element_id: str, value: str) -> None:
    # Date and time inputs take keystrokes in the browser's locale format; the value is ISO.
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, element_id), value)


def test_enterprise_requests_manager_approves_enterprise_sees_approved(world, live_server, browser, tmp_path):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(name="轴承寿命试验室", manager_ids=[manager_id], bays=2)
    day = next_working_day()
    wait = WebDriverWait(browser, 10)
    ask_for_chinese(browser)

    browser.get(f"{live_server}/?week={day.isoformat()}")
    assert "实验室目录" in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(os.environ.get("LABS_SCREENSHOT", str(tmp_path / "catalog.png")))

    _log_in(browser, live_server, alice)
    browser.get(f"{live_server}/bookings/new?lab_id={lab}")
    _set(browser, "date", day.isoformat())
    _set(browser, "start", "09:00")
    _set(browser, "end", "11:30")
    for field, text in (("test_type", "寿命试验"), ("sample_description", "6205 深沟球轴承 20 套"),
                        ("contact_phone", "13800000000")):
        browser.find_element(By.ID, field).send_keys(text)
    browser.find_element(By.ID, "booking-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "booking-status")))  # the request's own page
    booking_id = re.search(r"/bookings/(\d+)$", browser.current_url).group(1)
    assert "09:00–11:30" in browser.find_element(By.ID, "booking-summary").text
    _log_out(browser)

    _log_in(browser, live_server, manager)
    browser.find_element(By.ID, "nav-approvals").click()
    queued = wait.until(EC.presence_of_element_located((By.ID, f"approval-{booking_id}")))
    assert "寿命试验" in queued.text
    submit(browser, queued.find_element(By.CSS_SELECTOR, "button.approve"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.flash"), "已批准"))
    assert not browser.find_elements(By.ID, f"approval-{booking_id}")
    _log_out(browser)

    _log_in(browser, live_server, alice)
    browser.find_element(By.ID, "nav-my-bookings").click()
    row = wait.until(EC.presence_of_element_located((By.ID, f"booking-{booking_id}")))
    assert row.get_attribute("data-status") == "approved" and "已批准" in row.text
