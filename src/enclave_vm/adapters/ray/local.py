"""Connecting this process to Ray: a local Ray confined to loopback, or the cluster an address names.

`start_local_ray()` starts a single-node Ray whose every process listens on and talks to 127.0.0.1 only,
and that never reaches out on its own:

- `RAY_USAGE_STATS_ENABLED=0`: no usage reports.
- `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`: Ray otherwise replaces a loopback node address with the address
  of the interface that routes to a public resolver (found by connecting a socket to 8.8.8.8), and every
  Ray process then listens there. With it, the node address stays 127.0.0.1 (it also stops this node from
  joining other nodes, which a local Ray never does).
- No API server ("dashboard") process: with the dashboard off Ray still starts that process for its
  usage-stats module, which probes the cloud metadata addresses (169.254.169.254 and
  metadata.google.internal, through the system's DNS resolver) whatever the usage-stats setting. The
  process is kept from starting by handing Ray a dashboard port that is already taken on 127.0.0.1, which
  Ray reports and then goes on without it. Only the job-submission and state APIs (`ray.util.state`) are
  missing; actors, tasks and objects do not use it.

The Ray variables are set in this process's environment before Ray is imported, so Ray's own processes
inherit them. `acquire()` and `release()` count the adapters using a Ray that this module started, and
shut it down when the last one is disposed; a Ray the caller started (or connected to) is left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

#: Set before Ray is imported (Ray reads some of them at import time).
LOOPBACK_ENVIRONMENT = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
LOOPBACK = "127.0.0.1"
_RAY_SERVICES_LOGGER = "ray._private.services"

_lock = threading.Lock()
_owned = False
"""Whether the Ray this process is connected to was started (or connected) here."""
_users = 0
"""Adapters using the Ray this module started."""


def _prepare_environment() -> None:
    os.environ.update(LOOPBACK_ENVIRONMENT)
    import ray._private.ray_constants as constants

    # Read once when Ray was imported: if that happened before the variable was set, say it again.
    constants.ENABLE_RAY_CLUSTER = False


class _DropDashboardPortError(logging.Filter):
    """Hides the one error Ray logs for the taken dashboard port (it is expected)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self._needle = f"{LOOPBACK}:{port}"

    def filter(self, record: logging.LogRecord) -> bool:
        return self._needle not in record.getMessage()


@contextlib.contextmanager
def _taken_loopback_port() -> Iterator[int]:
    """A port on 127.0.0.1 held (listening) for as long as the block runs."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind((LOOPBACK, 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])
    finally:
        holder.close()


def start_local_ray(num_cpus: int | None = None, **init_options: Any) -> Any:
    """Start a single-node Ray on this machine, confined to loopback (see the module docstring), and
    connect this process to it. `init_options` go to `ray.init` (e.g. `object_store_memory`); the ones
    that would undo the confinement are refused. Ray's processes log to Ray's session folder, not to this
    process (`log_to_driver=False` unless given). Returns what `ray.init` returns."""
    refused = sorted(set(init_options) & {"address", "_node_ip_address", "include_dashboard", "dashboard_host"})
    if refused:
        raise ValueError(f"start_local_ray: {', '.join(refused)} cannot be set (the local Ray stays on loopback)")
    if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1):
        raise ValueError(f"start_local_ray: num_cpus must be a positive int, got {num_cpus!r}")
    _prepare_environment()
    import ray

    init_options.setdefault("log_to_driver", False)
    services_logger = logging.getLogger(_RAY_SERVICES_LOGGER)
    with _taken_loopback_port() as port:
        quiet = _DropDashboardPortError(port)
        services_logger.addFilter(quiet)
        try:
            return ray.init(
                address="local",  # a new local Ray, even where RAY_ADDRESS names a cluster
                num_cpus=num_cpus,
                _node_ip_address=LOOPBACK,
                include_dashboard=False,
                dashboard_host=LOOPBACK,
                dashboard_port=port,
                **init_options,
            )
        finally:
            services_logger.removeFilter(quiet)


def acquire(address: str | None) -> None:
    """Make sure this process is connected to Ray for one more adapter: the Ray it is connected to
    already, else the cluster at `address` (`ray://host:port` for Ray Client), else a local one."""
    global _owned, _users
    import ray

    with _lock:
        if ray.is_initialized():
            if _owned:
                _users += 1
            return
        if address is None:
            start_local_ray()
        else:
            ray.init(address=address)
        _owned = True
        _users = 1


def release() -> None:
    """One adapter is done with Ray: the last one shuts down a Ray that `acquire` started."""
    global _owned, _users
    import ray

    with _lock:
        if not _owned:
            return
        _users -= 1
        if _users > 0:
            return
        _owned = False
        if ray.is_initialized():
            ray.shutdown()
