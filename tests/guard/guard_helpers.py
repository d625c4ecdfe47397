"""Shared checks for the guard tests."""

from __future__ import annotations

from engine_eval import compiles

__all__ = ["compiles"]
