"""The pure rules of verification runs: formulas, 修约, plans, reading validity and verdicts.

Expected values are worked by hand (shown in comments), never computed with the code under test;
the properties compare rounding with an independent model in integer arithmetic.
"""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from labs.verification import domain, procedures

PROCEDURES = {(d["code"], d["version"]): d for d in procedures.shipped()}
JJG443 = PROCEDURES["JJG 443", "2023"]
JJG443_2006 = PROCEDURES["JJG 443", "2006"]
JJG596 = PROCEDURES["JJG 596", "2012"]
JJG517 = PROCEDURES["JJG 517", "2016"]

DISPENSER = {"q_max_l_per_min": 60, "q_min_l_per_min": "5", "nozzles": [{"number": 1, "fuel": "gasoline"}]}
# Class 2, 220 V, 5(60) A, 1200 imp/kWh, single-phase, direct-connected.
METER = {"accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": 220, "ib_a": 5,
         "imax_a": 60, "constant_imp_per_kwh": 1200}
TAXI = {"k_imp_per_km": 1000, "tariff": "起步价 13 元 / 3 km"}


def delivery(indicated_l, reference_l=20.0, nozzle_c=20.0, rig_c=20.0, ambient_c=20.0):
    """An FDR reading; at 20 °C throughout the temperature correction vanishes."""
    return {"reference_volume": reference_l, "indicated_volume": indicated_l, "flow_rate": 54.0,
            "rig_temperature": rig_c, "nozzle_temperature": nozzle_c, "ambient_temperature": ambient_c,
            "elapsed": 22.2, "standard_expansion": 0.00005, "run_id": 7, "target_volume": 20.0,
            "target_flow": 54.0, "fuel_kind": "gasoline", "nozzle": 1}


# C₀ = 12 000 000 imp/kWh, C_L = 1200, N = 10: m₀ = 12e6 · 10 / 1200 = 100 000 reference pulses
# expected, so γ = (100 000 − m) / m × 100 % for m counted.
def pulses(reference_pulses, dut_constant=1200, bench_error=0.0):
    return {"dut_pulses": 10, "reference_pulses": reference_pulses, "error": bench_error, "voltage": 220.0,
            "current": 5.0, "power_factor": 1.0, "active_power": 1100.0, "frequency": 50.0, "elapsed": 27.3,
            "measurement_id": 3, "pulses": 10, "dut_constant": dut_constant, "reference_constant": 12_000_000}


def timed_test(dut_pulses):
    return {**pulses(0), "dut_pulses": dut_pulses, "reference_pulses": 0}


def taxi(meter_distance_m=1000.0, meter_time_s=300.0):
    return {"reference_distance_m": 1000.0, "meter_distance_m": meter_distance_m, "reference_time_s": 300.0,
            "meter_time_s": meter_time_s, "fare": 13.0}


def point(plan, key):
    (found,) = [p for p in plan if p.key == key]
    return found


# --- worked examples ---------------------------------------------------------------------------------

def test_first_jjg_443_example_is_0_2560_pct_reported_0_26():
    # V_Bt = 19.93 × [1 + 0.0012 × 1.0 + 0.00005 × (−5.0)] = 19.93 × 1.00095 = 19.9489335 L
    # E = (20.00 − 19.9489335) / 19.9489335 = +0.2560 %
    error = domain.dispenser_error_pct(20.00, 19.93, 16.0, 15.0, 0.0012, 0.00005)
    assert error == pytest.approx(0.2560, abs=0.00005)
    assert domain.round_to_interval(error, "0.01") == Decimal("0.26")


def test_second_jjg_443_example_passes_at_the_limit_and_is_flagged():
    # V_Bt = 19.93 × [1 + 0.0012 × 0.5 + 0.00005 × (−2.0)] = 19.93 × 1.0005 = 19.939965 L; E = +0.3011 %
    error = domain.dispenser_error_pct(20.00, 19.93, 18.5, 18.0, 0.0012, 0.00005)
    assert error == pytest.approx(0.3011, abs=0.00005)
    q1 = point(domain.build_plan(JJG443, DISPENSER), "Q1")
    run = delivery(20.00, reference_l=19.93, nozzle_c=18.5, rig_c=18.0)
    result = domain.evaluate_point(JJG443, DISPENSER, q1, [run, run, run])
    assert result.rounded_pct == Decimal("0.30")
    assert (result.passed, result.at_limit) == (True, True)
    assert result.repeatability_pct == Decimal("0.00")


