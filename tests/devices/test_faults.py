"""Fault injection: every call either returns the simulated rig's true value or raises a RigError."""
import socketserver
import struct
import threading

import pytest

from devices.drivers import FdrDriver, TmrDriver
from devices.errors import RigError, RigTimeout
from devices.transport import Policy
from simulators.harness import RigOptions, simulated_rig

# Injected silence costs a whole timeout, so fault tests keep it short; a spurious timeout on a busy
# machine is one more retry, never a failure.
QUICK = Policy(timeout_s=0.3, retries=6)
# Every reply sent, if corrupted or wrong: long enough for one to arrive on a busy machine.
REPLIES_ARRIVE = Policy(timeout_s=1.0, retries=2)
CASES = [("fdr", "tcp", kind) for kind in ("no-reply", "corrupt", "exception", "drop")] + [
    ("fdr", "rtu", kind) for kind in ("no-reply", "corrupt", "exception")] + [
    ("tmr", "serial", kind) for kind in ("no-reply", "corrupt", "exception")]


def _error_of_fdr_run(run):
    t_b, t_j = run.rig_temperature_c, run.nozzle_temperature_c
    v_bt = run.reference_volume_l * (1 + 12e-4 * (t_j - t_b) + run.standard_expansion_per_c * (t_b - 20))
    return (run.indicated_volume_l - v_bt) / v_bt * 100


@pytest.mark.parametrize("kind, transport, fault", CASES)
def test_under_faults_a_driver_returns_true_values_or_a_typed_error(drive, kind, transport, fault):
    options = RigOptions(error_pct=0.2, scatter_pct=0.05, seed=7, speed=500, fault_rate=0.3, faults=(fault,))
    with simulated_rig(kind, transport, options=options) as sim:
        model = sim.models[0]

        async def work(pool):
            driver = (FdrDriver if kind == "fdr" else TmrDriver)(sim.link, pool, poll_interval_s=0.02)
            outcomes = []
            for _ in range(12):
                try:
                    outcomes.append(("identity", vars(await driver.identify()),
                                     {"serial_number": model.serial_number, "firmware": "1.03"}))
                except RigError as exc:
                    outcomes.append(("error", exc, None))
            for _ in range(2):
                try:
                    if kind == "fdr":
                        run = await driver.run_delivery(10, 40, "gasoline", 1)
                        outcomes.append(("run", _error_of_fdr_run(run), model.run_error_pct))
                    else:
                        await driver.reset()
                        reading = await driver.run_distance(500, 50)
                        outcomes.append(("run", reading.meter_distance_m / reading.reference_distance_m,
                                         1 + model.run_error_pct / 100))
                        # The rig prints each value to two decimals.
                        truth = {name: round(value, 2) for name, value in model.reading().items()}
                        outcomes.append(("reading", vars(reading), truth))
                except RigError as exc:
                    outcomes.append(("error", exc, None))
            return outcomes
        outcomes = drive(work, QUICK)
        injected = sim.faults[0].injected

    assert injected.get(fault, 0) > 0
    assert model.run_count <= 2, "a retried start began a second run"
    values = [o for o in outcomes if o[0] != "error"]
    assert values, "every call failed: the retries did not recover from a single fault"
    for what, found, truth in values:
        assert found == (pytest.approx(truth, abs=1e-5) if what == "run" else truth), what
    for what, exc, _ in outcomes:
        if what == "error":
            assert sim.link in str(exc)


@pytest.mark.parametrize("kind, transport", [("fdr", "tcp"), ("fdr", "rtu"), ("tmr", "serial")])
def test_a_corrupted_frame_never_reaches_a_caller(drive, kind, transport):
    """Every reply corrupted: no call may return anything."""
    options = RigOptions(fault_rate=1.0, faults=("corrupt",))
    with simulated_rig(kind, transport, options=options) as sim:
        async def identify(pool):
            driver = (FdrDriver if kind == "fdr" else TmrDriver)(sim.link, pool)
            return await driver.identify()
        with pytest.raises(RigTimeout, match="identify: no valid reply in 3 attempts") as timeout:
            drive(identify, REPLIES_ARRIVE)
        assert sim.faults[0].injected["corrupt"] == 3
    if kind == "tmr":
        assert "fails its checksum" in str(timeout.value)


class _StrayReplies(socketserver.BaseRequestHandler):
    """A Modbus TCP server gone wrong: reads get an input-register reply (function 4) whatever was
    asked, writes an echo of another address. Well-formed frames with the right transaction id."""

    def handle(self):
        stream = self.request.makefile("rb")
        while len(header := stream.read(7)) == 7:
            tid, _, length, unit = struct.unpack(">HHHB", header)
            pdu = stream.read(length - 1)
            address, count = struct.unpack(">HH", pdu[1:5])
            if pdu[0] in (3, 4):
                reply = struct.pack(f">BB{count}H", 4, 2 * count, *[0x4120] * count)  # 10.0 as f32
            else:
                reply = struct.pack(">BHH", pdu[0], address + 1, count)
            self.request.sendall(struct.pack(">HHHB", tid, 0, len(reply) + 1, unit) + reply)


@pytest.fixture
def stray_server():
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _StrayReplies) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"modbus+tcp://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


def test_a_reply_of_another_function_or_address_never_becomes_a_value(drive, stray_server):
    async def read_settings(pool):
        return await FdrDriver(stray_server, pool).read(["target_volume", "target_flow"], "read settings")
    with pytest.raises(RigTimeout, match="bad reply: function 4 to a function 3 request"):
        drive(read_settings, Policy(timeout_s=5, retries=1))

    async def write_settings(pool):
        await FdrDriver(stray_server, pool).write({"target_volume": 10.0}, "set volume")
    with pytest.raises(RigTimeout, match="bad reply: wrote 2 registers at 101, asked 2 at 100"):
        drive(write_settings, Policy(timeout_s=5, retries=1))
