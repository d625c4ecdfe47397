"""Length-prefixed JSON frames over pipes: the byte layer between the host and a worker process.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (lone surrogates, which
JavaScript strings may hold, pass through). The reader checks the length against a cap *before* it
reads or allocates anything, so a peer claiming a huge frame is an error, not an allocation. A reader
may also bound a frame's structure (containers, commas and strings outside strings) before parsing it:
parsing `[{},{},...]` builds Python objects many times the size of the bytes, while honest frames carry
their bulk inside a few JSON strings.
"""

from __future__ import annotations

import json
import os
from typing import Any

HEADER_BYTES = 4
MAX_FRAME_BYTES = (1 << 32) - 1
"""The largest length the header can express."""
_READ_CHUNK = 1 << 16

_STRUCTURE = b'[{,"\\/bfnrtu'
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in _STRUCTURE)

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False)


class FrameError(Exception):
    """The peer sent something that is not a well-formed frame within the cap."""


class PeerClosed(FrameError):
    """The pipe reached end-of-file: the peer exited or closed its end."""


def check_structure(body: bytes, max_tokens: int) -> None:
    """FrameError when `body` holds more than `max_tokens` of `[`, `{` and `,` outside strings, or more
    than `max_tokens` strings. Linear: a few C-level passes over the bytes plus one step per string."""
    # Keep only what tells strings apart (quotes, backslashes and every character an escape may start
    # with, so each backslash stays next to the character it escapes) and the tokens to count.
    view = body.translate(None, _NOT_STRUCTURE)
    if view.count(b"[") + view.count(b"{") + view.count(b",") <= max_tokens and view.count(b'"') <= 2 * max_tokens:
        return  # within the bound even counting inside strings
    # Backslashes occur only inside strings: dropping escaped backslashes, then escaped quotes, leaves
    # exactly the quotes that open and close strings. (Up to the first error in a malformed frame, this
    # reads the bytes as the parser does, and the parser stops there.)
    if b"\\\\" in view:
        view = view.replace(b"\\\\", b"")
    if b'\\"' in view:
        view = view.replace(b'\\"', b"")
    if view.count(b'"') > 2 * max_tokens:
        raise FrameError(f"frame holds more than {max_tokens} strings")
    tokens = 0
    position = 0
    end = len(view)
    while position < end:
        opening = view.find(b'"', position)
        outside_end = end if opening < 0 else opening
        for token in (b"[", b"{", b","):
            tokens += view.count(token, position, outside_end)
        if opening < 0:
            break
        closing = view.find(b'"', opening + 1)
        if closing < 0:
            break  # an unterminated string: the parser refuses the frame
        position = closing + 1
    if tokens > max_tokens:
        raise FrameError(f"frame holds more than {max_tokens} containers and items")


def decode_body(body: bytes, max_tokens: int | None = None) -> Any:
    """A frame's message from its body; FrameError when it is over `max_tokens` (see check_structure) or
    not JSON."""
    if max_tokens is not None:
        check_structure(body, max_tokens)
    try:
        return json.loads(body)  # bytes: decoded as UTF-8 with surrogatepass
    except RecursionError:
        raise FrameError("frame is nested too deeply") from None
    except ValueError as exc:
        raise FrameError(f"frame is not valid JSON: {exc}") from None


def unpack(frame: object, max_bytes: int, max_tokens: int | None = None) -> Any:
    """The message of one whole frame (as `pack` makes it); FrameError when it is not exactly one frame
    within the caps."""
    if not isinstance(frame, bytes) or len(frame) < HEADER_BYTES:
        raise FrameError("an answer is one frame")
    size = int.from_bytes(frame[:HEADER_BYTES], "big")
    if size != len(frame) - HEADER_BYTES:
        raise FrameError("an answer is exactly one frame")
    if size > max_bytes:
        raise FrameError(f"frame of {size} bytes is over the cap of {max_bytes} bytes")
    return decode_body(frame[HEADER_BYTES:], max_tokens)


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

    def read(self, max_bytes: int, max_tokens: int | None = None) -> Any:
        """The next frame's message; FrameError when it is over `max_bytes`, over `max_tokens` (see
        check_structure), truncated or not JSON."""
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
        return decode_body(body, max_tokens)

    def _chunk(self, size: int) -> bytes:
        chunk = os.read(self.fd, size)
        if not chunk:
            self._buffer = b""
            raise PeerClosed("the peer closed the pipe")
        return chunk
