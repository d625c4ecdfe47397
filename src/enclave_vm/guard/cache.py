"""A bounded cache of guard verdicts, so a script sent again (agents retry and repeat themselves) is not
parsed, checked and instrumented again. The verdict depends only on the code and the policy, and one
cache serves one policy."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from . import Prepared, prepare
from .policy import GuardPolicy

#: Upper bound on the characters of code held as keys and instrumented programs (about 2x that in RAM).
DEFAULT_BUDGET_CHARS = 4_000_000


class PreparedCache:
    def __init__(self, policy: GuardPolicy, budget_chars: int = DEFAULT_BUDGET_CHARS) -> None:
        self._policy = policy
        self._budget = budget_chars
        self._used = 0
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._lock = threading.Lock()  # run_sync may prepare from several threads

    def prepare(self, code: str) -> Prepared:
        """The guard's verdict on `code`; a fresh one carries the parse (for the scoring gate), a cached
        one does not."""
        with self._lock:
            cached = self._entries.get(code)
            if cached is not None:
                self._entries.move_to_end(code)
                return cached
        prepared = prepare(code, self._policy)
        self._store(code, dataclasses.replace(prepared, parsed=None))
        return prepared

    def _store(self, code: str, prepared: Prepared) -> None:
        size = _size(code, prepared)
        if size > self._budget:
            return
        with self._lock:
            if code in self._entries:
                return
            self._entries[code] = prepared
            self._used += size
            while self._used > self._budget:
                old_code, old = self._entries.popitem(last=False)
                self._used -= _size(old_code, old)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _size(code: str, prepared: Prepared) -> int:
    program = prepared.instrumented.program if prepared.instrumented is not None else ""
    return len(code) + len(program)
