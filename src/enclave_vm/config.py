"""Options, security levels and every level default, in one place."""

from __future__ import annotations

import difflib
import enum
import functools
import inspect
import math
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Literal, ParamSpec, TypeVar

from .results import ScoringResult


class SecurityLevel(enum.StrEnum):
    STRICT = "STRICT"
    SECURE = "SECURE"
    STANDARD = "STANDARD"
    PERMISSIVE = "PERMISSIVE"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class LevelDefaults:
    timeout: int
    """Wall-clock milliseconds for a whole run."""
    max_tool_calls: int
    max_iterations: int
    console_bytes: int
    console_calls: int
    max_value_bytes: int
    """Cap on the JSON size of any one value crossing the boundary (tool args/results, return value)."""
    max_value_depth: int
    """Cap on the nesting depth of any value crossing the boundary."""


LEVEL_DEFAULTS: dict[SecurityLevel, LevelDefaults] = {
    SecurityLevel.STRICT: LevelDefaults(5000, 10, 1000, 65536, 100, 1 << 20, 32),
    SecurityLevel.SECURE: LevelDefaults(15000, 50, 5000, 262144, 500, 4 << 20, 64),
    SecurityLevel.STANDARD: LevelDefaults(30000, 100, 10000, 1048576, 1000, 16 << 20, 64),
    SecurityLevel.PERMISSIVE: LevelDefaults(60000, 1000, 100000, 10485760, 10000, 32 << 20, 128),
}

DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
MIN_MEMORY_LIMIT = 1024 * 1024
"""Below this the engine cannot even hold its own prelude."""

ScoringCallback = Callable[[ScoringResult], None]
CustomScorer = Callable[[str], "Awaitable[ScoringResult] | ScoringResult"]


def parse_level(value: object, option: str = "security_level") -> SecurityLevel:
    if isinstance(value, SecurityLevel):
        return value
    if isinstance(value, str):
        try:
            return SecurityLevel(value.upper())
        except ValueError:
            pass
        raise ValueError(f"{option} must be one of {', '.join(level.value for level in SecurityLevel)}; got {value!r}")
    raise TypeError(f"{option} must be a SecurityLevel or its name; got {type(value).__name__}")


def check_int(option: str, value: object, *, minimum: int = 0) -> int:
    """An int option (bool refused), at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option} must be an int; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{option} must be >= {minimum}; got {value}")
    return value


def check_optional_int(option: str, value: object, *, minimum: int = 0) -> int | None:
    return None if value is None else check_int(option, value, minimum=minimum)


def check_json_data(option: str, value: object, *, max_depth: int = 64) -> None:
    """Raise if `value` is not plain JSON data (dict with str keys, list, str, int, finite float, bool, None)."""

    def walk(item: object, path: str, depth: int, seen: set[int]) -> None:
        if depth > max_depth:
            raise ValueError(f"{option}: {path} is nested deeper than {max_depth} levels")
        if item is None or isinstance(item, (bool, str, int)):
            return
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{option}: {path} is {item!r}, which is not JSON data")
            return
        if isinstance(item, (Mapping, list, tuple)):
            if id(item) in seen:
                raise ValueError(f"{option}: {path} contains a reference cycle")
            seen.add(id(item))
            if isinstance(item, Mapping):
                for key, sub in item.items():
                    if not isinstance(key, str):
                        raise TypeError(f"{option}: {path} has a non-string key {key!r}")
                    walk(sub, f"{path}.{key}", depth + 1, seen)
            else:
                for index, sub in enumerate(item):
                    walk(sub, f"{path}[{index}]", depth + 1, seen)
            seen.discard(id(item))
            return
        if callable(item):
            raise TypeError(f"{option}: {path} is a function; only JSON data is allowed")
        raise TypeError(f"{option}: {path} is a {type(item).__name__}; only JSON data is allowed")

    walk(value, option, 0, set())


_Opt = TypeVar("_Opt")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def unknown_options_message(owner: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """`owner got an unknown option 'x'; did you mean 'y'?`, or the options when none is close."""
    options = sorted(known)
    names = list(unknown)
    suggestions = {name: difflib.get_close_matches(name, options, n=1, cutoff=0.6) for name in names}
    if len(names) == 1 and suggestions[names[0]]:
        return f"{owner} got an unknown option {names[0]!r}; did you mean {suggestions[names[0]][0]!r}?"
    described = ", ".join(f"{n!r} (did you mean {suggestions[n][0]!r}?)" if suggestions[n] else repr(n) for n in names)
    noun = "an unknown option" if len(names) == 1 else "unknown options"
    return f"{owner} got {noun} {described}; the options are: {', '.join(options)}"


def keyword_options(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Refuse unknown keyword arguments of `function` with a did-you-mean `TypeError` (Python's own
    error names the option but suggests nothing). The signature, for type checkers and IDEs, is kept."""
    parameters = inspect.signature(function).parameters.values()
    known = frozenset(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)
    owner = (
        function.__qualname__.rsplit(".", 1)[0] if function.__name__ == "__init__" else function.__qualname__
    ) + "()"

    @functools.wraps(function)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not known.issuperset(kwargs):
            raise TypeError(unknown_options_message(owner, [k for k in kwargs if k not in known], known))
        return function(*args, **kwargs)

    return checked


