"""End to end in headless Chromium against `labs serve`, with `labs runner` driving simulated rigs:
an enterprise requests an on-site verification, follows its steps and opens the certificate once the
run concluded; a taxi driver takes a number on a phone-width page and sees the certificate."""
from __future__ import annotations

import re

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from labs.accounts.models import User
from labs.db import session_scope
from labs.services import service
from simulators.harness import RigOptions, simulated_rig
from tests.conftest import PASSWORD
from tests.services.conftest import TAXI_SPEED
from tests.verification.conftest import FAST
from tests.verification.test_browser import runner  # noqa: F401 (the fixture: `labs runner` on the test database)
from tests.web.conftest import browser  # noqa: F401 (the fixture: headless Chromium)

RUN_TIMEOUT_S = 120  # the run itself, with the runner's polling
PHONE_WIDTH = 390


def _sign_in(browser, base: str, email: str) -> None:
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.ID, "logout")))


def _token(base: str, email: str) -> dict:
    r = requests.post(f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _state_after_reload(browser, state: str):
    """The request page, reloaded until the request is in `state` (the page does not poll)."""
    def reached(driver):
        driver.refresh()
        found = driver.find_elements(By.CSS_SELECTOR, f"#request-state[data-state='{state}']")
        return found[0] if found else False
    return reached


def test_enterprise_requests_on_site_verification_follows_it_and_opens_the_certificate(
        world, bench, live_server, runner, browser):
    _, enterprise = world.user("enterprise", enterprise=0)
    _, manager = world.user("lab_manager")
    _, technician = world.user("technician")
    wait = WebDriverWait(browser, 15)
    with simulated_rig("emb", "tcp", options=RigOptions(speed=FAST * 5, error_pct=1.3, seed=20)) as sim:
        rig = bench.rig("emb", sim.link, sim.models[0].serial_number)
        meter = bench.instrument("electricity_meter", "DB-ONSITE-0001")

        _sign_in(browser, live_server, enterprise)
        browser.get(f"{live_server}/services/requests/new")
        Select(browser.find_element(By.ID, "mode")).select_by_value("on_site")
        browser.find_element(By.ID, f"instrument-{meter}").click()
        browser.find_element(By.ID, "address").send_keys("某市某区工业路 8 号 配电房")
        browser.find_element(By.ID, "contact_name").send_keys("李明")
        browser.find_element(By.ID, "contact_phone").send_keys("13800000001")
        browser.find_element(By.ID, "request-submit").click()
        wait.until(EC.url_matches(r"/services/requests/\d+$"))
        request_id = int(re.search(r"/requests/(\d+)$", browser.current_url).group(1))
        assert browser.find_element(By.ID, "request-state").get_attribute("data-state") == "requested"
        assert browser.find_element(By.ID, "conclusion-due").text
        assert [li.get_attribute("class") for li in browser.find_elements(By.CSS_SELECTOR, "#steps li")] == \
            ["step-requested"]

        # The bureau accepts and the technician queues the run on the rig (over the API, with their tokens).
        r = requests.post(f"{live_server}/api/v1/service-requests/{request_id}/accept",
                          headers=_token(live_server, manager), timeout=30)
        assert r.status_code == 200, r.text
        r = requests.post(f"{live_server}/api/v1/service-requests/{request_id}/runs",
                          headers=_token(live_server, technician), json={"instrument_id": meter, "rig_id": rig},
                          timeout=30)
        assert r.status_code == 201, r.text

        # The enterprise follows the steps until the runner's conclusion concludes the request.
        WebDriverWait(browser, RUN_TIMEOUT_S, poll_frequency=1).until(_state_after_reload(browser, "concluded"))
    steps = [li.get_attribute("class") for li in browser.find_elements(By.CSS_SELECTOR, "#steps li")]
    assert steps == ["step-requested", "step-accepted", "step-run_queued", "step-certificate_issued",
                     "step-concluded"], steps
    accepted = browser.find_element(By.CSS_SELECTOR, "#steps li.step-accepted").text
    assert "lab_manager" in accepted and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", accepted)
    assert browser.find_element(By.ID, "concluded").text
    link = browser.find_element(By.CSS_SELECTOR, "#request-instruments a.certificate-link")
    number = link.text
    assert re.fullmatch(r"JD\d{4}-\d{6}", number), number
    link.click()
    wait.until(EC.presence_of_element_located((By.ID, "certificate-number")))
    assert browser.find_element(By.ID, "certificate-number").text == number


def test_taxi_driver_takes_a_number_on_a_phone_and_sees_the_certificate(
        app, world, bench, live_server, runner, browser):
    technician_id, _ = world.user("technician")
    browser.set_window_size(PHONE_WIDTH, 844)
    with simulated_rig("tmr", "serial", options=RigOptions(speed=TAXI_SPEED, error_pct=-0.7, seed=328)) as sim:
        rig = bench.rig("tmr", sim.link, sim.models[0].serial_number)
        bench.instrument("taxi_meter", "JJQ-2026-0042")

        browser.get(f"{live_server}/taxi")
        browser.find_element(By.ID, "plate_number").send_keys("京B·T1234")
        browser.find_element(By.ID, "meter_serial").send_keys("JJQ-2026-0042")
        browser.find_element(By.ID, "take-number").click()
        wait = WebDriverWait(browser, 15)
        wait.until(EC.presence_of_element_located((By.ID, "ticket-place")))
        assert browser.find_element(By.ID, "ticket-number").get_attribute("data-number") == "1"
        token = browser.current_url.rsplit("/", 1)[1]
        assert len(token) >= 32
        # The page fits the phone: nothing wider than the screen.
        assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH

        # At the station: the technician calls the number and starts the run on the TMR rig.
        with session_scope(app) as s:
            staff = s.get(User, technician_id)
            ticket = service.call_next(s, staff)
            service.start_ticket_run(s, staff, ticket.id, rig)
        # The ticket page reloads itself; the driver waits for the result there.
        link = WebDriverWait(browser, RUN_TIMEOUT_S).until(EC.presence_of_element_located((By.ID, "certificate-link")))
    assert browser.find_element(By.ID, "ticket-result").text
    number = link.text
    assert re.fullmatch(r"JD\d{4}-\d{6}", number), number
    link.click()
    wait.until(EC.presence_of_element_located((By.ID, "certificate-number")))
    assert browser.find_element(By.ID, "certificate-number").text == number
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
