"""The server's field API with sealed rows made here as a laptop seals them: a retried batch is stored
once, a row held differently or breaking the laptop's chain refuses the whole batch, certificate
numbers must come from the laptop's blocks, and only a technician reaches their own laptop and rigs."""
from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
from sqlalchemy import func, select

from labs import chain
from labs.db import session_scope
from labs.field.client import Server, SyncError, sync
from labs.field.models import FieldRecord
from labs.verification import domain, service as verification
from labs.verification.models import Certificate, Procedure, Reading, Result, Verification
from tests.field.conftest import plan_work_order
from tests.verification.conftest import DISPENSER, OWNER, Bench

AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)


def seal(model, contents: list[dict], prev: str = chain.GENESIS, first_id: int = 1) -> list[dict]:
    """Rows as a laptop uploads them: chained from `prev`, each with its content as hashed."""
    out = []
    for n, content in enumerate(contents):
        row = model(**content)
        digest = chain._digest(prev, row)
        out.append({"local_id": first_id + n, "prev_hash": prev, "hash": digest,
                    "content": json.loads(chain.canonical(row))})
        prev = digest
    return out


class Laptop:
    """A technician with a registered laptop, a rig of the bureau and a dispenser on the server."""

    def __init__(self, app, world):
        self.app, self.client = app, world.client
        self.bench = Bench(app)
        self.technician_id, email = world.user("technician")
        self.headers = world.token(email)
        self.rig_id = self.bench.rig("fdr", "modbus+tcp://127.0.0.1:1?unit=1", "FDR-SIM-0001")
        self.bench.instrument("fuel_dispenser", serial_number="DSP-API-1")
        self.bench.instrument("fuel_dispenser", serial_number="DSP-API-2")
        self.key = str(uuid.uuid4())
        assert self.post("/devices", {"key": self.key, "name": "laptop"}).status_code == 200
        block = self.post(f"/devices/{self.key}/blocks", {"year": 2026})
        assert block.status_code == 201, block.json
        self.block = block.json
        with session_scope(app) as session:
            procedure = session.scalar(select(Procedure).where(Procedure.code == "JJG 443", Procedure.in_force))
            self.procedure, self.procedure_data = procedure.name, procedure.data
            self.plan = [verification._point_json(p) for p in domain.build_plan(procedure.data, DISPENSER, nozzle=1)]

    def post(self, path: str, body: dict):
        return self.client.post(f"/api/v1/field{path}", json=body, headers=self.headers)

    def run(self, local_id: int = 1, state: str = "done") -> dict:
        return {"local_id": local_id, "instrument_kind": "fuel_dispenser", "instrument_serial_number": "DSP-API-1",
                "rig_code": "FDR-1", "procedure": self.procedure, "nozzle": 1, "state": state, "plan": self.plan,
                "created_at": AT.isoformat(), "started_at": AT.isoformat(), "finished_at": AT.isoformat()}

    def upload(self, **batch):
        return self.post(f"/devices/{self.key}/uploads", batch)


GOOD = {"reference_volume": 20.0, "indicated_volume": 20.02, "rig_temperature": 20.0, "nozzle_temperature": 20.0,
        "ambient_temperature": 20.0, "standard_expansion": 0.0}  # +0.10 %: a pass


def reading(n: int, run: int = 1, volume: float = 20.02, point: int | None = None) -> dict:
    return {"verification_id": run, "point_index": n % 2 if point is None else point,
            "values": {**GOOD, "indicated_volume": volume}, "problem": None, "manual": False,
            "at": AT + dt.timedelta(seconds=n)}


def every_reading(laptop: Laptop) -> list[dict]:
    """Each repetition of each point of the plan: a complete run."""
    points = [(p["index"], r) for p in laptop.plan for r in range(p["repetitions"])]
    return [reading(n, point=index) for n, (index, _) in enumerate(points)]


def result(laptop: Laptop, readings: list[dict] = (), run: int = 1) -> dict:
    """The result as the engine concludes it from `readings` (labs.verification.engine)."""
    by_point: dict[int, list[dict]] = {}
    for r in readings:
        by_point.setdefault(r["point_index"], []).append(r["values"])
    evaluation = domain.evaluate(laptop.procedure_data, DISPENSER, [domain.Point(**p) for p in laptop.plan], by_point)
    return {"verification_id": run, "procedure_id": 7, "procedure_name": laptop.procedure,
            "evaluation": json.loads(json.dumps(evaluation.as_dict())), "verdict": evaluation.verdict,
            "verified_on": dt.date(2026, 11, 20), "next_due": dt.date(2029, 11, 19), "at": AT}


