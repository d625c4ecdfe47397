"""enclave-vm: run untrusted, LLM-generated JavaScript safely from Python."""

from __future__ import annotations

import importlib.metadata as _metadata
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .adapters.base import EnclaveAdapter
from .adapters.factories import create_double_vm_adapter, create_ray_adapter, create_worker_pool_adapter
from .bridge.dispatch import ToolHandler
from .config import (
    DoubleVmOptions,
    DurableOptions,
    ScoringGateOptions,
    SecurityLevel,
    SidecarOptions,
    WorkerPoolOptions,
)
from .durable import Suspend, Suspension
from .durable.session import Session
from .durable.state_store import MemoryStateStore, RedisStateStore, StateStore
from .enclave import Enclave
from .guard import agentscript_reference
from .results import (
    EnclaveError,
    EnclaveSuspended,
    ErrorCode,
    ExecutionError,
    ExecutionResult,
    ExecutionStats,
    ScoringResult,
    ValidationIssue,
    ValidationResult,
)
from .scoring import RuleBasedScorer
from .sidecar import is_sidecar_reference
from .streaming import ConsoleEvent, ResultEvent, RunEvent, RunStream, ToolCallEvent, ToolResultEvent
from .tools import CodeToolResult, Tool, ToolArgumentError, ToolError, ToolResultError, Toolset, UnknownToolError

if _TYPE_CHECKING:  # imported on first use (it needs httpx, of the server extra)
    from .remote import RemoteEnclave

__all__ = [
    "CodeToolResult",
    "ConsoleEvent",
    "DoubleVmOptions",
    "DurableOptions",
    "Enclave",
    "EnclaveAdapter",
    "EnclaveError",
    "EnclaveSuspended",
    "ErrorCode",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStats",
    "MemoryStateStore",
    "RedisStateStore",
    "RemoteEnclave",
    "ResultEvent",
    "RuleBasedScorer",
    "RunEvent",
    "RunStream",
    "ScoringGateOptions",
    "ScoringResult",
    "SecurityLevel",
    "Session",
    "SidecarOptions",
    "StateStore",
    "Suspend",
    "Suspension",
    "Tool",
    "ToolArgumentError",
    "ToolCallEvent",
    "ToolError",
    "ToolHandler",
    "ToolResultError",
    "ToolResultEvent",
    "Toolset",
    "UnknownToolError",
    "ValidationIssue",
    "ValidationResult",
    "WorkerPoolOptions",
    "__version__",
    "agentscript_reference",
    "create_double_vm_adapter",
    "create_ray_adapter",
    "create_worker_pool_adapter",
    "is_sidecar_reference",
]

__version__: str
"""The installed distribution's version (`enclave-vm`), read from its metadata on first use."""


def __getattr__(name: str) -> _Any:
    # Looked up lazily: reading package metadata costs milliseconds, too much for every import.
    if name == "__version__":
        try:
            version = _metadata.version("enclave-vm")
        except _metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    if name == "RemoteEnclave":  # lazily: `import enclave_vm` must not import httpx
        from .remote import RemoteEnclave

        globals()["RemoteEnclave"] = RemoteEnclave
        return RemoteEnclave
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
