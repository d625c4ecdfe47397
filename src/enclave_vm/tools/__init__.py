"""Tools for AgentScript, above the facade: plain Python functions as a `Toolset` (with JSON Schemas a
model reads and argument checks), and "code mode" (one tool that runs a script for a model API).

This layer uses `Enclave`; the facade never imports it."""

from __future__ import annotations

from .code_tool import CodeToolResult, code_tool_definition, run_code_tool_call
from .errors import ToolArgumentError, ToolError, ToolResultError, UnknownToolError
from .toolset import Tool, Toolset

__all__ = [
    "CodeToolResult",
    "Tool",
    "ToolArgumentError",
    "ToolError",
    "ToolResultError",
    "Toolset",
    "UnknownToolError",
    "code_tool_definition",
    "run_code_tool_call",
]
