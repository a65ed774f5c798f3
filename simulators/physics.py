"""Simulated rigs with a simulated device under test: state as a function of simulated time."""
from __future__ import annotations

import bisect
import math
import random
import time
from dataclasses import dataclass, field

from devices import maps

# JJG 443 expansion coefficients (specs/metrology.md): the simulated dispenser's physics.
FUEL_EXPANSION_PER_C = {0: 12e-4, 1: 9e-4, 2: 9e-4}
STAINLESS_EXPANSION_PER_C = 50e-6


class Refused(Exception):
    """A command the rig cannot take; code is the Modbus exception (3 bad value, 6 busy)."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code


class Clock:
    """Simulated seconds: wall-clock seconds times the acceleration factor."""

    def __init__(self, speed: float = 1.0):
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed, self._t0 = speed, time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed


def parse_curve(text: str) -> list[tuple[float, float]]:
    """`x:pct,x:pct,...` (x a flow in L/min, a current in A or a speed in km/h) as sorted points."""
    try:
        points = sorted((float(x), float(pct)) for x, pct in (p.split(":") for p in text.split(",")))
    except ValueError:
        raise ValueError(f"error curve {text!r} must be x:pct pairs separated by commas, e.g. 4:0.2,40:-0.1") from None
    if len({x for x, _ in points}) != len(points):
        raise ValueError(f"error curve {text!r} repeats a point")
    return points


@dataclass
class DeviceUnderTest:
    """True error in % (a constant or a curve, linear between points, flat beyond) plus scatter."""

    error_pct: float = 0.0
    curve: list[tuple[float, float]] | None = None
    scatter_pct: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def true_error_pct(self, x: float) -> float:
        if not self.curve:
            return self.error_pct
        xs = [p[0] for p in self.curve]
        i = bisect.bisect_left(xs, x)
        if i == 0:
            return self.curve[0][1]
        if i == len(xs):
            return self.curve[-1][1]
        (x0, e0), (x1, e1) = self.curve[i - 1], self.curve[i]
        return e0 + (e1 - e0) * (x - x0) / (x1 - x0)

    def draw_error_pct(self, x: float) -> float:
        """The error of one run: the true error plus run-to-run scatter."""
        return self.true_error_pct(x) + (self.rng.gauss(0, self.scatter_pct) if self.scatter_pct else 0)


@dataclass
class Run:
    """A run in progress or ended, in simulated seconds since its start."""

    start: float
    duration: float
    fault_at: float = math.inf
    fault_code: int = 0
    stopped_at: float = math.inf

    def progress(self, now: float) -> tuple[float, str]:
        t = now - self.start
        if self.fault_at < self.duration and t >= self.fault_at and self.fault_at <= self.stopped_at:
            return self.fault_at, "fault"
        if t >= self.stopped_at:
            return self.stopped_at, "stopped"
        if t >= self.duration:
            return self.duration, "done"
        return t, "running"


class _RigModel:
    def __init__(self, serial_number: str, dut: DeviceUnderTest, clock: Clock, run_fault_rate: float = 0.0,
                 rng: random.Random | None = None):
        self.serial_number, self.dut, self.clock = serial_number, dut, clock
        self.run_fault_rate, self.rng = run_fault_rate, rng or random.Random()
        self.run: Run | None = None
        self.run_count = 0
        self.run_error_pct = 0.0  # the drawn true error of the latest run, for tests to compare

    def _new_run(self, duration: float, fault_codes: tuple[int, ...]) -> Run:
        run = Run(self.clock.now(), duration)
        if self.run_fault_rate and self.rng.random() < self.run_fault_rate:
            run.fault_at, run.fault_code = self.rng.uniform(0.2, 0.8) * duration, self.rng.choice(fault_codes)
        self.run_count = (self.run_count + 1) & 0xFFFFFFFF
        return run

    def _state(self) -> tuple[float, str]:
        return self.run.progress(self.clock.now()) if self.run else (0.0, "idle")

    def _status(self, state: str) -> dict:
        """The status and fault_code registers of the Modbus rigs (a stopped run is idle)."""
        return {"status": {"idle": 0, "running": 1, "done": 2, "fault": 3, "stopped": 0}[state],
                "fault_code": self.run.fault_code if state == "fault" else 0}

    def _control(self, code: int, reset: int) -> None:
        """The Modbus rigs' commands other than starts: 2 stop, `reset`, 0 nothing."""
        if code == 2:
            if self.run and self._state()[1] == "running":
                self.run.stopped_at = self.clock.now() - self.run.start
        elif code == reset:
            self.run = None
        elif code != 0:
            raise Refused(3, f"unknown command {code}")