@pytest.mark.parametrize("value, interval, expected", [
    (1.050, "0.1", "1.0"),  # half to even: 10.5 tenths → 10
    ("0.3500", "0.1", "0.4"),  # 3.5 tenths → 4
    (0.35, "0.1", "0.4"),  # as written, though the float 0.35 lies just below it (round(0.35, 1) is 0.3)
    (0.0501, "0.1", "0.1"),
    (2.1012, "0.2", "2.2"),  # 10.506 steps of 0.2 → 11
    (2.3, "0.2", "2.4"),  # 11.5 steps → 12
    (2.1, "0.2", "2.0"),  # 10.5 steps → 10
    (-1.050, "0.1", "-1.0"),
    ("-0.3500", "0.1", "-0.4"),
    (-0.0501, "0.1", "-0.1"),
    (-2.1012, "0.2", "-2.2"),
    (Decimal("0.125"), "0.01", "0.12"),
    (-0.04, "0.1", "0.0"),  # zero has no sign on a certificate
])
def test_rounding_examples(value, interval, expected):
    rounded = domain.round_to_interval(value, interval)
    assert str(rounded) == expected


def test_pulse_method_uses_both_transformer_ratios():
    # m₀ = 1 200 000 · 10 / (1200 · 5 · 2) = 1000; γ = (1000 − 995) / 995 × 100 % = +0.50251 %
    assert domain.pulse_error_pct(1_200_000, 1200, 10, 995, k_i=5, k_u=2) == pytest.approx(0.502513, abs=1e-6)
    # Direct connection: m₀ = 1 200 000 · 10 / 1200 = 10 000; γ = (10 000 − 9 950) / 9 950 = +0.50251 %
    assert domain.pulse_error_pct(1_200_000, 1200, 10, 9950) == pytest.approx(0.502513, abs=1e-6)


def test_starting_time_and_creep_time_of_a_class_2_single_phase_meter():
    # t_Q = 1.2 × 60 × 1000 / (1200 × 1 × 220 × 0.005 × 5) = 72 000 / 6 600 = 10.909 min
    assert domain.starting_time_min(JJG596, METER) == pytest.approx(10.9091, abs=1e-4)
    # Δt = 480 × 10⁶ / (1200 × 1 × 220 × 60) = 480 000 000 / 15 840 000 = 30.303 min
    assert domain.creep_time_min(JJG596, METER) == pytest.approx(30.3030, abs=1e-4)
    plan = domain.build_plan(JJG596, METER)
    assert point(plan, "starting").settings == {"voltage_v": 220.0, "current_a": 0.025, "power_factor": 1.0,
                                                "duration_s": 654}  # 654.5 s, never longer than t_Q
    assert point(plan, "creep").settings == {"voltage_v": 253.0, "current_a": 0.0, "power_factor": 1.0,
                                             "duration_s": 1819}  # 1818.2 s, never shorter than Δt


def test_three_phase_meters_count_their_elements():
    # 3p4w, class 1, CT, 57.7 V, 1.5(6) A, 6400 imp/kWh: I_Q = 0.002 × 1.5 = 0.003 A
    # t_Q = 72 000 / (6400 × 3 × 57.7 × 0.003) = 72 000 / 3323.52 = 21.6638 min
    # Δt = 600 × 10⁶ / (6400 × 3 × 57.7 × 6) = 600 000 000 / 6 647 040 = 90.2657 min
    meter = {"accuracy_class": 1, "connection": "ct", "elements": "3p4w", "un_v": "57.7", "ib_a": "1.5",
             "imax_a": "6", "constant_imp_per_kwh": 6400, "k_i": 40, "k_u": 100}
    assert domain.starting_time_min(JJG596, meter) == pytest.approx(21.6638, abs=1e-4)
    assert domain.creep_time_min(JJG596, meter) == pytest.approx(90.2657, abs=1e-4)


