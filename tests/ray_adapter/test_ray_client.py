"""`create_ray_adapter(address="ray://...")` over Ray Client: a client process with no Ray of its own runs
a script whose engine lives on the session's local Ray, while its tool runs in the client. The Ray Client
server listens on 127.0.0.1 only."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import ray

CLIENT = """
import asyncio, json, os, sys
from enclave_vm import Enclave, create_ray_adapter

async def tool(name, args, context):
    return {"pid": os.getpid(), "doubled": args["x"] * 2}

async def main():
    adapter = create_ray_adapter(1, address=sys.argv[1])
    with Enclave(adapter=adapter, tool_handler=tool, timeout=30_000) as enclave:
        done = await enclave.run("console.log('over Ray Client'); return await callTool('t', {x: 21})")
        failed = await enclave.run("throw new Error('boom')")
    print(json.dumps({
        "pid": os.getpid(), "value": done.value, "stdout": done.stdout, "failed": failed.error.code,
        "started": adapter.stats().started, "actors": len(adapter.actor_handles()),
    }))

asyncio.run(main())
"""


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def client_server(local_ray: None) -> Iterator[int]:
    """A Ray Client server on 127.0.0.1 in front of the session's Ray; yields its port."""
    port = free_loopback_port()
    gcs = ray.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "ray.util.client.server", "--address", gcs, "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--mode", "legacy"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not accepts(port):
            assert server.poll() is None, "the Ray Client server exited"
            assert time.monotonic() < deadline, "the Ray Client server did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_run_over_ray_client(client_server: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, f"ray://127.0.0.1:{client_server}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["value"] == {"pid": report["pid"], "doubled": 42}  # the tool ran in the client
    assert report["stdout"] == "over Ray Client\n" and report["failed"] == "RUNTIME_ERROR"
    assert report["started"] == 1 and report["actors"] == 0  # disposed with its Enclave
