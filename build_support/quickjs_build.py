"""QuickJS-NG compiled once into a static library in the build cache, shared by every build of the
extension that uses the same cache (the editable install and the wheel check in CI, for instance).

The library depends only on the sources, the compiler and the flags, never on the Python version, so
it is keyed by those and reused as it is.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from quickjs_source import SOURCES, TREE_SHA256

CACHE_ENV = "ENCLAVE_VM_BUILD_CACHE"
OPT_ENV = "ENCLAVE_VM_QUICKJS_OPT"
#: Chosen by `bench/engine.py --flags`: -O2 ran the 100 000-iteration loop as fast as -O3 (within noise)
#: with a smaller library; see docs/performance.md.
OPTIMIZATION = "-O2"
#: -fwrapv: QuickJS relies on wrapping signed overflow; hidden visibility keeps its symbols private to
#: the extension, so another QuickJS in the same process cannot interpose.
BASE_FLAGS = ("-fPIC", "-fwrapv", "-fvisibility=hidden", "-DNDEBUG", "-D_GNU_SOURCE", "-std=gnu11", "-w")


def cache_dir(project: Path) -> Path:
    """$ENCLAVE_VM_BUILD_CACHE, else build/quickjs-cache under the project."""
    given = os.environ.get(CACHE_ENV)
    return Path(given).expanduser().resolve() if given else project / "build" / "quickjs-cache"


def compiler() -> list[str]:
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def flags() -> list[str]:
    return [os.environ.get(OPT_ENV) or OPTIMIZATION, *BASE_FLAGS]


def _key(cc: list[str], cflags: list[str]) -> str:
    version = subprocess.run([*cc, "--version"], capture_output=True, text=True, check=False).stdout
    text = "\n".join([TREE_SHA256, shlex.join(cc), version, shlex.join(cflags)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def static_library(source: Path, cache: Path) -> Path:
    """libquickjs.a for `source` (built now unless the cache has it)."""
    cc, cflags = compiler(), flags()
    target = cache / f"libquickjs-{_key(cc, cflags)}"
    library = target / "libquickjs.a"
    if library.is_file():
        return library
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache))
    try:
        objects = [staging / (Path(name).stem + ".o") for name in SOURCES]

        def build(name: str, obj: Path) -> None:
            command = [*cc, *cflags, "-c", str(source / name), "-o", str(obj)]
            print(" ".join(command), flush=True)
            subprocess.run(command, check=True)

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for done in [pool.submit(build, n, o) for n, o in zip(SOURCES, objects, strict=True)]:
                done.result()
        archiver = shlex.split(os.environ.get("AR") or sysconfig.get_config_var("AR") or "ar")
        subprocess.run([*archiver, "rcs", str(staging / "libquickjs.a"), *map(str, objects)], check=True)
        for obj in objects:
            obj.unlink()
        try:
            os.replace(staging, target)
        except OSError:  # built meanwhile by a concurrent build: keep that one
            if not library.is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return library
