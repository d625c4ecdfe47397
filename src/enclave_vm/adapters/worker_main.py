"""The worker process: one engine thread (its main thread) serving the run protocol over its stdin/stdout.

It holds only engine sessions: validation, limits bookkeeping and tools stay in the host. Messages are
handled strictly in order, one at a time, and each start or settle gets exactly one answer. Several runs
may be open at once (one waits for its tools while another computes), each in its own QuickJS context.

Before it reads anything it hardens itself: it dies with the thread that started it, drops its
environment, caps its address space and disables core dumps. It exits on end-of-file on stdin.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import sys
import time
from typing import Any

from ..bridge.framing import MAX_FRAME_BYTES, FrameReader, PeerClosed, pack, write_all
from ..engine.session import engine_thread_stack_bytes
from .wire_sessions import WireSessions

_PR_SET_PDEATHSIG = 1
#: Address space allowed above what the worker maps at start-up when no memory cap is configured.
DEFAULT_ADDRESS_SPACE = 4 << 30
#: Slack above the configured cap: the host's RSS watch should act first, this is the backstop.
ADDRESS_SPACE_SLACK = 256 << 20


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when the thread that spawned it exits (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the host died before the request above took effect
        os._exit(0)


def mapped_bytes() -> int:
    """The process's current virtual size, from /proc (0 where that is not available)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def limit_resources(max_worker_memory: int | None) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    budget = max_worker_memory if max_worker_memory is not None else DEFAULT_ADDRESS_SPACE
    cap = mapped_bytes() + budget + ADDRESS_SPACE_SLACK
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def size_engine_stack(needed: int) -> None:
    """Let the main thread's stack, where the engine runs, grow to `needed` bytes: Linux checks
    RLIMIT_STACK each time the main stack grows, so raising the soft limit now is enough. The engine
    stays on the main thread so that a stop signal to the worker stops it at once (with a second
    thread, the one woken for the signal may not run before the other answers)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_STACK, (target, hard))


class Worker:
    """The run protocol over a pair of pipes: frames in, answer frames out (`WireSessions` does the rest)."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self._reader = FrameReader(in_fd)
        self._out = out_fd
        self._sessions = WireSessions()

    def serve(self) -> None:
        started = time.perf_counter()
        self._sessions.warm()
        # The host uses the warm-up time to tell whether an idle worker is still preparing its next context.
        self._send(["ready", os.getpid(), time.perf_counter() - started])
        while True:
            if not self._pending():
                self._sessions.warm()
            try:
                message = self._reader.read(MAX_FRAME_BYTES)
            except PeerClosed:
                return
            frame = self._sessions.answer(message)
            if frame is not None:
                write_all(self._out, frame)
            self._sessions.release()

    def _pending(self) -> bool:
        if self._reader.buffered():
            return True
        return bool(select.select([self._reader.fd], [], [], 0)[0])

    def _send(self, message: list[Any]) -> None:
        write_all(self._out, pack(message))


def main(config: dict[str, Any]) -> None:
    # The protocol gets private copies of the pipes; fds 0 and 1 point at /dev/null so that nothing
    # printed by accident can corrupt a frame.
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the host
    die_with_parent(int(config["parent"]))
    os.environ.clear()
    limit_resources(config.get("max_worker_memory"))
    size_engine_stack(engine_thread_stack_bytes())
    with contextlib.suppress(BrokenPipeError, PeerClosed):  # the host went away
        Worker(in_fd, out_fd).serve()
    os._exit(0)
