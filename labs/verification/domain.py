"""Verification runs as plain Python: the plan of points a procedure asks of an instrument, which
readings count, the errors the regulations define, rounding (修约) and the verdict.

Every figure comes from the procedure document (see procedures.py); the code holds the formulas.
"""
from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from statistics import fmean

# JJG 443's formula corrects the standard's volume to 20 °C, the temperature its certificate gives
# the volume at: part of the formula's definition, like the 100 of a percentage.
STANDARD_REFERENCE_TEMPERATURE_C = 20.0

PASS, FAIL = "pass", "fail"


@dataclass(frozen=True)
class Point:
    index: int  # position in the plan, 0-based
    key: str  # stable: "Q1", "Imax PF1", "starting", "creep", "distance", "standing"
    label: str  # short Chinese description for the certificate
    operation: str  # "delivery" | "error" | "starting" | "creep" | "distance" | "standing"
    settings: dict  # what the engine commands the rig with, JSON-safe
    repetitions: int  # readings the point needs at least


@dataclass(frozen=True)
class PointResult:
    index: int
    key: str
    label: str
    operation: str
    errors_pct: list[float]  # one per valid reading, full precision
    mean_pct: float | None
    rounded_pct: Decimal | None  # the value the verdict is taken on
    mpe_low_pct: Decimal | None
    mpe_high_pct: Decimal | None
    repeatability_pct: Decimal | None  # JJG 443's E_n, rounded like the errors
    repeatability_limit_pct: Decimal | None
    passed: bool
    at_limit: bool  # the rounded value equals a bound: for the inspector's attention
    complete: bool  # as many valid readings as the point needs; an incomplete point fails
    bench_error_pct: float | None = None  # EMB's own figure (mean), for display only
    constant_mismatch: bool = False  # a reading's C_L as typed into the bench differs from the nameplate's
    pulses: int | None = None  # starting and creep tests: DUT pulses emitted
    limit_pulses: int | None = None  # starting: at least; creep: at most

    def as_dict(self) -> dict:
        return {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class Evaluation:
    points: list[PointResult]
    verdict: str  # "pass" | "fail"
    at_limit: bool

    def as_dict(self) -> dict:
        return {"points": [p.as_dict() for p in self.points], "verdict": self.verdict, "at_limit": self.at_limit}


def _json_safe(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


# --- formulas ------------------------------------------------------------------------------------

def round_to_interval(value, interval) -> Decimal:
    """Round to a multiple of `interval`, half to even (修约), exactly in decimal.

    A float is taken by its shortest decimal string (str(0.35) is "0.35"), so 0.x5 rounds as
    written, not as its binary neighbour would under float round().
    """
    number, step = _decimal(value), _decimal(interval)
    if not number.is_finite() or not step.is_finite() or step <= 0:
        raise ValueError(f"cannot round {value!r} to an interval of {interval!r}")
    with localcontext() as ctx:
        ctx.prec = 60  # enough that the quotient of any float's digits by the interval is exact
        steps = (number / step).to_integral_value(rounding=ROUND_HALF_EVEN)
        result = (steps * step).quantize(step)
    return result.copy_abs() if result.is_zero() else result  # no "-0.0" on a certificate


def dispenser_error_pct(indicated_l, reference_l, nozzle_temperature_c, rig_temperature_c,
                        fuel_expansion_per_c, standard_expansion_per_c) -> float:
    """JJG 443, standard-volume method: E = (V_J − V_Bt) / V_Bt × 100 %, with the standard's volume
    brought to the fuel at the nozzle: V_Bt = V_B · [1 + β_Y·(t_J − t_B) + β_B·(t_B − 20)]."""
    t_j, t_b = float(nozzle_temperature_c), float(rig_temperature_c)
    corrected_l = float(reference_l) * (1 + float(fuel_expansion_per_c) * (t_j - t_b)
                                        + float(standard_expansion_per_c) * (t_b - STANDARD_REFERENCE_TEMPERATURE_C))
    return relative_error_pct(indicated_l, corrected_l)


def pulse_error_pct(reference_constant, dut_constant, dut_pulses, reference_pulses, k_i=1, k_u=1) -> float:
    """JJG 596, pulse method: m₀ = C₀·N / (C_L·K_I·K_U) reference pulses expected for N DUT pulses,
    γ = (m₀ − m) / m × 100 %. K_I, K_U: instrument-transformer ratios, 1 for direct connection."""
    if not float(reference_pulses) > 0:
        raise ValueError("no reference pulses counted: there is no error to compute")
    expected = float(reference_constant) * float(dut_pulses) / (float(dut_constant) * float(k_i) * float(k_u))
    return (expected - float(reference_pulses)) / float(reference_pulses) * 100


def relative_error_pct(shown, reference) -> float:
    """E = (shown − reference) / reference × 100 %: a dispenser's volume, a taxi meter's distance or time."""
    return (float(shown) - float(reference)) / float(reference) * 100


def starting_time_min(procedure: dict, nameplate: dict) -> float:
    """JJG 596 starting test: at least one pulse within t_Q = 1.2·60·1000 / (C·m·U_n·I_Q) minutes."""
    meter = _meter_nameplate(procedure, nameplate)
    return float(Decimal(procedure["starting_test"]["time_constant_min"])
                 / (meter.constant * meter.m * meter.un_v * _starting_current_a(procedure, meter)))


def creep_time_min(procedure: dict, nameplate: dict) -> float:
    """JJG 596 creep test: at most one pulse within Δt = K·10⁶ / (C·m·U_n·I_max) minutes."""
    meter = _meter_nameplate(procedure, nameplate)
    k = Decimal(procedure["classes"][meter.accuracy_class]["creep_k"])
    return float(k * Decimal(procedure["creep_test"]["time_constant_min"])
                 / (meter.constant * meter.m * meter.un_v * meter.imax_a))


def next_due(procedure: dict, verified_on: dt.date, verdict: str) -> dt.date | None:
    """When the next verification is due: the period after this one (clamped to the month's end); None
    when the instrument failed, since it may not be used until repaired and verified again."""
    if verdict == FAIL:
        return None
    if verdict != PASS:
        raise ValueError(f"verdict must be {PASS} or {FAIL}, not {verdict!r}")
    months = verified_on.month - 1 + procedure["period_months"]
    year, month = verified_on.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(verified_on.day, calendar.monthrange(year, month)[1]))


# --- the plan --------------------------------------------------------------------------------------

def build_plan(procedure: dict, nameplate: dict, *, nozzle: int | None = None) -> list[Point]:
    """The points the procedure asks of this instrument, in order.

    A fuel dispenser's plan covers the given nozzle, or every nozzle on the nameplate (keys then
    prefixed "N<number> ", so that each stays unique). Raises ValueError naming a missing or bad
    nameplate field, or an unknown nozzle.
    """
    builder = {"dispenser_volume": _dispenser_points, "meter_pulse": _meter_points,
               "taxi_distance_time": _taxi_points}[procedure["method"]]
    if nozzle is not None and procedure["method"] != "dispenser_volume":
        raise ValueError("only a fuel dispenser has nozzles")
    return [Point(i, *parts) for i, parts in enumerate(builder(procedure, nameplate, nozzle))]


def _dispenser_points(procedure, nameplate, nozzle):
    flows = {"q_max": _nameplate_number(nameplate, "q_max_l_per_min"),
             "q_min": _nameplate_number(nameplate, "q_min_l_per_min")}
    if flows["q_min"] >= flows["q_max"]:
        raise ValueError("nameplate q_min_l_per_min must be below q_max_l_per_min")
    nozzles = _nozzles(procedure, nameplate)
    if nozzle is not None:
        if nozzle not in nozzles:
            raise ValueError(f"the dispenser has no nozzle {nozzle}: its nozzles are {', '.join(map(str, nozzles))}")
        nozzles = {nozzle: nozzles[nozzle]}
    several = len(nozzles) > 1
    for number, fuel_kind in nozzles.items():
        for spec in procedure["points"]:
            flow = flows[spec["flow_of"]] * Decimal(spec["flow_fraction"])
            if not flows["q_min"] <= flow <= flows["q_max"]:
                raise ValueError(f"{spec['key']} = {flow:f} L/min lies outside the nameplate's flow range")
            volume = Decimal(spec["volume_l"])
            key = f"N{number} {spec['key']}" if several else spec["key"]
            label = f"{spec['key']} = {_g(flow)} L/min, {_g(volume)} L"
            yield (key, f"{number}号枪 {label}" if several else label, "delivery",
                   {"volume_l": float(volume), "flow_l_per_min": float(flow), "fuel_kind": fuel_kind,
                    "nozzle": number}, spec["repetitions"])


def _nozzles(procedure, nameplate) -> dict[int, str]:
    nozzles = nameplate.get("nozzles")
    if not isinstance(nozzles, list) or not nozzles:
        raise ValueError("the nameplate has no nozzles (a list of {number, fuel})")
    fuels = [k for k in procedure["fuel_expansion_per_c"] if k != "note"]
    out = {}
    for i, n in enumerate(nozzles):
        number = n.get("number") if isinstance(n, dict) else None
        if isinstance(number, str) and number.strip().isdigit():
            number = int(number)  # nameplates may give numbers as strings
        if isinstance(number, bool) or not isinstance(number, int) or number < 1 or number in out:
            raise ValueError(f"nameplate nozzles[{i}].number must be a whole number from 1, each once")
        if n.get("fuel") not in fuels:
            raise ValueError(f"nameplate nozzles[{i}].fuel must be one of {', '.join(fuels)}")
        out[number] = n["fuel"]
    return out


def _meter_points(procedure, nameplate, nozzle):
    meter = _meter_nameplate(procedure, nameplate)
    if meter.constant != meter.constant.to_integral_value():
        raise ValueError("nameplate constant_imp_per_kwh must be whole: the bench takes it as a whole number")
    for spec in procedure["points"]:
        if spec["operation"] == "error":
            mpe = _meter_mpe_pct(procedure, meter, spec)  # fails here, not at the end, if none applies
            current = _error_current_a(meter, spec)
            base = "Imax" if spec["current_of"] == "imax" else "Ib"
            multiple = "" if Decimal(spec["current_multiple"]) == 1 else _g(Decimal(spec["current_multiple"]))
            yield (spec["key"], f"{multiple}{base} = {_g(current)} A, cosφ = {spec['power_factor']} (±{mpe} %)",
                   "error", {"voltage_v": float(meter.un_v), "current_a": float(current),
                             "power_factor": _power_factor(spec["power_factor"]), "pulses": spec["pulses"],
                             "dut_constant": int(meter.constant)},
                   procedure["repetitions"]["initial"])
        elif spec["operation"] == "starting":
            test = procedure["starting_test"]
            current = _starting_current_a(procedure, meter)
            minutes = starting_time_min(procedure, nameplate)
            # The pulse must come within t_Q: a whole second shorter never lets a slow meter pass.
            yield (spec["key"], f"起动 {_g(current)} A, {minutes:.1f} min 内至少 {test['min_pulses']} 个脉冲",
                   "starting", {"voltage_v": float(meter.un_v), "current_a": float(current),
                                "power_factor": _power_factor(test["power_factor"]),
                                "duration_s": math.floor(minutes * 60)}, 1)
        elif spec["operation"] == "creep":
            test = procedure["creep_test"]
            voltage = meter.un_v * Decimal(test["voltage_factor"])
            minutes = creep_time_min(procedure, nameplate)
            # Δt is a least duration: rounding it up never shortens the test.
            yield (spec["key"], f"潜动 {_g(voltage)} V, {minutes:.1f} min 内至多 {test['max_pulses']} 个脉冲",
                   "creep", {"voltage_v": float(voltage), "current_a": 0.0,
                             "power_factor": _power_factor(test["power_factor"]),
                             "duration_s": math.ceil(minutes * 60)}, 1)


def _taxi_points(procedure, nameplate, nozzle):
    for spec in procedure["points"]:
        if spec["operation"] == "distance":
            metres, speed = Decimal(spec["metres"]), Decimal(spec["speed_km_h"])
            yield (spec["key"], f"计程 {_g(metres)} m, {_g(speed)} km/h", "distance",
                   {"metres": float(metres), "speed_km_h": float(speed)}, spec["repetitions"])
        else:
            seconds = Decimal(spec["seconds"])
            yield (spec["key"], f"计时 {_g(seconds)} s", "standing", {"seconds": float(seconds)}, spec["repetitions"])


# --- readings ---------------------------------------------------------------------------------------

# The raw values each operation's readings must carry, named as the drivers name them.
READING_FIELDS = {
    "delivery": ("reference_volume", "indicated_volume", "rig_temperature", "nozzle_temperature",
                 "ambient_temperature", "standard_expansion"),
    "error": ("dut_pulses", "reference_pulses", "reference_constant"),
    "starting": ("dut_pulses",),
    "creep": ("dut_pulses",),
    "distance": ("reference_distance_m", "meter_distance_m"),
    "standing": ("reference_time_s", "meter_time_s"),
}


def reading_problem(procedure: dict, point: Point, values: dict) -> str | None:
    """Why a reading is invalid and the measurement must be repeated, or None if it counts."""
    missing = [name for name in READING_FIELDS[point.operation] if _number_or_none(values.get(name)) is None]
    if missing:
        return f"the reading has no {', '.join(missing)}"
    if point.operation == "delivery":
        if float(values["reference_volume"]) <= 0:
            return "the rig measured no reference volume"
        limits = procedure["temperature"]
        t_j, t_b = float(values["nozzle_temperature"]), float(values["rig_temperature"])
        if abs(t_j - t_b) > float(limits["max_difference_c"]):
            return (f"the fuel at the nozzle ({t_j:.1f} °C) and in the standard ({t_b:.1f} °C) differ by "
                    f"{abs(t_j - t_b):.1f} °C, more than {limits['max_difference_c']} °C")
        ambient = float(values["ambient_temperature"])
        if not float(limits["ambient_min_c"]) <= ambient <= float(limits["ambient_max_c"]):
            return (f"the ambient temperature {ambient:.1f} °C lies outside "
                    f"{limits['ambient_min_c']}…{limits['ambient_max_c']} °C")
    elif point.operation == "error":
        if float(values["reference_pulses"]) <= 0:
            return "the bench counted no reference pulses"
        if float(values["dut_pulses"]) <= 0:
            return "the bench counted no pulses from the meter"
    elif point.operation == "distance" and float(values["reference_distance_m"]) <= 0:
        return "the rig measured no reference distance"
    elif point.operation == "standing" and float(values["reference_time_s"]) <= 0:
        return "the rig measured no reference time"
    return None


def repetitions_needed(procedure: dict, nameplate: dict, point: Point, readings: list[dict]) -> int:
    """How many valid readings the point needs in all, given those so far.

    JJG 596: when the mean of the first ones lies within the near-limit band (0.8…1.2 × the limit),
    the point needs the extra ones, and all are averaged.
    """
    if point.operation != "error":
        return point.repetitions
    first = _errors_pct(procedure, nameplate, point, _valid(procedure, point, readings))[:point.repetitions]
    if len(first) < point.repetitions:
        return point.repetitions
    rules = procedure["repetitions"]
    mpe = _meter_mpe_pct(procedure, _meter_nameplate(procedure, nameplate), _point_spec(procedure, point))
    magnitude = abs(_decimal(fmean(first)))
    if Decimal(rules["near_limit_low"]) * mpe <= magnitude <= Decimal(rules["near_limit_high"]) * mpe:
        return point.repetitions + rules["extra"]
    return point.repetitions


# --- evaluation -------------------------------------------------------------------------------------

def evaluate(procedure: dict, nameplate: dict, points: list[Point], readings: dict[int, list[dict]]) -> Evaluation:
    """Every point's result and the verdict: pass only when every point passed."""
    results = [evaluate_point(procedure, nameplate, p, readings.get(p.index, [])) for p in points]
    return Evaluation(results, PASS if results and all(r.passed for r in results) else FAIL,
                      any(r.at_limit for r in results))


def evaluate_point(procedure: dict, nameplate: dict, point: Point, readings: list[dict]) -> PointResult:
    """A point's errors, the value its verdict is taken on, and the verdict; invalid readings left out."""
    valid = _valid(procedure, point, readings)
    complete = len(valid) >= repetitions_needed(procedure, nameplate, point, readings)
    head = dict(index=point.index, key=point.key, label=point.label, operation=point.operation, complete=complete)
    if point.operation in ("starting", "creep"):
        return _pulse_test_result(procedure, nameplate, point, valid, head)
    errors = _errors_pct(procedure, nameplate, point, valid)
    low, high = _bounds_pct(procedure, nameplate, point)
    mean = fmean(errors) if errors else None
    extra = {}
    if point.operation == "error":
        # JJG 596: the mean of the readings, rounded to the class's interval, is what is judged.
        meter = _meter_nameplate(procedure, nameplate)
        interval = procedure["classes"][meter.accuracy_class]["rounding_interval_pct"]
        rounded = round_to_interval(mean, interval) if errors else None
        within = rounded is not None and low <= rounded <= high
        extra = dict(bench_error_pct=_mean_of(valid, "error"), constant_mismatch=_constant_mismatch(valid, meter))
    else:
        # JJG 443 and JJG 517: each reading's error is rounded and judged; the point stands on the
        # worst, the one furthest beyond (or nearest to) its bound.
        each = [round_to_interval(e, _interval_pct(procedure, point)) for e in errors]
        rounded = max(each, key=lambda r: max(r - high, low - r)) if each else None
        within = bool(each) and all(low <= r <= high for r in each)
    repeatability = limit = None
    if point.operation == "delivery":
        limit = Decimal(procedure["repeatability"]["limit_pct"])
        repeatability = _repeatability_pct(procedure, errors) if complete else None
        within = within and repeatability is not None and repeatability <= limit
    return PointResult(
        **head, errors_pct=errors, mean_pct=mean, rounded_pct=rounded, mpe_low_pct=low, mpe_high_pct=high,
        repeatability_pct=repeatability, repeatability_limit_pct=limit, passed=complete and within,
        at_limit=rounded is not None and rounded in (low, high), **extra)


def _pulse_test_result(procedure, nameplate, point, valid, head) -> PointResult:
    # One timed test: the pulses the meter emitted in it decide.
    pulses = int(valid[-1]["dut_pulses"]) if valid else None
    if point.operation == "starting":
        limit = procedure["starting_test"]["min_pulses"]
        ok = pulses is not None and pulses >= limit
    else:
        limit = procedure["creep_test"]["max_pulses"]
        ok = pulses is not None and pulses <= limit
    return PointResult(
        **head, errors_pct=[], mean_pct=None, rounded_pct=None, mpe_low_pct=None, mpe_high_pct=None,
        repeatability_pct=None, repeatability_limit_pct=None, passed=head["complete"] and ok, at_limit=False,
        constant_mismatch=_constant_mismatch(valid, _meter_nameplate(procedure, nameplate)),
        pulses=pulses, limit_pulses=limit)


def _valid(procedure, point, readings):
    return [r for r in readings if reading_problem(procedure, point, r) is None]


def _errors_pct(procedure, nameplate, point, valid) -> list[float]:
    if point.operation == "delivery":
        fuel = procedure["fuel_expansion_per_c"][point.settings["fuel_kind"]]
        return [dispenser_error_pct(r["indicated_volume"], r["reference_volume"], r["nozzle_temperature"],
                                    r["rig_temperature"], fuel, r["standard_expansion"]) for r in valid]
    if point.operation == "error":
        # Recomputed with the constant on the instrument's own nameplate: a constant mistyped
        # into the bench must not change the result (it is flagged instead).
        meter = _meter_nameplate(procedure, nameplate)
        return [pulse_error_pct(r["reference_constant"], meter.constant, r["dut_pulses"], r["reference_pulses"],
                                meter.k_i, meter.k_u) for r in valid]
    if point.operation == "distance":
        return [relative_error_pct(r["meter_distance_m"], r["reference_distance_m"]) for r in valid]
    if point.operation == "standing":
        return [relative_error_pct(r["meter_time_s"], r["reference_time_s"]) for r in valid]
    raise ValueError(f"{point.operation} points have no error")


def _bounds_pct(procedure, nameplate, point) -> tuple[Decimal, Decimal]:
    if point.operation == "delivery":
        mpe = Decimal(procedure["mpe_pct"])
    elif point.operation == "error":
        mpe = _meter_mpe_pct(procedure, _meter_nameplate(procedure, nameplate), _point_spec(procedure, point))
    elif point.operation == "distance":
        return Decimal(procedure["distance"]["mpe_low_pct"]), Decimal(procedure["distance"]["mpe_high_pct"])
    else:
        # A percentage of the standing time, but never less than a fixed number of seconds.
        time = procedure["time"]
        floor_pct = Decimal(time["mpe_min_s"]) / _decimal(point.settings["seconds"]) * 100
        mpe = max(Decimal(time["mpe_pct"]), floor_pct)
    return -mpe, mpe


def _interval_pct(procedure, point) -> str:
    if point.operation == "delivery":
        return procedure["error_interval_pct"]
    return procedure["distance" if point.operation == "distance" else "time"]["rounding_interval_pct"]


def _repeatability_pct(procedure, errors) -> Decimal:
    """JJG 443: E_n = (E_max − E_min) / d_n, rounded like the errors."""
    d_n = procedure["repeatability"]["d_n"].get(str(len(errors)))
    if d_n is None:
        raise ValueError(f"{procedure['code']}-{procedure['version']} gives no d_n for {len(errors)} runs")
    return round_to_interval((max(errors) - min(errors)) / float(d_n), procedure["error_interval_pct"])


def _mean_of(readings, name):
    values = [float(r[name]) for r in readings if _number_or_none(r.get(name)) is not None]
    return fmean(values) if values else None


def _constant_mismatch(readings, meter) -> bool:
    return any(_number_or_none(r.get("dut_constant")) is not None and _decimal(r["dut_constant"]) != meter.constant
               for r in readings)


# --- electricity meters: nameplate, load points, limits ---------------------------------------------

@dataclass(frozen=True)
class _Meter:
    accuracy_class: str
    connection: str
    elements: str
    m: Decimal  # 1, 3 or √3: the number of measuring elements the formulas count
    un_v: Decimal
    ib_a: Decimal
    imax_a: Decimal
    constant: Decimal  # C_L, imp/kWh
    k_i: Decimal
    k_u: Decimal


def _meter_nameplate(procedure, nameplate) -> _Meter:
    accuracy_class = nameplate.get("accuracy_class")
    if isinstance(accuracy_class, (int, float)) and not isinstance(accuracy_class, bool):
        accuracy_class = format(_decimal(accuracy_class).normalize(), "f")
    if accuracy_class not in procedure["classes"]:
        raise ValueError(f"nameplate accuracy_class must be one of {', '.join(procedure['classes'])}, "
                         f"not {accuracy_class!r}")
    connection = nameplate.get("connection")
    if connection not in ("direct", "ct"):
        raise ValueError(f"nameplate connection must be direct or ct, not {connection!r}")
    elements = nameplate.get("elements")
    factors = {k: v for k, v in procedure["elements_factor"].items() if k != "note"}
    if elements not in factors:
        raise ValueError(f"nameplate elements must be one of {', '.join(factors)}, not {elements!r}")
    meter = _Meter(accuracy_class, connection, elements, Decimal(factors[elements]),
                   _nameplate_number(nameplate, "un_v"), _nameplate_number(nameplate, "ib_a"),
                   _nameplate_number(nameplate, "imax_a"), _nameplate_number(nameplate, "constant_imp_per_kwh"),
                   _nameplate_number(nameplate, "k_i", default=1), _nameplate_number(nameplate, "k_u", default=1))
    if meter.imax_a <= meter.ib_a:
        raise ValueError("nameplate imax_a must be above ib_a")
    return meter


def _point_spec(procedure, point) -> dict:
    for spec in procedure["points"]:
        if spec["key"] == point.key:
            return spec
    raise ValueError(f"{procedure['code']}-{procedure['version']} has no point {point.key!r}")


def _error_current_a(meter: _Meter, spec) -> Decimal:
    base = meter.imax_a if spec["current_of"] == "imax" else meter.ib_a
    return base * Decimal(spec["current_multiple"])


def _starting_current_a(procedure, meter: _Meter) -> Decimal:
    return Decimal(procedure["classes"][meter.accuracy_class]["starting_current_of_ib"][meter.connection]) * meter.ib_a


def _meter_mpe_pct(procedure, meter: _Meter, spec, load="balanced") -> Decimal:
    """The limit for a load point: by class, connection, load, power factor and current / Ib."""
    ratio = _error_current_a(meter, spec) / meter.ib_a
    for row in procedure["mpe_table"]:
        # A row covers from_ib ≤ I/Ib < below_ib, or up to and including Imax when below_ib is null.
        below = ratio <= meter.imax_a / meter.ib_a if row["below_ib"] is None else ratio < Decimal(row["below_ib"])
        if (row["connection"] == meter.connection and row["load"] == load
                and spec["power_factor"] in row["power_factors"] and Decimal(row["from_ib"]) <= ratio and below):
            return Decimal(row["mpe_pct"][meter.accuracy_class])
    raise ValueError(f"{procedure['code']}-{procedure['version']} gives no limit for {spec['key']} "
                     f"({meter.connection}, {load} load, cosφ {spec['power_factor']}, {ratio:f} Ib)")


def _power_factor(text: str) -> float:
    """The bench's signed power factor: + inductive (L), − capacitive (C)."""
    return -float(text[:-1]) if text.endswith("C") else float(text.rstrip("L"))


# --- plain values -------------------------------------------------------------------------------------

def _decimal(value) -> Decimal:
    """A Decimal from a Decimal, an int, a decimal string, or a float by its shortest decimal string."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError):
        raise ValueError(f"{value!r} is not a number") from None


def _number_or_none(value):
    try:
        number = _decimal(value)
    except ValueError:
        return None
    return number if number.is_finite() else None


def _nameplate_number(nameplate, name, default=None) -> Decimal:
    if nameplate.get(name) is None:
        if default is not None:
            return Decimal(default)
        raise ValueError(f"the nameplate has no {name}")
    number = _number_or_none(nameplate[name])
    if number is None or number <= 0:
        raise ValueError(f"nameplate {name} must be a positive number, not {nameplate[name]!r}")
    return number


def _g(number: Decimal) -> str:
    return f"{float(number):g}"
