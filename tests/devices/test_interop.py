"""Interoperability: mbpoll (libmodbus, written elsewhere) drives the `labs-sim` Modbus rigs by the datasheet."""
import os
import re
import subprocess
import sys
import time

import pytest

LINE = ["-b", "9600", "-P", "even", "-s", "1"]  # the datasheet's default 8E1 line


@pytest.fixture
def serve():
    """serve(*args): run `labs-sim ARGS` until the test ends; return the first link it prints."""
    started = []

    def start(*args):
        process = subprocess.Popen([sys.executable, "-m", "simulators.cli", *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        link = process.stdout.readline().strip()
        assert link, process.stderr.read()
        return link
    yield start
    for process in started:
        process.terminate()
        process.wait(10)


@pytest.fixture
def pty_pair(socat, tmp_path):
    """Two linked pseudo-terminals made by socat: (rig end, master end)."""
    rig_end, master_end = tmp_path / "rig", tmp_path / "master"
    process = subprocess.Popen([socat, f"pty,raw,echo=0,link={rig_end}", f"pty,raw,echo=0,link={master_end}"],
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (rig_end.exists() and master_end.exists()):
        assert time.monotonic() < deadline and process.poll() is None, "socat made no pty pair"
        time.sleep(0.02)
    yield str(rig_end), str(master_end)
    process.terminate()
    process.wait(10)


def poll(mbpoll, target, *args, write=()):
    """One mbpoll request (0-based addresses); the values it printed, by address."""
    done = subprocess.run([mbpoll, *target, "-a", "1", "-0", "-1", "-o", "2", *args, *(["--", *write] if write else [])],
                          capture_output=True, text=True, timeout=30)
    output = done.stdout + done.stderr
    assert "failed" not in output, output
    return {int(a): int(v, 16) if v.startswith("0x") else float(v)
            for a, v in re.findall(r"^\[(\d+)\]:\s+(\S+)", done.stdout, re.M)}


def wait_for_status_done(mbpoll, target):
    deadline = time.monotonic() + 30
    while (status := poll(mbpoll, target, "-t", "3", "-r", "0")[0]) != 2:
        assert status == 1 and time.monotonic() < deadline, f"status {status}"
        time.sleep(0.05)


def _targets(transport, serve, request, kind, options):
    if transport == "tcp":
        link = serve(kind, "--modbus-tcp", "127.0.0.1:0", *options)
        port = re.search(r":(\d+)\?", link).group(1)
        return ["-m", "tcp", "-p", port, "127.0.0.1"]
    rig_end, master_end = request.getfixturevalue("pty_pair")
    serve(kind, "--modbus-rtu", rig_end, "--parity", "E", "--stopbits", "1", *options)
    return ["-m", "rtu", *LINE, master_end]


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_mbpoll_runs_a_delivery_on_the_fdr_simulator(mbpoll, serve, request, transport):
    target = _targets(transport, serve, request, "fdr", ["--speed", "200", "--error-pct", "0.3"])
    serial = poll(mbpoll, target, "-t", "3:hex", "-r", "200", "-c", "17")
    text = b"".join(int(serial[a]).to_bytes(2, "big") for a in range(200, 216)).decode().rstrip()
    assert text == "FDR-SIM-0001" and serial[216] == 103

    poll(mbpoll, target, "-t", "4:float", "-B", "-r", "100", write=["10", "40"])  # 10 L at 40 L/min
    poll(mbpoll, target, "-t", "4", "-r", "104", write=["1", "2"])  # diesel, nozzle 2
    assert poll(mbpoll, target, "-t", "4:float", "-B", "-r", "100", "-c", "2") == {100: 10, 102: 40}
    poll(mbpoll, target, "-t", "4", "-r", "106", write=["1"])  # start
    wait_for_status_done(mbpoll, target)

    run = poll(mbpoll, target, "-t", "3:float", "-B", "-r", "4", "-c", "8")
    assert run[4] == 10 and run[8] == 40
    t_b, t_j = run[10], run[12]
    v_bt = run[4] * (1 + 9e-4 * (t_j - t_b) + 50e-6 * (t_b - 20))
    # mbpoll prints 6 significant digits: the error to about 0.001 %
    assert (run[6] - v_bt) / v_bt * 100 == pytest.approx(0.3, abs=0.002)
    assert poll(mbpoll, target, "-t", "4", "-r", "106")[106] == 0  # a command reads back 0


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_mbpoll_runs_an_error_measurement_on_the_emb_simulator(mbpoll, serve, request, transport):
    target = _targets(transport, serve, request, "emb", ["--speed", "500", "--error-pct", "-0.5"])
    poll(mbpoll, target, "-t", "4:float", "-B", "-r", "100", write=["220", "5", "1"])
    poll(mbpoll, target, "-t", "4:int", "-B", "-r", "106", write=["1200", "6000000"])
    poll(mbpoll, target, "-t", "4", "-r", "110", write=["20", "1"])  # N = 20, start
    wait_for_status_done(mbpoll, target)
    pulses = poll(mbpoll, target, "-t", "3:int", "-B", "-r", "14", "-c", "2")
    assert pulses[14] == 20
    m0 = 6_000_000 * 20 / 1200
    assert (m0 - pulses[16]) / pulses[16] * 100 == pytest.approx(-0.5, abs=0.002)
    assert poll(mbpoll, target, "-t", "3:float", "-B", "-r", "18")[18] == pytest.approx(-0.5, abs=0.002)


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_mbpoll_outside_the_map_gets_illegal_data_address(mbpoll, serve, request, transport):
    target = _targets(transport, serve, request, "fdr", [])
    done = subprocess.run([mbpoll, *target, "-a", "1", "-0", "-1", "-t", "3", "-r", "50"],
                          capture_output=True, text=True, timeout=30)
    assert "Illegal data address" in done.stdout + done.stderr


def test_a_pty_linked_by_the_simulator_works_for_mbpoll(mbpoll, serve, tmp_path):
    """--modbus-rtu PATH with nothing at PATH: the simulator makes the pty pair itself."""
    path = str(tmp_path / "fdr")
    serve("fdr", "--modbus-rtu", path)
    assert os.path.islink(path)
    values = poll(mbpoll, ["-m", "rtu", *LINE, path], "-t", "3", "-r", "216")
    assert values == {216: 103}


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_mbpoll_reading_coils_gets_illegal_function(mbpoll, serve, request, transport):
    target = _targets(transport, serve, request, "fdr", [])
    done = subprocess.run([mbpoll, *target, "-a", "1", "-0", "-1", "-o", "2", "-t", "0", "-r", "0"],
                          capture_output=True, text=True, timeout=30)
    assert "Illegal function" in done.stdout + done.stderr, done.stdout + done.stderr
