"""Spot-check tasks after the draw: verification runs attached to each instrument, the inspectors'
review and countersignature, follow-ups of failures, public nominations, publication (一公开), and
the weekly file for the national enterprise credit publicity system."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from labs import audit, chain
from labs.accounts.models import Enterprise
from labs.accounts.service import Actor, require_role
from labs.db import read_outside_transaction, utcnow
from labs.errors import Conflict, Forbidden, Invalid, NotFound, TooManyAttempts
from labs.i18n import N_
from labs.notify import notify_enterprise
from labs.spotchecks import domain
from labs.spotchecks.models import (CreditExport, Nomination, Plan, PublishedResult, RegistryEntity,
                                    RegistryInspector, RegistryInstrument, Task, TaskInstrument)
from labs.spotchecks.service import _inspector_pool, _plan, get_plan
from labs.verification import service as verification
from labs.verification.models import Result, Verification, VerifiedInstrument
from labs.workdays import add_working_days

RECTIFY_WORKING_DAYS = 15  # the follow-up's default deadline
NOMINATIONS_PER_HOUR = 5  # per client address
NOMINATION_LOCKS = 0x4E4F4D  # the advisory-lock key space of nominations by address ("NOM")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")  # a mainland mobile number
REVIEWERS = ("admin", "inspector")
X_AXIS = {"delivery": ("flow_rate", "L/min"), "error": ("current", "A"), "distance": ("speed_km_h", "km/h"),
          "standing": ("seconds", "s")}


def get_task_instrument(session: Session, task_instrument_id: int) -> TaskInstrument:
    ti = session.get(TaskInstrument, task_instrument_id)
    if ti is None:
        raise NotFound(N_("no task instrument %(id)s"), code="no_task_instrument", params={"id": task_instrument_id})
    return ti


def list_tasks(session: Session, actor: Actor | None, plan_id: int) -> list[Task]:
    require_role(actor, *REVIEWERS, "technician")
    get_plan(session, plan_id)  # no such plan is a 404, not an empty list
    return list(session.scalars(select(Task).where(Task.plan_id == plan_id).options(
        selectinload(Task.instruments).selectinload(TaskInstrument.instrument), selectinload(Task.entity))
        .order_by(Task.id)))


def attach_verification(session: Session, actor: Actor | None, task_instrument_id: int,
                        verification_id: int) -> TaskInstrument:
    """A finished verification run of the instrument gives the task its errors, verdict and evidence."""
    actor = require_role(actor, *REVIEWERS, "technician")
    ti = get_task_instrument(session, task_instrument_id)
    run = session.get(Verification, verification_id)
    if run is None or run.state != "done":
        raise Invalid(N_("no finished run"), {"verification_id": [N_("run %(id)s is not a finished run")]},
                      code="run_not_finished", params={"id": verification_id})
    registry = ti.instrument
    if (run.instrument.kind, run.instrument.serial_number) != (registry.kind, registry.serial_number) or \
            run.instrument.enterprise.credit_code != ti.task.entity.credit_code:
        raise Invalid(N_("another instrument"), {"verification_id": [
            N_("run %(id)s verified %(kind)s %(serial)s, not %(task_kind)s %(task_serial)s of %(code)s")]},
            code="another_instrument", params={
                "id": verification_id, "kind": run.instrument.kind, "serial": run.instrument.serial_number,
                "task_kind": registry.kind, "task_serial": registry.serial_number, "code": ti.task.entity.credit_code})
    if ti.countersigned_at is not None and not ti.out_of_use:
        raise Conflict(N_("task instrument %(id)s is concluded"), code="concluded", params={"id": ti.id})
    if ti.out_of_use:
        # A follow-up: a passing re-verification puts the instrument back into use.
        result = verification.result_of(session, run.id)
        if result.verdict == "pass" and run.id != ti.verification_id:
            ti.out_of_use = False
            audit.record(session, actor.id, "spotcheck.back_in_use", "spotcheck_task_instrument", ti.id, None,
                         {"verification_id": run.id})
        return ti
    ti.verification_id = run.id
    audit.record(session, actor.id, "spotcheck.attach", "spotcheck_task_instrument", ti.id, None,
                 {"verification_id": run.id})
    return ti


def _inspector_of(session: Session, actor: Actor) -> RegistryInspector | None:
    return session.scalar(select(RegistryInspector).where(RegistryInspector.user_id == actor.id)) \
        if actor.id is not None else None


def review(session: Session, actor: Actor | None, task_instrument_id: int, conclusion: str, note: str = "") -> TaskInstrument:
    """The first inspector's conclusion, one of the task's drawn inspectors (or an administrator)."""
    actor = require_role(actor, *REVIEWERS)
    ti = get_task_instrument(session, task_instrument_id)
    inspector = _inspector_of(session, actor)
    if actor.role != "admin" and (inspector is None or inspector.id not in ti.task.inspector_ids):
        raise Forbidden(N_("only an inspector drawn for this task reviews it"), code="not_drawn_inspector")
    if ti.verification_id is None:
        raise Conflict(N_("attach the instrument's verification run before the review"), code="run_missing")
    if ti.countersigned_at is not None:
        raise Conflict(N_("task instrument %(id)s is countersigned: its conclusion is final"), code="concluded",
                       params={"id": ti.id})
    if conclusion not in ("pass", "fail"):
        raise Invalid(N_("conclusion"), {"conclusion": [N_("pass or fail")]}, code="invalid_conclusion")
    ti.conclusion, ti.conclusion_note, ti.reviewed_by, ti.reviewed_at = conclusion, note, actor.id, utcnow()
    audit.record(session, actor.id, "spotcheck.review", "spotcheck_task_instrument", ti.id, None,
                 {"conclusion": conclusion, "note": note})
    return ti


def countersign(session: Session, actor: Actor | None, task_instrument_id: int, today: dt.date | None = None) -> TaskInstrument:
    """A second inspector, not the first and not recused, countersigns. A failure opens a follow-up
    (rectification deadline, out of use until it passes again); the last countersignature of a
    task concludes it and publishes its result."""
    actor = require_role(actor, *REVIEWERS)
    ti = get_task_instrument(session, task_instrument_id)
    if ti.conclusion is None:
        raise Conflict(N_("nothing to countersign: the first inspector has not concluded"), code="not_concluded")
    if ti.countersigned_at is not None:
        raise Conflict(N_("task instrument %(id)s is countersigned already"), code="countersigned_already",
                       params={"id": ti.id})
    if actor.id == ti.reviewed_by:
        raise Forbidden(N_("the inspector who concluded cannot countersign too"), code="same_inspector")
    inspector = _inspector_of(session, actor)
    if inspector is None:
        raise Forbidden(N_("only an inspector of the registry countersigns"), code="not_registry_inspector")
    entity = ti.task.entity
    pool = {i.id: i for i in _inspector_pool(session, ti.task.plan)}
    recused = domain.recusal(pool[inspector.id], entity.credit_code, entity.affiliation) if inspector.id in pool \
        else "not qualified for this kind of instrument"
    if recused:
        raise Forbidden(N_("you are recused from %(code)s: %(reason)s"), code="recused",
                        params={"code": entity.credit_code, "reason": recused})
    today = today or verification.local_today()
    ti.countersigned_by, ti.countersigned_at = actor.id, utcnow()
    if ti.conclusion == "fail":
        ti.rectify_by, ti.out_of_use = add_working_days(today, RECTIFY_WORKING_DAYS), True
        enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == entity.credit_code))
        if enterprise is not None:
            params = {"serial": ti.instrument.serial_number, "day": ti.rectify_by,
                      "instrument": ti.instrument.description or ti.instrument.serial_number}
            notify_enterprise(session, enterprise.id, N_("Spot-check failed: %(serial)s") % params,
                              N_("%(instrument)s failed the spot-check and is out of use: rectify it by %(day)s and "
                                 "apply for re-verification.") % params)
    audit.record(session, actor.id, "spotcheck.countersign", "spotcheck_task_instrument", ti.id, None,
                 {"conclusion": ti.conclusion, "rectify_by": ti.rectify_by.isoformat() if ti.rectify_by else None})
    task = ti.task
    if all(i.countersigned_at is not None for i in task.instruments):
        task.concluded_on = today
        task.publish_by = add_working_days(today, task.plan.publication_working_days)
        publish(session, task, today)
    return ti


def _points(session: Session, verification_id: int) -> tuple[list[dict], str | None]:
    result = verification.result_of(session, verification_id)
    return (result.evaluation["points"], result.verdict) if result else ([], None)


def publish(session: Session, task: Task, today: dt.date) -> PublishedResult:
    """Write the task's result to the public record (chained, append-only)."""
    instruments = []
    for ti in task.instruments:
        points, verdict = _points(session, ti.verification_id)
        instruments.append({
            "kind": ti.instrument.kind, "serial_number": ti.instrument.serial_number,
            "description": ti.instrument.description, "conclusion": ti.conclusion, "measured_verdict": verdict,
            "errors": [{"point": p["key"], "label": p["label"], "rounded_pct": p.get("rounded_pct"),
                        "mpe_low_pct": p.get("mpe_low_pct"), "mpe_high_pct": p.get("mpe_high_pct"),
                        "passed": p.get("passed")} for p in points],
            "rectify_by": ti.rectify_by.isoformat() if ti.rectify_by else None})
    content = {"plan": task.plan.name, "origin": task.origin, "entity": {
        "credit_code": task.entity.credit_code, "name": task.entity.name, "region": task.entity.region},
        "instruments": instruments, "concluded_on": task.concluded_on.isoformat(),
        "verdict": "fail" if any(i["conclusion"] == "fail" for i in instruments) else "pass"}
    row = chain.append(session, PublishedResult(task_id=task.id, plan_id=task.plan_id, content=content,
                                                published_on=today, at=utcnow()))
    task.published_at = row.at
    return row


