"""`labs serve`: gunicorn, several worker processes, each with its own app and connection pool.

Each worker process runs a pool of threads (gunicorn's gthread worker), and reads a request's
header in its event loop before a thread takes the request: a client that sends half a header
and dawdles holds a file descriptor, never a thread, and is dropped when its header is not complete
within HEADER_TIMEOUT seconds (or it falls silent for the keep-alive time). Once a thread has the
request, each read and write on the socket is bounded by IO_TIMEOUT, so a client that stalls in
its body or stops reading the response frees the thread too. Production runs behind a reverse
proxy (deploy/nginx.conf), which buffers bodies and slow clients as well; the workers keep no state
between requests.
"""
from __future__ import annotations

import errno
import re
import socket
import time

from gunicorn import http
from gunicorn.glogging import Logger
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import _DEFER, TConn, ThreadWorker

from labs.i18n import N_

HEADER_TIMEOUT = 10.0  # seconds from a request's first byte to the end of its header
IO_TIMEOUT = 30.0  # seconds one read or write of a request's body or response may block
HEAD_LIMIT = 64 * 1024  # past this many bytes the parser takes over (and refuses an oversized header)
THREADS = 8


class _Conn(TConn):
    """A connection whose request header is gathered without blocking a thread."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.head = b""
        self.head_since: float | None = None

    def init(self):
        super().init()
        # The thread's blocking reads and writes on this socket end after IO_TIMEOUT.
        self.sock.settimeout(IO_TIMEOUT)


class HeadFirstWorker(ThreadWorker):
    """gthread, but a thread takes a request only once its whole header has arrived."""

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        self.enqueue_req(_Conn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def handle(self, conn):
        if self.cfg.is_ssl or not isinstance(conn, _Conn):
            return super().handle(conn)  # TLS ends at the proxy; a TLS socket is read as gunicorn does
        ready = self._gather_head(conn)
        if ready is not True:
            return ready
        conn.data_ready = True  # no wait for data: it is here
        return super().handle(conn)

    def _gather_head(self, conn: _Conn):
        """True when the header is complete (or the client is gone, for the parser to notice);
        _DEFER to wait in the event loop for more; False to drop a client that took too long."""
        now = time.monotonic()
        if conn.head_since is None:
            conn.head_since = now
        sock = conn.sock
        closed = False
        sock.setblocking(False)
        try:
            while len(conn.head) <= HEAD_LIMIT:
                chunk = sock.recv(16384)
                if not chunk:
                    closed = True
                    break
                conn.head += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed = True
        finally:
            sock.setblocking(True)
        held = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
        seen = held + conn.head
        complete = b"\r\n\r\n" in seen or b"\n\n" in seen or len(seen) > HEAD_LIMIT
        if not (complete or closed):
            if now - conn.head_since > HEADER_TIMEOUT:
                self.log.info("Dropped %s: no complete request header within %ss", conn.client, HEADER_TIMEOUT)
                return False
            return _DEFER
        if closed and not seen:
            return False
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.buf.seek(0, 2)
        conn.parser.unreader.buf.write(conn.head)  # after what it already held
        conn.head, conn.head_since = b"", None
        return True


# The secret part of a calendar feed's address, which the access log must not keep.
FEED_TOKEN = re.compile(r"(/calendar/[^/?\s]+/)[^/?\s]+?(\.ics)")


def mask_feed_tokens(text: str) -> str:
    return FEED_TOKEN.sub(r"\1***\2", text)


class AccessLogger(Logger):
    """gunicorn's logger; the access log shows a calendar feed's address without its token."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_feed_tokens(atoms[key])
        return atoms


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Called in each worker after the fork, so no database connection crosses processes.
        from labs.app import create_app
        return create_app()


def options(host: str, port: int, workers: int, fd: int | None = None, threads: int = THREADS) -> dict:
    bind = f"fd://{fd}" if fd is not None else f"{host}:{port}"
    return {"bind": bind, "workers": workers, "threads": threads,
            "worker_class": "labs.server.HeadFirstWorker", "logger_class": "labs.server.AccessLogger",
            "accesslog": "-", "timeout": 60, "graceful_timeout": 10, "keepalive": 5,
            # Request line and header limits (gunicorn's defaults, stated): beyond them, a 400.
            "limit_request_line": 8190, "limit_request_fields": 100, "limit_request_field_size": 8190}


class PortInUse(Exception):
    pass


def listen(host: str, port: int) -> socket.socket:
    """The listening socket for host:port, bound here so that a port in use fails at once with a
    message that says so (gunicorn would retry for seconds and then log a traceback)."""
    try:
        return socket.create_server((host, port), backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(N_("%(address)s is already in use (another labs serve or labs demo?): stop it, or "
                               "choose another port with --port") % {"address": f"{host}:{port}"}) from None
        raise


def serve(host: str, port: int, workers: int, fd: int | None = None, threads: int = THREADS) -> None:
    """Serve on host:port, or on the listening socket inherited as file descriptor `fd` (`listen`'s)."""
    _Server(options(host, port, workers, fd, threads)).run()
