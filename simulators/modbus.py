"""Modbus TCP and RTU servers for simulated rigs, with fault injection and pacing.

A small framer of our own rather than pymodbus' server: faults (corrupted CRC, dropped
connection, silence) and byte pacing need the frame in hand. The CRC is pymodbus'.
"""
from __future__ import annotations

import asyncio
import contextlib
import struct

from pymodbus.framer.rtu import FramerRTU

from devices.registers import HOLDING, INPUT
from simulators.faults import FaultPlan
from simulators.physics import Refused
from simulators.wire import Wire, WireServer


class ModbusError(Exception):
    def __init__(self, code: int):
        self.code = code


class RegisterBank:
    """A rig model seen through its register map, as a Modbus server answers for it."""

    def __init__(self, model, word_order: str = "ABCD", faults: FaultPlan | None = None):
        self.model, self.word_order = model, word_order
        self.faults = faults or FaultPlan()
        self.map = model.map
        self._input_addresses = {a for f in self.map.table(INPUT) for a in f.addresses}
        self._writable = {a: f for f in self.map.table(HOLDING) if f.access == "rw" for a in f.addresses}
        self._holding = {}
        for f in self.map.table(HOLDING):
            for offset, word in enumerate(f.encode(model.settings[f.name], word_order)):
                self._holding[f.address + offset] = word

    def _registers(self, table: str) -> dict[int, int]:
        if table == HOLDING:
            return self._holding
        values = self.model.values()
        return {f.address + i: w for f in self.map.table(INPUT)
                for i, w in enumerate(f.encode(values[f.name], self.word_order))}

    def read(self, table: str, address: int, count: int) -> list[int]:
        wanted = range(address, address + count)
        known = self._input_addresses if table == INPUT else self._holding
        if not all(a in known for a in wanted):
            raise ModbusError(2)
        registers = self._registers(table)
        return [registers[a] for a in wanted]

    def write(self, address: int, words: list[int]) -> None:
        wanted = range(address, address + len(words))
        if not all(a in self._writable for a in wanted):
            raise ModbusError(2)
        self._holding.update(zip(wanted, words))
        touched = {self._writable[a] for a in wanted}
        for f in touched:
            self.model.settings[f.name] = f.decode([self._holding[a] for a in f.addresses], self.word_order)
        command = next((f for f in touched if f.name == "command"), None)
        if command is not None:
            self._holding[command.address] = 0  # a command reads back 0
            try:
                self.model.command(self.model.settings.pop("command"))
            except Refused as exc:
                raise ModbusError(exc.code) from None
            finally:
                self.model.settings["command"] = 0

    def answer(self, pdu: bytes) -> bytes:
        """The response PDU to a request PDU (exception responses included)."""
        fc = pdu[0]
        try:
            if fc in (3, 4):
                if len(pdu) != 5:
                    raise ModbusError(3)
                address, count = struct.unpack(">HH", pdu[1:5])
                if not 1 <= count <= 125:
                    raise ModbusError(3)
                words = self.read(HOLDING if fc == 3 else INPUT, address, count)
                return struct.pack(f">BB{count}H", fc, 2 * count, *words)
            if fc == 6:
                if len(pdu) != 5:
                    raise ModbusError(3)
                address, value = struct.unpack(">HH", pdu[1:5])
                self.write(address, [value])
                return pdu
            if fc == 16:
                if len(pdu) < 6:
                    raise ModbusError(3)
                address, count, nbytes = struct.unpack(">HHB", pdu[1:6])
                if not 1 <= count <= 123 or nbytes != 2 * count or len(pdu) != 6 + nbytes:
                    raise ModbusError(3)
                self.write(address, list(struct.unpack(f">{count}H", pdu[6:])))
                return pdu[:5]
            raise ModbusError(1)
        except ModbusError as exc:
            return bytes([fc | 0x80, exc.code])


