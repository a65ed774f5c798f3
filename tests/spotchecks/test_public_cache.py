"""The public results' cache: a worker keeps the serialised answer per newest published row, so a
flood of requests costs one small query each outside any transaction (on SQLite none while nothing
is written); a new publication is never answered with the old set. Both come a page at a time."""
from __future__ import annotations

import datetime as dt
import re

import requests
from sqlalchemy import select

from labs import chain
from labs.db import session_scope, utcnow
from labs.spotchecks.models import Plan, PublishedResult, RegistryEntity, Task
from tests.conftest import running_server

URL = "/api/v1/spotchecks/results"


def _plan(app, name: str = "round") -> int:
    with session_scope(app) as session:
        plan = Plan(name=name, instrument_kind="fuel_dispenser", regions=["320100"], entity_kinds=["fuel_station"],
                    shares={"high": "1"}, draw_date=dt.date.today(), state="drawn")
        session.add(plan)
        session.flush()
        return plan.id


def _publish(app, plan_id: int, n: int, verdict: str = "pass") -> int:
    """Entity n's task in the plan, concluded and published (appended to the chain, committed)."""
    with session_scope(app) as session:
        entity = session.scalars(select(RegistryEntity).order_by(RegistryEntity.id)).all()[n]
        task = Task(plan_id=plan_id, entity_id=entity.id, origin="drawn", inspector_ids=[1, 2],
                    concluded_on=dt.date.today())
        session.add(task)
        session.flush()
        row = chain.append(session, PublishedResult(
            task_id=task.id, plan_id=plan_id, published_on=dt.date.today(), at=utcnow(),
            content={"entity": {"credit_code": entity.credit_code, "name": entity.name}, "verdict": verdict}))
        return row.id


def test_a_publication_is_served_at_once_and_a_conditional_request_sees_it(app, registry, client):
    plan = _plan(app)
    assert client.get(URL).json == []
    first = _publish(app, plan, 0)
    answer = client.get(URL)
    assert [r["id"] for r in answer.json] == [first]
    assert answer.headers["Cache-Control"] == "public, max-age=60"
    etag = answer.headers["ETag"]
    assert client.get(URL, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": etag}).data == b""

    second = _publish(app, plan, 1, "fail")  # committed by another session, as another worker would
    fresh = client.get(URL, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and [r["id"] for r in fresh.json] == [second, first]
    assert fresh.json[0]["content"]["verdict"] == "fail" and fresh.headers["ETag"] != etag
    assert client.get(URL, headers={"If-None-Match": fresh.headers["ETag"]}).status_code == 304


def test_each_query_has_its_own_answer_and_follows_publications(app, registry, client):
    one, two = _plan(app, "one"), _plan(app, "two")
    a = _publish(app, one, 0)
    assert [r["id"] for r in client.get(f"{URL}?plan_id={one}").json] == [a]
    assert client.get(f"{URL}?plan_id={two}").json == []
    b = _publish(app, two, 1)
    assert [r["id"] for r in client.get(f"{URL}?plan_id={two}").json] == [b]
    assert [r["id"] for r in client.get(f"{URL}?plan_id={one}").json] == [a]
    assert [r["id"] for r in client.get(URL).json] == [b, a]
    assert client.get(f"{URL}?plan_id=x").status_code == 422


def test_every_worker_of_the_real_server_serves_a_new_publication(app, registry, database_url, tmp_path):
    plan = _plan(app)
    first = _publish(app, plan, 0)
    with running_server(database_url, tmp_path, workers=2) as base, requests.Session() as http:
        for _ in range(20):  # warm both workers' caches (new connections spread over the workers)
            assert [r["id"] for r in requests.get(base + URL, timeout=10).json()] == [first]
        second = _publish(app, plan, 1)
        for _ in range(20):
            assert [r["id"] for r in requests.get(base + URL, timeout=10).json()] == [second, first]
        assert http.get(base + URL, timeout=10).status_code == 200


def test_the_public_page_shows_a_new_publication_and_a_changed_plan_at_once(app, registry, client):
    plan = _plan(app, "第一轮")
    first = client.get("/spotchecks")
    assert first.status_code == 200 and "第一轮" in first.get_data(as_text=True)
    assert client.get("/spotchecks").get_data() == first.get_data()  # the same page, from the worker's copy
    _publish(app, plan, 0)
    with session_scope(app) as session:
        name = session.scalars(select(RegistryEntity.name).order_by(RegistryEntity.id)).first()
    published = client.get("/spotchecks", headers={"If-None-Match": first.headers["ETag"]})
    assert published.status_code == 200 and name in published.get_data(as_text=True)
    with session_scope(app) as session:
        session.get(Plan, plan).name = "第一轮（更正）"
    renamed = client.get("/spotchecks").get_data(as_text=True)
    assert "第一轮（更正）" in renamed


def test_results_come_a_page_at_a_time_newest_first_and_the_next_page_is_linked(app, registry, client):
    plan = _plan(app)
    ids = [_publish(app, plan, n) for n in range(5)]
    pages, url = [], URL + "?limit=2"
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        pages.append([r["id"] for r in answer.json])
        link = answer.headers.get("Link")
        url = link[1:link.index(">")] if link else None
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    # a page already read stays the same when more are published
    second_page = client.get(URL + f"?limit=2&before={ids[3]}")
    _publish(app, plan, 5)
    assert client.get(URL + f"?limit=2&before={ids[3]}").json == second_page.json
    assert len(client.get(URL).json) == 6  # twenty a page by default
    for bad in ("limit=0", "limit=201", "before=x"):
        refused = client.get(f"{URL}?{bad}")
        assert refused.status_code == 422 and bad.split("=")[0] in refused.json["errors"], bad


def test_the_public_page_comes_a_hundred_rows_at_a_time_and_refuses_a_page_that_is_not_a_number(app, registry, client):
    for name in ("一", "二", "三", "四"):
        plan = _plan(app, f"第{name}轮")
        for n in range(26):
            _publish(app, plan, n)
    first = client.get("/spotchecks")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert html.count('id="result-') == 100 and 'id="older"' in html and 'id="newer"' not in html
    second = client.get("/spotchecks?page=2").get_data(as_text=True)
    assert second.count('id="result-') == 4 and 'id="newer"' in second and 'id="older"' not in second
    assert set(re.findall(r'id="result-(\d+)"', html)).isdisjoint(re.findall(r'id="result-(\d+)"', second))
    for bad in ("0", "abc", "10001", "١"):  # an Arabic-Indic digit is a digit to Python, not to us
        refused = client.get(f"/spotchecks?page={bad}")
        assert refused.status_code == 400 and "10000" in refused.get_data(as_text=True), bad
