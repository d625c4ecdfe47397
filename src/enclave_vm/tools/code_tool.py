""" "Code mode" for model APIs: one tool that runs an AgentScript, and a model-friendly answer.

`code_tool_definition()` writes the tool definition (OpenAI Chat Completions or Anthropic Messages
format, plain dicts); `run_code_tool_call()` runs the model's call on an `Enclave` and turns the
`ExecutionResult` into compact JSON text the model can read: the value and the console output, or the
error with its code, the issues and their line/column, and what to do next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import SecurityLevel
from ..guard import agentscript_reference
from ..results import ErrorCode, ExecutionResult, ExecutionStats, make_error

if TYPE_CHECKING:
    from ..enclave import Enclave
    from .toolset import Toolset

FORMATS = ("openai", "anthropic")

#: What a model should do about each error; shown with the error in the tool result.
ERROR_HINTS: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "The script was rejected before it ran. Fix every issue listed (line and column "
    "are given) and call the tool again.",
    ErrorCode.TIMEOUT: "The script ran out of time. Do less per script: fewer or narrower tool calls, less looping.",
    ErrorCode.MAX_TOOL_CALLS: "The script made more tool calls than allowed. Fetch in bulk where a tool allows "
    "it, or split the task over several scripts.",
    ErrorCode.MAX_ITERATIONS: "Loops ran more iterations than allowed. Filter data with tool arguments instead "
    "of loops, or process less data per script.",
    ErrorCode.TOOL_ERROR: "A tool call failed and the script did not catch it. Check the tool's arguments "
    "against its schema, or wrap the call in try/catch.",
    ErrorCode.MEMORY_LIMIT_EXCEEDED: "The script used too much memory or moved too large a value. Return or pass "
    "less data (select fields, summarise).",
    ErrorCode.SCORING_BLOCKED: "The script was blocked as risky before it ran. Do not retry the same approach; "
    "ask the user if the task really needs it.",
    ErrorCode.RUNTIME_ERROR: "The script threw an error. Fix it at the line given and call the tool again.",
}

_DESCRIPTION = (
    "Run an AgentScript program (a safe subset of JavaScript) in a sandbox and get back its return value "
    "and console output. Inside the script, call the tools below with `await callTool(name, args)`, "
    "process their results in code, and `return` only what you need. Prefer one script that does the "
    "whole task over many small calls."
)
_CODE_DESCRIPTION = (
    "The AgentScript source: the body of an async function. Use `await callTool('tool:name', { ... })` "
    "and `return` the result (JSON data)."
)


def code_tool_definition(
    toolset: Toolset | None,
    format: str,
    *,
    level: SecurityLevel | str = SecurityLevel.STANDARD,
    name: str = "execute_agentscript",
    include_prompt: bool = True,
) -> dict[str, Any]:
    """The "execute AgentScript" tool for `format` ("openai" or "anthropic")."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    description = _DESCRIPTION if include_prompt else _DESCRIPTION.replace("the tools below", "the available tools")
    if include_prompt:
        body = toolset.prompt(level) if toolset is not None else agentscript_reference(level)
        description += "\n\n" + body.strip()
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "description": _CODE_DESCRIPTION}},
        "required": ["code"],
        "additionalProperties": False,
    }
    if format == "openai":
        return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}
    return {"name": name, "description": description, "input_schema": schema}


@dataclass
class CodeToolResult:
    """The answer to one "execute AgentScript" tool call."""

    content: str
    """Compact JSON text for the model: `{"ok": true, "value": ...}` or `{"ok": false, "error": {...}}`."""
    is_error: bool
    result: ExecutionResult
    """The full result of the run, for the host."""
    payload: dict[str, Any] = field(default_factory=dict)
    """`content` as data."""

    def to_openai_message(self, tool_call_id: str) -> dict[str, Any]:
        """A Chat Completions `tool` message answering the call `tool_call_id`."""
        return {"role": "tool", "tool_call_id": tool_call_id, "content": self.content}

    def to_anthropic_block(self, tool_use_id: str) -> dict[str, Any]:
        """A Messages API `tool_result` content block answering the `tool_use` block `tool_use_id`."""
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": self.content}
        if self.is_error:
            block["is_error"] = True
        return block


