"""End to end in headless Chromium against `labs serve`, with `labs runner` driving a simulated
dispenser rig over Modbus TCP: a technician starts a run from the console, watches its readings
arrive on the run page, sees the verdict and opens the certificate; the PDF's QR code leads an
anonymous visitor to the same certificate."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from simulators.harness import RigOptions, simulated_rig
from tests.conftest import LABS_BIN, PASSWORD
from tests.web.conftest import ask_for_chinese, browser  # noqa: F401 (browser: the fixture, headless Chromium)

RUN_TIMEOUT_S = 90  # the whole run, two points of three deliveries, at 100 simulated seconds a second


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (poppler-utils, zbar-tools; ./dev test installs them)", pytrace=False)
    return path


def _qr_of(pdf_path) -> str:
    prefix = pdf_path.with_suffix("")
    subprocess.run([_tool("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
                    str(prefix)], check=True, timeout=60)
    done = subprocess.run([_tool("zbarimg"), "--raw", "-q", f"{prefix}.png"], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


@pytest.fixture
def runner(database_url, tmp_path):
    """`labs runner` on the test database, stopped with SIGTERM at the end."""
    log_path = tmp_path / "runner.log"
    env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "runner-instance"),
           "LABS_SECRET_KEY": "runner-test-key-of-at-least-32-bytes!"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(LABS_BIN), "runner", "--lease-seconds", "5", "--poll-seconds", "0.2"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    yield log_path
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_technician_runs_a_verification_from_the_console_and_its_qr_code_confirms_it(
        world, bench, live_server, runner, browser, tmp_path):
    _, technician = world.user("technician")
    wait = WebDriverWait(browser, 15)
    ask_for_chinese(browser)
    with simulated_rig("fdr", "tcp", options=RigOptions(speed=100, error_pct=0.2)) as sim:
        rig = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        bench.instrument("fuel_dispenser", "SN-BROWSER-0001")

        browser.get(f"{live_server}/login")
        browser.find_element(By.ID, "email").send_keys(technician)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "login-submit").click()
        wait.until(EC.presence_of_element_located((By.ID, "nav-console"))).click()

        # The console: find the dispenser by its serial number, pick the rig, nozzle 1, start.
        wait.until(EC.presence_of_element_located((By.ID, "serial_number"))).send_keys("SN-BROWSER-0001")
        browser.find_element(By.ID, "search-submit").click()
        chosen = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#instrument_id option[selected]")))
        assert "SN-BROWSER-0001" in chosen.text
        Select(browser.find_element(By.ID, "rig_id")).select_by_value(str(rig))
        browser.find_element(By.ID, "nozzle").send_keys("1")
        browser.find_element(By.ID, "seal_number").send_keys("QF-2026-0001")
        browser.find_element(By.ID, "run-submit").click()
        wait.until(EC.url_matches(r"/verification/runs/\d+$"))
        run_id = re.search(r"/runs/(\d+)$", browser.current_url).group(1)
        assert browser.find_elements(By.CSS_SELECTOR, "#plan tbody tr")

        # The run page follows the runner: readings arrive with their errors, then the verdict.
        slow = WebDriverWait(browser, RUN_TIMEOUT_S)
        first = slow.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#readings tr.reading")))
        assert re.fullmatch(r"\+0\.\d+", first.find_element(By.CSS_SELECTOR, "td.error").text), first.text
        verdict = slow.until(EC.presence_of_element_located((By.ID, "verdict")))
        assert verdict.get_attribute("data-verdict") == "pass", runner.read_text()
        assert len(browser.find_elements(By.CSS_SELECTOR, "#readings tr.reading")) == 6
        assert len(browser.find_elements(By.CSS_SELECTOR, "#evaluation tbody tr")) == 2
        assert browser.find_element(By.ID, "state").get_attribute("data-state") == "done"
    number = browser.find_element(By.ID, "certificate-link").text
    assert re.fullmatch(r"JD\d{4}-\d{6}", number)
    pdf_url = browser.find_element(By.ID, "certificate-pdf").get_attribute("href")

    browser.find_element(By.ID, "certificate-link").click()
    wait.until(EC.presence_of_element_located((By.ID, "certificate-number")))
    assert browser.find_element(By.ID, "certificate-number").text == number
    assert browser.find_element(By.ID, "certificate-verdict").text == "合格"

    # The PDF, downloaded with the technician's session cookie; its QR code opened by anyone.
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    pdf = requests.get(pdf_url, cookies=cookies, timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert requests.get(pdf_url, timeout=30, allow_redirects=False).status_code == 302  # not without a login
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf.content)
    url = _qr_of(path)
    assert url == f"{live_server}/certificates/{number}"
    public = requests.get(url, timeout=30)
    assert public.status_code == 200
    assert number in public.text and "合格" in public.text and "不合格" not in public.text
    assert run_id and f"/verification/runs/{run_id}" not in public.text