def published_results(session: Session, plan_id: int | None = None, before: int | None = None,
                      limit: int = 50) -> list[PublishedResult]:
    """A page of published results, newest first; `before` (a result's id) pages on: rows are only
    ever appended, so a page stays the same however many are published after it."""
    query = select(PublishedResult).order_by(PublishedResult.id.desc()).limit(limit)
    if plan_id is not None:
        query = query.where(PublishedResult.plan_id == plan_id)
    if before is not None:
        query = query.where(PublishedResult.id < before)
    return list(session.scalars(query))


def review_sheet(session: Session, actor: Actor | None, task_instrument_id: int) -> dict:
    """What the inspector looks at: each point's errors against flow (load, speed) with the MPE
    band, the repeatability, and the same instrument's earlier results."""
    require_role(actor, *REVIEWERS)
    ti = get_task_instrument(session, task_instrument_id)
    sheet = {"task_instrument": ti.id, "entity": ti.task.entity.name, "serial_number": ti.instrument.serial_number,
             "kind": ti.instrument.kind, "conclusion": ti.conclusion, "points": [], "history": []}
    if ti.verification_id is None:
        return sheet
    run = session.get(Verification, ti.verification_id)
    readings = {}
    for r in verification.readings_of(session, run.id):
        if not r.problem:
            readings.setdefault(r.point_index, []).append(r.values)
    plan = {p["index"]: p for p in run.plan}
    points, verdict = _points(session, run.id)
    for p in points:
        operation = plan[p["index"]]["operation"]
        axis, unit = X_AXIS.get(operation, (None, ""))
        settings = plan[p["index"]]["settings"]
        xs = [v.get(axis, settings.get(axis)) for v in readings.get(p["index"], [])] or [settings.get(axis)]
        sheet["points"].append({**p, "operation": operation, "x": xs[0] if xs else None, "x_unit": unit})
    sheet["verdict"] = verdict
    sheet["history"] = [{"verified_on": r.verified_on.isoformat(), "verdict": r.verdict,
                         "procedure": r.procedure_name, "verification_id": r.verification_id}
                        for r in session.scalars(select(Result).join(Verification).join(VerifiedInstrument).where(
                            VerifiedInstrument.id == run.instrument_id, Result.verification_id != run.id)
                            .order_by(Result.id.desc()))]
    return sheet


