"""The spot-check pages: the public results (cacheable), the draw's record with its re-run, 你点我查;
plans, witnesses, the freeze, the reveals and the draw; the review of a task's instrument; the
Friday files. Each page for the roles allowed and refused; forms refuse bad input with a message
and write nothing."""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from labs.db import session_scope
from labs.spotchecks import results
from labs.spotchecks.models import Nomination, Plan, PublishedResult, RegistryInstrument, TaskInstrument, Witness
from tests.spotchecks.conftest import code
from tests.spotchecks.test_tasks import SECRETS, _draw, _first_task, _inspector_users, _verify
from tests.web.conftest import csrf_token, signed_in

PLAN_FORM = {"name": "2026 年加油机专项抽查", "instrument_kind": "fuel_dispenser", "regions": "320100, 320200",
             "entity_kinds": "fuel_station", "share_high": "20", "inspectors_per_task": "2",
             "instruments_per_entity": "1", "draw_date": "2026-12-01", "publication_working_days": "20"}


def _post(client, url: str, data: dict, token_page: str = "/"):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, token_page)})


def _count(app, model) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def _text(r) -> str:
    return r.get_data(as_text=True)


def _serial_id(app, serial: str) -> int:
    with session_scope(app) as session:
        return session.scalar(select(RegistryInstrument.id).where(RegistryInstrument.serial_number == serial))


# --- public pages ---------------------------------------------------------------------------------------

