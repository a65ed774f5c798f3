"""Drivers against simulated rigs over Modbus TCP, Modbus RTU on a pty, and the TMR line on a pty."""
import asyncio
import os
from datetime import timezone

import pytest

from devices.drivers import EmbDriver, FdrDriver, PulseMeasurement, TmrDriver
from devices.errors import RigBusy, RigExceptionReply, RigFault, RigTimeout
from devices.poller import Poller
from devices.transport import Policy
from simulators.harness import RigOptions, simulated_rig

BETA_FUEL = {"gasoline": 12e-4, "diesel": 9e-4}


def dispenser_error_pct(run, beta_fuel):
    """JJG 443: E = (V_J - V_Bt) / V_Bt, V_B corrected for the fuel's and the standard's expansion."""
    t_b, t_j = run.rig_temperature_c, run.nozzle_temperature_c
    v_bt = run.reference_volume_l * (1 + beta_fuel * (t_j - t_b) + run.standard_expansion_per_c * (t_b - 20))
    return (run.indicated_volume_l - v_bt) / v_bt * 100


def pulse_error_pct(measurement, dut_constant, reference_constant, pulses):
    """JJG 596 pulse method: m0 = C0·N / C_L, error = (m0 - m) / m."""
    m0 = reference_constant * pulses / dut_constant
    return (m0 - measurement.reference_pulses) / measurement.reference_pulses * 100


@pytest.mark.parametrize("transport, word_order", [("tcp", "ABCD"), ("tcp", "CDAB"), ("rtu", "ABCD")])
def test_fdr_delivery_gives_the_simulated_dispensers_error_within_its_scatter(drive, transport, word_order):
    options = RigOptions(error_curve="4:0.25,40:-0.1", scatter_pct=0.02, seed=11, speed=400, word_order=word_order)
    with simulated_rig("fdr", transport, options=options) as sim:
        model = sim.models[0]

        async def deliveries(pool):
            rig = FdrDriver(sim.link, pool, name="FDR bay 2", poll_interval_s=0.02)
            identity = await rig.identify()
            found = []
            for flow in (40.0, 40.0, 4.0):
                run = await rig.run_delivery(20.0, flow, "gasoline", 3)
                found.append((flow, run, model.run_error_pct))
            return identity, found
        identity, found = drive(deliveries)

    assert identity.serial_number == "FDR-SIM-0001" and identity.firmware == "1.03"
    for flow, run, drawn_error in found:
        assert run.reference_volume_l == 20.0 and run.nozzle == 3
        measured = dispenser_error_pct(run, BETA_FUEL["gasoline"])
        assert measured == pytest.approx(drawn_error, abs=1e-3)
        true_error = 0.25 if flow == 4.0 else -0.1
        assert abs(measured - true_error) < 5 * 0.02


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_emb_error_measurement_matches_the_simulated_meter(drive, transport):
    options = RigOptions(error_pct=0.4, scatter_pct=0.01, seed=5, speed=500, meter_constant=1200)
    with simulated_rig("emb", transport, options=options) as sim:
        async def measure(pool):
            rig = EmbDriver(sim.link, pool, poll_interval_s=0.02)
            await rig.set_load_point(220.0, 5.0, 0.5)
            result = await rig.measure_error(20, 1200, 6_000_000)
            return result, sim.models[0].run_error_pct
        result, drawn_error = drive(measure)
    assert result.dut_pulses == 20 and result.power_factor == 0.5
    assert result.active_power_w == pytest.approx(550.0)
    assert (result.pulses, result.dut_constant, result.reference_constant) == (20, 1200, 6_000_000)
    # one reference pulse in ~100 000 is the pulse method's resolution here
    assert result.error_pct() == pytest.approx(pulse_error_pct(result, 1200, 6_000_000, 20), rel=1e-12)
    assert result.error_pct() == pytest.approx(drawn_error, abs=2e-3)
    assert abs(drawn_error - 0.4) < 5 * 0.01


