"""Toolset: schemas from type hints and docstrings, argument checks, result checks, prompts."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, TypedDict

import pytest
from pydantic import BaseModel

from enclave_vm import (
    Enclave,
    ErrorCode,
    Tool,
    ToolArgumentError,
    ToolResultError,
    Toolset,
    UnknownToolError,
    agentscript_reference,
)


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Window(TypedDict):
    start: str
    days: int


@dataclasses.dataclass
class Page:
    size: int
    cursor: str | None = None


class Opaque:
    """Not JSON data: tools cannot take it."""


class Address(BaseModel):
    city: str
    zip: str


class Customer(BaseModel):
    name: str
    age: int
    address: Address


def make_toolset() -> Toolset:
    tools = Toolset()

    @tools.tool(name="users:list")
    def list_users(limit: int = 10, team: str | None = None) -> list[dict[str, Any]]:
        """List the users of the directory.

        Args:
            limit: How many users to return, at most.
            team: Only users of this team.
        """
        return [{"name": f"user{i}", "team": team} for i in range(limit)]

    @tools.tool
    async def tickets(status: Status, tags: list[str], window: Window, page: Page) -> dict[str, Any]:
        """Search tickets."""
        await asyncio.sleep(0)
        return {"status": status, "tags": tags, "window": window, "page": page}

    def save(customer: Customer, context: dict[str, Any] | None) -> Customer:
        """Save a customer."""
        assert isinstance(customer, Customer)
        return customer.model_copy(update={"name": f"{customer.name} ({(context or {}).get('tenant')})"})

    tools.add(save, name="crm:save", description="Store a customer record.")

    @tools.tool(name="odd")
    def odd(kind: Literal["set", "nan", "key", "obj", "ok"]) -> Any:
        return {"set": {1, 2}, "nan": [float("nan")], "key": {1: "a"}, "obj": {"a": [object()]}, "ok": [1]}[kind]

    return tools


@pytest.fixture
async def toolset_enclave() -> AsyncIterator[Enclave]:
    async with Enclave(tool_handler=make_toolset(), timeout=5000) as enclave:
        yield enclave


# ---- schemas ----
def test_schema_from_hints_and_docstring() -> None:
    tool = make_toolset()["users:list"]
    assert tool.description == "List the users of the directory."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "limit": {"type": "integer", "description": "How many users to return, at most.", "default": 10},
            "team": {"type": ["string", "null"], "description": "Only users of this team.", "default": None},
        },
        "additionalProperties": False,
    }
    assert tool.returns == {"type": "array", "items": {"type": "object"}}
    assert not tool.is_async


def test_schema_of_enums_typeddicts_dataclasses() -> None:
    tool = make_toolset()["tickets"]
    props = tool.parameters["properties"]
    assert tool.is_async
    assert tool.parameters["required"] == ["status", "tags", "window", "page"]
    assert props["status"] == {"enum": ["open", "closed"]}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["window"]["required"] == ["start", "days"]
    assert props["window"]["properties"]["days"] == {"type": "integer"}
    assert props["page"]["required"] == ["size"]
    assert props["page"]["properties"]["cursor"] == {"type": ["string", "null"], "default": None}


def test_pydantic_models_give_their_schema_with_shared_defs() -> None:
    tool = make_toolset()["crm:save"]
    assert tool.description == "Store a customer record."
    assert "context" not in tool.parameters["properties"]  # the run context is injected, not an argument
    customer = tool.parameters["properties"]["customer"]
    assert customer["required"] == ["name", "age", "address"]
    assert customer["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert tool.parameters["$defs"]["Address"]["required"] == ["city", "zip"]
    assert "title" not in json.dumps(tool.parameters)


def test_more_hint_shapes() -> None:
    tools = Toolset()

    @tools.tool
    def shapes(
        pair: tuple[int, str],
        scores: dict[str, float],
        choice: Literal["a", "b"] | None = None,
        note: Annotated[str, "a free-text note"] = "",
        anything: Any = None,
    ) -> None:
        pass

    props = tools["shapes"].parameters["properties"]
    assert props["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    assert props["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["choice"] == {"anyOf": [{"enum": ["a", "b"]}, {"type": "null"}], "default": None}
    assert props["note"] == {"type": "string", "description": "a free-text note", "default": ""}
    assert props["anything"] == {"default": None}
    assert tools["shapes"].returns is None


# ---- registration ----
def test_registration_forms_and_errors() -> None:
    def ping() -> str:
        return "pong"

    tools = Toolset([ping])
    assert tools.tool(lambda: 1, name="one") is not None
    assert tools.names == ["ping", "one"] and len(tools) == 2 and "ping" in tools
    assert isinstance(tools["ping"], Tool)
    with pytest.raises(ValueError, match="already registered"):
        tools.add(ping)
    with pytest.raises(ValueError, match="not valid"):
        tools.add(ping, name="has space")

    def star(*args: int) -> None: ...

    with pytest.raises(TypeError, match=r"parameter 'args'.*named arguments only"):
        tools.add(star)

    def uses_opaque(thing: Opaque) -> None: ...

    with pytest.raises(TypeError, match=r"parameter 'thing'.*no JSON form"):
        tools.add(uses_opaque)

    def int_keys(table: dict[int, str]) -> None: ...

    with pytest.raises(TypeError, match="string keys"):
        tools.add(int_keys)

    def unresolvable(x: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match="tool 'unresolvable': cannot resolve its type hints"):
        tools.add(unresolvable)


def test_describe_lists_every_tool() -> None:
    described = make_toolset().describe()
    assert [tool["name"] for tool in described] == ["users:list", "tickets", "crm:save", "odd"]
    assert set(described[0]) == {"name", "description", "parameters", "returns"}
    assert "returns" not in described[3]  # `Any` says nothing about the result


# ---- calls through an Enclave ----
async def test_sync_and_async_tools_run_with_checked_arguments(toolset_enclave: Enclave) -> None:
    result = await toolset_enclave.run(
        """
        const users = await callTool('users:list', { limit: 2 });
        const found = await callTool('tickets', {
          status: 'open', tags: ['a'], window: { start: 'mon', days: 3 }, page: { size: 5 },
        });
        return { users, found };
        """
    )
    assert result.success, result.error
    assert result.value["users"] == [{"name": "user0", "team": None}, {"name": "user1", "team": None}]
    assert result.value["found"] == {
        "status": "open",  # the enum member went back out as its value
        "tags": ["a"],
        "window": {"start": "mon", "days": 3},
        "page": {"size": 5, "cursor": None},  # the dataclass went back out as an object
    }


async def test_pydantic_argument_and_result_and_context(toolset_enclave: Enclave) -> None:
    result = await toolset_enclave.run(
        "return await callTool('crm:save', { customer: { name: 'ada', age: 36, address: { city: 'L', zip: 'N1' } } })",
        context={"tenant": "acme"},
    )
    assert result.success, result.error
    assert result.value == {"name": "ada (acme)", "age": 36, "address": {"city": "L", "zip": "N1"}}


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        ("callTool('users:list', { limit: 'ten' })", "limit", "expected an integer, got string"),
        ("callTool('users:list', { limit: true })", "limit", "expected an integer, got boolean"),
        ("callTool('users:list', { limt: 3 })", "limt", "unexpected argument (expected: limit, team)"),
        ("callTool('users:list', { team: 7 })", "team", "expected a string, got integer (or null)"),
        (
            "callTool('tickets', { status: 'pending', tags: [], window: { start: 'a', days: 1 }, page: { size: 1 } })",
            "status",
            'expected one of "open", "closed", got another string',
        ),
        (
            "callTool('tickets', { status: 'open', tags: ['a', 2], window: { start: 'a', days: 1 }, "
            "page: { size: 1 } })",
            "tags[1]",
            "expected a string, got integer",
        ),
        (
            "callTool('tickets', { status: 'open', tags: [], window: { start: 'a' }, page: { size: 1 } })",
            "window.days",
            "required argument is missing",
        ),
        ("callTool('tickets', { tags: [] })", "status", "required argument is missing"),
        (
            "callTool('crm:save', { customer: { name: 'a', age: 1, address: { city: 'x' } } })",
            "customer.address.zip",
            "field required",
        ),
        (
            "callTool('crm:save', { customer: { name: 'a', age: 'old', address: { city: 'x', zip: 'y' } } })",
            "customer.age",
            "input should be a valid integer",
        ),
    ],
)
async def test_bad_arguments_are_catchable_tool_errors_naming_the_field(
    toolset_enclave: Enclave, call: str, field: str, message: str
) -> None:
    caught = await toolset_enclave.run(f"try {{ await {call}; return 'ran' }} catch (e) {{ return e.message }}")
    assert caught.success, caught.error
    assert caught.value.startswith(f"Invalid argument '{field}' for tool ")
    assert message in caught.value.lower() if message.islower() else message in caught.value

    uncaught = await toolset_enclave.run(f"return await {call}")
    assert uncaught.error is not None and uncaught.error.code is ErrorCode.TOOL_ERROR
    assert uncaught.error.message == caught.value


async def test_the_function_is_not_called_with_bad_arguments() -> None:
    calls: list[int] = []
    tools = Toolset()

    @tools.tool
    def record(n: int) -> int:
        calls.append(n)
        return n

    async with Enclave(tool_handler=tools) as enclave:
        result = await enclave.run("try { await callTool('record', { n: 'x' }) } catch (e) {}\nreturn 1")
    assert result.value == 1 and calls == []


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("set", "Tool 'odd' returned a set at result, which is not JSON data"),
        ("nan", "Tool 'odd' returned nan at result[0], which is not JSON data"),
        ("key", "Tool 'odd' returned an object with the non-string key 1 at result"),
        ("obj", "Tool 'odd' returned a object at result.a[0], which is not JSON data"),
    ],
)
async def test_non_json_results_are_clear_tool_errors(toolset_enclave: Enclave, kind: str, message: str) -> None:
    result = await toolset_enclave.run(f"return await callTool('odd', {{ kind: '{kind}' }})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert result.error.message == message


async def test_unknown_tool_is_refused_before_the_run_with_a_suggestion(toolset_enclave: Enclave) -> None:
    """A Toolset tells the Enclave its names: a literal name it lacks is an `unknown-tool` issue."""
    result = await toolset_enclave.run("return await callTool('users:lst', {})")
    assert result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR
    assert result.error.data is not None
    (issue,) = result.error.data["issues"]
    assert issue["rule"] == "unknown-tool" and "did you mean 'users:list'?" in issue["message"]


async def test_unknown_tool_called_directly_lists_the_available_ones() -> None:
    with pytest.raises(UnknownToolError) as unknown:
        await make_toolset().call("users:delete", {})
    assert str(unknown.value) == "Unknown tool 'users:delete'; available tools: users:list, tickets, crm:save, odd"


async def test_direct_calls_raise_typed_errors() -> None:
    tools = make_toolset()
    assert await tools.call("odd", {"kind": "ok"}) == [1]
    assert (await tools.call("tickets", {"status": "closed", "tags": [], "window": {"start": "a", "days": 1},
                                         "page": {"size": 2}}))["status"] == "closed"  # fmt: skip
    with pytest.raises(ToolArgumentError) as bad:
        await tools.call("users:list", {"limit": "x"})
    assert bad.value.field == "limit" and bad.value.tool == "users:list"
    with pytest.raises(ToolResultError):
        await tools.call("odd", {"kind": "set"})
    with pytest.raises(UnknownToolError):
        await tools.call("missing", {})


# ---- prompts and code tools ----
@pytest.mark.parametrize("level", ["STRICT", "STANDARD"])
def test_prompt_has_the_reference_and_every_tool_compactly(level: str) -> None:
    tools = make_toolset()
    prompt = tools.prompt(level)
    assert prompt.startswith(agentscript_reference(level).rstrip("\n"))
    for tool in tools:
        assert f"### `{tool.name}`" in prompt
        assert tool.description in prompt
        assert f"- args: `{json.dumps(tool.parameters, separators=(',', ':'))}`" in prompt
    assert '"limit":{"type":"integer","description":"How many users to return, at most.","default":10}' in prompt


def test_code_tool_definitions() -> None:
    tools = make_toolset()
    openai = tools.code_tool("openai", level="SECURE")
    assert openai["type"] == "function"
    function = openai["function"]
    assert function["name"] == "execute_agentscript"
    assert function["parameters"]["required"] == ["code"]
    assert function["parameters"]["properties"]["code"]["type"] == "string"
    assert tools.prompt("SECURE").strip() in function["description"]
    json.dumps(openai)  # plain data

    anthropic = tools.code_tool("anthropic", name="run_script", include_prompt=False)
    assert set(anthropic) == {"name", "description", "input_schema"}
    assert anthropic["name"] == "run_script"
    assert anthropic["input_schema"] == function["parameters"]
    assert "AgentScript at the" not in anthropic["description"]
    with pytest.raises(ValueError, match="format must be one of openai, anthropic"):
        tools.code_tool("gemini")


def test_pydantic_is_optional() -> None:
    """With pydantic unimportable, toolsets still work (models just cannot be used)."""
    script = """
import sys
sys.modules['pydantic'] = None
from enclave_vm import Enclave, Toolset
tools = Toolset()
@tools.tool
def add(a: int, b: int = 1) -> int:
    return a + b
with Enclave(tool_handler=tools) as enclave:
    print(enclave.run_sync("return await callTool('add', { a: 2 })").value)
assert 'pydantic' not in sys.modules or sys.modules['pydantic'] is None
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


async def test_an_async_tool_behind_a_plain_wrapper_is_awaited() -> None:
    import functools
    from collections.abc import Callable

    def logged(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        return wrapper

    tools = Toolset()

    @tools.tool(name="slow")
    @logged
    async def slow(n: int) -> int:
        """Double n later."""
        await asyncio.sleep(0)
        return n * 2

    async with Enclave(tool_handler=tools) as enclave:
        result = await enclave.run("return await callTool('slow', { n: 21 });")
    assert result.success, result.error
    assert result.value == 42
