"""The scoring gate: judge what a valid script means to do with its tools before it runs."""

from __future__ import annotations

from .gate import GateDecision, ScoringGate
from .rule_based import RuleBasedScorer
from .weights import WEIGHTS

__all__ = ["WEIGHTS", "GateDecision", "RuleBasedScorer", "ScoringGate"]
