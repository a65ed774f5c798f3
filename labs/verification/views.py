"""The verification pages: the technician's console and a run as it happens, the instruments under
verification, the rigs, the procedure versions, and certificates (the public confirmation page
anyone may open from the QR code, and the PDF for staff and the owning enterprise).

Each route reads its input with the schemas the API uses (labs.verification.schemas), calls one
service function and renders a template of templates/verification/. The run page follows a run
through live.json, which this blueprint serves with the session cookie (the API takes only
bearer tokens).
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _, lazy_gettext

from labs.accounts.auth import current_user
from labs.accounts.service import require_role
from labs.catalog import service as lab_catalog
from labs.db import get_session
from labs.errors import DomainError, NotFound
from labs.verification import domain, service
from labs.verification.certificate_pdf import render_pdf
from labs.verification.schemas import (RigIn, RigPatch, VerificationIn, VerifiedInstrumentIn,
                                       VerifiedInstrumentQuery)
from labs.web.common import commit_button, commit_form, domain_error_page, read_form

blp = Blueprint("verifications", __name__, template_folder="templates")
blp.register_error_handler(DomainError, domain_error_page)

KIND = {"fuel_dispenser": lazy_gettext("fuel dispenser"), "electricity_meter": lazy_gettext("electricity meter"),
        "taxi_meter": lazy_gettext("taxi meter")}
RIG_KIND = {"fdr": lazy_gettext("fuel dispenser rig (FDR)"), "emb": lazy_gettext("electricity meter bench (EMB)"),
            "tmr": lazy_gettext("taxi meter rig (TMR)")}
STATE = {"queued": lazy_gettext("queued"), "running": lazy_gettext("running"), "done": lazy_gettext("done"),
         "failed": lazy_gettext("failed"), "cancelled": lazy_gettext("cancelled")}
VERDICT = {"pass": lazy_gettext("pass"), "fail": lazy_gettext("fail")}
CERTIFICATE_KIND = {"certificate": lazy_gettext("verification certificate"),
                    "failure_notice": lazy_gettext("notice of verification result")}
FUELS = ("gasoline", "diesel", "kerosene")
# The nameplate's fields per kind, as the procedures name them; numbers unless listed as text.
NAMEPLATE = {
    "fuel_dispenser": ("q_max_l_per_min", "q_min_l_per_min", "nozzles"),
    "electricity_meter": ("accuracy_class", "connection", "elements", "un_v", "ib_a", "imax_a",
                          "constant_imp_per_kwh", "k_i", "k_u"),
    "taxi_meter": ("k_imp_per_km", "tariff"),
}
NAMEPLATE_TEXT = {"nozzles", "accuracy_class", "connection", "elements", "tariff"}
NAMEPLATE_OPTIONAL = {"k_i", "k_u"}
INSTRUMENT_FIELDS = ("kind", "serial_number", "owner_credit_code", "owner_name", "model", "manufacturer",
                     "location", "plate_number", "next_due")
RIG_FIELDS = ("code", "kind", "link", "serial_number", "lab_id", "standard_name", "standard_certificate_no",
              "standard_valid_until")
RUN_FIELDS = ("instrument_id", "rig_id", "procedure_id", "nozzle", "as_found_id", "adjustment", "seal_number")
# What a reading shows: the instrument's figure and the reference's, by operation.
SHOWN = {"delivery": ("indicated_volume", "reference_volume", "L"), "error": ("dut_pulses", "reference_pulses", ""),
         "starting": ("dut_pulses", None, ""), "creep": ("dut_pulses", None, ""),
         "distance": ("meter_distance_m", "reference_distance_m", "m"),
         "standing": ("meter_time_s", "reference_time_s", "s")}
BUREAU = "市质量技术监督局计量检定所"
FINISHED = ("done", "cancelled")


@blp.context_processor
def _verification_context():
    return {"KIND": KIND, "RIG_KIND": RIG_KIND, "STATE": STATE, "VERDICT": VERDICT,
            "CERTIFICATE_KIND": CERTIFICATE_KIND, "NAMEPLATE": NAMEPLATE, "FUELS": FUELS,
            "OPERATORS": service.OPERATORS, "pct": pct}


def pct(value, signed: bool = True) -> str:
    """A percentage as the certificate writes it: +0.27, -0.12 (a Decimal keeps its digits)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        value = f"{value:.3f}"
    number = Decimal(str(value))
    return f"{number:+}" if signed and number != 0 else f"{number}"


