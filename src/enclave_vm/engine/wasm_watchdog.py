"""The outer VM's clock: wasmtime interrupts compiled code when the engine's epoch passes a store's
deadline. One daemon thread advances the epoch every tick while any run is inside the VM (and sleeps
otherwise), so a deadline in ticks is a wall-clock deadline, never early and at most about a tick late.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

from ..outcome import now as run_clock

TICK_S = 0.01


class _Epochs(Protocol):
    def increment_epoch(self) -> None: ...


class EpochWatchdog:
    def __init__(self, engine: _Epochs) -> None:
        self._engine = engine
        self._active = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @staticmethod
    def ticks_until(deadline: float) -> int:
        """Ticks to give a store whose code must stop at `deadline` (on the run clock, `outcome.now()`)."""
        return max(1, math.ceil((deadline - run_clock()) / TICK_S) + 1)

    def enter(self) -> None:
        """A run entered the VM: keep ticking until it leaves."""
        with self._wake:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._tick, name="enclave-wasm-epoch", daemon=True)
                self._thread.start()
            self._wake.notify()

    def leave(self) -> None:
        with self._wake:
            self._active -= 1

    def _tick(self) -> None:
        while True:
            with self._wake:
                while self._active <= 0:
                    self._wake.wait()
            time.sleep(TICK_S)
            self._engine.increment_epoch()
