"""/api/v1 for verification: instruments, rigs, procedures, runs and certificates, with bearer tokens of
each kind of user (the Flask test client against a real database; runs against simulated rigs)."""
from __future__ import annotations

import copy
import datetime as dt

import pytest

from labs.accounts.models import User
from labs.catalog.models import Lab
from labs.db import session_scope
from simulators.harness import RigOptions, simulated_rig
from tests.conftest import CODES
from tests.verification.conftest import DISPENSER, FAST

TODAY = dt.date.today()


class People:
    """Users of every kind, their bearer headers, and two labs (A keeps its rigs to its technicians)."""

    def __init__(self, world):
        self.world = world
        self.admin = self._user("admin")
        manager_a, self.manager_a = self._user("lab_manager", with_id=True)
        manager_b, self.manager_b = self._user("lab_manager", with_id=True)
        own_tech, self.technician = self._user("technician", with_id=True)
        self.outsider = self._user("technician")
        self.enterprise_a = self._user("enterprise", enterprise=0)  # owns the instruments below
        self.enterprise_b = self._user("enterprise", enterprise=1)
        self.lab_a = world.lab([manager_a])
        self.lab_b = world.lab([manager_b])
        with session_scope(world.app) as session:
            lab = session.get(Lab, self.lab_a)
            lab.technicians.append(session.get(User, own_tech))

    def _user(self, role, enterprise=None, with_id=False):
        user_id, email = self.world.user(role, enterprise)
        return (user_id, self.world.token(email)) if with_id else self.world.token(email)


@pytest.fixture
def people(world, bench):
    return People(world)


def _instrument(serial="DSP-001", owner=0, **overrides) -> dict:
    body = {"kind": "fuel_dispenser", "serial_number": serial, "owner_credit_code": CODES[owner],
            "owner_name": f"Enterprise {owner}", "model": "SK52", "manufacturer": "正星", "nameplate": DISPENSER,
            "location": "某市某路1号"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}  # None: the field left out


def _rig(lab_id, link="modbus+tcp://127.0.0.1:1502?unit=1", code="FDR-A1", **overrides) -> dict:
    body = {"code": code, "kind": "fdr", "link": link, "serial_number": "FDR-SIM-0001", "lab_id": lab_id,
            "standard_name": "标准金属量器", "standard_certificate_no": "JZ2026-117",
            "standard_valid_until": (TODAY + dt.timedelta(days=200)).isoformat()}
    body.update(overrides)
    return body


def _post(client, url, headers, body, status):
    r = client.post(url, json=body, headers=headers)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _procedure_id(client, headers, name) -> int:
    listed = client.get("/api/v1/procedures", headers=headers).get_json()
    return next(p["id"] for p in listed if f"{p['code']}-{p['version']}" == name)


# --- instruments ------------------------------------------------------------------------------------

def test_instruments_register_read_and_update(client, people):
    created = _post(client, "/api/v1/instruments", people.technician, _instrument(owner=3, owner_name="某加油站"), 201)
    assert created["owner"] == {"credit_code": CODES[3], "name": "某加油站"}  # the owner, made on first use
    assert created["nameplate"] == DISPENSER and created["next_due"] is None
    again = _post(client, "/api/v1/instruments", people.technician,
                  _instrument("DSP-002", owner=3, owner_name=None), 201)
    assert again["owner"] == created["owner"]  # the same enterprise, found by its credit code
    fetched = client.get(f"/api/v1/instruments/{created['id']}", headers=people.technician).get_json()
    assert fetched == created
    r = client.patch(f"/api/v1/instruments/{created['id']}", json={"location": "某市新路8号"}, headers=people.technician)
    assert r.status_code == 200 and r.get_json()["location"] == "某市新路8号"
    assert r.get_json()["serial_number"] == "DSP-001"
    # What names the instrument is fixed: sending it is refused, field by field, and nothing changes.
    r = client.patch(f"/api/v1/instruments/{created['id']}", json={"serial_number": "DSP-009", "kind": "taxi_meter",
                                                                    "location": "别处"}, headers=people.technician)
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"serial_number", "kind"}, r.get_json()
    fetched = client.get(f"/api/v1/instruments/{created['id']}", headers=people.technician).get_json()
    assert (fetched["serial_number"], fetched["kind"], fetched["location"]) == ("DSP-001", created["kind"], "某市新路8号")
    listed = client.get("/api/v1/instruments?serial_number=DSP-002", headers=people.admin).get_json()
    assert [i["id"] for i in listed] == [again["id"]]
    # Enterprises do not register instruments.
    _post(client, "/api/v1/instruments", people.enterprise_a, _instrument("DSP-003"), 403)


