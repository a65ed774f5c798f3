"""The technician's journey in headless Chromium, at a desktop's 1280×800 and a phone's 390×844: sign
in, open the day's bookings from the menu, check in the booking running now, and see it checked in;
neither page scrolls sideways."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.booking.test_staff_pages import _status, running_booking
from tests.conftest import PASSWORD
from tests.web.conftest import browser  # noqa: F401 (the fixture: headless Chromium)
from tests.web.test_phone_layout import DESKTOP, INSPECT, PHONE, _layout_problems


@pytest.mark.parametrize("size, metrics", [("desktop", DESKTOP), ("phone", PHONE)])
def test_technician_checks_in_a_booking_from_the_day_page(world, live_server, browser, size, metrics):
    manager, _ = world.user("lab_manager")
    technician, technician_email = world.user("technician")
    _, owner_email = world.user("enterprise", enterprise=0)
    _lab, booking, _day = running_booking(world, manager, technician, owner_email)
    wait = WebDriverWait(browser, 15)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    browser.get(f"{live_server}/login?lang=en")
    browser.find_element(By.ID, "email").send_keys(technician_email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "logout")))
    if size == "phone":
        browser.find_element(By.ID, "menu-toggle").click()
    wait.until(EC.element_to_be_clickable((By.ID, "nav-staff-day"))).click()
    button = wait.until(EC.element_to_be_clickable((By.ID, f"check_in-{booking}")))
    assert _layout_problems(browser.execute_script(INSPECT), size) == []
    button.click()
    wait.until(EC.element_to_be_clickable((By.ID, f"complete-{booking}")))
    row = browser.find_element(By.ID, f"staff-booking-{booking}")
    assert "checked in" in row.text
    assert browser.find_elements(By.ID, f"check_in-{booking}") == []
    assert _layout_problems(browser.execute_script(INSPECT), size) == []
    assert _status(world.app, booking) == "checked_in"
