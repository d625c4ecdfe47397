"""Every ```python block in README.md and docs/*.md runs, as a standalone script, and succeeds.

Each block runs in its own interpreter (the one running the tests), with the repository root as the
working directory and REDIS_URL pointing at a live throwaway redis-server. Blocks run a few at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from doc_blocks import ROOT, Block, python_blocks

from redis_server import RedisServer

BLOCKS = python_blocks()
_PARALLEL = 3
_TIMEOUT_S = 60


def _run(block: Block, redis_url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("FORCE_COLOR", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", block.code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    return done, time.perf_counter() - started


@pytest.fixture(scope="session")
def block_runs(redis_server: RedisServer) -> Callable[[Block], tuple[subprocess.CompletedProcess[str], float]]:
    """All blocks start together on first use (a few at a time); each test waits for its own."""
    pool = ThreadPoolExecutor(max_workers=_PARALLEL)
    futures: dict[str, Future[tuple[subprocess.CompletedProcess[str], float]]] = {}

    def result(block: Block) -> tuple[subprocess.CompletedProcess[str], float]:
        if not futures:
            for each in BLOCKS:
                futures[each.id] = pool.submit(_run, each, redis_server.url)
        return futures[block.id].result()

    yield result  # type: ignore[misc]
    pool.shutdown(wait=True)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_doc_block_runs(
    block: Block, block_runs: Callable[[Block], tuple[subprocess.CompletedProcess[str], float]]
) -> None:
    done, seconds = block_runs(block)
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"
    assert seconds < 20, f"{block.id} took {seconds:.1f} s; doc examples must be quick"


def test_there_are_examples_to_run() -> None:
    files = {block.path for block in BLOCKS}
    assert "README.md" in files
    for page in ("docs/api.md", "docs/errors.md", "docs/security-levels.md", "docs/adapters.md"):
        assert page in files, f"{page} has no runnable example"
