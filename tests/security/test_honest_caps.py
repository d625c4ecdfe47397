"""Honest caps: console bytes are counted exactly in UTF-8, an error's name, message and stack are
capped like every other value, `JSON.rawJSON` cannot smuggle a number the host cannot read, and a lone
surrogate from a tool reaches the script as the same string on every adapter. On a terminal, the CLI
shows script output with its control characters escaped.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from attack_helpers import ML, RE, Expect, adapter_attack, engine_limits, fails, instrumented, returns, run_on_adapter

CAP = 65536  # the STRICT console cap

CONSOLE: list[tuple[str, str, int]] = [
    # (case, the repeated line, UTF-8 bytes per line without its newline)
    ("euro", "'€'.repeat(600)", 1800),
    ("two-byte", "'é'.repeat(600)", 1200),
    ("astral", "'😀'.repeat(300)", 1200),
    ("lone-surrogates", "'\\udc00'.repeat(600)", 1800),
    ("ascii", "'x'.repeat(1000)", 1000),
    ("mixed", "'a€😀é\\ud800'.repeat(100)", 1300),
]


@pytest.mark.parametrize(("line", "size"), [c[1:] for c in CONSOLE], ids=[c[0] for c in CONSOLE])
async def test_console_bytes_exact(raw_adapter: Any, line: str, size: int) -> None:
    body = (
        f"let n = 0; for (let i = 0; i < 1000; i++) {{ try {{ console.log({line}) }} catch (e) {{ break }} n++ }} "
        "return n"
    )
    outcome, _, _ = await run_on_adapter(raw_adapter, instrumented(body), engine_limits(console_bytes=CAP))
    assert outcome.ok, outcome.message
    printed = json.loads(outcome.value_json)
    assert printed == CAP // (size + 1)  # exactly the lines that fit, each with its newline
    total = sum(len(text.encode("utf-8", "surrogatepass")) + 1 for text in outcome.stdout)
    assert total <= CAP and total == printed * (size + 1)


ERRORS: list[tuple[str, str, Expect]] = [
    ("message-over-cap", "throw new Error('x'.repeat(2 * 1024 * 1024))", fails(ML)),
    ("message-multibyte-over-cap", "throw new Error('€'.repeat(400 * 1024))", fails(ML)),
    ("name-over-cap", "const e = new Error('m'); e.name = 'n'.repeat(2 * 1024 * 1024); throw e", fails(ML)),
    ("non-error-over-cap", "throw { big: 'x'.repeat(2 * 1024 * 1024) }", fails(ML)),
    (
        "stack-over-cap",
        "const name = 'f'.repeat(300 * 1024); const o = { [name]: (n) => n ? o[name](n - 1) : null.x }; o[name](5)",
        fails(ML),
    ),
    ("message-under-cap", "throw new Error('x'.repeat(1000))", fails(RE)),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
async def test_error_text_capped(raw_adapter: Any, body: str, expect: Expect) -> None:
    outcome, _ = await adapter_attack(
        raw_adapter, instrumented(body), expect, engine_limits(memory_limit=64 * 1024 * 1024)
    )
    assert len(outcome.message) + len(outcome.stack) + len(outcome.name) <= 1 << 20


RAW_JSON: list[tuple[str, str, Expect]] = [
    ("infinite-caught", "try { JSON.rawJSON('1e400') } catch (e) { return e.name }", returns("RangeError")),
    ("negative-infinite", "try { JSON.rawJSON('-1e400') } catch (e) { return e.name }", returns("RangeError")),
    ("huge-integer", "try { JSON.rawJSON('9'.repeat(5000)) } catch (e) { return e.name }", returns("RangeError")),
    ("returned", "return { x: JSON.rawJSON('1e400') }", fails(RE)),
    ("to-a-tool", "return await callTool('mark', { x: JSON.rawJSON('1e400') })", fails(RE)),
    (
        "coerced-once",
        "let n = 0; return JSON.stringify({ x: JSON.rawJSON({ toString: () => n++ ? '1e400' : '7' }) })",
        returns('{"x":7}'),
    ),
    ("big-exact-integer", "return JSON.rawJSON('12345678901234567890123')", returns(12345678901234567890123)),
    ("string-ok", "return JSON.stringify([JSON.rawJSON('\"a\"'), JSON.rawJSON('-0.5e3')])", returns('["a",-0.5e3]')),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in RAW_JSON], ids=[c[0] for c in RAW_JSON])
async def test_raw_json_numbers(raw_adapter: Any, body: str, expect: Expect) -> None:
    await adapter_attack(raw_adapter, instrumented(body), expect)


SURROGATES: list[tuple[str, str, Expect]] = [
    (
        "lone-result",
        "const r = await callTool('lone', {}); return [r.length, r.charCodeAt(0), r === '\\udc00']",
        returns([1, 0xDC00, True]),
    ),
    ("lone-round-trip", "return await callTool('lone', {})", returns("\udc00")),
    (
        "two-halves-join",
        "const r = await callTool('pair-as-two', {}); return [r.length, r === '\\u{1F600}']",
        returns([2, True]),
    ),
    ("astral", "const r = await callTool('astral', {}); return [r.length, r === '\\u{1F600}']", returns([2, True])),
    ("lone-in-args", "return await callTool('echo', { s: '\\udc00\\ud800' })", returns({"s": "\udc00\ud800"})),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in SURROGATES], ids=[c[0] for c in SURROGATES])
async def test_lone_surrogates_cross_unchanged(raw_adapter: Any, body: str, expect: Expect) -> None:
    await adapter_attack(raw_adapter, instrumented(body), expect)


async def test_lone_surrogate_in_a_tool_error(raw_adapter: Any) -> None:
    body = "try { await callTool('fail', { message: 'bad \\udc00' }) } catch (e) { return e.message }"
    await adapter_attack(raw_adapter, instrumented(body), returns("bad \udc00"))


# ---- the CLI on a terminal ----

PAYLOADS = ["\x1b]0;PWNED\x07", "\x1b[2J", "\x9b31m", "\u202eevil", "\r\x1b[Kover"]


def _run_on_a_tty(args: list[str]) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal; everything it wrote, as text."""
    primary, secondary = pty.openpty()
    env = dict(os.environ, COLUMNS="200", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "enclave_vm.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(primary, 65536)
        except OSError:  # the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("as_json", [False, True], ids=["rich", "json"])
def test_cli_escapes_control_sequences_on_a_tty(tmp_path: Path, as_json: bool) -> None:
    script = tmp_path / "attack.js"
    lines = "".join(f"console.log({json.dumps(p)});\n" for p in PAYLOADS)
    script.write_text(lines + f"return {json.dumps(PAYLOADS)};\n", encoding="utf-8")
    shown = _run_on_a_tty(["run", str(script), *(["--json"] if as_json else [])])
    for payload in PAYLOADS:
        assert payload not in shown, f"{payload!r} reached the terminal raw"
    assert "PWNED" in shown and "evil" in shown  # shown, escaped
    if as_json:
        assert "\\u009b31m" in shown or "\\u009b" in shown
