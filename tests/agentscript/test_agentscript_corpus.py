"""Model-style scripts end to end on every adapter: each gives its expected value (or error code).

The corpus covers what the levels above STRICT add (error classes, Promise combinators over tool calls,
Map/Set, regular expressions, functions, `while` pagination, classes), `throwOnError: false`, the `tools`
namespace and TypeScript input; the tools are a `Toolset`, so every tool name is checked before the run.
"""

from __future__ import annotations

import pytest
from corpus_files import Script, has_expectation, scripts
from corpus_tools import toolset

from adapter_kinds import MakeEnclave

SCRIPTS = scripts()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(SCRIPTS) >= 60
    assert sum(script.language == "typescript" for script in SCRIPTS) >= 15
    assert sum(script.namespaced for script in SCRIPTS) >= 8
    assert all(has_expectation(script) for script in SCRIPTS)
    assert all(("tools." in script.code) == script.namespaced for script in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.path.name for script in SCRIPTS])
async def test_each_script_gives_its_expected_value(make_enclave: MakeEnclave, script: Script) -> None:
    enclave = make_enclave(tool_handler=toolset, security_level=script.level, language=script.language)
    result = await enclave.run(script.code)
    if script.expect_error is not None:
        assert result.error is not None and result.error.code == script.expect_error, result
    else:
        assert result.error is None, result.error
        assert result.value == script.expect
