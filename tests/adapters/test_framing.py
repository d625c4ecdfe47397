"""Frames over real pipes, and the strict reading of what a worker sends back."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enclave_vm.bridge.framing import FrameError, FrameReader, PeerClosed, check_structure, pack, write_all
from enclave_vm.bridge.protocol import FinalRecord, LimitTripped, Settled, ToolCall, ToolsRequested
from enclave_vm.bridge.wire import WireError, answer_run, read_fail, read_slice, slice_message


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):
            os.close(fd)


def send_later(fd: int, data: bytes) -> threading.Thread:
    thread = threading.Thread(target=write_all, args=(fd, data), daemon=True)
    thread.start()
    return thread


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_round_trip(value: Any) -> None:
    read_fd, write_fd = os.pipe()
    try:
        frame = pack([value])
        thread = send_later(write_fd, frame)
        assert FrameReader(read_fd).read(len(frame)) == [value]
        thread.join()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_lone_surrogates_and_unicode_cross(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    value = ["\ud800 lone", "é ✓ 😀", "\x00\n"]
    write_all(write_fd, pack(value))
    assert FrameReader(read_fd).read(1 << 20) == value


def test_several_frames_in_one_read(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    write_all(write_fd, pack(["a"]) + pack(["b", 2]) + pack([]))
    reader = FrameReader(read_fd)
    assert [reader.read(100), reader.read(100), reader.read(100)] == [["a"], ["b", 2], []]
    assert not reader.buffered()


def test_frame_larger_than_the_pipe_buffer(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    big = ["x" * (3 << 20)]
    thread = send_later(write_fd, pack(big))
    assert FrameReader(read_fd).read(4 << 20) == big
    thread.join()


def test_huge_header_is_an_error_not_an_allocation(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    os.write(write_fd, (0xFFFFFFFF).to_bytes(4, "big") + b"[1]")
    started = time.perf_counter()
    with pytest.raises(FrameError, match="over the cap"):
        FrameReader(read_fd).read(1 << 20)
    assert time.perf_counter() - started < 0.5


def test_frame_just_over_the_cap(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    frame = pack(["x" * 100])
    write_all(write_fd, frame)
    with pytest.raises(FrameError):
        FrameReader(read_fd).read(len(frame) - 5)


def test_truncated_frame_is_peer_closed(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    os.write(write_fd, pack(["abcdef"])[:-3])
    os.close(write_fd)
    with pytest.raises(PeerClosed):
        FrameReader(read_fd).read(1 << 20)


def test_end_of_file_between_frames(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    os.close(write_fd)
    with pytest.raises(PeerClosed):
        FrameReader(read_fd).read(100)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1,", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"a": NaN'],
)
def test_malformed_bodies(pipe: tuple[int, int], body: bytes) -> None:
    read_fd, write_fd = pipe
    thread = send_later(write_fd, len(body).to_bytes(4, "big") + body)
    with pytest.raises(FrameError):
        FrameReader(read_fd).read(1 << 20)
    thread.join()


# ---- the structure bound: what parsing may build, checked before parsing ----


def structure(value: Any) -> tuple[int, int]:
    """(containers and commas, strings) of `value` as JSON, the two things check_structure bounds."""
    if isinstance(value, list):
        counts = [structure(item) for item in value]
        return 1 + max(len(value) - 1, 0) + sum(c[0] for c in counts), sum(c[1] for c in counts)
    if isinstance(value, dict):
        counts = [structure(item) for item in value.values()]
        return 1 + max(len(value) - 1, 0) + sum(c[0] for c in counts), len(value) + sum(c[1] for c in counts)
    return 0, 1 if isinstance(value, str) else 0


tricky_text = st.text(alphabet=st.sampled_from(['"', "\\", "[", "{", ",", "a", "n", "u", "/", "é", "\ud800", "😀"]))
structured_values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(structured_values)
def test_the_structure_bound_is_exact(value: Any) -> None:
    body = pack(value)[4:]
    tokens, strings = structure(value)
    bound = max(tokens, strings)
    check_structure(body, bound)
    if bound:
        with pytest.raises(FrameError):
            check_structure(body, bound - 1)


def test_brackets_and_quotes_inside_strings_do_not_count(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    value_json = json.dumps([{"k": 'say "[{hi}]", \\', "n": [1, 2, {}]}] * 20_000)
    message = ["slice", 1, [], ["[{,"] * 5, 0, "", "", [True, value_json, "", "", "", ""], None]
    thread = send_later(write_fd, pack(message))
    assert FrameReader(read_fd).read(64 << 20, max_tokens=21) == message  # 4 lists, 17 commas
    thread.join()


@pytest.mark.parametrize("item", [b"{}", b"[]", b'{"a":[]}', b"1", b'"ab"', b'"a\\"b"'])
def test_a_frame_over_the_structure_bound_is_refused_before_parsing(pipe: tuple[int, int], item: bytes) -> None:
    read_fd, write_fd = pipe
    body = b'["slice",1,[],[],0,"","",null,null,' + b",".join([item] * 300_000) + b"]"
    thread = send_later(write_fd, len(body).to_bytes(4, "big") + body)
    started = time.perf_counter()
    with pytest.raises(FrameError, match="more than 100"):
        FrameReader(read_fd).read(16 << 20, max_tokens=100)
    assert time.perf_counter() - started < 1.0
    thread.join()


# ---- the strict reading of worker answers ----


def good_slice() -> list[Any]:
    step = Settled(
        stdout=["line"],
        levels=["warn"],
        entropy=[0.25],
        iterations=3,
        final=FinalRecord(ok=False, code="RUNTIME_ERROR", name="TypeError", message="m", stack="s"),
        memory_usage=1000,
    )
    message = json.loads(json.dumps(slice_message(7, step)))
    message[2] = [[1, "t", '{"a":1}']]  # calls beside a final record: the record wins, the calls are checked
    return message


def test_a_slice_survives_the_wire() -> None:
    message = good_slice()
    assert answer_run(message) == 7
    step = read_slice(message)
    assert isinstance(step, Settled) and step.stdout == ["line"]
    assert step.final == FinalRecord(ok=False, code="RUNTIME_ERROR", name="TypeError", message="m", stack="s")
    assert step.iterations == 3 and step.memory_usage == 1000
    assert step.levels == ["warn"] and step.entropy == [0.25]
    message[7] = None
    step = read_slice(message)
    assert isinstance(step, ToolsRequested) and step.calls == [ToolCall(1, "t", '{"a":1}')]


@pytest.mark.parametrize(
    ("index", "bad"),
    [
        (2, "calls"),
        (2, [[1, "t"]]),
        (2, [["1", "t", "{}"]]),
        (2, [[True, "t", "{}"]]),
        (2, [[-1, "t", "{}"]]),
        (2, [[1, 5, "{}"]]),
        (3, [1]),
        (3, "out"),
        (4, -1),
        (4, 1.5),
        (4, "9"),
        (5, 5),
        (6, None),
        (7, [1, "", "", "", "", "", ""]),
        (7, [False, "", "", "", "", ""]),
        (7, [True, "", ""]),
        (7, "final"),
        (8, -5),
        (8, "big"),
        (9, "log"),
        (9, []),
        (9, ["shout"]),
        (10, "entropy"),
        (10, ["0.5"]),
        (10, [True]),
        (11, "yes"),
    ],
)
def test_malformed_slices_are_wire_errors(index: int, bad: Any) -> None:
    message = good_slice()
    message[index] = bad
    with pytest.raises(WireError):
        read_slice(message)


@pytest.mark.parametrize(
    "message", [None, {}, [], ["slice"], ["other", 1], ["slice", "1"], ["fail", -1], ["fail", True]]
)
def test_answers_without_a_valid_run(message: Any) -> None:
    with pytest.raises(WireError):
        answer_run(message)


def test_codes_outside_the_engine_set_become_runtime_error() -> None:
    message = good_slice()
    message[7][2] = "VALIDATION_ERROR"  # a script's final record carries only a script's codes
    step = read_slice(message)
    assert isinstance(step, Settled) and step.final.code == "RUNTIME_ERROR"
    message[5] = "SCORING_BLOCKED"
    step = read_slice(message)
    assert isinstance(step, LimitTripped) and step.code == "RUNTIME_ERROR"
    message[5] = "MAX_ITERATIONS"
    step = read_slice(message)
    assert isinstance(step, LimitTripped) and step.code == "MAX_ITERATIONS"
    assert read_fail(["fail", 1, "VALIDATION_ERROR", "m", "SyntaxError", []]) == (
        "VALIDATION_ERROR",
        "m",
        "SyntaxError",
        [],
    )
    assert read_fail(["fail", 1, "nope", "m", "", []])[0] == "RUNTIME_ERROR"
    assert read_fail(["fail", 1, "TIMEOUT", "m", "", ["printed"]])[3] == ["printed"]
    for bad in (
        ["fail", 1, "TIMEOUT", 5, "", []],
        ["fail", 1, "TIMEOUT", "m", ""],
        ["fail", 1, "TIMEOUT", "m", "", "not a list"],
        ["fail", 1, "TIMEOUT", "m", "", [7]],
    ):
        with pytest.raises(WireError):
            read_fail(bad)
