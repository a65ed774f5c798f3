"""Spot-check use cases: plans, witnesses, the freeze, the reveals and the draw, and the draw's
public record (everything needed to re-run it, and the service's own re-run)."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from labs import audit
from labs.accounts.service import Actor, require_role
from labs.db import utcnow
from labs.errors import Conflict, Invalid, NotFound
from labs.spotchecks import domain
from labs.spotchecks.models import (RISK_LEVELS, Plan, RegistryEntity, RegistryInspector, RegistryInstrument, Task,
                                    TaskInstrument, Witness)

ORGANISERS = ("admin", "inspector")
PLAN_FIELDS = ("name", "instrument_kind", "regions", "entity_kinds", "shares", "inspectors_per_task",
               "instruments_per_entity", "draw_date", "publication_working_days", "previous_plan_id")
SCOPE_FIELDS = {"instrument_kind", "regions", "entity_kinds", "shares", "inspectors_per_task",
                "instruments_per_entity", "previous_plan_id"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MIN_WITNESSES = 2


def _check_plan(data: dict) -> None:
    errors = {}
    shares = data.get("shares")
    if shares is not None:
        if set(shares) - set(RISK_LEVELS):
            errors["shares"] = [f"risk levels are {', '.join(RISK_LEVELS)}"]
        elif not any(Decimal(str(v)) > 0 for v in shares.values()):
            errors["shares"] = ["draw a share of at least one risk level"]
        elif not all(0 <= Decimal(str(v)) <= 1 for v in shares.values()):
            errors["shares"] = ["a share lies between 0 and 1"]
    if data.get("inspectors_per_task", 2) < 2:
        errors["inspectors_per_task"] = ["at least two inspectors check each entity"]
    if errors:
        raise Invalid("invalid plan", errors)


def create_plan(session: Session, actor: Actor | None, data: dict) -> Plan:
    actor = require_role(actor, *ORGANISERS)
    _check_plan(data)
    plan = Plan(**{k: data[k] for k in PLAN_FIELDS if k in data}, created_by=actor.id)
    plan.shares = {level: str(share) for level, share in data["shares"].items()}
    session.add(plan)
    session.flush()
    audit.record(session, actor.id, "plan.create", "spotcheck_plan", plan.id, None, audit.snapshot(plan, PLAN_FIELDS))
    return plan


def get_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"no spot-check plan {plan_id}")
    return plan


def list_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.id.desc())))


def update_plan(session: Session, actor: Actor | None, plan_id: int, changes: dict) -> Plan:
    """The scope may change only while the plan is open: once frozen, its snapshot is published."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id)
    if plan.state != "open" and SCOPE_FIELDS & set(changes):
        raise Conflict(f"plan {plan.id} is {plan.state}: its scope was frozen at {plan.frozen_at.isoformat()} "
                       f"and can no longer change")
    _check_plan(changes)
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
    plan = get_plan(session, plan_id)
    if plan.state != "open":
        raise Conflict(f"plan {plan.id} is {plan.state}: witnesses commit before the scope is frozen")
    commitment = commitment.strip().lower()
    if not HEX64.match(commitment):
        raise Invalid("not a commitment", {"commitment": ["the SHA-256 of the secret, 64 hexadecimal digits"]})
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
    plan = get_plan(session, plan_id)
    if plan.state != "open":
        raise Conflict(f"plan {plan.id} is {plan.state}, not open")
    if len(plan.witnesses) < MIN_WITNESSES:
        raise Conflict(f"at least {MIN_WITNESSES} witnesses commit before the draw; plan {plan.id} has "
                       f"{len(plan.witnesses)}")
    plan.snapshot = _scope(session, plan)
    plan.snapshot_sha256 = domain.snapshot_hash([code for codes in plan.snapshot.values() for code in codes])
    plan.state, plan.frozen_at = "frozen", utcnow()
    audit.record(session, actor.id, "plan.freeze", "spotcheck_plan", plan.id, None,
                 {"snapshot_sha256": plan.snapshot_sha256, "entities": sum(map(len, plan.snapshot.values()))})
    return plan


