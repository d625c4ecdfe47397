"""The tools layer sits above the facade: nothing below it imports `enclave_vm.tools` when it loads."""

from __future__ import annotations

import ast
from pathlib import Path

import enclave_vm

PACKAGE = Path(enclave_vm.__file__).resolve().parent
#: Modules allowed to import the tools layer at load time: the package's re-exports and the CLI on top.
ABOVE_TOOLS = {"__init__.py", "cli.py"}


def _module_level_imports(tree: ast.Module) -> list[tuple[int, str, int]]:
    """(line, module, level) of every import that runs when the module loads (not under
    `if TYPE_CHECKING:`, not inside a function)."""
    found: list[tuple[int, str, int]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                found.append((node.lineno, node.module or "", node.level))
            elif isinstance(node, ast.Import):
                found.extend((node.lineno, alias.name, 0) for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return found


def _resolve(relative: Path, module: str, level: int) -> str:
    """The absolute name of `from <dots><module> import ...` written in the module at `relative`."""
    if level == 0:
        return module
    package = ["enclave_vm", *relative.parts[:-1]]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def test_no_module_below_the_tools_layer_imports_it() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "tools" or str(relative) in ABOVE_TOOLS:
            continue
        for line, module, level in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            name = _resolve(relative, module, level)
            if name == "enclave_vm.tools" or name.startswith("enclave_vm.tools."):
                offenders.append(f"{relative}:{line} imports {name}")
    assert offenders == []


def test_the_resolver_sees_a_relative_import_of_the_tools_layer() -> None:
    tree = ast.parse("from ..tools.toolset import Toolset\nif TYPE_CHECKING:\n    from ..tools import Tool\n")
    [(_line, module, level)] = _module_level_imports(tree)
    assert _resolve(Path("bridge/dispatch.py"), module, level) == "enclave_vm.tools.toolset"
    assert _resolve(Path("enclave.py"), "tools", 1) == "enclave_vm.tools"
