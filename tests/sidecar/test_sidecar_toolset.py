"""A stored value must not come back into the script through a Toolset's argument errors."""

from __future__ import annotations

from enclave_vm import Enclave, Toolset

SECRET_TEXT = "sk-LIVE-0123456789abcdef"


def make_tools() -> Toolset:
    tools = Toolset()

    @tools.tool(name="secrets:get")
    def get_secret() -> dict[str, str]:
        """Return a large document holding a key."""
        return {"api_key": SECRET_TEXT, "padding": "x" * 4000}

    @tools.tool(name="count")
    def count(n: int) -> int:
        """Count to n."""
        return n

    return tools


async def test_a_reference_of_the_wrong_type_is_refused_without_echoing_its_content() -> None:
    code = """
const ref = await callTool('secrets:get', {});
try {
  await callTool('count', { n: ref });
  return 'accepted';
} catch (e) {
  return e.message;
}
"""
    with Enclave(tool_handler=make_tools(), sidecar={"enabled": True, "threshold": 1024}) as enclave:
        result = await enclave.run(code)
    assert result.success, result.error
    assert isinstance(result.value, str)
    assert "Invalid argument 'n'" in result.value
    assert SECRET_TEXT not in result.value and "api_key" not in result.value
