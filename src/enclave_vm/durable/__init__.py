"""Durable runs and state between runs: a tool pauses a run with `Suspend`, `Enclave.resume()` runs the
script again from its journal without repeating a side effect; sessions keep a run's `state` in a store."""

from .suspend import Suspend, Suspension

__all__ = ["Suspend", "Suspension"]
