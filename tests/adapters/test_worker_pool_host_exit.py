"""Workers never outlive their host: not when it exits without dispose(), not when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

HOST = """
import asyncio, os, sys
from enclave_vm import Enclave, create_worker_pool_adapter

async def main() -> None:
    pool = create_worker_pool_adapter(pool_size=2)
    enclave = Enclave(adapter=pool, timeout=60_000, max_iterations=10**12)
    await asyncio.gather(enclave.run("return 1"), enclave.run("return 2"))
    busy = asyncio.ensure_future(enclave.run("for (let i = 0; i < 1e12; i++) {}"))
    await asyncio.sleep(0.1)
    print(" ".join(map(str, pool.worker_pids())), flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test has seen the workers alive
    mode = sys.argv[1]
    if mode == "_exit":
        os._exit(0)
    if mode == "exit":
        sys.exit(0)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("mode", ["exit", "_exit", "sigkill"])
def test_workers_die_with_their_host(mode: str, tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST, encoding="utf-8")
    host = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        assert host.stdout is not None
        pids = [int(pid) for pid in host.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        if mode == "sigkill":
            os.kill(host.pid, signal.SIGKILL)
        else:
            assert host.stdin is not None
            host.stdin.write("go\n")
            host.stdin.flush()
        host.wait(timeout=10)
        assert gone_within(pids, 3.0), [pid for pid in pids if alive(pid)]
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