# --- the console and runs ---------------------------------------------------------------------------

@blp.route("/verification/console", methods=["GET", "POST"])
def console():
    """Pick an instrument, a rig and a procedure and start a run; runs in progress and recent ones."""
    db, actor = get_session(), current_user()
    require_role(actor, *service.OPERATORS)
    errors: dict[str, list[str]] = {}
    form = request.form if request.method == "POST" else {
        "instrument_id": request.args.get("instrument_id", ""), "as_found_id": request.args.get("as_found_id", ""),
        "rig_id": request.args.get("rig_id", ""), "nozzle": request.args.get("nozzle", "")}
    if request.method == "POST":
        fields, errors = read_form(VerificationIn(), {k: request.form.get(k, "").strip() for k in RUN_FIELDS})
        if not errors:
            run, errors, _conflict = commit_form(lambda: service.request_verification(db, actor, **fields),
                                                 "instrument_id")
            if run:
                flash(_("Run #%(id)s is queued; the runner starts it when the rig is free.", id=run.id), "info")
                return redirect(url_for("verifications.run", verification_id=run.id), 303)
    serial = request.args.get("serial_number", "").strip()[:64] or None
    instruments = service.list_instruments(db, actor, serial_number=serial)
    if serial and len(instruments) == 1 and not form.get("instrument_id"):
        form = {**form, "instrument_id": str(instruments[0].id)}
    return render_template(
        "verification/console.html", form=form, errors=errors, serial=serial or "", instruments=instruments,
        rigs=[r for r in service.list_rigs(db, actor) if r.active], procedures=service.list_procedures(db, actor),
        runs=service.list_verifications(db, actor, limit=50)), 422 if errors else 200


def _readings(detail: dict) -> list[dict]:
    """Each stored reading with its point and, when it counts, its error as the procedure computes it."""
    verification = detail
    points = {p.index: p for p in (domain.Point(**p) for p in verification["plan"])}
    procedure, nameplate = verification["procedure"].data, verification["instrument"].nameplate
    by_point: dict[int, list] = {}
    for reading in detail["readings"]:
        by_point.setdefault(reading.point_index, []).append(reading)
    errors: dict[int, float] = {}
    for index, readings in by_point.items():
        point = points.get(index)
        valid = [r for r in readings if not r.problem]
        if point is None or point.operation in ("starting", "creep") or not valid:
            continue
        try:
            result = domain.evaluate_point(procedure, nameplate, point, [r.values for r in valid])
        except (ValueError, KeyError, TypeError, ArithmeticError):
            continue
        errors.update({r.id: e for r, e in zip(valid, result.errors_pct)})
    out = []
    for reading in detail["readings"]:
        point = points.get(reading.point_index)
        shown, reference, unit = SHOWN.get(point.operation if point else "", (None, None, ""))
        out.append({"id": reading.id, "point": reading.point_index, "label": point.label if point else "",
                    "shown": reading.values.get(shown) if shown else None,
                    "reference": reading.values.get(reference) if reference else None, "unit": unit,
                    "error_pct": pct(errors[reading.id]) if reading.id in errors else None,
                    "problem": reading.problem, "at": reading.at.isoformat()})
    return out


def _live(detail: dict) -> dict:
    """What the run page refreshes: state, progress, the rig's latest values and the readings."""
    certificate = detail["certificate"]
    return {"id": detail["id"], "state": detail["state"], "state_name": str(STATE[detail["state"]]),
            "problem": detail["problem"], "live": detail["live"] or {}, "points": len(detail["plan"]),
            "done_points": sum(1 for p in detail["plan"] if sum(1 for r in detail["readings"]
                                                                if r.point_index == p["index"] and not r.problem)
                               >= p["repetitions"]),
            "readings": _readings(detail),
            "verdict": detail["result"].verdict if detail["result"] else None,
            "certificate": certificate.number if certificate else None}


@blp.get("/verification/runs/<int:verification_id>")
def run(verification_id: int):
    detail = service.verification_detail(get_session(), current_user(), verification_id)
    return render_template("verification/run.html", run=detail, live=_live(detail),
                           evaluation=(detail["result"].evaluation if detail["result"] else None))


