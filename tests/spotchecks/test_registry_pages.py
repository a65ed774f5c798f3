"""The registry upload page: an administrator (or inspector) uploads a CSV file with the form's
CSRF token, follows the import's progress to its counts, or to the table of every bad row; other
roles are refused. The import itself is `labs scheduler`'s job, run here in process."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select
from stdnum.cn.uscc import calc_check_digit

from labs.db import session_scope
from labs.spotchecks.models import RegistryEntity
from labs.spotchecks import registry
from labs.spotchecks.registry import run_queued_imports, sync_regions
from tests.web.conftest import csrf_token, signed_in

PAGE = "/spotchecks/registry/imports"
HEADER = "credit_code,name,kind,region,risk_level,affiliation"


def code(n: int, prefix: str = "91320100") -> str:
    base = f"{prefix}{n:09d}"
    return base + calc_check_digit(base)


@pytest.fixture
def admin(app, world):
    with app.app_context(), session_scope(app) as s:
        sync_regions(s)
    _, email = world.user("admin")
    return signed_in(app, email)


def upload(client, content: bytes, kind: str = "entities", filename: str = "entities.csv"):
    return client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "kind": kind,
                                   "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def run_importer(app) -> int:
    with app.app_context(), session_scope(app) as s:
        return run_queued_imports(s)


def entity_count(app) -> int:
    with session_scope(app) as s:
        return s.scalar(select(func.count()).select_from(RegistryEntity))


def test_upload_shows_progress_then_the_counts(app, admin, monkeypatch):
    text = f"\ufeff{HEADER}\n{code(1)},南京一号加油站,fuel_station,320115,high,\n{code(2, 'N2320100')},某村,power_supplier,320100,low,\n"
    r = upload(admin, text.encode("utf-8"))
    assert r.status_code == 303, r.get_data(as_text=True)
    page_url = r.headers["Location"]
    page = admin.get(page_url).get_data(as_text=True)
    assert '<progress id="import-progress"' in page and "import.js" in page
    status_url = page_url + "/status.json"
    status = admin.get(status_url).json
    assert (status["state"], status["percent"], status["finished"]) == ("queued", 0, False)
    assert entity_count(app) == 0
    assert run_importer(app) == 1
    status = admin.get(status_url).json
    assert status["state"] == "done" and status["finished"] and status["percent"] == 100
    assert (status["rows"], status["added"], status["updated"]) == (2, 2, 0)
    page = admin.get(page_url).get_data(as_text=True)
    assert 'id="import-done"' in page and 'id="report"' not in page
    assert entity_count(app) == 2
    assert run_importer(app) == 0  # nothing is imported twice
    monkeypatch.setattr(registry, "STALE_AFTER", dt.timedelta(0))  # not even long after
    assert run_importer(app) == 0 and admin.get(status_url).json["state"] == "done"
    # The list of recent imports links to it.
    assert page_url.split("localhost")[-1] in admin.get(PAGE).get_data(as_text=True)


def test_a_file_with_bad_rows_is_refused_whole_and_the_page_lists_each(app, admin):
    text = (f"{HEADER}\n{code(3)},好的,fuel_station,320100,low,\n{code(4)[:17]}0,坏的,fuel_station,320100,low,\n"
            f"{code(5)},地区,fuel_station,999999,low,\n{code(3)},重复,fuel_station,320100,low,\n")
    if code(4)[17] == "0":
        text = text.replace(f"{code(4)[:17]}0", f"{code(4)[:17]}1")
    r = upload(admin, text.encode())
    run_importer(app)
    status = admin.get(r.headers["Location"] + "/status.json").json
    assert (status["state"], status["rows"], status["rejected"]) == ("refused", 4, 3)
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="import-refused"' in page
    report = page[page.index('id="report"'):]
    for line in ("<td>3</td>", "<td>4</td>", "<td>5</td>"):
        assert line in report
    assert "<td>2</td>" not in report
    assert "999999" in report and "与第 2 行重复" in report  # Simplified Chinese, the default
    assert entity_count(app) == 0


def test_a_file_larger_than_other_forms_may_be_uploaded(app, admin):
    rows = "".join(f"{code(n)},加油站{n},fuel_station,320100,low,江苏某某石油销售有限公司\n" for n in range(10, 30_000))
    content = f"{HEADER}\n{rows}".encode()
    assert len(content) > 2 * 1024 * 1024
    r = upload(admin, content)
    assert r.status_code == 303
    run_importer(app)
    assert admin.get(r.headers["Location"] + "/status.json").json["added"] == 29_990


def test_the_form_refuses_a_missing_file_or_an_unknown_registry(app, admin):
    r = admin.post(PAGE, data={"csrf_token": csrf_token(admin, PAGE), "kind": "entities"},
                   content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="form-errors"' in r.get_data(as_text=True)
    r = upload(admin, b"x", kind="boats")
    assert r.status_code == 422
    r = admin.post(PAGE, data={"kind": "entities", "file": (io.BytesIO(b"x"), "e.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 400  # no CSRF token


@pytest.mark.parametrize("role", ["technician", "lab_manager", "enterprise"])
def test_other_roles_are_refused(app, world, role):
    _, email = world.user(role, enterprise=0 if role == "enterprise" else None)
    client = signed_in(app, email)
    assert client.get(PAGE).status_code == 403


def test_inspectors_upload_and_anonymous_callers_are_sent_to_log_in(app, world):
    _, email = world.user("inspector")
    assert signed_in(app, email).get(PAGE).status_code == 200
    r = app.test_client().get(PAGE)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_an_import_whose_importer_died_is_taken_again(app, admin):
    from labs.db import utcnow
    from labs.spotchecks.models import RegistryImport
    r = upload(admin, f"{HEADER}\n{code(81)},加油站,fuel_station,320100,low,\n".encode())
    import_id = int(r.headers["Location"].rsplit("/", 1)[1])
    with session_scope(app) as s:  # claimed by an importer that stopped half an hour ago
        job = s.get(RegistryImport, import_id)
        job.state, job.heartbeat_at = "running", utcnow() - dt.timedelta(minutes=30)
    assert run_importer(app) == 1
    assert admin.get(r.headers["Location"] + "/status.json").json["added"] == 1
