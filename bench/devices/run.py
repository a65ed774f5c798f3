"""Benchmarks of devices/ against simulators/, printing ratios measured in this run.

    .venv/bin/python bench/devices/run.py [--quick]

1. driver reads per second / raw pymodbus reads per second, same registers, same simulator (target >= 0.9)
2. Modbus RTU on a paced pty at 9600, 1200 and 115200 baud: transactions per second / the line's limit
   for a 10-register read (33 characters of 11 bits and two silences: 3.5 characters, 1.75 ms above
   19200 baud), target >= 0.9 at 9600; and the shortest gap the simulator measured before a request
   / the silence required (target >= 1.0)
3. 64 simulated rigs polled at 5 samples a second each: samples missed, 99th percentile lateness / period
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devices.drivers import FdrDriver  # noqa: E402
from devices.links import rtu_character_s, rtu_silence_s  # noqa: E402
from devices.poller import Poller  # noqa: E402
from devices.transport import BusPool, Policy  # noqa: E402


class Simulator:
    """`labs-sim` in a process of its own, so that it does not share the benchmark's interpreter."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([sys.executable, "-m", "simulators.cli", *args], cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.report = ""  # what it printed on leaving
        count = int(args[args.index("--count") + 1]) if "--count" in args else 1
        self.links = [self.process.stdout.readline().strip() for _ in range(count)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.report = self.process.communicate(timeout=10)[1]


async def _rate(read, seconds: float) -> float:
    """Reads per second, one read after another."""
    end = time.perf_counter() + seconds
    done = 0
    start = time.perf_counter()
    while time.perf_counter() < end:
        await read()
        done += 1
    return done / (time.perf_counter() - start)


async def driver_against_raw(seconds: float) -> None:
    with Simulator("fdr", "--modbus-tcp", "127.0.0.1:0") as sim:
        port = int(sim.links[0].split(":")[2].split("?")[0])
        raw = AsyncModbusTcpClient("127.0.0.1", port=port)
        await raw.connect()
        async with BusPool() as pool:
            driver = FdrDriver(sim.links[0], pool)
            raw_read = lambda: raw.read_input_registers(0, count=20, device_id=1)  # noqa: E731
            raw_rates, driver_rates = [], []
            # Short blocks, alternating which goes first, each pair compared on its own: the load of a
            # shared machine drifts within seconds, and must hit both sides of a ratio alike.
            for pair in range(round(seconds * 10)):
                if pair % 2:
                    driver_rates.append(await _rate(driver.read_live, 0.5))
                    raw_rates.append(await _rate(raw_read, 0.5))
                else:
                    raw_rates.append(await _rate(raw_read, 0.5))
                    driver_rates.append(await _rate(driver.read_live, 0.5))
        raw.close()
    ratio = statistics.median(d / r for d, r in zip(driver_rates, raw_rates))
    print(f"1. driver reads/s {statistics.median(driver_rates):.0f}, raw pymodbus reads/s "
          f"{statistics.median(raw_rates):.0f} (20 registers, TCP): ratio {ratio:.3f} (median of "
          f"{len(raw_rates)} pairs of 0.5 s; target >= 0.9)")


async def rtu_against_line(seconds: float) -> None:
    for baud in (9600, 1200, 115200):
        with tempfile.TemporaryDirectory() as folder:
            path = f"{folder}/fdr"
            with Simulator("fdr", "--modbus-rtu", path, "--pace", "--baud", str(baud),
                           "--parity", "N", "--stopbits", "2") as sim:  # 8N2: 11 bits, and ptys refuse 8E1 reconfigured
                async with BusPool() as pool:
                    driver = FdrDriver(sim.links[0], pool)
                    await driver.read(["status", "flow_rate"], "warm up")  # registers 0-9
                    rate = await _rate(lambda: driver.read(["status", "flow_rate"], "bench"), seconds)
        limit = 1 / (33 * rtu_character_s(baud) + 2 * rtu_silence_s(baud))
        gap = re.search(r"(\d+) of (\d+) frames broke.*shortest gap ([\d.]+) ms = ([\d.]+) of", sim.report)
        if gap is None:
            raise RuntimeError(f"the simulator measured no gap: {sim.report!r}")
        broken, frames, shortest_ms, ratio = gap.groups()
        print(f"2. RTU {baud} baud, paced: {rate:.1f} transactions/s of 10 registers, line limit {limit:.1f}: "
              f"ratio {rate / limit:.3f}" + (" (target >= 0.9)" if baud == 9600 else "")
              + f"; shortest gap before a request {shortest_ms} ms / {rtu_silence_s(baud) * 1000:.2f} ms required "
              f"= {ratio} (target >= 1.0), {broken} of {frames} short")


async def many_rigs(count: int, rate_hz: float, seconds: float) -> None:
    with Simulator("fdr", "--modbus-tcp", "127.0.0.1:0", "--count", str(count)) as sim:
        async with BusPool(Policy(timeout_s=1.0, retries=1)) as pool:
            drivers = [FdrDriver(link, pool, name=f"FDR {i}") for i, link in enumerate(sim.links)]
            await asyncio.gather(*(d.identify() for d in drivers))  # connect first: measure polling, not setup
            poller = Poller()
            for driver in drivers:
                poller.add(driver, rate_hz)
            errors, at_reply = [], []

            def take(sample):
                at_reply.append(sample.lateness_s + sample.read_s)
                if sample.error:
                    errors.append(sample.error)
            stats = await poller.run(take, duration_s=seconds)
    period = 1 / rate_hz
    expected = count * round(seconds * rate_hz)
    p99 = statistics.quantiles(stats.lateness_s, n=100)[98]
    p99_reply = statistics.quantiles(at_reply, n=100)[98]
    print(f"3. {count} rigs at {rate_hz:g}/s for {seconds:g} s: {stats.samples} samples of {expected} due, "
          f"{stats.missed} missed, {len(errors)} failed; 99th percentile lateness {p99 * 1000:.1f} ms "
          f"= {p99 / period:.3f} of the period at the read's start, {p99_reply * 1000:.1f} ms "
          f"= {p99_reply / period:.3f} at its reply")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--part", type=int, choices=(1, 2, 3), action="append", help="run only this part (repeatable)")
    args = parser.parse_args()
    quick, parts = args.quick, args.part or (1, 2, 3)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if 1 in parts:
        asyncio.run(driver_against_raw(1 if quick else 5))
    if 2 in parts:
        asyncio.run(rtu_against_line(2 if quick else 10))
    if 3 in parts:
        asyncio.run(many_rigs(64, 5, 5 if quick else 30))


if __name__ == "__main__":
    main()
