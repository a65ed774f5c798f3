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
        """Write all the registers or none: a refused value or command leaves every setting as it was."""
        wanted = range(address, address + len(words))
        if not all(a in self._writable for a in wanted):
            raise ModbusError(2)
        holding = {**self._holding, **dict(zip(wanted, words))}
        touched = {self._writable[a] for a in wanted}
        values = {f.name: f.decode([holding[a] for a in f.addresses], self.word_order) for f in touched}
        if any(f.valid is not None and values[f.name] not in f.valid for f in touched):
            raise ModbusError(3)
        command = values.pop("command", None)
        before = dict(self.model.settings)
        self.model.settings.update(values)
        if command is not None:
            holding[self.map["command"].address] = 0  # a command reads back 0
            try:
                self.model.command(command)
            except Refused as exc:
                self.model.settings.clear()
                self.model.settings.update(before)
                raise ModbusError(exc.code) from None
        self._holding = holding

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
                if request_unit not in (unit, 0, 255):  # 0 and 255: "this device", as TCP devices take them
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


# Request lengths (unit, function, ..., CRC) of the public function codes: a fixed length, or
# (the offset of a byte count, the length without the counted bytes).
_REQUEST_LENGTHS = {1: 8, 2: 8, 3: 8, 4: 8, 5: 8, 6: 8, 7: 4, 8: 8, 11: 4, 12: 4, 15: (6, 9), 16: (6, 9),
                    17: 4, 20: (2, 5), 21: (2, 5), 22: 10, 23: (10, 13), 24: 6}


def _rtu_length(buffer: bytes) -> int | None:
    """Length of the request frame at the start of the buffer; None if not known yet; 0 if only the
    silence after it can tell (a function code this table does not know)."""
    if len(buffer) < 2:
        return None
    length = _REQUEST_LENGTHS.get(buffer[1], 0)
    if isinstance(length, tuple):
        at, fixed = length
        return fixed + buffer[at] if len(buffer) > at else None
    return length


class RtuServer(WireServer):
    """Modbus RTU on a wire, answering for one bank per unit id, and applying broadcasts (unit 0)."""

    def __init__(self, wire: Wire, banks: dict[int, RegisterBank]):
        super().__init__(wire)
        self.banks = banks
        self._buffer = b""
        self._frame_start = self._last_byte = 0.0
        # A partial frame older than this is line noise; a frame of unknown length ends after it.
        self._stale_s = max(3.5 * wire.char_s, 0.05)
        self._silence_timer: asyncio.TimerHandle | None = None

    def receive(self, data: bytes, now: float) -> None:
        if self._silence_timer is not None:
            self._silence_timer.cancel()
            self._silence_timer = None
        if self._buffer and now - self._last_byte > self._stale_s:
            self._buffer = b""
        if not self._buffer:
            self._frame_start = now
            self.wire.frame_begins(now)
        self._buffer += data
        self._last_byte = now
        while (length := _rtu_length(self._buffer)) is not None:
            if length == 0:  # the silence after it will say where it ends
                self._silence_timer = asyncio.get_running_loop().call_later(self._stale_s, self._silence_ends)
                break
            if len(self._buffer) < length:
                break
            frame, self._buffer = self._buffer[:length], self._buffer[length:]
            self._take(frame, now)
            if self._buffer:  # another frame in the same bytes: no silence at all before it
                self._frame_start = now
                self.wire.frame_begins(now)

    def _silence_ends(self) -> None:
        self._silence_timer = None
        frame, self._buffer = self._buffer, b""
        if len(frame) >= 4:
            self._take(frame, self._last_byte)

    def _take(self, frame: bytes, now: float) -> None:
        self.wire.frame_ends(self._frame_start, len(frame), now)
        self._queue.put_nowait((frame, self._frame_start))

    async def answer(self, frame: bytes, start: float) -> None:
        if FramerRTU.compute_CRC(frame[:-2]) != int.from_bytes(frame[-2:], "big"):
            return  # a damaged request gets no reply, as on a real bus
        if frame[0] == 0:  # a broadcast: every rig on the line acts on a write, none answers
            if frame[1] in (5, 6, 15, 16):
                for bank in self.banks.values():
                    bank.answer(frame[1:-2])
            return
        bank = self.banks.get(frame[0])
        if bank is None:
            return  # another unit's request
        fault, reply = _faulty_answer(bank, frame[1:-2])
        if reply is None:
            return
        adu = frame[:1] + reply
        crc = FramerRTU.compute_CRC(adu)
        if fault == "corrupt":
            # A bit flipped on the way, in the data: a master that skipped the CRC would take a wrong value.
            adu = bank.faults.flip_bit(adu, 2, len(adu))
        await self.wire.send(adu + crc.to_bytes(2, "big"), start, len(frame))