def _faulty_answer(bank: RegisterBank, pdu: bytes) -> tuple[str | None, bytes | None]:
    """The fault drawn for this request and the reply PDU to send (None: send nothing)."""
    fault = bank.faults.next_request()
    if fault in ("no-reply", "drop"):
        return fault, None  # the request is lost on its way: not acted on
    if fault == "exception":
        return fault, bytes([pdu[0] | 0x80, 6])  # busy, not acted on
    return fault, bank.answer(pdu)  # corrupt: acted on, the reply is damaged on its way back


async def serve_tcp(bank: RegisterBank, host: str, port: int, unit: int = 1) -> asyncio.Server:
    """A Modbus TCP server for one rig at `unit`."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            while True:
                tid, protocol, length, request_unit = struct.unpack(">HHHB", await reader.readexactly(7))
                if protocol != 0 or not 2 <= length <= 254:
                    break  # not Modbus: hang up
                pdu = await reader.readexactly(length - 1)
                if request_unit != unit:
                    reply, fault = bytes([pdu[0] | 0x80, 0x0B]), None  # gateway: no such target
                else:
                    fault, reply = _faulty_answer(bank, pdu)
                if fault == "drop":
                    break
                if reply is None:
                    continue
                if fault == "corrupt":  # TCP has no CRC; a reply to another transaction stands in
                    tid ^= 0x5A5A
                writer.write(struct.pack(">HHHB", tid, 0, len(reply) + 1, request_unit) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # the simulator is shutting down: the connection simply ends
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return await asyncio.start_server(connection, host, port)


def _rtu_length(buffer: bytes) -> int | None:
    """Length of the request frame at the start of the buffer; None if not known yet; 0 if unknown."""
    if len(buffer) < 2:
        return None
    if buffer[1] in (3, 4, 6):
        return 8
    if buffer[1] == 16:
        return 9 + buffer[6] if len(buffer) >= 7 else None
    return 0


class RtuServer(WireServer):
    """Modbus RTU on a wire, answering for one bank per unit id."""

    def __init__(self, wire: Wire, banks: dict[int, RegisterBank]):
        super().__init__(wire)
        self.banks = banks
        self._buffer = b""
        self._frame_start = self._last_byte = 0.0
        # A partial frame older than this is line noise.
        self._stale_s = max(3.5 * wire.char_s, 0.05)

    def receive(self, data: bytes, now: float) -> None:
        if self._buffer and now - self._last_byte > self._stale_s:
            self._buffer = b""
        if not self._buffer:
            self._frame_start = now
            self.wire.frame_begins(now)
        self._buffer += data
        self._last_byte = now
        while (length := _rtu_length(self._buffer)) is not None:
            if length == 0:
                self._buffer = b""  # a function no rig here knows: wait for the next frame
                break
            if len(self._buffer) < length:
                break
            frame, self._buffer = self._buffer[:length], self._buffer[length:]
            self.wire.frame_ends(self._frame_start, length, now)
            self._queue.put_nowait((frame, self._frame_start))
            if self._buffer:  # another frame in the same bytes: no silence at all before it
                self._frame_start = now
                self.wire.frame_begins(now)

    async def answer(self, frame: bytes, start: float) -> None:
        if FramerRTU.compute_CRC(frame[:-2]) != int.from_bytes(frame[-2:], "big"):
            return  # a damaged request gets no reply, as on a real bus
        bank = self.banks.get(frame[0])
        if bank is None:
            return  # another unit's request, or a broadcast
        fault, reply = _faulty_answer(bank, frame[1:-2])
        if reply is None:
            return
        adu = frame[:1] + reply
        crc = FramerRTU.compute_CRC(adu)
        if fault == "corrupt":
            # A bit flipped on the way, in the data: a master that skipped the CRC would take a wrong value.
            adu = bank.faults.flip_bit(adu, 2, len(adu))
        await self.wire.send(adu + crc.to_bytes(2, "big"), start, len(frame))
