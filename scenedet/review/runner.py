"""Running the review server: a socket bound now, uvicorn serving it in a thread, a clean stop.

The socket is bound before the server starts (port 0: the system picks a free one), so the
address is known at once and nothing races for the port. uvicorn runs in a thread of its own
and therefore installs no signal handlers: Ctrl-C reaches the caller's thread, which stops the
server (:meth:`ReviewServer.stop`, bounded by a timeout) and goes on with its own clean-up.
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from typing import Any

from scenedet.errors import UsageError
from scenedet.review.security import LOOPBACK, Guard

#: How long :meth:`ReviewServer.start` waits for the server to answer, and ``stop`` for it to end.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


class ExposedWarning(UserWarning):
    """The review listens on an address other machines may reach."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port`` 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(64)
    return sock


class ReviewServer:
    """A review's server: :meth:`start`, :attr:`url`, :meth:`stop` (also a context manager)."""

    def __init__(self, session: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        from scenedet.review.app import build_app

        if host not in LOOPBACK:
            warnings.warn(f"the review listens on {host}: other machines can reach it (the token "
                          f"still guards it, over plain HTTP)", ExposedWarning, stacklevel=2)
        self.socket = bind(host, port)
        self.port = self.socket.getsockname()[1]
        self.guard = Guard(host="127.0.0.1" if host in LOOPBACK else host, port=self.port)
        config = uvicorn.Config(build_app(session, self.guard), log_level="warning",
                                access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                                timeout_keep_alive=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="scenedet-review", daemon=True)
        self._failed: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self.socket])
        except BaseException as exc:  # reported by start(); the thread must not die silently
            self._failed = exc

    @property
    def url(self) -> str:
        """The page's address, with its token."""
        host = self.guard.host if ":" not in self.guard.host else f"[{self.guard.host}]"
        return f"http://{host}:{self.port}/?token={self.guard.token}"

    def start(self) -> ReviewServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if self._failed is not None or not self._thread.is_alive():
                raise UsageError(f"the review server did not start: {self._failed}")
            if time.monotonic() > deadline:
                self.stop()
                raise UsageError("the review server did not start in time")
            time.sleep(0.02)
        return self

    def wait(self) -> None:
        """Serve until stopped (or Ctrl-C, which stops the server and is raised again)."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.25)
        except KeyboardInterrupt:
            self.stop()
            raise

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(STOP_TIMEOUT)
        self.socket.close()

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