# --- plans ----------------------------------------------------------------------------------------------

def test_dispenser_plan_two_flows_of_three_runs():
    plan = domain.build_plan(JJG443, DISPENSER)
    assert [(p.index, p.key, p.operation, p.repetitions) for p in plan] == [
        (0, "Q1", "delivery", 3), (1, "Q2", "delivery", 3)]
    assert plan[0].settings == {"volume_l": 20.0, "flow_l_per_min": 54.0, "fuel_kind": "gasoline", "nozzle": 1}
    assert plan[0].label == "Q1 = 54 L/min, 20 L"
    assert plan[1].settings["flow_l_per_min"] == 6.0  # 1.2 × 5 L/min


def test_dispenser_plan_for_one_nozzle_of_several_and_for_all():
    nameplate = {**DISPENSER, "nozzles": [{"number": 1, "fuel": "gasoline"}, {"number": "2", "fuel": "diesel"}]}
    only_two = domain.build_plan(JJG443, nameplate, nozzle=2)
    assert [(p.key, p.settings["nozzle"], p.settings["fuel_kind"]) for p in only_two] == [
        ("Q1", 2, "diesel"), ("Q2", 2, "diesel")]
    assert [p.key for p in domain.build_plan(JJG443, nameplate)] == ["N1 Q1", "N1 Q2", "N2 Q1", "N2 Q2"]


@pytest.mark.parametrize("procedure, nameplate, kwargs, message", [
    (JJG443, {"q_min_l_per_min": 5, "nozzles": [{"number": 1, "fuel": "gasoline"}]}, {}, "q_max_l_per_min"),
    (JJG443, DISPENSER, {"nozzle": 3}, "no nozzle 3"),
    (JJG443, {**DISPENSER, "nozzles": [{"number": 1, "fuel": "water"}]}, {}, "fuel"),
    (JJG596, {k: v for k, v in METER.items() if k != "imax_a"}, {}, "imax_a"),
    (JJG596, {**METER, "accuracy_class": "0.5S"}, {}, "accuracy_class"),
    (JJG596, {**METER, "un_v": "-220"}, {}, "un_v"),
])
def test_a_plan_names_what_the_nameplate_lacks(procedure, nameplate, kwargs, message):
    with pytest.raises(ValueError, match=message):
        domain.build_plan(procedure, nameplate, **kwargs)


def test_meter_plan_load_points_then_starting_and_creep():
    plan = domain.build_plan(JJG596, METER)
    assert [(p.key, p.operation, p.repetitions) for p in plan] == [
        ("Imax PF1", "error", 2), ("Ib PF1", "error", 2), ("0.1Ib PF1", "error", 2), ("Ib 0.5L", "error", 2),
        ("0.2Ib 0.5L", "error", 2), ("starting", "starting", 1), ("creep", "creep", 1)]
    assert point(plan, "Ib 0.5L").settings == {"voltage_v": 220.0, "current_a": 5.0, "power_factor": 0.5,
                                               "pulses": 5, "dut_constant": 1200}
    assert point(plan, "0.2Ib 0.5L").settings["current_a"] == 1.0


@pytest.mark.parametrize("connection, accuracy_class, current_multiple, power_factor, mpe", [
    ("direct", "2", "0.05", "1", "2.5"),  # 0.05 Ib ≤ I < 0.1 Ib
    ("direct", "2", "0.1", "1", "2.0"),  # from 0.1 Ib the full-range limit
    ("direct", "1", "0.1", "0.5L", "1.5"),  # 0.1 Ib ≤ I < 0.2 Ib
    ("direct", "1", "0.2", "0.8C", "1.0"),
    ("ct", "1", "0.02", "1", "1.5"),  # through CTs the breakpoints move down
    ("ct", "1", "0.05", "1", "1.0"),
    ("ct", "2", "0.05", "0.5L", "2.5"),
    ("ct", "2", "0.1", "0.5L", "2.0"),
])
def test_meter_limit_by_connection_class_current_and_power_factor(connection, accuracy_class, current_multiple,
                                                                 power_factor, mpe):
    procedure = copy.deepcopy(JJG596)
    procedure["points"] = [{"key": "p", "operation": "error", "current_of": "ib", "current_multiple": current_multiple,
                            "power_factor": power_factor, "pulses": 2}]
    nameplate = {**METER, "connection": connection, "accuracy_class": accuracy_class}
    (load_point,) = domain.build_plan(procedure, nameplate)
    result = domain.evaluate_point(procedure, nameplate, load_point, [])
    assert (result.mpe_low_pct, result.mpe_high_pct) == (-Decimal(mpe), Decimal(mpe))
    assert load_point.settings["power_factor"] == {"1": 1.0, "0.5L": 0.5, "0.8C": -0.8}[power_factor]