@blp.get("/verification/runs/<int:verification_id>/live.json")
def live(verification_id: int):
    """The run page's poll: the session's user, answered in JSON (errors too)."""
    try:
        detail = service.verification_detail(get_session(), current_user(), verification_id)
    except DomainError as exc:
        return jsonify({"status": exc.status, "detail": exc.detail}), exc.status
    response = jsonify(_live(detail))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.post("/verification/runs/<int:verification_id>/cancel")
def cancel(verification_id: int):
    commit_button(lambda: service.cancel_verification(get_session(), current_user(), verification_id),
                  lambda v: _("Run #%(id)s is cancelled.", id=v.id))
    return redirect(url_for("verifications.run", verification_id=verification_id), 303)


@blp.post("/verification/runs/<int:verification_id>/retry")
def retry(verification_id: int):
    commit_button(lambda: service.retry_verification(get_session(), current_user(), verification_id),
                  lambda v: _("Run #%(id)s is queued again; it resumes at its first unfinished point.", id=v.id))
    return redirect(url_for("verifications.run", verification_id=verification_id), 303)


# --- instruments under verification -----------------------------------------------------------------

@blp.get("/verification/instruments")
def instruments():
    query, errors = read_form(VerifiedInstrumentQuery(), {k: request.args.get(k, "").strip()
                                                         for k in ("kind", "serial_number")})
    found = [] if errors else service.list_instruments(get_session(), current_user(), **query)
    return render_template("verification/instruments.html", instruments=found, errors=errors,
                           query=request.args), 422 if errors else 200


def _number(text: str):
    number = Decimal(text)
    if not number.is_finite():
        raise InvalidOperation
    return int(number) if number == number.to_integral_value() and "." not in text else float(number)


def _read_nameplate(kind: str, form) -> tuple[dict, dict[str, list[str]]]:
    """The nameplate's fields of the chosen kind; numbers as numbers, nozzles from `1:gasoline,2:diesel`."""
    nameplate, errors = {}, {}
    for name in NAMEPLATE.get(kind, ()):
        text = form.get(f"np_{name}", "").strip()
        if not text:
            if name not in NAMEPLATE_OPTIONAL:
                errors[f"nameplate.{name}"] = [_("This field is required.")]
            continue
        if name == "nozzles":
            nozzles = []
            for part in filter(None, (p.strip() for p in text.replace("，", ",").split(","))):
                number, _sep, fuel = part.partition(":")
                if not number.strip().isdigit() or fuel.strip() not in FUELS:
                    errors[f"nameplate.{name}"] = [_("Write the nozzles as number:fuel, e.g. 1:gasoline,2:diesel "
                                                     "(fuel: %(fuels)s).", fuels=", ".join(FUELS))]
                    break
                nozzles.append({"number": int(number), "fuel": fuel.strip()})
            nameplate[name] = nozzles
        elif name in NAMEPLATE_TEXT:
            nameplate[name] = text[:200]
        else:
            try:
                nameplate[name] = _number(text)
            except (InvalidOperation, ValueError):
                errors[f"nameplate.{name}"] = [_("Enter a number.")]
    return nameplate, errors


@blp.route("/verification/instruments/new", methods=["GET", "POST"])
def new_instrument():
    db, actor = get_session(), current_user()
    require_role(actor, *service.OPERATORS)
    if request.method == "GET":
        return render_template("verification/instrument_form.html", form={"kind": request.args.get("kind", "")},
                               errors={})
    data = {k: request.form.get(k, "").strip() for k in INSTRUMENT_FIELDS}
    nameplate, nameplate_errors = _read_nameplate(data["kind"], request.form)
    fields, errors = read_form(VerifiedInstrumentIn(), {**data, "nameplate": nameplate})
    errors = {**errors, **nameplate_errors}
    if not errors:
        instrument, errors, _conflict = commit_form(lambda: service.register_instrument(db, actor, fields),
                                                    "serial_number")
        if instrument:
            flash(_("Instrument %(serial)s is registered.", serial=instrument.serial_number), "info")
            return redirect(url_for("verifications.instrument", instrument_id=instrument.id), 303)
    return render_template("verification/instrument_form.html", form=request.form, errors=errors), 422


@blp.get("/verification/instruments/<int:instrument_id>")
def instrument(instrument_id: int):
    db, actor = get_session(), current_user()
    the_instrument = service.get_instrument(db, actor, instrument_id)
    history = [(result, service.certificate_of(db, result))
               for result in service.instrument_history(db, actor, instrument_id)]
    return render_template("verification/instrument.html", instrument=the_instrument, history=history)


