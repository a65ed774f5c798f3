"""The registry pages: upload a CSV file of entities, instruments or inspectors, and follow its
import (a progress bar fed by status.json) to its counts or its report of bad rows.

The upload becomes a job row that `labs scheduler` imports: a province's file takes minutes,
longer than a web worker may hold a request, and the row (file, progress, report) is seen by
every worker on every host. Administrators and inspectors only.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from labs.accounts.auth import current_user
from labs.accounts.service import require_role
from labs.db import get_session
from labs.errors import DomainError
from labs.spotchecks import registry
from labs.web.common import commit_form, domain_error_page

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
REASON = {
    "missing_field": lazy_gettext("%(field)s is missing"),
    "credit_code_format": lazy_gettext("%(field)s %(value)s is not a unified social credit code"),
    "credit_code_check": lazy_gettext("%(field)s %(value)s has a wrong check character (expected %(detail)s)"),
    "duplicate_in_file": lazy_gettext("%(field)s %(value)s repeats line %(detail)s"),
    "already_registered": lazy_gettext("%(value)s is already registered"),
    "unknown_region": lazy_gettext("unknown region %(value)s"),
    "unknown_entity": lazy_gettext("no registered entity has the credit code %(value)s"),
    "unknown_kind": lazy_gettext("unknown %(field)s %(value)s"),
    "unknown_risk_level": lazy_gettext("unknown risk level %(value)s (high, medium or low)"),
    "too_long": lazy_gettext("%(field)s is longer than %(detail)s characters"),
    "bad_email": lazy_gettext("%(value)s is not an e-mail address"),
    "extra_fields": lazy_gettext("more fields than the header names"),
    "bad_header": lazy_gettext("the header row %(detail)s"),
    "not_utf8": lazy_gettext("the file is not UTF-8 text from here on"),
    "no_header": lazy_gettext("the file has no header row"),
    "changed": lazy_gettext("the registry changed during the import; import the file again"),
}


def reason_text(row: list) -> str:
    _line, reason, field, value, detail = row
    return str(REASON[reason]) % {"field": field, "value": value, "detail": detail}


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