def certificate(number: str, result_id: int = 1, owner: tuple[str, str] = OWNER) -> dict:
    kind, verdict = ("certificate", "pass") if number.startswith("JD") else ("failure_notice", "fail")
    public = {"number": number, "kind": kind, "verdict": verdict, "procedure": "JJG 443-2023",
              "instrument": {"kind": "fuel_dispenser", "kind_name": "燃油加油机", "serial_number": "DSP-API-1",
                             "model": "", "manufacturer": ""},
              "owner": {"credit_code": owner[0], "name": owner[1]}, "verified_on": "2026-11-20",
              "valid_until": "2029-11-19", "seal_number": None, "as_left": False}
    return {"number": number, "result_id": result_id, "kind": kind, "issued_on": dt.date(2026, 11, 20),
            "valid_until": dt.date(2029, 11, 19), "public": public, "at": AT}


@pytest.fixture
def laptop(app, world):
    return Laptop(app, world)


def _count(app, model) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_batch_sent_again_is_acknowledged_and_stored_once(laptop, app):
    number = f"JD2026-{laptop.block['first']:06d}"
    readings = every_reading(laptop)
    batch = {"runs": [laptop.run()], "readings": seal(Reading, readings),
             "verification_results": seal(Result, [result(laptop, readings)]),
             "certificates": seal(Certificate, [certificate(number)])}
    first = laptop.upload(**batch)
    assert first.status_code == 200, first.json
    assert first.json["readings"] == {"stored": len(readings), "held": 0}
    again = laptop.upload(**batch)
    assert again.status_code == 200, again.json
    assert again.json["readings"] == {"stored": 0, "held": len(readings)}
    assert again.json["certificates"] == {"stored": 0, "held": 1}
    assert [_count(app, m) for m in (Verification, Reading, Result, Certificate, FieldRecord)] == [
        1, len(readings), 1, 1, len(readings) + 2]
    assert laptop.client.get(f"/certificates/{number}").status_code == 200
    with session_scope(app) as session:
        assert chain.verify(session)[1] == []
        # The server's own numbering counts below the laptops' blocks: no gap from the upload.
        assert verification.next_certificate_number(session, "certificate", dt.date(2026, 12, 1)) == "JD2026-000001"


def test_a_row_held_differently_refuses_the_batch_and_writes_nothing(laptop, app):
    assert laptop.upload(runs=[laptop.run()], readings=seal(Reading, [reading(0), reading(1)])).status_code == 200
    # The laptop's database was restored from an older copy: reading 2 is another reading now.
    other = seal(Reading, [reading(0), reading(1, volume=19.0)])
    refused = laptop.upload(runs=[laptop.run(2)], readings=other)
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json" and refused.json["code"] == "field_upload_refused"
    assert [(c["table"], c["local_id"], c["code"]) for c in refused.json["conflicts"]] == [
        ("readings", 2, "field_row_differs")]
    assert _count(app, Verification) == 1 and _count(app, Reading) == 2  # run 2 was not stored either
    in_chinese = laptop.client.post(f"/api/v1/field/devices/{laptop.key}/uploads", json={"readings": other},
                                    headers={**laptop.headers, "Accept-Language": "zh-CN"})
    assert in_chinese.json["conflicts"][0]["detail"] == "服务器已保存此笔记本另一条不同的 readings 记录 2"


def test_a_second_result_for_a_run_is_refused(laptop):
    assert laptop.upload(runs=[laptop.run()], verification_results=seal(Result, [result(laptop)])).status_code == 200
    first = seal(Result, [result(laptop)])[0]
    second = seal(Result, [{**result(laptop), "at": AT + dt.timedelta(hours=1)}], prev=first["hash"], first_id=2)
    refused = laptop.upload(verification_results=second)
    assert refused.status_code == 409
    assert refused.json["conflicts"][0]["code"] == "field_result_differs"


def test_rows_that_do_not_continue_the_laptops_chain_are_refused(laptop, app):
    rows = seal(Reading, [reading(n) for n in range(4)])
    refused = laptop.upload(runs=[laptop.run()], readings=[rows[0], rows[1], rows[3]])  # row 3 was removed
    assert refused.status_code == 409
    assert refused.json["conflicts"][0] == {**refused.json["conflicts"][0], "local_id": 4,
                                            "code": "field_chain_broken"}
    assert _count(app, Reading) == 0


def test_a_row_changed_after_it_was_sealed_is_refused(laptop):
    rows = seal(Reading, [reading(0)])
    rows[0]["content"]["values"]["reference_volume"] = 19.9
    refused = laptop.upload(runs=[laptop.run()], readings=rows)
    assert refused.status_code == 409
    assert refused.json["conflicts"][0]["code"] == "field_hash_mismatch"


def test_a_certificate_number_not_reserved_for_the_laptop_is_refused(laptop):
    assert laptop.upload(runs=[laptop.run()], verification_results=seal(Result, [result(laptop)])).status_code == 200
    refused = laptop.upload(certificates=seal(Certificate, [certificate("TZ2026-000001")]))
    assert refused.status_code == 409
    assert refused.json["conflicts"][0]["code"] == "field_number_not_reserved"


