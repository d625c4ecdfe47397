"""`RuleBasedScorer`: what a valid script intends to do with its tools, as a 0–100 score."""

from __future__ import annotations

from ..guard.parse import ParsedScript, parse_script
from ..results import ScoringResult
from .detectors import detect
from .facts import collect
from .weights import combine


class RuleBasedScorer:
    """Scores exfiltration-shaped scripts: list-then-send, secrets then an external call, bulk pulls.

    Built on the guard's parse; the weights are in `enclave_vm.scoring.weights.WEIGHTS`. Signals come
    out highest contribution first. Stateless and safe to share between threads.
    """

    def score(self, code: str) -> ScoringResult:
        return self.score_parsed(parse_script(code))

    def score_parsed(self, parsed: ParsedScript) -> ScoringResult:
        """Score a script the guard has already parsed (its `.nodes` walk is shared, not repeated)."""
        return ScoringResult(*combine(self.conditions(parsed)))

    def conditions(self, parsed: ParsedScript) -> dict[str, set[str]]:
        """Signal id -> the conditions of the weight table it met; what the score is made of."""
        return detect(collect(parsed))