def extract_code(arguments: Any) -> str:
    """The `code` argument from a model's call: a dict (Anthropic `input`) or JSON text (OpenAI `arguments`)."""
    if isinstance(arguments, (str, bytes)):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            raise ValueError('The tool arguments are not valid JSON; send an object like {"code": "..."}') from None
    if not isinstance(arguments, Mapping):
        raise ValueError("The tool arguments must be an object with a 'code' string")
    code = arguments.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ValueError("The tool call needs a 'code' argument: a non-empty string of AgentScript")
    return code


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut so that its JSON encoding (escapes included) stays within about `limit` characters."""
    if len(json.dumps(text, ensure_ascii=False)) <= limit:
        return text, False
    cut = text[:limit]
    while len(encoded := json.dumps(cut, ensure_ascii=False)) > limit:
        cut = cut[: max(0, len(cut) * limit // len(encoded) - 1)]
    return cut + "…", True


def _location(issue_location: Mapping[str, Any] | None) -> dict[str, Any]:
    if not issue_location:
        return {}
    return {"line": issue_location.get("line"), "column": issue_location.get("column")}


def result_payload(result: ExecutionResult, *, max_chars: int = 20000) -> dict[str, Any]:
    """The model-facing view of a run: compact, JSON, never larger than about `max_chars` characters."""
    payload: dict[str, Any] = {"ok": result.success}
    if result.success:
        text = json.dumps(result.value, ensure_ascii=False, separators=(",", ":"))
        if len(text) > max_chars:
            payload["value_truncated"], payload["value"] = True, _truncate(text, max_chars)[0]
        else:
            payload["value"] = result.value
    else:
        assert result.error is not None
        error = result.error
        described: dict[str, Any] = {"code": str(error.code), "name": error.name, "message": error.message}
        issues = (error.data or {}).get("issues")
        if isinstance(issues, list) and issues:
            described["issues"] = [
                {
                    "rule": issue.get("rule"),
                    "severity": issue.get("severity"),
                    "message": issue.get("message"),
                    **_location(issue.get("location")),
                }
                for issue in issues[:20]
                if isinstance(issue, Mapping)
            ]
        location = error.location
        if location is not None:
            described["line"], described["column"] = location["line"], location["column"]
        if error.code is ErrorCode.SCORING_BLOCKED and error.data:
            described["signals"] = error.data.get("signals", [])
        described["hint"] = ERROR_HINTS.get(error.code, ERROR_HINTS[ErrorCode.RUNTIME_ERROR])
        payload["error"] = described
    if result.stdout:
        stdout, cut = _truncate(result.stdout, max_chars // 4)
        payload["stdout"] = stdout
        if cut:
            payload["stdout_truncated"] = True
    if result.warnings:
        payload["warnings"] = list(result.warnings)
    return payload


def answer(result: ExecutionResult, *, max_chars: int = 20000) -> CodeToolResult:
    payload = result_payload(result, max_chars=max_chars)
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return CodeToolResult(content=content, is_error=not result.success, result=result, payload=payload)


async def run_code_tool_call(
    enclave: Enclave,
    arguments: Any,
    *,
    timeout: int | None = None,
    context: dict[str, Any] | None = None,
    max_tool_calls: int | None = None,
    max_chars: int = 20000,
) -> CodeToolResult:
    """Run a model's "execute AgentScript" call; malformed arguments are answered, not raised."""
    try:
        code = extract_code(arguments)
    except ValueError as exc:
        issue = {"rule": "tool-arguments", "message": str(exc), "severity": "error", "location": None}
        error = make_error(ErrorCode.VALIDATION_ERROR, str(exc), data={"issues": [issue]})
        return answer(ExecutionResult(success=False, error=error, stats=ExecutionStats()), max_chars=max_chars)
    result = await enclave.run(code, timeout=timeout, context=context, max_tool_calls=max_tool_calls)
    return answer(result, max_chars=max_chars)
