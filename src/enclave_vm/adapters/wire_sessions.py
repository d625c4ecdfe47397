"""The engine side of the run protocol, without a transport: wire messages in, answer frames out.

A pool worker feeds it the frames it reads from its stdin, a Ray actor the messages its caller sends
(`bridge/wire.py`: start, settle, close). It owns the open runs' sessions and the warm spare context the
next run starts on. Every call must come from one thread: sessions have thread affinity.

Each start or settle gets exactly one answer; close gets none. A run whose answer ended it is torn down
only by `release()`, once the answer is out (freeing a context takes longer than most scripts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..bridge.framing import FrameError, pack
from ..bridge.protocol import LimitTripped, Settled, Step
from ..bridge.wire import fail_message, read_results, read_start, slice_message
from ..engine.session import EngineTerminated, QuickJsSession, WarmContext


def warm_context() -> WarmContext | None:
    try:
        return WarmContext()
    except Exception:  # the session reports the failure when it opens its own context
        return None


class WireSessions:
    def __init__(self) -> None:
        self._sessions: dict[int, QuickJsSession] = {}
        self._spare: WarmContext | None = None
        self._ended: list[int] = []

    def warm(self) -> None:
        """Prepare the next run's context, only while no run is open: warming takes milliseconds, and a
        run waiting for its tool results must not wait behind it."""
        if self._spare is None and not self._sessions:
            self._spare = warm_context()

    def answer(self, message: list[Any]) -> bytes | None:
        """The frame answering `message` (None for a close)."""
        kind, run = message[0], message[1]
        if kind == "start":
            request = read_start(message)
            # The wire has no "jobs pending": the session steps on until its engine is idle.
            session = QuickJsSession(request, self._spare, run_to_idle=True)
            self._spare = None
            self._sessions[run] = session
            return self._step(run, session.start)
        if kind == "settle":
            found = self._sessions.get(run)
            if found is None:
                return pack(fail_message(run, "RUNTIME_ERROR", "The run is no longer open in its worker"))
            results = read_results(message)
            return self._step(run, lambda: found.settle(results))
        if kind == "close":
            self._ended.append(run)
        return None

    def release(self) -> None:
        """Tear down the runs that ended (call once their answer is out)."""
        ended, self._ended = self._ended, []
        for run in ended:
            session = self._sessions.pop(run, None)
            if session is not None:
                session.close()

    def close(self) -> None:
        """Tear down every open run and the spare context."""
        self._ended.extend(self._sessions)
        self.release()
        self._spare = None

    def _step(self, run: int, step: Callable[[], Step]) -> bytes:
        """Run one engine step; the answer always goes out, whatever the engine did."""
        ended = True
        try:
            result = step()
        except EngineTerminated as exc:
            message = fail_message(run, exc.code, exc.message, exc.name, exc.stdout)
        except MemoryError:
            message = fail_message(run, "MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
        except Exception as exc:  # never expected; the host still gets its one answer
            message = fail_message(run, "RUNTIME_ERROR", f"Engine error ({type(exc).__name__})")
        else:
            ended = isinstance(result, Settled | LimitTripped)
            message = slice_message(run, result)
        try:
            frame = pack(message)
        except (FrameError, ValueError):
            ended = True
            frame = pack(fail_message(run, "RUNTIME_ERROR", "The engine's answer could not be encoded"))
        if ended:
            self._ended.append(run)
        return frame
