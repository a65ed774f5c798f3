"""Rig drivers: the operations of the FDR, EMB and TMR rigs, over a link from a BusPool."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from devices import maps
from devices.errors import RigBadReply, RigBusy, RigExceptionReply, RigFault, RigTimeout, RigWrongKind
from devices.links import Link, LinkError, SerialLink, parse_link
from devices.registers import RegisterMap
from devices.transport import BusPool


@dataclass(frozen=True)
class Identity:
    serial_number: str
    firmware: str  # "1.03"


@dataclass(frozen=True)
class DeliveryRun:
    """One FDR run, as the rig reported it when the run was done."""

    run_id: int
    fuel_kind: str
    nozzle: int
    reference_volume_l: float
    indicated_volume_l: float
    flow_l_per_min: float
    rig_temperature_c: float
    nozzle_temperature_c: float
    ambient_temperature_c: float
    elapsed_s: float
    standard_expansion_per_c: float


@dataclass(frozen=True)
class PulseMeasurement:
    """One EMB measurement (error, creep or starting test) when it ended, with the settings it ran on."""

    measurement_id: int
    pulses: int  # N, DUT pulses asked for (error measurement)
    dut_constant: int  # C_L, imp/kWh
    reference_constant: int  # C_0, imp/kWh
    voltage_v: float
    current_a: float
    power_factor: float
    active_power_w: float
    frequency_hz: float
    dut_pulses: int
    reference_pulses: int
    bench_error_pct: float  # the bench's own figure, for display only
    elapsed_s: float

    def error_pct(self, k_i: float = 1, k_u: float = 1) -> float:
        """The pulse method's error (JJG 596): m0 = C0·N / (C_L·K_I·K_U), γ = (m0 − m) / m × 100 %.

        K_I, K_U: instrument-transformer ratios, 1 for a direct-connected meter.
        """
        if not self.reference_pulses:
            raise ValueError("no reference pulses counted: there is no error to compute")
        expected = self.reference_constant * self.dut_pulses / (self.dut_constant * k_i * k_u)
        return (expected - self.reference_pulses) / self.reference_pulses * 100


@dataclass(frozen=True)
class TaxiReading:
    reference_distance_m: float
    meter_distance_m: float
    reference_time_s: float
    meter_time_s: float
    fare: float


class _Driver:
    kind: str

    def __init__(self, link: Link | str, pool: BusPool, *, name: str | None = None,
                 poll_interval_s: float = 0.2, on_live=None):
        self.link = parse_link(link) if isinstance(link, str) else link
        self.name = name or f"{self.kind.upper()} rig"
        self.poll_interval_s = poll_interval_s
        # Called with the live values read while a run is watched, so a console can show them
        # without a second reader on the link.
        self.on_live = on_live
        self._bus = pool.bus(self.link)

    def _error(self, cls, action: str, detail: str, *extra):
        return cls(self.name, str(self.link), action, detail, *extra)

    async def _wait(self, action: str, deadline_s: float, step):
        """Call `step` every poll interval until it returns a result, within deadline_s."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        while True:
            result = await step()
            if result is not None:
                return result
            if loop.time() > end:
                raise self._error(RigTimeout, action, f"not finished after {deadline_s:g} s")
            await asyncio.sleep(self.poll_interval_s)


