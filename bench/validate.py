"""Latency of guard validation on realistic scripts, against tree-sitter parsing alone in the same run.

Run: .venv/bin/python bench/validate.py [--runs N]
Prints a table and writes bench/results/validate.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import ParsedScript, parse_script, policy_for, validate_code
from enclave_vm.guard.prescan import prescan
from enclave_vm.guard.rules import check_rules

SCRIPT_1KB = """\
// Summarise open tickets per assignee and flag the overdue ones.
const tickets = await callTool('tickets:list', { status: 'open', limit: 200 });
const now = new Date();
const byAssignee = {};
let overdue = 0;
for (const t of tickets.items ?? []) {
  const who = t.assignee?.name ?? 'unassigned';
  const due = t.dueDate ? new Date(t.dueDate) : null;
  const late = due !== null && due < now;
  if (late) overdue += 1;
  byAssignee[who] = byAssignee[who] || { count: 0, late: 0, titles: [] };
  byAssignee[who].count += 1;
  if (late) byAssignee[who].late += 1;
  byAssignee[who].titles.push(t.title.slice(0, 40));
}
const rows = Object.entries(byAssignee)
  .map(([name, info]) => ({ name, ...info }))
  .sort((a, b) => b.late - a.late || b.count - a.count);
for (const row of rows.slice(0, 5)) {
  console.log(`${row.name}: ${row.count} open, ${row.late} late`);
}
if (overdue > 10) {
  await callTool('slack:post', { channel: '#support', text: `There are ${overdue} overdue tickets` });
}
const worst = rows.length > 0 ? Math.max(...rows.map(r => r.late)) : 0;
return { total: tickets.items?.length ?? 0, overdue, worst, rows };
"""

_SECTION = """\
// ---- region {n}: collect, enrich and score the accounts of one region
const accounts{n} = await callTool('crm:accounts', {{ region: 'r{n}', limit: 50 }});
const enriched{n} = [];
for (const account of accounts{n}.items ?? []) {{
  const usage = await callTool('billing:usage', {{ accountId: account.id, days: 30 }});
  const seats = account.plan?.seats ?? 1;
  const perSeat = seats > 0 ? usage.total / seats : 0;
  const tags = (account.tags || []).filter(tag => !tag.startsWith('internal:')).map(tag => tag.toLowerCase());
  enriched{n}.push({{ id: account.id, name: account.name.trim(), perSeat, tags, risky: perSeat < 0.2 }});
}}
const scored{n} = enriched{n}
  .map(({{ perSeat, risky, ...rest }}) => ({{ ...rest, score: Math.round((risky ? 0.5 : 1) * perSeat * 100) }}))
  .sort((a, b) => b.score - a.score);
summary.regions.push({{ region: 'r{n}', count: scored{n}.length, top: scored{n}.slice(0, 3) }});
console.log(`region r{n}: ${{scored{n}.length}} accounts, best ${{scored{n}[0]?.name ?? 'none'}}`);
"""

SCRIPT_5KB = (
    "const summary = { regions: [], startedAt: new Date().toISOString() };\n"
    + "".join(_SECTION.format(n=n) for n in range(1, 6))
    + "try {\n  await callTool('report:save', { summary });\n} catch (err) {\n"
    + "  console.error('could not save the report', err.message);\n}\nreturn summary;\n"
)


def _measure(func: Callable[[], object], runs: int) -> list[float]:
    for _ in range(max(runs // 10, 20)):  # warm caches and the allocator
        func()
    samples: list[float] = []
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter_ns()
            func()
            samples.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        gc.enable()
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 4),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()

    policy = policy_for(SecurityLevel.STANDARD)
    scripts: dict[str, dict[str, object]] = {}
    rows = []
    for label, code in (("1 KB", SCRIPT_1KB), ("5 KB", SCRIPT_5KB)):
        assert validate_code(code, policy) == [], validate_code(code, policy)
        parsed = parse_script(code)

        def run_validate(code: str = code) -> object:
            return validate_code(code, policy)

        def run_parse(code: str = code) -> object:
            return parse_script(code)

        def run_parse_nodes(code: str = code) -> object:
            return parse_script(code).nodes

        def run_prescan(code: str = code) -> object:
            return prescan(code, policy)

        def run_rules(parsed: ParsedScript = parsed) -> object:
            return check_rules(parsed, policy)

        validate = _summary(_measure(run_validate, args.runs))
        parse = _summary(_measure(run_parse, args.runs))
        parse_nodes = _summary(_measure(run_parse_nodes, args.runs))
        scan = _summary(_measure(run_prescan, args.runs))
        rules = _summary(_measure(run_rules, args.runs))
        ratio = round(validate["p50_ms"] / parse["p50_ms"], 2)
        scripts[label] = {
            "bytes": len(code.encode()),
            "nodes": len(parsed.nodes),
            "validate": validate,
            "parse": parse,
            "parse_and_node_list": parse_nodes,
            "prescan": scan,
            "rules": rules,
            "validate_over_parse_p50": ratio,
        }
        rows.append((label, len(code.encode()), validate, parse, parse_nodes, scan, rules, ratio))
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": args.runs,
        "level": SecurityLevel.STANDARD.value,
        "scripts": scripts,
    }

    header = (
        f"{'script':<6} {'bytes':>6} {'validate p50':>13} {'p95':>8} {'parse p50':>10} {'p95':>8} "
        f"{'parse+nodes':>12} {'prescan':>8} {'rules':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for label, size, validate, parse, parse_nodes, scan, rules, ratio in rows:
        print(
            f"{label:<6} {size:>6} {validate['p50_ms']:>13.3f} {validate['p95_ms']:>8.3f} "
            f"{parse['p50_ms']:>10.3f} {parse['p95_ms']:>8.3f} {parse_nodes['p50_ms']:>12.3f} "
            f"{scan['p50_ms']:>8.3f} {rules['p50_ms']:>8.3f} {ratio:>6.2f}"
        )
    print("(milliseconds; ratio = validate p50 / parse p50; prescan and rules are p50 of each step alone)")

    out = Path(__file__).parent / "results" / "validate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
