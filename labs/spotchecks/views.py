"""The registry pages: upload a CSV file of entities, instruments or inspectors, and follow its
import (a progress bar fed by status.json) to its counts or its report of bad rows.

The upload becomes a job row that `labs scheduler` imports: a province's file takes minutes,
longer than a web worker may hold a request, and the row (file, progress, report) is seen by
every worker on every host. Administrators and inspectors only.

The spot-check pages: the public results, each draw's record with the service's re-run of it and
你点我查 (no login); plans with their witnesses, freeze, reveals, draw and nominated tasks, and the
review of a task's instrument (a Chart.js chart, vendored under static/vendor/) for administrators
and inspectors; the Friday files for administrators.
"""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation

from flask import (Blueprint, abort, current_app, flash, jsonify, make_response, redirect, render_template, request,
                   send_file, session, url_for)
from flask_babel import get_locale, gettext as _, lazy_gettext

from labs.accounts.auth import current_user
from labs.accounts.service import require_role
from labs.db import get_session
from labs.errors import Conflict, DomainError, TooManyAttempts
from labs.i18n import render
from labs.spotchecks import registry, results, schemas, service
from labs.web.common import commit_button, commit_form, domain_error_page, read_form

blp = Blueprint("spotchecks", __name__, template_folder="templates", static_folder="static",
                static_url_path="/spotchecks/static")
blp.register_error_handler(DomainError, domain_error_page)

UPLOAD_LIMIT_BYTES = 64 * 1024 * 1024  # about 600,000 entities; larger files: labs spotcheck import
REGISTRY = {"entities": lazy_gettext("entities"), "instruments": lazy_gettext("instruments"),
            "inspectors": lazy_gettext("inspectors")}
IMPORT_STATE = {"queued": lazy_gettext("waiting for the importer"), "running": lazy_gettext("importing"),
                "done": lazy_gettext("imported"), "refused": lazy_gettext("refused: nothing was imported"),
                "failed": lazy_gettext("failed: nothing was imported")}
PHASE = {"validating": lazy_gettext("checking every row"), "writing": lazy_gettext("writing")}


def reason_text(row: list) -> str:
    """A stored report row ([line, reason, field, value, detail]) in the page's language."""
    return render(registry.Rejection(*row).message())


