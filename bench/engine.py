"""The engine itself: our QuickJS-NG build against the old `quickjs-ng` wheel (when installed), and the
compile-only check validate() now does, each against a baseline measured in the same run.

    .venv/bin/python bench/engine.py [--runs N] [--flags=-O2,-O3,...] [--json PATH]

1. a 100 000-iteration loop (no instrumentation) in a context that exists already, p50 of N;
2. context warm-up: a fresh runtime and context with the prelude, and the prelude compiled from source
   against loaded as bytecode;
3. validate() of the 1 KB script of bench/validate.py: the guard alone (today's validate), the guard plus
   instrumentation plus the compile check (validate now), and tree-sitter parsing alone (the baseline);
4. with --flags: the loop and the warm-up for builds of QuickJS-NG with each optimisation flag (each
   built once into the build cache, in a scratch directory), to choose the flag the build uses.
Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

LOOP = "let s = 0; for (let i = 0; i < 100000; i++) { s += i % 7; } return s;"
#: A control function with nothing but what the loop run needs: start the script, report its value.
BARE_PRELUDE = """(() => { let fin = null;
  return (op, arg) => { if (op === 'start') { arg().then((v) => { fin = v; }); }
    if (op === 'drain') return JSON.stringify(fin); }; })()"""


def p50(fn: Callable[[], Any], runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def cpu_p50(fn: Callable[[], Any], runs: int, warmup: int = 5) -> float:
    """p50 of the calling thread's CPU time (ms): steadier than wall time on a loaded machine."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.thread_time()
        fn()
        samples.append((time.thread_time() - start) * 1000)
    return statistics.median(samples)


def measure_engine(runs: int) -> dict[str, float]:
    """Loop and warm-up figures of the `_engine` importable now (wall and CPU p50, ms)."""
    from enclave_vm.engine import _engine
    from enclave_vm.engine.prelude_protocol import PRELUDE
    from enclave_vm.engine.session import WarmContext, prelude_bytecode

    bare = _engine.compile_prelude(BARE_PRELUDE)
    program = "(async () => {" + LOOP + "})"

    def loop() -> None:
        engine = _engine.Engine(bare, 0, 512 * 1024)
        engine.configure(0, 512 * 1024, time.monotonic() + 60, 0)
        started, cpu = time.perf_counter(), time.thread_time()
        status, text, _, _ = engine.start("", program)
        wall.append((time.perf_counter() - started) * 1000)
        cpus.append((time.thread_time() - cpu) * 1000)
        assert status == _engine.OK and text == "299995", (status, text)
        engine.close()

    wall: list[float] = []
    cpus: list[float] = []
    p50(loop, runs)
    prelude_bytecode.get()
    return {
        "loop_100k_ms": statistics.median(wall[5:]),
        "loop_100k_cpu_ms": statistics.median(cpus[5:]),
        "warm_context_ms": p50(lambda: WarmContext().engine.close(), runs * 5),
        "warm_context_cpu_ms": cpu_p50(lambda: WarmContext().engine.close(), runs * 5),
        "compile_prelude_ms": p50(lambda: _engine.compile_prelude(PRELUDE), runs),
        "load_prelude_from_source_ms": p50(lambda: WarmContext(PRELUDE).engine.close(), runs),
    }


def measure_wheel(runs: int) -> dict[str, float] | None:
    """The same figures for the old `quickjs-ng` wheel, when it is installed."""
    try:
        import quickjs
    except ImportError:
        return None
    from enclave_vm.engine.prelude_protocol import PRELUDE

    ctx = quickjs.Context()

    def warm() -> None:
        fresh = quickjs.Context()
        fresh.eval(PRELUDE)

    return {
        "loop_100k_ms": p50(lambda: ctx.eval("(() => {" + LOOP + "})()"), runs),
        "loop_100k_cpu_ms": cpu_p50(lambda: ctx.eval("(() => {" + LOOP + "})()"), runs),
        "warm_context_ms": p50(warm, runs * 5),
        "warm_context_cpu_ms": cpu_p50(warm, runs * 5),
    }


def measure_validate(runs: int) -> dict[str, float]:
    from enclave_vm.config import SecurityLevel
    from enclave_vm.engine.syntax import compile_issue
    from enclave_vm.guard import parse_script, policy_for, prepare, validate_code
    from validate import SCRIPT_1KB

    policy = policy_for(SecurityLevel.STANDARD)

    def validate_now() -> None:
        prepared = prepare(SCRIPT_1KB, policy)
        assert prepared.instrumented is not None and compile_issue(prepared.instrumented) is None

    # Interleaved rounds, so that the load of the moment hits all three alike.
    rounds: dict[str, list[float]] = {"parse_ms": [], "guard_ms": [], "validate_ms": []}
    for _ in range(10):
        rounds["parse_ms"].append(p50(lambda: parse_script(SCRIPT_1KB), runs))
        rounds["guard_ms"].append(p50(lambda: validate_code(SCRIPT_1KB, policy), runs))
        rounds["validate_ms"].append(p50(validate_now, runs))
    return {key: statistics.median(values) for key, values in rounds.items()}


