"""Signals from facts: each detector names the conditions of `WEIGHTS` a script meets."""

from __future__ import annotations

from collections import defaultdict

from .facts import Facts, ToolCall

#: Sensitive classes whose leaving the system is exfiltration; a contact address is how mail is sent.
_EXFILTRATABLE = frozenset({"credential", "pii", "financial"})


def detect(facts: Facts) -> dict[str, set[str]]:
    """Signal id -> the conditions it met."""
    matched: defaultdict[str, set[str]] = defaultdict(set)
    calls = facts.calls
    for cls in facts.sensitive:
        matched["sensitive-field"].add(cls)
    _limits(facts.max_limit, matched)
    _sequences(calls, matched)
    first_sensitive = min((offset for cls, offset in facts.sensitive.items() if cls in _EXFILTRATABLE), default=None)
    for call in calls:
        kind = call.kind
        if kind is None:
            matched["dynamic-tool-name"].add("unresolved")
        elif kind.bulk_strong:
            matched["bulk-operation"].add("all-records")
        elif kind.bulk_weak:
            matched["bulk-operation"].add("batch")
        if call.wildcard:
            matched["wildcard-query"].add("wildcard")
        if call.unfiltered:
            matched["wildcard-query"].add("unfiltered-search")
        if call.extreme:
            matched["extreme-value"].add("over-1m")
        if call.in_loop:
            matched["loop-tool-call"].add("in-loop")
            if call.over_result:
                matched["loop-tool-call"].add("over-tool-result")
                if _outbound(call):  # a delete per record is delete-after-access's to count
                    matched["loop-tool-call"].add("send-per-record")
        if first_sensitive is not None and first_sensitive < call.end and _outbound(call):
            matched["credential-exfiltration"].add("sensitive-then-send")
            if call.external:
                matched["credential-exfiltration"].add("external-destination")
    return dict(matched)


def _outbound(call: ToolCall) -> bool:
    return call.external or (call.kind is not None and call.kind.send)


def _limits(limit: float, matched: defaultdict[str, set[str]]) -> None:
    for threshold, condition in ((10_000, "over-10k"), (100_000, "over-100k"), (1_000_000, "over-1m")):
        if limit > threshold:
            matched["excessive-limit"].add(condition)


def _sequences(calls: list[ToolCall], matched: defaultdict[str, set[str]]) -> None:
    """Read-then-send and read-then-delete: a read call that comes before another call."""
    read_seen = collection_seen = False
    # A call's arguments run before it, so order by where calls end: `send({body: list()})` is list, then send.
    for call in sorted(calls, key=lambda call: call.end):
        kind = call.kind
        if kind is None:
            continue
        if read_seen:
            if kind.send or (call.external and not kind.read):
                matched["list-send-pattern"].add("read-then-send")
                if collection_seen:
                    matched["list-send-pattern"].add("collection-read")
                if call.external:
                    matched["list-send-pattern"].add("external-destination")
            if kind.delete:
                matched["delete-after-access"].add("read-then-delete")
                if call.in_loop or kind.mass_delete or kind.bulk_strong or kind.bulk_weak:
                    matched["delete-after-access"].add("mass-delete")
        read_seen = read_seen or kind.read
        collection_seen = collection_seen or kind.collection
