"""Spot-check use cases: plans, witnesses, the freeze, the reveals and the draw, and the draw's
public record (everything needed to re-run it, and the service's own re-run)."""
from __future__ import annotations

import json
import re
from decimal import Decimal

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from labs import audit
from labs.accounts.service import Actor, require_role
from labs.db import utcnow
from labs.errors import Conflict, Invalid, NotFound
from labs.i18n import N_
from labs.spotchecks import domain, registry
from labs.spotchecks.models import (RISK_LEVELS, Plan, RegistryEntity, RegistryInspector, RegistryInstrument, Task,
                                    TaskInstrument, Witness)

ORGANISERS = ("admin", "inspector")
PLAN_FIELDS = ("name", "instrument_kind", "regions", "entity_kinds", "shares", "inspectors_per_task",
               "instruments_per_entity", "draw_date", "publication_working_days", "previous_plan_id")
SCOPE_FIELDS = {"instrument_kind", "regions", "entity_kinds", "shares", "inspectors_per_task",
                "instruments_per_entity", "previous_plan_id"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MIN_WITNESSES = 2
DRAW_WRITE_BATCH = 2_000  # tasks a batch: small enough that the last batch's writing is short
PLAN_STATE_NAMES = {"open": N_("open"), "frozen": N_("frozen"), "drawn": N_("drawn"), "stopped": N_("stopped")}


def _plan(plan: Plan) -> dict:
    """A plan's params in messages: its number and its state by name."""
    return {"id": plan.id, "state": PLAN_STATE_NAMES.get(plan.state, plan.state)}


def _check_plan(session: Session, data: dict, plan_id: int | None = None) -> None:
    errors = {}
    previous = data.get("previous_plan_id")
    # An earlier plan: the last round whose checks recuse inspectors (a later one could form a cycle).
    if previous is not None and (plan_id is not None and previous >= plan_id or session.get(Plan, previous) is None):
        errors["previous_plan_id"] = [N_("no earlier spot-check plan %(id)s") % {"id": previous}]
    shares = data.get("shares")
    if shares is not None:
        if set(shares) - set(RISK_LEVELS):
            errors["shares"] = [N_("risk levels are %(levels)s") % {"levels": ", ".join(RISK_LEVELS)}]
        elif not any(Decimal(str(v)) > 0 for v in shares.values()):
            errors["shares"] = [N_("draw a share of at least one risk level")]
        elif not all(0 <= Decimal(str(v)) <= 1 for v in shares.values()):
            errors["shares"] = [N_("a share lies between 0 and 1")]
    if data.get("inspectors_per_task", 2) < 2:
        errors["inspectors_per_task"] = [N_("at least two inspectors check each entity")]
    if errors:
        raise Invalid(N_("invalid plan"), errors, code="invalid_plan")


def create_plan(session: Session, actor: Actor | None, data: dict) -> Plan:
    actor = require_role(actor, *ORGANISERS)
    _check_plan(session, data)
    plan = Plan(**{k: data[k] for k in PLAN_FIELDS if k in data}, created_by=actor.id)
    plan.shares = {level: str(share) for level, share in data["shares"].items()}
    session.add(plan)
    session.flush()
    audit.record(session, actor.id, "plan.create", "spotcheck_plan", plan.id, None, audit.snapshot(plan, PLAN_FIELDS))
    return plan


def get_plan(session: Session, plan_id: int, lock: bool = False) -> Plan:
    """lock: for a change to the plan (its witnesses, its state). On PostgreSQL the row is locked
    (FOR NO KEY UPDATE: rows that merely point at the plan, its results or a later plan, are not held
    up), so two such requests take turns instead of both reading the same state; SQLite's writers
    take turns anyway (BEGIN IMMEDIATE)."""
    plan = (session.get(Plan, plan_id, with_for_update={"key_share": True}, populate_existing=True) if lock
            else session.get(Plan, plan_id))
    if plan is None:
        raise NotFound(N_("no spot-check plan %(id)s"), code="no_plan", params={"id": plan_id})
    return plan


def list_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.id.desc())))