def test_a_load_point_below_every_range_has_no_limit_and_no_plan():
    procedure = copy.deepcopy(JJG596)
    procedure["points"] = [{"key": "0.01Ib", "operation": "error", "current_of": "ib", "current_multiple": "0.01",
                            "power_factor": "1", "pulses": 2}]
    with pytest.raises(ValueError, match="no limit for 0.01Ib"):
        domain.build_plan(procedure, METER)


def test_taxi_plan_one_distance_and_one_standing_time():
    plan = domain.build_plan(JJG517, TAXI)
    assert [(p.key, p.operation, p.settings) for p in plan] == [
        ("distance", "distance", {"metres": 1000.0, "speed_km_h": 40.0}),
        ("standing", "standing", {"seconds": 300.0})]


# --- verdicts from hand-made readings ---------------------------------------------------------------------

def test_dispenser_with_plus_0_25_pct_passes_and_plus_0_45_pct_fails():
    plan = domain.build_plan(JJG443, DISPENSER)
    good = [delivery(20.05)] * 3  # (20.05 − 20) / 20 = +0.25 %
    bad = [delivery(20.09)] * 3  # +0.45 %
    passing = domain.evaluate(JJG443, DISPENSER, plan, {0: good, 1: good})
    assert passing.verdict == "pass" and not passing.at_limit
    assert passing.points[0].rounded_pct == Decimal("0.25")
    failing = domain.evaluate(JJG443, DISPENSER, plan, {0: good, 1: bad})
    assert failing.verdict == "fail"
    assert [p.passed for p in failing.points] == [True, False]
    assert failing.points[1].rounded_pct == Decimal("0.45")


def test_dispenser_point_stands_on_its_worst_run():
    q1 = domain.build_plan(JJG443, DISPENSER)[0]
    # runs +0.10 %, −0.31 %, +0.20 %: the −0.31 % run fails the point
    result = domain.evaluate_point(JJG443, DISPENSER, q1, [delivery(20.02), delivery(19.938), delivery(20.04)])
    assert result.rounded_pct == Decimal("-0.31")
    assert result.passed is False


def test_repeatability_is_the_range_over_d_n_and_its_limit_depends_on_the_edition():
    q1 = domain.build_plan(JJG443, DISPENSER)[0]
    runs = [delivery(20.000), delivery(20.040), delivery(20.020)]  # 0.00, +0.20, +0.10 %
    # E_n = (0.20 − 0.00) / 1.69 = 0.1183 → 0.12 %
    under_2023 = domain.evaluate_point(JJG443, DISPENSER, q1, runs)
    assert (under_2023.repeatability_pct, under_2023.repeatability_limit_pct) == (Decimal("0.12"), Decimal("0.10"))
    assert under_2023.passed is False
    under_2006 = domain.evaluate_point(JJG443_2006, DISPENSER, q1, runs)
    assert (under_2006.repeatability_limit_pct, under_2006.passed) == (Decimal("0.15"), True)


