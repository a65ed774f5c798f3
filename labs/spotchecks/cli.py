"""`labs spotcheck`: the spot-check registries from the command line. The app comes from the
`labs` group (ctx.obj), the composition root, and so does the language it speaks."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from labs.i18n import N_, render
from labs.spotchecks.registry import COLUMNS, KINDS, PHASES, REPORT_LIMIT


def _columns_help() -> str:
    lines = []
    for kind in KINDS:
        names = ", ".join(name if required else f"[{name}]" for name, required in COLUMNS[kind])
        lines.append(f"{kind}: {names}")
    return "\n\n".join(lines)


@click.group()
def spotcheck():
    """Spot-checks: the registries of entities, their instruments and inspectors."""


@spotcheck.command("import", help=f"""Import a registry from a CSV file (UTF-8, with or without a BOM,
a header row naming the columns, in any order; [optional] ones may be left empty or left out).

\b
{_columns_help()}

kind: fuel_station, taxi_company or power_supplier; region: a GB/T 2260 code of the province
(labs db upgrade loads them); risk_level: high, medium or low; instrument kinds and
qualifications: fuel_dispenser, electricity_meter, taxi_meter; lists (qualifications,
conflicts as credit codes) are separated by ";". An inspector's e-mail links a user with the
inspector role when there is one.

The file is imported whole or not at all: if any row is bad, every bad row is listed with its
line number, its reason and the reason's code in brackets, and nothing is written (exit status
1). An entity already registered (same credit code) is updated (name, kind, region, risk level).

Messages are in the terminal's language (see labs --lang); the codes are the same in all.""")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress on standard error.")
@click.pass_obj
def import_file(obj, kind, file, quiet):
    from labs.accounts.service import SYSTEM
    from labs.db import session_scope
    from labs.spotchecks.registry import ImportRefused, import_registry
    app = obj.app()
    started = time.monotonic()
    size = file.stat().st_size or 1

    def progress(phase, rows, read):
        if not quiet:
            shown = render(N_("%(phase)s: %(rows)s rows (%(percent)s%%)"),
                           {"phase": PHASES[phase], "rows": f"{rows:,}", "percent": 100 * read // size})
            click.echo(f"\r{shown}    ", nl=False, err=True)

    try:
        with app.app_context(), session_scope(app) as session:
            result = import_registry(session, SYSTEM, kind, lambda: open(file, "rb"), progress)
    except ImportRefused as exc:
        if not quiet:
            click.echo("", err=True)
        result = exc.result
        for rejection in result.rejections:  # line 0: the file as a whole
            problem = rejection.message()
            shown = render(N_("line %(line)s: %(problem)s"), {"line": rejection.line, "problem": problem}) \
                if rejection.line else render(problem)
            click.echo(f"{shown} [{rejection.reason}]")
        if len(result.rejections) >= REPORT_LIMIT:
            click.echo(render(N_("Only the first %(count)s problems are listed."), {"count": REPORT_LIMIT}))
        click.echo(f"{file}: {exc.detail}", err=True)
        sys.exit(1)
    if not quiet:
        click.echo("", err=True)
    click.echo(render(N_("%(kind)s: %(rows)s rows imported, %(added)s added, %(updated)s updated in %(seconds)s s"),
                      {"kind": kind, "rows": result.rows, "added": result.added, "updated": result.updated,
                       "seconds": f"{time.monotonic() - started:.1f}"}))
