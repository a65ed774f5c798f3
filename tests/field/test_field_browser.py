"""The enterprise's view of a verification on site, in headless Chromium against `labs serve`: it
requests the visit, follows the steps, and opens the certificate once the technician's laptop, which
verified with `labs verify run` against a simulated rig, has synced its result up (`labs field sync`)."""
from __future__ import annotations

import datetime as dt
import json
import re

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.dispatch import service as dispatch
from labs.workdays import day_kind
from simulators.harness import RigOptions, simulated_rig
from tests.field.test_field_sync import _labs, _laptop_env, _token
from tests.services.test_browser import _sign_in, _state_after_reload
from tests.verification.conftest import FAST, Bench
from tests.web.conftest import browser  # noqa: F401 (the fixture: headless Chromium)


def _work_order(app, technician_id: int, instrument_id: int, request_id: int) -> int:
    """The visit that carries out the request: the technician on site on the next working day."""
    day = dispatch.local_today()
    while not day_kind(day).working:
        day += dt.timedelta(days=1)
    with session_scope(app) as session:
        return dispatch.plan_work_order(session, SYSTEM, {
            "instrument_ids": [instrument_id], "service_request_id": request_id, "site": "某市某区加油站 2 号岛",
            "day": day, "starts": dt.time(8), "ends": dt.time(18), "technician_ids": [technician_id],
            "rig_ids": []}).id


def test_enterprise_requests_a_visit_and_opens_the_certificate_once_the_laptop_synced(
        app, world, live_server, browser, tmp_path):
    bench = Bench(app)
    _, enterprise = world.user("enterprise", enterprise=0)  # the owner of the bench's instruments
    _, manager = world.user("lab_manager")
    technician_id, technician = world.user("technician")
    laptop = _laptop_env(tmp_path)
    assert _labs(laptop, "db", "upgrade").returncode == 0
    wait = WebDriverWait(browser, 15)
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.1, speed=FAST, seed=31)) as sim:
        bench.rig("fdr", sim.link, sim.models[0].serial_number)
        dispenser = bench.instrument("fuel_dispenser", "DSP-VISIT-1")

        _sign_in(browser, live_server, enterprise)
        browser.get(f"{live_server}/services/requests/new")
        Select(browser.find_element(By.ID, "mode")).select_by_value("on_site")
        browser.find_element(By.ID, f"instrument-{dispenser}").click()
        browser.find_element(By.ID, "address").send_keys("某市某区加油站 2 号岛")
        browser.find_element(By.ID, "contact_name").send_keys("王站长")
        browser.find_element(By.ID, "contact_phone").send_keys("13800000002")
        browser.find_element(By.ID, "request-submit").click()
        wait.until(EC.url_matches(r"/services/requests/\d+$"))
        request_id = int(re.search(r"/requests/(\d+)$", browser.current_url).group(1))

        token = _token(live_server, manager)
        accepted = requests.post(f"{live_server}/api/v1/service-requests/{request_id}/accept",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert accepted.status_code == 200, accepted.text
        _work_order(app, technician_id, dispenser, request_id)

        # The laptop brings the visit down, verifies on site, and has not synced up yet.
        token = _token(live_server, technician)
        down = _labs(laptop, "field", "sync", "--server", live_server, "--token-stdin", stdin=token)
        assert down.returncode == 0, down.stderr
        run = _labs(laptop, "verify", "run", "--procedure", "JJG 443", "--rig", "FDR-1", "--instrument",
                    "DSP-VISIT-1", "--nozzle", "1", "--technician", technician, "--json")
        assert run.returncode == 0, run.stderr
        number = json.loads(run.stdout)["certificate"]
    browser.refresh()
    assert browser.find_element(By.ID, "request-state").get_attribute("data-state") == "accepted"
    assert not browser.find_elements(By.CSS_SELECTOR, "#request-instruments a.certificate-link")

    up = _labs(laptop, "field", "sync", "--server", live_server, "--token-stdin", stdin=token)
    assert up.returncode == 0, up.stderr
    WebDriverWait(browser, 30, poll_frequency=1).until(_state_after_reload(browser, "concluded"))
    steps = [li.get_attribute("class") for li in browser.find_elements(By.CSS_SELECTOR, "#steps li")]
    assert steps[:2] == ["step-requested", "step-accepted"] and steps[-1] == "step-concluded", steps
    link = browser.find_element(By.CSS_SELECTOR, "#request-instruments a.certificate-link")
    assert link.text == number and number.endswith("-900000")  # the laptop's own block
    link.click()
    wait.until(EC.presence_of_element_located((By.ID, "certificate-number")))
    assert browser.find_element(By.ID, "certificate-number").text == number
