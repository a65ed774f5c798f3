"""Serial ends for simulators: a pseudo-terminal linked at a path, or a serial device, paced like a wire."""
from __future__ import annotations

import asyncio
import math
import os
import stat
import tty

from devices.links import rtu_silence_s
from devices.ports import open_port


class LineGone(OSError):
    """The simulator's serial line went away: its device was unplugged or its pty peer closed."""


def bits_per_char(parity: str, stopbits: int) -> int:
    return 1 + 8 + (parity != "N") + stopbits


class Silence:
    """The gaps before the frames that reached the simulator, measured at its end of the line.

    A frame that starts less than the RTU silence after the line's last byte breaks the silence:
    a real rig may take it for the tail of the frame before and ignore both.
    """

    def __init__(self, required_s: float):
        self.required_s = required_s
        self.frames = 0  # frames that followed another on the line
        self.broken = 0  # of these, frames that came too soon
        self.shortest_s = math.inf

    def record(self, gap_s: float) -> None:
        self.frames += 1
        self.broken += gap_s < self.required_s
        self.shortest_s = min(self.shortest_s, gap_s)

    def __str__(self) -> str:
        if not self.frames:
            return "no frame followed another"
        return (f"{self.broken} of {self.frames} frames broke the {self.required_s * 1000:.2f} ms silence; "
                f"shortest gap {self.shortest_s * 1000:.2f} ms = {self.shortest_s / self.required_s:.3f} "
                f"of the silence")


class Wire:
    """The simulator's end of a serial line.

    If `path` names an existing character device (a USB adapter, one end of a socat pair) it is
    opened; otherwise a pseudo-terminal pair is made and its far end linked at `path`.
    With `pace`, bytes take the time they would on a line at `baud`: a request occupies the line
    for its length, a reply starts 3.5 characters after it. The gap before each arriving frame is
    measured against the silence the line requires (`silence`), paced or not.
    """

    def __init__(self, path: str, baud: int = 9600, parity: str = "N", stopbits: int = 1, pace: bool = False):
        self.path, self.pace = path, pace
        self.char_s = bits_per_char(parity, stopbits) / baud
        self._port = None
        self._slave = None
        if os.path.exists(path) and stat.S_ISCHR(os.stat(path).st_mode):
            self._port = open_port(path, baud, parity, stopbits, timeout=0)
            self.fd = self._port.fileno()
        else:
            self.fd, self._slave = os.openpty()
            tty.setraw(self._slave)  # no echo, no CR/LF translation: a pty behaves like a wire
            os.set_blocking(self.fd, False)
            os.symlink(os.ttyname(self._slave), path)
        self.silence = Silence(rtu_silence_s(baud))
        self.line_end: float | None = None  # loop time of the line's last byte, as far as it is known

    def frame_begins(self, now: float) -> None:
        """A frame's first byte arrived now: measure the quiet time before it."""
        if self.line_end is not None:
            self.silence.record(now - self.line_end)

    def frame_ends(self, start: float, length: int, now: float) -> None:
        """A frame that began at `start` is whole: paced, it holds the line for its length."""
        self.line_end = max(now, start + length * self.char_s) if self.pace else now

    async def send(self, data: bytes, request_start: float = 0.0, request_len: int = 0) -> None:
        loop = asyncio.get_running_loop()
        if not self.pace:
            self._write(data)
            self.line_end = loop.time()
            return
        start = max(request_start + (request_len + 3.5) * self.char_s, loop.time())
        sent = 0
        while sent < len(data):
            due = min(len(data), int((loop.time() - start) / self.char_s))
            if due > sent:
                # A byte is written when its time on the line is over. The time is taken before the
                # write: taken after, a busy machine's pause between the two would count against
                # the driver's silence.
                now = loop.time()
                self._write(data[sent:due])
                sent = due
                self.line_end = now
            else:
                await asyncio.sleep(start + (sent + 1) * self.char_s - loop.time())

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
        except (BlockingIOError, OSError):
            pass  # nobody is reading the far end: bytes on an idle wire are lost

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
        else:
            if os.path.islink(self.path):
                os.unlink(self.path)
            os.close(self.fd)
            os.close(self._slave)


class WireServer:
    """Answers requests arriving on a wire one at a time, in order; subclasses frame and answer them.

    serve() raises LineGone when the line goes away, rather than spin on a device that stays
    readable with nothing to read."""

    def __init__(self, wire: Wire):
        self.wire = wire
        self._queue: asyncio.Queue = asyncio.Queue()
        self._gone: str | None = None

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.wire.fd, self._readable)
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    raise LineGone(f"the line at {self.wire.path} is gone: {self._gone}")
                await self.answer(*item)
        finally:
            loop.remove_reader(self.wire.fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.wire.fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: the far end hung up, or the adapter was unplugged
            self._hang_up(exc.strerror or str(exc))
            return
        if not data:
            self._hang_up("end of file")
            return
        self.receive(data, asyncio.get_running_loop().time())

    def _hang_up(self, why: str) -> None:
        asyncio.get_running_loop().remove_reader(self.wire.fd)
        self._gone = why
        self._queue.put_nowait(None)

    def receive(self, data: bytes, now: float) -> None:
        """Take bytes off the wire; queue each whole request with the time it began on the line."""
        raise NotImplementedError

    async def answer(self, request: bytes, start: float) -> None:
        raise NotImplementedError
