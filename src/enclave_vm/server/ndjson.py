"""A run streamed as NDJSON: one `to_dict()` line per event, the result last. The client leaving
(disconnect) cancels the run at once: the stream is closed, so no further tool call starts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..streaming import ResultEvent, RunEvent, RunStream

MEDIA_TYPE = "application/x-ndjson"


def event_line(event: RunEvent) -> bytes:
    return json.dumps(event.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode() + b"\n"


class RunEventsResponse(Response):
    """Streams `events`; `on_event` sees each event as it goes out, `on_close()` runs once at the end,
    however the stream ended."""

    media_type = MEDIA_TYPE

    def __init__(
        self,
        events: RunStream,
        *,
        on_event: Callable[[RunEvent], None],
        on_close: Callable[[], None],
    ) -> None:
        # Not Response.__init__: that renders a body and sets its Content-Length; this one streams.
        self.status_code = 200
        self.background = None
        self._events = events
        self._on_event = on_event
        self._on_close = on_close
        # no-store: nothing caches a run; X-Accel-Buffering: a proxy (nginx) passes each line on at once.
        self.init_headers({"cache-control": "no-store", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump: asyncio.Future[None] | None = None
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            pump = asyncio.ensure_future(self._pump(send))
            gone = asyncio.ensure_future(_client_gone(receive))
            try:
                await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                pump.cancel()  # the client left: cancelling the pump closes the stream, which cancels the run
                await asyncio.wait({pump, gone})
            if not pump.cancelled() and (error := pump.exception()) is not None and not isinstance(error, OSError):
                raise error  # a fault of the service, not of the client: reported as one
        finally:
            if pump is None or pump.done():  # else the pump, still closing the stream, owns it
                await self._events.aclose()
            with contextlib.suppress(Exception):  # bookkeeping; never in the way of the close
                self._on_close()

    async def _pump(self, send: Send) -> None:
        async with self._events as events:
            async for event in events:
                self._on_event(event)
                last = isinstance(event, ResultEvent)  # the result ends the body: one write, not two
                await send({"type": "http.response.body", "body": event_line(event), "more_body": not last})
                if last:
                    return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _client_gone(receive: Receive) -> None:
    """Returns when the client disconnects (the body was read already: nothing else can arrive)."""
    while (await receive())["type"] != "http.disconnect":
        pass
