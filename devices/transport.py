"""One client and one owner task per physical link; bounded retries with a deadline per attempt.

pymodbus clients allow one request in flight, so every request on a link goes through the
link's owner task, one at a time, whichever driver or poller asked for it.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass
from typing import Awaitable, Callable

import serial
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from devices.errors import RigBusy, RigExceptionReply, RigTimeout
from devices.links import Link, LinkError, RtuLink, SerialLink, TcpLink
from devices.maps import ChecksumError, tmr_unframe

MODBUS_EXCEPTIONS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                     4: "server device failure", 6: "server device busy"}


@dataclass(frozen=True)
class Policy:
    """How long one attempt may take and how many more attempts follow a failed one."""

    timeout_s: float = 1.0
    retries: int = 3


RTU_SETTLE_S = 0.05


class _Retry(Exception):
    """A failed attempt that may be retried: silence, a bad frame, a dropped connection."""


class _Owner:
    """Runs the jobs of one link one at a time, in one task."""

    def __init__(self):
        self._queue: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def run(self, job: Callable[[], Awaitable]):
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._serve())
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((job, future))
        return await future

    async def _serve(self):
        while True:
            job, future = await self._queue.get()
            if future.cancelled():
                continue
            # A caller that gives up does not cut a job short: its reply must not land in the next one.
            try:
                result = await job()
            except Exception as exc:  # handed to the caller, whatever it is
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)

    async def stop(self):
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class _Bus:
    def __init__(self, link: Link, policy: Policy):
        self.link, self.policy = link, policy
        self._owner = _Owner()

    async def _with_retries(self, who: str, action: str, attempt: Callable[[], Awaitable], once: bool):
        """Run attempt until it succeeds, at most 1 + retries times; `once` for commands that act."""
        tried = []
        for _ in range(1 if once else self.policy.retries + 1):
            try:
                return await self._owner.run(attempt)
            except _Retry as exc:
                tried.append(str(exc))
            except RigBusy as exc:
                if once:
                    raise RigBusy(who, str(self.link), action, exc.detail, exc.code) from None
                tried.append(exc.detail)
            except RigExceptionReply as exc:
                raise type(exc)(who, str(self.link), action, exc.detail, exc.code) from None
        what = "; ".join(f"{m} (x{n})" if n > 1 else m for m, n in Counter(tried).items())
        detail = f"no valid reply in {len(tried)} attempts of {self.policy.timeout_s:g} s ({what})"
        raise RigTimeout(who, str(self.link), action, detail)

    async def close(self):
        await self._owner.stop()


class ModbusBus(_Bus):
    """A Modbus TCP connection or RTU line, shared by every unit on it."""

    def __init__(self, link: TcpLink | RtuLink, policy: Policy):
        super().__init__(link, policy)
        # pymodbus' own retries and reconnects are off: the retry loop here bounds them all.
        common = dict(timeout=policy.timeout_s, retries=0, reconnect_delay=0)
        if isinstance(link, TcpLink):
            self.client = AsyncModbusTcpClient(link.host, port=link.port, **common)
        else:
            self.client = AsyncModbusSerialClient(link.path, baudrate=link.baud, parity=link.parity,
                                                  stopbits=link.stopbits, bytesize=8, **common)
        self.client.set_max_no_responses(1 << 30)  # silence is retried here, not a reason to hang up

    async def _call(self, function: int, request: Callable[[], Awaitable]):
        if not self.client.connected and not await self.client.connect():
            raise _Retry("cannot connect")
        try:
            reply = await request()
        except ModbusException as exc:
            await self._settle()
            raise _Retry(str(exc).split("] ", 1)[-1][:120]) from None
        # pymodbus matches replies by unit (and transaction id on TCP) only: a reply of another
        # function is a stray frame (an earlier request's late answer), never this request's value.
        if reply.function_code & 0x7F != function:
            await self._settle()
            raise _Retry(f"bad reply: function {reply.function_code} to a function {function} request")
        if reply.isError():
            code = getattr(reply, "exception_code", 0)
            text = f"exception {code} ({MODBUS_EXCEPTIONS.get(code, 'unknown')})"
            raise (RigBusy if code == 6 else RigExceptionReply)("", "", "", text, code)
        return reply

    async def _settle(self):
        if isinstance(self.link, RtuLink):
            # A late reply must land while nothing is asked, where pymodbus drops it, and not
            # be taken for the answer to the next request: RTU frames carry no transaction id.
            await asyncio.sleep(RTU_SETTLE_S)

    async def read(self, who: str, action: str, table: str, address: int, count: int, unit: int) -> list[int]:
        async def attempt():
            function, fn = ((4, self.client.read_input_registers) if table == "input"
                            else (3, self.client.read_holding_registers))
            reply = await self._call(function, lambda: fn(address, count=count, device_id=unit))
            if len(reply.registers) != count:
                raise _Retry(f"bad reply: {len(reply.registers)} registers for {count}")
            return list(reply.registers)
        return await self._with_retries(who, action, attempt, once=False)

    async def write(self, who: str, action: str, address: int, registers: list[int], unit: int,
                    once: bool = False) -> None:
        async def attempt():
            reply = await self._call(16, lambda: self.client.write_registers(address, registers, device_id=unit))
            if (reply.address, reply.count) != (address, len(registers)):
                raise _Retry(f"bad reply: wrote {reply.count} registers at {reply.address}, "
                             f"asked {len(registers)} at {address}")
        await self._with_retries(who, action, attempt, once)

    async def close(self):
        await super().close()
        self.client.close()


class LineBus(_Bus):
    """A serial line speaking the TMR line protocol."""

    def __init__(self, link: SerialLink, policy: Policy):
        super().__init__(link, policy)
        self._port: serial.Serial | None = None

    def _transact(self, command: str) -> bytes:
        if self._port is None:
            try:
                self._port = serial.Serial(self.link.path, self.link.baud, parity=self.link.parity,
                                           stopbits=self.link.stopbits, timeout=self.policy.timeout_s)
            except (serial.SerialException, ValueError) as exc:
                raise _Retry(f"cannot open: {exc}") from None
        try:
            self._port.reset_input_buffer()  # a late reply to an earlier attempt must not answer this one
            self._port.write(command.encode("ascii") + b"\r\n")
            return self._port.read_until(b"\r\n")
        except (serial.SerialException, OSError) as exc:
            self._port.close()  # reopened by the next attempt: the adapter may have been replugged
            self._port = None
            raise _Retry(f"line failed: {exc}") from None

    async def request(self, who: str, action: str, command: str, once: bool = False) -> str:
        async def attempt():
            line = await asyncio.to_thread(self._transact, command)
            if not line.endswith(b"\r\n"):
                raise _Retry("no reply" if not line else f"incomplete reply {line!r}")
            try:
                text = tmr_unframe(line)
            except ChecksumError as exc:
                raise _Retry(str(exc)) from None
            if text.startswith("ERR"):
                code = text.split()[1] if len(text.split()) > 1 else ""
                code = int(code) if code.isdigit() else 0
                raise (RigBusy if code == 6 else RigExceptionReply)("", "", "", text, code)
            return text
        return await self._with_retries(who, action, attempt, once)

    async def close(self):
        await super().close()
        if self._port is not None:
            self._port.close()


class BusPool:
    """The buses of one event loop, one per physical link; drivers on one link share it."""

    def __init__(self, policy: Policy = Policy()):
        self.policy = policy
        self._buses: dict[tuple, _Bus] = {}

    def bus(self, link: Link) -> _Bus:
        bus = self._buses.get(link.bus)
        if bus is None:
            kind = LineBus if isinstance(link, SerialLink) else ModbusBus
            bus = self._buses[link.bus] = kind(link, self.policy)
        elif isinstance(link, RtuLink) and (bus.link.baud, bus.link.parity, bus.link.stopbits) != (
                link.baud, link.parity, link.stopbits):
            raise LinkError(f"{link.path} is already open as {bus.link}; one line has one baud and parity")
        return bus

    async def aclose(self):
        for bus in self._buses.values():
            await bus.close()
        self._buses.clear()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()
