"""The HTTP service: one `Enclave` behind a small JSON API whose runs stream back as NDJSON (extra
`enclave-vm[server]`). `create_app(enclave)` is the ASGI app; `enclave-vm serve` runs it with uvicorn."""

from __future__ import annotations

try:
    import prometheus_client  # noqa: F401
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"enclave_vm.server needs the server extra ({exc.name} is not installed): pip install 'enclave-vm[server]'"
    ) from exc

from .app import ServiceApp, create_app

__all__ = ["ServiceApp", "create_app"]