class _ModbusDriver(_Driver):
    map: RegisterMap
    id_field: str  # the run counter that tells whether a start took effect
    faults: dict
    commands: dict

    def __init__(self, link: Link | str, pool: BusPool, **kw):
        super().__init__(link, pool, **kw)
        if isinstance(self.link, SerialLink):
            raise LinkError(f"the {self.kind.upper()} rig speaks Modbus: use modbus+tcp:// or modbus+rtu://")
        self.unit, self.word_order = self.link.unit, self.link.word_order

    async def read(self, names: list[str], action: str) -> dict:
        table, start, count = self.map.span(names)
        registers = await self._bus.read(self.name, action, table, start, count, self.unit)
        return self.map.decode_block(table, start, registers, self.word_order)

    async def write(self, values: dict, action: str, once: bool = False) -> None:
        table, start, count = self.map.span(list(values))
        registers = [0] * count
        for name, value in values.items():
            field = self.map[name]
            if field.access != "rw":
                raise ValueError(f"{name} is read-only")
            registers[field.address - start: field.address - start + field.count] = field.encode(value, self.word_order)
        if count != sum(self.map[n].count for n in values):
            raise ValueError(f"fields {list(values)} leave a gap: one write covers adjacent fields")
        await self._bus.write(self.name, action, start, registers, self.unit, once)

    async def identify(self) -> Identity:
        values = await self.read(["serial_number", "firmware"], "identify")
        return Identity(values["serial_number"], f"{values['firmware']:.2f}")

    async def read_live(self) -> dict:
        return await self.read(maps.LIVE_FIELDS[self.kind], "read live values")

    async def confirm_kind(self) -> None:
        """RigWrongKind unless the rig's live registers end where this kind's do.

        Identification is alike on every Modbus rig; the datasheet's maps differ in length, and a
        rig answers exception 2 outside its map."""
        table, start, count = self.map.span(maps.LIVE_FIELDS[self.kind])
        action = f"check that it is an {self.kind.upper()} rig"

        async def answers(first: int, length: int) -> bool:
            try:
                await self._bus.read(self.name, action, table, first, length, self.unit)
                return True
            except RigExceptionReply as exc:
                if exc.code != 2:
                    raise
                return False
        if await answers(start, count):
            if not await answers(start + count, 1):
                return
            found, likely = (f"input register {start + count} answers, which an {self.kind.upper()} rig does not have",
                             lambda n: n > count)
        else:
            found, likely = (f"input registers {start}-{start + count - 1} do not all answer, as an "
                             f"{self.kind.upper()} rig's do", lambda n: n < count)
        others = [k.upper() for k, names in maps.LIVE_FIELDS.items()
                  if k != self.kind and likely(maps.MODBUS_MAPS[k].span(names)[2])]
        guess = f"; it looks like an {' or '.join(others)} rig" if others else ""
        raise self._error(RigWrongKind, action, found + guess)

    async def reset(self) -> None:
        await self.write({"command": self.commands["reset"]}, "reset")

    async def _start(self, command: str, action: str) -> int:
        """Start a run exactly once; return its id.

        A start whose reply was lost may still have started a run (which may even have ended
        already): the run id, not the reply, tells whether to send the start again.
        """
        before = (await self.read([self.id_field], action))[self.id_field]
        expected = (before + 1) & 0xFFFFFFFF
        for _ in range(self._bus.policy.retries + 1):
            try:
                await self.write({"command": self.commands[command]}, action, once=True)
                return expected
            except (RigTimeout, RigBusy) as exc:
                state = await self.read(["status", self.id_field], action)
                if state[self.id_field] == expected:
                    return expected
                if isinstance(exc, RigBusy) and state["status"] == 1:
                    raise self._error(RigBusy, action, "a run is in progress", exc.code) from None
                last = exc
        raise last

    async def _finish(self, run_id: int, action: str, deadline_s: float) -> dict:
        async def step():
            live = await self.read_live()
            if self.on_live:
                self.on_live(live)
            if live[self.id_field] != run_id:
                raise self._error(RigBadReply, action, f"run {live[self.id_field]} replaced run {run_id}")
            status = live["status"]
            if status == 3:
                code = live["fault_code"]
                raise self._error(RigFault, action, f"fault {code} ({self.faults.get(code, 'unknown')})", code)
            if status == 0:
                raise self._error(RigFault, action, "stopped before it finished", 0)
            return live if status == 2 else None
        return await self._wait(action, deadline_s, step)


