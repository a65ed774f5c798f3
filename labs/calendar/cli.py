"""`labs calendar`: the year's holiday schedule, for a year chinese-calendar does not know yet."""
from __future__ import annotations

import click

from labs.errors import DomainError
from labs.i18n import N_, render


@click.group()
def calendar():
    """The year's holidays and make-up working days (they override chinese-calendar for that year)."""


def _as_admin(obj, work):
    """Run `work(session, actor)` as the system administrator and commit; a refusal names each problem."""
    from labs.accounts.service import SYSTEM
    from labs.db import session_scope
    app = obj.app()
    try:
        with app.app_context(), session_scope(app) as session:
            return work(session, SYSTEM)
    except DomainError as exc:
        raise click.ClickException(exc.explained) from None
    finally:
        app.extensions["labs.engine"].dispose()


@calendar.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.pass_obj
def calendar_import(obj, file):
    """Store the schedule in FILE for its year, replacing what was stored for that year.

    FILE has one day a line, after the header `date,kind,holiday`: the date (2027-01-01), off (a day
    off) or work (a weekend day worked to make up for one), and the holiday, in English as
    chinese-calendar names it or in Chinese (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节).
    Lines starting with # are skipped. Every day off the law fixes must be in it.
    """
    from labs.calendar.domain import MAX_CHARS
    from labs.calendar.service import import_schedule
    text = file.read(MAX_CHARS + 1)
    schedule = _as_admin(obj, lambda session, actor: import_schedule(session, actor, text))
    off = sum(not working for working, _ in schedule.days.values())
    click.echo(render(N_("stored the holiday schedule of %(year)s: %(off)s days off, %(work)s make-up working days"),
                      {"year": schedule.year, "off": off, "work": len(schedule.days) - off}))


@calendar.command("list")
@click.pass_obj
def calendar_list(obj):
    """The stored schedules, in the import format."""
    from labs.calendar.domain import to_text
    from labs.calendar.service import list_years
    for schedule in _as_admin(obj, lambda session, _actor: list_years(session)):
        click.echo(f"# {schedule.year}")
        click.echo(to_text(schedule), nl=False)


@calendar.command("remove")
@click.argument("year", type=click.IntRange(1900, 2199))
@click.pass_obj
def calendar_remove(obj, year):
    """Forget YEAR's stored schedule: chinese-calendar and the law decide that year again."""
    from labs.calendar.service import remove_schedule
    _as_admin(obj, lambda session, actor: remove_schedule(session, actor, year))
    click.echo(render(N_("removed the holiday schedule of %(year)s"), {"year": year}))
