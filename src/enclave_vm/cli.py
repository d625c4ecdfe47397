"""The `enclave-vm` command: run, validate and score AgentScript files, print the reference, serve an
`Enclave` over HTTP.

Output is rich on a terminal, plain text when piped, one JSON document with `--json`. Every failure of
the command itself is one line on stderr (`enclave-vm: error: ...`). Exit codes:

    0  success (the script returned, the files are valid, the score is under --fail-at)
    1  the script failed, a file has validation errors, or a score reached --fail-at
    2  usage error: a bad option, an unreadable file, a --tools target that cannot be loaded
    3  the requested adapter (or, for `serve`, the server extra) is not available here
    130 interrupted
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.syntax import Syntax

from .adapters.base import EnclaveAdapter
from .adapters.factories import create_double_vm_adapter, create_worker_pool_adapter
from .bridge.dispatch import ToolHandler
from .config import SecurityLevel
from .enclave import Enclave
from .guard import agentscript_reference
from .results import ExecutionResult, ValidationIssue
from .scoring import RuleBasedScorer
from .tools import Toolset

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130

ADAPTERS = ("inprocess", "pool", "double-vm")
LEVELS = [level.value for level in SecurityLevel]


class CliError(click.ClickException):
    """A failure of the command itself (not of the script), shown as one line."""

    exit_code = EXIT_USAGE


class AdapterUnavailable(CliError):
    exit_code = EXIT_UNAVAILABLE


class ServerUnavailable(CliError):
    """The server extra (starlette, uvicorn, ...) is not installed."""

    exit_code = EXIT_UNAVAILABLE


# ---- output ----
#: Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts every
#: escape sequence, CR rewrites the line), DEL, C1 controls (U+009B is a one-character CSI) and the
#: bidirectional overrides and isolates, which reorder what is shown.
_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The ones JSON text may hold raw (json.dumps escapes the C0 controls itself).
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` with every character a terminal would act on shown as an escape (`\\x1b`, `\\u202e`), so
    script output cannot move the cursor, rewrite lines, set the title or reorder what is shown."""
    return _TERMINAL_CONTROLS.sub(lambda m: _visible(m.group()), text)


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe_json(text: str) -> str:
    """JSON text with the control characters it may hold raw written as `\\u` escapes: still the same JSON."""
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Output:
    """Where and how to print: rich on a terminal, plain when piped, JSON when asked. Whatever goes to a
    terminal has its control characters escaped (script output is untrusted text)."""

    def __init__(self, as_json: bool) -> None:
        self.json = as_json
        self.out = Console(soft_wrap=True, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)
        self.rich = self.out.is_terminal and not as_json

    def shown(self, text: str, *, err: bool = False) -> str:
        """`text` as it may be written to stdout (or stderr): escaped when that stream is a terminal."""
        return terminal_safe(text) if (self.err if err else self.out).is_terminal else text

    def line(self, text: str, *, style: str | None = None, err: bool = False) -> None:
        console = self.err if err else self.out
        if self.rich:
            console.print(escape(terminal_safe(text)), style=style)
        else:
            click.echo(self.shown(text, err=err), err=err)

    def document(self, data: Any) -> None:
        text = json.dumps(data, ensure_ascii=False, default=str)
        click.echo(terminal_safe_json(text) if self.out.is_terminal else text)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _issue_line(path: str, issue: ValidationIssue | dict[str, Any]) -> str:
    record = issue.to_dict() if isinstance(issue, ValidationIssue) else issue
    location = record.get("location") or {}
    where = f"{path}:{location['line']}:{location['column']}" if location else path
    suffix = " (warning)" if record.get("severity") == "warning" else ""
    return f"{where}: {record.get('rule')}: {record.get('message')}{suffix}"


