"""enclave-vm: run untrusted, LLM-generated JavaScript safely from Python."""

from __future__ import annotations

from .adapters.base import EnclaveAdapter
from .adapters.factories import create_double_vm_adapter, create_worker_pool_adapter
from .bridge.dispatch import ToolHandler
from .config import (
    DoubleVmOptions,
    ScoringGateOptions,
    SecurityLevel,
    SidecarOptions,
    WorkerPoolOptions,
)
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
from .tools import CodeToolResult, Tool, ToolArgumentError, ToolError, ToolResultError, Toolset, UnknownToolError

__all__ = [
    "CodeToolResult",
    "DoubleVmOptions",
    "Enclave",
    "EnclaveAdapter",
    "ErrorCode",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStats",
    "RuleBasedScorer",
    "ScoringGateOptions",
    "ScoringResult",
    "SecurityLevel",
    "SidecarOptions",
    "Tool",
    "ToolArgumentError",
    "ToolError",
    "ToolHandler",
    "ToolResultError",
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
