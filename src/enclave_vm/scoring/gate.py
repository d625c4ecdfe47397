"""The scoring gate: score a script before it runs, block or warn on the thresholds, fail closed."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import ScoringGateOptions
from ..guard.parse import ParsedScript
from ..results import ScoringResult
from .rule_based import RuleBasedScorer

logger = logging.getLogger(__name__)

_BLOCKED = "Script blocked by scoring gate"


@dataclass(frozen=True)
class GateDecision:
    blocked: bool
    warned: bool
    result: ScoringResult | None
    """None when the scorer failed (the run is then blocked)."""
    message: str | None
    """Why the run was blocked or warned, or why the scorer failed; None when it simply passed."""


class ScoringGate:
    """Scores each script once per distinct code (sha256, bounded LRU) and decides block / warn / pass.

    A custom scorer may be sync or async and may return a `ScoringResult` or a dict
    `{"score": int, "signals": [str, ...]}` (`signals` optional, other keys ignored). Anything else —
    an exception, another type, a score that is not an int in 0..100, signals that are not a list of
    str — blocks the run: a gate that cannot judge a script must not wave it through. Failures are not
    cached, so a scorer that recovers is asked again.
    """

    def __init__(self, options: ScoringGateOptions, cache_size: int = 1024) -> None:
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be an int >= 0; got {cache_size!r}")
        self.options = options
        self._rule_based = RuleBasedScorer() if options.scorer == "rule-based" else None
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[int, tuple[str, ...]]] = OrderedDict()
        # The facade may evaluate from several threads (run_sync) as well as concurrent tasks.
        self._lock = threading.Lock()

    async def evaluate(
        self, code: str, *, parsed: ParsedScript | None = None, timeout: float | None = None
    ) -> GateDecision:
        """Score `code` (from the cache when seen before) and decide; never raises for a scorer's fault.

        `parsed` is the guard's parse of the same code, if the caller has one: the rule-based scorer
        then reuses it instead of parsing again. `timeout` (seconds) bounds an async custom scorer; one
        that does not answer in time blocks the run like any other failure.
        """
        key = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
        entry = self._lookup(key)
        if entry is None:
            try:
                entry = _checked(await self._score(code, parsed, timeout))
            except Exception as exc:
                reason = str(exc) if isinstance(exc, _BadScore) else f"{type(exc).__name__}: {exc}"
                logger.warning("scoring gate: the scorer failed, blocking the run: %s", reason)
                return GateDecision(True, False, None, f"{_BLOCKED}: the scorer failed ({reason})")
            self._store(key, entry)
        # A fresh result per run: what one caller does to its signals list never reaches the cache.
        result = ScoringResult(entry[0], list(entry[1]))
        await self._notify(result)
        return self._decide(result)

    async def _score(self, code: str, parsed: ParsedScript | None, timeout: float | None) -> object:
        if self._rule_based is not None:
            if parsed is not None and parsed.code == code:
                return self._rule_based.score_parsed(parsed)
            return self._rule_based.score(code)
        scorer = self.options.custom_scorer
        if scorer is None:  # ScoringGateOptions refuses this; a hand-built one is still failed closed
            raise _BadScore("scorer='custom' but no custom_scorer was given")
        value: object = scorer(code)
        if inspect.isawaitable(value):
            budget = asyncio.timeout(None if timeout is None else max(timeout, 0.0))
            try:
                async with budget:
                    value = await value
            except TimeoutError:
                if budget.expired():
                    raise _BadScore(f"no answer within {timeout:.3g} s") from None
                raise
        return value

    async def _notify(self, result: ScoringResult) -> None:
        callback = self.options.on_score
        if callback is None:
            return
        try:
            outcome: object = callback(result)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            logger.warning("scoring gate: on_score raised; the run goes on", exc_info=True)

    def _decide(self, result: ScoringResult) -> GateDecision:
        block, warn = self.options.block_threshold, self.options.warn_threshold
        signals = f" ({', '.join(result.signals)})" if result.signals else ""
        if result.score >= block:
            return GateDecision(True, False, result, f"{_BLOCKED}: score {result.score} >= {block}{signals}")
        if warn is not None and result.score >= warn:
            message = f"Scoring gate warning: score {result.score} >= warn threshold {warn}{signals}"
            return GateDecision(False, True, result, message)
        return GateDecision(False, False, result, None)

    def _lookup(self, key: str) -> tuple[int, tuple[str, ...]] | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
            return entry

    def _store(self, key: str, entry: tuple[int, tuple[str, ...]]) -> None:
        if not self._cache_size:
            return
        with self._lock:
            self._cache[key] = entry
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def cache_len(self) -> int:
        with self._lock:
            return len(self._cache)


class _BadScore(ValueError):
    """A scorer answered, but not with a usable score."""


def _checked(value: object) -> tuple[int, tuple[str, ...]]:
    if isinstance(value, ScoringResult):
        score, signals = value.score, value.signals
    elif isinstance(value, Mapping):
        if "score" not in value:
            raise _BadScore("returned a dict without 'score'")
        score, signals = value["score"], value.get("signals", [])
    else:
        raise _BadScore(f"returned {type(value).__name__}, not a ScoringResult")
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise _BadScore(f"the score must be an int in 0..100; got {score!r}")
    if not isinstance(signals, list) or not all(isinstance(signal, str) for signal in signals):
        raise _BadScore(f"the signals must be a list of str; got {signals!r:.80}")
    return score, tuple(signals)