# --- 你点我查: public nominations -------------------------------------------------------------------

def _keyed(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def nominate(session: Session, key: str, instrument_id: int, reason: str, phone: str, client_address: str) -> int:
    """A nomination by anyone; the instrument's count after it. One person (phone) counts once per
    instrument; an address may nominate a few times an hour."""
    instrument = session.get(RegistryInstrument, instrument_id)
    if instrument is None or instrument.kind not in ("fuel_dispenser", "electricity_meter"):
        raise Invalid(N_("unknown instrument"), {"instrument_id": [N_("choose a fuel dispenser or meter from the registry")]},
                      code="no_instrument")
    phone = re.sub(r"[\s-]", "", phone).removeprefix("+86")
    if not PHONE.fullmatch(phone):
        raise Invalid(N_("not a mobile number"), {"phone": [N_("an 11-digit mainland mobile number")]},
                      code="not_a_mobile_number")
    address_hash = _keyed(key, f"address:{client_address}")
    if session.get_bind().dialect.name == "postgresql":  # one address's count and insert take turns
        # The two-key form: a key space of its own, apart from the chains' and the scheduler's locks.
        session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:address))"),
                        {"space": NOMINATION_LOCKS, "address": address_hash})
    hour_ago = utcnow() - dt.timedelta(hours=1)
    recent = session.scalar(select(func.count()).select_from(Nomination).where(
        Nomination.address_hash == address_hash, Nomination.created_at > hour_ago))
    if recent >= NOMINATIONS_PER_HOUR:
        raise TooManyAttempts(N_("at most %(n)s nominations an hour from one address; try again later"), 3600,
                              code="too_many_nominations", params={"n": NOMINATIONS_PER_HOUR})
    nomination = Nomination(instrument_id=instrument.id, reason=reason, phone_hash=_keyed(key, f"phone:{phone}"),
                            address_hash=address_hash)
    try:
        with session.begin_nested():
            session.add(nomination)
    except IntegrityError:
        raise Conflict(N_("this phone number has nominated this instrument already: it counts once"),
                       code="nominated_already") from None
    return nomination_count(session, instrument.id)


