"""Facts the docs state that come from code: they must match it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from doc_blocks import ROOT

from enclave_vm import ErrorCode
from enclave_vm.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from enclave_vm.config import DEFAULT_MEMORY_LIMIT, LEVEL_DEFAULTS, SecurityLevel
from enclave_vm.guard.policy import LEVEL_GLOBALS


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    lines = read("README.md").splitlines()
    assert lines[0] == "# enclave-vm"
    assert lines[2] == "```bash"
    assert lines[3].startswith("make demo ") and lines[4].startswith("make test ")
    assert lines[5] == "```"


@pytest.mark.parametrize("level", list(SecurityLevel))
def test_security_levels_table_matches_the_defaults(level: SecurityLevel) -> None:
    d = LEVEL_DEFAULTS[level]
    cells = [str(v) for v in (d.timeout, d.max_tool_calls, d.max_iterations)]
    cells += [f"{d.console_bytes} / {d.console_calls}", f"{d.max_value_bytes} / {d.max_value_depth}"]
    row = next(line for line in read("docs/security-levels.md").splitlines() if line.startswith(f"| `{level.value}`"))
    assert [cell.strip() for cell in row.strip("|").split("|")][2:] == cells


def test_security_levels_globals_and_memory() -> None:
    text = read("docs/security-levels.md")
    rows = [line for line in text.splitlines() if line.startswith("| `") and line.endswith(("| yes |", "| no |"))]
    listed: dict[SecurityLevel, set[str]] = {level: set() for level in SecurityLevel}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if "when the host" in cells[0]:
            continue
        for level, cell in zip(SecurityLevel, cells[1:], strict=True):
            if cell == "yes":
                listed[level] |= set(re.findall(r"`(\w+)`", cells[0]))
    assert listed == {level: set(LEVEL_GLOBALS[level]) for level in SecurityLevel}
    assert f"{DEFAULT_MEMORY_LIMIT // (1024 * 1024)} MiB by default" in text


def test_every_error_code_has_a_section() -> None:
    text = read("docs/errors.md")
    for code in ErrorCode:
        assert f"\n## `{code.value}`\n" in text
        section = text.split(f"\n## `{code.value}`\n", 1)[1].split("\n## ", 1)[0]
        assert "**When:**" in section and "**What to do:**" in section and "```python" in section


@pytest.mark.parametrize("page", ["docs/errors.md", "docs/cli.md"])
def test_exit_codes_are_documented(page: str) -> None:
    text = read(page)
    for code in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_INTERRUPTED):
        assert f"\n| {code} | " in text
    from enclave_vm import cli

    assert f"    {EXIT_UNAVAILABLE}  " in (cli.__doc__ or "")


def test_docs_pages_linked_from_the_readme_exist() -> None:
    for target in re.findall(r"\]\((docs/[\w.-]+\.md|SECURITY\.md)", read("README.md")):
        assert (ROOT / target).exists(), f"README links to missing {target}"


@pytest.mark.parametrize("example", ["demo.py", "toolset_agent.py"])
def test_examples_run(example: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    if example == "demo.py":
        assert "[host] tool call orders:list" in done.stdout and "blocked: VALIDATION_ERROR" in done.stdout
    else:
        assert '"code":"VALIDATION_ERROR"' in done.stdout and "Invalid argument 'priorty'" in done.stdout
        assert '{"ok":true,"value":[3],"stdout":"assigned 1 of 2 urgent tickets\\n"}' in done.stdout


def test_worker_pool_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "worker_pool.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 concurrent runs" in done.stdout and "runaway script: TIMEOUT" in done.stdout
    assert "next run: the pool is still serving" in done.stdout


def test_approval_example_runs_each_tool_once() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "approval.py")], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[host] paused at refund: refund needs approval" in done.stdout
    assert "[host] tool calls: ['lookup_order', 'refund', 'send_email']" in done.stdout
