"""A stand-in for the engine actor: it speaks the actor's interface and answers each start with the frame
its kind names (honest or not). Sent to Ray by value, so Ray's workers need not import the tests."""

from __future__ import annotations

import os
import threading
from typing import Any

import ray

from enclave_vm.bridge.framing import pack

OK = [True, "1", "", "", "", "", ""]


def answer_slice(run: int, stdout: list[str], final: list[Any] | None, levels: list[str] | None = None) -> bytes:
    levels = ["log"] * len(stdout) if levels is None else levels
    return pack(["slice", run, [], stdout, 1, "", "", final, None, levels, [], False])


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


ANSWERS: dict[str, Any] = {
    "honest": lambda run: answer_slice(run, ["hi"], [True, "42", "", "", "", "", ""]),
    "not-bytes": lambda run: ["slice", run, [], [], 1, "", "", OK, None, [], [], False],
    "too-short": lambda run: b"\x00\x00",
    "length-mismatch": lambda run: (100).to_bytes(4, "big") + b"[1, 2]",
    "two-frames": lambda run: answer_slice(run, [], OK) + answer_slice(run, [], OK),
    "over-the-cap": lambda run: frame(b'"' + b"x" * (40 << 20) + b'"'),
    "not-json": lambda run: frame(b"{oops!}"),
    "nested-bomb": lambda run: frame(b"[" * 200000 + b"]" * 200000),
    "container-flood": lambda run: frame(b"[" + b",".join([b"{}"] * 1_000_000) + b"]"),
    "wrong-run": lambda run: answer_slice(run + 1, [], OK),
    "bad-kind": lambda run: pack(["hello", run]),
    "bad-slice": lambda run: pack(["slice", run, "calls", [], 0, "", "", None, None, [], [], False]),
    "console-flood": lambda run: answer_slice(run, ["x"] * 500, OK),
    "console-bytes": lambda run: answer_slice(run, ["x" * 70000], OK),
    "value-not-json": lambda run: answer_slice(run, [], [True, "{not json", "", "", "", "", ""]),
    "value-too-large": lambda run: answer_slice(run, [], [True, "1" * (2 << 20), "", "", "", "", ""]),
    "bad-fail": lambda run: pack(["fail", run, "TIMEOUT"]),
}


class StandIn:
    """Speaks the actor's interface; its `handle` answers a start with ANSWERS[kind] (or fails)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def ready(self) -> list[Any]:
        return [os.getpid(), 0.0]

    def handle(self, message: list[Any]) -> Any:
        if message[0] == "close":
            return None
        if self.kind == "raises":
            raise RuntimeError("the stand-in failed")
        if self.kind == "exits":
            os._exit(3)
        return ANSWERS[self.kind](message[1])

    @ray.method(concurrency_group="watch")
    def watch(self) -> None:
        threading.Event().wait()