class FdrDriver(_ModbusDriver):
    """Fuel dispenser rig (master-meter method)."""

    kind, map, id_field = "fdr", maps.FDR, "run_id"
    faults, commands = maps.FDR_FAULTS, maps.FDR_COMMANDS

    async def run_delivery(self, volume_l: float, flow_l_per_min: float, fuel_kind: str, nozzle: int,
                           deadline_s: float | None = None) -> DeliveryRun:
        fuels = {v: k for k, v in maps.FUEL_KINDS.items()}
        if fuel_kind not in fuels:
            raise ValueError(f"fuel_kind must be one of {', '.join(fuels)}, not {fuel_kind!r}")
        nozzles = self.map["nozzle"].valid
        if not (volume_l > 0 and flow_l_per_min > 0 and nozzle in nozzles):
            raise ValueError(f"volume and flow must be positive and the nozzle {nozzles[0]} to {nozzles[-1]}")
        action = f"deliver {volume_l:g} L at {flow_l_per_min:g} L/min, {fuel_kind}, nozzle {nozzle}"
        await self.write({"target_volume": volume_l, "target_flow": flow_l_per_min,
                          "fuel_kind": fuels[fuel_kind], "nozzle": nozzle}, action)
        run_id = await self._start("start", action)
        if deadline_s is None:
            deadline_s = 1.5 * 60 * volume_l / flow_l_per_min + 10
        live = await self._finish(run_id, action, deadline_s)
        return DeliveryRun(
            run_id=run_id, fuel_kind=fuel_kind, nozzle=nozzle,
            reference_volume_l=live["reference_volume"], indicated_volume_l=live["indicated_volume"],
            flow_l_per_min=live["flow_rate"], rig_temperature_c=live["rig_temperature"],
            nozzle_temperature_c=live["nozzle_temperature"], ambient_temperature_c=live["ambient_temperature"],
            elapsed_s=live["elapsed"], standard_expansion_per_c=live["standard_expansion"])


class EmbDriver(_ModbusDriver):
    """Electricity meter test bench (pulse method, one meter position)."""

    kind, map, id_field = "emb", maps.EMB, "measurement_id"
    faults, commands = maps.EMB_FAULTS, maps.EMB_COMMANDS

    async def set_load_point(self, voltage_v: float, current_a: float, power_factor: float) -> None:
        if voltage_v < 0 or current_a < 0 or not -1 <= power_factor <= 1:
            raise ValueError("voltage and current must not be negative, power factor within -1..1")
        await self.write({"voltage_setpoint": voltage_v, "current_setpoint": current_a,
                          "power_factor_setpoint": power_factor},
                         f"set load point {voltage_v:g} V {current_a:g} A PF {power_factor:g}")

    async def measure_error(self, pulses: int, dut_constant: int, reference_constant: int,
                            deadline_s: float | None = None) -> PulseMeasurement:
        if not (1 <= pulses <= 65535 and dut_constant > 0 and reference_constant > 0):
            raise ValueError("pulses must be 1 to 65535 and the meter constants positive")
        action = f"measure error over {pulses} pulses"
        await self.write({"dut_constant": dut_constant, "reference_constant": reference_constant,
                          "pulses": pulses}, action)
        if deadline_s is None:
            load = await self.read(["voltage_setpoint", "current_setpoint", "power_factor_setpoint"], action)
            power_w = load["voltage_setpoint"] * load["current_setpoint"] * abs(load["power_factor_setpoint"])
            expected_s = pulses * 3.6e6 / (power_w * dut_constant) if power_w > 0 else 60
            deadline_s = 1.5 * expected_s + 10
        return await self._measure("error", action, deadline_s)

    async def creep_test(self, duration_s: float, deadline_s: float | None = None) -> PulseMeasurement:
        """Creep (no-load) test for duration_s at the load point set (115 % Un, no current)."""
        return await self._timed_test("creep", duration_s, deadline_s)

    async def starting_test(self, duration_s: float, deadline_s: float | None = None) -> PulseMeasurement:
        """Starting test for duration_s at the load point set (the starting current)."""
        return await self._timed_test("starting", duration_s, deadline_s)

    async def _timed_test(self, command: str, duration_s: float, deadline_s: float | None):
        if not duration_s > 0:
            raise ValueError("test duration must be positive")
        action = f"{command} test for {duration_s:g} s"
        await self.write({"test_duration": duration_s}, action)
        return await self._measure(command, action, deadline_s or 1.5 * duration_s + 10)

    async def _measure(self, command: str, action: str, deadline_s: float) -> PulseMeasurement:
        settings = await self.read(["dut_constant", "reference_constant", "pulses"], action)
        measurement_id = await self._start(command, action)
        live = await self._finish(measurement_id, action, deadline_s)
        return PulseMeasurement(
            measurement_id=measurement_id, pulses=settings["pulses"], dut_constant=settings["dut_constant"],
            reference_constant=settings["reference_constant"], voltage_v=live["voltage"], current_a=live["current"],
            power_factor=live["power_factor"], active_power_w=live["active_power"],
            frequency_hz=live["frequency"], dut_pulses=live["dut_pulses"],
            reference_pulses=live["reference_pulses"], bench_error_pct=live["error"], elapsed_s=live["elapsed"])


