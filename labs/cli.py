"""The `labs` command: database, users, the web server, the scheduler, demo data, rigs.

What a command says to a person is in the terminal's language (labs.i18n.terminal_language) or the
one --lang names; what a program reads (--json, SQL statements) is the same in every language."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import click

from devices.cli import rig
from labs.calendar.cli import calendar
from labs.errors import DomainError
from labs.field.cli import field
from labs.i18n import LANGUAGES, N_, render, speaking, terminal_language
from labs.spotchecks.cli import spotcheck
from labs.verification.cli import audit, runner, verify

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _app():
    from labs.app import create_app
    return create_app()


def _app_with_secret_key():
    """The app for a long-running command, which refuses to start without a proper secret key."""
    from labs.config import MissingSecretKey, require_secret_key
    app = _app()
    try:
        require_secret_key(app.config["SECRET_KEY"])
    except MissingSecretKey as exc:
        raise click.ClickException(render(exc.args[0])) from None
    return app


def upgrade(app, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = app.extensions["labs.engine"]
    command.upgrade(cfg, revision)
    if revision == "head":
        from labs.db import session_scope
        from labs.spotchecks.registry import sync_regions
        from labs.verification.service import sync_procedures
        with session_scope(app) as session:
            sync_procedures(session)  # the procedure versions shipped with this release
            sync_regions(session)  # the province's administrative divisions (labs/spotchecks/regions.json)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(list(LANGUAGES)),
              help="The language of messages to people (default: the terminal's, from LC_ALL, LC_MESSAGES or "
                   "LANG: zh_CN and zh_SG Simplified Chinese, zh_TW, zh_HK and zh_MO Traditional, else English).")
@click.pass_context
def main(ctx, lang):
    """labs: metrology and lab booking for the bureau."""
    # The features' commands get their app from here, the composition root (with a secret key
    # checked for the long-running ones), and speak the language chosen here until they end.
    ctx.obj = SimpleNamespace(app=_app, service_app=_app_with_secret_key)
    ctx.with_resource(speaking(lang or terminal_language()))


@main.group()
def db():
    """The database schema."""


def _owner_app():
    """The app on the owner role's database URL (LABS_MIGRATION_DATABASE_URL, else LABS_DATABASE_URL)."""
    import os
    from labs.app import create_app
    url = os.environ.get("LABS_MIGRATION_DATABASE_URL")
    return create_app({"DATABASE_URL": url} if url else None)


@db.command("upgrade")
def db_upgrade():
    """Apply every Alembic migration, as the owner role of LABS_MIGRATION_DATABASE_URL when it is set."""
    upgrade(_owner_app())
    click.echo(render(N_("database is at the newest schema")))


@db.command("grant-service-role")
@click.argument("role")
def db_grant_service_role(role):
    """Give ROLE (PostgreSQL) what the service needs: read and write its tables, but only insert into
    and read the audit log, readings, verification results and certificates. Run as the owner
    (LABS_MIGRATION_DATABASE_URL), after each `labs db upgrade`."""
    from labs.grants import grant_service_role
    app = _owner_app()
    try:
        statements = grant_service_role(app.extensions["labs.engine"], role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        app.extensions["labs.engine"].dispose()
    for statement in statements:
        click.echo(statement + ";")


@main.group()
def user():
    """User accounts."""


@user.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "lab_manager", "technician", "inspector", "enterprise"]))
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from standard input")
@click.option("--name", default="")
@click.option("--enterprise-code", help="unified social credit code (enterprise users)")
@click.option("--enterprise-name", help="the enterprise's name, when it is new")
def user_create(email, role, password_stdin, name, enterprise_code, enterprise_name):
    """Create a user; the password comes from standard input so it stays out of shell history."""
    from labs.accounts.models import ROLE_NAMES
    from labs.accounts.service import SYSTEM, create_user
    from labs.db import session_scope
    password = sys.stdin.readline().rstrip("\r\n")
    app = _app()
    try:
        with app.app_context(), session_scope(app) as session:
            created = create_user(session, SYSTEM, email, password, role, name, enterprise_code, enterprise_name)
            click.echo(render(N_("created %(role)s %(email)s (id %(id)s)"),
                              {"role": ROLE_NAMES[created.role], "email": created.email, "id": created.id}))
    except DomainError as exc:
        raise click.ClickException(exc.explained) from None


def _change_user(email: str, change) -> None:
    """Run `change(session, user)` on the user with `email`, as SYSTEM, and commit."""
    from labs.accounts.service import user_by_email
    from labs.db import session_scope
    app = _app()
    try:
        with app.app_context(), session_scope(app) as session:
            change(session, user_by_email(session, email))
    except DomainError as exc:
        raise click.ClickException(exc.explained) from None


@user.command("deactivate")
@click.argument("email")
def user_deactivate(email):
    """End a user's access: no sign-in, and their sessions and tokens end now."""
    from labs.accounts.service import SYSTEM, deactivate_user
    _change_user(email, lambda session, found: deactivate_user(session, SYSTEM, found.id))
    click.echo(render(N_("deactivated %(email)s; their sessions and tokens have ended"),
                      {"email": email.strip().lower()}))


@user.command("reactivate")
@click.argument("email")
def user_reactivate(email):
    """Let a deactivated user sign in again."""
    from labs.accounts.service import SYSTEM, reactivate_user
    _change_user(email, lambda session, found: reactivate_user(session, SYSTEM, found.id))
    click.echo(render(N_("reactivated %(email)s"), {"email": email.strip().lower()}))