def test_a_run_with_4_5_degrees_between_nozzle_and_standard_is_invalid_and_repeated():
    q1 = domain.build_plan(JJG443, DISPENSER)[0]
    warm = delivery(20.05, nozzle_c=24.5, rig_c=20.0)
    assert "4.5 °C" in domain.reading_problem(JJG443, q1, warm)
    assert domain.reading_problem(JJG443, q1, delivery(20.05, nozzle_c=24.0, rig_c=20.0)) is None
    result = domain.evaluate_point(JJG443, DISPENSER, q1, [warm, delivery(20.05), delivery(20.05)])
    assert (len(result.errors_pct), result.complete, result.passed) == (2, False, False)
    result = domain.evaluate_point(JJG443, DISPENSER, q1, [warm] + [delivery(20.05)] * 3)
    assert (len(result.errors_pct), result.complete, result.passed) == (3, True, True)


def test_a_run_outside_the_ambient_range_or_missing_a_value_is_invalid():
    q1 = domain.build_plan(JJG443, DISPENSER)[0]
    assert "ambient" in domain.reading_problem(JJG443, q1, delivery(20.05, ambient_c=41.0))
    reading = delivery(20.05)
    del reading["nozzle_temperature"]
    assert "nozzle_temperature" in domain.reading_problem(JJG443, q1, reading)


def meter_readings(ib_readings):
    """Every point of the meter's plan within its limit, Ib PF1 with the readings given."""
    readings = {i: [pulses(100_000)] * 2 for i in range(5)}  # 0 %
    readings[1] = ib_readings
    readings[5] = [timed_test(1)]  # starting: one pulse, enough
    readings[6] = [timed_test(0)]  # creep: none
    return readings


def test_class_2_meter_with_plus_1_5_pct_at_ib_passes():
    # 100 000 / 98 522 = 1.0150017: γ = +1.5002 %, 7.5009 steps of 0.2 → 8 → +1.6 %
    evaluation = domain.evaluate(JJG596, METER, domain.build_plan(JJG596, METER),
                                 meter_readings([pulses(98_522)] * 2))
    assert evaluation.verdict == "pass"
    ib = evaluation.points[1]
    assert (ib.rounded_pct, ib.mpe_low_pct, ib.mpe_high_pct) == (Decimal("1.6"), Decimal("-2.0"), Decimal("2.0"))


def test_class_2_meter_with_plus_2_3_pct_at_ib_fails():
    # 100 000 / 97 752 = 1.0229970: γ = +2.2997 %, within 0.8…1.2 × 2.0 %, so four readings;
    # mean +2.2997 %, 11.4985 steps of 0.2 → 11 → +2.2 %, beyond ±2.0 %
    plan = domain.build_plan(JJG596, METER)
    evaluation = domain.evaluate(JJG596, METER, plan, meter_readings([pulses(97_752)] * 4))
    assert evaluation.verdict == "fail"
    ib = evaluation.points[1]
    assert (ib.rounded_pct, ib.complete, ib.passed) == (Decimal("2.2"), True, False)
    assert [p.passed for p in evaluation.points] == [True, False, True, True, True, True, True]


def test_near_the_limit_a_meter_point_needs_two_more_readings_and_averages_all():
    ib = point(domain.build_plan(JJG596, METER), "Ib PF1")
    near = pulses(98_232)  # 100 000 / 98 232: γ = +1.7998 %, within 1.6…2.4 %
    below = pulses(101_833)  # γ = (100 000 − 101 833) / 101 833 = −1.8000 %
    clear = pulses(99_000)  # γ = +1.0101 %
    assert domain.repetitions_needed(JJG596, METER, ib, [near, near]) == 4
    assert domain.repetitions_needed(JJG596, METER, ib, [below, below]) == 4
    assert domain.repetitions_needed(JJG596, METER, ib, [clear, clear]) == 2
    assert domain.repetitions_needed(JJG596, METER, ib, [near]) == 2
    # An invalid reading (no reference pulses) does not count towards the first two.
    assert domain.repetitions_needed(JJG596, METER, ib, [pulses(0), near]) == 2
    two = domain.evaluate_point(JJG596, METER, ib, [near, near])
    assert (two.complete, two.passed) == (False, False)
    # mean of +1.7998, +1.7998, 0, 0 = +0.8999 %: 4.4995 steps of 0.2 → 4 → +0.8 %
    four = domain.evaluate_point(JJG596, METER, ib, [near, near, pulses(100_000), pulses(100_000)])
    assert (four.rounded_pct, four.complete, four.passed) == (Decimal("0.8"), True, True)


