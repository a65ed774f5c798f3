"""`labs serve`: gunicorn, several worker processes, each with its own app and connection pool."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


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


def serve(host: str, port: int, workers: int, fd: int | None = None) -> None:
    """Serve on host:port, or on the listening socket inherited as file descriptor `fd`."""
    bind = f"fd://{fd}" if fd is not None else f"{host}:{port}"
    _Server({"bind": bind, "workers": workers, "accesslog": "-", "timeout": 60,
             "graceful_timeout": 10}).run()
