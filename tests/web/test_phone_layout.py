"""Every page of every role in headless Chromium, at a phone's 390×844 and a desktop's 1280×800:
no page scrolls sideways and no element reaches past the right edge of the screen (named when one
does); on a phone the header takes less than a third of the screen and its menu is folded behind
a button that opens it, on a desktop the menu is open.

The pages are the app's own GET routes (not the API, not files), so a new page is visited without
being listed here; their path parameters are filled from the demo's data, and a page no role gets
to see (a parameter not filled, or filled wrongly) fails the test by name."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from labs.db import session_scope
from tests.conftest import running_server

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
DESKTOP = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
# On the phone in English, whose words are the longest (Chinese breaks between any two characters);
# on the desktop in the default language.
PASSES = [("phone", PHONE, "en"), ("desktop", DESKTOP, "zh_Hans_CN")]
ROLES = ("admin", "lab_manager", "technician", "inspector", "enterprise", "anonymous")

# GET routes that answer with something other than a page to lay out.
NOT_PAGES = {
    "static", "swagger_ui_files", "spotchecks.static",  # files the pages load
    "feeds.lab_feed", "feeds.enterprise_feed",  # iCalendar feeds
    "verifications.certificate_pdf",  # a PDF
    "bookings.document",  # a booking's document as uploaded (a PDF or an image)
    "spotchecks.export_file",  # a CSV or JSON download
    "verifications.live", "spotchecks.status",  # JSON the pages poll
}


def page_rules(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.endpoint not in NOT_PAGES and not rule.rule.startswith("/api")),
                  key=lambda rule: rule.rule)


def _seed(app) -> None:
    """What `labs demo` shows: its labs, users and bookings, its rigs (the fuel dispenser and
    electricity meter rigs simulated here) and instruments, the dispenser's run done as the demo's
    runner does it, its spot-checks with the dispenser's run attached to its nominated task, and its
    work orders on site;
    besides, the demo enterprise's meter verified and asked to be verified on site, a taxi driver's
    number in the queue, a second plan still open for witnesses, and a registry upload waiting for
    the importer."""
    from devices.transport import BusPool
    from labs.accounts.models import User
    from labs.accounts.service import SYSTEM
    from labs.cli import upgrade
    from labs.demo import seed
    from labs.dispatch import demo as dispatch_demo
    from labs.services import service as services
    from labs.spotchecks import demo as spotcheck_demo, registry, results, service as spotchecks
    from labs.spotchecks.models import RegistryInstrument, TaskInstrument
    from labs.verification import demo as verification_demo, service as verification
    from labs.verification.engine import Store, run_verification
    from labs.verification.models import Rig, Verification, VerifiedInstrument
    from simulators.harness import RigOptions, simulated_rig

    upgrade(app)  # as `labs demo` does: the shipped procedures and regions (the tests empty every table)
    seed(app)
    options = RigOptions(error_pct=0.12, scatter_pct=0.02, speed=400)
    with simulated_rig("fdr", "tcp", options=options) as fdr, simulated_rig("emb", "tcp", options=options) as emb:
        with session_scope(app) as s:
            verification_demo.seed(s, {"fdr": fdr.link, "emb": emb.link, "tmr": "serial:///dev/ttyUSB0"})
            technician = s.scalar(select(User).where(User.role == "technician"))
            meter = s.scalar(select(VerifiedInstrument).where(VerifiedInstrument.kind == "electricity_meter"))
            rig = s.scalar(select(Rig).where(Rig.kind == "emb"))
            verification.request_verification(s, technician, meter.id, rig.id, seal_number="QF-2026-0117")
            meter_id, meter_owner = meter.id, meter.enterprise_id
        with session_scope(app) as s:
            runs = s.scalars(select(Verification.id).where(Verification.state == "queued")).all()

        async def run_all():
            async with BusPool() as pool:
                return [await run_verification(Store(app.extensions["labs.sessionmaker"]), run, pool) for run in runs]
        assert asyncio.run(run_all()) == ["done"] * len(runs)
    with session_scope(app) as s:
        spotcheck_demo.seed(s, app.config["SECRET_KEY"])
        dispatch_demo.seed(s)
        nominated = s.scalar(select(TaskInstrument.id).join(RegistryInstrument).where(
            RegistryInstrument.serial_number == spotcheck_demo.DEMO_DISPENSER[2]))
        dispenser_run = s.scalar(select(Verification.id).join(VerifiedInstrument).where(
            VerifiedInstrument.serial_number == spotcheck_demo.DEMO_DISPENSER[2]))
        results.attach_verification(s, SYSTEM, nominated, dispenser_run)
        spotchecks.create_plan(s, SYSTEM, {
            "name": "2027 年第一季度电能表双随机抽查", "instrument_kind": "electricity_meter", "regions": ["320100"],
            "entity_kinds": ["fuel_station"], "shares": {"high": "0.3", "medium": "0.1"},
            "draw_date": dt.date.today() + dt.timedelta(days=40)})
        registry.queue_import(s, SYSTEM, "entities", "南京市加油站名录.csv",
                              "credit_code,name,kind,region,risk_level\n".encode())
        alice = s.scalar(select(User).where(User.enterprise_id == meter_owner))
        services.submit_request(s, alice, {
            "mode": "on_site", "address": "北京市经济技术开发区某路 8 号 2 号配电室", "instrument_ids": [meter_id],
            "preferred_dates": [], "contact_name": "王工", "contact_phone": "13800000000"})
        taxi = s.scalar(select(VerifiedInstrument).where(VerifiedInstrument.kind == "taxi_meter"))
        services.take_ticket(s, app.config["SECRET_KEY"], taxi.plate_number, taxi.serial_number, "192.0.2.7")


def _path_values(app) -> dict[str, list]:
    """Values for each path parameter (by its name in the rule), from the seeded data: the demo
    enterprise's instrument and run among them, so its own pages are seen by the enterprise."""
    from booking.models import Booking
    from labs.catalog.models import Lab
    from labs.dispatch.models import WorkOrder
    from labs.services.models import ServiceRequest, TaxiTicket
    from labs.spotchecks.models import Plan, RegistryImport, TaskInstrument
    from labs.verification.models import Certificate, Rig, Verification, VerifiedInstrument
    with session_scope(app) as s:
        return {
            "lab_id": [s.scalar(select(Lab.id).where(Lab.code == "BRG"))],
            "booking_id": s.scalars(select(Booking.id)).all(),  # each demo enterprise's
            "instrument_id": s.scalars(select(VerifiedInstrument.id).order_by(VerifiedInstrument.id).limit(3)).all(),
            "rig_id": s.scalars(select(Rig.id).limit(1)).all(),
            "verification_id": s.scalars(select(Verification.id)).all(),
            "number": s.scalars(select(Certificate.number)).all(),
            "plan_id": s.scalars(select(Plan.id)).all(),
            # The nominated instrument (the demo's dispenser, its run done) and one drawn at random.
            "task_instrument_id": s.scalars(
                select(TaskInstrument.id).order_by(TaskInstrument.id.desc()).limit(2)).all(),
            "import_id": s.scalars(select(RegistryImport.id)).all(),
            "work_order_id": s.scalars(select(WorkOrder.id).limit(2)).all(),
            "request_id": s.scalars(select(ServiceRequest.id)).all(),
            "token": s.scalars(select(TaxiTicket.token)).all(),  # a driver's ticket
        }


