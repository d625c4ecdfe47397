"""A bounded cache of guard verdicts, so a script sent again (agents retry and repeat themselves) is not
parsed, checked and instrumented again. The verdict depends only on the code and the policy, and one
cache serves one policy."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from . import Language, Prepared, prepare
from .policy import GuardPolicy

#: Upper bound on the characters of code held as keys and instrumented programs (about 2x that in RAM).
DEFAULT_BUDGET_CHARS = 4_000_000


class PreparedCache:
    def __init__(self, policy: GuardPolicy, budget_chars: int = DEFAULT_BUDGET_CHARS) -> None:
        self._policy = policy
        self._budget = budget_chars
        self._used = 0
        self._entries: OrderedDict[tuple[Language, str], Prepared] = OrderedDict()
        self._lock = threading.Lock()  # run_sync may prepare from several threads

    def prepare(self, code: str, language: Language = "javascript") -> Prepared:
        """The guard's verdict on `code`; a fresh one carries the parse (for the scoring gate), a cached
        one does not."""
        key = (language, code)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached
        prepared = prepare(code, self._policy, language)
        self._store(key, dataclasses.replace(prepared, parsed=None))
        return prepared

    def _store(self, key: tuple[Language, str], prepared: Prepared) -> None:
        size = _size(key[1], prepared)
        if size > self._budget:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = prepared
            self._used += size
            while self._used > self._budget:
                old_key, old = self._entries.popitem(last=False)
                self._used -= _size(old_key[1], old)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _size(code: str, prepared: Prepared) -> int:
    program = prepared.instrumented.program if prepared.instrumented is not None else ""
    javascript = prepared.javascript
    stripped = len(javascript) if javascript is not None and javascript is not code else 0  # TypeScript's JS
    return len(code) + len(program) + stripped
