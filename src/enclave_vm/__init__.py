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

__all__ = [
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
    "ToolHandler",
    "ValidationIssue",
    "ValidationResult",
    "WorkerPoolOptions",
    "agentscript_reference",
    "create_double_vm_adapter",
    "create_worker_pool_adapter",
]
