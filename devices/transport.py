"""One client per physical link, its requests one at a time; bounded retries with a deadline per attempt.

pymodbus clients allow one request in flight, so the requests on a link take turns under the
link's lock, whichever driver or poller asked. A request abandoned half way (its caller was
cancelled) resets the link, so that its late reply can never answer the next request.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
import termios
from collections import Counter
from dataclasses import dataclass
from typing import Awaitable, Callable

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from devices.errors import RigBusy, RigExceptionReply, RigTimeout, RigUnreachable
from devices.links import Link, LinkError, RtuLink, SerialLink, TcpLink, rtu_character_s
from devices.maps import ChecksumError, tmr_unframe
from devices.ports import PortError, device_of, diagnose, open_port, settings_text

MODBUS_EXCEPTIONS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                     4: "server device failure", 5: "acknowledge: accepted, still working on it",
                     6: "server device busy", 10: "gateway path unavailable",
                     11: "gateway target device failed to respond"}
# What an RS-485 gateway answers when the rig behind it stays silent: a timeout by other means.
GATEWAY_NO_REPLY = 11


def exception_text(code: int) -> str:
    return f"exception {code} ({MODBUS_EXCEPTIONS.get(code, 'unknown')})"


@dataclass(frozen=True)
class Policy:
    """How long one attempt may take and how many more attempts follow a failed one.

    On an RTU line an attempt also gets the time its frames take at the line's baud rate."""

    timeout_s: float = 1.0
    retries: int = 3


RTU_SETTLE_S = 0.05
RTU_LONGEST_FRAME = 256  # bytes


class _Retry(Exception):
    """A failed attempt that may be retried: silence, a bad frame, a dropped connection."""


class _Bus:
    def __init__(self, link: Link, policy: Policy):
        self.link, self.policy = link, policy
        self._lock = asyncio.Lock()

    def _abandoned(self) -> None:
        """A request was cut short: whatever it still brings must not answer the next one."""

    async def _with_retries(self, who: str, action: str, attempt: Callable[..., Awaitable], once: bool, *args):
        """Run attempt(*args) until it succeeds, at most 1 + retries times; `once` for commands that act."""
        tried = []
        for _ in range(1 if once else self.policy.retries + 1):
            try:
                async with self._lock:
                    try:
                        return await attempt(*args)
                    except asyncio.CancelledError:
                        self._abandoned()
                        raise
            except _Retry as exc:
                tried.append(str(exc))
            except PortError as exc:  # the device cannot be opened, and trying again will not help
                raise RigUnreachable(who, str(self.link), action, str(exc)) from None
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
        pass