def coerce_options(cls: type[_Opt], value: object, option: str) -> _Opt:
    """Accept the options dataclass itself or a dict with the same snake_case keys."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(value) - names)
        if unknown:
            raise TypeError(f"{option}: unknown option(s) {', '.join(map(str, unknown))}")
        return cls(**value)
    raise TypeError(f"{option} must be a {cls.__name__} or a dict; got {type(value).__name__}")


@dataclass(frozen=True)
class ScoringGateOptions:
    scorer: Literal["rule-based", "custom"] = "rule-based"
    block_threshold: int = 70
    warn_threshold: int | None = None
    on_score: ScoringCallback | None = None
    custom_scorer: CustomScorer | None = None

    def __post_init__(self) -> None:
        if self.scorer not in ("rule-based", "custom"):
            raise ValueError(f"scoring_gate.scorer must be 'rule-based' or 'custom'; got {self.scorer!r}")
        check_int("scoring_gate.block_threshold", self.block_threshold)
        if self.block_threshold > 100:
            raise ValueError("scoring_gate.block_threshold must be <= 100")
        check_optional_int("scoring_gate.warn_threshold", self.warn_threshold)
        if self.warn_threshold is not None and self.warn_threshold > self.block_threshold:
            raise ValueError("scoring_gate.warn_threshold must be <= block_threshold")
        if self.on_score is not None and not callable(self.on_score):
            raise TypeError("scoring_gate.on_score must be callable")
        if self.scorer == "custom" and not callable(self.custom_scorer):
            raise ValueError("scoring_gate.custom_scorer must be given (a callable) when scorer='custom'")


@dataclass(frozen=True)
class SidecarLevelDefaults:
    """Per-run limits of the reference sidecar."""

    max_stored_bytes: int
    """Total JSON bytes one run may store host-side."""
    max_references: int
    """References one run may create."""


SIDECAR_LEVEL_DEFAULTS: dict[SecurityLevel, SidecarLevelDefaults] = {
    SecurityLevel.STRICT: SidecarLevelDefaults(64 << 20, 10),
    SecurityLevel.SECURE: SidecarLevelDefaults(128 << 20, 50),
    SecurityLevel.STANDARD: SidecarLevelDefaults(256 << 20, 100),
    SecurityLevel.PERMISSIVE: SidecarLevelDefaults(1 << 30, 1000),
}
DEFAULT_SIDECAR_THRESHOLD = 1 << 20
"""Bytes of JSON; results over this stay host-side (the reference's own example uses 1 MB)."""
DEFAULT_SIDECAR_TTL = 600_000
"""Milliseconds a stored result stays resolvable."""
DEFAULT_SIDECAR_REDIS_TIMEOUT = 5000
"""Milliseconds any one Redis call may take before it fails."""
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class SidecarOptions:
    """The reference sidecar: tool results over `threshold` bytes stay host-side; the script gets a reference."""

    enabled: bool = False
    threshold: int | None = None
    """Bytes of a result's JSON (UTF-8); None = DEFAULT_SIDECAR_THRESHOLD (1 MiB)."""
    storage: Literal["memory", "redis"] = "memory"
    ttl: int | None = None
    """Milliseconds a stored result stays resolvable; None = DEFAULT_SIDECAR_TTL (10 minutes)."""
    redis_url: str | None = None
    namespace: str | None = None
    """References resolve only inside their namespace; None = a random namespace per Enclave."""
    resolve_value: bool = True
    """Replace references in `ExecutionResult.value` by their stored values (False keeps the references)."""
    max_stored_bytes: int | None = None
    """Per run; None = the level default."""
    max_references: int | None = None
    """Per run; None = the level default."""
    redis_timeout: int | None = None
    """Milliseconds per Redis call; None = DEFAULT_SIDECAR_REDIS_TIMEOUT."""

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise TypeError(f"sidecar.enabled must be a bool; got {type(self.enabled).__name__}")
        check_optional_int("sidecar.threshold", self.threshold)
        check_optional_int("sidecar.ttl", self.ttl, minimum=1)
        if self.storage not in ("memory", "redis"):
            raise ValueError(f"sidecar.storage must be 'memory' or 'redis'; got {self.storage!r}")
        if self.redis_url is not None:
            if not isinstance(self.redis_url, str):
                raise TypeError(f"sidecar.redis_url must be a str; got {type(self.redis_url).__name__}")
            if not self.redis_url.startswith(_REDIS_SCHEMES):
                raise ValueError(f"sidecar.redis_url must start with {', '.join(_REDIS_SCHEMES)}")
            _check_redis_url(self.redis_url)
            if self.storage != "redis":
                raise ValueError("sidecar.redis_url is set but sidecar.storage is 'memory'; set storage='redis'")
        if self.storage == "redis" and self.enabled and not self.redis_url:
            raise ValueError("sidecar.redis_url is required when sidecar.storage='redis'")
        if self.namespace is not None:
            if not isinstance(self.namespace, str):
                raise TypeError(f"sidecar.namespace must be a str; got {type(self.namespace).__name__}")
            if not _NAMESPACE.match(self.namespace):
                raise ValueError("sidecar.namespace must be 1-128 characters of A-Z a-z 0-9 _ . : -")
        if not isinstance(self.resolve_value, bool):
            raise TypeError(f"sidecar.resolve_value must be a bool; got {type(self.resolve_value).__name__}")
        check_optional_int("sidecar.max_stored_bytes", self.max_stored_bytes, minimum=1)
        check_optional_int("sidecar.max_references", self.max_references, minimum=1)
        check_optional_int("sidecar.redis_timeout", self.redis_timeout, minimum=1)


@dataclass(frozen=True)
class WorkerPoolOptions:
    pool_size: int = 2
    max_worker_memory: int | None = None
    max_executions_per_worker: int | None = None
    idle_timeout: int | None = None

    def __post_init__(self) -> None:
        check_int("pool_size", self.pool_size, minimum=1)
        check_optional_int("max_worker_memory", self.max_worker_memory, minimum=MIN_MEMORY_LIMIT)
        check_optional_int("max_executions_per_worker", self.max_executions_per_worker, minimum=1)
        check_optional_int("idle_timeout", self.idle_timeout, minimum=1)


@dataclass(frozen=True)
class DoubleVmOptions:
    outer_timeout: int | None = None
    inner_timeout: int | None = None

    def __post_init__(self) -> None:
        check_optional_int("outer_timeout", self.outer_timeout, minimum=1)
        check_optional_int("inner_timeout", self.inner_timeout, minimum=1)


DEFAULT_DURABLE_TTL = 24 * 60 * 60 * 1000
"""Milliseconds a paused run's token stays resumable (24 h)."""
DEFAULT_MAX_JOURNAL_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_STATE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class DurableOptions:
    """Where paused runs keep their journals (`Suspend`, `Enclave.resume`)."""

    storage: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None
    ttl: int = DEFAULT_DURABLE_TTL
    """Milliseconds a token stays resumable."""
    namespace: str = "enclave-vm"
    """Redis keys are `{namespace}:journal:...`; any process with the same namespace (and tools) can resume."""
    secret: str | bytes | None = None
    """When set, every journal carries an HMAC checked before replay (a tampered journal is refused)."""
    max_journal_bytes: int = DEFAULT_MAX_JOURNAL_BYTES
    """A run whose journal (tool arguments and results) grows past this fails MEMORY_LIMIT_EXCEEDED."""

    def __post_init__(self) -> None:
        if self.storage not in ("memory", "redis"):
            raise ValueError(f"durable.storage must be 'memory' or 'redis'; got {self.storage!r}")
        if self.redis_url is not None:
            if not isinstance(self.redis_url, str):
                raise TypeError(f"durable.redis_url must be a str; got {type(self.redis_url).__name__}")
            if not self.redis_url.startswith(_REDIS_SCHEMES):
                raise ValueError(f"durable.redis_url must start with {', '.join(_REDIS_SCHEMES)}")
            _check_redis_url(self.redis_url, "durable.redis_url")
            if self.storage != "redis":
                raise ValueError("durable.redis_url is set but durable.storage is 'memory'; set storage='redis'")
        if self.storage == "redis" and not self.redis_url:
            raise ValueError("durable.redis_url is required when durable.storage='redis'")
        check_int("durable.ttl", self.ttl, minimum=1)
        if not isinstance(self.namespace, str) or not _NAMESPACE.match(self.namespace):
            raise ValueError("durable.namespace must be 1-128 characters of A-Z a-z 0-9 _ . : -")
        if self.secret is not None and (not isinstance(self.secret, str | bytes) or not self.secret):
            raise TypeError("durable.secret must be a non-empty str or bytes")
        check_int("durable.max_journal_bytes", self.max_journal_bytes, minimum=1024)

    @property
    def secret_bytes(self) -> bytes | None:
        if self.secret is None:
            return None
        return self.secret.encode("utf-8") if isinstance(self.secret, str) else self.secret


def _check_redis_url(url: str, option: str = "sidecar.redis_url") -> None:
    """Refuse a URL the client would reject only at the first run (a bad port, a bad database)."""
    parsed = urllib.parse.urlsplit(url)
    try:
        _ = parsed.port  # parsing the port is what checks it
    except ValueError:
        raise ValueError(f"{option} has an invalid port: {url!r}") from None
    if parsed.scheme == "unix":
        return  # the path is a socket file; the database comes as ?db=
    if not parsed.hostname:
        raise ValueError(f"{option} names no host: {url!r}")
    database = parsed.path.lstrip("/")
    if database and not database.isdigit():
        raise ValueError(f"{option} database must be a number; got {database!r}")