def test_a_nameplate_the_procedure_cannot_use_is_422_naming_nameplate(client, people):
    nameplate = {k: v for k, v in DISPENSER.items() if k != "q_max_l_per_min"}
    problem = _post(client, "/api/v1/instruments", people.technician, _instrument(nameplate=nameplate), 422)
    assert "nameplate" in problem["errors"], problem
    assert client.get("/api/v1/instruments", headers=people.admin).get_json() == []


def test_a_new_owner_without_a_name_is_422(client, people):
    problem = _post(client, "/api/v1/instruments", people.technician, _instrument(owner=2, owner_name=None), 422)
    assert problem["errors"], problem


def test_a_duplicate_serial_number_is_409(client, people):
    _post(client, "/api/v1/instruments", people.technician, _instrument(), 201)
    problem = _post(client, "/api/v1/instruments", people.technician, _instrument(model="other"), 409)
    assert "DSP-001" in problem["detail"]
    # The same serial number on another kind of instrument is another instrument.
    meter = {"accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": 220, "ib_a": 5,
             "imax_a": 60, "constant_imp_per_kwh": 1200}
    _post(client, "/api/v1/instruments", people.technician,
          _instrument(kind="electricity_meter", nameplate=meter), 201)


# --- rigs ----------------------------------------------------------------------------------------------

def test_rigs_are_registered_by_their_labs_managers(client, people):
    rig = _post(client, "/api/v1/rigs", people.manager_a, _rig(people.lab_a), 201)
    assert rig["lab_id"] == people.lab_a and rig["leased_by"] is None
    problem = _post(client, "/api/v1/rigs", people.manager_a, _rig(people.lab_a, link="ftp://127.0.0.1/rig",
                                                                   code="FDR-A2"), 422)
    assert "link" in problem["errors"], problem
    # Another lab's manager may neither register nor change lab A's rigs; a technician registers none.
    _post(client, "/api/v1/rigs", people.manager_b, _rig(people.lab_a, code="FDR-A3"), 403)
    _post(client, "/api/v1/rigs", people.technician, _rig(people.lab_a, code="FDR-A4"), 403)
    r = client.patch(f"/api/v1/rigs/{rig['id']}", json={"restricted": True}, headers=people.manager_b)
    assert r.status_code == 403
    r = client.patch(f"/api/v1/rigs/{rig['id']}", json={"restricted": True}, headers=people.manager_a)
    assert r.status_code == 200 and r.get_json()["restricted"] is True
    _post(client, "/api/v1/rigs", people.manager_a, _rig(people.lab_a), 409)  # the code is taken
    assert [r["code"] for r in client.get("/api/v1/rigs", headers=people.technician).get_json()] == ["FDR-A1"]
    assert client.get("/api/v1/rigs", headers=people.enterprise_a).status_code == 403


# --- procedures ----------------------------------------------------------------------------------------

def test_procedures_list_the_shipped_versions(client, people):
    listed = client.get("/api/v1/procedures", headers=people.technician).get_json()
    names = {f"{p['code']}-{p['version']}": p["in_force"] for p in listed}
    assert names == {"JJG 443-2006": False, "JJG 443-2023": True, "JJG 596-2012": True, "JJG 517-2016": True}
    one = client.get(f"/api/v1/procedures/{_procedure_id(client, people.technician, 'JJG 443-2023')}",
                     headers=people.technician).get_json()
    assert one["data"]["mpe_pct"] == "0.30" and one["rig_kind"] == "fdr"


