"""Build of the engine extension: QuickJS-NG from the pinned sdist (fetched and verified at build time,
see build_support/) compiled into a cached static library, linked with our binding `_engine.c`."""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "build_support"))

import quickjs_build  # noqa: E402
import quickjs_source  # noqa: E402


class BuildEngine(build_ext):
    def build_extension(self, ext: Extension) -> None:
        cache = quickjs_build.cache_dir(HERE)
        source = quickjs_source.locate(cache)
        library = quickjs_build.static_library(source, cache)
        ext.include_dirs = [str(source), *ext.include_dirs]
        ext.extra_objects = [str(library), *ext.extra_objects]
        ext.depends = [*ext.depends, str(library)]
        super().build_extension(ext)


setup(
    ext_modules=[
        Extension(
            "enclave_vm.engine._engine",
            sources=["src/enclave_vm/engine/_engine.c"],
            libraries=["m"],
            extra_compile_args=["-std=gnu11", "-Wno-missing-field-initializers"],
        )
    ],
    cmdclass={"build_ext": BuildEngine},
)