def page_urls(app) -> tuple[list[str], list[str]]:
    """Every page's address, once for each value of its parameters; and the routes whose
    parameters have no values."""
    values = _path_values(app)
    urls, unfilled = [], []
    for rule in page_rules(app):
        missing = sorted(rule.arguments - set(values))
        if missing or any(not values[arg] for arg in rule.arguments):
            unfilled.append(f"{rule.endpoint} ({rule.rule}): no values for {', '.join(missing) or rule.arguments}")
            continue
        combinations = [{}]
        for arg in sorted(rule.arguments):
            combinations = [{**c, arg: v} for c in combinations for v in values[arg]]
        with app.test_request_context():
            from flask import url_for
            urls += [url_for(rule.endpoint, **c) for c in combinations]
    return urls, unfilled


# Each page's answer to the signed-in browser, asked for all at once: which of them the role sees.
ANSWERS = """
const [urls, done] = arguments;
Promise.all(urls.map((url) => fetch(url, {credentials: "same-origin"}).then((r) => {
  const at = new URL(r.url);
  return [url, r.status, at.pathname + at.search, r.headers.get("Content-Type") || ""];
}))).then(done, (error) => done(String(error)));
"""

# What reaches past the right edge of the screen, once the page has loaded; only the outermost of
# the elements that stick out is named.
INSPECT = """
const width = document.documentElement.clientWidth;
const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
  + [...el.classList].map((c) => "." + c).join("")
  + ' "' + (el.innerText || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 40) + '"';
const sticking = new Set();
const named = [];
for (const el of document.body.querySelectorAll("*")) {
  const box = el.getBoundingClientRect();
  if ((box.width === 0 && box.height === 0) || box.right <= width + 0.5) continue;
  sticking.add(el);
  if (!sticking.has(el.parentElement)) named.push(name(el) + " ends at " + Math.round(box.right) + "px");
}
const header = document.querySelector("header.top");
return {charts: document.querySelectorAll("canvas").length, width: width, innerWidth: window.innerWidth, innerHeight: window.innerHeight,
        scrollWidth: document.documentElement.scrollWidth,
        header: header ? header.getBoundingClientRect().height : 0, sticking: named.slice(0, 8)};
"""