def test_a_corrected_procedure_comes_into_force_and_earlier_results_keep_their_version(client, people, bench):
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.12, speed=FAST)) as sim:
        rig = _post(client, "/api/v1/rigs", people.manager_a, _rig(people.lab_a, sim.link), 201)
        instrument = _post(client, "/api/v1/instruments", people.technician, _instrument(), 201)
        before = _post(client, "/api/v1/verifications", people.technician,
                       {"instrument_id": instrument["id"], "rig_id": rig["id"], "nozzle": 1}, 201)
        assert before["procedure"] == "JJG 443-2023"
        assert bench.run(before["id"]) == "done"

        old_id = _procedure_id(client, people.manager_a, "JJG 443-2023")
        corrected = copy.deepcopy(client.get(f"/api/v1/procedures/{old_id}", headers=people.manager_a)
                                  .get_json()["data"])
        corrected["version"] = "2023a"
        corrected["temperature"]["max_difference_c"] = "3"
        _post(client, "/api/v1/procedures", people.technician, corrected, 403)
        added = _post(client, "/api/v1/procedures", people.manager_a, corrected, 201)
        assert added["in_force"] is True and added["data"]["temperature"]["max_difference_c"] == "3"
        _post(client, "/api/v1/procedures", people.manager_a, corrected, 409)  # a version is never replaced
        listed = {f"{p['code']}-{p['version']}": p["in_force"]
                  for p in client.get("/api/v1/procedures", headers=people.manager_a).get_json()}
        assert listed["JJG 443-2023a"] is True and listed["JJG 443-2023"] is False

        after = _post(client, "/api/v1/verifications", people.technician,
                      {"instrument_id": instrument["id"], "rig_id": rig["id"], "nozzle": 1}, 201)
        assert after["procedure"] == "JJG 443-2023a"
        assert bench.run(after["id"]) == "done"

    earlier = client.get(f"/api/v1/verifications/{before['id']}", headers=people.technician).get_json()
    later = client.get(f"/api/v1/verifications/{after['id']}", headers=people.technician).get_json()
    assert earlier["procedure"] == "JJG 443-2023" and earlier["result"]["procedure_name"] == "JJG 443-2023"
    assert later["result"]["procedure_name"] == "JJG 443-2023a"
    history = client.get(f"/api/v1/instruments/{instrument['id']}/results", headers=people.technician).get_json()
    assert [h["procedure_name"] for h in history] == ["JJG 443-2023a", "JJG 443-2023"]


def test_a_procedure_document_that_does_not_validate_is_422(client, people):
    listed = client.get("/api/v1/procedures", headers=people.manager_a).get_json()
    data = copy.deepcopy(next(p["data"] for p in listed if p["version"] == "2023"))
    data["version"] = "2023b"
    del data["mpe_pct"]
    problem = _post(client, "/api/v1/procedures", people.manager_a, data, 422)
    assert "mpe_pct" in str(problem)


# --- verifications and certificates --------------------------------------------------------------------

def _rig_and_instrument(client, people, link="modbus+tcp://127.0.0.1:1502?unit=1", owner=0, serial="DSP-001",
                        code="FDR-A1", **rig):
    rig = _post(client, "/api/v1/rigs", people.manager_a, _rig(people.lab_a, link, code=code, **rig), 201)
    instrument = _post(client, "/api/v1/instruments", people.technician, _instrument(serial, owner=owner), 201)
    return rig, instrument


def test_a_verification_is_queued(client, people):
    rig, instrument = _rig_and_instrument(client, people)
    queued = _post(client, "/api/v1/verifications", people.technician,
                   {"instrument_id": instrument["id"], "rig_id": rig["id"], "nozzle": 2}, 201)
    assert queued["state"] == "queued" and queued["readings"] == [] and queued["result"] is None
    assert [p["key"] for p in queued["plan"]] == ["Q1", "Q2"]
    assert {p["settings"]["fuel_kind"] for p in queued["plan"]} == {"diesel"}  # nozzle 2's fuel
    listed = client.get("/api/v1/verifications?state=queued", headers=people.admin).get_json()
    assert [v["id"] for v in listed] == [queued["id"]]