class FdrModel(_RigModel):
    """Fuel dispenser rig: the dispenser's true error is applied after the JJG 443 temperature correction."""

    map = maps.FDR
    defaults = {"target_volume": 20.0, "target_flow": 40.0, "fuel_kind": 0, "nozzle": 1, "command": 0}

    def __init__(self, *args, fuel_temperature_c: float = 15.0, nozzle_temperature_c: float = 16.0,
                 ambient_temperature_c: float = 20.0, **kw):
        super().__init__(*args, **kw)
        self.temperatures = (fuel_temperature_c, nozzle_temperature_c, ambient_temperature_c)
        self.settings = dict(self.defaults)
        self._run_values = {"target_flow": 0.0, "volume_factor": 1.0, "t_b": fuel_temperature_c,
                            "t_j": nozzle_temperature_c}

    def command(self, code: int) -> None:
        if code == 1:
            s = self.settings
            if self._state()[1] == "running":
                raise Refused(6, "a run is in progress")
            if not (s["target_volume"] > 0 and s["target_flow"] > 0 and s["nozzle"] in self.map["nozzle"].valid
                    and s["fuel_kind"] in FUEL_EXPANSION_PER_C):
                raise Refused(3, "run settings out of range")
            t_b = self.temperatures[0] + self.rng.gauss(0, 0.05)
            t_j = self.temperatures[1] + self.rng.gauss(0, 0.05)
            self.run_error_pct = self.dut.draw_error_pct(s["target_flow"])
            correction = (1 + FUEL_EXPANSION_PER_C[s["fuel_kind"]] * (t_j - t_b)
                          + STAINLESS_EXPANSION_PER_C * (t_b - 20))
            self._run_values = {"target_flow": s["target_flow"], "t_b": t_b, "t_j": t_j,
                                "volume_factor": correction * (1 + self.run_error_pct / 100)}
            self.run = self._new_run(60 * s["target_volume"] / s["target_flow"], (1, 2, 3))
        else:
            self._control(code, reset=3)

    def values(self) -> dict:
        t, state = self._state()
        rv = self._run_values
        reference = rv["target_flow"] * t / 60 if self.run else 0.0
        return {
            **self._status(state),
            "run_id": self.run_count, "reference_volume": reference,
            "indicated_volume": reference * rv["volume_factor"],
            "flow_rate": rv["target_flow"] if state in ("running", "done") else 0.0,
            "rig_temperature": rv["t_b"], "nozzle_temperature": rv["t_j"],
            "ambient_temperature": self.temperatures[2], "elapsed": t,
            "standard_expansion": STAINLESS_EXPANSION_PER_C,
            "serial_number": self.serial_number, "firmware": 1.03,
        }


class EmbModel(_RigModel):
    """Electricity meter bench: the DUT emits pulses at its own constant·(1 + error) per kWh.

    The C_L written to the bench is what the technician read off the nameplate: it enters m₀ only,
    so a wrong entry shows as an error, as on a real bench (pulse method, JJG 596).
    """

    map = maps.EMB
    defaults = {"voltage_setpoint": 220.0, "current_setpoint": 5.0, "power_factor_setpoint": 1.0,
                "dut_constant": 1200, "reference_constant": 600000, "pulses": 10, "command": 0,
                "test_duration": 60.0}
    MAX_CURRENT_A = 100.0  # above this the source reports overload
    NO_PULSE_TIMEOUT_S = 10.0  # an error measurement with no DUT pulse in this time is a fault

    def __init__(self, *args, meter_constant: int = 1200, starting_current_a: float = 0.01, **kw):
        super().__init__(*args, **kw)
        self.settings = dict(self.defaults, dut_constant=meter_constant)
        self.meter_constant = meter_constant  # the DUT's true constant, imp/kWh
        self.starting_current_a = starting_current_a
        self._measured = {"kind": 0, "dut_rate": 0.0, "ref_rate": 0.0, "pulses": 0, "expected_ref": 0, "final_ref": 0,
                          "load": (0, 0, 0)}

    def command(self, code: int) -> None:
        s = self.settings
        if code in (1, 3, 4):
            if self._state()[1] == "running":
                raise Refused(6, "a measurement is in progress")
            if not (s["dut_constant"] > 0 and s["reference_constant"] > 0) or (code == 1 and not s["pulses"] > 0):
                raise Refused(3, "pulses and meter constants must be positive")
            if code != 1 and not s["test_duration"] > 0:
                raise Refused(3, "test duration must be positive")
            u, i, pf = s["voltage_setpoint"], s["current_setpoint"], s["power_factor_setpoint"]
            power_w = u * i * abs(pf)
            self.run_error_pct = self.dut.draw_error_pct(i)
            emits = i >= self.starting_current_a
            dut_rate = power_w / 3.6e6 * self.meter_constant * (1 + self.run_error_pct / 100) if emits else 0.0
            self._measured = {"kind": code, "dut_rate": dut_rate, "ref_rate": power_w / 3.6e6 * s["reference_constant"],
                              "pulses": s["pulses"], "load": (u, i, pf),
                              # m₀ = C₀·N / C_L (K_I = K_U = 1), kept from the start: later writes do not change it
                              "expected_ref": s["reference_constant"] * s["pulses"] / s["dut_constant"],
                              "final_ref": round(s["reference_constant"] * s["pulses"]
                                                 / (self.meter_constant * (1 + self.run_error_pct / 100)))}
            if code == 1:
                duration = s["pulses"] / dut_rate if dut_rate else self.NO_PULSE_TIMEOUT_S
            else:
                duration = s["test_duration"]
            self.run = self._new_run(duration, (1, 2))
            if i > self.MAX_CURRENT_A:
                self.run.fault_at, self.run.fault_code = 0.0, 2
            elif code == 1 and not dut_rate:
                self.run.fault_at, self.run.fault_code = duration * 0.999, 1
        else:
            self._control(code, reset=5)

    def values(self) -> dict:
        t, state = self._state()
        m = self._measured
        u, i, pf = m["load"] if self.run else (0.0, 0.0, 1.0)
        finished_error = self.run and m["kind"] == 1 and state == "done"
        dut = m["pulses"] if finished_error else math.floor(m["dut_rate"] * t)
        ref = m["final_ref"] if finished_error else math.floor(m["ref_rate"] * t)
        return {
            **self._status(state),
            "measurement_id": self.run_count, "voltage": u, "current": i, "power_factor": pf,
            "active_power": u * i * abs(pf), "frequency": 50.0 if self.run else 0.0,
            "dut_pulses": dut, "reference_pulses": ref,
            "error": (m["expected_ref"] - ref) / ref * 100 if finished_error and ref else 0.0,
            "elapsed": t, "serial_number": self.serial_number, "firmware": 1.03,
        }


