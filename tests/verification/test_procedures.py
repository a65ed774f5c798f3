"""The shipped procedure files, and the check of a procedure document a lab manager posts."""
from __future__ import annotations

import copy

import pytest

from labs.errors import Invalid
from labs.verification import procedures


def shipped(code, version):
    (doc,) = [d for d in procedures.shipped() if (d["code"], d["version"]) == (code, version)]
    return copy.deepcopy(doc)


def bad_fields(doc) -> dict:
    with pytest.raises(Invalid) as caught:
        procedures.validate(doc)
    return caught.value.extra["errors"]


def test_the_four_regulation_versions_are_shipped():
    assert sorted((d["code"], d["version"]) for d in procedures.shipped()) == [
        ("JJG 443", "2006"), ("JJG 443", "2023"), ("JJG 517", "2016"), ("JJG 596", "2012")]


@pytest.mark.parametrize("doc", procedures.shipped(), ids=lambda d: f"{d['code']}-{d['version']}")
def test_every_shipped_file_validates_and_validation_leaves_it_unchanged(doc):
    assert procedures.validate(copy.deepcopy(doc)) == doc


def test_jjg_443_2023_is_in_force_and_2006_is_not():
    assert shipped("JJG 443", "2023")["in_force"] is True
    assert shipped("JJG 443", "2006")["in_force"] is False


def test_each_regulation_has_exactly_one_version_in_force():
    in_force = [d["code"] for d in procedures.shipped() if d["in_force"]]
    assert sorted(in_force) == ["JJG 443", "JJG 517", "JJG 596"]


def test_the_editions_differ_in_repeatability_only_where_the_spec_says():
    assert shipped("JJG 443", "2023")["repeatability"]["limit_pct"] == "0.10"
    assert shipped("JJG 443", "2006")["repeatability"]["limit_pct"] == "0.15"
    assert shipped("JJG 443", "2023")["mpe_pct"] == shipped("JJG 443", "2006")["mpe_pct"] == "0.30"


def test_figures_to_confirm_carry_a_note_saying_so():
    d443, d596, d517 = shipped("JJG 443", "2023"), shipped("JJG 596", "2012"), shipped("JJG 517", "2016")
    for note in (d443["repeatability"]["note"], d443["temperature"]["note"], d443["note"],
                 d596["repetitions"]["note"], d596["creep_test"]["note"], d596["note"],
                 d517["time"]["note"], *(p["note"] for p in d517["points"])):
        assert "to confirm" in note


def test_a_missing_mpe_is_named():
    doc = shipped("JJG 443", "2023")
    del doc["mpe_pct"]
    assert bad_fields(doc) == {"mpe_pct": ["is required"]}


def test_a_meter_limit_missing_for_one_class_is_named_with_its_row():
    doc = shipped("JJG 596", "2012")
    del doc["mpe_table"][1]["mpe_pct"]["2"]
    assert list(bad_fields(doc)) == ["mpe_table[1].mpe_pct.2"]


def test_a_negative_period_is_named():
    doc = shipped("JJG 517", "2016")
    doc["period_months"] = -12
    assert list(bad_fields(doc)) == ["period_months"]


def test_an_unknown_method_is_named_alone():
    doc = shipped("JJG 443", "2023")
    doc["method"] = "guesswork"
    assert list(bad_fields(doc)) == ["method"]


def test_each_bad_field_is_named_by_its_path():
    doc = shipped("JJG 443", "2023")
    doc["points"][1]["volume_l"] = "-20"
    doc["repeatability"]["d_n"]["3"] = "one point six nine"
    doc["fuel_expansion_per_c"]["gasolin"] = "0.0012"
    doc["in_force"] = "yes"
    assert sorted(bad_fields(doc)) == ["fuel_expansion_per_c.gasolin", "in_force", "points[1].volume_l",
                                       "repeatability.d_n.3"]


def test_a_method_on_the_wrong_rig_is_refused():
    doc = shipped("JJG 517", "2016")
    doc["rig_kind"] = "emb"
    assert list(bad_fields(doc)) == ["rig_kind"]


def test_a_point_of_another_method_is_refused():
    doc = shipped("JJG 517", "2016")
    doc["points"].append({"key": "Q1", "operation": "delivery", "flow_of": "q_max", "flow_fraction": "1",
                          "volume_l": "20", "repetitions": 3})
    assert list(bad_fields(doc)) == ["points[2].operation"]


def test_a_power_factor_without_its_l_or_c_is_refused():
    doc = shipped("JJG 596", "2012")
    doc["points"][3]["power_factor"] = "0.5"
    assert list(bad_fields(doc)) == ["points[3].power_factor"]


def test_numbers_may_be_given_as_numbers_and_come_back_as_decimal_strings():
    doc = shipped("JJG 443", "2023")
    doc["mpe_pct"] = 0.3
    doc["fuel_expansion_per_c"]["gasoline"] = 12e-4
    doc["temperature"]["max_difference_c"] = 4
    result = procedures.validate(doc)
    assert (result["mpe_pct"], result["fuel_expansion_per_c"]["gasoline"],
            result["temperature"]["max_difference_c"]) == ("0.3", "0.0012", "4")


def test_a_document_that_is_not_an_object_is_refused():
    assert bad_fields(["JJG 443"]) == {"(document)": ["must be an object"]}
