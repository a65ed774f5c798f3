"""The verification pages over HTTP with the Flask test client, signed in through the login form and
posting forms with their real CSRF tokens: who may open what, what a form refuses (and that it
then writes nothing), an enterprise's view, the public certificate page and the PDF."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from labs.accounts.models import User
from labs.db import session_scope
from labs.verification import procedures
from labs.verification.models import Procedure, Rig, Verification, VerifiedInstrument
from simulators.harness import RigOptions
from tests.conftest import CODES
from tests.verification.conftest import FAST, OWNER
from tests.web.conftest import csrf_token, signed_in

ROLES = ("admin", "manager", "technician", "inspector", "owner", "other")


class Scene:
    """One user per role (`owner` is the enterprise that owns Bench's instruments), a lab that
    `manager` manages, and a dispenser rig with a dispenser registered through the bench."""

    def __init__(self, world, bench):
        self.world, self.bench, self.app = world, bench, world.app
        self.ids, self.emails = {}, {}
        for role, user_role, enterprise in (("admin", "admin", None), ("manager", "lab_manager", None),
                                            ("technician", "technician", None), ("inspector", "inspector", None),
                                            ("owner", "enterprise", 0), ("other", "enterprise", 1)):
            self.ids[role], self.emails[role] = world.user(user_role, enterprise=enterprise)
        assert CODES[0] == OWNER[0]  # Bench's instruments belong to `owner`'s enterprise
        self.lab = world.lab(manager_ids=[self.ids["manager"]])
        self.other_lab = world.lab()
        self.rig = bench.rig("fdr", "modbus+tcp://127.0.0.1:1?unit=1", "FDR-SIM-0001")
        self.dispenser = bench.instrument("fuel_dispenser", "DISP-0001")
        self._clients = {}

    def client(self, role: str):
        if role not in self._clients:
            self._clients[role] = (self.app.test_client() if role == "anonymous"
                                   else signed_in(self.app, self.emails[role]))
        return self._clients[role]

    def post(self, role: str, url: str, data: dict, token_from: str | None = None):
        client = self.client(role)
        token = csrf_token(client, token_from or ("/login" if role == "anonymous" else "/"))
        return client.post(url, data={**data, "csrf_token": token})

    def count(self, model) -> int:
        with session_scope(self.app) as s:
            return s.scalar(select(func.count()).select_from(model))

    def set_state(self, verification_id: int, state: str) -> None:
        with session_scope(self.app) as s:
            s.get(Verification, verification_id).state = state


@pytest.fixture
def scene(world, bench):
    return Scene(world, bench)


def status(r) -> int | str:
    if r.status_code in (302, 303) and r.headers["Location"].startswith("/login"):
        return "login"
    return r.status_code


def text(r) -> str:
    return r.get_data(as_text=True)


def check_roles(scene, url: str, allowed: set[str], denied_status: int = 403) -> None:
    got = {role: status(scene.client(role).get(url)) for role in ("anonymous", *ROLES)}
    want = {role: 200 if role in allowed else denied_status for role in ROLES}
    assert got == {"anonymous": "login", **want}, url


# --- who may open which page --------------------------------------------------------------------------

def test_each_page_answers_the_roles_allowed_and_refuses_the_others(scene):
    operators = {"admin", "manager", "technician"}
    staff = operators | {"inspector"}
    check_roles(scene, "/verification/console", operators)
    check_roles(scene, "/verification/instruments", staff | {"owner", "other"})
    check_roles(scene, "/verification/instruments/new", operators)
    check_roles(scene, f"/verification/instruments/{scene.dispenser}", staff | {"owner"}, denied_status=404)
    check_roles(scene, "/verification/rigs", staff)
    check_roles(scene, "/verification/rigs/new", {"admin", "manager"})
    check_roles(scene, f"/verification/rigs/{scene.rig}", {"admin", "manager"})
    check_roles(scene, "/verification/procedures", staff | {"owner", "other"})
    run = scene.bench.request(scene.dispenser, scene.rig, nozzle=1)
    check_roles(scene, f"/verification/runs/{run}", staff | {"owner"}, denied_status=404)


def test_navigation_offers_the_verification_pages_by_role(scene):
    technician = text(scene.client("technician").get("/verification/console"))
    for link in ("nav-console", "nav-instruments", "nav-rigs", "nav-procedures"):
        assert f'id="{link}"' in technician
    assert 'id="nav-my-instruments"' not in technician
    owner = text(scene.client("owner").get("/verification/instruments"))
    assert 'id="nav-my-instruments"' in owner and 'id="nav-console"' not in owner


def test_live_json_follows_the_session_and_answers_errors_in_json(scene):
    run = scene.bench.request(scene.dispenser, scene.rig, nozzle=1)
    r = scene.client("technician").get(f"/verification/runs/{run}/live.json")
    assert r.status_code == 200 and r.json["state"] == "queued" and r.json["points"] == 2
    assert r.json["readings"] == [] and r.json["verdict"] is None
    anonymous = scene.client("anonymous").get(f"/verification/runs/{run}/live.json")
    assert anonymous.status_code == 401 and anonymous.is_json
    assert scene.client("other").get(f"/verification/runs/{run}/live.json").status_code == 404
    # The API does not take the session cookie.
    assert scene.client("technician").get(f"/api/v1/verifications/{run}").status_code == 401


# --- the console --------------------------------------------------------------------------------------

def test_console_starts_a_run_and_shows_it_in_progress(scene):
    r = scene.post("technician", "/verification/console",
                   {"instrument_id": str(scene.dispenser), "rig_id": str(scene.rig), "nozzle": "2",
                    "seal_number": "QF-0001"}, "/verification/console")
    assert r.status_code == 303, text(r)
    run = int(re.fullmatch(r"/verification/runs/(\d+)", r.headers["Location"]).group(1))
    page = text(scene.client("technician").get(r.headers["Location"]))
    assert 'id="plan-0"' in page and 'id="plan-1"' in page and "QF-0001" in page
    assert 'id="cancel"' in page and 'id="verdict"' not in page
    console = text(scene.client("technician").get("/verification/console"))
    in_progress = console.split('id="runs-in-progress"')[1].split("</table>")[0]
    assert f'id="run-{run}"' in in_progress
    with session_scope(scene.app) as s:
        v = s.get(Verification, run)
        assert (v.nozzle, v.seal_number, v.state, v.technician_id) == (2, "QF-0001", "queued", scene.ids["technician"])


def test_console_search_by_serial_number_picks_the_instrument(scene):
    other = scene.bench.instrument("fuel_dispenser", "DISP-0002")
    page = text(scene.client("technician").get("/verification/console?serial_number=DISP-0002"))
    assert re.search(rf'<option value="{other}" data-kind="fuel_dispenser" selected>', page)
    assert f'<option value="{scene.dispenser}" data-kind' not in page
    missing = text(scene.client("technician").get("/verification/console?serial_number=NO-SUCH"))
    assert "NO-SUCH" in missing and 'class="field-error"' in missing


@pytest.mark.parametrize("form, field", [
    ({"rig_id": "1"}, "instrument_id"),  # no instrument
    ({"instrument_id": "{dispenser}", "rig_id": "99999", "nozzle": "1"}, "rig_id"),  # no such rig
    ({"instrument_id": "{dispenser}", "rig_id": "{rig}", "nozzle": "0"}, "nozzle"),  # out of range
    ({"instrument_id": "{dispenser}", "rig_id": "{rig}", "nozzle": "7"}, "nozzle"),  # not on the nameplate
    ({"instrument_id": "{dispenser}", "rig_id": "{rig}", "nozzle": "1", "as_found_id": "99999",
      "adjustment": "x"}, "as_found_id"),
    ({"instrument_id": "{dispenser}", "rig_id": "{rig}", "nozzle": "one"}, "nozzle"),
])
def test_console_refuses_bad_input_with_a_message_and_writes_nothing(scene, form, field):
    form = {k: v.format(dispenser=scene.dispenser, rig=scene.rig) for k, v in form.items()}
    r = scene.post("technician", "/verification/console", form, "/verification/console")
    assert r.status_code == 422
    page = text(r)
    assert 'id="form-errors"' in page and 'class="field-error"' in page
    assert scene.count(Verification) == 0


def test_a_rig_with_an_expired_standard_is_refused_at_the_console(scene):
    expired = scene.bench.rig("fdr", "modbus+tcp://127.0.0.1:1?unit=1", "FDR-SIM-0002",
                              valid_until=dt.date.today() - dt.timedelta(days=1))
    r = scene.post("technician", "/verification/console",
                   {"instrument_id": str(scene.dispenser), "rig_id": str(expired), "nozzle": "1"})
    assert r.status_code == 422 and "计量标准的证书" in text(r) and "过期" in text(r)  # in the page's language
    assert scene.count(Verification) == 0


def test_form_without_csrf_token_is_refused(scene):
    client = scene.client("technician")
    r = client.post("/verification/console", data={"instrument_id": str(scene.dispenser), "rig_id": str(scene.rig),
                                                   "nozzle": "1"})
    assert r.status_code == 400 and scene.count(Verification) == 0


# --- a run: cancel, retry, verdict, adjust and verify again ----------------------------------------------

def test_cancel_and_retry_buttons(scene):
    run = scene.bench.request(scene.dispenser, scene.rig, nozzle=1)
    assert scene.post("inspector", f"/verification/runs/{run}/cancel", {}).status_code == 403
    r = scene.post("technician", f"/verification/runs/{run}/cancel", {})
    assert r.status_code == 303 and r.headers["Location"] == f"/verification/runs/{run}"
    page = text(scene.client("technician").get(r.headers["Location"]))
    assert 'data-state="cancelled"' in page and 'id="cancel"' not in page
    again = scene.post("technician", f"/verification/runs/{run}/cancel", {})
    assert again.status_code == 303 and "flash error" in text(scene.client("technician").get(f"/verification/runs/{run}"))

    failed = scene.bench.request(scene.dispenser, scene.rig, nozzle=1)
    scene.set_state(failed, "failed")
    page = text(scene.client("technician").get(f"/verification/runs/{failed}"))
    assert 'id="retry"' in page and 'id="cancel"' in page
    assert scene.post("technician", f"/verification/runs/{failed}/retry", {}).status_code == 303
    with session_scope(scene.app) as s:
        assert s.get(Verification, failed).state == "queued"


def test_finished_runs_show_the_verdict_the_table_and_the_certificate(scene):
    passed = scene.bench.verify("fuel_dispenser", RigOptions(error_pct=0.1, speed=FAST))
    page = text(scene.client("technician").get(f"/verification/runs/{passed}"))
    assert 'id="verdict" data-verdict="pass"' in page
    assert 'id="point-result-0"' in page and 'id="point-result-1"' in page
    number = re.search(r'id="certificate-link">(JD\d{4}-\d{6})<', page).group(1)
    assert f'href="/verification/certificates/{number}.pdf"' in page
    assert 'id="adjust-again"' not in page
    live = scene.client("technician").get(f"/verification/runs/{passed}/live.json").json
    assert live["verdict"] == "pass" and live["certificate"] == number and len(live["readings"]) == 6
    assert all(r["error_pct"].startswith("+0.1") for r in live["readings"])

    failed = scene.bench.verify("fuel_dispenser", RigOptions(error_pct=0.5, speed=FAST))
    page = text(scene.client("technician").get(f"/verification/runs/{failed}"))
    assert 'data-verdict="fail"' in page and re.search(r'id="certificate-link">TZ\d{4}-\d{6}<', page)
    link = re.search(r'id="adjust-again" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"as_found_id={failed}" in link
    console = text(scene.client("technician").get(link))
    assert f'name="as_found_id" id="as_found_id" min="1" value="{failed}"' in console
    # The owner sees the verdict but no buttons; the inspector neither.
    owner_page = text(scene.client("owner").get(f"/verification/runs/{failed}"))
    assert 'data-verdict="fail"' in owner_page and 'id="adjust-again"' not in owner_page


# --- instruments -----------------------------------------------------------------------------------------

INSTRUMENT = {"kind": "fuel_dispenser", "serial_number": "NEW-01", "owner_credit_code": CODES[2],
              "owner_name": "某市某加油站", "model": "TQ-2240", "manufacturer": "正星", "location": "某路 1 号",
              "np_q_max_l_per_min": "60", "np_q_min_l_per_min": "5", "np_nozzles": "1:gasoline,2:diesel"}
METER = {"kind": "electricity_meter", "serial_number": "M-01", "owner_credit_code": CODES[2], "owner_name": "某厂",
         "np_accuracy_class": "2", "np_connection": "direct", "np_elements": "single", "np_un_v": "220",
         "np_ib_a": "5", "np_imax_a": "60", "np_constant_imp_per_kwh": "1200",
         # another kind's fields are not read
         "np_q_max_l_per_min": "junk"}
TAXI = {"kind": "taxi_meter", "serial_number": "T-01", "owner_credit_code": CODES[2], "owner_name": "某出租车公司",
        "plate_number": "京B·12345", "np_k_imp_per_km": "1000", "np_tariff": "13 元 3 km, 2.3 元/km"}


@pytest.mark.parametrize("form, nameplate", [
    (INSTRUMENT, {"q_max_l_per_min": 60, "q_min_l_per_min": 5,
                  "nozzles": [{"number": 1, "fuel": "gasoline"}, {"number": 2, "fuel": "diesel"}]}),
    (METER, {"accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": 220, "ib_a": 5,
             "imax_a": 60, "constant_imp_per_kwh": 1200}),
    (TAXI, {"k_imp_per_km": 1000, "tariff": "13 元 3 km, 2.3 元/km"}),
])
def test_registering_an_instrument_of_each_kind(scene, form, nameplate):
    r = scene.post("technician", "/verification/instruments/new", form, "/verification/instruments/new")
    assert r.status_code == 303, text(r)
    page = text(scene.client("technician").get(r.headers["Location"]))
    assert form["serial_number"] in page and 'id="history"' in page
    with session_scope(scene.app) as s:
        instrument = s.scalar(select(VerifiedInstrument).where(VerifiedInstrument.serial_number == form["serial_number"]))
        assert instrument.nameplate == nameplate and instrument.enterprise.credit_code == CODES[2]


@pytest.mark.parametrize("changes, field", [
    ({"np_nozzles": "1:petrol"}, "nameplate.nozzles"),
    ({"np_nozzles": ""}, "nameplate.nozzles"),
    ({"np_q_max_l_per_min": "sixty"}, "nameplate.q_max_l_per_min"),
    ({"np_q_min_l_per_min": "70"}, "nameplate"),  # the service's plan: Qmin above Qmax
    ({"owner_credit_code": "123"}, "owner_credit_code"),
    ({"serial_number": ""}, "serial_number"),
    ({"kind": "water_meter"}, "kind"),
    ({"serial_number": "DISP-0001"}, "serial_number"),  # registered already
    ({"next_due": "tomorrow"}, "next_due"),
])
def test_instrument_form_refuses_bad_input_and_writes_nothing(scene, changes, field):
    before = scene.count(VerifiedInstrument)
    r = scene.post("technician", "/verification/instruments/new", {**INSTRUMENT, **changes})
    assert r.status_code == 422, (changes, text(r)[:300])
    page = text(r)
    assert 'id="form-errors"' in page
    assert scene.count(VerifiedInstrument) == before
    # What was typed stays in the form.
    assert 'value="TQ-2240"' in page


def test_enterprise_sees_only_its_own_instruments_and_certificates(scene):
    mine = scene.bench.verify("fuel_dispenser", RigOptions(error_pct=0.1, speed=FAST))
    with session_scope(scene.app) as s:
        instrument_id = s.get(Verification, mine).instrument_id
    owner, other = scene.client("owner"), scene.client("other")
    listed = text(owner.get("/verification/instruments"))
    assert f'id="instrument-{scene.dispenser}"' in listed and f'id="instrument-{instrument_id}"' in listed
    assert 'id="new-instrument"' not in listed
    assert not re.search(r'id="instrument-\d', text(other.get("/verification/instruments")))
    assert other.get(f"/verification/instruments/{instrument_id}").status_code == 404
    detail = text(owner.get(f"/verification/instruments/{instrument_id}"))
    number = re.search(r">(JD\d{4}-\d{6})</a>", detail).group(1)
    assert 'id="verify-instrument"' not in detail
    assert owner.get(f"/verification/certificates/{number}.pdf").status_code == 200
    assert other.get(f"/verification/certificates/{number}.pdf").status_code == 404
    assert status(scene.client("anonymous").get(f"/verification/certificates/{number}.pdf")) == "login"
    assert other.get(f"/verification/runs/{mine}").status_code == 404


def test_instrument_search_and_its_next_due_date(scene):
    run = scene.bench.verify("fuel_dispenser", RigOptions(error_pct=0.1, speed=FAST))
    client = scene.client("inspector")
    with session_scope(scene.app) as s:
        instrument = s.get(Verification, run).instrument
        serial, next_due, instrument_id = instrument.serial_number, instrument.next_due, instrument.id
    found = text(client.get(f"/verification/instruments?serial_number={serial}"))
    assert f'id="instrument-{instrument_id}"' in found and f'id="instrument-{scene.dispenser}"' not in found
    assert next_due and next_due.isoformat() in text(client.get(f"/verification/instruments/{instrument_id}"))
    bad = client.get("/verification/instruments?kind=water_meter")
    assert bad.status_code == 422 and 'id="form-errors"' in text(bad)


# --- rigs ------------------------------------------------------------------------------------------------

def rig_form(scene, **changes) -> dict:
    return {"code": "FDR-NEW", "kind": "fdr", "link": "modbus+tcp://192.0.2.10:502?unit=1",
            "serial_number": "FDR-9", "lab_id": str(scene.lab), "standard_name": "标准金属量器",
            "standard_certificate_no": "[2026]量标证字第1号", "standard_valid_until": "2030-01-01", **changes}


def test_a_lab_manager_registers_and_edits_a_rig_of_its_lab(scene):
    r = scene.post("manager", "/verification/rigs/new", rig_form(scene, restricted="on"))
    assert r.status_code == 303, text(r)
    with session_scope(scene.app) as s:
        rig = s.scalar(select(Rig).where(Rig.code == "FDR-NEW"))
        assert (rig.lab_id, rig.restricted, rig.active) == (scene.lab, True, True)
        rig_id = rig.id
    listed = text(scene.client("technician").get("/verification/rigs"))
    assert f'id="rig-{rig_id}"' in listed and "FDR-NEW" in listed
    form = text(scene.client("manager").get(f"/verification/rigs/{rig_id}"))
    assert 'value="2030-01-01"' in form
    r = scene.post("manager", f"/verification/rigs/{rig_id}",
                   {**rig_form(scene, standard_valid_until="2031-06-30", standard_certificate_no="NEW-CERT"),
                    "active_shown": "1"})
    assert r.status_code == 303, text(r)
    with session_scope(scene.app) as s:
        rig = s.get(Rig, rig_id)
        assert (rig.standard_valid_until, rig.standard_certificate_no, rig.active, rig.restricted) == \
            (dt.date(2031, 6, 30), "NEW-CERT", False, False)


def test_an_emb_rig_needs_its_reference_constant(scene):
    form = rig_form(scene, code="EMB-NEW", kind="emb")
    r = scene.post("admin", "/verification/rigs/new", form)
    assert r.status_code == 422 and 'id="form-errors"' in text(r)
    assert scene.post("admin", "/verification/rigs/new", {**form, "reference_constant": "600000"}).status_code == 303
    with session_scope(scene.app) as s:
        assert s.scalar(select(Rig).where(Rig.code == "EMB-NEW")).settings == {"reference_constant": 600000}


@pytest.mark.parametrize("changes", [
    {"link": "http://example.com"}, {"kind": "xyz"}, {"code": ""}, {"standard_valid_until": "2030-13-01"},
    {"code": "FDR-1"},  # taken by the scene's rig
    {"reference_constant": "-5"},
])
def test_rig_form_refuses_bad_input_and_writes_nothing(scene, changes):
    before = scene.count(Rig)
    r = scene.post("manager", "/verification/rigs/new", rig_form(scene, **changes))
    assert r.status_code == 422, (changes, text(r)[:300])
    assert 'id="form-errors"' in text(r) and scene.count(Rig) == before


def test_a_lab_manager_cannot_register_a_rig_in_another_lab(scene):
    r = scene.post("manager", "/verification/rigs/new", rig_form(scene, lab_id=str(scene.other_lab)))
    assert r.status_code == 403 and scene.count(Rig) == 1


# --- procedures --------------------------------------------------------------------------------------------

def corrected_443(version: str = "2023-c1") -> dict:
    doc = next(d for d in procedures.shipped() if d["code"] == "JJG 443" and d["in_force"])
    return {**doc, "version": version}


def test_procedures_are_listed_with_their_data(scene):
    page = text(scene.client("technician").get("/verification/procedures"))
    assert "JJG 443" in page and "JJG 596" in page and "JJG 517" in page
    assert "&#34;fuel_expansion_per_c&#34;" in page or '"fuel_expansion_per_c"' in page
    assert 'id="procedure-form"' not in page
    assert 'id="procedure-form"' in text(scene.client("manager").get("/verification/procedures"))


def test_a_lab_manager_adds_a_corrected_version_that_takes_force(scene):
    r = scene.post("manager", "/verification/procedures", {"document": json.dumps(corrected_443())})
    assert r.status_code == 303, text(r)[:500]
    with session_scope(scene.app) as s:
        in_force = s.scalars(select(Procedure.version).where(Procedure.code == "JJG 443", Procedure.in_force)).all()
        assert in_force == ["2023-c1"]
    assert scene.post("technician", "/verification/procedures",
                      {"document": json.dumps(corrected_443("2023-c2"))}).status_code == 403


@pytest.mark.parametrize("document", [
    "{not json", "[1, 2]", json.dumps({**corrected_443(), "mpe_pct": "-1"}),
    json.dumps(corrected_443("2023")),  # that version exists
])
def test_procedure_form_refuses_bad_documents_and_writes_nothing(scene, document):
    before = scene.count(Procedure)
    r = scene.post("manager", "/verification/procedures", {"document": document})
    assert r.status_code == 422, text(r)[:300]
    assert 'id="form-errors"' in text(r) and scene.count(Procedure) == before


# --- certificates ----------------------------------------------------------------------------------------

def test_public_certificate_page_needs_no_login_and_shows_nothing_private(scene):
    run = scene.bench.verify("fuel_dispenser", RigOptions(error_pct=0.1, speed=FAST))
    with session_scope(scene.app) as s:
        s.get(Verification, run).technician_id = scene.ids["technician"]
        technician = s.get(User, scene.ids["technician"])
        technician_name, technician_email = technician.name, technician.email
        owner_name = s.get(Verification, run).instrument.enterprise.name
    number = scene.client("admin").get(f"/verification/runs/{run}/live.json").json["certificate"]
    r = scene.client("anonymous").get(f"/certificates/{number}")
    assert r.status_code == 200
    page = text(r)
    assert number in page and "合格" in page and owner_name in page
    for private in (technician_name, technician_email, "13800000000", OWNER[0], "FDR-SIM", "modbus"):
        assert private not in page
    unknown = scene.client("anonymous").get("/certificates/JD2000-000001")
    assert unknown.status_code == 404 and "JD2000-000001" in text(unknown)
    assert scene.client("anonymous").get("/certificates/" + "X" * 40).status_code == 404


def test_certificate_pdf_for_staff(scene, tmp_path):
    run = scene.bench.verify("fuel_dispenser", RigOptions(error_pct=0.5, speed=FAST))
    number = scene.client("admin").get(f"/verification/runs/{run}/live.json").json["certificate"]
    r = scene.client("inspector").get(f"/verification/certificates/{number}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert scene.client("inspector").get("/verification/certificates/TZ2000-000001.pdf").status_code == 404
