"""A spot-check end to end in headless Chromium against `labs serve`, with `labs runner` driving a
simulated dispenser rig over Modbus TCP: the public nominates a station's nozzle; an inspector
creates a plan, two witnesses commit, the scope is frozen, the secrets revealed, the draw made and
the most nominated nozzle added as a nominated task; a technician verifies that nozzle; the first
drawn inspector attaches the run and reviews it on the chart of its errors over the MPE band; the
second countersigns; the result is on the public page and in the week's file for the credit
publicity system."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select, update

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.spotchecks import results
from labs.spotchecks.models import RegistryEntity, RegistryInspector, Task
from labs.verification import service as verification
from simulators.harness import RigOptions, simulated_rig
from tests.conftest import PASSWORD
from tests.spotchecks.conftest import code
from tests.verification.conftest import DISPENSER
from tests.verification.test_browser import runner  # noqa: F401 (the fixture: `labs runner` on the test database)
from tests.web.conftest import browser  # noqa: F401 (the fixture: headless Chromium)

RUN_TIMEOUT_S = 90
WITNESSES = (("纪检监察员", "discipline officer's secret"), ("企业观察员", "enterprises' observer's secret"))
NOMINATED = "JYJ-25-2"  # station 25 is low risk: only a nomination brings it into a plan drawing high risk


def _sign_in(browser, base: str, email: str, wait) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "logout")))


def _click(browser, wait, element_id: str) -> None:
    wait.until(EC.element_to_be_clickable((By.ID, element_id))).click()


def test_a_nominated_nozzle_is_checked_reviewed_countersigned_published_and_exported(
        app, world, registry, bench, live_server, runner, browser, tmp_path):  # noqa: F811
    wait = WebDriverWait(browser, 15)
    with session_scope(app) as session:  # the registry's stations, as the registry import names their kind
        session.execute(update(RegistryEntity).values(kind="fuel_station"))
        inspector_ids = list(session.scalars(select(RegistryInspector.id).order_by(RegistryInspector.id)))
        verification.register_instrument(session, SYSTEM, {
            "kind": "fuel_dispenser", "serial_number": NOMINATED, "owner_credit_code": code(25),
            "owner_name": "加油站 25", "nameplate": DISPENSER, "location": "某市某路 25 号"})
    users = {inspector_id: world.user("inspector") for inspector_id in inspector_ids}
    with session_scope(app) as session:
        for inspector_id, (user_id, _) in users.items():
            session.get(RegistryInspector, inspector_id).user_id = user_id
    _, organiser = world.user("inspector")
    _, technician = world.user("technician")

    # 你点我查, no login: find the station by name, choose its nozzle, say why.
    browser.get(f"{live_server}/spotchecks")
    _click(browser, wait, "nav-nominate")
    wait.until(EC.presence_of_element_located((By.ID, "q"))).send_keys("加油站 25")
    browser.find_element(By.ID, "search-submit").click()
    nozzle = wait.until(EC.presence_of_element_located(
        (By.XPATH, f"//label[contains(., '{NOMINATED}')]/input[@name='instrument_id']")))
    nozzle.click()
    browser.find_element(By.ID, "reason").send_keys("加满一箱总觉得少了两升")
    browser.find_element(By.ID, "phone").send_keys("138 0013 8000")
    browser.find_element(By.ID, "nominate-submit").click()
    row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#nomination-counts tbody tr")))
    assert NOMINATED in row.text and row.find_element(By.CSS_SELECTOR, "td.count").text == "1"

    # The organiser creates the plan: high-risk stations of two cities, 20 %, two inspectors each.
    _sign_in(browser, live_server, organiser, wait)
    _click(browser, wait, "nav-spotcheck-plans")
    _click(browser, wait, "new-plan")
    wait.until(EC.presence_of_element_located((By.ID, "name"))).send_keys("2026 年第四季度加油机专项监督抽查")
    browser.find_element(By.ID, "regions").send_keys("320100, 320200")
    browser.find_element(By.ID, "share_high").send_keys("20")
    browser.execute_script("document.getElementById('draw_date').value = arguments[0]", dt.date.today().isoformat())
    browser.find_element(By.ID, "plan-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "witness-form")))
    plan_url = browser.current_url
    plan_id = int(plan_url.rsplit("/", 1)[1])

    # Two witnesses publish the SHA-256 of their secrets, then the scope is frozen.
    for position, (name, secret) in enumerate(WITNESSES, start=1):
        wait.until(EC.presence_of_element_located((By.ID, "witness-name"))).send_keys(name)
        browser.find_element(By.ID, "commitment").send_keys(hashlib.sha256(secret.encode()).hexdigest())
        browser.find_element(By.ID, "witness-submit").click()
        wait.until(EC.presence_of_element_located((By.ID, f"witness-{position}")))
    _click(browser, wait, "freeze")
    snapshot = wait.until(EC.presence_of_element_located((By.ID, "snapshot-sha256"))).text
    assert len(snapshot) == 64
    for position, (_, secret) in enumerate(WITNESSES, start=1):
        wait.until(EC.presence_of_element_located((By.ID, f"secret-{position}"))).send_keys(secret)
        browser.find_element(By.ID, f"reveal-{position}").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f"#witness-{position} .status.revealed")))
    _click(browser, wait, "draw")
    wait.until(EC.presence_of_element_located((By.ID, "tasks")))
    assert browser.find_element(By.ID, "plan-state").get_attribute("data-state") == "drawn"
    drawn = browser.find_elements(By.CSS_SELECTOR, "#tasks tr[data-origin=drawn]")
    assert len(drawn) == 2  # 20 % of the ten high-risk stations

    # The most nominated nozzle joins the plan as a nominated task.
    assert NOMINATED in browser.find_element(By.ID, "nominated").text
    top = browser.find_element(By.ID, "top-nominated")
    top.clear()
    top.send_keys("1")
    browser.find_element(By.ID, "add-nominated").click()
    task_row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#tasks tr[data-origin=nominated]")))
    assert NOMINATED in task_row.text and code(25) in task_row.text

    # Anyone re-runs the published draw: the page confirms it.
    _click(browser, wait, "public-draw")
    assert wait.until(EC.presence_of_element_located((By.ID, "confirmation"))).get_attribute("data-confirmed") == "yes"
    assert browser.find_element(By.ID, "snapshot-sha256").text == snapshot

    with session_scope(app) as session:
        task = session.scalar(select(Task).where(Task.plan_id == plan_id, Task.origin == "nominated"))
        task_id, (first, second) = task.id, task.inspector_ids
        task_instrument = task.instruments[0].id

    # The technician verifies the nozzle on the simulated rig, driven by `labs runner`.
    with simulated_rig("fdr", "tcp", options=RigOptions(speed=100, error_pct=0.2)) as sim:
        rig = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        _sign_in(browser, live_server, technician, wait)
        _click(browser, wait, "nav-console")
        wait.until(EC.presence_of_element_located((By.ID, "serial_number"))).send_keys(NOMINATED)
        browser.find_element(By.ID, "search-submit").click()
        chosen = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#instrument_id option[selected]")))
        assert NOMINATED in chosen.text
        Select(browser.find_element(By.ID, "rig_id")).select_by_value(str(rig))
        browser.find_element(By.ID, "nozzle").send_keys("1")
        browser.find_element(By.ID, "run-submit").click()
        verdict = WebDriverWait(browser, RUN_TIMEOUT_S).until(EC.presence_of_element_located((By.ID, "verdict")))
        assert verdict.get_attribute("data-verdict") == "pass", runner.read_text()
    run_id = int(browser.current_url.rsplit("/", 1)[1])

    # The first drawn inspector attaches the run and reviews it on the chart.
    _sign_in(browser, live_server, users[first][1], wait)
    browser.get(plan_url)
    _click(browser, wait, f"task-instrument-{task_instrument}")
    Select(wait.until(EC.presence_of_element_located((By.ID, "verification_id")))).select_by_value(str(run_id))
    browser.find_element(By.ID, "attach").click()
    canvas = WebDriverWait(browser, 30).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "#error-chart[data-drawn=yes]")))
    drawn_chart = browser.execute_script(
        "var c = window.Chart && window.Chart.getChart(arguments[0]);"
        "return c ? {datasets: c.data.datasets.length, readings: c.data.datasets[2].data.length,"
        " width: arguments[0].width} : null;", canvas)
    assert drawn_chart and drawn_chart["datasets"] == 4 and drawn_chart["readings"] == 6 and drawn_chart["width"] > 100
    assert browser.find_element(By.ID, "band-summary").get_attribute("data-outside") == "0"
    bands = browser.find_elements(By.CSS_SELECTOR, "#points td.band")
    assert len(bands) == 2 and all(b.get_attribute("data-inside") == "yes" for b in bands)
    browser.find_element(By.ID, "conclusion-pass").click()
    browser.find_element(By.ID, "note").send_keys("各流量点误差均在最大允许误差内")
    browser.find_element(By.ID, "review-submit").click()
    assert wait.until(EC.presence_of_element_located((By.ID, "conclusion"))).get_attribute("data-conclusion") == "pass"

    # The second countersigns: the task is concluded and published.
    _sign_in(browser, live_server, users[second][1], wait)
    browser.get(f"{live_server}/spotchecks/task-instruments/{task_instrument}")
    _click(browser, wait, "countersign")
    wait.until(EC.presence_of_element_located((By.ID, "countersigned")))

    # The public page, without a login, shows the result.
    browser.delete_all_cookies()
    browser.get(f"{live_server}/spotchecks")
    browser.refresh()  # the copy cached at the start is fresh for a minute; a reload revalidates its ETag
    result = wait.until(EC.presence_of_element_located((By.ID, f"result-{task_id}")))
    assert code(25) in result.text and "加油站 25" in result.text and NOMINATED in result.text
    assert result.find_element(By.CSS_SELECTOR, "td.verdict").get_attribute("data-verdict") == "pass"

    # The week's file for the credit publicity system holds it.
    with session_scope(app) as session:
        export = results.export_week(session, str(tmp_path / "exports"))
        assert export is not None and export.rows == 1
        csv_path, json_path = export.csv_path, export.json_path
    rows = list(csv.reader(open(csv_path, encoding="utf-8-sig")))
    assert rows[1][0] == code(25) and rows[1][3] == "你点我查" and rows[1][4] == "合格"
    assert json.load(open(json_path, encoding="utf-8"))["results"][0]["origin"] == "nominated"
