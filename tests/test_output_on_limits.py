"""What a script printed before a terminal limit stopped it is kept in `result.stdout`."""

from __future__ import annotations

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import ErrorCode

SPIN = "const spin = async (n) => { await n; return spin(n + 1); };\nawait spin(0);"
CASES = [
    ("cpu-loop", "for (let i = 0; i < 1e12; i++) {}", ErrorCode.TIMEOUT),
    ("microtask-chain", SPIN, ErrorCode.TIMEOUT),
    ("iterations", "for (let i = 0; i < 1e6; i++) {}", ErrorCode.MAX_ITERATIONS),
]


@pytest.mark.parametrize(("code", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_stdout_survives_a_terminal_limit(make_enclave: MakeEnclave, code: str, expected: ErrorCode) -> None:
    limit = 10**12 if expected is ErrorCode.TIMEOUT else 1000
    # Memory to spare: the microtask chain grows the heap and must meet the clock first.
    with make_enclave(timeout=300, max_iterations=limit, memory_limit=512 << 20) as enclave:
        result = await enclave.run("console.log('started', 1);\n" + code)
    assert result.error is not None and result.error.code is expected
    assert result.stdout == "started 1\n"
