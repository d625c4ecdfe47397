from __future__ import annotations

from redis_server import redis_server_fixture

__all__ = ["redis_server_fixture"]
