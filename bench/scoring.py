"""Benchmark the rule-based scorer against the tree-sitter parse it is built on.

Scripts of about 1 KB and 5 KB are assembled from the labelled corpus in tests/scoring/corpus
(benign and risky programs alternating, each in its own block), so the code is what scoring sees
in practice. For each size it reports, in the same run:

- parse            `parse_script(code)`: tree-sitter alone, the floor nothing built on it can beat
- parse+walk       `parse_script(code).nodes`: the guard's shared pre-order walk
- score            `RuleBasedScorer().score(code)`: parse, walk and scoring, what a lone caller pays
- score (shared)   `score_parsed(parsed)` on a parse whose walk the guard already did

Run: .venv/bin/python bench/scoring.py [--iterations N] [--out PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from enclave_vm.guard.parse import parse_script
from enclave_vm.scoring import RuleBasedScorer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "scoring" / "corpus"
TARGET_P50_MS_1KB = 0.3


def build_script(target_bytes: int) -> str:
    """Whole corpus programs (benign and risky alternating, labels dropped) up to the target size."""
    benign = sorted((CORPUS / "benign").glob("*.js"))
    risky = sorted((CORPUS / "risky").glob("*.js"))
    programs = [path for pair in zip(benign, risky, strict=False) for path in pair]
    parts: list[str] = []
    size = 0
    for path in programs * 4:
        lines = path.read_text().splitlines(keepends=True)
        block = "{\n" + "".join(line for line in lines if not line.startswith("// expect:")) + "}\n"
        if size and size + len(block.encode()) > target_bytes * 1.1:
            continue  # skip what would overshoot; a smaller program further on may fit
        parts.append(block)
        size += len(block.encode())
        if size >= target_bytes * 0.95:
            break
    return "".join(parts)


def timings_ms(fns: dict[str, Callable[[], object]], iterations: int) -> dict[str, list[float]]:
    """Samples of each function, taken in turn, so a noisy neighbour slows them all alike."""
    for fn in fns.values():
        for _ in range(min(200, iterations)):
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    clock = time.perf_counter_ns
    gc.disable()  # a collection landing in one sample says nothing about the code measured
    try:
        for _ in range(iterations):
            for name, fn in fns.items():
                start = clock()
                fn()
                out[name].append((clock() - start) / 1e6)
    finally:
        gc.enable()
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 4),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)], 4),
        "min_ms": round(ordered[0], 4),
    }


def measure(code: str, iterations: int) -> dict[str, object]:
    scorer = RuleBasedScorer()
    walked = parse_script(code)
    _ = walked.nodes
    assert not walked.root.has_error, "the benchmark script must parse cleanly"
    result = scorer.score(code)
    samples = timings_ms(
        {
            "parse": lambda: parse_script(code),
            "parse+walk": lambda: parse_script(code).nodes,
            "score": lambda: scorer.score(code),
            "score (shared parse)": lambda: scorer.score_parsed(walked),
        },
        iterations,
    )
    return {
        "bytes": len(code.encode()),
        "nodes": len(walked.nodes),
        "result": {"score": result.score, "signals": result.signals},
        **{name: summary(values) for name, values in samples.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scoring.json")
    args = parser.parse_args(argv)

    sizes = {"1KB": 1024, "5KB": 5 * 1024}
    results = {label: measure(build_script(size), args.iterations) for label, size in sizes.items()}

    rows = ["parse", "parse+walk", "score", "score (shared parse)"]
    print(f"{'p50 ms (p90)':<22}" + "".join(f"{label:>22}" for label in results))
    print(f"{'script bytes':<22}" + "".join(f"{r['bytes']:>22}" for r in results.values()))
    for row in rows:
        cells = []
        for r in results.values():
            stats = r[row]
            assert isinstance(stats, dict)
            cells.append(f"{stats['p50_ms']:.3f} ({stats['p90_ms']:.3f})")
        print(f"{row:<22}" + "".join(f"{cell:>22}" for cell in cells))
    score_1kb = results["1KB"]["score"]
    assert isinstance(score_1kb, dict)
    verdict = "met" if score_1kb["p50_ms"] <= TARGET_P50_MS_1KB else "missed"
    print(f"target: score() p50 <= {TARGET_P50_MS_1KB} ms for 1 KB: {verdict}")

    report = {
        "benchmark": "scoring",
        "command": "python bench/scoring.py" + (f" --iterations {args.iterations}" if args.iterations != 3000 else ""),
        "iterations": args.iterations,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "tree_sitter": metadata.version("tree-sitter"),
        "tree_sitter_javascript": metadata.version("tree-sitter-javascript"),
        "target_p50_ms_1kb": TARGET_P50_MS_1KB,
        "target_met": verdict == "met",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
