"""Helpers for the page tests (CSRF tokens, signing in) and, for the browser test, the real server
and headless Chromium."""
from __future__ import annotations

import os
import re

import pytest

from tests.conftest import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The token a page's form carries (it is bound to the client's session cookie)."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def signed_in(app, email: str):
    """A fresh test client (its own cookie jar) signed in as `email`."""
    client = app.test_client()
    r = login(client, email)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium with a fresh profile. A missing browser fails the test: the issue requires
    this test to run, so it must not pass silently by skipping."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install the Debian packages chromium and "
                    "chromium-driver (./dev test does)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def ask_for_chinese(browser) -> None:
    """From now on the browser asks for Simplified Chinese (Accept-Language), as the bureau's readers'
    browsers do; headless Chromium asks for English, and pages follow what the browser asks for."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": "zh-CN,zh;q=0.9"}})


def submit(driver, control, timeout: float = 10) -> None:
    """Press a control that sends a form, and wait until the page it leads to has replaced this one.
    A wait for the next page's content could otherwise find the same element on the old page, and
    reading it while the browser swaps documents fails as chromedriver's unknown error 'Node with
    given id does not belong to the document', which no expected condition retries."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    old = driver.find_element(By.TAG_NAME, "html")
    control.click()
    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(EC.staleness_of(old))