class TmrModel(_RigModel):
    """Taxi meter rig: the meter's distance is off by its true error, its clock by time_error_pct."""

    # A plain tariff for the simulated meter: flag fall covers 3 km, then per km, and per minute standing.
    FLAG_FALL, INCLUDED_M, PER_KM, PER_STANDING_MIN = 13.0, 3000.0, 2.3, 0.5

    def __init__(self, *args, time_error_pct: float = 0.0, **kw):
        super().__init__(*args, **kw)
        self.time_error_pct = time_error_pct
        self._reset_totals()

    def _reset_totals(self):
        self.run = None
        self.totals = {"ref_m": 0.0, "dut_m": 0.0, "ref_s": 0.0, "standing_s": 0.0}
        self._segment = {"speed_m_s": 0.0, "factor": 1.0}

    def _fold(self):
        """Add a finished segment to the totals, so the next starts from them."""
        t, _ = self._state()
        seg = self._segment
        self.totals["ref_m"] += seg["speed_m_s"] * t
        self.totals["dut_m"] += seg["speed_m_s"] * t * seg["factor"]
        self.totals["ref_s"] += t
        self.totals["standing_s"] += 0 if seg["speed_m_s"] else t

    def command(self, line: str) -> str:
        try:
            name, numbers = maps.tmr_parse_command(line)
        except LookupError:
            return "ERR 1 UNKNOWN COMMAND"
        except ValueError:
            return f"ERR 3 BAD ARGUMENTS FOR {line.split()[0].upper()}"
        if name == "*IDN?":
            return maps.tmr_format_identity(self.serial_number, "1.03")
        if name == "STAT?":
            state = self._state()[1]
            if state == "fault":
                return maps.tmr_format_status("FAULT", self.run.fault_code)
            return {"idle": "IDLE", "running": "RUNNING", "done": "DONE", "stopped": "DONE"}[state]
        if name == "READ?":
            return maps.tmr_format_read(self.reading())
        if name == "RESET":
            self._reset_totals()
            return "OK"
        if self._state()[1] == "running":  # RUN or WAIT
            return "ERR 6 BUSY"
        if self.run:
            self._fold()
        if name == "RUN":
            metres, km_h = numbers
            self.run_error_pct = self.dut.draw_error_pct(km_h)
            self._segment = {"speed_m_s": km_h / 3.6, "factor": 1 + self.run_error_pct / 100}
            self.run = self._new_run(metres / (km_h / 3.6), tuple(maps.TMR_FAULTS))
        else:
            self._segment = {"speed_m_s": 0.0, "factor": 1.0}
            self.run = self._new_run(numbers[0], tuple(maps.TMR_FAULTS))
        return "OK"

    def reading(self) -> dict:
        t, _ = self._state()
        seg, tot = self._segment, self.totals
        dut_m = tot["dut_m"] + seg["speed_m_s"] * t * seg["factor"]
        ref_s = tot["ref_s"] + t
        standing_s = tot["standing_s"] + (0 if seg["speed_m_s"] else t)
        clock = 1 + self.time_error_pct / 100
        fare = (self.FLAG_FALL + self.PER_KM * max(0.0, dut_m - self.INCLUDED_M) / 1000
                + self.PER_STANDING_MIN * standing_s * clock / 60)
        return {"reference_distance_m": tot["ref_m"] + seg["speed_m_s"] * t, "meter_distance_m": dut_m,
                "reference_time_s": ref_s, "meter_time_s": ref_s * clock, "fare": round(fare, 1)}