def test_public_pages_open_without_login_in_simplified_chinese(app, registry):
    plan = _draw(app)
    client = app.test_client()
    for url in ("/spotchecks", "/spotchecks/nominate", "/spotchecks/nominations", f"/spotchecks/plans/{plan}/draw"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert "抽查结果" in _text(client.get("/spotchecks"))
    assert "你点我查" in _text(client.get("/spotchecks/nominate")) or "推荐" in _text(client.get("/spotchecks/nominate"))


def test_the_draw_page_publishes_everything_to_re_run_it_and_confirms_it(app, registry):
    plan = _draw(app, shares={"high": "1"})  # every high-risk station: some inspectors are recused
    html = _text(app.test_client().get(f"/spotchecks/plans/{plan}/draw"))
    with session_scope(app) as session:
        row = session.get(Plan, plan)
        seed, snapshot_hash, tasks = row.seed, row.snapshot_sha256, row.selection["tasks"]
    assert 'data-confirmed="yes"' in html
    assert seed in html and snapshot_hash in html and "labs-spotcheck-draw" in html
    for secret in SECRETS:
        assert secret in html and hashlib.sha256(secret.encode()).hexdigest() in html
    # The selection in draw order, and every skipped inspector with why.
    positions = [html.index(f'id="selected-{t["credit_code"]}"') for t in tasks]
    assert positions == sorted(positions)
    skipped = [s for t in tasks for s in t["skipped"]]
    assert skipped and html.count('class="skipped"') == len(skipped)
    assert f"/api/v1/spotchecks/plans/{plan}/draw/snapshot.txt" in html


def test_the_draw_page_of_a_plan_not_drawn_shows_no_seed_and_no_confirmation(app, registry, world):
    _, email = world.user("inspector")
    client = signed_in(app, email)
    assert _post(client, "/spotchecks/plans/new", PLAN_FORM).status_code == 303
    r = app.test_client().get("/spotchecks/plans/1/draw")
    assert r.status_code == 200 and "confirmation" not in _text(r) and 'id="seed"' not in _text(r)
    assert app.test_client().get("/spotchecks/plans/999/draw").status_code == 404


def test_the_public_results_page_is_cacheable_with_an_etag_and_needs_no_unit_of_work(app, registry, world, bench):
    client = app.test_client()
    first = client.get("/spotchecks")
    assert first.status_code == 200 and first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"] and "Cookie" in first.headers["Vary"]
    again = client.get("/spotchecks", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    _conclude_first_task(app, world, bench, error_pct=0.1)
    changed = client.get("/spotchecks", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    html = _text(changed)
    assert "加油站" in html and re.search(r'data-verdict="pass"', html)

    statements = []
    engine = app.extensions["labs.engine"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get("/spotchecks").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # the cached page is checked beside the pool (labs.db.read_outside_transaction): no session, no
    # transaction, nothing through the engine's pooled connections
    assert statements == [], statements


def test_a_signed_in_reader_gets_the_results_page_uncached(app, world):
    _, email = world.user("inspector")
    r = signed_in(app, email).get("/spotchecks")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"


# --- 你点我查 -----------------------------------------------------------------------------------------------

def test_the_public_finds_a_station_by_name_or_credit_code_and_nominates_its_nozzle(app, registry):
    client = app.test_client()
    by_name = _text(client.get("/spotchecks/nominate?q=加油站 25"))
    by_code = _text(client.get(f"/spotchecks/nominate?q={code(25)}"))
    target = _serial_id(app, "JYJ-25-2")
    for html in (by_name, by_code):
        assert f'id="instrument-{target}"' in html and code(25) in html
    assert "nothing-found" in _text(client.get("/spotchecks/nominate?q=不存在的加油站"))
    assert "nothing-found" in _text(client.get("/spotchecks/nominate?q=%25"))  # a LIKE wildcard is only text
    r = _post(client, "/spotchecks/nominate", {"q": "加油站 25", "instrument_id": str(target),
                                               "reason": "加满一箱总觉得少了两升", "phone": "138 0013 8000"},
              token_page="/spotchecks/nominate?q=x")
    assert r.status_code == 303 and r.headers["Location"].endswith("/spotchecks/nominations")
    counts = _text(client.get("/spotchecks/nominations"))
    assert f'id="nominated-{target}"' in counts and '<td class="count">1</td>' in counts
    with session_scope(app) as session:
        stored = session.scalars(select(Nomination)).one()
        assert "13800138000" not in (stored.phone_hash + stored.reason) and len(stored.phone_hash) == 64


@pytest.mark.parametrize("change, field", [
    ({"phone": "12345"}, "phone"), ({"reason": ""}, "reason"), ({"instrument_id": ""}, "instrument_id"),
    ({"instrument_id": "999999"}, "instrument_id"), ({"reason": "line\nbreak"}, "reason"),
])
def test_a_nomination_with_bad_input_is_refused_with_a_message_and_nothing_is_written(app, registry, change, field):
    client = app.test_client()
    data = {"q": "加油站 25", "instrument_id": str(_serial_id(app, "JYJ-25-2")), "reason": "总觉得少了",
            "phone": "13800138000", **change}
    r = _post(client, "/spotchecks/nominate", data, token_page="/spotchecks/nominate?q=x")
    assert r.status_code == 422 and 'id="form-errors"' in _text(r)
    assert _count(app, Nomination) == 0


def test_the_same_phone_counts_once_and_an_address_is_rate_limited_with_429(app, registry):
    client = app.test_client()
    target = str(_serial_id(app, "JYJ-25-2"))
    base = {"q": "加油站 25", "instrument_id": target, "reason": "总觉得少了"}
    assert _post(client, "/spotchecks/nominate", {**base, "phone": "13800138000"}, "/spotchecks/nominate?q=x").status_code == 303
    twice = _post(client, "/spotchecks/nominate", {**base, "phone": "+86 13800138000"}, "/spotchecks/nominate?q=x")
    assert twice.status_code == 422 and "此手机号已点名过该器具，只计一次" in _text(twice)
    assert "请填写 11 位大陆手机号码" not in _text(twice)  # not the hint for a malformed number
    for n in range(1, results.NOMINATIONS_PER_HOUR):
        r = _post(client, "/spotchecks/nominate", {**base, "phone": f"1390000000{n}"}, "/spotchecks/nominate?q=x")
        assert r.status_code == 303
    limited = _post(client, "/spotchecks/nominate", {**base, "phone": "13700000009"}, "/spotchecks/nominate?q=x")
    assert limited.status_code == 429 and 'id="too-many"' in _text(limited) and limited.headers["Retry-After"]
    assert _count(app, Nomination) == results.NOMINATIONS_PER_HOUR


# --- plans -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/spotchecks/plans", "/spotchecks/plans/new"])
def test_plan_pages_are_for_administrators_and_inspectors(app, world, url):
    assert app.test_client().get(url).headers["Location"].startswith("/login")
    for role, status in (("admin", 200), ("inspector", 200), ("technician", 403), ("lab_manager", 403)):
        _, email = world.user(role)
        assert signed_in(app, email).get(url).status_code == status, role
    _, email = world.user("enterprise", enterprise=0)
    assert signed_in(app, email).get(url).status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"inspectors_per_task": "1"}, "inspectors_per_task"), ({"share_high": "", "share_low": ""}, "shares"),
    ({"share_high": "150"}, "shares"), ({"share_high": "abc"}, "shares"), ({"share_high": "0"}, "shares"),
    ({"regions": "南京"}, "regions"), ({"regions": ""}, "regions"), ({"name": ""}, "name"),
    ({"draw_date": "2026-13-01"}, "draw_date"), ({"entity_kinds": ""}, "entity_kinds"),
    ({"publication_working_days": "0"}, "publication_working_days"), ({"instrument_kind": "scale"}, "instrument_kind"),
])
def test_the_plan_form_refuses_bad_input_with_a_message_and_writes_nothing(app, world, change, field):
    _, email = world.user("inspector")
    r = _post(signed_in(app, email), "/spotchecks/plans/new", {**PLAN_FORM, **change})
    assert r.status_code == 422, field
    html = _text(r)
    assert 'id="form-errors"' in html and 'class="field-error"' in html
    assert _count(app, Plan) == 0


