"""enclave-vm: run untrusted, LLM-generated JavaScript safely from Python."""

from __future__ import annotations

from .adapters.base import EnclaveAdapter
from .adapters.factories import create_double_vm_adapter, create_worker_pool_adapter
from .bridge.dispatch import ToolHandler
from .code_tool import CodeToolResult
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
from .toolset import Tool, ToolArgumentError, ToolError, ToolResultError, Toolset, UnknownToolError

__all__ = [
    "CodeToolResult",
    "ConsoleEvent",
    "DoubleVmOptions",
    "DurableOptions",
    "Enclave",
    "EnclaveAdapter",
    "ErrorCode",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStats",
    "MemoryStateStore",
    "RedisStateStore",
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
    "agentscript_reference",
    "create_double_vm_adapter",
    "create_worker_pool_adapter",
    "is_sidecar_reference",
]
