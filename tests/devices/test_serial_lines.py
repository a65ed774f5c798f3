"""Real serial lines: the RTU silence, ports that cannot be opened, gateways, several names of one device."""
import asyncio

import pytest

from devices.drivers import FdrDriver
from devices.links import rtu_silence_s
from simulators.harness import simulated_rig


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
