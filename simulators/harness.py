"""Start and stop simulated rigs: in an event loop (the CLI) or in a thread (tests, benchmarks)."""
from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import tempfile
import threading
from dataclasses import dataclass, field

from devices.links import RtuLink, SerialLink, TcpLink
from simulators.faults import FAULT_KINDS, FaultPlan
from simulators.line import LineServer
from simulators.modbus import RegisterBank, RtuServer, serve_tcp
from simulators.physics import Clock, DeviceUnderTest, EmbModel, FdrModel, TmrModel, parse_curve
from simulators.wire import LineGone, Silence, Wire

KINDS = ("fdr", "emb", "tmr")
TRANSPORTS = ("tcp", "rtu", "serial")


@dataclass
class RigOptions:
    """The simulated device under test and the rig's behaviour (the same for every rig started)."""

    error_pct: float = 0.0
    error_curve: str | None = None  # x:pct,... over flow (FDR), current (EMB) or speed (TMR)
    scatter_pct: float = 0.0
    seed: int = 0
    speed: float = 1.0
    fuel_temperature_c: float = 15.0
    nozzle_temperature_c: float = 16.0
    ambient_temperature_c: float = 20.0
    meter_constant: int = 1200
    time_error_pct: float = 0.0
    fault_rate: float = 0.0
    faults: tuple[str, ...] = FAULT_KINDS
    word_order: str = "ABCD"


def build_rig(kind: str, index: int, options: RigOptions, clock: Clock):
    """Rig model number `index` and its fault plan; each rig draws from its own seeded streams."""
    if kind not in KINDS:
        raise ValueError(f"rig kind must be one of {', '.join(KINDS)}, not {kind!r}")
    faults = FaultPlan(options.fault_rate, options.faults, seed=f"{options.seed}:{index}:faults")
    dut = DeviceUnderTest(options.error_pct, parse_curve(options.error_curve) if options.error_curve else None,
                          options.scatter_pct, random.Random(f"{options.seed}:{index}:dut"))
    common = dict(run_fault_rate=faults.run_fault_rate, rng=random.Random(f"{options.seed}:{index}:rig"))
    serial_number = f"{kind.upper()}-SIM-{index + 1:04d}"
    if kind == "fdr":
        model = FdrModel(serial_number, dut, clock, fuel_temperature_c=options.fuel_temperature_c,
                         nozzle_temperature_c=options.nozzle_temperature_c,
                         ambient_temperature_c=options.ambient_temperature_c, **common)
    elif kind == "emb":
        model = EmbModel(serial_number, dut, clock, meter_constant=options.meter_constant, **common)
    else:
        model = TmrModel(serial_number, dut, clock, time_error_pct=options.time_error_pct, **common)
    return model, faults


@dataclass
class Simulation:
    """Running simulated rigs: their links (as a driver takes them), models and fault plans."""

    links: list[str]
    models: list
    faults: list[FaultPlan]
    wires: list[Wire] = field(default_factory=list)  # the serial lines served, one for all RTU rigs
    tasks: list[asyncio.Task] = field(default_factory=list)  # the servers of serial lines
    _closers: list = field(default_factory=list, repr=False)

    @property
    def link(self) -> str:
        return self.links[0]

    @property
    def silence(self) -> Silence | None:
        """The gaps before the requests on the (first) serial line; None over TCP."""
        return self.wires[0].silence if self.wires else None

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            result = close()
            if asyncio.iscoroutine(result):
                await result


async def _tcp_servers(banks, host: str, port: int, unit: int):
    """Servers on consecutive ports from `port` (0: any free run of ports)."""
    for _ in range(50):
        # One rig takes any free port the system gives; a run of them starts at a random one.
        base = port or (0 if len(banks) == 1 else random.randint(20000, 60000 - len(banks)))
        servers = []
        try:
            for i, bank in enumerate(banks):
                servers.append(await serve_tcp(bank, host, base + i, unit))
            return servers
        except OSError as exc:
            for server in servers:
                server.close()
            if port or exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(f"no run of {len(banks)} free ports found")


