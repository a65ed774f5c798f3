"""Real serial lines: the RTU silence, ports that cannot be opened, gateways, several names of one device."""
import asyncio
import os
import socketserver
import struct
import subprocess
import sys
import threading
import time

import pytest
import serial
from click.testing import CliRunner

from devices.cli import rig
from devices.drivers import FdrDriver, TmrDriver
from devices.errors import RigExceptionReply, RigTimeout
from devices.links import LinkError, rtu_silence_s
from devices.transport import Policy
from simulators.harness import RigOptions, simulated_rig


@pytest.mark.parametrize("baud, reads", [(9600, 12), (1200, 4)])
def test_the_driver_keeps_the_rtu_silence_before_every_request(drive, baud, reads):
    with simulated_rig("fdr", "rtu", pace=True, baud=baud) as sim:
        async def poll(pool):
            rig = FdrDriver(sim.link, pool)
            for _ in range(reads):
                await rig.read_live()
            await rig.identify()
        drive(poll)
        silence = sim.silence
    assert silence.required_s == pytest.approx(3.5 * 11 / baud)
    assert silence.frames == reads, str(silence)
    assert silence.broken == 0, str(silence)
    assert silence.shortest_s >= rtu_silence_s(baud)


def test_the_silence_is_fixed_above_19200_baud_and_the_turnaround_adds_to_it():
    from devices.links import parse_link
    assert rtu_silence_s(38400) == rtu_silence_s(115200) == pytest.approx(1.75e-3)
    assert rtu_silence_s(19200) == pytest.approx(3.5 * 11 / 19200)
    link = parse_link("modbus+rtu:///dev/ttyUSB0?baud=9600&turnaround_ms=2.5")
    assert link.silence_s == pytest.approx(3.5 * 11 / 9600 + 0.0025)
    assert parse_link(str(link)) == link and str(link).endswith("&turnaround_ms=2.5")
    assert "turnaround" not in str(parse_link("modbus+rtu:///dev/ttyUSB0"))


def test_a_turnaround_lengthens_the_gap_before_each_request(drive):
    with simulated_rig("fdr", "rtu", pace=True, baud=19200) as sim:
        async def poll(pool):
            rig = FdrDriver(sim.link + "&turnaround_ms=20", pool)
            for _ in range(4):
                await rig.read_live()
        drive(poll)
        silence = sim.silence
    assert silence.frames == 3 and silence.shortest_s >= rtu_silence_s(19200) + 0.020, str(silence)


# --- errors a technician can act on -------------------------------------------------------------

def _rig_cli(*args, drop_root=False):
    """`labs rig ARGS` in a process of its own; as root, without the right to ignore file permissions."""
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if drop_root and os.geteuid() == 0 else []
    return subprocess.run([*prefix, sys.executable, "-m", "devices.cli", *args], capture_output=True, text=True,
                          timeout=60)


def test_a_port_that_refuses_its_settings_is_named_with_the_cause():
    with simulated_rig("fdr", "rtu", parity="E", stopbits=1) as sim:  # a pty takes 8E1 once, not twice
        done = _rig_cli("identify", sim.link, "--map", "fdr", "--timeout", "0.2")
        path = sim.wires[0].path
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"identify: cannot open {path}: settings refused (9600 baud 8E1" in done.stderr


def test_a_device_that_is_not_a_serial_port_is_refused_at_once_by_watch_too():
    done = _rig_cli("watch", "modbus+rtu:///dev/null", "--map", "emb", "--timeout", "0.2")  # no --samples
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot open /dev/null: settings refused" in done.stdout
    assert "Error: no sample read from modbus+rtu:///dev/null: all 1 failed" in done.stderr


def test_a_port_without_permission_says_permission_denied():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.chmod(path, 0)
    try:
        done = _rig_cli("identify", f"modbus+rtu://{path}?parity=N&stopbits=2", "--map", "fdr", drop_root=True)
    finally:
        os.close(master)
        os.close(slave)
    assert done.returncode == 1, done.stderr
    assert f"identify: cannot open {path}: permission denied" in done.stderr


@pytest.mark.parametrize("kind", ["fdr", "tmr"])
def test_a_port_another_program_holds_says_busy(kind):
    transport = "serial" if kind == "tmr" else "rtu"
    with simulated_rig(kind, transport) as sim:
        path = sim.wires[0].path
        holder = serial.Serial(path, 9600, exclusive=True)
        try:
            done = _rig_cli("identify", sim.link, "--map", kind, "--timeout", "0.2", "--retries", "1")
        finally:
            holder.close()
    assert done.returncode == 1
    assert f"cannot open {path}: busy: another program has it open (x2)" in done.stderr, done.stderr


def test_a_port_that_is_gone_says_so(tmp_path):
    path = tmp_path / "ttyUSB9"
    done = _rig_cli("identify", f"serial://{path}", "--map", "tmr", "--timeout", "0.2", "--retries", "0")
    assert done.returncode == 1
    assert f"cannot open {path}: gone: no such device" in done.stderr


def test_watch_exits_non_zero_when_every_sample_failed():
    with simulated_rig("fdr", "tcp") as sim:
        link = sim.link
    result = CliRunner().invoke(rig, ["watch", link, "--map", "fdr", "--samples", "2", "--timeout", "0.1",
                                      "--retries", "0", "--rate", "20"])
    assert result.exit_code == 1
    assert result.output.count("ERROR FDR rig") == 2 and f"no sample read from {link}: all 2 failed" in result.output