def test_an_inspector_runs_the_draw_through_the_plan_page(app, world, registry):
    _, email = world.user("inspector")
    client = signed_in(app, email)
    r = _post(client, "/spotchecks/plans/new", {**PLAN_FORM, "share_high": "20 %"})
    assert r.status_code == 303
    url = r.headers["Location"]
    plan = int(url.rsplit("/", 1)[1])
    with session_scope(app) as session:
        assert {k: Decimal(v) for k, v in session.get(Plan, plan).shares.items()} == {"high": Decimal("0.2")}
    bad = _post(client, f"{url}/witnesses", {"name": "纪检监察员", "commitment": "not a hash"})
    assert bad.status_code == 422 and "64" in _text(bad) and _count(app, Witness) == 0
    refused = _follow(client, _post(client, f"{url}/freeze", {}))
    assert 'class="flash error"' in refused and 'data-state="open"' in refused  # two witnesses commit first
    for name, secret in zip(("纪检监察员", "企业代表"), SECRETS):
        r = _post(client, f"{url}/witnesses", {"name": name, "commitment": hashlib.sha256(secret.encode()).hexdigest()})
        assert r.status_code == 303
    frozen = _follow(client, _post(client, f"{url}/freeze", {}))
    with session_scope(app) as session:
        snapshot_hash = session.get(Plan, plan).snapshot_sha256
    assert snapshot_hash and 'id="snapshot-sha256"' in frozen and snapshot_hash in frozen
    assert 'id="draw-form"' not in frozen  # not before every secret is revealed
    empty = _post(client, f"{url}/witnesses/1/reveal", {"secret": ""})
    assert empty.status_code == 422 and "<li>秘密: 请输入见证人选定的秘密。</li>" in _text(empty), _text(empty)
    for position, secret in enumerate(SECRETS, start=1):
        assert _post(client, f"{url}/witnesses/{position}/reveal", {"secret": secret}).status_code == 303
    drawn = _follow(client, _post(client, f"{url}/draw", {}))
    assert 'data-state="drawn"' in drawn and drawn.count('id="task-instrument-') == 2  # 20 % of 10, one nozzle each
    assert "王检" in drawn or "李检" in drawn or "张检" in drawn or "赵检" in drawn


def _follow(client, r) -> str:
    assert r.status_code == 303, _text(r)[:500]
    return _text(client.get(r.headers["Location"]))


def test_a_revealed_secret_that_does_not_match_stops_the_draw_and_the_stop_is_kept(app, world, registry):
    _, email = world.user("inspector")
    client = signed_in(app, email)
    url = _post(client, "/spotchecks/plans/new", PLAN_FORM).headers["Location"]
    for secret in SECRETS:
        _post(client, f"{url}/witnesses", {"name": "w", "commitment": hashlib.sha256(secret.encode()).hexdigest()})
    _post(client, f"{url}/freeze", {})
    page = _follow(client, _post(client, f"{url}/witnesses/1/reveal", {"secret": "not the secret"}))
    assert 'class="flash error"' in page and 'data-state="stopped"' in page


def test_nominated_instruments_join_a_drawn_plan_from_its_page(app, world, registry):
    client = app.test_client()
    target = str(_serial_id(app, "JYJ-25-2"))
    _post(client, "/spotchecks/nominate", {"q": "x", "instrument_id": target, "reason": "少油", "phone": "13800138000"},
          "/spotchecks/nominate?q=x")
    plan = _draw(app)
    _, email = world.user("inspector")
    inspector = signed_in(app, email)
    page = _text(inspector.get(f"/spotchecks/plans/{plan}"))
    assert f'id="nominated-{target}"' in page
    bad = _post(inspector, f"/spotchecks/plans/{plan}/nominated-tasks", {"top": "0"})
    assert bad.status_code == 422 and 'id="form-errors"' in _text(bad)
    page = _follow(inspector, _post(inspector, f"/spotchecks/plans/{plan}/nominated-tasks", {"top": "1"}))
    assert 'data-origin="nominated"' in page and 'data-serial="JYJ-25-2"' in page
    _, tech = world.user("technician")
    assert signed_in(app, tech).get(f"/spotchecks/plans/{plan}").status_code == 403
    assert _post(signed_in(app, tech), f"/spotchecks/plans/{plan}/nominated-tasks", {"top": "1"}).status_code == 403