async def start_simulation(kind: str, transport: str = "tcp", *, count: int = 1, host: str = "127.0.0.1",
                           port: int = 0, path: str | None = None, baud: int = 9600, parity: str = "N",
                           stopbits: int | None = None, unit: int = 1, pace: bool = False,
                           options: RigOptions = RigOptions()) -> Simulation:
    """Start `count` rigs: on consecutive TCP ports, on consecutive unit ids of one RTU line, or
    (TMR) on a serial line each. `path` is a device to open or where to link a new pty.

    Serial lines default to 8N2 for Modbus RTU (11 bits a character like the datasheet's 8E1, which
    pseudo-terminals may refuse) and 8N1 for TMR, as its datasheet says."""
    if stopbits is None:
        stopbits = 2 if transport == "rtu" else 1
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    if (kind == "tmr") != (transport == "serial"):
        raise ValueError("the TMR rig speaks its line protocol on serial; FDR and EMB speak Modbus on tcp or rtu")
    if not 1 <= count <= (247 - unit + 1 if transport == "rtu" else 1000):
        raise ValueError(f"count must be 1 to {247 - unit + 1 if transport == 'rtu' else 1000} here")
    clock = Clock(options.speed)
    rigs = [build_rig(kind, i, options, clock) for i in range(count)]
    models, plans = [m for m, _ in rigs], [f for _, f in rigs]
    sim = Simulation([], models, plans)
    if transport == "tcp":
        banks = [RegisterBank(m, options.word_order, f) for m, f in rigs]
        servers = await _tcp_servers(banks, host, port, unit)
        for server in servers:
            sim._closers.append(server.close)
            bound = server.sockets[0].getsockname()[1]
            sim.links.append(str(TcpLink(host, bound, unit, options.word_order)))
        return sim
    if path is None:
        folder = tempfile.mkdtemp(prefix="labs-sim-")
        path = os.path.join(folder, kind)
        sim._closers.append(lambda: os.rmdir(folder))
    loop = asyncio.get_running_loop()
    if transport == "rtu":
        wire = Wire(path, baud, parity, stopbits, pace)
        sim._closers.append(wire.close)
        sim.wires.append(wire)
        banks = {unit + i: RegisterBank(m, options.word_order, f) for i, (m, f) in enumerate(rigs)}
        sim.links += [str(RtuLink(path, baud, parity, stopbits, u, options.word_order)) for u in banks]
        servers = [RtuServer(wire, banks)]
    else:
        # The TMR line protocol has no address: one line a rig, at PATH, or PATH-1 ... PATH-N.
        servers = []
        for i, (model, plan) in enumerate(rigs, start=1):
            line_path = path if count == 1 else f"{path}-{i}"
            wire = Wire(line_path, baud, parity, stopbits, pace)
            sim._closers.append(wire.close)
            sim.wires.append(wire)
            servers.append(LineServer(wire, model, plan))
            sim.links.append(str(SerialLink(line_path, baud, parity, stopbits)))
    for server in servers:
        task = loop.create_task(server.serve())
        sim.tasks.append(task)
        sim._closers.append(lambda task=task: _cancel(task))
    return sim


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, LineGone):
        await task


@contextlib.contextmanager
def simulated_rig(kind: str, transport: str = "tcp", **kw):
    """Simulated rigs running in a thread of their own until the block ends; yields the Simulation.

    >>> with simulated_rig("fdr", "tcp", options=RigOptions(speed=50)) as sim:
    ...     sim.link  # 'modbus+tcp://127.0.0.1:PORT?unit=1&word_order=ABCD'
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"sim-{kind}", daemon=True)
    thread.start()
    try:
        sim = asyncio.run_coroutine_threadsafe(start_simulation(kind, transport, **kw), loop).result(10)
        try:
            yield sim
        finally:
            asyncio.run_coroutine_threadsafe(sim.aclose(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
