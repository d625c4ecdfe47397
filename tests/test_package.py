"""What the distribution says about itself: version, license, typing marker."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import enclave_vm

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_distributions() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert enclave_vm.__version__ == importlib.metadata.version("enclave-vm") == declared


def test_the_apache_license_is_shipped_and_declared() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and text.count("\n") > 190  # the full text, not a stub
    metadata = importlib.metadata.metadata("enclave-vm")
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in (metadata.get_all("License-File") or [])


def test_the_package_is_typed() -> None:
    assert (Path(enclave_vm.__file__).parent / "py.typed").is_file()
