"""`labs-sim`: simulated FDR, EMB and TMR rigs over Modbus TCP, Modbus RTU or a serial line."""
from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from simulators.faults import FAULT_KINDS
from simulators.harness import RigOptions, start_simulation


def _host_port(ctx, param, value):
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{value!r} must be HOST:PORT, e.g. 127.0.0.1:5020")
    return host, int(port)


def _fault_kinds(ctx, param, value):
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}; choose from {', '.join(FAULT_KINDS)}")
    return kinds


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("kind", type=click.Choice(["fdr", "emb", "tmr"]))
@click.option("--modbus-tcp", "tcp", metavar="HOST:PORT", callback=_host_port, help="Serve Modbus TCP (FDR, EMB).")
@click.option("--modbus-rtu", "rtu", metavar="PATH",
              help="Serve Modbus RTU on this serial device, or on a new pty linked at PATH (FDR, EMB).")
@click.option("--serial", "line", metavar="PATH", help="Serve the TMR line protocol on this device or a new pty at PATH.")
@click.option("--count", default=1, type=click.IntRange(1, 247), help="Rigs: on consecutive TCP ports, RTU unit ids, or TMR lines PATH-1 ... PATH-N.")
@click.option("--unit", default=1, type=click.IntRange(1, 247), help="Unit id (the first, with --count).")
@click.option("--baud", default=9600, type=click.IntRange(50, 4_000_000))
@click.option("--parity", type=click.Choice(["N", "E", "O"]),
              help="Default E for RTU, N for TMR. A pty may refuse E when reconfigured: use N --stopbits 2.")
@click.option("--stopbits", type=click.IntRange(1, 2), help="Default 1.")
@click.option("--pace/--no-pace", default=False, help="Send serial bytes at the pace of the baud rate.")
@click.option("--word-order", default="ABCD", type=click.Choice(["ABCD", "CDAB"]))
@click.option("--error-pct", default=0.0, help="True error of the device under test, %.")
@click.option("--error-curve", metavar="X:PCT,...", help="True error over flow (L/min), current (A) or speed (km/h).")
@click.option("--scatter-pct", default=0.0, type=click.FloatRange(0), help="Run-to-run scatter (1 sigma), %.")
@click.option("--seed", default=0, help="Seed of scatter and faults.")
@click.option("--speed", default=1.0, type=click.FloatRange(0, min_open=True), help="Time acceleration factor.")
@click.option("--fuel-temperature", default=15.0, help="FDR: fuel temperature at the master meter, °C.")
@click.option("--nozzle-temperature", default=16.0, help="FDR: fuel temperature at the dispenser, °C.")
@click.option("--ambient-temperature", default=20.0, help="FDR: ambient temperature, °C.")
@click.option("--meter-constant", default=1200, type=click.IntRange(1), help="EMB: the DUT's constant, imp/kWh.")
@click.option("--time-error-pct", default=0.0, help="TMR: the meter's clock error, %.")
@click.option("--fault-rate", default=0.0, type=click.FloatRange(0, 1), help="Chance of a fault per request or run.")
@click.option("--faults", default=",".join(FAULT_KINDS), callback=_fault_kinds, help="Fault kinds to inject.")
def main(kind, tcp, rtu, line, count, unit, baud, parity, stopbits, pace, word_order, error_pct, error_curve,
         scatter_pct, seed, speed, fuel_temperature, nozzle_temperature, ambient_temperature, meter_constant,
         time_error_pct, fault_rate, faults):
    """Run simulated KIND rigs until interrupted; prints one link per rig."""
    chosen = [t for t, v in (("tcp", tcp), ("rtu", rtu), ("serial", line)) if v]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --modbus-tcp, --modbus-rtu, --serial")
    transport = chosen[0]
    if (kind == "tmr") != (transport == "serial"):
        raise click.UsageError("TMR is served with --serial; FDR and EMB with --modbus-tcp or --modbus-rtu")
    options = RigOptions(error_pct=error_pct, error_curve=error_curve, scatter_pct=scatter_pct, seed=seed,
                         speed=speed, fuel_temperature_c=fuel_temperature, nozzle_temperature_c=nozzle_temperature,
                         ambient_temperature_c=ambient_temperature, meter_constant=meter_constant,
                         time_error_pct=time_error_pct, fault_rate=fault_rate, faults=faults, word_order=word_order)
    where = dict(host=tcp[0], port=tcp[1]) if tcp else dict(path=rtu or line)
    try:
        asyncio.run(_serve(kind, transport, count=count, unit=unit, baud=baud, pace=pace,
                           parity=parity or ("E" if transport == "rtu" else "N"), stopbits=stopbits or 1,
                           options=options, **where))
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


async def _serve(kind: str, transport: str, **kw) -> None:
    sim = await start_simulation(kind, transport, **kw)
    try:
        for link in sim.links:
            click.echo(link)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *sim.tasks], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in sim.tasks:  # a server that ended before it was told to has failed
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise click.ClickException(str(task.exception()))
    finally:
        await sim.aclose()
        if transport == "rtu":  # how well the masters on the line kept the silence between frames
            click.echo(f"labs-sim: {sim.silence}", err=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