def test_emb_error_of_the_pulse_method_from_counts():
    """JJG 596: m0 = C0·N / (C_L·K_I·K_U) = 600000·10/1200 = 5000; m = 4980 counted: γ = 20/4980."""
    counts = dict(measurement_id=1, voltage_v=220, current_a=5, power_factor=1, active_power_w=1100,
                  frequency_hz=50, bench_error_pct=0, elapsed_s=1)
    direct = PulseMeasurement(pulses=10, dut_constant=1200, reference_constant=600000, dut_pulses=10,
                              reference_pulses=4980, **counts)
    assert direct.error_pct() == pytest.approx(0.401606, abs=1e-6)
    # through a 5 A / 100 A current transformer (K_I = 20), the same counts mean m0 = 250
    assert direct.error_pct(k_i=20) == pytest.approx((250 - 4980) / 4980 * 100)
    # through a 10 kV / 100 V voltage transformer (K_U = 100) they mean m0 = 50
    assert direct.error_pct(k_u=100) == pytest.approx((50 - 4980) / 4980 * 100)
    # a meter behind both (K_I = 20, K_U = 100): m0 = 60 000 000·10 / (1200·20·100) = 250; m = 249: γ = 1/249
    transformed = PulseMeasurement(pulses=10, dut_constant=1200, reference_constant=60_000_000, dut_pulses=10,
                                   reference_pulses=249, **counts)
    assert transformed.error_pct(k_i=20, k_u=100) == pytest.approx(100 / 249)


def test_emb_a_wrong_meter_constant_entered_shows_as_an_error_and_the_figure_holds(drive):
    """The DUT pulses at its own constant; the bench's C_L only enters m0. Later writes change no result."""
    with simulated_rig("emb", "tcp", options=RigOptions(speed=500, meter_constant=1200)) as sim:
        async def measure(pool):
            rig = EmbDriver(sim.link, pool, poll_interval_s=0.02)
            await rig.set_load_point(220.0, 5.0, 1.0)
            wrong = await rig.measure_error(10, 1000, 600_000)  # nameplate misread: 1000 for 1200
            await rig.write({"dut_constant": 1200, "reference_constant": 300_000, "pulses": 3}, "change settings")
            return wrong, await rig.read_live()
        wrong, after = drive(measure)
    assert wrong.error_pct() == pytest.approx(20.0, abs=0.01)  # m0 = 6000, m = 5000
    assert wrong.bench_error_pct == pytest.approx(20.0, abs=0.01)
    assert after["error"] == pytest.approx(wrong.bench_error_pct, rel=1e-6)


def test_emb_creep_test_counts_no_pulse_and_starting_test_counts_some(drive):
    with simulated_rig("emb", "tcp", options=RigOptions(speed=2000)) as sim:
        async def tests(pool):
            rig = EmbDriver(sim.link, pool, poll_interval_s=0.02)
            await rig.set_load_point(253.0, 0.0, 1.0)  # 115 % Un, no current
            creep = await rig.creep_test(1800)
            await rig.set_load_point(220.0, 0.02, 1.0)  # 0.004 Ib for Ib = 5 A
            starting = await rig.starting_test(1800)
            return creep, starting
        creep, starting = drive(tests)
    assert creep.dut_pulses == 0 and creep.elapsed_s == 1800
    assert starting.dut_pulses >= 1


def test_tmr_run_and_standing_time_read_back_the_simulated_meter(drive):
    options = RigOptions(error_pct=-1.5, time_error_pct=0.05, speed=400)
    with simulated_rig("tmr", "serial", options=options) as sim:
        async def runs(pool):
            rig = TmrDriver(sim.link, pool, poll_interval_s=0.02)
            identity = await rig.identify()
            await rig.reset()
            after_run = await rig.run_distance(2000, 40)
            after_wait = await rig.standing(120)
            return identity, after_run, after_wait
        identity, after_run, after_wait = drive(runs)
    assert identity.serial_number == "TMR-SIM-0001"
    assert after_run.reference_distance_m == pytest.approx(2000, abs=0.01)
    assert after_run.meter_distance_m == pytest.approx(2000 * 0.985, abs=0.01)
    assert after_wait.reference_time_s == pytest.approx(2000 / (40 / 3.6) + 120, abs=0.01)
    assert after_wait.meter_time_s == pytest.approx(after_wait.reference_time_s * 1.0005, abs=0.01)
    assert after_wait.fare > after_run.fare  # standing time is charged


def test_a_start_while_running_is_refused_as_busy(drive):
    with simulated_rig("fdr", "tcp", options=RigOptions(speed=1)) as sim:
        async def two_starts(pool):
            rig = FdrDriver(sim.link, pool, poll_interval_s=0.05)
            first = asyncio.create_task(rig.run_delivery(100, 10, "diesel", 1))
            async with asyncio.timeout(30):  # the rig shows the run within a poll or two; never wait forever
                while (await rig.read_live())["status"] != 1:
                    await asyncio.sleep(0.02)
            try:
                with pytest.raises(RigBusy, match="a run is in progress") as refused:
                    await rig.run_delivery(5, 10, "diesel", 2)
            finally:
                first.cancel()
                await rig.reset()
            return refused.value
        refused = drive(two_starts)
    assert refused.code == 6 and refused.rig == "FDR rig"


