"""Runs against rigs that misbehave: 10 % of requests fail in every way the simulators know (no reply,
a corrupt frame, an exception reply, a dropped connection) and 10 % of rig runs fault half-way.
The runs still complete, with the result of a fault-free run of the same seed, and no damaged frame
ever becomes a stored reading."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import select

from labs.db import session_scope
from labs.verification.models import Reading
from simulators.faults import FAULT_KINDS, REQUEST_FAULTS
from simulators.harness import RigOptions, simulated_rig
from tests.verification.conftest import FAST, RIG_KIND, TRANSPORT

GASOLINE_BETA_PER_C = 12e-4  # JJG 443, written here rather than read from the procedure data
METER_CONSTANT = 1200
TRUE_ERROR = {"fuel_dispenser": 0.21, "electricity_meter": 1.3, "taxi_meter": -0.7}
SPEED = {"fuel_dispenser": FAST, "electricity_meter": FAST * 5, "taxi_meter": FAST / 4}
# Seeds whose streams put every kind of request fault within a run's first few dozen requests and fault
# one of the rig's runs (found by drawing from the simulators' seeded streams): with a run of a few
# dozen requests, an unlucky seed would inject nothing and prove nothing.
SEED = {"fuel_dispenser": 308, "electricity_meter": 20, "taxi_meter": 328}


def _run(bench, instrument_kind: str, options: RigOptions) -> tuple[int, list[dict], dict]:
    """A whole run; its id, the engine's events, and the faults the rig injected."""
    kind = RIG_KIND[instrument_kind]
    events: list[dict] = []
    with simulated_rig(kind, TRANSPORT[kind], options=options) as sim:
        rig_id = bench.rig(kind, sim.link, sim.models[0].serial_number)
        verification_id = bench.request(bench.instrument(instrument_kind), rig_id,
                                        nozzle=1 if instrument_kind == "fuel_dispenser" else None)
        state = bench.run(verification_id, events)
        injected = dict(sim.faults[0].injected)
    assert state == "done", (bench.summary(verification_id)["problem"], [e for e in events if e["event"] != "reading"])
    return verification_id, events, injected


def _outcome(summary: dict) -> tuple:
    """What a run concluded: the verdict, and per point its errors rounded as the certificate shows them."""
    return summary["verdict"], [
        (p["key"], p.get("rounded_pct"), p.get("passed"), p.get("pulses"),
         [round(e, 2) for e in p.get("errors_pct", [])]) for p in summary["points"]]


def _assert_consistent(instrument_kind: str, point: dict, values: dict) -> None:
    """A stored reading holds together: its raw values give the device's true error, and what the
    rig was told to do."""
    error = TRUE_ERROR[instrument_kind]
    s = point["settings"]
    if point["operation"] == "delivery":
        t_j, t_b = values["nozzle_temperature"], values["rig_temperature"]
        v_bt = values["reference_volume"] * (1 + GASOLINE_BETA_PER_C * (t_j - t_b)
                                             + values["standard_expansion"] * (t_b - 20))
        assert (values["indicated_volume"] / v_bt - 1) * 100 == pytest.approx(error, abs=0.005)
        assert values["reference_volume"] == pytest.approx(s["volume_l"], rel=1e-4)
        assert abs(t_b - 15) < 0.5 and abs(t_j - 16) < 0.5 and values["ambient_temperature"] == pytest.approx(20)
        assert values["flow_rate"] == pytest.approx(s["flow_l_per_min"], rel=1e-4)
    elif point["operation"] == "error":
        assert values["dut_pulses"] == s["pulses"]
        # The bench counts the reference pulses while the meter emits N at C_L·(1 + error): C0·N / (C_L·(1 + e)).
        m0 = values["reference_constant"] * values["dut_pulses"] / METER_CONSTANT
        assert values["reference_pulses"] == round(m0 / (1 + error / 100))
        assert values["voltage"] == pytest.approx(s["voltage_v"], rel=1e-4)
        assert values["current"] == pytest.approx(s["current_a"], rel=1e-4)
    elif point["operation"] in ("starting", "creep"):
        # At the load point the pulses are the meter's own: power × time × constant × (1 + error).
        power_w = s["voltage_v"] * s["current_a"] * abs(s["power_factor"])
        expected = math.floor(power_w / 3.6e6 * METER_CONSTANT * (1 + error / 100) * s["duration_s"])
        assert values["dut_pulses"] == expected
        assert values["elapsed"] == pytest.approx(s["duration_s"], rel=1e-4)
    elif point["operation"] == "distance":
        assert values["reference_distance_m"] == pytest.approx(s["metres"], rel=1e-4)
        assert (values["meter_distance_m"] / values["reference_distance_m"] - 1) * 100 == pytest.approx(error, abs=0.01)
    elif point["operation"] == "standing":
        assert values["reference_time_s"] == pytest.approx(s["seconds"], rel=1e-3)
        assert values["meter_time_s"] == pytest.approx(values["reference_time_s"], rel=1e-3)
    else:
        raise AssertionError(f"no check for {point['operation']}")


@pytest.mark.parametrize("instrument_kind", ["fuel_dispenser", "electricity_meter", "taxi_meter"])
def test_runs_complete_through_ten_percent_faults_with_the_fault_free_result(bench, instrument_kind):
    common = dict(error_pct=TRUE_ERROR[instrument_kind], scatter_pct=0, seed=SEED[instrument_kind], speed=SPEED[instrument_kind],
                  meter_constant=METER_CONSTANT)
    clean_id, _, none_injected = _run(bench, instrument_kind, RigOptions(**common))
    faulty_id, events, injected = _run(bench, instrument_kind,
                                       RigOptions(**common, fault_rate=0.1, faults=FAULT_KINDS))
    assert not none_injected
    # Every kind of request fault reached the driver; the rig faulted runs too (retried by the engine).
    assert set(injected) == set(REQUEST_FAULTS), injected
    assert any(e["event"] == "retry" for e in events)

    clean, faulty = bench.summary(clean_id), bench.summary(faulty_id)
    assert _outcome(faulty) == _outcome(clean)
    assert clean["verdict"] == ("fail" if instrument_kind == "taxi_meter" and abs(TRUE_ERROR["taxi_meter"]) > 1
                                else "pass")

    # No point was measured more often than it needed: a faulted attempt leaves no reading.
    for point in faulty["points"]:
        assert len(point["readings"]) == point["repetitions"], point["key"]
        for reading in point["readings"]:
            assert "not_counted" not in reading
            _assert_consistent(instrument_kind, point, reading["values"])
    # The stored rows are the ones the engine reported, one event each.
    with session_scope(bench.app) as session:
        stored = {r.id: r.values for r in session.scalars(select(Reading).where(Reading.verification_id == faulty_id))}
    reported = {e["reading"]: e["values"] for e in events if e["event"] == "reading"}
    assert stored == reported
