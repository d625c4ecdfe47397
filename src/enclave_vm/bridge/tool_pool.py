"""The thread pool sync tools run in: bounded, and never in the way of the host process's exit.

`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits, so one sync tool
that never returns (a hung socket read, say) would keep the whole host from exiting after its run was
given up on. These threads are daemons and nothing joins them: a hung tool holds only its own thread, and
the process exits as if it were not there.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_Work = tuple["concurrent.futures.Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class ToolThreadPool(concurrent.futures.Executor):
    """At most `max_workers` daemon threads, started as work arrives; idle ones wait for the next call."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "enclave-tool") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._work: collections.deque[_Work] = collections.deque()
        self._ready = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._shutdown = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._ready:
            if self._shutdown:
                raise RuntimeError("cannot schedule new tool calls after shutdown")
            self._work.append((future, fn, args, kwargs))
            self._ready.notify()
            # Each idle thread takes one queued call when it wakes; calls beyond them need a new thread.
            if len(self._work) > self._idle and self._threads < self._max_workers:
                self._threads += 1
                threading.Thread(target=self._serve, name=f"{self._prefix}-{self._threads}", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._work and not self._shutdown:
                    self._idle += 1
                    self._ready.wait()
                    self._idle -= 1
                if not self._work:  # shut down and nothing left to do
                    self._threads -= 1
                    return
                future, fn, args, kwargs = self._work.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # delivered to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work. `cancel_futures` cancels calls that have not started; `wait` is ignored: a
        running tool cannot be stopped, and waiting for one that hangs would hang the caller."""
        with self._ready:
            self._shutdown = True
            if cancel_futures:
                while self._work:
                    self._work.popleft()[0].cancel()
            self._ready.notify_all()
