"""What an honest engine can produce never costs its worker: console output up to the caps, a huge
`JSON.rawJSON` number, a value nested as deep as the engine allows. The run ends as it does in-process and
the same worker serves the next run."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enclave_vm import Enclave, WorkerPoolOptions
from enclave_vm.adapters.worker_pool import WorkerPoolAdapter
from enclave_vm.adapters.worker_pool.honest import console_cost, is_json_value
from enclave_vm.config import LEVEL_DEFAULTS, SecurityLevel

CAP = LEVEL_DEFAULTS[SecurityLevel.STRICT].console_bytes
# Each console line costs its UTF-8 bytes plus a newline.
ASCII_AT_CAP = f"""
const line = 'a'.repeat(999);
for (let i = 0; i < {CAP // 1000}; i++) {{ console.log(line) }}
console.log('b'.repeat({CAP % 1000 - 1}));
let refused = '';
try {{ console.log('c') }} catch (e) {{ refused = e.message }}
return refused
"""
MULTIBYTE_AT_CAP = f"console.log('€'.repeat({(CAP - 1) // 3})); return 1"
SCRIPTS = {
    "console-ascii-at-the-cap": ASCII_AT_CAP,
    "console-multibyte-at-the-cap": MULTIBYTE_AT_CAP,
    "raw-json-number": "return JSON.rawJSON('9'.repeat(5000))",
    "raw-json-number-inside": "return { n: [JSON.rawJSON('-' + '7'.repeat(4400) + '.5e-3')] }",
    "nested-deeper-than-python-parses": "let a = []; for (let i = 0; i < 1500; i++) { a = [a] } return a",
}


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPoolAdapter]:
    adapter = WorkerPoolAdapter(WorkerPoolOptions(pool_size=1))
    yield adapter
    adapter.dispose()


class Kept:
    """The pool, kept across Enclaves (an Enclave disposes its adapter)."""

    def __init__(self, inner: WorkerPoolAdapter) -> None:
        self.inner = inner

    async def execute(self, request, tools):  # type: ignore[no-untyped-def]
        return await self.inner.execute(request, tools)

    def dispose(self) -> None:
        pass


@pytest.mark.parametrize("name", sorted(SCRIPTS))
async def test_honest_output_near_the_limits_keeps_the_worker(pool: WorkerPoolAdapter, name: str) -> None:
    options = {"security_level": "SECURE", "max_iterations": 5000}
    if name.startswith("console"):
        options = {"security_level": "STRICT"}
    with Enclave(**options) as inprocess, Enclave(adapter=Kept(pool), **options) as pooled:
        expected = await inprocess.run(SCRIPTS[name])
        assert (await pooled.run("return 0")).success
        [pid] = pool.worker_pids()
        crashes = pool.stats().crashes
        result = await pooled.run(SCRIPTS[name])
        assert (result.success, result.value, result.stdout) == (expected.success, expected.value, expected.stdout)
        assert (result.error and result.error.code) == (expected.error and expected.error.code), result.error
        assert (await pooled.run("return 'same worker'")).value == "same worker"
        assert pool.worker_pids() == [pid] and pool.stats().crashes == crashes
    if name == "console-ascii-at-the-cap":
        assert result.value == f"Console output limit exceeded ({CAP} bytes)"
        assert len(result.stdout.encode()) == CAP


def test_console_cost_counts_utf8_bytes_and_newlines() -> None:
    assert console_cost(["a", "€", "😀", "\ud800"]) == (1 + 1) + (3 + 1) + (4 + 1) + (3 + 1)
    assert console_cost([]) == 0


JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


def nest(depth: int, inner: str) -> str:
    return "[" * depth + inner + "]" * depth


def reference(text: str) -> bool:
    """Python's parser, for texts shallow enough for it (numbers kept as text, NaN refused)."""

    def refuse(name: str) -> object:
        raise ValueError(name)

    try:
        json.loads(text, parse_int=str, parse_float=str, parse_constant=refuse)
    except ValueError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(JSON_DATA, st.integers(min_value=0, max_value=40), st.data())
def test_the_deep_check_agrees_with_the_parser(value: object, cut: int, data: st.DataObject) -> None:
    text = json.dumps(value, ensure_ascii=False)
    mutated = text[: cut % (len(text) + 1)] + data.draw(st.sampled_from(["", ",", "]", "}", ":", '"', "x", " "]))
    mutated += text[cut % (len(text) + 1) :]
    for candidate in (text, mutated):
        # Wrapped deeper than Python's parser goes, the check falls back to the iterative one: it must
        # agree with the parser on the same text wrapped less deeply.
        assert is_json_value(nest(2000, candidate), 512 * 1024) == reference(nest(100, candidate))


def test_the_deep_check_refuses_what_no_engine_stack_holds() -> None:
    assert is_json_value(nest(3000, "1"), 512 * 1024)
    assert not is_json_value(nest(100_000, "1"), 512 * 1024)
    assert not is_json_value(nest(3000, "1") + "]", 512 * 1024)
    assert not is_json_value("[" * 3000 + "]" * 2999, 512 * 1024)
    assert not is_json_value(nest(3000, "NaN"), 512 * 1024)
    assert is_json_value(nest(3000, '{"a":[1,2,{}],"b":"x\\"y"}'), 512 * 1024)