def test_an_expired_standard_is_422_naming_the_rig_and_its_certificate(client, people):
    rig, instrument = _rig_and_instrument(
        client, people, standard_valid_until=(TODAY - dt.timedelta(days=3)).isoformat())
    problem = _post(client, "/api/v1/verifications", people.technician,
                    {"instrument_id": instrument["id"], "rig_id": rig["id"], "nozzle": 1}, 422)
    assert "FDR-A1" in problem["detail"] and "JZ2026-117" in problem["detail"] and "expired" in problem["detail"]
    assert "rig_id" in problem["errors"]
    assert client.get("/api/v1/verifications", headers=people.admin).get_json() == []


def test_a_restricted_rig_is_kept_to_its_labs_technicians(client, people):
    rig, instrument = _rig_and_instrument(client, people, restricted=True)
    body = {"instrument_id": instrument["id"], "rig_id": rig["id"], "nozzle": 1}
    problem = _post(client, "/api/v1/verifications", people.outsider, body, 403)
    assert "FDR-A1" in problem["detail"]
    _post(client, "/api/v1/verifications", people.technician, body, 201)
    # Unrestricted, anyone who runs verifications may use it.
    client.patch(f"/api/v1/rigs/{rig['id']}", json={"restricted": False}, headers=people.manager_a)
    _post(client, "/api/v1/verifications", people.outsider, body, 201)
    _post(client, "/api/v1/verifications", people.enterprise_a, body, 403)


def test_an_enterprise_sees_only_its_own_instruments_runs_and_certificates(client, people, bench):
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.12, speed=FAST)) as sim:
        rig, own = _rig_and_instrument(client, people, sim.link, owner=0, serial="DSP-A")
        other = _post(client, "/api/v1/instruments", people.technician, _instrument("DSP-B", owner=1), 201)
        runs = {}
        for name, instrument in (("own", own), ("other", other)):
            runs[name] = _post(client, "/api/v1/verifications", people.technician,
                               {"instrument_id": instrument["id"], "rig_id": rig["id"], "nozzle": 1}, 201)["id"]
            assert bench.run(runs[name]) == "done"

    mine = people.enterprise_a
    assert [i["serial_number"] for i in client.get("/api/v1/instruments", headers=mine).get_json()] == ["DSP-A"]
    assert client.get(f"/api/v1/instruments/{other['id']}", headers=mine).status_code == 404
    assert client.patch(f"/api/v1/instruments/{other['id']}", json={"location": "x"}, headers=mine).status_code in (403, 404)
    assert client.get(f"/api/v1/instruments/{other['id']}/results", headers=mine).status_code == 404
    assert [v["id"] for v in client.get("/api/v1/verifications", headers=mine).get_json()] == [runs["own"]]
    assert client.get(f"/api/v1/verifications/{runs['other']}", headers=mine).status_code == 404
    detail = client.get(f"/api/v1/verifications/{runs['own']}", headers=mine).get_json()
    assert detail["result"]["verdict"] == "pass" and len(detail["readings"]) == 6
    number = detail["certificate"]["number"]
    assert number.startswith(f"JD{TODAY.year}-")
    history = client.get(f"/api/v1/instruments/{own['id']}/results", headers=mine).get_json()
    assert [h["verdict"] for h in history] == ["pass"]
    # The other enterprise sees the reverse.
    theirs = people.enterprise_b
    assert [v["id"] for v in client.get("/api/v1/verifications", headers=theirs).get_json()] == [runs["other"]]
    assert client.get(f"/api/v1/verifications/{runs['own']}", headers=theirs).status_code == 404

    # Anyone may confirm a certificate by its number, without signing in; the public part only.
    public = client.get(f"/api/v1/certificates/{number}")
    assert public.status_code == 200
    body = public.get_json()
    assert body["number"] == number and body["kind"] == "certificate"
    assert body["public"]["instrument"]["serial_number"] == "DSP-A"
    assert body["public"]["owner"]["credit_code"] == CODES[0] and body["public"]["verdict"] == "pass"
    assert "readings" not in body and "evaluation" not in str(body)
    assert client.get(f"/api/v1/certificates/JD{TODAY.year}-999999").status_code == 404