def nomination_count(session: Session, instrument_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Nomination).where(Nomination.instrument_id == instrument_id))


def nomination_counts(session: Session, limit: int = 100) -> list[dict]:
    """Public: the most nominated instruments, with their entity, and whether a plan took them."""
    count = func.count(Nomination.id)
    rows = session.execute(
        select(RegistryInstrument, RegistryEntity, count, func.max(Nomination.plan_id))
        .join(Nomination, Nomination.instrument_id == RegistryInstrument.id)
        .join(RegistryEntity, RegistryEntity.id == RegistryInstrument.entity_id)
        .group_by(RegistryInstrument.id, RegistryEntity.id).order_by(count.desc(), RegistryInstrument.id).limit(limit))
    return [{"instrument_id": instrument.id, "kind": instrument.kind, "serial_number": instrument.serial_number,
             "description": instrument.description, "entity": entity.name, "credit_code": entity.credit_code,
             "count": n, "plan_id": plan_id} for instrument, entity, n, plan_id in rows]


def instrument_entity(session: Session, instrument: RegistryInstrument) -> RegistryEntity:
    return session.get(RegistryEntity, instrument.entity_id)


def add_nominated_tasks(session: Session, actor: Actor | None, plan_id: int, top: int) -> list[Task]:
    """The `top` most nominated instruments of the plan's kind, not taken yet, enter the drawn plan as
    nominated tasks (marked so); their inspectors are drawn with the plan's seed."""
    actor = require_role(actor, "admin", "inspector")
    plan = get_plan(session, plan_id, lock=True)
    if plan.state != "drawn":
        raise Conflict(N_("plan %(id)s is %(state)s: nominated tasks join a drawn plan"), code="plan_state",
                       params=_plan(plan))
    counts = Counter(dict(session.execute(
        select(Nomination.instrument_id, func.count()).join(RegistryInstrument)
        .where(Nomination.plan_id.is_(None), RegistryInstrument.kind == plan.instrument_kind)
        .group_by(Nomination.instrument_id)).all()))
    pool = _inspector_pool(session, plan)
    tasks = []
    for instrument_id, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        instrument = session.get(RegistryInstrument, instrument_id)
        entity = instrument_entity(session, instrument)
        task = session.scalar(select(Task).where(Task.plan_id == plan.id, Task.entity_id == entity.id))
        if task is None:
            try:
                drawn = domain.draw_inspectors(plan.seed, entity.credit_code, pool, plan.inspectors_per_task,
                                               entity.affiliation)
            except domain.DrawRefused as exc:
                raise Conflict(exc.args[0], code="too_few_inspectors") from None
            task = Task(plan_id=plan.id, entity_id=entity.id, origin="nominated", inspector_ids=drawn.chosen)
            session.add(task)
        if all(ti.instrument_id != instrument_id for ti in task.instruments):
            task.instruments.append(TaskInstrument(instrument_id=instrument_id))
        for nomination in session.scalars(select(Nomination).where(Nomination.instrument_id == instrument_id,
                                                                   Nomination.plan_id.is_(None))):
            nomination.plan_id = plan.id
        tasks.append(task)
    session.flush()
    audit.record(session, actor.id, "plan.nominated_tasks", "spotcheck_plan", plan.id, None,
                 {"instruments": [i for i, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]})
    return tasks


