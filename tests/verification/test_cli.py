"""`labs verify run` as a real process against a simulated rig: the result as JSON on stdout, with each
point's raw readings named as the rig's register map names them."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from sqlalchemy import select

from devices import maps
from labs.db import session_scope
from labs.verification.models import Certificate, Result
from simulators.harness import RigOptions, simulated_rig
from tests.conftest import LABS_BIN
from tests.verification.conftest import FAST

GASOLINE_BETA_PER_C = 12e-4


def _labs(database_url: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "instance"),
           "LC_ALL": "C"}  # English, whatever this machine's locale, unless --lang says otherwise
    return subprocess.run([str(LABS_BIN), *args], env=env, capture_output=True, text=True, timeout=180)


def _verify(database_url, tmp_path, rig_code, serial, *extra):
    return _labs(database_url, tmp_path, "verify", "run", "--procedure", "JJG 443", "--rig", rig_code,
                 "--instrument", serial, "--nozzle", "1", *extra)


def test_verify_run_prints_the_result_as_json(bench, database_url, tmp_path):
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=-0.26, speed=FAST, seed=4)) as sim:
        rig_id = bench.rig("fdr", sim.link, sim.models[0].serial_number)
        bench.instrument("fuel_dispenser", serial_number="DSP-CLI-1")
        done = _verify(database_url, tmp_path, f"FDR-{bench.seq - 1}", "DSP-CLI-1", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "done" and out["verdict"] == "pass" and out["procedure"] == "JJG 443-2023"
    assert out["instrument"] == "DSP-CLI-1" and out["rig"] == f"FDR-{bench.seq - 1}"
    assert "reading" in done.stderr  # progress on the terminal, not in the JSON
    with session_scope(bench.app) as session:
        result = session.scalar(select(Result).where(Result.verification_id == out["verification"]))
        certificate = session.scalar(select(Certificate).where(Certificate.result_id == result.id))
        assert (out["result"], out["certificate"]) == (result.id, certificate.number)
        assert out["next_due"] == result.next_due.isoformat()
        assert result.verification.rig_id == rig_id
    delivery_fields = set(maps.LIVE_FIELDS["fdr"]) - {"status", "fault_code"}
    assert [p["key"] for p in out["points"]] == ["Q1", "Q2"]
    for point in out["points"]:
        assert len(point["readings"]) == 3
        for reading in point["readings"]:
            values = reading["values"]
            assert {"reference_volume", "indicated_volume", "rig_temperature", "nozzle_temperature",
                    "ambient_temperature", "standard_expansion", "flow_rate", "elapsed"} <= set(values)
            assert set(values) - {"run_id", "target_volume", "target_flow", "fuel_kind", "nozzle"} <= delivery_fields
            v_bt = values["reference_volume"] * (1 + GASOLINE_BETA_PER_C * (values["nozzle_temperature"]
                                                                           - values["rig_temperature"])
                                                 + values["standard_expansion"] * (values["rig_temperature"] - 20))
            assert (values["indicated_volume"] / v_bt - 1) * 100 == pytest.approx(-0.26, abs=0.005)
        assert point["errors_pct"] == pytest.approx([-0.26] * 3, abs=0.005)
        assert point["rounded_pct"] == "-0.26"
        assert (point["mpe_low_pct"], point["mpe_high_pct"]) == ("-0.30", "0.30")
        assert point["passed"] is True


def test_verify_run_without_json_prints_a_line_and_a_failed_instrument_gets_its_notice(bench, database_url,
                                                                                   tmp_path):
    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.4, speed=FAST, seed=4)) as sim:
        bench.rig("fdr", sim.link, sim.models[0].serial_number)
        bench.instrument("fuel_dispenser", serial_number="DSP-CLI-2")
        done = _verify(database_url, tmp_path, f"FDR-{bench.seq - 1}", "DSP-CLI-2")
    # The run completed: a failing instrument is a result (a notice of failure), not an error.
    assert done.returncode == 0, done.stderr
    assert ": done, fail, TZ" in done.stdout


def test_a_rig_answering_with_another_serial_number_exits_1_naming_both(bench, database_url, tmp_path):
    with simulated_rig("fdr", "tcp", options=RigOptions(speed=FAST)) as sim:
        bench.rig("fdr", sim.link, "FDR-REAL-4711")
        bench.instrument("fuel_dispenser", serial_number="DSP-CLI-3")
        done = _verify(database_url, tmp_path, sim.link, "DSP-CLI-3", "--json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert out["state"] == "failed" and out["verdict"] is None and out["certificate"] is None
    assert "FDR-SIM-0001" in out["problem"] and "FDR-REAL-4711" in out["problem"]
    assert "FDR-SIM-0001" in done.stderr and "FDR-REAL-4711" in done.stderr
    assert all(p["readings"] == [] for p in out["points"])


def test_an_unknown_instrument_exits_with_a_message(bench, database_url, tmp_path):
    bench.rig("fdr", "modbus+tcp://127.0.0.1:1502?unit=1", "FDR-SIM-0001")
    done = _verify(database_url, tmp_path, f"FDR-{bench.seq}", "NO-SUCH-SERIAL", "--json")
    assert done.returncode != 0 and done.stdout == ""
    assert "no fuel dispenser with serial number NO-SUCH-SERIAL" in done.stderr, done.stderr
    chinese = _labs(database_url, tmp_path, "--lang", "zh_Hans_CN", "verify", "run", "--procedure", "JJG 443",
                    "--rig", f"FDR-{bench.seq}", "--instrument", "NO-SUCH-SERIAL")
    assert chinese.returncode != 0 and "没有出厂编号为 NO-SUCH-SERIAL 的燃油加油机" in chinese.stderr, chinese.stderr
