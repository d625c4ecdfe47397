"""Running the app with uvicorn, with a graceful shutdown: on SIGTERM or SIGINT the service drains —
new runs get 503 and `/healthz` says so — while the runs in flight go on for up to `shutdown_grace`
seconds; then the server stops (runs still going are cancelled) and `serve()` returns. A second signal
stops it at once."""

from __future__ import annotations

import logging
import socket
import time
from types import FrameType
from typing import Any

try:
    import uvicorn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("enclave-vm serve needs the server extra (uvicorn): pip install 'enclave-vm[server]'") from exc

from .app import ServiceApp

logger = logging.getLogger("enclave_vm.server")

DEFAULT_SHUTDOWN_GRACE = 10.0
#: After the drain, how long uvicorn waits for responses still being written before cancelling them.
_CLOSE_TIMEOUT = 1
#: Idle keep-alive connections are closed after this long: longer than clients keep theirs (httpx: 5 s),
#: so that a client never sends a run on a connection the server is closing at that moment.
_KEEP_ALIVE_S = 30


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (port 0: any free port; `getsockname()` tells which)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets that say they are TCP, and a
    # response written in pieces (headers, then lines) would wait out the client's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


class ServiceServer(uvicorn.Server):
    """A uvicorn server for a `ServiceApp` that drains before it stops (see the module's docstring)."""

    def __init__(
        self,
        app: ServiceApp,
        *,
        shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE,
        log_config: dict[str, Any] | None = uvicorn.config.LOGGING_CONFIG,
        log_level: str = "info",
    ) -> None:
        if isinstance(shutdown_grace, bool) or not isinstance(shutdown_grace, (int, float)) or shutdown_grace < 0:
            raise ValueError(f"shutdown_grace must be a number of seconds >= 0; got {shutdown_grace!r}")
        config = uvicorn.Config(
            app,
            access_log=False,  # the app logs each request itself, with its outcome
            lifespan="off",
            log_config=log_config,
            log_level=log_level,
            timeout_graceful_shutdown=_CLOSE_TIMEOUT,
            timeout_keep_alive=_KEEP_ALIVE_S,
            server_header=False,
        )
        super().__init__(config)
        self.app = app
        self.shutdown_grace = float(shutdown_grace)
        self._drain_deadline: float | None = None
        self._drain_noticed = False

    @property
    def draining(self) -> bool:
        return self._drain_deadline is not None

    def begin_shutdown(self) -> None:
        """Drain, then stop (from a signal handler or any thread). Idempotent."""
        if self._drain_deadline is None:
            self._drain_deadline = time.monotonic() + self.shutdown_grace
            self.app.gate.drain()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's: it would stop at once and re-raise the signal after the shutdown (a SIGTERM would
        # then end the process by the signal, skipping the caller's clean-up).
        if self.draining:
            self.should_exit = self.force_exit = True
        else:
            self.begin_shutdown()

    async def on_tick(self, counter: int) -> bool:
        deadline = self._drain_deadline
        if deadline is not None and not self.should_exit:
            if not self._drain_noticed:  # logged here, not in the signal handler
                self._drain_noticed = True
                in_flight, grace = self.app.gate.in_flight, self.shutdown_grace
                logger.info("Draining: %d run(s) in flight, up to %.1f s to finish", in_flight, grace)
            if self.app.gate.in_flight == 0 or time.monotonic() >= deadline:
                if self.app.gate.in_flight:
                    logger.warning("Shutdown grace over: cancelling %d run(s) in flight", self.app.gate.in_flight)
                self.should_exit = True
        return await super().on_tick(counter)


def serve(app: ServiceApp, sock: socket.socket, *, shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE) -> None:
    """Serve `app` on the listening `sock` until a signal (or `begin_shutdown()`) and its drain end."""
    ServiceServer(app, shutdown_grace=shutdown_grace).run(sockets=[sock])
