"""The simulators answer as real Modbus devices do: illegal function, all-or-nothing writes, broadcasts, TCP unit ids."""
import asyncio
import struct

import pytest
import serial
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.framer.rtu import FramerRTU

from devices.links import parse_link
from devices.maps import FDR
from simulators.harness import RigOptions, simulated_rig


def _rtu(frame: bytes) -> bytes:
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


def _exchange(path: str, frame: bytes) -> bytes:
    with serial.Serial(path, 9600, parity="N", stopbits=2, timeout=2) as port:
        port.write(_rtu(frame))
        return port.read(5)


@pytest.mark.parametrize("request_pdu", [bytes([1, 0, 0, 0, 1]),  # read coils: a known length
                                         bytes([0x41, 1, 2, 3]),  # a user function: framed by the silence after it
                                         bytes([43, 14, 1, 0])])  # read device identification
def test_an_unsupported_function_over_rtu_answers_exception_1(request_pdu):
    with simulated_rig("fdr", "rtu") as sim:
        reply = _exchange(parse_link(sim.link).path, bytes([1]) + request_pdu)
    assert reply == _rtu(bytes([1, request_pdu[0] | 0x80, 1]))


def _run(coroutine):
    return asyncio.run(coroutine)


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_a_write_of_several_registers_is_all_or_nothing(transport):
    with simulated_rig("fdr", transport, options=RigOptions(speed=1)) as sim:
        async def writes():
            client = (AsyncModbusTcpClient("127.0.0.1", port=int(sim.link.split(":")[2].split("?")[0]))
                      if transport == "tcp" else AsyncModbusSerialClient(parse_link(sim.link).path, baudrate=9600,
                                                                         parity="N", stopbits=2))
            await client.connect()
            try:
                bad_nozzle = FDR["target_volume"].encode(7.0) + FDR["target_flow"].encode(9.0) + [1, 99]
                refused_value = await client.write_registers(100, bad_nozzle, device_id=1)
                start = FDR["target_volume"].encode(100.0) + FDR["target_flow"].encode(10.0) + [1, 2, 1]
                assert not (await client.write_registers(100, start, device_id=1)).isError()
                # while it runs: new settings with a start are refused as busy, the settings kept
                busy = await client.write_registers(104, [2, 5, 1], device_id=1)
                after = (await client.read_holding_registers(100, count=7, device_id=1)).registers
                await client.write_registers(106, [3], device_id=1)  # reset
                return refused_value, busy, after
            finally:
                client.close()
        refused_value, busy, after = _run(writes())
    assert refused_value.exception_code == 3
    assert busy.exception_code == 6
    assert FDR.decode_block("holding", 100, after, "ABCD") == {
        "target_volume": 100.0, "target_flow": 10.0, "fuel_kind": 1, "nozzle": 2, "command": 0}


def test_a_broadcast_write_is_applied_by_every_rig_without_a_reply():
    with simulated_rig("fdr", "rtu", count=3) as sim:
        async def broadcast():
            client = AsyncModbusSerialClient(parse_link(sim.link).path, baudrate=9600, parity="N", stopbits=2, timeout=0.5,
                                             retries=0)
            await client.connect()
            try:
                await client.write_registers(100, FDR["target_volume"].encode(12.5), device_id=0,
                                             no_response_expected=True)
                await asyncio.sleep(0.3)  # nothing answers: a reply would collide with the others'
                leftover = client.ctx.recv_buffer
                volumes = []
                for unit in (1, 2, 3):
                    reply = await client.read_holding_registers(100, count=2, device_id=unit)
                    volumes.append(FDR["target_volume"].decode(reply.registers))
                return leftover, volumes
            finally:
                client.close()
        leftover, volumes = _run(broadcast())
    assert leftover == b"" and volumes == [12.5, 12.5, 12.5]


@pytest.mark.parametrize("unit", [0, 255])
def test_a_tcp_rig_answers_to_unit_0_and_255(unit):
    with simulated_rig("fdr", "tcp") as sim:
        async def firmware():
            client = AsyncModbusTcpClient("127.0.0.1", port=int(sim.link.split(":")[2].split("?")[0]))
            await client.connect()
            try:
                return await client.read_input_registers(216, count=1, device_id=unit)
            finally:
                client.close()
        reply = _run(firmware())
    assert not reply.isError() and reply.registers == [103]
