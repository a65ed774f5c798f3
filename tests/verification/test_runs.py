"""Verification runs end to end over the real protocols, against simulated rigs: Modbus TCP for
the dispenser and meter rigs, a pseudo-terminal for the taxi meter rig."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from labs.db import session_scope
from labs.verification.models import Reading
from simulators.harness import RigOptions, simulated_rig
from tests.verification.conftest import FAST

# JJG 443's fuel expansion coefficient for gasoline, written here rather than read from the data.
GASOLINE_BETA_PER_C = 12e-4


def _jjg443_error_pct(values: dict) -> float:
    """E = (V_J − V_Bt) / V_Bt × 100, V_Bt = V_B·[1 + β_Y(t_J − t_B) + β_B(t_B − 20)]."""
    v_bt = values["reference_volume"] * (1 + GASOLINE_BETA_PER_C * (values["nozzle_temperature"] - values["rig_temperature"])
                                         + values["standard_expansion"] * (values["rig_temperature"] - 20))
    return (values["indicated_volume"] - v_bt) / v_bt * 100


@pytest.mark.parametrize("true_error_pct, verdict", [(0.25, "pass"), (0.45, "fail")])
def test_dispenser_verdict_follows_its_true_error(bench, true_error_pct, verdict):
    summary = bench.summary(bench.verify("fuel_dispenser", RigOptions(error_pct=true_error_pct, speed=FAST,
                                                                        seed=7)))
    assert summary["verdict"] == verdict
    assert summary["certificate"].startswith("JD" if verdict == "pass" else "TZ")
    assert [p["key"] for p in summary["points"]] == ["Q1", "Q2"]
    for point in summary["points"]:
        assert len(point["readings"]) == 3
        recomputed = [_jjg443_error_pct(r["values"]) for r in point["readings"]]
        assert point["errors_pct"] == pytest.approx(recomputed, abs=0.01)
        assert all(abs(e - true_error_pct) < 0.01 for e in recomputed)
        assert {"mpe_low_pct", "mpe_high_pct", "rounded_pct"} <= set(point)


@pytest.mark.parametrize("true_error_pct, verdict", [(1.5, "pass"), (2.3, "fail")])
def test_class_2_meter_verdict_follows_its_true_error(bench, true_error_pct, verdict):
    summary = bench.summary(bench.verify("electricity_meter", RigOptions(error_pct=true_error_pct, speed=FAST * 5,
                                                                           meter_constant=1200)))
    assert summary["verdict"] == verdict
    ib = next(p for p in summary["points"] if p["key"] == "Ib PF1")
    assert float(ib["mean_pct"]) == pytest.approx(true_error_pct, abs=0.05)
    # recomputed from the pulse counts: m0 = C0·N / C_L, γ = (m0 − m) / m
    for reading in ib["readings"]:
        v = reading["values"]
        m0 = v["reference_constant"] * v["dut_pulses"] / 1200
        assert (m0 - v["reference_pulses"]) / v["reference_pulses"] * 100 == pytest.approx(true_error_pct, abs=0.05)


def test_taxi_meter_over_counting_distance_by_1_5_percent_fails(bench):
    summary = bench.summary(bench.verify("taxi_meter", RigOptions(error_pct=1.5, speed=FAST)))
    assert summary["verdict"] == "fail"
    distance = next(p for p in summary["points"] if p["key"] == "distance")
    assert distance["passed"] is False and float(distance["rounded_pct"]) == pytest.approx(1.5, abs=0.1)


def test_a_rig_whose_standard_has_expired_is_refused_naming_rig_and_certificate(bench, world):
    from labs.errors import Invalid
    rig_id = bench.rig("fdr", "modbus+tcp://127.0.0.1:1502", "FDR-SIM-0001",
                       valid_until=dt.date.today() - dt.timedelta(days=1))
    with pytest.raises(Invalid) as refused:
        bench.request(bench.instrument("fuel_dispenser"), rig_id, nozzle=1)
    assert f"FDR-{bench.seq - 1}" in refused.value.detail and "JZ2026-" in refused.value.detail
    assert "expired" in refused.value.detail


def test_a_rig_answering_with_another_serial_number_fails_the_run_naming_both(bench):
    with simulated_rig("fdr", "tcp", options=RigOptions(speed=FAST)) as sim:
        rig_id = bench.rig("fdr", sim.link, "FDR-REAL-9999")
        verification_id = bench.request(bench.instrument("fuel_dispenser"), rig_id, nozzle=1)
        assert bench.run(verification_id) == "failed"
    problem = bench.summary(verification_id)["problem"]
    assert "FDR-SIM-0001" in problem and "FDR-REAL-9999" in problem
    with session_scope(bench.app) as session:
        assert session.scalar(select(Reading.id).where(Reading.verification_id == verification_id)) is None