def update_plan(session: Session, actor: Actor | None, plan_id: int, changes: dict) -> Plan:
    """The scope may change only while the plan is open: once frozen, its snapshot is published."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id, lock=True)
    if plan.state != "open" and SCOPE_FIELDS & set(changes):
        raise Conflict(N_("plan %(id)s is %(state)s: its scope was frozen at %(at)s and can no longer change"),
                       code="plan_frozen", params={**_plan(plan), "at": plan.frozen_at})
    _check_plan(session, changes, plan.id)
    before = audit.snapshot(plan, PLAN_FIELDS)
    for name in PLAN_FIELDS:
        if name in changes:
            setattr(plan, name, changes[name])
    if "shares" in changes:
        plan.shares = {level: str(share) for level, share in changes["shares"].items()}
    audit.record(session, actor.id, "plan.update", "spotcheck_plan", plan.id, before, audit.snapshot(plan, PLAN_FIELDS))
    return plan


def add_witness(session: Session, actor: Actor | None, plan_id: int, name: str, commitment: str) -> Witness:
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id, lock=True)
    if plan.state != "open":
        raise Conflict(N_("plan %(id)s is %(state)s: witnesses commit before the scope is frozen"),
                       code="plan_state", params=_plan(plan))
    commitment = commitment.strip().lower()
    if not HEX64.fullmatch(commitment):
        raise Invalid(N_("not a commitment"), {"commitment": [N_("the SHA-256 of the secret, 64 hexadecimal digits")]},
                      code="not_a_commitment")
    witness = Witness(plan_id=plan.id, position=len(plan.witnesses) + 1, name=name, commitment=commitment)
    plan.witnesses.append(witness)
    session.flush()
    audit.record(session, actor.id, "plan.witness", "spotcheck_plan", plan.id, None,
                 {"position": witness.position, "name": name, "commitment": commitment})
    return witness


def _scope(session: Session, plan: Plan) -> dict[str, list[str]]:
    """The sorted credit codes in scope, per risk level drawn: entities of the plan's regions and
    kinds holding at least one instrument of the plan's kind."""
    levels = [level for level, share in plan.shares.items() if Decimal(share) > 0]
    has_instrument = exists().where(RegistryInstrument.entity_id == RegistryEntity.id,
                                    RegistryInstrument.kind == plan.instrument_kind)
    rows = session.execute(select(RegistryEntity.risk_level, RegistryEntity.credit_code).where(
        RegistryEntity.region.in_(plan.regions), RegistryEntity.kind.in_(plan.entity_kinds),
        RegistryEntity.risk_level.in_(levels), has_instrument).order_by(RegistryEntity.credit_code))
    scope: dict[str, list[str]] = {level: [] for level in sorted(levels)}
    for level, code in rows:
        scope[level].append(code)
    return scope


def freeze(session: Session, actor: Actor | None, plan_id: int) -> Plan:
    """Take the scope's snapshot and publish its hash; from now on the scope cannot change, and
    only now may the witnesses reveal their secrets."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id, lock=True)
    if plan.state != "open":
        raise Conflict(N_("plan %(id)s is %(state)s, not open"), code="plan_state", params=_plan(plan))
    if len(plan.witnesses) < MIN_WITNESSES:
        raise Conflict(N_("at least %(n)s witnesses commit before the draw; plan %(id)s has %(has)s"),
                       code="too_few_witnesses", params={"n": MIN_WITNESSES, "id": plan.id, "has": len(plan.witnesses)})
    plan.snapshot = _scope(session, plan)
    plan.snapshot_sha256 = domain.snapshot_hash([code for codes in plan.snapshot.values() for code in codes])
    plan.state, plan.frozen_at = "frozen", utcnow()
    audit.record(session, actor.id, "plan.freeze", "spotcheck_plan", plan.id, None,
                 {"snapshot_sha256": plan.snapshot_sha256, "entities": sum(map(len, plan.snapshot.values()))})
    return plan


def reveal(session: Session, actor: Actor | None, plan_id: int, position: int, secret: str) -> Witness:
    """A witness's secret, after the freeze. One that does not match its commitment stops the draw."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id, lock=True)
    if plan.state != "frozen":
        raise Conflict(N_("plan %(id)s is %(state)s: secrets are revealed after the freeze, before the draw"),
                       code="plan_state", params=_plan(plan))
    witness = next((w for w in plan.witnesses if w.position == position), None)
    if witness is None:
        raise NotFound(N_("plan %(id)s has no witness %(position)s"), code="no_witness",
                       params={"id": plan.id, "position": position})
    if witness.secret is not None:
        raise Conflict(N_("witness %(position)s has revealed already"), code="revealed_already",
                       params={"position": position})
    witness.secret, witness.revealed_at = secret, utcnow()
    if domain.commitment(secret) != witness.commitment:
        plan.state = "stopped"
        audit.record(session, actor.id, "plan.stopped", "spotcheck_plan", plan.id, None,
                     {"witness": position, "why": "the revealed secret does not match the commitment"})
        raise Conflict(N_("witness %(position)s's secret does not match the commitment %(commitment)s: the draw of "
                          "plan %(id)s stops"), code="secret_mismatch",
                       params={"position": position, "commitment": witness.commitment, "id": plan.id})
    audit.record(session, actor.id, "plan.reveal", "spotcheck_plan", plan.id, None, {"witness": position})
    return witness


