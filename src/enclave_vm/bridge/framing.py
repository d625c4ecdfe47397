"""Length-prefixed JSON frames over pipes: the byte layer between the host and a worker process.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (lone surrogates, which
JavaScript strings may hold, pass through). The reader checks the length against a cap *before* it
reads or allocates anything, so a peer claiming a huge frame is an error, not an allocation.
"""

from __future__ import annotations

import json
import os
from typing import Any

HEADER_BYTES = 4
MAX_FRAME_BYTES = (1 << 32) - 1
"""The largest length the header can express."""
_READ_CHUNK = 1 << 16

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False)


class FrameError(Exception):
    """The peer sent something that is not a well-formed frame within the cap."""


class PeerClosed(FrameError):
    """The pipe reached end-of-file: the peer exited or closed its end."""


def pack(message: Any) -> bytes:
    """One frame holding `message` (JSON data)."""
    body = _ENCODER.encode(message).encode("utf-8", "surrogatepass")
    if len(body) > MAX_FRAME_BYTES:
        raise FrameError(f"message of {len(body)} bytes does not fit in a frame")
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (a pipe write may be partial when it is larger than the pipe buffer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class FrameReader:
    """Reads frames from a blocking file descriptor. Not thread-safe: one reader at a time."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""

    def buffered(self) -> bool:
        """True when bytes of a next frame are already read (so polling the fd would miss them)."""
        return bool(self._buffer)

    def read(self, max_bytes: int) -> Any:
        """The next frame's message; FrameError when it is over `max_bytes`, truncated or not JSON."""
        buffer = self._buffer
        while len(buffer) < HEADER_BYTES:
            buffer += self._chunk(_READ_CHUNK)
        size = int.from_bytes(buffer[:HEADER_BYTES], "big")
        if size > max_bytes:
            self._buffer = b""
            raise FrameError(f"frame of {size} bytes is over the cap of {max_bytes} bytes")
        end = HEADER_BYTES + size
        if len(buffer) < end:
            parts = [buffer]
            have = len(buffer)
            while have < end:
                chunk = self._chunk(max(end - have, _READ_CHUNK))
                parts.append(chunk)
                have += len(chunk)
            buffer = b"".join(parts)
        body = buffer[HEADER_BYTES:end]
        self._buffer = buffer[end:]
        try:
            return json.loads(body)  # bytes: decoded as UTF-8 with surrogatepass
        except RecursionError:
            raise FrameError("frame is nested too deeply") from None
        except ValueError as exc:
            raise FrameError(f"frame is not valid JSON: {exc}") from None

    def _chunk(self, size: int) -> bytes:
        chunk = os.read(self.fd, size)
        if not chunk:
            self._buffer = b""
            raise PeerClosed("the peer closed the pipe")
        return chunk
