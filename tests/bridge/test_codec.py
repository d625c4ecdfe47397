"""The bounded codec takes untrusted text: it returns data or raises CodecError, nothing else."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enclave_vm.bridge.codec import CodecError, ValueLimits, decode, encode

LIMITS = ValueLimits(max_bytes=4096, max_depth=8, max_items=500)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_decode_random_text_never_escapes(text: str) -> None:
    with contextlib.suppress(CodecError):
        decode(text, LIMITS)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_roundtrip_within_limits(value: object) -> None:
    try:
        text = encode(value, LIMITS)
    except CodecError as exc:
        assert exc.too_large
        return
    assert decode(text, LIMITS) == json.loads(text)


@pytest.mark.parametrize("depth", [9, 50, 5000, 200_000])
def test_deep_nesting_is_too_large(depth: int) -> None:
    text = "[" * depth + "]" * depth
    with pytest.raises(CodecError) as info:
        decode(text, ValueLimits(max_bytes=10**7, max_depth=8))
    assert info.value.too_large


def test_size_cap_counts_utf8_bytes() -> None:
    with pytest.raises(CodecError):
        decode(json.dumps("é" * 3000, ensure_ascii=False), LIMITS)


def test_item_flood_is_too_large() -> None:
    with pytest.raises(CodecError) as info:
        decode("[" + ",".join(["1"] * 600) + "]", LIMITS)
    assert info.value.too_large


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, object(), b"bytes"])
def test_encode_rejects_non_json(value: object) -> None:
    with pytest.raises(CodecError) as info:
        encode({"v": value}, LIMITS)
    assert not info.value.too_large


def test_encode_rejects_cycles() -> None:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(CodecError):
        encode(cyclic, LIMITS)