class TmrDriver(_Driver):
    """Taxi meter rig, serial ASCII line protocol."""

    kind = "tmr"

    def __init__(self, link: Link | str, pool: BusPool, **kw):
        super().__init__(link, pool, **kw)
        if not isinstance(self.link, SerialLink):
            raise LinkError("the TMR rig speaks its line protocol: use serial:///dev/...")

    async def _ask(self, command: str, action: str, once: bool = False) -> str:
        return await self._bus.request(self.name, action, command, once)

    async def identify(self) -> Identity:
        reply = await self._ask(maps.tmr_command("*IDN?"), "identify")
        try:
            return Identity(*maps.tmr_parse_identity(reply))
        except ValueError as exc:
            raise self._error(RigBadReply, "identify", str(exc)) from None

    async def status(self, action: str = "read status") -> tuple[str, int]:
        """(state, fault code): IDLE, RUNNING, DONE or FAULT."""
        reply = await self._ask(maps.tmr_command("STAT?"), action)
        try:
            return maps.tmr_parse_status(reply)
        except ValueError as exc:
            raise self._error(RigBadReply, action, str(exc)) from None

    async def read_result(self, action: str = "read result") -> TaxiReading:
        reply = await self._ask(maps.tmr_command("READ?"), action)
        try:
            return TaxiReading(**maps.tmr_parse_read(reply))
        except ValueError as exc:
            raise self._error(RigBadReply, action, str(exc)) from None

    async def read_live(self) -> dict:
        state, fault_code = await self.status("read live values")
        return {"status": state, "fault_code": fault_code, **vars(await self.read_result("read live values"))}

    async def reset(self) -> None:
        await self._ask(maps.tmr_command("RESET"), "reset")

    async def run_distance(self, metres: float, speed_km_h: float, deadline_s: float | None = None) -> TaxiReading:
        if not (metres > 0 and speed_km_h > 0):
            raise ValueError("distance and speed must be positive")
        return await self._run(maps.tmr_command("RUN", metres, speed_km_h), f"run {metres:g} m at {speed_km_h:g} km/h",
                               deadline_s or 1.5 * metres / (speed_km_h / 3.6) + 10)

    async def standing(self, seconds: float, deadline_s: float | None = None) -> TaxiReading:
        if not seconds > 0:
            raise ValueError("standing time must be positive")
        return await self._run(maps.tmr_command("WAIT", seconds), f"stand for {seconds:g} s",
                               deadline_s or 1.5 * seconds + 10)

    async def _run(self, command: str, action: str, deadline_s: float) -> TaxiReading:
        if (await self.status(action))[0] == "RUNNING":
            raise self._error(RigBusy, action, "a run is in progress", 6)
        before = await self.read_result(action)
        # As with the Modbus rigs: a command whose reply was lost may still have started (and even
        # ended or faulted); the rig's reference clock, not the reply, tells whether to send it again.
        for attempt in range(self._bus.policy.retries + 1):
            try:
                await self._ask(command, action, once=True)
                break
            except (RigTimeout, RigBusy) as exc:
                state, _ = await self.status(action)
                if state == "RUNNING" or (await self.read_result(action)).reference_time_s > before.reference_time_s:
                    break
                if attempt == self._bus.policy.retries:
                    raise exc

        async def step():
            state, code = await self.status(action)
            if state == "FAULT":
                raise self._error(RigFault, action, f"fault {code} ({maps.TMR_FAULTS.get(code, 'unknown')})", code)
            if self.on_live:
                self.on_live({"status": state, "fault_code": code, **vars(await self.read_result(action))})
            return state if state in ("DONE", "IDLE") else None
        if await self._wait(action, deadline_s, step) == "IDLE":
            raise self._error(RigFault, action, "reset before it finished", 0)
        return await self.read_result(action)


DRIVERS = {"fdr": FdrDriver, "emb": EmbDriver, "tmr": TmrDriver}
