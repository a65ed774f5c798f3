"""`labs field sync`: the technician's laptop and the server (see labs.field.client). Progress and
refusals are for the technician, in the terminal's language; the summary is JSON, for programs."""
from __future__ import annotations

import json
import os
import sys

import click

from labs.i18n import N_, render

TOKEN_VARIABLE = "LABS_FIELD_TOKEN"


@click.group()
def field():
    """The technician's laptop on site."""


@field.command("sync")
@click.option("--server", "server_url", required=True, help="The service's address, e.g. https://labs.example.gov.cn")
@click.option("--token-stdin", is_flag=True,
              help=f"Read the technician's bearer token from standard input (else from {TOKEN_VARIABLE}).")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 200),
              help="Runs and rows per upload request (smaller on a poor line: less to send again).")
@click.pass_obj
def field_sync(obj, server_url, token_stdin, batch_size):
    """Upload the runs, readings, results and certificates made on this laptop, then bring down the
    instruments, procedures, rigs and certificate numbers for the next days on site, into this
    laptop's database (LABS_DATABASE_URL). Progress on stderr, the summary as JSON on stdout."""
    from labs.field.client import Server, SyncError, sync
    token = sys.stdin.readline().strip() if token_stdin else os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise click.ClickException(render(N_("give the technician's token on standard input (%(option)s) or in "
                                             "%(variable)s"), {"option": "--token-stdin", "variable": TOKEN_VARIABLE}))
    if not server_url.startswith(("http://", "https://")):
        raise click.BadParameter(render(N_("an http:// or https:// address")), param_hint="--server")
    app = obj.app()
    try:
        summary = sync(app.extensions["labs.sessionmaker"], Server(server_url, token), server_url,
                       lambda step: click.echo(render(step), err=True), batch_size)
    except SyncError as exc:
        for conflict in exc.conflicts:  # each detail as the server wrote it, in the language asked for
            click.echo(render(N_("refused: %(table)s row %(local_id)s: %(detail)s"),
                              {"table": conflict.get("table"), "local_id": conflict.get("local_id"),
                               "detail": conflict.get("detail")}), err=True)
        raise click.ClickException(render(exc.message)) from None
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