def test_watch_exits_non_zero_when_the_poller_dies(monkeypatch):
    async def broken(self):
        raise RuntimeError("decoder fell over")
    monkeypatch.setattr(FdrDriver, "read_live", broken)
    with simulated_rig("fdr", "tcp") as sim:
        result = CliRunner().invoke(rig, ["watch", sim.link, "--map", "fdr", "--samples", "3"])
    assert result.exit_code == 1
    assert "stopped: RuntimeError: decoder fell over" in result.output


def _cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_labs_sim_stops_without_spinning_when_its_line_disappears(socat, tmp_path):
    rig_end, master_end = tmp_path / "rig", tmp_path / "master"
    pair = subprocess.Popen([socat, f"pty,raw,echo=0,link={rig_end}", f"pty,raw,echo=0,link={master_end}"],
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (rig_end.exists() and master_end.exists()):
        assert time.monotonic() < deadline, "socat made no pty pair"
        time.sleep(0.02)
    sim = subprocess.Popen([sys.executable, "-m", "simulators.cli", "fdr", "--modbus-rtu", str(rig_end),
                            "--parity", "N", "--stopbits", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout.readline().startswith("modbus+rtu://")
        before = _cpu_s(sim.pid)
        pair.terminate()
        pair.wait(10)
        time.sleep(1.5)
        cpu = _cpu_s(sim.pid) - before if sim.poll() is None else 0.0
        assert cpu < 0.3, f"the simulator used {cpu:.2f} s of CPU in 1.5 s after its line went"
        assert sim.wait(5) == 1
        assert f"the line at {rig_end} is gone" in sim.stderr.read()
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
        if pair.poll() is None:
            pair.terminate()


# --- gateways ----------------------------------------------------------------------------------

def test_a_gateway_whose_rig_is_silent_is_retried_like_a_timeout(drive):
    with simulated_rig("fdr", "tcp") as sim:  # unit 2 is not there: the simulator answers as a gateway
        async def identify(pool):
            await FdrDriver(sim.link.replace("unit=1", "unit=2"), pool).identify()
        with pytest.raises(RigTimeout) as timeout:
            drive(identify, Policy(timeout_s=1, retries=2))
    assert "no valid reply in 3 attempts" in str(timeout.value)
    assert "exception 11 (gateway target device failed to respond) (x3)" in str(timeout.value)


class _Refuses(socketserver.BaseRequestHandler):
    code = 0

    def handle(self):
        stream = self.request.makefile("rb")
        while len(header := stream.read(7)) == 7:
            tid, _, length, unit = struct.unpack(">HHHB", header)
            pdu = stream.read(length - 1)
            self.request.sendall(struct.pack(">HHHBBB", tid, 0, 3, unit, pdu[0] | 0x80, self.code))


@pytest.mark.parametrize("code, name", [(5, "acknowledge"), (10, "gateway path unavailable")])
def test_exceptions_5_and_10_are_named(drive, code, name):
    handler = type("Refuses", (_Refuses,), {"code": code})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            async def identify(pool):
                await FdrDriver(f"modbus+tcp://127.0.0.1:{server.server_address[1]}", pool).identify()
            with pytest.raises(RigExceptionReply, match=f"exception {code} \\({name}"):
                drive(identify)
        finally:
            server.shutdown()


# --- links ---------------------------------------------------------------------------------------

def test_two_names_of_one_device_share_one_line(drive):
    with simulated_rig("fdr", "rtu", count=2) as sim:
        by_link, device = sim.links[0], sim.links[1].replace(sim.wires[0].path, os.path.realpath(sim.wires[0].path))
        assert os.path.islink(sim.wires[0].path) and by_link != device

        async def identify_both(pool):
            first, second = FdrDriver(by_link, pool), FdrDriver(device, pool)
            assert first._bus is second._bus
            return await asyncio.gather(*(rig.identify() for rig in (first, second, first, second)))
        identities = drive(identify_both)
    assert [i.serial_number for i in identities] == ["FDR-SIM-0001", "FDR-SIM-0002"] * 2


def test_one_device_cannot_speak_two_protocols(drive):
    with simulated_rig("fdr", "rtu") as sim:
        path = sim.wires[0].path

        async def both(pool):
            FdrDriver(sim.link, pool)
            TmrDriver(f"serial://{os.path.realpath(path)}", pool)
        with pytest.raises(LinkError, match="is already open as modbus\\+rtu://"):
            drive(both)


@pytest.mark.parametrize("kind, asked, looks_like", [("emb", "fdr", "EMB"), ("fdr", "emb", "FDR")])
def test_identify_fails_when_the_rig_is_of_another_kind(kind, asked, looks_like):
    with simulated_rig(kind, "tcp") as sim:
        result = CliRunner().invoke(rig, ["identify", sim.link, "--map", asked])
    assert result.exit_code == 1, result.output
    assert f"check that it is an {asked.upper()} rig: " in result.output
    assert f"it looks like an {looks_like} rig" in result.output


# --- one request at a time -----------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_a_request_cut_short_never_lends_its_reply_to_the_next(drive, transport):
    """Two reads alike in function and length: a late reply to the first would pass for the second's."""
    with simulated_rig("fdr", transport, pace=transport == "rtu", options=RigOptions(speed=1)) as sim:
        async def cut_short(pool):
            rig = FdrDriver(sim.link, pool)
            seen = []
            for delay_ms in range(0, 40, 3):
                # registers 200-201 hold "FDR-"; 16-17 (elapsed, f32) hold 0.0 while the rig is idle
                first = asyncio.create_task(rig._bus.read(rig.name, "read", "input", 200, 2, rig.unit))
                await asyncio.sleep(delay_ms / 1000)
                first.cancel()
                seen.append(await rig.read(["elapsed"], "read elapsed"))
            return seen
        seen = drive(cut_short)
    assert seen == [{"elapsed": 0.0}] * len(seen)
