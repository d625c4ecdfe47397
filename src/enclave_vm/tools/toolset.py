"""`Toolset`: plain Python functions as tools for AgentScript.

A `Toolset` is a tool handler (`Enclave(tool_handler=toolset)`): it finds the tool by name, checks the
script's arguments against the schema derived from the function's type hints and docstring, calls the
function (sync or async) and checks that the result is JSON data. Every failure is an exception whose
message names the tool and the field, so the script sees a catchable `Error` it can act on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints, overload

import docstring_parser
from pydantic import BaseModel

from ..bridge.codec import kind_of
from ..config import SecurityLevel
from ..guard import agentscript_reference
from .code_tool import code_tool_definition
from .errors import ToolArgumentError, ToolResultError, UnknownToolError
from .schema import ArgumentError, Arguments, arguments_for, describe, returns_schema
from .typescript import ToolSignature, typescript_declarations

F = TypeVar("F", bound=Callable[..., Any])

#: The parameter that receives the run's `context` (from `run(context=...)`) instead of a script argument.
CONTEXT_PARAMETER = "context"
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$")


@dataclass(frozen=True)
class Tool:
    """One registered tool: its public description and the function behind it."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments object."""
    returns: dict[str, Any] | None
    """JSON Schema of the result, when the function's return type says it."""
    function: Callable[..., Any]
    is_async: bool
    wants_context: bool
    _arguments: Arguments

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"name": self.name, "description": self.description, "parameters": self.parameters}
        if self.returns is not None:
            described["returns"] = self.returns
        return described

    def bind(self, args: Mapping[str, Any], context: dict[str, Any] | None) -> dict[str, Any]:
        """The keyword arguments for the function, checked; `ToolArgumentError` names the bad field."""
        try:
            kwargs = self._arguments.check(args)
        except ArgumentError as exc:
            raise ToolArgumentError(self.name, exc.path, exc.message) from None
        if self.wants_context:
            kwargs[CONTEXT_PARAMETER] = context
        return kwargs

    def result(self, value: Any) -> Any:
        """The function's return value as JSON data; `ToolResultError` if it is not."""
        return to_json_data(value, self.name)


def to_json_data(value: Any, tool: str) -> Any:
    """Plain JSON data for a tool result. Pydantic models, dataclasses, enums and tuples are converted."""

    def walk(item: Any, path: str, depth: int) -> Any:
        if depth > 64:
            raise ToolResultError(tool, f"Tool '{tool}' returned data nested deeper than 64 levels at {path}")
        if item is None or isinstance(item, (bool, int, str)):
            return item
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ToolResultError(tool, f"Tool '{tool}' returned {item!r} at {path}, which is not JSON data")
            return item
        if isinstance(item, enum.Enum):
            return walk(item.value, path, depth)
        if isinstance(item, BaseModel):
            return item.model_dump(mode="json")
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            item = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        if isinstance(item, Mapping):
            out: dict[str, Any] = {}
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ToolResultError(
                        tool, f"Tool '{tool}' returned an object with the non-string key {key!r} at {path}"
                    )
                out[key] = walk(sub, f"{path}.{key[:64]}", depth + 1)  # a key may be long
            return out
        if isinstance(item, (list, tuple)):
            return [walk(sub, f"{path}[{index}]", depth + 1) for index, sub in enumerate(item)]
        raise ToolResultError(tool, f"Tool '{tool}' returned {kind_of(item)} at {path}, which is not JSON data")

    return walk(value, "result", 0)


def _description(parsed: docstring_parser.Docstring) -> str:
    parts = [part.strip() for part in (parsed.short_description, parsed.long_description) if part]
    return "\n\n".join(parts)


def make_tool(function: Callable[..., Any], name: str | None = None, description: str | None = None) -> Tool:
    """Describe `function` as a tool; `TypeError`/`ValueError` say what in its signature cannot be a tool."""
    if not callable(function):
        raise TypeError(f"a tool must be a function; got {type(function).__name__}")
    tool_name = name if name is not None else getattr(function, "__name__", None)
    if not isinstance(tool_name, str) or not _TOOL_NAME.match(tool_name):
        raise ValueError(
            f"tool name {tool_name!r} is not valid: use letters, digits and _ . : / - "
            "(at most 128 characters, starting with a letter or _), e.g. 'users:list'"
        )
    parsed = docstring_parser.parse(inspect.getdoc(function) or "")
    param_docs = {p.arg_name: p.description.strip() for p in parsed.params if p.description}
    try:
        hints = get_type_hints(function, include_extras=True)
    except Exception as exc:  # e.g. a string annotation naming a class the function's module cannot see
        raise TypeError(f"tool '{tool_name}': cannot resolve its type hints ({type(exc).__name__}: {exc})") from None
    parameters: list[inspect.Parameter] = []
    wants_context = False
    for param in inspect.signature(function).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(
                f"tool '{tool_name}', parameter '{param.name}': tools take named arguments only "
                "(no *args, **kwargs or positional-only)"
            )
        if param.name == CONTEXT_PARAMETER:
            wants_context = True
        else:
            parameters.append(param)
    arguments = arguments_for(parameters, hints, param_docs, f"tool '{tool_name}'")
    returns_doc = parsed.returns.description.strip() if parsed.returns and parsed.returns.description else None
    is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - an async callable object
    )
    return Tool(
        name=tool_name,
        description=(description if description is not None else _description(parsed)).strip(),
        parameters=arguments.schema,
        returns=returns_schema(hints.get("return", inspect.Signature.empty), returns_doc),
        function=function,
        is_async=is_async,
        wants_context=wants_context,
        _arguments=arguments,
    )


