"""Fixtures of the Ray adapter's own tests: adapters on the session's local Ray (loopback only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ray_helpers import MakeAdapter

from enclave_vm import create_ray_adapter
from enclave_vm.adapters.ray import RayAdapter


@pytest.fixture
def make_adapter(local_ray: None) -> Iterator[MakeAdapter]:
    """`make_adapter(num_actors, **options)`: a Ray adapter disposed after the test."""
    made: list[RayAdapter] = []

    def make(num_actors: int = 1, **options: Any) -> RayAdapter:
        adapter = create_ray_adapter(num_actors, **options)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.dispose()