def test_a_certificate_naming_another_owner_is_refused(laptop):
    assert laptop.upload(runs=[laptop.run()], verification_results=seal(Result, [result(laptop)])).status_code == 200
    number = f"TZ2026-{laptop.block['first']:06d}"
    refused = laptop.upload(certificates=seal(Certificate, [certificate(number, owner=("91310000MA1FL8LQ21", "x"))]))
    assert refused.status_code == 409
    assert refused.json["conflicts"][0]["code"] == "field_public_differs"
    # A certificate (a pass) for a run that failed is refused just the same.
    refused = laptop.upload(certificates=seal(Certificate, [certificate(f"JD2026-{laptop.block['first']:06d}")]))
    assert refused.json["conflicts"][0]["code"] == "field_public_differs"
    assert laptop.upload(certificates=seal(Certificate, [certificate(number)])).status_code == 200


def test_a_result_that_does_not_follow_from_its_readings_is_refused(laptop):
    readings = every_reading(laptop)
    claimed = result(laptop, readings[:-1])  # concluded as if the last reading had not counted: a fail
    assert claimed["verdict"] == "fail" and result(laptop, readings)["verdict"] == "pass"
    refused = laptop.upload(runs=[laptop.run()], readings=seal(Reading, readings),
                            verification_results=seal(Result, [claimed]))
    assert refused.status_code == 409
    assert refused.json["conflicts"][0]["code"] == "field_result_unproven"


def test_a_run_still_open_on_the_laptop_is_stored_as_failed_and_follows_the_laptop_later(laptop, app):
    assert laptop.upload(runs=[laptop.run(state="running")]).status_code == 200
    with session_scope(app) as session:
        run = session.scalar(select(Verification))
        assert run.state == "failed" and "still open on laptop" in run.problem
    assert laptop.upload(runs=[laptop.run(state="done")]).status_code == 200
    with session_scope(app) as session:
        assert session.scalar(select(Verification.state)) == "done"


def test_a_batch_over_the_limit_is_refused_with_422(laptop):
    refused = laptop.upload(runs=[laptop.run()], readings=seal(Reading, [reading(n) for n in range(200)]))
    assert refused.status_code == 422 and "_body" in refused.json["errors"]


def test_another_technicians_laptop_is_not_theirs(laptop, world):
    _, email = world.user("technician")
    other = world.token(email)
    taken = world.client.post("/api/v1/field/devices", json={"key": laptop.key, "name": "x"}, headers=other)
    assert taken.status_code == 409 and taken.json["code"] == "field_device_taken"
    hidden = world.client.get(f"/api/v1/field/devices/{laptop.key}/catalog", headers=other)
    assert hidden.status_code == 404
    assert world.client.post(f"/api/v1/field/devices/{laptop.key}/uploads", json={}, headers=other).status_code == 404


def test_the_work_orders_instruments_and_the_technicians_rigs_come_down(laptop, app, world):
    other_lab = world.lab()
    laptop.bench.rig("fdr", "modbus+tcp://127.0.0.1:2?unit=1", "FDR-SIM-0002", lab_id=other_lab)
    portable = laptop.bench.rig("fdr", "modbus+tcp://127.0.0.1:3?unit=1", "FDR-SIM-0003", lab_id=other_lab,
                                portable=True)
    plan_work_order(app, laptop.technician_id, ["DSP-API-1"], rig_ids=(portable,))
    catalog = laptop.client.get(f"/api/v1/field/devices/{laptop.key}/catalog", headers=laptop.headers)
    assert catalog.status_code == 200
    assert [r["code"] for r in catalog.json["rigs"]] == ["FDR-1", "FDR-5"]  # the bureau's and the assigned one
    assert [i["serial_number"] for i in catalog.json["instruments"]] == ["DSP-API-1"]
    [order] = catalog.json["work_orders"]
    assert order["instruments"] == [{"kind": "fuel_dispenser", "serial_number": "DSP-API-1"}]
    assert order["rigs"] == ["FDR-5"] and order["owner"]["credit_code"] == OWNER[0]
    assert catalog.json["blocks"] == [laptop.block]
    refused = laptop.upload(runs=[{**laptop.run(), "rig_code": "FDR-4"}])  # another lab's, not assigned
    assert refused.status_code == 403 and refused.json["code"] == "field_rig_not_yours"


def test_the_same_batch_sent_twice_at_once_is_stored_once(laptop, app):
    """A sync killed and started again may send a batch while the server still stores it."""
    readings = every_reading(laptop)
    batch = {"runs": [laptop.run()], "readings": seal(Reading, readings)}
    start, answers = threading.Barrier(2), []

    def send():
        client = app.test_client()
        start.wait()
        answers.append(client.post(f"/api/v1/field/devices/{laptop.key}/uploads", json=batch, headers=laptop.headers))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.json["readings"]["stored"] for a in answers) == [0, len(readings)]
    assert _count(app, Reading) == len(readings) and _count(app, Verification) == 1


def test_sync_refuses_to_run_on_a_servers_database(laptop, app):
    with pytest.raises(SyncError, match="a server's"):
        sync(app.extensions["labs.sessionmaker"], Server("http://127.0.0.1:9", "token"), "http://127.0.0.1:9",
             lambda line: None)