# ---- inputs ----
def _read_source(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"cannot read {path}: not UTF-8 text") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_tools(target: str) -> ToolHandler:
    """The tool handler named by `module:attr` or `path/to/file.py:attr` (a `Toolset` or a handler)."""
    module_name, _, attr = target.rpartition(":")
    if not module_name or not attr:
        raise CliError(f"--tools {target}: expected module:attribute, e.g. my_tools:toolset")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            name = Path(module_name).stem
            if name in sys.modules:  # never shadow a module already imported (the file may be json.py)
                name = f"enclave_vm_tools_{name}"
            spec = importlib.util.spec_from_file_location(name, module_name)
            if spec is None or spec.loader is None:
                raise ImportError(f"no Python file at {module_name}")
            module = importlib.util.module_from_spec(spec)
            # Registered before it runs: typing resolves a TypedDict's or a dataclass's annotations
            # through sys.modules, which a Toolset's schemas need.
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_name)
    except FileNotFoundError:
        raise CliError(f"--tools {target}: no Python file at {module_name}") from None
    except Exception as exc:  # any import failure is the user's module, reported in one line
        raise CliError(f"--tools {target}: cannot load {module_name}: {type(exc).__name__}: {exc}") from None
    handler = getattr(module, attr, None)
    if handler is None:
        raise CliError(f"--tools {target}: {module_name} has no attribute {attr!r}")
    if not isinstance(handler, Toolset) and not callable(handler):
        raise CliError(f"--tools {target}: expected a Toolset or a tool handler; got {type(handler).__name__}")
    return handler  # type: ignore[no-any-return]


def make_adapter(name: str, pool_size: int = 1) -> EnclaveAdapter | None:
    """The adapter for `--adapter`; `CliError` (exit 3) if it cannot be built here."""
    try:
        if name == "pool":
            return create_worker_pool_adapter(pool_size=pool_size)
        if name == "double-vm":
            return create_double_vm_adapter()
    except (NotImplementedError, ImportError, OSError, RuntimeError) as exc:
        raise AdapterUnavailable(f"the {name} adapter is not available: {exc}") from None
    return None