def reveal(session: Session, actor: Actor | None, plan_id: int, position: int, secret: str) -> Witness:
    """A witness's secret, after the freeze. One that does not match its commitment stops the draw."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id)
    if plan.state != "frozen":
        raise Conflict(f"plan {plan.id} is {plan.state}: secrets are revealed after the freeze, before the draw")
    witness = next((w for w in plan.witnesses if w.position == position), None)
    if witness is None:
        raise NotFound(f"plan {plan.id} has no witness {position}")
    if witness.secret is not None:
        raise Conflict(f"witness {position} has revealed already")
    witness.secret, witness.revealed_at = secret, utcnow()
    if domain.commitment(secret) != witness.commitment:
        plan.state = "stopped"
        audit.record(session, actor.id, "plan.stopped", "spotcheck_plan", plan.id, None,
                     {"witness": position, "why": "the revealed secret does not match the commitment"})
        raise Conflict(f"witness {position}'s secret does not match the commitment {witness.commitment}: "
                       f"the draw of plan {plan.id} stops")
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


DRAWN_CHUNK = 2000  # credit codes (entity ids) per IN list


def _drawn_registry(session: Session, instrument_kind: str, codes: list[str]
                    ) -> tuple[dict[str, tuple[int, str, str]], dict[int, dict[str, int]]]:
    """The drawn entities (credit code -> id, name, affiliation) and their instruments of the plan's
    kind (entity id -> serial -> instrument id), read in a few set-based queries."""
    entities: dict[str, tuple[int, str, str]] = {}
    for start in range(0, len(codes), DRAWN_CHUNK):
        for entity_id, code, name, affiliation in session.execute(
                select(RegistryEntity.id, RegistryEntity.credit_code, RegistryEntity.name, RegistryEntity.affiliation)
                .where(RegistryEntity.credit_code.in_(codes[start:start + DRAWN_CHUNK]))):
            entities[code] = (entity_id, name, affiliation)
    missing = [code for code in codes if code not in entities]
    if missing:
        raise Conflict(f"{len(missing)} entities of the frozen scope are no longer in the registry "
                       f"(for example {missing[0]})")
    ids = [entity_id for entity_id, _, _ in entities.values()]
    serials_of: dict[int, dict[str, int]] = {}
    for start in range(0, len(ids), DRAWN_CHUNK):
        for instrument_id, entity_id, serial in session.execute(
                select(RegistryInstrument.id, RegistryInstrument.entity_id, RegistryInstrument.serial_number)
                .where(RegistryInstrument.entity_id.in_(ids[start:start + DRAWN_CHUNK]),
                       RegistryInstrument.kind == instrument_kind)):
            serials_of.setdefault(entity_id, {})[serial] = instrument_id
    return entities, serials_of


def draw(session: Session, actor: Actor | None, plan_id: int) -> Plan:
    """Form the seed from the reveals, draw entities, instruments and inspectors, and make the tasks.
    Everything a re-run needs is kept in the plan's selection (the candidates of each step)."""
    actor = require_role(actor, *ORGANISERS)
    plan = get_plan(session, plan_id)
    if plan.state != "frozen":
        raise Conflict(f"plan {plan.id} is {plan.state}: the draw follows the freeze and the reveals")
    missing = [w.position for w in plan.witnesses if w.secret is None]
    if missing:
        raise Conflict(f"witnesses {', '.join(map(str, missing))} have not revealed their secrets")
    seed = domain.seed_from_reveals([w.commitment for w in plan.witnesses], [w.secret for w in plan.witnesses])
    shares = {level: Decimal(share) for level, share in plan.shares.items()}
    drawn = domain.draw_entities(seed, plan.snapshot, shares)
    pool = _inspector_pool(session, plan)
    entities, serials_of = _drawn_registry(session, plan.instrument_kind,
                                           [code for codes in drawn.values() for code in codes])
    tasks, rows, chosen_instruments = [], [], []
    for level, codes in drawn.items():
        for code in codes:
            entity_id, name, affiliation = entities[code]
            instruments = serials_of.get(entity_id, {})
            serials = domain.draw_instruments(seed, code, list(instruments), plan.instruments_per_entity)
            try:
                inspectors = domain.draw_inspectors(seed, code, pool, plan.inspectors_per_task, affiliation)
            except domain.DrawRefused as exc:
                raise Conflict(str(exc)) from None
            rows.append({"plan_id": plan.id, "entity_id": entity_id, "origin": "drawn",
                         "inspector_ids": inspectors.chosen})
            chosen_instruments.append([instruments[s] for s in serials])
            tasks.append({"risk_level": level, "credit_code": code, "name": name,
                          "candidate_serials": sorted(instruments), "instruments": serials,
                          "inspector_pool": [{"id": i.id, "recused": domain.recusal(i, code, affiliation)}
                                             for i in pool],
                          "inspectors": inspectors.chosen,
                          "skipped": [{"id": i, "why": why} for i, why in inspectors.skipped]})
    # The tasks and their instruments in two set-based statements (ids returned in the rows' order).
    if rows:
        task_ids = session.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True), rows).all()
        task_instruments = [{"task_id": task_id, "instrument_id": instrument_id}
                            for task_id, ids in zip(task_ids, chosen_instruments) for instrument_id in ids]
        if task_instruments:
            session.execute(insert(TaskInstrument), task_instruments)
    plan.seed, plan.selection = seed, {"entities": drawn, "tasks": tasks}
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
        raise Conflict(f"plan {plan_id} has not been drawn")
    checks = {}
    codes = [code for level in record["snapshot"].values() for code in level]
    checks["snapshot_sha256"] = domain.snapshot_hash(codes) == record["snapshot_sha256"]
    seed = domain.seed_from_reveals([w["commitment"] for w in record["witnesses"]],
                                    [w["secret"] for w in record["witnesses"]])
    checks["seed"] = seed == record["seed"]
    shares = {level: Decimal(share) for level, share in record["shares"].items()}
    checks["entities"] = domain.draw_entities(seed, record["snapshot"], shares) == record["selection"]["entities"]
    checks["tasks"] = all(
        domain.draw_instruments(seed, t["credit_code"], t["candidate_serials"], record["instruments_per_entity"])
        == t["instruments"] and [i for i in _rerun_inspectors(seed, t, record["inspectors_per_task"])] == t["inspectors"]
        for t in record["selection"]["tasks"])
    return {"plan": plan_id, "confirmed": all(checks.values()), "checks": checks}


def _rerun_inspectors(seed: str, task: dict, count: int) -> list[int]:
    recused = {i["id"]: i["recused"] for i in task["inspector_pool"]}
    chosen = []
    for message in domain.order(seed, sorted(f"{task['credit_code']}#{i}" for i in recused)):
        inspector_id = int(message.rsplit("#", 1)[1])
        if len(chosen) < count and not recused[inspector_id]:
            chosen.append(inspector_id)
    return chosen
