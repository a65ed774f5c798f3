"""`labs runner`, `labs verify run` and `labs audit verify`: running verifications and checking the
chained records. The app comes from the `labs` group (ctx.obj), the composition root."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys

import click

from labs.errors import DomainError
from labs.i18n import N_, render


def _factory(app):
    return app.extensions["labs.sessionmaker"]


@click.command()
@click.option("--name", help="This runner's name in the rig leases (default host:pid).")
@click.option("--lease-seconds", default=30.0, show_default=True, type=click.FloatRange(1),
              help="How long a rig stays leased to a runner that stops renewing (a crashed one).")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(0.05),
              help="How often to look for new runs.")
@click.pass_obj
def runner(obj, name, lease_seconds, poll_seconds):
    """Own the rigs and execute queued verification runs until stopped (SIGTERM, Ctrl-C)."""
    from labs.verification.runner import Runner
    app = obj.service_app()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # each timeout is reported by the run
    the_runner = Runner(_factory(app), name=name, lease_s=lease_seconds, poll_s=poll_seconds)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(json.dumps({"event": "runner", "name": the_runner.name}), err=True)
        await the_runner.run(stop)
    asyncio.run(main())


@click.group()
def verify():
    """Verification runs in the foreground."""


def _progress(event: dict) -> None:
    """One line per stored reading or retry, on the terminal (stderr), so stdout stays JSON."""
    if event["event"] == "reading" and event["problem"]:
        click.echo(render(N_("point %(point)s: reading #%(reading)s stored, not counted: %(problem)s"), event), err=True)
    elif event["event"] == "reading":
        click.echo(render(N_("point %(point)s: reading #%(reading)s stored"), event), err=True)
    elif event["event"] == "retry":
        click.echo(render(N_("point %(point)s: %(problem)s; trying again"), event), err=True)
    elif event["event"] == "failed":
        click.echo(render(N_("run failed: %(problem)s"), event), err=True)


@verify.command("run")
@click.option("--procedure", "procedure_name", required=True, help="'JJG 443' (the version in force) or 'JJG 443-2006'.")
@click.option("--rig", "rig_ref", required=True, help="The registered rig's link or code.")
@click.option("--instrument", "serial_number", required=True, help="The instrument's serial number.")
@click.option("--nozzle", type=click.IntRange(1), help="Fuel dispensers: the nozzle to verify.")
@click.option("--technician", "technician_email", help="Who runs it (e-mail); default: the operator.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.pass_obj
def verify_run(obj, procedure_name, rig_ref, serial_number, nozzle, technician_email, as_json):
    """Run a verification now, against the configured database, and print its result."""
    from sqlalchemy import select

    from devices.transport import BusPool
    from labs.accounts.models import User
    from labs.accounts.service import SYSTEM
    from labs.db import session_scope
    from labs.verification import service
    from labs.verification.engine import Store, run_verification
    from labs.verification.models import VerifiedInstrument
    app = obj.app()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        with session_scope(app) as session:
            actor = SYSTEM
            if technician_email:
                actor = session.scalar(select(User).where(User.email == technician_email.strip().lower()))
                if actor is None:
                    raise click.ClickException(render(N_("no user %(email)s"), {"email": technician_email}))
            procedure = service.find_procedure(session, procedure_name)
            rig = service.find_rig(session, rig_ref)
            instruments = list(session.scalars(select(VerifiedInstrument).where(
                VerifiedInstrument.serial_number == serial_number,
                VerifiedInstrument.kind == procedure.instrument_kind)))
            if not instruments:
                raise click.ClickException(render(N_("no %(kind)s with serial number %(serial_number)s"), {
                    "kind": service.INSTRUMENT_KIND_NAMES[procedure.instrument_kind], "serial_number": serial_number}))
            verification_id = service.request_verification(
                session, actor, instruments[0].id, rig.id, procedure.id, nozzle).id
    except DomainError as exc:
        raise click.ClickException(exc.explained) from None

    async def main():
        async with BusPool() as pool:
            return await run_verification(Store(_factory(app)), verification_id, pool, _progress)
    state = asyncio.run(main())
    with session_scope(app) as session:
        summary = run_summary(session, verification_id)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        shown = {"verification": verification_id, "state": service.RUN_STATE_NAMES[summary["state"]],
                 "certificate": summary["certificate"], "problem": summary["problem"]}
        if state == "done":
            shown["verdict"] = service.VERDICT_NAMES[summary["verdict"]]
            click.echo(render(N_("verification %(verification)s: %(state)s, %(verdict)s, %(certificate)s"), shown))
        else:
            click.echo(render(N_("verification %(verification)s: %(state)s: %(problem)s"), shown))
    sys.exit(0 if state == "done" else 1)


def run_summary(session, verification_id: int) -> dict:
    """The run as `--json` prints it: verdict, each point with its raw readings, errors, the rounded
    error the verdict was taken on and the MPE, the result's id and the certificate number."""
    from labs.verification import service
    from labs.verification.models import Verification
    verification = session.get(Verification, verification_id)
    result = service.result_of(session, verification_id)
    certificate = service.certificate_of(session, result)
    readings: dict[int, list[dict]] = {}
    for r in service.readings_of(session, verification_id):
        readings.setdefault(r.point_index, []).append(
            {"id": r.id, "values": r.values, "manual": r.manual, **({"not_counted": r.problem} if r.problem else {})})
    evaluated = {p["index"]: p for p in (result.evaluation["points"] if result else [])}
    return {
        "verification": verification.id, "state": verification.state, "problem": verification.problem,
        "procedure": verification.procedure.name, "instrument": verification.instrument.serial_number,
        "rig": verification.rig.code,
        "verdict": result.verdict if result else None, "result": result.id if result else None,
        "certificate": certificate.number if certificate else None,
        "next_due": result.next_due.isoformat() if result and result.next_due else None,
        "points": [{**point, "readings": readings.get(point["index"], []), **evaluated.get(point["index"], {})}
                   for point in verification.plan],
    }


@click.group()
def audit():
    """The chained records."""


@audit.command("verify")
@click.pass_obj
def audit_verify(obj):
    """Re-walk every hash chain; exit 1 naming the first broken row of each broken chain."""
    from labs import chain
    from labs.db import session_scope
    with session_scope(obj.app()) as session:
        counts, breaks = chain.verify(session)
    for table, n in counts.items():
        click.echo(render(N_("%(table)s: %(count)s rows checked"), {"table": table, "count": n}))
    for problem in breaks:
        click.echo(render(N_("BROKEN %(problem)s"), {"problem": problem}), err=True)
    if breaks:
        sys.exit(1)
    click.echo(render(N_("every chain is intact")))