# --- rigs --------------------------------------------------------------------------------------------

@blp.get("/verification/rigs")
def rigs():
    return render_template("verification/rigs.html", rigs=service.list_rigs(get_session(), current_user()),
                           today=service.local_today())


def _rig_form(form) -> dict:
    data = {k: form.get(k, "").strip() for k in RIG_FIELDS}
    data["restricted"] = "restricted" in form
    data["portable"] = "portable" in form
    if "active_shown" in form:
        data["active"] = "active" in form
    constant = form.get("reference_constant", "").strip()
    data["settings"] = {}
    if constant:
        try:
            data["settings"] = {"reference_constant": _number(constant)}
        except (InvalidOperation, ValueError):
            data["settings"] = {"reference_constant": constant}  # refused below with its message
    if data["lab_id"] == "":
        data["lab_id"] = None
    return data


def _check_constant(data: dict) -> dict[str, list[str]]:
    value = data["settings"].get("reference_constant")
    if data.get("kind") == "emb" and not isinstance(value, (int, float)):
        return {"reference_constant": [_("An EMB needs the reference meter's constant (imp/kWh), a number.")]}
    if value is not None and (not isinstance(value, (int, float)) or value <= 0):
        return {"reference_constant": [_("Enter a positive number.")]}
    return {}


def _rig_page(rig, form, errors: dict, status: int = 200):
    labs = lab_catalog.list_labs(get_session())
    return render_template("verification/rig_form.html", rig=rig, form=form, errors=errors, labs=labs), status


@blp.route("/verification/rigs/new", methods=["GET", "POST"])
def new_rig():
    db, actor = get_session(), current_user()
    require_role(actor, "admin", "lab_manager")
    if request.method == "GET":
        return _rig_page(None, {"active": True}, {})
    data = _rig_form(request.form)
    fields, errors = read_form(RigIn(), {k: v for k, v in data.items() if k != "settings"})
    errors.update(_check_constant(data))
    if not errors:
        fields["settings"] = data["settings"]
        rig, errors, _conflict = commit_form(lambda: service.register_rig(db, actor, fields), "code")
        if rig:
            flash(_("Rig %(code)s is registered.", code=rig.code), "info")
            return redirect(url_for("verifications.rigs"), 303)
    return _rig_page(None, request.form, errors, 422)


@blp.route("/verification/rigs/<int:rig_id>", methods=["GET", "POST"])
def edit_rig(rig_id: int):
    db, actor = get_session(), current_user()
    require_role(actor, "admin", "lab_manager")
    rig = service.get_rig(db, actor, rig_id)
    if request.method == "GET":
        form = {**{k: getattr(rig, k) for k in service.RIG_FIELDS},
                "reference_constant": (rig.settings or {}).get("reference_constant", "")}
        return _rig_page(rig, form, {})
    data = _rig_form(request.form)
    data.pop("lab_id")  # a rig stays in its lab
    data["kind"] = data.get("kind") or rig.kind
    fields, errors = read_form(RigPatch(), {k: v for k, v in data.items() if k != "settings"})
    errors.update(_check_constant(data))
    if not errors:
        fields["settings"] = {**(rig.settings or {}), **data["settings"]}
        updated, errors, _conflict = commit_form(lambda: service.update_rig(db, actor, rig_id, fields), "code")
        if updated:
            flash(_("Rig %(code)s is saved.", code=updated.code), "info")
            return redirect(url_for("verifications.rigs"), 303)
    return _rig_page(rig, request.form, errors, 422)


# --- procedures ----------------------------------------------------------------------------------------

@blp.route("/verification/procedures", methods=["GET", "POST"])
def procedures():
    db, actor = get_session(), current_user()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        text = request.form.get("document", "")
        try:
            document = json.loads(text)
        except ValueError as exc:
            errors = {"document": [_("This is not JSON: %(problem)s", problem=str(exc))]}
        else:
            if not isinstance(document, dict):
                errors = {"document": [_("The document must be a JSON object.")]}
            else:
                procedure, errors, _conflict = commit_form(
                    lambda: service.add_procedure_version(db, actor, document), "document")
                if procedure:
                    flash(_("%(name)s is added.", name=procedure.name), "info")
                    return redirect(url_for("verifications.procedures"), 303)
    return render_template("verification/procedures.html", procedures=service.list_procedures(db, actor),
                           errors=errors, document=request.form.get("document", ""),
                           pretty=lambda data: json.dumps(data, ensure_ascii=False, indent=2)), \
        422 if errors else 200