@pytest.mark.parametrize("kind, transport", [("fdr", "tcp"), ("emb", "rtu"), ("tmr", "serial")])
def test_a_fault_in_the_middle_of_a_run_is_a_typed_error(drive, kind, transport):
    options = RigOptions(fault_rate=1.0, faults=("run-fault",), speed=500, seed=2)
    with simulated_rig(kind, transport, options=options) as sim:
        async def run(pool):
            if kind == "fdr":
                await FdrDriver(sim.link, pool, poll_interval_s=0.02).run_delivery(20, 40, "gasoline", 1)
            elif kind == "emb":
                rig = EmbDriver(sim.link, pool, poll_interval_s=0.02)
                await rig.set_load_point(220, 5, 1)
                await rig.measure_error(10, 1200, 600000)
            else:
                await TmrDriver(sim.link, pool, poll_interval_s=0.02).run_distance(1000, 30)
        with pytest.raises(RigFault) as fault:
            drive(run)
    assert fault.value.fault_code > 0 and sim.link in str(fault.value) and "fault" in fault.value.detail


def test_a_rig_that_does_not_answer_gives_a_timeout_naming_rig_link_and_operation(drive):
    with simulated_rig("fdr", "tcp") as sim:
        link = sim.link  # closed once the block ends

    async def identify(pool):
        await FdrDriver(link, pool, name="FDR bay 7").identify()
    with pytest.raises(RigTimeout) as timeout:
        drive(identify)
    assert str(timeout.value).startswith(f"FDR bay 7 on {link}: identify: no valid reply in 7 attempts")


def test_a_silent_serial_line_gives_a_timeout(drive):
    master, slave = os.openpty()  # a line with nothing on the far end
    try:
        async def identify(pool):
            await EmbDriver(f"modbus+rtu://{os.ttyname(slave)}?parity=N&stopbits=2", pool).identify()
        with pytest.raises(RigTimeout, match="identify: no valid reply in 7 attempts of 0.3 s"):
            drive(identify, Policy(timeout_s=0.3, retries=6))  # nothing answers, however long one waits
    finally:
        os.close(master)
        os.close(slave)


def test_reading_outside_the_map_is_exception_2(drive):
    with simulated_rig("emb", "rtu") as sim:
        async def probe(pool):
            rig = EmbDriver(sim.link, pool)
            await rig._bus.read(rig.name, "read register 50", "input", 50, 1, rig.unit)
        with pytest.raises(RigExceptionReply, match="exception 2 \\(illegal data address\\)"):
            drive(probe)


def test_rigs_sharing_one_rtu_line_answer_for_themselves(drive):
    with simulated_rig("fdr", "rtu", count=4, options=RigOptions(seed=1)) as sim:
        async def identify_all(pool):
            rigs = [FdrDriver(link, pool) for link in sim.links]
            return await asyncio.gather(*(rig.identify() for rig in rigs for _ in range(5)))
        identities = drive(identify_all)
    assert [i.serial_number for i in identities] == [f"FDR-SIM-{n:04d}" for n in range(1, 5) for _ in range(5)]


def test_poller_time_stamps_samples_of_many_rigs(drive):
    with simulated_rig("emb", "tcp", count=3) as tcp, simulated_rig("tmr", "serial") as line:
        async def poll(pool):
            poller = Poller()
            for i, link in enumerate(tcp.links):
                poller.add(EmbDriver(link, pool, name=f"EMB {i}"), rate_hz=20)
            poller.add(TmrDriver(line.link, pool, name="TMR"), rate_hz=10)
            samples = []
            stats = await poller.run(samples.append, duration_s=0.5)
            return stats, samples
        stats, samples = drive(poll)
    assert stats.samples == len(samples) and len(stats.lateness_s) == len(samples)
    assert {s.rig for s in samples} == {"EMB 0", "EMB 1", "EMB 2", "TMR"}
    for sample in samples:
        assert sample.error is None and sample.at.tzinfo is timezone.utc
    assert all(s.values["status"] == 0 for s in samples if s.rig != "TMR")
    assert all(s.values["status"] == "IDLE" for s in samples if s.rig == "TMR")


@pytest.mark.parametrize("kind, transport", [("emb", "rtu"), ("tmr", "serial")])
def test_a_line_paced_at_9600_baud_carries_the_same_values(drive, kind, transport):
    with simulated_rig(kind, transport, pace=True, baud=9600) as sim:
        async def identify(pool):
            driver = (EmbDriver if kind == "emb" else TmrDriver)(sim.link, pool)
            return await driver.identify(), await driver.read_live()
        identity, live = drive(identify)
    assert identity.serial_number == f"{kind.upper()}-SIM-0001"
    assert live["status"] in (0, "IDLE")
