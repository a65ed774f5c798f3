"""One visit: a failing instrument adjusted on the spot and verified again (as found, as left),
and readings entered by hand where the procedure allows them."""
from __future__ import annotations

import pytest

from labs.accounts.service import SYSTEM
from labs.db import session_scope
from labs.errors import Invalid
from labs.verification import service
from simulators.harness import RigOptions, simulated_rig
from tests.verification.conftest import FAST

# The spec's worked example (JJG 443, gasoline, stainless-steel standard): E = +0.2560 % -> +0.26.
WORKED_EXAMPLE = {"reference_volume": 19.93, "indicated_volume": 20.00, "rig_temperature": 15.0,
                  "nozzle_temperature": 16.0, "ambient_temperature": 20.0, "standard_expansion": 0.00005}


def test_as_found_and_as_left_are_both_kept_linked_with_the_adjustment_and_the_seal(bench):
    instrument = bench.instrument("fuel_dispenser")
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.45, speed=FAST)) as sim:
        rig = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        as_found = bench.request(instrument, rig, nozzle=1)
        assert bench.run(as_found) == "done"
        with pytest.raises(Invalid) as refused:
            bench.request(instrument, rig, nozzle=1, as_found_id=as_found)
        assert "adjustment" in refused.value.extra["errors"]
        sim.models[0].dut.error_pct = 0.05  # the technician adjusts the dispenser's K value
        as_left = bench.request(instrument, rig, nozzle=1, as_found_id=as_found, adjustment="K 值由 1.0045 调至 1.0000",
                                seal_number="QF-2026-0042")
        assert bench.run(as_left) == "done"
    found, left = bench.summary(as_found), bench.summary(as_left)
    assert (found["verdict"], left["verdict"]) == ("fail", "pass")
    assert found["certificate"].startswith("TZ") and left["certificate"].startswith("JD")
    with session_scope(bench.app) as session:
        certificate = service.public_certificate(session, left["certificate"])
        assert certificate.public["seal_number"] == "QF-2026-0042" and certificate.public["as_left"] is True
        assert certificate.result.verification.as_found_id == as_found
        assert service.public_certificate(session, found["certificate"]).public["seal_number"] is None
        history = service.instrument_history(session, SYSTEM, instrument)
        assert [r.verdict for r in history] == ["pass", "fail"]
        assert service.get_instrument(session, SYSTEM, instrument).next_due == certificate.valid_until


def test_readings_entered_by_hand_are_marked_manual_and_conclude_without_the_rig(bench, world):
    technician, email = world.user("technician")
    headers = world.token(email)
    # A rig nobody answers on: the run fails at once, the technician reads the standard by eye.
    rig = bench.rig("fdr", "modbus+tcp://127.0.0.1:9?unit=1", "FDR-HAND-0001")
    verification = bench.request(bench.instrument("fuel_dispenser"), rig, nozzle=1)
    assert bench.run(verification) == "failed"
    for point_index in (0, 1):
        for _ in range(3):
            r = world.client.post(f"/api/v1/verifications/{verification}/readings", headers=headers,
                                  json={"point_index": point_index, "values": WORKED_EXAMPLE})
            assert r.status_code == 201, r.json
            assert r.json["manual"] is True and r.json["problem"] is None
    unknown = world.client.post(f"/api/v1/verifications/{verification}/readings", headers=headers,
                                json={"point_index": 0, "values": {"reference_volume": 1, "bench_error": 2}})
    assert unknown.status_code == 422 and "bench_error" in unknown.json["errors"]["values"][0]
    assert world.client.post(f"/api/v1/verifications/{verification}/retry", headers=headers).status_code == 200
    assert bench.run(verification) == "done"
    summary = bench.summary(verification)
    assert summary["verdict"] == "pass"
    assert all(reading["manual"] for point in summary["points"] for reading in point["readings"])
    assert [point["rounded_pct"] for point in summary["points"]] == ["0.26", "0.26"]


def test_a_procedure_without_manual_readings_refuses_them(bench, world):
    _, email = world.user("technician")
    rig = bench.rig("emb", "modbus+tcp://127.0.0.1:9?unit=1", "EMB-HAND-0001")
    verification = bench.request(bench.instrument("electricity_meter"), rig)
    r = world.client.post(f"/api/v1/verifications/{verification}/readings", headers=world.token(email),
                          json={"point_index": 0, "values": {"dut_pulses": 10, "reference_pulses": 5000}})
    assert r.status_code == 422 and "allows no readings by hand" in r.json["errors"]["point_index"][0]
