"""The Content-Security-Policy in headless Chromium against `labs serve`: Swagger UI at /api/docs
still renders the operations, and the pages' own scripts (with the response's nonce) run, with no
violation reported."""
from __future__ import annotations

import datetime as dt

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import PASSWORD

# Installed before any page script runs: every violation the browser reports is kept.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


def _recording(browser):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    return browser


def test_swagger_ui_renders_under_the_policy(live_server, browser):
    _recording(browser).get(f"{live_server}/api/docs")
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    assert len(browser.find_elements(By.CSS_SELECTOR, ".opblock")) > 10
    assert browser.execute_script("return window.__violations") == []


def test_the_booking_forms_script_runs_under_the_policy(live_server, browser, world):
    _, alice = world.user("enterprise", enterprise=0)
    lab_a = world.lab(instruments=[{"code": "A-1", "name": "gauge", "certificate_no": "C1",
                                    "calibration_valid_until": dt.date(2099, 1, 1)}])
    world.lab(instruments=[{"code": "B-1", "name": "gauge", "certificate_no": "C2",
                            "calibration_valid_until": dt.date(2099, 1, 1)}])
    _recording(browser).get(f"{live_server}/login")
    browser.find_element(By.ID, "email").send_keys(alice)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "logout")))
    browser.get(f"{live_server}/bookings/new")
    Select(browser.find_element(By.ID, "lab_id")).select_by_value(str(lab_a))
    groups = browser.find_elements(By.CSS_SELECTOR, ".instruments")
    shown = [group.get_attribute("data-lab") for group in groups if group.is_displayed()]
    assert shown == [str(lab_a)]  # the inline script (with its nonce) hid the other lab's instruments
    assert browser.execute_script("return window.__violations") == []
