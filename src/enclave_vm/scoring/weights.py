"""The one table of scoring weights (mirrored in docs/scoring.md).

A signal is worth the sum of the conditions it matched, each counted once, capped at the signal's
cap; the script's score is the sum over signals, clamped to 100. Conditions are tiers of one signal
("more above 100 000" is another condition of `excessive-limit`), so a signal id appears once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class SignalWeight:
    cap: int
    points: Mapping[str, int]
    """Condition id -> points."""


#: Table order breaks ties when signals are sorted by what they contributed.
WEIGHTS: Final[Mapping[str, SignalWeight]] = {
    "credential-exfiltration": SignalWeight(
        cap=50,
        points={
            "sensitive-then-send": 35,  # credential / high PII / financial, then a send or external call
            "external-destination": 15,  # ... and that call goes to a URL, webhook, upload
        },
    ),
    "list-send-pattern": SignalWeight(
        cap=45,
        points={
            "read-then-send": 15,  # any read tool, then a send tool
            "collection-read": 15,  # the read returns many records (list, query, search, export)
            "external-destination": 15,  # the send goes to a URL, webhook, upload
        },
    ),
    "sensitive-field": SignalWeight(
        cap=40,
        points={
            "credential": 30,  # password, token, secret, api key, credential, vault
            "pii": 25,  # ssn, credit card, passport, date of birth
            "financial": 20,  # iban, account / routing number
            "contact": 8,  # email, phone
        },
    ),
    "excessive-limit": SignalWeight(
        cap=50,
        points={
            "over-10k": 25,
            "over-100k": 15,
            "over-1m": 10,
        },
    ),
    "delete-after-access": SignalWeight(
        cap=40,
        points={
            "read-then-delete": 25,
            "mass-delete": 15,  # the delete is in a loop, or purge / wipe / drop / bulk / all
        },
    ),
    "loop-tool-call": SignalWeight(
        cap=30,
        points={
            "in-loop": 8,  # a tool call in a loop or array callback
            "over-tool-result": 10,  # ... iterating over what a tool returned
            "send-per-record": 12,  # ... and the call sends or goes external once per record
        },
    ),
    "bulk-operation": SignalWeight(
        cap=30,
        points={
            "batch": 12,  # bulk / batch in a tool name
            "all-records": 25,  # all / mass / dump / everything in a tool name
        },
    ),
    "wildcard-query": SignalWeight(
        cap=25,
        points={
            "wildcard": 20,  # '*', '%', SELECT * FROM
            "unfiltered-search": 15,  # a query / search / find tool with no arguments
        },
    ),
    "extreme-value": SignalWeight(cap=20, points={"over-1m": 20}),
    "dynamic-tool-name": SignalWeight(cap=10, points={"unresolved": 10}),
}


def combine(matched: Mapping[str, set[str]]) -> tuple[int, list[str]]:
    """The score and the signal ids (highest contribution first, table order on ties)."""
    contributions: list[tuple[int, int, str]] = []
    for order, (signal, weight) in enumerate(WEIGHTS.items()):
        conditions = matched.get(signal)
        if conditions:
            points = min(weight.cap, sum(weight.points[condition] for condition in conditions))
            contributions.append((-points, order, signal))
    contributions.sort()
    return min(100, -sum(points for points, _, _ in contributions)), [signal for _, _, signal in contributions]