@user.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="read the one-time password from standard input instead of making one")
def user_reset_password(email, password_stdin):
    """Give a user a one-time password: their sessions and tokens end, and they must choose a new
    password when they sign in with it. Without --password-stdin one is made and printed (only
    this once); with it, it is read from standard input and not printed."""
    from labs.accounts.service import SYSTEM, reset_password
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    made = []
    _change_user(email, lambda session, found: made.append(reset_password(session, SYSTEM, found.id, given)[1]))
    click.echo(render(N_("reset the password of %(email)s; they must choose a new one at their next sign-in"),
                      {"email": email.strip().lower()}))
    if not password_stdin:
        click.echo(render(N_("one-time password: %(password)s"), {"password": made[0]}))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="threads per worker process")
@click.option("--fd", type=click.IntRange(0), help="serve on this inherited listening socket instead of --host/--port")
def serve(host, port, workers, threads, fd):
    """Serve the web application with gunicorn worker processes, each with a pool of threads."""
    from labs.server import PortInUse, listen, serve as run_server
    try:
        listener = listen(host, port) if fd is None else None
    except PortInUse as exc:
        raise click.ClickException(render(exc.args[0])) from None
    _app_with_secret_key()  # the workers build their own apps; this only checks the key first
    run_server(host, port, workers, listener.fileno() if listener else fd, threads)


def scheduled_jobs() -> list:
    """Every feature's scheduled work, as `labs scheduler` runs it: (function, trigger) pairs."""
    from booking.jobs import JOBS
    from labs.accounts.jobs import JOBS as ACCOUNT_JOBS
    from labs.notify import send_pending_mail
    from labs.services.jobs import JOBS as SERVICE_JOBS
    from labs.spotchecks.jobs import JOBS as SPOTCHECK_JOBS
    return (JOBS + ACCOUNT_JOBS + SPOTCHECK_JOBS + SERVICE_JOBS
            + [(send_pending_mail, {"trigger": "interval", "minutes": 1})])


@main.command()
@click.option("--run-now", is_flag=True, help="Also run every job once as soon as this scheduler leads.")
def scheduler(run_now):
    """Run scheduled jobs (one leader among several schedulers on PostgreSQL)."""
    import logging
    from labs import scheduler as sched
    logging.basicConfig(level=logging.INFO)
    sched.run(_app_with_secret_key(), scheduled_jobs(), run_now=run_now)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def demo(host, port, workers):
    """Migrate, load demo data (labs, users, bookings, instruments), start simulated rigs, a runner and
    the scheduler (reminders, lapses, mail, publication deadlines), print the logins, and serve."""
    import os
    import subprocess
    from labs.config import SECRET_KEY_VARIABLE, demo_secret_key
    from labs.db import session_scope
    from labs.demo import seed
    from labs.server import PortInUse, listen, serve as run_server
    from labs.dispatch import demo as dispatch_demo
    from labs.services import demo as services_demo
    from labs.spotchecks import demo as spotcheck_demo
    from labs.verification import demo as verification_demo
    try:
        listener = listen(host, port)  # before anything starts: a port in use fails at once
    except PortInUse as exc:
        raise click.ClickException(render(exc.args[0])) from None
    app = _app()
    if not os.environ.get(SECRET_KEY_VARIABLE):
        # The workers (and the runner and scheduler) read the key from the environment they inherit.
        os.environ[SECRET_KEY_VARIABLE] = app.config["SECRET_KEY"] = demo_secret_key(app.instance_path)
    app = _app_with_secret_key()
    upgrade(app)
    logins = seed(app)
    links, children = verification_demo.start_simulated_rigs(app.instance_path)
    try:
        with session_scope(app) as session:
            verification_demo.seed(session, links)
            spotcheck_demo.seed(session, app.config["SECRET_KEY"])
            dispatch_demo.seed(session)
            services_demo.seed(session, app.config["SECRET_KEY"])
        children.append(verification_demo.start_runner())
        children.append(subprocess.Popen([str(Path(sys.executable).with_name("labs")), "scheduler"]))
        server = f"http://{host}:{port}"
        click.echo(render(N_("database: %(url)s"), {"url": app.config["DATABASE_URL"]}))
        click.echo(render(N_("simulated rigs: %(rigs)s"),
                          {"rigs": ", ".join(f"{kind.upper()} {link}" for kind, link in links.items())}))
        click.echo(render(N_("demo logins (e-mail / password):")))
        for role, email, password in logins:
            click.echo(f"  {role:<12} {email:<28} {password}")
        click.echo(render(N_("scheduled jobs: run by the scheduler started here (%(command)s)"),
                          {"command": "labs scheduler"}))
        click.echo(render(N_("a technician's laptop on site: %(upgrade)s, then %(sync)s with %(email)s's token "
                             "(POST /api/v1/auth/token) in LABS_FIELD_TOKEN: it brings down that technician's "
                             "work orders"),
                          {"upgrade": "LABS_DATABASE_URL=sqlite:///laptop.sqlite3 labs db upgrade",
                           "sync": f"labs field sync --server {server}", "email": "tech@labs.example"}))
        click.echo(render(N_("open %(url)s"), {"url": f"{server}/"}))
        run_server(host, port, workers, listener.fileno())
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


main.add_command(rig)
main.add_command(runner)
main.add_command(verify)
main.add_command(audit)
main.add_command(spotcheck)
main.add_command(field)
main.add_command(calendar)