# --- the weekly file for the national enterprise credit publicity system ----------------------------

EXPORT_COLUMNS = ("统一社会信用代码", "企业名称", "抽查计划", "抽查类型", "检查结果", "不合格器具", "办结日期", "公示日期")


def export_week(session: Session, directory: str, today: dt.date | None = None) -> CreditExport | None:
    """The week's published results (Monday to today) as CSV (UTF-8 with BOM) and JSON, keyed by
    credit code; once per ISO week: a second run finds the week's file and writes nothing."""
    today = today or verification.local_today()
    year, week, _ = today.isocalendar()
    label = f"{year}-W{week:02d}"
    if session.scalar(select(CreditExport.id).where(CreditExport.week == label)) is not None:
        return None
    monday = today - dt.timedelta(days=today.weekday())
    rows = [r.content for r in session.scalars(select(PublishedResult).where(
        PublishedResult.published_on >= monday, PublishedResult.published_on <= today).order_by(PublishedResult.id))]
    records = [{"credit_code": c["entity"]["credit_code"], "name": c["entity"]["name"], "plan": c["plan"],
                "origin": c["origin"], "verdict": c["verdict"],
                "failed_instruments": [i["serial_number"] for i in c["instruments"] if i["conclusion"] == "fail"],
                "concluded_on": c["concluded_on"], "published_on": today.isoformat()} for c in rows]
    records.sort(key=lambda r: (r["credit_code"], r["plan"]))
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / f"credit-{label}.csv", folder / f"credit-{label}.json"
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EXPORT_COLUMNS)
    for r in records:
        writer.writerow([r["credit_code"], r["name"], r["plan"], "你点我查" if r["origin"] == "nominated" else "双随机",
                         "合格" if r["verdict"] == "pass" else "不合格", ";".join(r["failed_instruments"]),
                         r["concluded_on"], r["published_on"]])
    export = CreditExport(week=label, csv_path=str(csv_path), json_path=str(json_path), rows=len(records))
    session.add(export)
    session.flush()  # the unique week: a second scheduler's insert fails here, before any file is written
    csv_path.write_text(text.getvalue(), encoding="utf-8-sig")
    json_path.write_text(json.dumps({"week": label, "results": records}, ensure_ascii=False, indent=1),
                         encoding="utf-8")
    return export


# --- what the pages read --------------------------------------------------------------------------

NOMINABLE_KINDS = ("fuel_dispenser", "electricity_meter")
PUBLIC_PAGE_ROWS = 100  # rows of the public results page (a plan and one of its results), newest first


_NEWEST = select(func.max(PublishedResult.id))
_SHOWN = select(*[column for column in Plan.__table__.columns if column.key not in ("snapshot", "selection")],
                _NEWEST.scalar_subquery()).order_by(Plan.id)  # no publication without a plan


def newest_publication(session: Session) -> int:
    """The newest published result's id (0 before the first): it names the whole published set.
    Read beside the session, not in it (see read_outside_transaction): public pages ask each time."""
    return read_outside_transaction(session.get_bind(), _NEWEST)[0][0] or 0


def public_version(session: Session) -> str:
    """What the public results page shows changes only with the plans' own columns (not their
    snapshot or draw, which it does not show) and with a new publication: a key for a rendered page."""
    return repr(read_outside_transaction(session.get_bind(), _SHOWN))