# --- the review ---------------------------------------------------------------------------------------------

def _conclude_first_task(app, world, bench, error_pct: float) -> tuple[int, int, dict]:
    plan = _draw(app)
    users = _inspector_users(app, world)
    _, ti, (first, second) = _first_task(app, plan)
    run = _verify(bench, ti, error_pct)
    with session_scope(app) as session:
        user = lambda n: session.get(results.RegistryInspector, n).user_id  # noqa: E731
        from labs.accounts.models import User
        results.attach_verification(session, session.get(User, user(first)), ti, run)
        results.review(session, session.get(User, user(first)), ti, "pass")
        results.countersign(session, session.get(User, user(second)), ti)
    return plan, ti, users


def test_two_inspectors_review_and_countersign_through_the_review_page(app, world, registry, bench):
    plan = _draw(app)
    users = _inspector_users(app, world)
    task_id, ti, (first, second) = _first_task(app, plan)
    one, two = signed_in(app, users[first][1]), signed_in(app, users[second][1])
    url = f"/spotchecks/task-instruments/{ti}"
    assert "no-runs" in _text(one.get(url))
    assert _post(one, f"{url}/review", {"conclusion": "pass"}).status_code == 422  # nothing attached yet
    run = _verify(bench, ti, 0.45)
    page = _text(one.get(url))
    assert f'<option value="{run}"' in page
    assert _post(one, f"{url}/verification", {"verification_id": "999999"}).status_code == 422
    assert _post(one, f"{url}/verification", {"verification_id": "abc"}).status_code == 422
    with session_scope(app) as session:
        assert session.get(TaskInstrument, ti).verification_id is None
    page = _follow(one, _post(one, f"{url}/verification", {"verification_id": str(run)}))
    assert 'id="error-chart"' in page and "vendor/chart.umd.min.js" in page and "review.js" in page
    assert 'data-inside="no"' in page and 'data-outside="' in page  # +0.45 % is outside ±0.30 %
    assert _post(one, f"{url}/review", {"conclusion": ""}).status_code == 422
    assert _post(one, f"{url}/review", {"conclusion": "maybe"}).status_code == 422
    with session_scope(app) as session:
        assert session.get(TaskInstrument, ti).conclusion is None
    outsider = next(u for i, u in users.items() if i not in (first, second) and i != 5)
    assert _post(signed_in(app, outsider[1]), f"{url}/review", {"conclusion": "fail"}).status_code == 403
    page = _follow(one, _post(one, f"{url}/review", {"conclusion": "fail", "note": "Q1 超差"}))
    assert 'data-conclusion="fail"' in page and 'id="countersign-form"' in page
    assert _post(one, f"{url}/countersign", {}).status_code == 403  # not the one who concluded
    page = _follow(two, _post(two, f"{url}/countersign", {}))
    assert 'id="countersigned"' in page
    public = _text(app.test_client().get("/spotchecks"))
    assert f'id="result-{task_id}"' in public and 'data-verdict="fail"' in public


@pytest.mark.parametrize("role, status", [("technician", 403), ("lab_manager", 403), ("enterprise", 403)])
def test_the_review_page_is_refused_to_other_roles(app, world, registry, role, status):
    plan = _draw(app)
    _, ti, _ = _first_task(app, plan)
    _, email = world.user(role, enterprise=0 if role == "enterprise" else None)
    assert signed_in(app, email).get(f"/spotchecks/task-instruments/{ti}").status_code == status
    assert app.test_client().get(f"/spotchecks/task-instruments/{ti}").headers["Location"].startswith("/login")


# --- the Friday files -----------------------------------------------------------------------------------------

def test_administrators_download_the_weeks_files(app, world, registry, bench, tmp_path):
    _conclude_first_task(app, world, bench, error_pct=0.1)
    with session_scope(app) as session:
        export = results.export_week(session, str(tmp_path))
        export_id = export.id
    _, admin = world.user("admin")
    client = signed_in(app, admin)
    page = _text(client.get("/spotchecks/exports"))
    assert f'id="export-{export.week}"' in page
    csv = client.get(f"/spotchecks/exports/{export_id}.csv")
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf") and "统一社会信用代码" in csv.data.decode("utf-8-sig")
    assert client.get(f"/spotchecks/exports/{export_id}.json").json["week"] == export.week
    assert client.get("/spotchecks/exports/999.csv").status_code == 404
    _, inspector = world.user("inspector")
    assert signed_in(app, inspector).get("/spotchecks/exports").status_code == 403
    assert signed_in(app, inspector).get(f"/spotchecks/exports/{export_id}.csv").status_code == 403
    assert _count(app, PublishedResult) == 1
