"""In headless Chromium against `labs serve`, on a phone (390×844) and a desktop (1280×800), in Chinese:
a lab manager removes a closure and retires an instrument through the manage page's buttons, each
behind its confirm step, and the page never scrolls sideways."""
from __future__ import annotations

import datetime as dt

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from labs.catalog.models import Instrument
from labs.db import session_scope
from tests.conftest import next_working_day
from tests.web.conftest import ask_for_chinese, submit
from tests.web.test_browser import _log_in
from tests.web.test_manage import _closure, _lab
from tests.web.test_phone_layout import DESKTOP, INSPECT, PHONE, _layout_problems


def _fits(browser, size: str) -> list[str]:
    return _layout_problems(browser.execute_script(INSPECT), size)


def _confirm(browser, details_id: str, button_id: str) -> None:
    """Open the confirm step (a <details>, no script) and press the button it shows."""
    button = browser.find_element(By.ID, button_id)
    assert not button.is_displayed()  # one click does not remove or retire anything
    browser.find_element(By.CSS_SELECTOR, f"#{details_id} > summary").click()
    WebDriverWait(browser, 5).until(EC.visibility_of(button))
    submit(browser, button)


def test_manager_removes_a_closure_and_retires_an_instrument_on_a_phone_and_a_desktop(
        app, world, live_server, browser):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id], instruments=[
        {"code": code, "name": "扭矩仪", "certificate_no": "JJG-1", "calibration_valid_until": dt.date(2031, 6, 30)}
        for code in ("TQ-1", "TQ-2")])
    instruments = [i.id for i in _lab(app, lab_id).instruments]
    day = next_working_day()
    closures = [_closure(app, lab_id, day, "主轴维护"), _closure(app, lab_id, day + dt.timedelta(days=1), "年度检修")]
    wait = WebDriverWait(browser, 10)
    ask_for_chinese(browser)
    _log_in(browser, live_server, manager)
    page = f"{live_server}/labs/{lab_id}/manage"

    for size, metrics, closure_id, instrument_id, code in (
            ("phone", PHONE, closures[0], instruments[0], "TQ-1"),
            ("desktop", DESKTOP, closures[1], instruments[1], "TQ-2")):
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        browser.get(page)
        assert _fits(browser, size) == []
        browser.find_element(By.CSS_SELECTOR, f"#remove-closure-{closure_id} > summary").click()
        browser.find_element(By.CSS_SELECTOR, f"#retire-{instrument_id} > summary").click()
        assert _fits(browser, size) == []  # both confirm steps open
        browser.get(page)

        _confirm(browser, f"remove-closure-{closure_id}", f"confirm-remove-closure-{closure_id}")
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.flash.info"), "的停用时段已删除"))
        assert not browser.find_elements(By.ID, f"closure-{closure_id}")

        _confirm(browser, f"retire-{instrument_id}", f"confirm-retire-{instrument_id}")
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.flash.info"), f"仪器 {code} 已停用"))
        assert not browser.find_elements(By.ID, f"instrument-{instrument_id}")
        assert _fits(browser, size) == []

    lab = _lab(app, lab_id)
    assert lab.closures == [] and lab.instruments == []
    with app.app_context(), session_scope(app) as s:  # retired, the instruments stay on record
        assert all(s.get(Instrument, i).retired_on is not None for i in instruments)