def public_overview(session: Session, page: int = 1, rows: int = PUBLIC_PAGE_ROWS
                    ) -> tuple[list[tuple[Plan, list[PublishedResult]]], bool]:
    """A page of the public results page in one query: plans, newest first, with their published
    results (their content holds the entity, instruments, verdicts, errors and dates, so nothing
    else is read); and whether an older page follows."""
    found = session.execute(select(Plan, PublishedResult).outerjoin(PublishedResult, PublishedResult.plan_id == Plan.id)
                            .order_by(Plan.id.desc(), PublishedResult.id.desc())
                            .limit(rows + 1).offset((page - 1) * rows)).all()
    plans: dict[int, tuple[Plan, list[PublishedResult]]] = {}
    for plan, result in found[:rows]:
        entry = plans.setdefault(plan.id, (plan, []))
        if result is not None:
            entry[1].append(result)
    return list(plans.values()), len(found) > rows


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def nominable_instruments(session: Session, query: str, limit: int = 20) -> list[tuple[RegistryEntity, list]]:
    """你点我查's search (no login): registry entities whose name holds `query` or whose credit code
    starts with it, with the instruments the public may nominate (dispensers' nozzles, meters)."""
    query = query.strip()
    if not query:
        return []
    matches = RegistryEntity.name.like(_like(query), escape="\\")
    if query.isalnum() and query.isascii():  # a credit code, or its beginning
        matches |= RegistryEntity.credit_code.like(query.upper() + "%")
    entities = list(session.scalars(
        select(RegistryEntity).where(matches).order_by(RegistryEntity.name, RegistryEntity.id).limit(limit)))
    instruments: dict[int, list] = {e.id: [] for e in entities}
    if entities:
        for instrument in session.scalars(select(RegistryInstrument).where(
                RegistryInstrument.entity_id.in_(list(instruments)), RegistryInstrument.kind.in_(NOMINABLE_KINDS))
                .order_by(RegistryInstrument.serial_number)):
            instruments[instrument.entity_id].append(instrument)
    return [(e, instruments[e.id]) for e in entities if instruments[e.id]]


def review_page(session: Session, actor: Actor | None, task_instrument_id: int) -> dict:
    """The review page of a task's instrument: the review sheet, the instrument's finished runs that
    may be attached, and who concluded and countersigned."""
    sheet = review_sheet(session, actor, task_instrument_id)
    ti = get_task_instrument(session, task_instrument_id)
    registry_instrument, entity = ti.instrument, ti.task.entity
    runs = list(session.scalars(
        select(Verification).join(VerifiedInstrument, Verification.instrument_id == VerifiedInstrument.id)
        .join(Enterprise, VerifiedInstrument.enterprise_id == Enterprise.id)
        .where(VerifiedInstrument.kind == registry_instrument.kind,
               VerifiedInstrument.serial_number == registry_instrument.serial_number,
               Enterprise.credit_code == entity.credit_code, Verification.state == "done")
        .order_by(Verification.id.desc())))
    inspector_names = dict(session.execute(select(RegistryInspector.id, RegistryInspector.name).where(
        RegistryInspector.id.in_(ti.task.inspector_ids))).all())
    return {"sheet": sheet, "task_instrument": ti, "task": ti.task, "runs": runs,
            "inspectors": [inspector_names.get(i, f"#{i}") for i in ti.task.inspector_ids]}


def list_exports(session: Session, actor: Actor | None) -> list[CreditExport]:
    require_role(actor, "admin")
    return list(session.scalars(select(CreditExport).order_by(CreditExport.id.desc())))


def export_file(session: Session, actor: Actor | None, export_id: int, fmt: str) -> Path:
    """The CSV or JSON file of a week's export, for an administrator to download."""
    require_role(actor, "admin")
    export = session.get(CreditExport, export_id)
    if export is None:
        raise NotFound(N_("no export %(id)s"), code="no_export", params={"id": export_id})
    path = Path(export.csv_path if fmt == "csv" else export.json_path)
    if not path.is_file():
        raise NotFound(N_("the file of %(week)s is no longer at %(path)s"), code="export_file_gone",
                       params={"week": export.week, "path": str(path)})
    return path


def plan_page(session: Session, actor: Actor | None, plan_id: int) -> dict:
    """An organiser's page of a plan: the plan and its witnesses, its tasks with their instruments
    once drawn, the registry inspectors' names, and the most nominated instruments not taken yet."""
    require_role(actor, *REVIEWERS)
    plan = get_plan(session, plan_id)
    tasks = list_tasks(session, actor, plan_id) if plan.state == "drawn" else []
    ids = {i for task in tasks for i in task.inspector_ids}
    names = dict(session.execute(select(RegistryInspector.id, RegistryInspector.name)
                                 .where(RegistryInspector.id.in_(ids))).all()) if ids else {}
    nominated = [n for n in nomination_counts(session) if n["plan_id"] is None and n["kind"] == plan.instrument_kind]
    return {"plan": plan, "tasks": tasks, "inspector_names": names, "nominated": nominated[:10]}