class _RtuLine:
    """The timing of a Modbus RTU line: the silence before each request, frame times, settling.

    Every byte sent or received (pymodbus traces them) pushes back the moment the next request
    may start: the line's silence (3.5 characters, and the link's turnaround) after its last byte.
    """

    def __init__(self, link: RtuLink):
        self.character_s = rtu_character_s(link.baud)
        self.silence_s = link.silence_s
        self.quiet_at = 0.0  # monotonic time from which the line has been quiet long enough

    def traced(self, sending: bool, data: bytes) -> bytes:
        # A frame sent goes out after the bytes before it; a frame received is over when it is seen.
        end = time.monotonic() + (len(data) * self.character_s if sending else 0)
        if end + self.silence_s > self.quiet_at:
            self.quiet_at = end + self.silence_s
        return data

    async def quiet(self) -> None:
        while (wait := self.quiet_at - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    def timeout_s(self, base_s: float, request_len: int, reply_len: int) -> float:
        """The policy's time for the rig to answer, plus the time both frames take on the line."""
        return base_s + (request_len + reply_len) * self.character_s + self.silence_s

    def settle(self, reply_len: int = RTU_LONGEST_FRAME) -> None:
        """After a failed or abandoned request: a late reply must land while nothing is asked, where
        pymodbus drops it, and not be taken for the answer to the next request (RTU frames carry no
        transaction id). Its whole length has to arrive, however slow the line."""
        self.quiet_at = max(self.quiet_at, time.monotonic() + RTU_SETTLE_S + reply_len * self.character_s
                            + self.silence_s)


class ModbusBus(_Bus):
    """A Modbus TCP connection or RTU line, shared by every unit on it."""

    def __init__(self, link: TcpLink | RtuLink, policy: Policy):
        super().__init__(link, policy)
        # pymodbus' own retries and reconnects are off: the retry loop here bounds them all.
        common = dict(timeout=policy.timeout_s, retries=0, reconnect_delay=0)
        if isinstance(link, TcpLink):
            self._line = None
            self.client = AsyncModbusTcpClient(link.host, port=link.port, **common)
        else:
            self._line = _RtuLine(link)
            self.client = AsyncModbusSerialClient(link.path, baudrate=link.baud, parity=link.parity,
                                                  stopbits=link.stopbits, bytesize=8,
                                                  trace_packet=self._line.traced, **common)
        self.client.set_max_no_responses(1 << 30)  # silence is retried here, not a reason to hang up

    async def _connect(self) -> None:
        link = self.link
        if isinstance(link, TcpLink):
            if not await self.client.connect():
                raise _Retry("cannot connect")
            return
        settings = settings_text(link.baud, link.parity, link.stopbits)
        try:
            connected = await self.client.connect()
        except (termios.error, ValueError) as exc:  # pymodbus passes on what pyserial did not wrap
            raise diagnose(link.path, settings, exc) from None
        if not connected:
            # pymodbus says only that it failed: open the device once more to learn why.
            try:
                port = await asyncio.to_thread(open_port, link.path, link.baud, link.parity, link.stopbits, 0, True)
                port.close()
            except PortError as exc:
                if exc.lasting:
                    raise
                raise _Retry(str(exc)) from None
            raise _Retry(f"cannot open {link.path}")

    async def _call(self, function: int, request: Callable[..., Awaitable], args: tuple, kwargs: dict,
                    request_len: int, reply_len: int):
        if not self.client.connected:
            await self._connect()
        line = self._line
        if line is not None:
            await line.quiet()
            self.client.ctx.comm_params.timeout_connect = line.timeout_s(self.policy.timeout_s, request_len,
                                                                        reply_len)
        try:
            reply = await request(*args, **kwargs)
        except ModbusException as exc:
            if line is not None:
                line.settle(reply_len)
            raise _Retry(str(exc).split("] ", 1)[-1][:120]) from None
        # pymodbus matches replies by unit (and transaction id on TCP) only: a reply of another
        # function is a stray frame (an earlier request's late answer), never this request's value.
        if reply.function_code & 0x7F != function:
            if line is not None:
                line.settle(reply_len)
            raise _Retry(f"bad reply: function {reply.function_code} to a function {function} request")
        if reply.isError():
            code = getattr(reply, "exception_code", 0)
            if code == GATEWAY_NO_REPLY:
                raise _Retry(exception_text(code))
            raise (RigBusy if code == 6 else RigExceptionReply)("", "", "", exception_text(code), code)
        return reply

    def _abandoned(self) -> None:
        if self._line is not None:
            self._line.settle()
        else:
            self.client.close()  # a new connection: no reply of the old one can come on it

    def read(self, who: str, action: str, table: str, address: int, count: int, unit: int) -> Awaitable[list[int]]:
        return self._with_retries(who, action, self._read, False, table, address, count, unit)  # one frame fewer

    async def _read(self, table: str, address: int, count: int, unit: int) -> list[int]:
        function, request = ((4, self.client.read_input_registers) if table == "input"
                             else (3, self.client.read_holding_registers))
        reply = await self._call(function, request, (address,), {"count": count, "device_id": unit}, 8, 5 + 2 * count)
        if len(reply.registers) != count:
            raise _Retry(f"bad reply: {len(reply.registers)} registers for {count}")
        return reply.registers

    async def write(self, who: str, action: str, address: int, registers: list[int], unit: int,
                    once: bool = False) -> None:
        await self._with_retries(who, action, self._write, once, address, registers, unit)

    async def _write(self, address: int, registers: list[int], unit: int) -> None:
        reply = await self._call(16, self.client.write_registers, (address, registers), {"device_id": unit},
                                 9 + 2 * len(registers), 8)
        if (reply.address, reply.count) != (address, len(registers)):
            raise _Retry(f"bad reply: wrote {reply.count} registers at {reply.address}, "
                         f"asked {len(registers)} at {address}")

    async def close(self):
        self.client.close()


class LineBus(_Bus):
    """A serial line speaking the TMR line protocol."""

    def __init__(self, link: SerialLink, policy: Policy):
        super().__init__(link, policy)
        self._port = None
        self._exchange: asyncio.Future | None = None  # the exchange running in a thread, if any

    def _transact(self, command: str) -> bytes:
        if self._port is None:
            link = self.link
            self._port = open_port(link.path, link.baud, link.parity, link.stopbits, self.policy.timeout_s)
        try:
            self._port.reset_input_buffer()  # a late reply to an earlier attempt must not answer this one
            self._port.write(command.encode("ascii") + b"\r\n")
            return self._port.read_until(b"\r\n")
        except (OSError, termios.error) as exc:  # pyserial's SerialException is an OSError
            self._port.close()  # reopened by the next attempt: the adapter may have been replugged
            self._port = None
            raise _Retry(f"line failed: {exc}") from None

    async def _in_thread(self, command: str) -> bytes:
        # A thread cannot be cut short: an abandoned exchange finishes before the next one starts.
        if self._exchange is not None and not self._exchange.done():
            await asyncio.wait([self._exchange])
        self._exchange = asyncio.get_running_loop().run_in_executor(None, self._transact, command)
        try:
            return await asyncio.shield(self._exchange)
        except PortError as exc:
            if exc.lasting:
                raise
            raise _Retry(str(exc)) from None

    async def request(self, who: str, action: str, command: str, once: bool = False) -> str:
        async def attempt():
            line = await self._in_thread(command)
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
        if self._exchange is not None and not self._exchange.done():
            with contextlib.suppress(Exception):
                await asyncio.wait([self._exchange], timeout=self.policy.timeout_s + 1)
        if self._port is not None:
            self._port.close()
            self._port = None


class BusPool:
    """The buses of one event loop, one per physical link; drivers on one link share it.

    Two names of one serial device (/dev/ttyUSB0 and its /dev/serial/by-id/... link) are one line."""

    def __init__(self, policy: Policy = Policy()):
        self.policy = policy
        self._buses: dict[tuple, _Bus] = {}

    def bus(self, link: Link) -> _Bus:
        key = link.bus if isinstance(link, TcpLink) else ("serial", device_of(link.path))
        bus = self._buses.get(key)
        if bus is None:
            kind = LineBus if isinstance(link, SerialLink) else ModbusBus
            bus = self._buses[key] = kind(link, self.policy)
        elif type(bus.link) is not type(link) or (isinstance(link, RtuLink) and _line_settings(bus.link) != _line_settings(link)):
            raise LinkError(f"{link.path} is already open as {bus.link}; one line has one protocol, baud and parity")
        return bus

    async def aclose(self):
        for bus in self._buses.values():
            await bus.close()
        self._buses.clear()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()


def _line_settings(link: RtuLink) -> tuple:
    return link.baud, link.parity, link.stopbits, link.turnaround_ms