def build_variant(flag: str, into: Path) -> None:
    """Build the extension with QuickJS-NG at `flag` into `into` (the library lands in the build cache)."""
    env = {**os.environ, "ENCLAVE_VM_QUICKJS_OPT": flag}
    command = [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(into), "--build-temp", str(into / "t")]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


def measure_variant(into: Path, runs: int) -> dict[str, float]:
    """measure_engine() in a child process that imports the variant's `_engine`."""
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[2]);"
        "import importlib, enclave_vm.engine; enclave_vm.engine.__path__.insert(0, sys.argv[1] + '/enclave_vm/engine');"
        "import engine as bench; print(json.dumps(bench.measure_engine(int(sys.argv[3]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(into), str(ROOT / "bench"), str(runs)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def write_report(report: dict[str, Any], path_text: str) -> None:
    path = Path(path_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--flags", default="", help="comma-separated, e.g. --flags=-O2,-O3")
    parser.add_argument("--json", default="bench/results/engine.json")
    args = parser.parse_args()
    flags = [flag for flag in args.flags.split(",") if flag]
    report: dict[str, Any] = {"runs": args.runs}

    ours = measure_engine(args.runs)
    wheel = measure_wheel(args.runs)
    report["engine"] = {"ours": ours, "quickjs_ng_wheel": wheel}
    print(f"{'engine (p50, ms)':<34} {'ours':>9} {'wheel':>9} {'ratio':>7}")
    keys = ("loop_100k_ms", "loop_100k_cpu_ms", "warm_context_ms", "warm_context_cpu_ms", "compile_prelude_ms")
    for key in (*keys, "load_prelude_from_source_ms"):
        theirs = wheel.get(key) if wheel else None
        cells = f"{theirs:>9.3f} {ours[key] / theirs:>6.2f}x" if theirs else f"{'-':>9} {'-':>7}"
        print(f"{key:<34} {ours[key]:>9.3f} {cells}")

    figures = measure_validate(max(args.runs * 10, 200))
    report["validate_1kb"] = {
        **figures,
        "guard_over_parse": figures["guard_ms"] / figures["parse_ms"],
        "validate_over_parse": figures["validate_ms"] / figures["parse_ms"],
        "validate_over_guard": figures["validate_ms"] / figures["guard_ms"],
        "goal_over_guard": 1.3,
    }
    print(
        f"\nvalidate, 1 KB script (p50, ms): parse {figures['parse_ms']:.3f}, guard (old validate) "
        f"{figures['guard_ms']:.3f} ({figures['guard_ms'] / figures['parse_ms']:.2f}x parse), validate with "
        f"the compile check {figures['validate_ms']:.3f} ({figures['validate_ms'] / figures['parse_ms']:.2f}x parse, "
        f"{figures['validate_ms'] / figures['guard_ms']:.2f}x the old; goal <= 1.3x)"
    )

    if flags:
        report["flags"] = {}
        print(f"\n{'QuickJS-NG built with':<24} {'loop wall':>10} {'loop CPU':>10} {'warm CPU':>10} {'.so KiB':>8}")
        with tempfile.TemporaryDirectory(prefix="enclave-flags-") as tmp:
            for flag in flags:
                into = Path(tmp) / flag.strip("-")
                build_variant(flag, into)
                # Alternate the variants over several rounds: the machine's load moves between them.
                report["flags"][flag] = {"rounds": []}
            for _ in range(5):
                for flag in flags:
                    report["flags"][flag]["rounds"].append(measure_variant(Path(tmp) / flag.strip("-"), args.runs))
            for flag in flags:
                rounds = report["flags"][flag]["rounds"]
                medians = {
                    key: statistics.median(r[key] for r in rounds)
                    for key in ("loop_100k_ms", "loop_100k_cpu_ms", "warm_context_cpu_ms")
                }
                (so,) = (Path(tmp) / flag.strip("-") / "enclave_vm" / "engine").glob("_engine*.so")
                size = so.stat().st_size / 1024
                report["flags"][flag].update({**medians, "so_kib": size})
                loop, loop_cpu, warm_cpu = medians.values()
                print(f"{flag:<24} {loop:>10.3f} {loop_cpu:>10.3f} {warm_cpu:>10.3f} {size:>8.0f}")
    write_report(report, args.json)


if __name__ == "__main__":
    main()
