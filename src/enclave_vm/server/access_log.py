"""Access logs: one record per request on the `enclave_vm.server` logger, with `method`, `path`,
`status`, `duration_ms` and `outcome` (a run's outcome: `ok`, `suspended`, the error code, `cancelled`;
None for other requests) as record attributes. Never the script, arguments, values or output.

`JsonLineFormatter` writes such records as one JSON object per line (what `enclave-vm serve` logs)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("enclave_vm.server")

_OUTCOME_KEY = "enclave_outcome"
_FIELDS = ("method", "path", "status", "duration_ms", "outcome")


def set_outcome(scope: Scope, outcome: str) -> None:
    """Record the outcome of the run a request made, for its access-log record."""
    scope.setdefault("state", {})[_OUTCOME_KEY] = outcome


class AccessLogMiddleware:
    """Logs each HTTP request once it is over (a streamed run: once its last line went out)."""

    def __init__(self, app: ASGIApp, *, on_done: Callable[[int], None] | None = None) -> None:
        self.app = app
        self._on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except BaseException:
            status = status or 500
            raise
        finally:
            duration_ms = (time.perf_counter() - started) * 1000.0
            outcome = scope.get("state", {}).get(_OUTCOME_KEY)
            method, path = scope["method"], scope["path"]
            logger.info(
                "%s %s %d %.1f ms%s",
                method,
                path,
                status,
                duration_ms,
                f" {outcome}" if outcome else "",
                extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms,
                       "outcome": outcome},
            )  # fmt: skip
            if self._on_done is not None:
                self._on_done(status)


class JsonLineFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and the access-log fields it has."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