# A chart follows its box: drawn at the size it is shown (not stretched or squeezed), on the screen.
CHARTS_FIT = """
return [...document.querySelectorAll("canvas")].every((canvas) => {
  const box = canvas.getBoundingClientRect();
  return Math.abs(canvas.width / window.devicePixelRatio - box.width) <= 2
    && box.right <= document.documentElement.clientWidth + 0.5;
});
"""


def _sign_in(browser, base: str, email: str | None, password: str) -> None:
    browser.delete_all_cookies()
    if email is None:
        return
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-submit").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "logout")))


def _layout_problems(page: dict, size: str) -> list[str]:
    problems = []
    if page["innerWidth"] != (PHONE if size == "phone" else DESKTOP)["width"]:
        # A phone zooms out to show a page wider than its screen (or one without a viewport tag).
        problems.append(f"laid out {page['innerWidth']} px wide")
    if page["scrollWidth"] > page["width"]:
        problems.append(f"the page is {page['scrollWidth']} px wide on a {page['width']} px screen")
    problems += page["sticking"]
    if size == "phone" and page["header"] * 3 >= page["innerHeight"]:
        problems.append(f"the header takes {page['header']:.0f} of {page['innerHeight']} px")
    return problems


def _menu_problems(browser, size: str) -> list[str]:
    """On a phone the menu is folded behind its button and, opened, every entry is on the screen;
    on a desktop it is open and the button is not shown."""
    toggle = browser.find_element(By.ID, "menu-toggle")
    links = browser.find_elements(By.CSS_SELECTOR, "#menu a, #menu button")
    if size == "desktop":
        return ["the menu is folded on a desktop"] if toggle.is_displayed() or not links[0].is_displayed() else []
    if any(link.is_displayed() for link in links):
        return ["the menu is open before its button is pressed"]
    toggle.click()
    WebDriverWait(browser, 5).until(lambda b: links[0].is_displayed())
    page = browser.execute_script(INSPECT)
    problems = [f"with the menu open: {p}" for p in page["sticking"]]
    problems += [f"menu entry {link.text!r} is hidden" for link in links if not link.is_displayed()]
    toggle.click()
    return problems


def _chart_problems(browser) -> list[str]:
    """A chart drawn on a desktop is drawn again for the phone the window becomes (a phone turned)."""
    problems = []
    for metrics in (PHONE, DESKTOP):
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        try:
            WebDriverWait(browser, 5).until(lambda b: b.execute_script(CHARTS_FIT))
        except TimeoutException:
            problems.append(f"a chart is not redrawn at {metrics['width']} px wide")
    return problems


def test_every_page_of_every_role_fits_a_phone_and_a_desktop(app, browser, database_url, tmp_path):
    from labs.demo import PASSWORD, USERS
    _seed(app)
    urls, unfilled = page_urls(app)
    emails = {role: next(email for r, email, _code, _name in USERS if r == role) for role in ROLES[:-1]}
    problems: dict[str, list[str]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)
    with running_server(database_url, tmp_path, workers=2) as base:
        browser.set_script_timeout(60)
        for role in ROLES:
            _sign_in(browser, base, emails.get(role), PASSWORD)
            browser.get(f"{base}/login")
            visits = []
            answers = browser.execute_async_script(ANSWERS, urls)
            assert isinstance(answers, list), f"{role}: the pages could not be fetched: {answers}"
            for url, status, at, kind in answers:
                if status >= 500:
                    problems[f"{role} {url}"].append(f"answered {status}")
                elif status == 200 and at == url:
                    seen[url].add(role)
                    visits.append(url)
                    if not kind.startswith("text/html"):
                        problems[f"{role} {url}"].append(f"answered {kind}: a page, or one of NOT_PAGES?")
            # The page that says no (403, 404, or the login page) is laid out once.
            visits += [url for url in urls if role not in seen[url]][:1]
            for size, metrics, lang in PASSES:
                browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                browser.get(f"{base}/?lang={lang}")
                problems[f"{role} {size} {lang} /"] += _menu_problems(browser, size)
                for url in visits:
                    browser.get(base + url)
                    page = browser.execute_script(INSPECT)
                    problems[f"{role} {size} {lang} {url}"] += _layout_problems(page, size)
                    if page["charts"] and size == "desktop":
                        problems[f"{role} {url}"] += _chart_problems(browser)
    report = [f"{where}: {p}" for where, ps in problems.items() for p in ps]
    report += [f"{url}: no role sees this page (its parameters filled wrongly?)" for url in urls if not seen[url]]
    report += [f"{route}: add its parameter to _path_values" for route in unfilled]
    assert not report, "\n".join(report)