# --- certificates ------------------------------------------------------------------------------------------

@blp.get("/certificates/<string(maxlength=32):number>")
def public_certificate(number: str):
    """Anyone (no login) confirms a certificate or notice by its number: its public particulars only."""
    try:
        certificate = service.public_certificate(get_session(), number)
    except NotFound:
        return render_template("verification/certificate_unknown.html", number=number), 404
    return render_template("verification/certificate.html", certificate=certificate, public=certificate.public)


@blp.get("/verification/certificates/<string(maxlength=32):number>.pdf")
def certificate_pdf(number: str):
    certificate = service.get_certificate(get_session(), current_user(), number)
    public_url = url_for("verifications.public_certificate", number=certificate.number, _external=True)
    pdf = render_pdf(certificate_document(certificate), public_url)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{certificate.number}.pdf"'})


def certificate_document(certificate) -> dict:
    """The dict render_pdf draws, from the certificate, its result and its run."""
    result = certificate.result
    verification = result.verification
    instrument, rig, procedure = verification.instrument, verification.rig, verification.procedure
    evaluation = result.evaluation
    points = [_pdf_point(p) for p in evaluation["points"]]
    notes = [f"{p['label']}：{'未完成' if not p.get('complete', True) else '超出最大允许误差'}"
             f"（{shown['result']}，{shown['mpe']}）"
             for p, shown in zip(evaluation["points"], points) if not p["passed"]]
    if evaluation.get("at_limit"):
        notes.append("有检定点的误差等于最大允许误差。")
    if verification.as_found_id is not None:
        notes.append(f"调整后检定（调整前检定 #{verification.as_found_id}）：{verification.adjustment or ''}")
    ambient = [r.values.get("ambient_temperature") for r in service.readings_of(get_session(), verification.id)
               if isinstance(r.values.get("ambient_temperature"), (int, float))]
    conditions = f"环境温度 {sum(ambient) / len(ambient):.1f} °C" if ambient else "符合规程要求"
    return {
        "number": certificate.number, "kind": certificate.kind, "issued_on": certificate.issued_on,
        "valid_until": certificate.valid_until, "verdict": result.verdict,
        "bureau": current_app.config.get("BUREAU_NAME", BUREAU),
        "instrument": {"kind_name": service.KIND_NAMES[instrument.kind], "serial_number": instrument.serial_number,
                       "model": instrument.model or "—", "manufacturer": instrument.manufacturer or "—",
                       "location": instrument.location or "—"},
        "owner": {"name": instrument.enterprise.name, "credit_code": instrument.enterprise.credit_code},
        "procedure": {"code": procedure.code, "version": procedure.version, "title": procedure.title},
        "standard": {"rig_code": rig.code + (f"（{rig.standard_name}）" if rig.standard_name else ""),
                     "certificate_no": rig.standard_certificate_no, "valid_until": rig.standard_valid_until},
        "technician": verification.technician.name if verification.technician else "—",
        "seal_number": verification.seal_number if result.verdict == "pass" else None,
        "conditions": conditions, "points": points, "notes": notes,
    }


def _pdf_point(p: dict) -> dict:
    if p["operation"] in ("starting", "creep"):
        bound = "≥" if p["operation"] == "starting" else "≤"
        pulses = "—" if p.get("pulses") is None else f"{p['pulses']} 个脉冲"
        return {"label": p["label"], "errors": pulses, "result": pulses,
                "mpe": f"{bound} {p.get('limit_pulses')} 个脉冲", "passed": p["passed"]}
    low, high = p.get("mpe_low_pct"), p.get("mpe_high_pct")
    if low is not None and high is not None and Decimal(low) == -Decimal(high):
        mpe = f"±{Decimal(high)} %"
    else:
        mpe = f"{pct(low)} % … {pct(high)} %"
    return {"label": p["label"], "errors": ", ".join(pct(e) for e in p["errors_pct"]) or "—",
            "result": f"{pct(p['rounded_pct'])} %" if p.get("rounded_pct") is not None else "—",
            "mpe": mpe, "passed": p["passed"]}