def test_meter_error_uses_the_nameplate_constant_and_flags_the_benchs():
    ib = point(domain.build_plan(JJG596, METER), "Ib PF1")
    # The bench was given 1000 imp/kWh and shows +20 %; with the nameplate's 1200 the error is 0 %.
    mistyped = pulses(100_000, dut_constant=1000, bench_error=20.0)
    result = domain.evaluate_point(JJG596, METER, ib, [mistyped, mistyped])
    assert result.errors_pct == [0.0, 0.0]
    assert (result.bench_error_pct, result.constant_mismatch, result.passed) == (20.0, True, True)
    fine = domain.evaluate_point(JJG596, METER, ib, [pulses(100_000)] * 2)
    assert fine.constant_mismatch is False


def test_starting_needs_a_pulse_and_creep_allows_at_most_one():
    plan = domain.build_plan(JJG596, METER)
    starting, creep = point(plan, "starting"), point(plan, "creep")
    assert domain.evaluate_point(JJG596, METER, starting, [timed_test(0)]).passed is False
    result = domain.evaluate_point(JJG596, METER, starting, [timed_test(1)])
    assert (result.passed, result.pulses, result.limit_pulses) == (True, 1, 1)
    assert domain.evaluate_point(JJG596, METER, creep, [timed_test(1)]).passed is True
    assert domain.evaluate_point(JJG596, METER, creep, [timed_test(2)]).passed is False


def test_taxi_meter_over_counting_distance_by_1_5_pct_fails_and_under_by_3_5_pct_passes():
    plan = domain.build_plan(JJG517, TAXI)
    over = domain.evaluate(JJG517, TAXI, plan, {0: [taxi(meter_distance_m=1015.0)], 1: [taxi()]})
    assert over.verdict == "fail"
    assert over.points[0].rounded_pct == Decimal("1.5")
    under = domain.evaluate(JJG517, TAXI, plan, {0: [taxi(meter_distance_m=965.0)], 1: [taxi()]})
    assert under.verdict == "pass"
    assert (under.points[0].rounded_pct, under.points[0].mpe_low_pct, under.points[0].mpe_high_pct) == (
        Decimal("-3.5"), Decimal("-4.0"), Decimal("1.0"))
    at_limit = domain.evaluate(JJG517, TAXI, plan, {0: [taxi(meter_distance_m=1010.0)], 1: [taxi()]})
    assert (at_limit.verdict, at_limit.at_limit) == ("pass", True)


def test_taxi_meter_time_error_on_the_standing_point():
    standing = domain.build_plan(JJG517, TAXI)[1]
    # (300.2 − 300) / 300 = +0.0667 % → +0.07 %, within ±0.1 %; (300.4 − 300) / 300 = +0.133 % → +0.13 %
    passing = domain.evaluate_point(JJG517, TAXI, standing, [taxi(meter_time_s=300.2)])
    assert (passing.rounded_pct, passing.mpe_high_pct, passing.passed) == (Decimal("0.07"), Decimal("0.1"), True)
    assert domain.evaluate_point(JJG517, TAXI, standing, [taxi(meter_time_s=300.4)]).passed is False


def test_a_point_without_readings_fails_the_run():
    plan = domain.build_plan(JJG517, TAXI)
    evaluation = domain.evaluate(JJG517, TAXI, plan, {0: [taxi()]})
    assert evaluation.verdict == "fail"
    assert (evaluation.points[1].complete, evaluation.points[1].rounded_pct) == (False, None)


def test_evaluation_as_dict_is_json_safe():
    import json
    plan = domain.build_plan(JJG596, METER)
    data = domain.evaluate(JJG596, METER, plan, meter_readings([pulses(98_522)] * 2)).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["points"][1]["rounded_pct"] == "1.6" and data["points"][1]["mpe_high_pct"] == "2.0"