def _inspector_pool(session: Session, plan: Plan) -> list[domain.Inspector]:
    last_round: dict[int, set[str]] = {}
    if plan.previous_plan_id:
        for task in session.scalars(select(Task).where(Task.plan_id == plan.previous_plan_id)):
            for inspector_id in task.inspector_ids:
                last_round.setdefault(inspector_id, set()).add(task.entity.credit_code)
    return [domain.Inspector(i.id, i.affiliation, frozenset(i.conflicts or ()), frozenset(last_round.get(i.id, ())))
            for i in session.scalars(select(RegistryInspector).order_by(RegistryInspector.id))
            if plan.instrument_kind in (i.qualifications or ())]


def _drawn_registry(session: Session, instrument_kind: str, codes: list[str]
                    ) -> tuple[dict[str, tuple[int, str, str]], dict[int, dict[str, int]]]:
    """The drawn entities (credit code -> id, name, affiliation) and their instruments of the plan's
    kind (entity id -> serial -> instrument id), in two queries however many were drawn."""
    where, params = registry.in_list(session, "credit_code", codes)
    entities = {code: (entity_id, name, affiliation) for entity_id, code, name, affiliation in session.execute(
        text(f"SELECT id, credit_code, name, affiliation FROM registry_entities WHERE {where}"), params)}
    missing = [code for code in codes if code not in entities]
    if missing:
        raise Conflict(N_("%(n)s entities of the frozen scope are no longer in the registry (for example %(example)s)"),
                       code="scope_changed", params={"n": len(missing), "example": missing[0]})
    where, params = registry.in_list(session, "entity_id", [entity_id for entity_id, _, _ in entities.values()])
    serials_of: dict[int, dict[str, int]] = {}
    for instrument_id, entity_id, serial in session.execute(
            text(f"SELECT id, entity_id, serial_number FROM registry_instruments WHERE {where} AND kind = :kind"),
            {**params, "kind": instrument_kind}):
        serials_of.setdefault(entity_id, {})[serial] = instrument_id
    return entities, serials_of


