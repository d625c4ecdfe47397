"""The reference sidecar: large tool results stay host-side; scripts handle small references to them."""

from .memory_store import MemoryStore, shared_memory_store
from .redis_store import RedisStore
from .references import REFERENCE_KEY, Reference, SidecarError, is_sidecar_reference
from .session import Sidecar, SidecarRun
from .store import SidecarStore

__all__ = [
    "REFERENCE_KEY",
    "MemoryStore",
    "RedisStore",
    "Reference",
    "Sidecar",
    "SidecarError",
    "SidecarRun",
    "SidecarStore",
    "is_sidecar_reference",
    "shared_memory_store",
]
