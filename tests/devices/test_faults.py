"""Fault injection: every call either returns the simulated rig's true value or raises a RigError."""
import pytest

from devices.drivers import FdrDriver, TmrDriver
from devices.errors import RigError, RigTimeout
from devices.transport import Policy
from simulators.harness import RigOptions, simulated_rig

QUICK = Policy(timeout_s=0.3, retries=6)
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
                    outcomes.append(("identity", (await driver.identify()).serial_number, model.serial_number))
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
        assert found == pytest.approx(truth, abs=1e-5), what
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
            drive(identify, Policy(timeout_s=0.3, retries=2))
        assert sim.faults[0].injected["corrupt"] == 3
    if kind == "tmr":
        assert "fails its checksum" in str(timeout.value)
