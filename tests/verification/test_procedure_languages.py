"""A procedure document that does not validate is refused in the reader's language: over the API as
Accept-Language asks, on the procedures page in the page's language; the fields are named by their
paths, the same in every language."""
from __future__ import annotations

import copy
import html
import json
import re

import pytest

from labs.verification import procedures
from tests.web.conftest import csrf_token, signed_in


def corrected_443(**changes) -> dict:
    doc = copy.deepcopy(next(d for d in procedures.shipped() if d["code"] == "JJG 443" and d["in_force"]))
    return {**doc, "version": "2023-x", **changes}


BAD_FIELDS = corrected_443(mpe_pct="-1", in_force="yes", period_months=0, rig_kind="rig")


@pytest.fixture
def manager(world):
    _, email = world.user("lab_manager")
    return email


@pytest.mark.parametrize("accept, errors, detail", [
    ("en", {"mpe_pct": ["must be positive"], "in_force": ["must be true or false"],
            "period_months": ["must be at least 1"], "rig_kind": ['must be fdr, emb, or tmr, not "rig"']},
     "the procedure document has 4 bad field(s): in_force, mpe_pct, period_months, rig_kind"),
    ("zh-CN", {"mpe_pct": ["必须为正数"], "in_force": ["必须是 true 或 false"], "period_months": ["不得小于 1"],
               "rig_kind": ['必须是 fdr、emb或tmr，而不是 "rig"']},
     "规程文档有 4 个字段有误：in_force, mpe_pct, period_months, rig_kind"),
    ("zh-TW", {"mpe_pct": ["必須為正數"], "in_force": ["必須是 true 或 false"], "period_months": ["不得小於 1"],
               "rig_kind": ['必須是 fdr、emb或tmr，而不是 "rig"']},
     "規程文件有 4 個欄位有誤：in_force, mpe_pct, period_months, rig_kind"),
])
def test_the_api_refuses_a_bad_document_in_the_language_asked_for(client, world, manager, accept, errors, detail):
    headers = {**world.token(manager), "Accept-Language": accept}
    r = client.post("/api/v1/procedures", json=BAD_FIELDS, headers=headers)
    assert r.status_code == 422, r.get_json()
    problem = r.get_json()
    assert problem["code"] == "invalid_procedure"
    assert problem["errors"] == errors and problem["detail"] == detail


def test_rules_across_fields_are_refused_in_the_language_asked_for(client, world, manager):
    doc = corrected_443(rig_kind="emb")
    doc["points"][1]["key"] = doc["points"][0]["key"]
    headers = world.token(manager)
    english = client.post("/api/v1/procedures", json=doc, headers={**headers, "Accept-Language": "en"}).get_json()
    chinese = client.post("/api/v1/procedures", json=doc, headers={**headers, "Accept-Language": "zh"}).get_json()
    key = doc["points"][0]["key"]
    assert english["errors"] == {"rig_kind": ["method dispenser_volume runs on the fdr rig"],
                                 "points[1].key": [f'"{key}" is used twice']}
    assert chinese["errors"] == {"rig_kind": ["方法 dispenser_volume 须在 fdr 检定装置上进行"],
                                 "points[1].key": [f'"{key}" 重复使用']}


def test_the_procedures_page_refuses_a_bad_document_in_the_pages_language(app, manager):
    client = signed_in(app, manager)
    page = "/verification/procedures"

    def refused(lang: str) -> list[str]:
        r = client.post(f"{page}?lang={lang}", data={"csrf_token": csrf_token(client, page),
                                                     "document": json.dumps(BAD_FIELDS)})
        assert r.status_code == 422
        summary = r.get_data(as_text=True).split('id="form-errors"')[1].split("</div>")[0]
        return [html.unescape(item) for item in re.findall(r"<li>([^<]*)</li>", summary)]

    assert "mpe_pct: 必须为正数" in refused("zh_Hans_CN")
    assert "period_months: 不得小於 1" in refused("zh_Hant_TW")
    assert 'rig_kind: must be fdr, emb, or tmr, not "rig"' in refused("en")
