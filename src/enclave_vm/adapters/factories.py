"""Factories for the optional adapters named by the public API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import DoubleVmOptions, WorkerPoolOptions, coerce_options

if TYPE_CHECKING:
    from .double_vm import DoubleVmAdapter
    from .ray import RayAdapter
    from .worker_pool import WorkerPoolAdapter


def create_worker_pool_adapter(
    pool_size: int | WorkerPoolOptions | Mapping[str, Any] | None = None,
    max_worker_memory: int | None = None,
    max_executions_per_worker: int | None = None,
    idle_timeout: int | None = None,
) -> WorkerPoolAdapter:
    """An adapter running scripts in a pool of OS worker processes (see docs/worker-pool.md).

    Takes the options as arguments (`idle_timeout` in milliseconds, `max_worker_memory` in bytes) or as
    one `WorkerPoolOptions` (or a dict with its keys) in place of `pool_size`."""
    from .worker_pool import WorkerPoolAdapter

    if isinstance(pool_size, (WorkerPoolOptions, Mapping)):
        if (max_worker_memory, max_executions_per_worker, idle_timeout) != (None, None, None):
            raise TypeError("create_worker_pool_adapter: pass either a WorkerPoolOptions or separate options")
        opts = coerce_options(WorkerPoolOptions, pool_size, "worker pool options")
    else:
        opts = WorkerPoolOptions(
            pool_size=WorkerPoolOptions.pool_size if pool_size is None else pool_size,
            max_worker_memory=max_worker_memory,
            max_executions_per_worker=max_executions_per_worker,
            idle_timeout=idle_timeout,
        )
    return WorkerPoolAdapter(opts)


def create_double_vm_adapter(
    outer_timeout: int | DoubleVmOptions | Mapping[str, Any] | None = None,
    inner_timeout: int | None = None,
) -> DoubleVmAdapter:
    """An adapter running the JavaScript engine inside a WebAssembly VM (see docs/double-vm.md).

    Takes the options as arguments (both in milliseconds) or as one `DoubleVmOptions` (or a dict with its
    keys) in place of `outer_timeout`. Raises ImportError naming the `wasm` extra when it is missing."""
    if isinstance(outer_timeout, (DoubleVmOptions, Mapping)):
        if inner_timeout is not None:
            raise TypeError("create_double_vm_adapter: pass either a DoubleVmOptions or separate options")
        opts = coerce_options(DoubleVmOptions, outer_timeout, "double VM options")
    else:
        opts = DoubleVmOptions(outer_timeout=outer_timeout, inner_timeout=inner_timeout)
    try:
        from .double_vm import DoubleVmAdapter
    except ImportError as exc:
        hint = "The double-VM adapter needs the 'wasm' extra: pip install 'enclave-vm[wasm]'"
        raise ImportError(f"{hint} ({exc})") from exc
    return DoubleVmAdapter(opts)


def create_ray_adapter(
    num_actors: int = 2,
    *,
    address: str | None = None,
    actor_options: dict[str, Any] | None = None,
    max_executions_per_actor: int | None = None,
) -> RayAdapter:
    """An adapter running each script's engine in a Ray actor; its tools run in this process.

    `num_actors` actors serve one run each at a time (the others wait in a queue). `address=None` uses
    the Ray this process is connected to, else starts a local one confined to loopback (shut down with
    the last adapter that uses it); `"ray://host:10001"` connects with Ray Client. `actor_options` go to
    the actors' `.options()` (e.g. `num_cpus`, `runtime_env`, `resources`); `max_executions_per_actor`
    replaces an actor after that many runs. Raises ImportError naming the `ray` extra when it is missing."""
    try:
        from .ray import RayAdapter
    except ImportError as exc:
        hint = "The Ray adapter needs the 'ray' extra: pip install 'enclave-vm[ray]'"
        raise ImportError(f"{hint} ({exc})") from exc
    return RayAdapter(
        num_actors,
        address=address,
        actor_options=actor_options,
        max_executions_per_actor=max_executions_per_actor,
    )