def draw(session: Session, actor: Actor | None, plan_id: int) -> Plan:
    """Form the seed from the reveals, draw entities, instruments and inspectors, and make the tasks.
    Everything a re-run needs is kept in the plan's selection (the candidates of each step)."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id, lock=True)
    if plan.state != "frozen":
        raise Conflict(N_("plan %(id)s is %(state)s: the draw follows the freeze and the reveals"),
                       code="plan_state", params=_plan(plan))
    missing = [w.position for w in plan.witnesses if w.secret is None]
    if missing:
        raise Conflict(N_("witnesses %(positions)s have not revealed their secrets"), code="secrets_missing",
                       params={"positions": ", ".join(map(str, missing))})
    seed = domain.seed_from_reveals([w.commitment for w in plan.witnesses], [w.secret for w in plan.witnesses])
    shares = {level: Decimal(share) for level, share in plan.shares.items()}
    drawn = domain.draw_entities(seed, plan.snapshot, shares)
    pool = _inspector_pool(session, plan)
    entities, serials_of = _drawn_registry(session, plan.instrument_kind,
                                           [code for codes in drawn.values() for code in codes])
    # The tasks and their instruments are written a batch at a time while the next batch is drawn
    # (see registry.BackgroundWriter), in set-based statements (the ORM's bulk path costs more than
    # the draw itself at a province's scale), with ids allocated first so a task's instruments can
    # name it at once.
    task_ids = iter(registry.allocate_ids(session, Task.__tablename__, sum(map(len, drawn.values()))))
    # Read before the writer starts: nothing in the loop may reach the session (a lazy load would
    # share the connection with the writer's thread).
    per_entity, per_task = plan.instruments_per_entity, plan.inspectors_per_task
    tasks, task_rows, instrument_rows = [], [], []
    with registry.BackgroundWriter(session, {
            Task.__tablename__: ("id", "plan_id", "entity_id", "origin", "inspector_ids"),
            TaskInstrument.__tablename__: ("task_id", "instrument_id", "conclusion_note", "out_of_use")}) as writer:
        for level, codes in drawn.items():
            for code in codes:
                entity_id, name, affiliation = entities[code]
                instruments = serials_of.get(entity_id, {})
                serials = domain.draw_instruments(seed, code, list(instruments), per_entity)
                try:
                    inspectors = domain.draw_inspectors(seed, code, pool, per_task, affiliation)
                except domain.DrawRefused as exc:
                    raise Conflict(exc.args[0], code="too_few_inspectors") from None
                task_id = next(task_ids)
                task_rows.append((task_id, plan_id, entity_id, "drawn", json.dumps(inspectors.chosen)))
                instrument_rows += [(task_id, instruments[serial], "", False) for serial in serials]
                tasks.append({"risk_level": level, "credit_code": code, "name": name,
                              "candidate_serials": sorted(instruments), "instruments": serials,
                              "inspectors": inspectors.chosen,
                              "skipped": [{"id": i, "why": why} for i, why in inspectors.skipped]})
                if len(task_rows) == DRAW_WRITE_BATCH:
                    writer.write({Task.__tablename__: task_rows, TaskInstrument.__tablename__: instrument_rows})
                    task_rows, instrument_rows = [], []
        writer.write({Task.__tablename__: task_rows, TaskInstrument.__tablename__: instrument_rows})
    plan.seed = seed
    plan.selection = {"entities": drawn, "inspector_pool": [i.id for i in pool], "tasks": tasks}
    plan.state, plan.drawn_at = "drawn", utcnow()
    audit.record(session, actor.id, "plan.draw", "spotcheck_plan", plan.id, None,
                 {"seed": seed, "tasks": len(tasks)})
    return plan


def public_draw(session: Session, plan_id: int) -> dict:
    """What anyone may read of a plan's draw: the rules, the witnesses, the snapshot and its hash, the
    seed and the selection in order, with the candidates of each step."""
    plan = get_plan(session, plan_id)
    revealed = plan.state in ("drawn", "stopped")
    return {
        "plan": plan.id, "name": plan.name, "state": plan.state, "algorithm": domain.ALGORITHM,
        "algorithm_version": domain.ALGORITHM_VERSION, "rules": domain.RULES,
        "instrument_kind": plan.instrument_kind, "shares": plan.shares,
        "instruments_per_entity": plan.instruments_per_entity, "inspectors_per_task": plan.inspectors_per_task,
        "witnesses": [{"position": w.position, "name": w.name, "commitment": w.commitment,
                       "secret": w.secret if revealed else None} for w in plan.witnesses],
        "snapshot_sha256": plan.snapshot_sha256, "snapshot": plan.snapshot, "seed": plan.seed,
        "selection": plan.selection, "frozen_at": plan.frozen_at, "drawn_at": plan.drawn_at,
    }


def confirm_draw(session: Session, plan_id: int) -> dict:
    """The service's own re-run of a published draw from its public record alone."""
    record = public_draw(session, plan_id)
    if record["state"] != "drawn":
        raise Conflict(N_("plan %(id)s has not been drawn"), code="plan_not_drawn", params={"id": plan_id})
    checks = {}
    codes = [code for level in record["snapshot"].values() for code in level]
    checks["snapshot_sha256"] = domain.snapshot_hash(codes) == record["snapshot_sha256"]
    seed = domain.seed_from_reveals([w["commitment"] for w in record["witnesses"]],
                                    [w["secret"] for w in record["witnesses"]])
    checks["seed"] = seed == record["seed"]
    shares = {level: Decimal(share) for level, share in record["shares"].items()}
    checks["entities"] = domain.draw_entities(seed, record["snapshot"], shares) == record["selection"]["entities"]
    pool = record["selection"]["inspector_pool"]
    checks["tasks"] = all(
        domain.draw_instruments(seed, t["credit_code"], t["candidate_serials"], record["instruments_per_entity"])
        == t["instruments"]
        and domain.rerun_inspectors(seed, t["credit_code"], pool, [s["id"] for s in t["skipped"]],
                                    record["inspectors_per_task"]) == t["inspectors"]
        for t in record["selection"]["tasks"])
    return {"plan": plan_id, "confirmed": all(checks.values()), "checks": checks}

