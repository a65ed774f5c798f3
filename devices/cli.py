"""`labs rig identify|watch LINK --map fdr|emb|tmr`: a technician's look at a rig (fdr: fuel
dispenser test rig, emb: electricity meter test bench, tmr: taxi meter test rig). Its words are in
the language `labs` speaks (labs.i18n); the values and the rigs' own errors are as the rig gives them."""
from __future__ import annotations

import asyncio
import logging

import click

from devices.drivers import DRIVERS
from devices.errors import RigError, RigUnreachable
from devices.links import LinkError, parse_link
from devices.maps import MODBUS_MAPS, STATUS_NAMES
from devices.poller import Poller, Sample
from devices.transport import BusPool, Policy
from labs.i18n import N_, render

_TMR_UNITS = {"reference_distance_m": "m", "meter_distance_m": "m", "reference_time_s": "s", "meter_time_s": "s"}


def _driver(link: str, kind: str, pool: BusPool):
    try:
        return DRIVERS[kind](parse_link(link), pool, name=f"{kind.upper()} rig")
    except LinkError as exc:
        raise click.BadParameter(str(exc), param_hint="LINK") from None


def _run(coroutine_fn, timeout_s: float, retries: int):
    # pymodbus logs every timeout with a frame dump; the error raised here already says it all.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    async def main():
        async with BusPool(Policy(timeout_s, retries)) as pool:
            return await coroutine_fn(pool)
    try:
        return asyncio.run(main())
    except (RigError, LinkError) as exc:
        raise click.ClickException(str(exc)) from None


def _format(kind: str, values: dict) -> str:
    units = {f.name: f.unit for f in MODBUS_MAPS[kind].fields} if kind in MODBUS_MAPS else _TMR_UNITS
    parts = []
    for name, value in values.items():
        if name == "status":
            # The Modbus rigs give a number, the TMR a protocol word in capitals: one case for all.
            value = str(STATUS_NAMES.get(kind, {}).get(value, value)).lower()
        text = f"{value:.4g}" if isinstance(value, float) and abs(value) < 1e-3 and value else (
            f"{value:.3f}" if isinstance(value, float) else str(value))
        parts.append(f"{name}={text}{' ' + units[name] if units.get(name) else ''}")
    return "  ".join(parts)


_common = [
    click.argument("link"),
    click.option("--map", "kind", required=True, type=click.Choice(sorted(DRIVERS)),
                 help="Which rig it is: fdr, the fuel dispenser test rig (Modbus); emb, the electricity meter "
                      "test bench (Modbus); tmr, the taxi meter test rig (serial ASCII)."),
    click.option("--timeout", "timeout_s", default=1.0, show_default=True, type=click.FloatRange(0.01),
                 help="Seconds to wait for each reply."),
    click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 20),
                 help="Further attempts after a failed one."),
]


def _with_common(fn):
    for decorator in reversed(_common):
        fn = decorator(fn)
    return fn


@click.group(help="Talk to a calibration rig over its link (modbus+tcp://, modbus+rtu://, serial://): fdr, the "
                  "fuel dispenser test rig; emb, the electricity meter test bench; tmr, the taxi meter test rig.")
def rig():
    pass


@rig.command()
@_with_common
def identify(link, kind, timeout_s, retries):
    """Print the rig's serial number and firmware."""
    async def go(pool):
        driver = _driver(link, kind, pool)
        identity = await driver.identify()
        if hasattr(driver, "confirm_kind"):  # the TMR's identity names its make and model already
            await driver.confirm_kind()
        return identity
    identity = _run(go, timeout_s, retries)
    click.echo(render(N_("serial number: %(serial_number)s"), {"serial_number": identity.serial_number}))
    click.echo(render(N_("firmware: %(firmware)s"), {"firmware": identity.firmware}))


@rig.command()
@_with_common
@click.option("--rate", default=2.0, show_default=True, type=click.FloatRange(0.01, 100), help="Samples a second.")
@click.option("--samples", type=click.IntRange(1), help="Stop after this many samples (default: until Ctrl-C).")
def watch(link, kind, timeout_s, retries, rate, samples):
    """Print the rig's live values, one line a sample, until interrupted."""
    outcome = {"read": 0, "failed": 0}

    async def go(pool):
        driver = _driver(link, kind, pool)
        poller = Poller()
        poller.add(driver, rate)
        done = asyncio.Event()

        def show(sample: Sample):
            # This computer's local time: what the technician's clock on the wall says.
            stamp = sample.at.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            shown = _format(kind, sample.values) if sample.values else render(N_("ERROR %(problem)s"),
                                                                              {"problem": str(sample.error)})
            click.echo(f"{stamp}  {shown}")
            outcome["failed" if sample.values is None else "read"] += 1
            # A device that refuses this user or these settings will not change its mind.
            if (samples and sum(outcome.values()) >= samples) or isinstance(sample.error, RigUnreachable):
                done.set()
        polling = asyncio.create_task(poller.run(show))
        stopping = asyncio.create_task(done.wait())
        await asyncio.wait([polling, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in (polling, stopping):
            task.cancel()
        if polling.done() and not polling.cancelled() and polling.exception() is not None:
            exc = polling.exception()
            if isinstance(exc, (RigError, LinkError)):
                raise exc
            raise click.ClickException(render(N_("polling %(link)s stopped: %(problem)s"),
                                              {"link": link, "problem": f"{type(exc).__name__}: {exc}"}))
    try:
        _run(go, timeout_s, retries)
    except KeyboardInterrupt:
        pass
    if outcome["failed"] and not outcome["read"]:
        raise click.ClickException(render(N_("no sample read from %(link)s: all %(count)s failed"),
                                          {"link": link, "count": outcome["failed"]}))


if __name__ == "__main__":
    rig()
