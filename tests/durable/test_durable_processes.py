"""The durable-run promise end to end: a script pauses twice and is resumed each time in a different
process through Redis; every tool runs exactly once and the final value is the uninterrupted run's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis

from redis_server import RedisServer

HELPER = Path(__file__).with_name("durable_process.py")


def step(url: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HELPER), url, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_two_pauses_resumed_in_other_processes_run_every_tool_once(redis_server: RedisServer) -> None:
    url = redis_server.url
    client = redis.Redis.from_url(url)
    client.delete("counts", "counts-uninterrupted")

    first = step(url, "start")
    assert first["tool"] == "approve"
    second = step(url, "resume", first["token"], json.dumps({"ok": True, "by": "ada"}))
    assert second["tool"] == "confirm"
    third = step(url, "resume", second["token"], json.dumps({"confirmed": True}))
    uninterrupted = step(url, "uninterrupted")

    assert "value" in third, third
    assert third["value"] == uninterrupted["value"]
    counts = {k.decode(): int(v) for k, v in client.hgetall("counts").items()}
    assert counts == {"create_order": 1, "approve": 1, "charge": 1, "confirm": 1, "notify": 1}
    # Redis holds the journals under a hash of the token, never the token itself.
    keys = [key.decode() for key in client.keys("durable-test:*")]
    assert all(first["token"] not in key and second["token"] not in key for key in keys)
    # Each token was used once.
    again = step(url, "resume", first["token"], "true")
    assert "already used" in again["lookup"]