# ---- commands ----
_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
_level_option = click.option(
    "--level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="STANDARD",
    show_default=True,
    help="Security level.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="enclave-vm", prog_name="enclave-vm")
def cli() -> None:
    """Run untrusted, LLM-written JavaScript (AgentScript) safely; validate and score scripts."""


@cli.command()
@click.argument("file")
@click.option("--tools", "tools_target", metavar="MODULE:ATTR", help="A Toolset or tool handler to expose.")
@_level_option
@click.option("--timeout", type=click.IntRange(min=1), metavar="MS", help="Wall-clock limit in milliseconds.")
@click.option(
    "--adapter", type=click.Choice(ADAPTERS), default="inprocess", show_default=True, help="Where the engine runs."
)
@_json_option
@click.pass_context
def run(
    ctx: click.Context,
    file: str,
    tools_target: str | None,
    level: str,
    timeout: int | None,
    adapter: str,
    as_json: bool,
) -> None:
    """Run FILE (or - for stdin) and print its value, console output or error."""
    output = Output(as_json)
    code = _read_source(file)
    handler = load_tools(tools_target) if tools_target else None
    engine_adapter = make_adapter(adapter)

    async def execute() -> ExecutionResult:
        async with Enclave(
            security_level=level, tool_handler=handler, timeout=timeout, adapter=engine_adapter
        ) as enclave:
            return await enclave.run(code)

    result = asyncio.run(execute())
    _show_run(output, "<stdin>" if file == "-" else file, result)
    ctx.exit(EXIT_OK if result.success else EXIT_FAILED)


def _show_run(output: Output, path: str, result: ExecutionResult) -> None:
    if output.json:
        output.document(
            {
                "success": result.success,
                "value": result.value,
                "stdout": result.stdout,
                "error": asdict(result.error) if result.error else None,
                "stats": asdict(result.stats),
                "warnings": result.warnings,
            }
        )
        return
    if result.stdout:
        if output.rich:
            output.out.rule("console", style="dim")
            output.out.print(escape(terminal_safe(result.stdout.rstrip("\n"))))
            output.out.rule(style="dim")
        else:
            click.echo(output.shown(result.stdout, err=True), nl=False, err=True)
    for warning in result.warnings:
        output.line(f"warning: {warning}", style="yellow", err=True)
    if result.success:
        text = json.dumps(result.value, ensure_ascii=False, indent=2 if output.rich else None)
        if output.rich:
            output.out.print(Syntax(terminal_safe_json(text), "json", theme="ansi_dark", background_color="default"))
            stats = result.stats
            output.line(
                f"ok in {stats.duration:.1f} ms · {_count(stats.tool_call_count, 'tool call')} · "
                f"{_count(stats.iteration_count, 'loop iteration')}",
                style="green",
                err=True,
            )
        else:
            click.echo(output.shown(text))
        return
    assert result.error is not None
    error = result.error
    issues = (error.data or {}).get("issues") or []
    location = error.location  # the script line a runtime error came from, as `--json`'s stack has it
    where = f"{path}:{location['line']}:{location['column']}" if location else path
    output.line(f"{where}: {error.code}: {error.message}", style="bold red", err=True)
    for issue in issues:
        if isinstance(issue, dict):
            output.line(_issue_line(path, issue), style="red", err=True)


@cli.command()
@click.argument("files", nargs=-1, required=True)
@_level_option
@_json_option
@click.pass_context
def validate(ctx: click.Context, files: Sequence[str], level: str, as_json: bool) -> None:
    """Check FILES (or - for stdin) against the AgentScript rules; nothing runs.

    Prints one `file:line:col: rule: message` line per issue; exits 1 if any file has an error.
    """
    output = Output(as_json)
    sources = [(path, _read_source(path)) for path in files]
    report = []
    errors = warnings = 0
    with Enclave(security_level=level) as enclave:
        for path, code in sources:
            checked = enclave.validate_sync(code)
            shown = "<stdin>" if path == "-" else path
            report.append({"file": shown, "valid": checked.valid, "issues": [i.to_dict() for i in checked.issues]})
            for issue in checked.issues:
                errors += issue.severity == "error"
                warnings += issue.severity == "warning"
                if not output.json:
                    output.line(_issue_line(shown, issue), style="red" if issue.severity == "error" else "yellow")
    if output.json:
        output.document(report)
    elif output.rich or errors or warnings:
        summary = f"{errors} error(s), {warnings} warning(s) in {len(files)} file(s)"
        output.line(summary if errors or warnings else f"{len(files)} file(s) valid", style="bold", err=True)
    ctx.exit(EXIT_FAILED if errors else EXIT_OK)


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--fail-at", type=click.IntRange(0, 100), metavar="SCORE", help="Exit 1 if a score reaches SCORE.")
@_json_option
@click.pass_context
def score(ctx: click.Context, files: Sequence[str], fail_at: int | None, as_json: bool) -> None:
    """Score FILES (or - for stdin) with the rule-based scorer: 0 (benign) to 100 (block)."""
    output = Output(as_json)
    scorer = RuleBasedScorer()
    report: list[dict[str, Any]] = []
    for path in files:
        result = scorer.score(_read_source(path))
        report.append({"file": "<stdin>" if path == "-" else path, "score": result.score, "signals": result.signals})
    if output.json:
        output.document(report if len(report) > 1 else report[0])
    for entry in [] if output.json else report:
        signals = ", ".join(entry["signals"]) or "no signals"
        style = "green" if entry["score"] < 40 else "yellow" if entry["score"] < 70 else "bold red"
        output.line(f"{entry['file']}: {entry['score']} ({signals})", style=style)
    failed = fail_at is not None and any(entry["score"] >= fail_at for entry in report)
    ctx.exit(EXIT_FAILED if failed else EXIT_OK)


@cli.command()
@_level_option
@click.option("--tools", "tools_target", metavar="MODULE:ATTR", help="Append this Toolset's tools (its prompt).")
def reference(level: str, tools_target: str | None) -> None:
    """Print the AgentScript reference for a level (Markdown, ready for a model's prompt)."""
    output = Output(False)
    text = agentscript_reference(level)
    if tools_target:
        handler = load_tools(tools_target)
        if not isinstance(handler, Toolset):
            raise CliError(f"--tools {tools_target}: a Toolset is needed to describe tools")
        text = handler.prompt(level)
    if output.rich:
        output.out.print(Markdown(text))
    else:
        click.echo(text, nl=not text.endswith("\n"))


@cli.command()
@click.option(
    "--tools", "tools_target", required=True, metavar="MODULE:OBJ", help="The Toolset or tool handler runs may call."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="A file holding the bearer token every /v1 request must send (none: no authentication).",
)
@click.option(
    "--security-level",
    "--level",
    "level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="STANDARD",
    show_default=True,
    help="Security level.",
)
@click.option(
    "--adapter", type=click.Choice(ADAPTERS), default="inprocess", show_default=True, help="Where the engines run."
)
@click.option(
    "--max-concurrency", type=click.IntRange(min=1), default=8, show_default=True, help="Runs in flight at most."
)
@click.option("--timeout", type=click.IntRange(min=1), metavar="MS", help="Run timeout (requests may only lower it).")
@click.option(
    "--max-tool-calls", type=click.IntRange(min=0), metavar="N", help="Tool calls per run (requests may only lower it)."
)
@click.option(
    "--shutdown-grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM/SIGINT, how long runs in flight may go on.",
)
def serve(
    tools_target: str,
    host: str,
    port: int,
    token_file: str | None,
    level: str,
    adapter: str,
    max_concurrency: int,
    timeout: int | None,
    max_tool_calls: int | None,
    shutdown_grace: float,
) -> None:
    """Serve an Enclave over HTTP: POST /v1/runs, /v1/runs/resume, /v1/validate; GET /healthz, /metrics.

    Runs stream back as NDJSON. On SIGTERM or SIGINT the service takes no new runs (503), lets the runs
    in flight finish within --shutdown-grace, then exits.
    """
    try:
        from .server import create_app
        from .server.access_log import JsonLineFormatter
        from .server.serve import ServiceServer, listen
    except ImportError as exc:
        raise ServerUnavailable(str(exc)) from None
    token = _read_token(token_file) if token_file else None
    handler = load_tools(tools_target)
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        engine_adapter = make_adapter(adapter, pool_size=min(max_concurrency, os.cpu_count() or 1))
        enclave = Enclave(
            security_level=level,
            tool_handler=handler,
            timeout=timeout,
            max_tool_calls=max_tool_calls,
            adapter=engine_adapter,
        )
        try:
            app = create_app(enclave, token=token, max_concurrency=max_concurrency)
            _log_requests_as_json(JsonLineFormatter())
            bound_host, bound_port = sock.getsockname()[:2]
            shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
            click.echo(f"enclave-vm: serving on http://{shown_host}:{bound_port}", err=True)
            ServiceServer(app, shutdown_grace=shutdown_grace).run(sockets=[sock])
        finally:
            enclave.dispose()
    finally:
        sock.close()


def _read_token(path: str) -> str:
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"--token-file {path}: cannot read it: {reason}") from None
    if not token:
        raise CliError(f"--token-file {path}: the file is empty")
    if any(char.isspace() for char in token):
        raise CliError(f"--token-file {path}: the token must be one word (no spaces or line breaks)")
    return token


def _log_requests_as_json(formatter: logging.Formatter) -> None:
    """One JSON line per request on stderr (the service's access log)."""
    server_logger = logging.getLogger("enclave_vm.server")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    server_logger.addHandler(handler)
    server_logger.setLevel(logging.INFO)
    server_logger.propagate = False


# ---- entry point ----
def _fail(message: str, exit_code: int) -> NoReturn:
    click.echo(f"enclave-vm: error: {message}", err=True)
    sys.exit(exit_code)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The `enclave-vm` console script."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="enclave-vm", standalone_mode=False)
    except CliError as exc:
        _fail(exc.format_message(), exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        _fail(exc.format_message() + hint, EXIT_USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        _fail("interrupted", EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
