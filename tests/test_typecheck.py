"""The package is typed for its users: `examples/` and every ```python block of the docs pass
`mypy --strict` and pyright (strict mode) against the installed package, and a misspelt option or a
wrong option type is an error for both.

pyright is the npm package, pinned in the Makefile and installed by `make test` / `.ci/run` into
`.venv/pyright` beforehand, so nothing is downloaded here. Outside CI the test skips when it is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "docs"))
from doc_blocks import python_blocks  # noqa: E402

MISUSE = """from enclave_vm import Enclave

Enclave(securty_level="STRICT")
Enclave(timeout="5s")
"""
#: (line, what) of the errors both checkers must find in MISUSE.
MISUSE_ERRORS = {3, 4}


def _pyright() -> str | None:
    local = Path(sys.prefix) / "pyright" / "node_modules" / ".bin" / "pyright"
    return str(local) if local.is_file() else shutil.which("pyright")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/*.py, each docs block as its own module, and the misuse file, in one folder."""
    folder = tmp_path_factory.mktemp("typed-sources")
    for example in sorted((ROOT / "examples").glob("*.py")):
        shutil.copy(example, folder / example.name)
    for block in python_blocks():
        name = block.path.removesuffix(".md").replace("/", "_").replace("-", "_").replace(".", "_")
        (folder / f"doc_{name}_{block.line}.py").write_text(block.code, encoding="utf-8")
    (folder / "misuse.py").write_text(MISUSE, encoding="utf-8")
    return folder


def _by_file(errors: list[tuple[str, int, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for file, line, message in errors:
        found.setdefault(file, []).append(f"{line}: {message}")
    return found


def test_mypy_strict(sources: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.11", "--no-error-summary",
         "--cache-dir", str(sources / ".mypy_cache"), "--show-error-codes", "."],
        cwd=sources, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    errors = []
    for line in done.stdout.splitlines():
        file, _, rest = line.partition(":")
        number, _, message = rest.partition(":")
        if message.strip().startswith("error:"):
            errors.append((file, int(number), message.strip()))
    by_file = _by_file(errors)
    misuse = by_file.pop("misuse.py", [])
    assert by_file == {}, done.stdout + done.stderr
    assert {int(entry.split(":")[0]) for entry in misuse} == MISUSE_ERRORS, misuse
    assert any('did you mean "security_level"' in entry for entry in misuse)


def test_pyright_strict(sources: Path) -> None:
    pyright = _pyright()
    if pyright is None:
        if os.environ.get("CI"):
            pytest.fail("pyright is not installed; `make test` installs the pinned version into .venv/pyright")
        pytest.skip("pyright is not installed (`make test` installs the pinned version into .venv/pyright)")
    config = sources / "pyrightconfig.json"
    config.write_text(json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.11"}), encoding="utf-8")
    done = subprocess.run(
        [pyright, "--outputjson", "-p", str(config), "--pythonpath", sys.executable],
        cwd=sources, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    errors = [
        (Path(d["file"]).name, d["range"]["start"]["line"] + 1, d["message"].splitlines()[0])
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    by_file = _by_file(errors)
    misuse = by_file.pop("misuse.py", [])
    assert by_file == {}, json.dumps(by_file, indent=1)
    assert {int(entry.split(":")[0]) for entry in misuse} == MISUSE_ERRORS, misuse
    assert report["summary"]["filesAnalyzed"] >= len(list(sources.glob("*.py")))