@blp.context_processor
def _spotcheck_context():
    return {"REGISTRY": REGISTRY, "IMPORT_STATE": IMPORT_STATE, "PHASE": PHASE, "reason_text": reason_text,
            "COLUMNS": registry.COLUMNS, "UPLOAD_LIMIT_MB": UPLOAD_LIMIT_BYTES // 1024 // 1024}


@blp.url_value_preprocessor
def _allow_uploads(endpoint, _values):
    # Only the upload form takes a body this large; every other request keeps the app's limit. Set
    # here, since URL value preprocessors run before every before_request function (one of which
    # reads the form).
    if endpoint == "spotchecks.upload" and request.method == "POST":
        request.max_content_length = UPLOAD_LIMIT_BYTES


@blp.route("/spotchecks/registry/imports", methods=["GET", "POST"], endpoint="upload")
def upload():
    db, actor = get_session(), current_user()
    require_role(actor, *registry.IMPORTERS)
    errors: dict[str, list[str]] = {}
    kind = request.form.get("kind", "entities")
    if request.method == "POST":
        file = request.files.get("file")
        if file is None or not file.filename:
            errors["file"] = [_("Choose a CSV file.")]
        else:
            content = file.read()
            job, errors, _conflict = commit_form(
                lambda: registry.queue_import(db, actor, kind, file.filename, content), "file")
            if job is not None:
                return redirect(url_for("spotchecks.progress", import_id=job.id), 303)
    return render_template("spotchecks/upload.html", errors=errors, kind=kind,
                           imports=registry.recent_imports(db, actor)), (422 if errors else 200)


@blp.get("/spotchecks/registry/imports/<int:import_id>", endpoint="progress")
def progress(import_id: int):
    job = registry.get_import(get_session(), current_user(), import_id)
    return render_template("spotchecks/import.html", job=job)


def _percent(job) -> int:
    if job.state in ("done", "refused"):
        return 100
    if job.state != "running" or not job.size_bytes:
        return 0
    # Checking the rows is the first half of the bar, writing them the second.
    share = min(1.0, job.bytes_done / job.size_bytes)
    return int(50 * share) + (50 if job.phase == "writing" else 0)


@blp.get("/spotchecks/registry/imports/<int:import_id>/status.json", endpoint="status")
def status(import_id: int):
    job = registry.get_import(get_session(), current_user(), import_id)
    return jsonify({"id": job.id, "state": job.state, "state_text": str(IMPORT_STATE[job.state]),
                    "phase": job.phase, "phase_text": str(PHASE.get(job.phase, "")), "percent": _percent(job),
                    "rows": job.rows_done, "added": job.added, "updated": job.updated, "rejected": job.rejected,
                    "finished": job.state in ("done", "refused", "failed")})


# --- spot-check pages: the public results, the draw's record and 你点我查; plans, tasks and the review ---
# Public pages need no login; plans, tasks and the review are for administrators and inspectors (the
# services check), the Friday files for administrators.

PLAN_STATE = {"open": lazy_gettext("open: witnesses commit"), "frozen": lazy_gettext("scope frozen: secrets revealed"),
              "drawn": lazy_gettext("drawn"), "stopped": lazy_gettext("stopped: a secret did not match")}
ORIGIN = {"drawn": lazy_gettext("drawn by lot"), "nominated": lazy_gettext("nominated by the public")}
RISK = {"high": lazy_gettext("high risk"), "medium": lazy_gettext("medium risk"), "low": lazy_gettext("low risk")}
ENTITY_KIND = {"fuel_station": lazy_gettext("fuel station"), "taxi_company": lazy_gettext("taxi company"),
               "power_supplier": lazy_gettext("power supplier")}
INSTRUMENT_KIND = {"fuel_dispenser": lazy_gettext("fuel dispenser"),
                   "electricity_meter": lazy_gettext("electricity meter"), "taxi_meter": lazy_gettext("taxi meter")}
VERDICT = {"pass": lazy_gettext("pass"), "fail": lazy_gettext("fail")}
RECUSAL = {"declared conflict": lazy_gettext("declared conflict"), "same affiliation": lazy_gettext("same affiliation"),
           "checked the same entity last round": lazy_gettext("checked the same entity last round")}
CHECKS = {"snapshot_sha256": lazy_gettext("the snapshot's SHA-256"),
          "seed": lazy_gettext("the seed from the revealed secrets"),
          "entities": lazy_gettext("the entities drawn"), "tasks": lazy_gettext("the instruments and inspectors drawn")}
PLAN_HINTS = {
    "name": lazy_gettext("A name of 1 to 200 characters."),
    "instrument_kind": lazy_gettext("Choose a kind of instrument."),
    "regions": lazy_gettext("Region codes of six digits (GB/T 2260), separated by commas."),
    "entity_kinds": lazy_gettext("Choose at least one kind of entity."),
    "shares": lazy_gettext("Shares are percentages from 0 to 100; draw at least one risk level."),
    "inspectors_per_task": lazy_gettext("At least two inspectors check each entity (at most 10)."),
    "instruments_per_entity": lazy_gettext("From 1 to 100 instruments at each entity."),
    "draw_date": lazy_gettext("A date (YYYY-MM-DD)."),
    "publication_working_days": lazy_gettext("From 1 to 60 working days (the rule is 20)."),
}
NOMINATION_HINTS = {
    "instrument_id": lazy_gettext("Search for the station or household and choose one of its instruments."),
    "reason": lazy_gettext("Say in 2 to 500 characters why it should be checked."),
    "phone": lazy_gettext("An 11-digit mainland mobile number."),
}
REVIEW_HINTS = {"conclusion": lazy_gettext("Choose pass or fail."),
                "note": lazy_gettext("At most 1000 characters.")}
ATTACH_HINTS = {"verification_id": lazy_gettext("Choose a finished run of this instrument.")}
WITNESS_HINTS = {"name": lazy_gettext("The witness's name or office, up to 100 characters."),
                 "commitment": lazy_gettext("The SHA-256 of the secret: 64 hexadecimal digits.")}


@blp.context_processor
def _spotcheck_pages_context():
    return {"PLAN_STATE": PLAN_STATE, "ORIGIN": ORIGIN, "RISK": RISK, "ENTITY_KIND": ENTITY_KIND,
            "INSTRUMENT_KIND": INSTRUMENT_KIND, "VERDICT": VERDICT, "RECUSAL": RECUSAL, "CHECKS": CHECKS,
            "pct": _pct, "ti_state": _ti_state}


def _pct(value) -> str:
    if value is None or value == "":
        return "—"
    number = Decimal(f"{value:.3f}" if isinstance(value, float) else str(value))  # a reading's error: 3 places
    return f"{number:+}" if number != 0 else f"{number}"


def _ti_state(ti) -> str:
    if ti.countersigned_at is not None:
        return _("countersigned")
    if ti.conclusion is not None:
        return _("concluded, waiting for the countersignature")
    if ti.verification_id is not None:
        return _("run attached, waiting for the review")
    return _("waiting for a verification run")


def _hinted(errors: dict[str, list[str]], hints: dict) -> dict[str, list[str]]:
    """The schemas' and services' messages are English; a form shows each field's hint instead."""
    required, out = _("This field is required."), {}
    for field, messages in errors.items():
        name = field.split(".")[0]  # a list's item ("regions.0") is its field's error
        out[name] = messages if messages == [required] or name not in hints else [str(hints[name])]
    return out


# Rendered public results pages, per worker: what the public floods after a publication is rendered
# once per change of what it shows (the plans' own columns, a new publication), language and query,
# and kept encoded with its ETag, so a repeat costs neither rendering nor hashing.
_PUBLIC_PAGES: dict[tuple, tuple[bytes, str]] = {}
_PUBLIC_PAGES_KEPT = 32
_LAST_PAGE = 10_000


@blp.get("/spotchecks", endpoint="public_results")
def public_results():
    """Plans and published results (一公开), no login, a page at a time. Cacheable: the ETag is the
    page's hash, so a conditional request that matches answers 304 (caches keep it a minute)."""
    page = request.args.get("page", "1")
    if not page.isascii() or not page.isdigit() or not 1 <= int(page) <= _LAST_PAGE:
        abort(400, _("The page must be a number from 1 to %(last)s.", last=_LAST_PAGE))
    db = get_session()
    # A signed-in visitor's page names them, and pending flash messages belong to one visitor only.
    shared = current_user() is None and not session.get("_flashes")
    key = (results.public_version(db), str(get_locale()), request.query_string) if shared else None
    answer = _PUBLIC_PAGES.get(key) if key else None
    if answer is None:
        overview, older = results.public_overview(db, int(page))
        body = render_template("spotchecks/public_results.html", overview=overview, page=int(page),
                               older=older).encode()
        answer = (body, hashlib.sha1(body).hexdigest())
        if key:
            if len(_PUBLIC_PAGES) >= _PUBLIC_PAGES_KEPT:
                _PUBLIC_PAGES.clear()
            _PUBLIC_PAGES[key] = answer
    response = make_response(answer[0])
    response.set_etag(answer[1])
    if not session.modified:  # a language chosen just now sets a cookie: that answer is no one else's
        response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Cookie")
    return response.make_conditional(request)


@blp.get("/spotchecks/plans/<int:plan_id>/draw", endpoint="draw_record")
def draw_record(plan_id: int):
    """The draw as published, with the service's own re-run of it from the record alone."""
    db = get_session()
    record = service.public_draw(db, plan_id)
    confirmation = service.confirm_draw(db, plan_id) if record["state"] == "drawn" else None
    return render_template("spotchecks/draw.html", record=record, confirmation=confirmation)


@blp.route("/spotchecks/nominate", methods=["GET", "POST"], endpoint="nominate")
def nominate():
    """你点我查, no login: find a station or household by name or credit code, choose its instrument,
    say why; the phone number is kept only as a keyed hash, so one person counts once."""
    db = get_session()
    query = (request.values.get("q") or "").strip()[:100]
    errors: dict[str, list[str]] = {}
    status, conflict = 200, None
    if request.method == "POST":
        fields, errors = read_form(schemas.NominationIn(), {k: request.form.get(k, "").strip()
                                                            for k in ("instrument_id", "reason", "phone")})
        if not errors:
            try:
                count, errors, conflict = commit_form(lambda: results.nominate(
                    db, current_app.config["SECRET_KEY"], fields["instrument_id"], fields["reason"], fields["phone"],
                    request.remote_addr or ""), "phone")
            except TooManyAttempts as exc:
                db.rollback()
                response = make_response(render_template(
                    "spotchecks/nominate.html", query=query, found=results.nominable_instruments(db, query),
                    form=request.form, errors={}, too_many=True), 429)
                response.headers["Retry-After"] = str(exc.retry_after)
                return response
            if conflict is not None:
                errors = {"phone": [_("This phone number has nominated this instrument already: it counts once.")]}
            elif not errors:
                flash(_("Thank you. This instrument now has %(count)s nominations.", count=count), "info")
                return redirect(url_for("spotchecks.nominations"), 303)
        if conflict is None:  # the hints explain what a field takes; a repeat nomination is not that
            errors = _hinted(errors, NOMINATION_HINTS)
        status = 422
    return render_template("spotchecks/nominate.html", query=query, found=results.nominable_instruments(db, query),
                           form=request.form, errors=errors, too_many=False), status


@blp.get("/spotchecks/nominations", endpoint="nominations")
def nominations():
    return render_template("spotchecks/nominations.html", counts=results.nomination_counts(get_session()))


# --- plans (administrators and inspectors) ---------------------------------------------------------------

PLAN_FORM_FIELDS = ("name", "instrument_kind", "regions", "inspectors_per_task", "instruments_per_entity",
                    "draw_date", "publication_working_days")


def _plan_input(form) -> tuple[dict, dict[str, list[str]]]:
    """The plan form's fields as PlanIn reads them: region codes from a list, shares from percentages."""
    data = {k: form.get(k, "").strip() for k in PLAN_FORM_FIELDS}
    data["regions"] = [code for code in re.split(r"[\s,，;；、]+", data["regions"]) if code]
    data["entity_kinds"] = [kind for kind in form.getlist("entity_kinds") if kind]
    shares, errors = {}, {}
    for level in RISK:
        text = form.get(f"share_{level}", "").strip().rstrip("%")
        if not text:
            continue
        try:
            percent = Decimal(text)
            if not percent.is_finite() or not 0 <= percent <= 100:
                raise InvalidOperation
        except InvalidOperation:
            errors["shares"] = [str(PLAN_HINTS["shares"])]
            continue
        shares[level] = str(percent / 100)
    data["shares"] = shares
    fields, schema_errors = read_form(schemas.PlanIn(), data)
    return fields, {**schema_errors, **errors}


@blp.get("/spotchecks/plans", endpoint="plans")
def plans():
    db, actor = get_session(), current_user()
    require_role(actor, *service.ORGANISERS)
    return render_template("spotchecks/plans.html", plans=service.list_plans(db))


@blp.route("/spotchecks/plans/new", methods=["GET", "POST"], endpoint="new_plan")
def new_plan():
    db, actor = get_session(), current_user()
    require_role(actor, *service.ORGANISERS)
    if request.method == "GET":
        form = {"inspectors_per_task": "2", "instruments_per_entity": "1", "publication_working_days": "20",
                "entity_kinds": ["fuel_station"], "instrument_kind": "fuel_dispenser"}
        return render_template("spotchecks/plan_form.html", form=form, errors={})
    fields, errors = _plan_input(request.form)
    if not errors:
        plan, errors, _conflict = commit_form(lambda: service.create_plan(db, actor, fields), "name")
        if plan:
            flash(_("Plan %(name)s is created: witnesses may now commit.", name=plan.name), "info")
            return redirect(url_for("spotchecks.plan", plan_id=plan.id), 303)
    form = {**request.form.to_dict(), "entity_kinds": request.form.getlist("entity_kinds")}
    return render_template("spotchecks/plan_form.html", form=form, errors=_hinted(errors, PLAN_HINTS)), 422


def _plan_page(plan_id: int, errors: dict | None = None, form=None, status: int = 200):
    page = results.plan_page(get_session(), current_user(), plan_id)
    return render_template("spotchecks/plan.html", **page, errors=errors or {}, form=form or {}), status


@blp.get("/spotchecks/plans/<int:plan_id>", endpoint="plan")
def plan(plan_id: int):
    return _plan_page(plan_id)


@blp.post("/spotchecks/plans/<int:plan_id>/witnesses", endpoint="add_witness")
def add_witness(plan_id: int):
    db, actor = get_session(), current_user()
    require_role(actor, *service.ORGANISERS)
    fields, errors = read_form(schemas.WitnessIn(), {k: request.form.get(k, "").strip() for k in ("name", "commitment")})
    if errors:
        return _plan_page(plan_id, _hinted(errors, WITNESS_HINTS), request.form, 422)
    witness, errors, conflict = commit_form(lambda: service.add_witness(db, actor, plan_id, **fields), "commitment")
    if witness is None:
        return _plan_page(plan_id, errors if conflict else _hinted(errors, WITNESS_HINTS), request.form, 422)
    flash(_("Witness %(position)s's commitment is published.", position=witness.position), "info")
    return redirect(url_for("spotchecks.plan", plan_id=plan_id), 303)


@blp.post("/spotchecks/plans/<int:plan_id>/freeze", endpoint="freeze")
def freeze(plan_id: int):
    commit_button(lambda: service.freeze(get_session(), current_user(), plan_id),
                  lambda p: _("The scope is frozen: its snapshot's SHA-256 is %(hash)s.", hash=p.snapshot_sha256))
    return redirect(url_for("spotchecks.plan", plan_id=plan_id), 303)


@blp.post("/spotchecks/plans/<int:plan_id>/witnesses/<int:position>/reveal", endpoint="reveal")
def reveal(plan_id: int, position: int):
    db, actor = get_session(), current_user()
    secret = request.form.get("secret", "")
    if not 1 <= len(secret) <= 1000:
        return _plan_page(plan_id, {f"secret.{position}": [_("Enter the secret the witness chose.")]}, request.form, 422)
    try:
        service.reveal(db, actor, plan_id, position, secret)
        db.commit()
        flash(_("Witness %(position)s's secret matches the commitment.", position=position), "info")
    except Conflict as exc:
        db.commit()  # a secret that does not match stops the draw, and the stop is kept on record
        flash(exc.detail, "error")
    return redirect(url_for("spotchecks.plan", plan_id=plan_id), 303)


@blp.post("/spotchecks/plans/<int:plan_id>/draw", endpoint="run_draw")
def run_draw(plan_id: int):
    commit_button(lambda: service.draw(get_session(), current_user(), plan_id),
                  lambda p: _("The draw is done: %(tasks)s tasks.", tasks=len(p.selection["tasks"])))
    return redirect(url_for("spotchecks.plan", plan_id=plan_id), 303)


@blp.post("/spotchecks/plans/<int:plan_id>/nominated-tasks", endpoint="add_nominated_tasks")
def add_nominated_tasks(plan_id: int):
    db, actor = get_session(), current_user()
    fields, errors = read_form(schemas.NominatedTasksIn(), {"top": request.form.get("top", "").strip()})
    if errors:
        return _plan_page(plan_id, {"top": [_("A number from 1 to 100.")]}, request.form, 422)
    commit_button(lambda: results.add_nominated_tasks(db, actor, plan_id, fields["top"]),
                  lambda tasks: _("%(count)s nominated instruments joined the plan.", count=len(tasks)))
    return redirect(url_for("spotchecks.plan", plan_id=plan_id), 303)


# --- a task's instrument: attach its run, review, countersign ---------------------------------------------

AXIS = {"L/min": lazy_gettext("flow (L/min)"), "A": lazy_gettext("current (A)"), "km/h": lazy_gettext("speed (km/h)"),
        "s": lazy_gettext("time (s)")}


def _number(value) -> float | None:
    return None if value is None or value == "" else float(value)


def _chart(sheet: dict) -> dict:
    """The review sheet's points as the chart and the table read them: errors against x, and the MPE
    band (stepped between points, held a little past the first and the last)."""
    rows = []
    for p in sheet["points"]:
        low, high, rounded = _number(p.get("mpe_low_pct")), _number(p.get("mpe_high_pct")), _number(p.get("rounded_pct"))
        errors = [float(e) for e in p.get("errors_pct") or []]
        inside = bool(p.get("passed")) if low is None or high is None or rounded is None else low <= rounded <= high
        rows.append({"key": p["key"], "label": p["label"], "x": _number(p.get("x")), "errors": errors, "rounded": rounded,
                     "low": low, "high": high, "inside": inside, "repeatability": p.get("repeatability_pct"),
                     "repeatability_limit": p.get("repeatability_limit_pct"), "unit": p.get("x_unit", "")})
    charted = sorted((r for r in rows if r["x"] is not None and r["low"] is not None and r["high"] is not None),
                     key=lambda r: r["x"])
    band = []
    if charted:
        span = (charted[-1]["x"] - charted[0]["x"]) or abs(charted[0]["x"]) or 1.0
        pad = span * 0.1
        band = ([{"x": charted[0]["x"] - pad, "low": charted[0]["low"], "high": charted[0]["high"]}]
                + [{"x": r["x"], "low": r["low"], "high": r["high"]} for r in charted]
                + [{"x": charted[-1]["x"] + pad, "low": charted[-1]["low"], "high": charted[-1]["high"]}])
    unit = next((r["unit"] for r in rows if r["unit"]), "")
    return {"axis": str(AXIS.get(unit, unit)), "rows": rows, "outside": sum(1 for r in rows if not r["inside"]),
            "points": [{"x": r["x"], "errors": r["errors"], "rounded": r["rounded"]} for r in charted],
            "band": band, "text": {"high": _("MPE, upper limit"), "low": _("MPE, lower limit"),
                                   "readings": _("error of each delivery"), "results": _("point's result (rounded)"),
                                   "error": _("error (%)")}}


def _review_page(task_instrument_id: int, errors: dict | None = None, status: int = 200):
    page = results.review_page(get_session(), current_user(), task_instrument_id)
    return render_template("spotchecks/review.html", **page, chart=_chart(page["sheet"]), errors=errors or {}), status


@blp.get("/spotchecks/task-instruments/<int:task_instrument_id>", endpoint="review_page")
def review_page(task_instrument_id: int):
    return _review_page(task_instrument_id)


@blp.post("/spotchecks/task-instruments/<int:task_instrument_id>/verification", endpoint="attach_verification")
def attach_verification(task_instrument_id: int):
    db, actor = get_session(), current_user()
    fields, errors = read_form(schemas.AttachIn(), {"verification_id": request.form.get("verification_id", "").strip()})
    if errors:
        return _review_page(task_instrument_id, _hinted(errors, ATTACH_HINTS), 422)
    ti, errors, conflict = commit_form(
        lambda: results.attach_verification(db, actor, task_instrument_id, fields["verification_id"]),
        "verification_id")
    if ti is None:
        return _review_page(task_instrument_id, errors if conflict else _hinted(errors, ATTACH_HINTS), 422)
    flash(_("Run #%(id)s is attached.", id=fields["verification_id"]), "info")
    return redirect(url_for("spotchecks.review_page", task_instrument_id=task_instrument_id), 303)


@blp.post("/spotchecks/task-instruments/<int:task_instrument_id>/review", endpoint="review")
def review(task_instrument_id: int):
    db, actor = get_session(), current_user()
    fields, errors = read_form(schemas.ReviewIn(), {k: request.form.get(k, "").strip() for k in ("conclusion", "note")})
    if errors:
        return _review_page(task_instrument_id, _hinted(errors, REVIEW_HINTS), 422)
    ti, errors, _conflict = commit_form(lambda: results.review(db, actor, task_instrument_id, **fields), "conclusion")
    if ti is None:
        return _review_page(task_instrument_id, errors, 422)
    flash(_("The conclusion is recorded; a second inspector countersigns it."), "info")
    return redirect(url_for("spotchecks.review_page", task_instrument_id=task_instrument_id), 303)


@blp.post("/spotchecks/task-instruments/<int:task_instrument_id>/countersign", endpoint="countersign")
def countersign(task_instrument_id: int):
    commit_button(lambda: results.countersign(get_session(), current_user(), task_instrument_id),
                  lambda ti: _("Countersigned.") + (" " + _("The task is concluded and its result published.")
                                                     if ti.task.published_at else ""))
    return redirect(url_for("spotchecks.review_page", task_instrument_id=task_instrument_id), 303)


# --- the Friday files (administrators) ------------------------------------------------------------------

@blp.get("/spotchecks/exports", endpoint="exports")
def exports():
    return render_template("spotchecks/exports.html", exports=results.list_exports(get_session(), current_user()))


@blp.get("/spotchecks/exports/<int:export_id>.<any(csv, json):fmt>", endpoint="export_file")
def export_file(export_id: int, fmt: str):
    path = results.export_file(get_session(), current_user(), export_id, fmt)
    return send_file(path, as_attachment=True, download_name=path.name,
                     mimetype="text/csv" if fmt == "csv" else "application/json")