class Toolset:
    """Python functions registered as tools, usable as an `Enclave` tool handler.

    ```
    tools = Toolset()

    @tools.tool(name="users:list")
    def list_users(limit: int = 10) -> list[dict[str, Any]]:
        "List users."
    ```
    """

    def __init__(self, tools: Iterable[Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for function in tools:
            self.add(function)

    # ---- registering ----
    def add(self, function: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> Tool:
        """Register `function` as a tool (named after the function unless `name` is given)."""
        tool = make_tool(function, name, description)
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        return tool

    @overload
    def tool(self, function: F, /) -> F: ...

    @overload
    def tool(self, *, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...

    def tool(
        self, function: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
    ) -> Any:
        """Register a function: `@tools.tool`, `@tools.tool(name="users:list")` or `tools.tool(fn)`."""
        if function is not None:
            self.add(function, name=name, description=description)
            return function

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add(fn, name=name, description=description)
            return fn

        return register

    # ---- looking up ----
    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def tool_names(self) -> list[str]:
        """The names an `Enclave` reads from its handler: `tools.a.b(...)` and `unknown-tool` work with them."""
        return list(self._tools)

    def typescript_declarations(self) -> str:
        """TypeScript declarations of `callTool` (one overload per tool) and of the `tools` namespace,
        generated from the tools' JSON Schemas."""
        return typescript_declarations(
            ToolSignature(tool.name, tool.description, tool.parameters, tool.returns) for tool in self._tools.values()
        )

    def describe(self) -> list[dict[str, Any]]:
        """Name, description and JSON Schema (arguments, and the result when known) of every tool."""
        return [tool.describe() for tool in self._tools.values()]

    # ---- the tool handler ----
    def __call__(self, name: str, args: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
        """The `ToolHandler` protocol: checks, then calls; an async tool returns an awaitable."""
        tool = self._lookup(name)
        kwargs = tool.bind(args, context)
        value = tool.function(**kwargs)
        # Decided by the value, not `tool.is_async`: a sync-looking wrapper may return an awaitable.
        if inspect.isawaitable(value):
            return self._finish(tool, value)
        return tool.result(value)

    async def call(self, name: str, args: Mapping[str, Any], context: dict[str, Any] | None = None) -> Any:
        """Call a tool directly, as a script would, and return its JSON result."""
        value = self(name, dict(args), context)
        return await value if inspect.isawaitable(value) else value

    def call_sync(self, name: str, args: Mapping[str, Any], context: dict[str, Any] | None = None) -> Any:
        """`call()` for code without an event loop (an async tool runs on a loop of its own)."""
        tool = self._lookup(name)
        value = tool.function(**tool.bind(args, context))
        if not inspect.isawaitable(value):
            return tool.result(value)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._finish(tool, value))
        if inspect.iscoroutine(value):
            value.close()  # not run: no "never awaited" warning
        raise RuntimeError(f"call_sync() cannot run the async tool '{name}' in a running event loop; await call()")

    async def _finish(self, tool: Tool, pending: Awaitable[Any]) -> Any:
        return tool.result(await pending)

    def _lookup(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is None:
            available = ", ".join(self._tools) or "none"
            raise UnknownToolError(name, f"Unknown tool '{name}'; available tools: {available}")
        return tool

    # ---- prompts for a model ----
    def prompt(self, level: SecurityLevel | str = SecurityLevel.STANDARD) -> str:
        """What a model needs to write a valid script: the AgentScript reference for `level`, the tools, and
        their TypeScript declarations."""
        declarations = "### Declarations\n\n```ts\n" + self.typescript_declarations() + "```\n"
        return agentscript_reference(level).rstrip("\n") + "\n\n" + self.tools_prompt() + "\n\n" + declarations

    def tools_prompt(self) -> str:
        """The tools section of `prompt()`: each tool's name, description and compact schemas."""
        lines = [
            "## Tools",
            "",
            "Call a tool with `await callTool('name', { ...args })`, or by namespace: `await tools.users.list(args)` "
            "for the tool `users:list`. Arguments are checked against the schema before the tool runs: a wrong, "
            "missing or unknown argument throws an Error that names the field (with `{ throwOnError: false }` as "
            "the last argument the call resolves to `{ ok, value }` or `{ ok: false, error: { message } }`).",
        ]
        if not self._tools:
            lines += ["", "No tools are available."]
        for tool in self._tools.values():
            lines += ["", f"### `{tool.name}`", ""]
            if tool.description:
                lines += [tool.description, ""]
            lines.append(f"- args: `{describe(tool.parameters)}`")
            if tool.returns is not None:
                lines.append(f"- returns: `{describe(tool.returns)}`")
        return "\n".join(lines)

    def code_tool(
        self,
        format: str = "openai",
        *,
        level: SecurityLevel | str = SecurityLevel.STANDARD,
        name: str = "execute_agentscript",
        include_prompt: bool = True,
    ) -> dict[str, Any]:
        """The definition of one "execute AgentScript" tool for a model API, as plain dicts.

        `format="openai"` gives a Chat Completions function tool, `"anthropic"` a Messages API tool.
        With `include_prompt` (the default) the description carries `prompt(level)`; pass False when
        the prompt is already in the system message.
        """
        return code_tool_definition(self, format, level=level, name=name, include_prompt=include_prompt)

    def __repr__(self) -> str:
        return f"Toolset({json.dumps(self.names)})"
