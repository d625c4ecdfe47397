"""The exceptions a `Toolset` raises for a call it refuses or cannot complete.

Their message is what the script sees as the `Error` of its `callTool`, so each one names the tool and,
for arguments, the field.
"""

from __future__ import annotations


class ToolError(Exception):
    """A tool call the toolset refused or could not complete; the message is what the script sees."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(message)
        self.tool = tool


class UnknownToolError(ToolError, LookupError):
    """The script called a tool name the toolset does not have."""


class ToolArgumentError(ToolError, ValueError):
    """An argument from the script does not match the tool's schema; `field` names it (`filter.status`)."""

    def __init__(self, tool: str, field: str, message: str) -> None:
        super().__init__(tool, f"Invalid argument '{field}' for tool '{tool}': {message}")
        self.field = field


class ToolResultError(ToolError, TypeError):
    """A tool returned something that is not JSON data."""
