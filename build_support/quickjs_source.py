"""The QuickJS-NG sources the engine is built from, fetched and checked at build time.

Nothing of QuickJS is committed. The sources come from the pinned `quickjs-ng` sdist on the package
index (its `upstream-quickjs/` folder), checked against the sha256 recorded here, and are kept in a
build cache so repeated builds do not fetch again. For offline builds, `ENCLAVE_VM_QUICKJS_SRC` names the
sdist tarball or an unpacked `upstream-quickjs` folder (checked against the recorded digest of its files).
"""

from __future__ import annotations

import configparser
import hashlib
import html.parser
import io
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

PROJECT = "quickjs-ng"
VERSION = "0.17.0.2"
SDIST = f"quickjs_ng-{VERSION}.tar.gz"
SDIST_SHA256 = "43d2e48272208721a7aaea8e3f02d4b9318f12ef20cc4f5421b59d9a470706ef"
#: Digest of the upstream-quickjs files themselves (see `tree_digest`), for a folder given directly.
TREE_SHA256 = "cd2aab95bf408fe4cfbeb45497b97126c24d9163ee8b5d337ec0c52e8640ac09"
#: The files the engine compiles.
SOURCES = ("quickjs.c", "libregexp.c", "libunicode.c", "dtoa.c")
SOURCE_ENV = "ENCLAVE_VM_QUICKJS_SRC"
DEFAULT_INDEX = "https://pypi.org/simple"
_FOLDER = "upstream-quickjs"


class SourceError(RuntimeError):
    """The QuickJS-NG sources could not be found, fetched or verified."""


def tree_digest(folder: Path) -> str:
    """sha256 over the sorted (name, sha256 of content) pairs of the folder's files."""
    outer = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        outer.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return outer.hexdigest()


def locate(cache: Path) -> Path:
    """The verified `upstream-quickjs` folder: from $ENCLAVE_VM_QUICKJS_SRC, else the cache, else the
    package index (the download is kept in the cache)."""
    given = os.environ.get(SOURCE_ENV)
    if given:
        return _from_given(Path(given).expanduser(), cache)
    unpacked = cache / f"quickjs_ng-{VERSION}" / _FOLDER
    if unpacked.is_dir() and tree_digest(unpacked) == TREE_SHA256:
        return unpacked
    tarball = cache / SDIST
    if not (tarball.is_file() and _sha256(tarball.read_bytes()) == SDIST_SHA256):
        _store(tarball, _fetch())
    return _unpack(tarball.read_bytes(), cache)


def _from_given(path: Path, cache: Path) -> Path:
    if path.is_file():
        data = path.read_bytes()
        if _sha256(data) != SDIST_SHA256:
            raise SourceError(f"{path}: sha256 does not match the pinned {SDIST}")
        return _unpack(data, cache)
    for folder in (path, path / _FOLDER, path / f"quickjs_ng-{VERSION}" / _FOLDER):
        if (folder / "quickjs.c").is_file():
            if tree_digest(folder) != TREE_SHA256:
                raise SourceError(f"{folder}: the files differ from those of the pinned {SDIST}")
            return folder
    raise SourceError(f"{SOURCE_ENV}={path}: neither the sdist tarball nor a folder with quickjs.c")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _store(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def _unpack(data: bytes, cache: Path) -> Path:
    """Extract only the sdist's upstream-quickjs files into the cache (atomically) and verify them."""
    prefix = f"quickjs_ng-{VERSION}/{_FOLDER}/"
    target = cache / f"quickjs_ng-{VERSION}" / _FOLDER
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                name = member.name
                if not (member.isfile() and name.startswith(prefix)) or "/" in name[len(prefix) :]:
                    continue
                source = archive.extractfile(member)
                if source is not None:
                    (staging / name[len(prefix) :]).write_bytes(source.read())
        if tree_digest(staging) != TREE_SHA256:
            raise SourceError(f"{SDIST}: its {_FOLDER} files do not match the recorded digest")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# ---- the package index ----


def index_urls() -> list[str]:
    """The simple indexes pip is configured with (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, pip.conf's
    index-url / extra-index-url), the configured or default index first."""
    config = configparser.ConfigParser()
    files = ["/etc/pip.conf", "/etc/xdg/pip/pip.conf", "~/.pip/pip.conf", "~/.config/pip/pip.conf"]
    if os.environ.get("VIRTUAL_ENV"):
        files.append(os.path.join(os.environ["VIRTUAL_ENV"], "pip.conf"))
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(os.environ["PIP_CONFIG_FILE"])
    config.read([os.path.expanduser(f) for f in files])

    def setting(key: str) -> str:
        env = os.environ.get("PIP_" + key.upper().replace("-", "_"))
        if env is not None:
            return env
        for section in ("install", "global"):
            if config.has_option(section, key):
                return config.get(section, key)
        return ""

    first = setting("index-url").split() or [DEFAULT_INDEX]
    return first[:1] + setting("extra-index-url").split()


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for key, value in attrs if key == "href" and value)


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "text/html", "User-Agent": "enclave-vm-build"})
    with urllib.request.urlopen(request, timeout=120) as response:
        data: bytes = response.read()
        return data


def _fetch() -> bytes:
    """The pinned sdist from the first configured index that lists it, verified."""
    problems = []
    for index in index_urls():
        page_url = index.rstrip("/") + f"/{PROJECT}/"
        try:
            links = _Links()
            links.feed(_get(page_url).decode("utf-8", "replace"))
        except (OSError, ValueError) as exc:
            problems.append(f"{page_url}: {exc}")
            continue
        for href in links.hrefs:
            url = urllib.parse.urljoin(page_url, href)
            parts = urllib.parse.urlsplit(url)
            if parts.path.rsplit("/", 1)[-1] != SDIST:
                continue
            try:
                data = _get(urllib.parse.urlunsplit(parts._replace(fragment="")))
            except (OSError, ValueError) as exc:
                problems.append(f"{url}: {exc}")
                continue
            if _sha256(data) == SDIST_SHA256:
                return data
            problems.append(f"{url}: sha256 mismatch")
        problems.append(f"{page_url}: no {SDIST}")
    raise SourceError(
        f"could not fetch {SDIST} ({'; '.join(problems)}); set {SOURCE_ENV} to the sdist or its {_FOLDER} folder"
    )
