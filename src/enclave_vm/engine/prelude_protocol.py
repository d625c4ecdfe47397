"""The prelude's text protocol, shared by every engine that runs it (in-process, pool worker, WebAssembly):
the source itself, the JSON its `init` and `settle` take, and the reading of its `drain` answer.

Everything read here was produced inside the engine, where guest code runs, so it is parsed as untrusted
text: malformed state is a clean RUNTIME_ERROR, and a final record can only carry a script's own codes.
"""

from __future__ import annotations

import json
import time
from importlib import resources

from ..bridge.codec import escape_surrogates
from ..bridge.protocol import FinalRecord, StartRequest, Step, ToolCall, ToolResult, make_step
from ..outcome import RunEnded, limit_code, script_code
from ..outcome import now as run_clock

PRELUDE = resources.files(__package__).joinpath("prelude.js").read_text(encoding="utf-8")


def init_config(request: StartRequest) -> str:
    """The JSON the prelude's `init` takes: the run's limits and globals."""
    limits = request.limits
    return json.dumps(
        {
            "timeout": limits.timeout_ms,
            # The prelude reads the time with Date.now(): the run-clock deadline as epoch milliseconds.
            "deadline": (time.time() + request.deadline - run_clock()) * 1000.0,
            "maxToolCalls": limits.max_tool_calls,
            "maxIterations": limits.max_iterations,
            "consoleBytes": limits.console_bytes,
            "consoleCalls": limits.console_calls,
            "maxValueBytes": limits.max_value_bytes,
            "maxArrayLength": max(1_000_000, limits.memory_limit // 8),
            "globals": request.globals_json,
            "state": request.state_json,
            "maxStateBytes": limits.max_state_bytes,
            "recordEntropy": request.record_entropy,
            "maxRecorded": limits.max_recorded_values,
            "entropy": list(request.entropy),
            "toolNames": None if request.tool_names is None else list(request.tool_names),
        }
    )


def settle_payload(results: list[ToolResult]) -> str:
    """The JSON the prelude's `settle` takes: `[[id, 1, value] | [id, 0, "error message"], ...]`.

    A result's payload is already JSON text from the host's codec, so it goes in as it is: no second
    round of escaping here and no second parse in the engine."""
    return (
        "["
        + ",".join(
            f"[{int(r.id)},1,{r.payload}]"
            if r.ok
            else f"[{int(r.id)},0,{escape_surrogates(json.dumps(r.payload, ensure_ascii=False))}]"
            for r in results
        )
        + "]"
    )


def parse_state(text: object, memory_usage: int | None, *, jobs_pending: bool = False) -> Step:
    """Turn the prelude's `drain` answer (JSON text) into a Step; anything malformed is a clean error."""
    if not isinstance(text, str):
        raise RunEnded("RUNTIME_ERROR", "Engine returned an unreadable state")
    try:
        sticky, sticky_message, iterations, outbox, lines, final, levels, entropy, overflow = json.loads(text)
        calls = [ToolCall(int(outbox[i]), str(outbox[i + 1]), str(outbox[i + 2])) for i in range(0, len(outbox) - 2, 3)]
        record = None
        if final is not None:
            if final[0] == "ok":
                record = FinalRecord(ok=True, value_json=str(final[1]), state_json=str(final[2]))
            else:
                record = FinalRecord(
                    ok=False,
                    code=str(script_code(final[1])),
                    name=str(final[2]),
                    message=str(final[3]),
                    stack=str(final[4]),
                )
        return make_step(
            calls=calls,
            stdout=[str(line) for line in lines],
            iterations=int(iterations),
            terminal_code=limit_code(sticky),
            terminal_message=str(sticky_message),
            final=record,
            memory_usage=memory_usage,
            jobs_pending=jobs_pending,
            levels=[str(level) for level in levels],
            entropy=[float(value) for value in entropy],
            entropy_overflow=overflow is True,
        )
    except (ValueError, TypeError, IndexError, KeyError):
        raise RunEnded("RUNTIME_ERROR", "Engine returned an unreadable state") from None
