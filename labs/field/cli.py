"""`labs field sync`: the technician's laptop and the server (see labs.field.client)."""
from __future__ import annotations

import json
import os
import sys

import click

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
        raise click.ClickException("give the technician's token on standard input (--token-stdin) "
                                   f"or in {TOKEN_VARIABLE}")
    if not server_url.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// address", param_hint="--server")
    app = obj.app()
    try:
        summary = sync(app.extensions["labs.sessionmaker"], Server(server_url, token), server_url,
                       lambda line: click.echo(line, err=True), batch_size)
    except SyncError as exc:
        for conflict in exc.conflicts:
            click.echo(f"refused: {conflict.get('table')} row {conflict.get('local_id')}: {conflict.get('detail')}",
                       err=True)
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
