"""Build the wheel, install it into a clean venv outside the repository and run a script with it.

The wheel is built in the repository (python -m build --wheel), so it reuses the QuickJS-NG library the
editable install compiled into the build cache: only the binding itself is compiled again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, enclave_vm, enclave_vm.engine._engine as engine
from enclave_vm import Enclave
with Enclave(tool_handler=lambda name, args, context=None: {"rows": [1, 2, 3]}) as enclave:
    result = enclave.run_sync("const r = await callTool('t:list', {}); return r.rows.reduce((a, b) => a + b, 0);")
    verdict = enclave.validate_sync("let a = 1; let a = 2;")
print(json.dumps({"value": result.value, "refused": not verdict.valid, "package": enclave_vm.__file__,
                  "engine": engine.__file__, "quickjs": engine.version()}))
"""


def run(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="enclave-wheel-") as tmp_text:
        tmp = Path(tmp_text)
        run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(ROOT)])
        (wheel,) = (tmp / "dist").glob("enclave_vm-*.whl")
        venv.create(tmp / "venv", with_pip=True, clear=True)
        python = tmp / "venv" / "bin" / "python"
        run([str(python), "-m", "pip", "install", "-q", str(wheel)])
        report = json.loads(run([str(python), "-I", "-c", SCRIPT], cwd=tmp).strip().splitlines()[-1])
    inside = all(Path(report[key]).is_relative_to(tmp) for key in ("package", "engine"))
    ok = report["value"] == 6 and report["refused"] and inside
    print(f"wheel check: {wheel.name}, QuickJS-NG {report['quickjs']}, installed outside the repository: {inside}")
    print(f"wheel check: {int(ok)} passed, {int(not ok)} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
