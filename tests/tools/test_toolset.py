"""Toolset: schemas from type hints and docstrings, argument checks, result checks, prompts."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict as TypedDictX

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
from enclave_vm.tools.schema import without_titles


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


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class Filter(BaseModel):
    status: Literal["open", "closed"] = "open"
    owner: str | None = None


class Span(TypedDictX):
    start: str
    days: NotRequired[int]


@dataclasses.dataclass
class Cursor:
    after: str | None = None


class Book(BaseModel):
    title: str
    subtitle: Annotated[str, Field(title="Sub")] = ""


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
def test_schema_is_pydantics_with_the_docstring_as_field_descriptions() -> None:
    tool = make_toolset()["users:list"]
    assert tool.description == "List the users of the directory."

    def list_users(
        limit: Annotated[int, Field(description="How many users to return, at most.")] = 10,
        team: Annotated[str | None, Field(description="Only users of this team.")] = None,
    ) -> None: ...

    assert tool.parameters == TypeAdapter(list_users).json_schema()
    assert tool.parameters == {  # the shape pydantic emits, pinned
        "additionalProperties": False,
        "properties": {
            "limit": {
                "default": 10,
                "description": "How many users to return, at most.",
                "title": "Limit",
                "type": "integer",
            },
            "team": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "Only users of this team.",
                "title": "Team",
            },
        },
        "type": "object",
    }
    assert tool.returns == TypeAdapter(list[dict[str, Any]]).json_schema(mode="serialization")
    assert not tool.is_async


def test_a_plain_function_gets_exactly_typeadapters_schema() -> None:
    def search(query: str, level: Level, filter: Filter, ids: list[int] | None = None, exact: bool = False) -> None:
        pass

    tools = Toolset([search])
    assert tools["search"].parameters == TypeAdapter(search).json_schema()


def test_schema_of_enums_typeddicts_dataclasses() -> None:
    tool = make_toolset()["tickets"]
    params = tool.parameters
    assert tool.is_async
    assert params["required"] == ["status", "tags", "window", "page"]
    assert params["properties"]["status"] == {"$ref": "#/$defs/Status"}
    assert (
        params["$defs"]["Status"]
        == TypeAdapter(Status).json_schema()
        == {
            "enum": ["open", "closed"],
            "title": "Status",
            "type": "string",
        }
    )
    assert params["properties"]["tags"] == {"items": {"type": "string"}, "title": "Tags", "type": "array"}
    # Objects are closed: nested TypedDicts and dataclasses refuse unknown keys too.
    assert params["$defs"]["Window"] == {
        "additionalProperties": False,
        "properties": {"start": {"title": "Start", "type": "string"}, "days": {"title": "Days", "type": "integer"}},
        "required": ["start", "days"],
        "title": "Window",
        "type": "object",
    }
    assert params["$defs"]["Page"]["additionalProperties"] is False
    assert params["$defs"]["Page"]["required"] == ["size"]
    assert params["$defs"]["Page"]["properties"]["cursor"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
        "title": "Cursor",
    }


def test_closed_nested_objects_are_typeadapters_with_extra_forbid() -> None:
    def browse(span: Span, cursor: Cursor) -> None:
        pass

    expected = TypeAdapter(browse, config=ConfigDict(extra="forbid")).json_schema()
    assert Toolset([browse])["browse"].parameters == expected
    assert expected["$defs"]["Span"]["required"] == ["start"]


def test_pydantic_models_give_their_schema_with_shared_defs() -> None:
    tool = make_toolset()["crm:save"]
    assert tool.description == "Store a customer record."
    assert "context" not in tool.parameters["properties"]  # the run context is injected, not an argument

    def save(customer: Customer) -> None: ...

    assert tool.parameters == TypeAdapter(save).json_schema()
    assert tool.parameters["properties"]["customer"] == {"$ref": "#/$defs/Customer"}
    customer = {key: value for key, value in Customer.model_json_schema().items() if key != "$defs"}
    assert tool.parameters["$defs"]["Customer"] == customer
    assert tool.parameters["$defs"]["Address"] == Address.model_json_schema()
    assert tool.returns == TypeAdapter(Customer).json_schema(mode="serialization")


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
    assert props["pair"] == TypeAdapter(tuple[int, str]).json_schema() | {"title": "Pair"}
    assert props["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert props["scores"] == {"additionalProperties": {"type": "number"}, "title": "Scores", "type": "object"}
    assert props["choice"] == {
        "anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}],
        "default": None,
        "title": "Choice",
    }
    # A plain string in Annotated is the description, as a docstring's would be.
    assert props["note"] == {"default": "", "description": "a free-text note", "title": "Note", "type": "string"}
    assert props["anything"] == {"default": None, "title": "Anything"}
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
        ("callTool('users:list', { limit: 'ten' })", "limit", 'Input should be a valid integer, got "ten"'),
        ("callTool('users:list', { limit: true })", "limit", "Input should be a valid integer, got true"),
        ("callTool('users:list', { limit: 2.5 })", "limit", "Input should be a valid integer, got 2.5"),
        ("callTool('users:list', { limt: 3 })", "limt", "unexpected argument (expected: limit, team)"),
        ("callTool('users:list', { team: 7 })", "team", "Input should be a valid string, got 7"),
        ("callTool('users:list', { team: ['a'] })", "team", "Input should be a valid string, got an array"),
        (
            "callTool('tickets', { status: 'pending', tags: [], window: { start: 'a', days: 1 }, page: { size: 1 } })",
            "status",
            "Input should be 'open' or 'closed', got \"pending\"",
        ),
        (
            "callTool('tickets', { status: 'open', tags: ['a', 2], window: { start: 'a', days: 1 }, "
            "page: { size: 1 } })",
            "tags[1]",
            "Input should be a valid string, got 2",
        ),
        (
            "callTool('tickets', { status: 'open', tags: [], window: { start: 'a' }, page: { size: 1 } })",
            "window.days",
            "required field is missing",
        ),
        (
            "callTool('tickets', { status: 'open', tags: [], window: { start: 'a', days: 1, weeks: 2 }, "
            "page: { size: 1 } })",
            "window.weeks",
            "unexpected field",
        ),
        (
            "callTool('tickets', { status: 'open', tags: [], window: { start: 'a', days: 1 }, page: { size: 1, "
            "next: 'x' } })",
            "page.next",
            "unexpected field",
        ),
        ("callTool('tickets', { tags: [] })", "status", "required argument is missing (and 2 more problems)"),
        (
            "callTool('crm:save', { customer: { name: 'a', age: 1, address: { city: 'x' } } })",
            "customer.address.zip",
            "required field is missing",
        ),
        (
            "callTool('crm:save', { customer: { name: 'a', age: 'old', address: { city: 'x', zip: 'y' } } })",
            "customer.age",
            'Input should be a valid integer, got "old"',
        ),
    ],
)
async def test_bad_arguments_are_catchable_tool_errors_naming_the_field(
    toolset_enclave: Enclave, call: str, field: str, message: str
) -> None:
    caught = await toolset_enclave.run(f"try {{ await {call}; return 'ran' }} catch (e) {{ return e.message }}")
    assert caught.success, caught.error
    assert caught.value.startswith(f"Invalid argument '{field}' for tool ")
    assert caught.value.endswith(f": {message}")

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
        ("obj", "Tool 'odd' returned an object at result.a[0], which is not JSON data"),
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
        assert f"- args: `{json.dumps(without_titles(tool.parameters), separators=(',', ':'))}`" in prompt
    # The titles pydantic derives from names are left out of the prompt: they cost tokens and say nothing.
    assert '"limit":{"default":10,"description":"How many users to return, at most.","type":"integer"}' in prompt
    assert '"title":' not in prompt.split("## Tools", 1)[1]


def test_without_titles_walks_keywords_only() -> None:
    def shelve(book: Book, title: str, tags: list[Book] | None = None) -> None: ...

    schema = without_titles(Toolset([shelve])["shelve"].parameters)
    assert schema["$defs"]["Book"] == {  # a property named `title` stays; the keyword `title` goes
        "properties": {"title": {"type": "string"}, "subtitle": {"default": "", "type": "string"}},
        "required": ["title"],
        "type": "object",
    }
    assert schema["properties"]["title"] == {"type": "string"}
    assert schema["properties"]["tags"] == {
        "anyOf": [{"items": {"$ref": "#/$defs/Book"}, "type": "array"}, {"type": "null"}],
        "default": None,
    }
    assert schema["required"] == ["book", "title"]


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


class Options(TypedDict, total=False):
    """Search options."""

    exact: bool
    fields: list[str]


class Query(TypedDict):
    text: str
    options: NotRequired[Options]


def test_stdlib_typeddicts_work_as_pydantic_would_take_them() -> None:
    """`typing.TypedDict` (which pydantic refuses before Python 3.12) gives the schema and checks of the
    same `typing_extensions.TypedDict`, required keys, docstring and nesting included."""
    tools = Toolset()

    @tools.tool
    def find(query: Query) -> list[str]:
        return [query["text"], *query.get("options", {}).get("fields", [])]

    defs = tools["find"].parameters["$defs"]
    assert defs["Query"]["required"] == ["text"]
    assert defs["Query"]["properties"]["options"] == {"$ref": "#/$defs/Options"}
    assert defs["Options"]["description"] == "Search options."
    assert "required" not in defs["Options"] and defs["Options"]["additionalProperties"] is False
    assert tools.call_sync("find", {"query": {"text": "a", "options": {"fields": ["b"]}}}) == ["a", "b"]
    with pytest.raises(ToolArgumentError) as bad:
        tools.call_sync("find", {"query": {"text": "a", "options": {"exact": "yes"}}})
    assert bad.value.field == "query.options.exact"


def test_union_alternatives_are_named_together_at_the_field() -> None:
    tools = Toolset()

    @tools.tool
    def pick(ids: int | list[int], keys: dict[int, str] | None = None) -> Any:
        return {"ids": ids, "keys": sorted((keys or {}).items())}

    with pytest.raises(ToolArgumentError) as bad:
        tools.call_sync("pick", {"ids": "s"})
    assert bad.value.field == "ids"
    assert str(bad.value).endswith(': Input should be a valid integer or a valid array, got "s"')
    with pytest.raises(ToolArgumentError) as nested:
        tools.call_sync("pick", {"ids": [1, "x"]})
    assert nested.value.field == "ids[1]"
    # JSON object keys are strings; an int-keyed dict takes numeric ones, as pydantic does.
    assert tools.call_sync("pick", {"ids": 1, "keys": {"7": "a"}}) == {"ids": 1, "keys": [[7, "a"]]}


async def test_call_sync_runs_sync_and_async_tools() -> None:
    tools = make_toolset()
    assert tools.call_sync("odd", {"kind": "ok"}) == [1]  # a sync tool is fine inside a running loop
    with pytest.raises(RuntimeError, match=r"call_sync\(\) cannot run the async tool 'tickets'"):
        tools.call_sync("tickets", {"status": "open", "tags": [], "window": {"start": "a", "days": 1},
                                    "page": {"size": 1}})  # fmt: skip


def test_call_sync_without_a_loop_runs_an_async_tool() -> None:
    found = make_toolset().call_sync(
        "tickets", {"status": "closed", "tags": ["x"], "window": {"start": "a", "days": 1}, "page": {"size": 2}}
    )
    assert found == {"status": "closed", "tags": ["x"], "window": {"start": "a", "days": 1},
                     "page": {"size": 2, "cursor": None}}  # fmt: skip


@pytest.mark.parametrize(
    ("returned", "where"),
    [
        ("{1, 2}", "a set at result"),
        ("{'a': [float('nan')]}", "nan at result.a[0]"),
        ("{'a': [object()]}", "an object at result.a[0]"),
        ("{(1, 2): 'x'}", "an object with the key a tuple at result"),
    ],
)
async def test_a_plain_handlers_non_json_result_names_the_type_and_where(returned: str, where: str) -> None:
    value = eval(returned)

    def handler(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        return value

    async with Enclave(tool_handler=handler) as enclave:
        result = await enclave.run("return await callTool('t', {})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert result.error.message == f"Tool 't' returned {where}, which is not JSON data"
