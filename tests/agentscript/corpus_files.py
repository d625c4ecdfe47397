"""The corpus: realistic model-style scripts, each with its expected value (or error code) in a header.

Header lines (comments at the top of the file):
- `// expect: <JSON>` the value `return` must give (written by `corpus_files.py --write` after review);
- `// expect-error: CODE` the run must fail with this code;
- `// level: NAME` the security level (default STANDARD);
- `// tools: namespaced` the script calls `tools.*` (the test counts these).
`.ts` files run with `language="typescript"`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"
_HEADER = re.compile(r"^// (expect|expect-error|level|tools): (.*)$")
_MISSING: Any = object()


@dataclass(frozen=True)
class Script:
    path: Path
    code: str
    level: str
    expect: Any
    expect_error: str | None
    namespaced: bool

    @property
    def language(self) -> str:
        return "typescript" if self.path.suffix == ".ts" else "javascript"


def load(path: Path) -> Script:
    code = path.read_text(encoding="utf-8")
    fields: dict[str, str] = {}
    for line in code.splitlines():
        match = _HEADER.match(line)
        if match is None:
            break
        fields[match.group(1)] = match.group(2)
    expect = json.loads(fields["expect"]) if "expect" in fields else _MISSING
    return Script(
        path=path,
        code=code,
        level=fields.get("level", "STANDARD"),
        expect=expect,
        expect_error=fields.get("expect-error"),
        namespaced=fields.get("tools") == "namespaced",
    )


def scripts() -> list[Script]:
    return [load(path) for path in sorted(CORPUS.iterdir()) if path.suffix in (".js", ".ts")]


def has_expectation(script: Script) -> bool:
    return script.expect is not _MISSING or script.expect_error is not None
