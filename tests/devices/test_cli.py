"""`rig identify|watch` for technicians and `labs-sim` argument checking."""
import datetime as dt
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from click.testing import CliRunner

from devices.cli import rig
from simulators.cli import main as labs_sim
from simulators.harness import RigOptions, simulated_rig


def test_rig_identify_prints_serial_number_and_firmware():
    with simulated_rig("emb", "rtu") as sim:
        result = CliRunner().invoke(rig, ["identify", sim.link, "--map", "emb"])
    assert result.exit_code == 0, result.output
    assert result.output == "serial number: EMB-SIM-0001\nfirmware: 1.03\n"


def test_rig_identify_speaks_the_tmr_line_protocol():
    with simulated_rig("tmr", "serial") as sim:
        result = CliRunner().invoke(rig, ["identify", sim.link, "--map", "tmr"])
    assert result.exit_code == 0, result.output
    assert "serial number: TMR-SIM-0001" in result.output


@pytest.fixture
def shanghai_clock(monkeypatch):
    """This computer's local time zone set to Beijing time for the test (and put back after)."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield ZoneInfo("Asia/Shanghai")
    monkeypatch.undo()
    time.tzset()


def test_rig_watch_prints_live_values_stamped_in_local_time(shanghai_clock):
    with simulated_rig("fdr", "tcp", options=RigOptions(speed=10)) as sim:
        result = CliRunner().invoke(rig, ["watch", sim.link, "--map", "fdr", "--rate", "20", "--samples", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    for line in lines:
        match = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})  status=idle .* rig_temperature=15\.000 °C", line)
        assert match, line
        # Beijing time, not UTC: eight hours from it, far more than a run of this test takes.
        stamped = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=shanghai_clock)
        assert abs(stamped - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)


def test_rig_watch_writes_the_tmr_status_in_the_same_case_as_the_others():
    with simulated_rig("tmr", "serial") as sim:
        result = CliRunner().invoke(rig, ["watch", sim.link, "--map", "tmr", "--samples", "1"])
    assert result.exit_code == 0, result.output
    assert "  status=idle " in result.output


def test_rig_help_says_what_the_rig_kinds_are():
    result = CliRunner().invoke(rig, ["watch", "--help"])
    assert "fdr, the fuel dispenser test rig" in result.output and "tmr, the taxi meter test rig" in result.output


def test_rig_with_a_bad_link_says_which_part_is_wrong():
    result = CliRunner().invoke(rig, ["identify", "modbus+tcp://10.0.0.5?unit=1", "--map", "fdr"])
    assert result.exit_code == 2
    assert "Invalid value for LINK: port is missing" in result.output


def test_rig_with_a_link_of_the_wrong_protocol_for_the_map_is_refused():
    result = CliRunner().invoke(rig, ["identify", "serial:///dev/ttyUSB0", "--map", "emb"])
    assert result.exit_code == 2
    assert "the EMB rig speaks Modbus" in result.output


def test_rig_that_does_not_answer_fails_naming_the_link():
    with simulated_rig("fdr", "tcp") as sim:
        link = sim.link
    result = CliRunner().invoke(rig, ["identify", link, "--map", "fdr", "--timeout", "0.2", "--retries", "1"])
    assert result.exit_code == 1
    assert f"Error: FDR rig on {link}: identify: no valid reply in 2 attempts" in result.output


def test_labs_sim_needs_exactly_one_transport():
    result = CliRunner().invoke(labs_sim, ["fdr"])
    assert result.exit_code == 2 and "give exactly one of --modbus-tcp, --modbus-rtu, --serial" in result.output


def test_labs_sim_refuses_a_protocol_the_rig_does_not_speak():
    result = CliRunner().invoke(labs_sim, ["tmr", "--modbus-tcp", "127.0.0.1:5020"])
    assert result.exit_code == 2 and "TMR is served with --serial" in result.output


def test_labs_sim_refuses_a_bad_address_and_a_bad_error_curve():
    bad_address = CliRunner().invoke(labs_sim, ["fdr", "--modbus-tcp", "5020"])
    assert bad_address.exit_code == 2 and "'5020' must be HOST:PORT" in bad_address.output
    bad_curve = CliRunner().invoke(labs_sim, ["fdr", "--modbus-tcp", "127.0.0.1:0", "--error-curve", "4=0.2"])
    assert bad_curve.exit_code == 1 and "must be x:pct pairs" in bad_curve.output
    bad_fault = CliRunner().invoke(labs_sim, ["fdr", "--modbus-tcp", "127.0.0.1:0", "--faults", "fire"])
    assert bad_fault.exit_code == 2 and "unknown fire" in bad_fault.output


def test_labs_sim_serves_several_tmr_rigs_each_on_a_line_of_its_own(tmp_path):
    labs_sim_bin = Path(sys.executable).with_name("labs-sim")
    proc = subprocess.Popen([str(labs_sim_bin), "tmr", "--serial", str(tmp_path / "tmr"), "--count", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        links = [proc.stdout.readline().strip() for _ in range(3)]
        assert links == [f"serial://{tmp_path}/tmr-{i}?baud=9600&parity=N&stopbits=1" for i in (1, 2, 3)]
        serials = []
        for link in links:
            result = CliRunner().invoke(rig, ["identify", link, "--map", "tmr"])
            assert result.exit_code == 0, result.output
            serials.append(result.output.splitlines()[0])
        assert serials == [f"serial number: TMR-SIM-000{i}" for i in (1, 2, 3)]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    assert not any(tmp_path.iterdir())  # the pty links are removed on exit
