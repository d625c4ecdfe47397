"""A Ray actor that answers what no honest engine sends costs its run (RUNTIME_ERROR, WorkerCrashedError)
and its life, and nothing else: a stand-in actor answers each start with a chosen frame, through the
real channel and the real checks."""

from __future__ import annotations

import json
import time

import pytest
import ray
import ray.cloudpickle
import stand_in_actor
from stand_in_actor import ANSWERS, StandIn

from enclave_vm.adapters.ray.channel import RayChannel
from enclave_vm.adapters.ray.slot import ActorSlot, RayGate
from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.driver import drive
from enclave_vm.bridge.protocol import RunOutcome, StartRequest
from engine_fixtures import engine_limits

ray.cloudpickle.register_pickle_by_value(stand_in_actor)


def run_against(kind: str) -> tuple[RunOutcome, ActorSlot, list[str]]:
    deaths: list[str] = []
    actor = ray.remote(concurrency_groups={"watch": 1})(StandIn).options(max_restarts=0)  # type: ignore[call-overload]
    slot = ActorSlot(1, actor.remote(kind), RayGate(), lambda _slot, cause: deaths.append(cause))
    assert slot.wait_ready()
    limits = engine_limits(timeout_ms=20_000, max_tool_calls=10, max_iterations=1000, memory_limit=16 << 20)
    request = StartRequest(program="(async () => 1)", globals_json="{}", limits=limits, deadline=time.monotonic() + 20)
    tools = ToolDispatcher(None, None, None, ValueLimits(1 << 20, 32))
    channel = RayChannel(slot, 7, request)
    try:
        outcome = drive(channel, request, tools)
    finally:
        channel.close()
        slot.kill()
    return outcome, slot, deaths


HOSTILE = [*sorted(set(ANSWERS) - {"honest"}), "raises"]


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_dishonest_answer_kills_the_actor_and_ends_the_run(local_ray: None, kind: str) -> None:
    outcome, slot, deaths = run_against(kind)
    assert not outcome.ok
    assert outcome.code == "RUNTIME_ERROR" and outcome.name == "WorkerCrashedError", outcome
    assert slot.dead and slot.cause == "protocol" and deaths == ["protocol"]


def test_an_actor_that_exits_mid_answer_is_a_crash(local_ray: None) -> None:
    outcome, slot, deaths = run_against("exits")
    assert outcome.code == "RUNTIME_ERROR" and outcome.name == "WorkerCrashedError"
    assert slot.cause == "crash" and deaths == ["crash"]


def test_an_honest_stand_in_is_believed(local_ray: None) -> None:
    outcome, _, deaths = run_against("honest")
    assert outcome.ok and json.loads(outcome.value_json) == 42 and outcome.stdout == ["hi"]
    assert deaths == []


def test_a_value_outside_the_limits_says_so(local_ray: None) -> None:
    outcome, _, _ = run_against("value-too-large")
    assert "value" in outcome.message