def test_next_due_adds_the_period_and_none_on_fail():
    assert domain.next_due(JJG443, dt.date(2024, 8, 31), "pass") == dt.date(2025, 2, 28)
    assert domain.next_due(JJG596, dt.date(2024, 2, 29), "pass") == dt.date(2032, 2, 29)
    assert domain.next_due(JJG517, dt.date(2025, 12, 15), "pass") == dt.date(2026, 12, 15)
    assert domain.next_due(JJG517, dt.date(2025, 12, 15), "fail") is None


# --- properties --------------------------------------------------------------------------------------

INTERVALS = st.sampled_from(["0.01", "0.02", "0.05", "0.1", "0.2"])


@st.composite
def decimal_strings(draw):
    digits = draw(st.integers(-10**18, 10**18))  # beyond a float's 17 digits
    places = draw(st.integers(0, 12))
    sign = "-" if digits < 0 else ""
    text = str(abs(digits)).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}" if places else f"{sign}{text}"


def model_round(text: str, interval: str) -> Fraction:
    """Half-to-even rounding to a multiple of `interval`, in integers: the quotient's floor and remainder."""
    quotient = Fraction(text) / Fraction(interval)
    whole, rest = divmod(quotient.numerator, quotient.denominator)
    twice = 2 * rest
    if twice > quotient.denominator or (twice == quotient.denominator and whole % 2):
        whole += 1
    return whole * Fraction(interval)


@given(decimal_strings(), INTERVALS)
def test_rounding_agrees_with_an_integer_model(text, interval):
    assert Fraction(domain.round_to_interval(text, interval)) == model_round(text, interval)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), INTERVALS)
def test_a_float_rounds_as_its_decimal_string(value, interval):
    assert Fraction(domain.round_to_interval(value, interval)) == model_round(repr(value), interval)


@given(decimal_strings(), INTERVALS)
def test_rounding_is_idempotent_within_half_an_interval_and_symmetric(text, interval):
    rounded = domain.round_to_interval(text, interval)
    assert domain.round_to_interval(rounded, interval) == rounded
    assert abs(rounded - Decimal(text)) <= Decimal(interval) / 2
    negated = text[1:] if text.startswith("-") else "-" + text
    assert domain.round_to_interval(negated, interval) == -rounded


Q1 = domain.build_plan(JJG443, DISPENSER)[0]
IB = point(domain.build_plan(JJG596, METER), "Ib PF1")


def dispenser_result(indicated_l):
    return domain.evaluate_point(JJG443, DISPENSER, Q1, [delivery(indicated_l)] * 3)


def meter_result(reference_pulses):
    return domain.evaluate_point(JJG596, METER, IB, [pulses(reference_pulses)] * 4)


@given(st.floats(19.90, 20.10), st.floats(19.90, 20.10))
def test_dispenser_verdict_is_monotone_in_the_error(a_l, b_l):
    a, b = dispenser_result(a_l), dispenser_result(b_l)
    assume(abs(a.errors_pct[0]) <= abs(b.errors_pct[0]))
    assert a.passed or not b.passed


@given(st.integers(96_000, 104_000), st.integers(96_000, 104_000))
def test_meter_verdict_is_monotone_in_the_error(a_pulses, b_pulses):
    a, b = meter_result(a_pulses), meter_result(b_pulses)
    assume(abs(a.mean_pct) <= abs(b.mean_pct))
    assert a.passed or not b.passed


@given(st.floats(19.90, 20.10))
def test_dispenser_verdict_is_taken_on_the_error_rounded_to_0_01(indicated_l):
    result = dispenser_result(indicated_l)
    rounded = model_round(repr(result.errors_pct[0]), "0.01")
    assert result.passed == (abs(rounded) <= Fraction("0.30"))
    assert result.at_limit == (abs(rounded) == Fraction("0.30"))


@given(st.integers(96_000, 104_000))
def test_meter_verdict_is_taken_on_the_mean_rounded_to_the_class_interval(reference_pulses):
    result = meter_result(reference_pulses)
    rounded = model_round(repr(result.mean_pct), "0.2")
    assert result.passed == (abs(rounded) <= 2)
    assert result.at_limit == (abs(rounded) == 2)
