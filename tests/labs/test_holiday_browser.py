"""An administrator enters the year's holiday schedule in headless Chromium, at a desktop's 1280×800
and a phone's 390×844: a broken line is named, the corrected schedule is stored and listed, and
neither page scrolls sideways."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import PASSWORD
from tests.labs.test_holiday_schedule import SCHEDULE_2027
from tests.web.conftest import browser  # noqa: F401 (the fixture: headless Chromium)
from tests.web.test_phone_layout import DESKTOP, INSPECT, PHONE, _layout_problems


def _paste(browser, text: str) -> None:
    area = browser.find_element(By.ID, "schedule")
    area.clear()
    # Typed keys would take long for 30 lines; the value is set as a paste would set it.
    browser.execute_script("arguments[0].value = arguments[1];", area, text)
    browser.find_element(By.CSS_SELECTOR, "#holidays-form button[type=submit]").click()


@pytest.mark.parametrize("size, metrics", [("desktop", DESKTOP), ("phone", PHONE)])
def test_admin_enters_the_years_holiday_schedule(world, live_server, browser, size, metrics):
    _, email = world.user("admin")
    wait = WebDriverWait(browser, 15)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    browser.get(f"{live_server}/login?lang=en")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "logout")))
    if size == "phone":
        browser.find_element(By.ID, "menu-toggle").click()
    wait.until(EC.element_to_be_clickable((By.ID, "nav-holidays"))).click()
    wait.until(EC.presence_of_element_located((By.ID, "holidays-form")))
    assert _layout_problems(browser.execute_script(INSPECT), size) == []
    _paste(browser, SCHEDULE_2027.replace("2027-10-09,work", "2027-10-08,work"))
    error = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".field-error")))
    assert "2027-10-08 is a weekday" in error.text
    _paste(browser, SCHEDULE_2027)
    stored = wait.until(EC.presence_of_element_located((By.ID, "holidays-2027")))
    assert "Spring Festival" in stored.text
    assert _layout_problems(browser.execute_script(INSPECT), size) == []
