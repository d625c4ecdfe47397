"""JSON Schema and argument checking for Python type hints.

`spec_for(annotation)` turns one type hint into a `TypeSpec`: the JSON Schema an LLM reads, and a
converter that checks a JSON value from a script against that type (and builds the Python value the
function expects: an enum member, a dataclass, a pydantic model). Checking and schema come from the
same walk over the type, so what the prompt promises is exactly what is enforced.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

Converter = Callable[[Any, str], Any]
"""`convert(value, path)`: the Python value for JSON `value`, or `ArgumentError` naming `path`."""


class ArgumentError(Exception):
    """A JSON value does not match its type; `path` names the field (`limit`, `filter.status`, `ids[2]`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class TypeSpec:
    schema: dict[str, Any]
    convert: Converter
    defs: dict[str, Any] = field(default_factory=dict)
    """Shared definitions (`$defs`) the schema refers to, e.g. from pydantic models."""


def preview(value: Any, limit: int = 40) -> str:
    """A short JSON rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _wrong(path: str, expected: str, value: Any) -> ArgumentError:
    # Only the kind of the value: it may hold data the script cannot read (a resolved sidecar reference).
    return ArgumentError(path, f"expected {expected}, got {_json_kind(value)}")


def _identity(value: Any, path: str) -> Any:
    return value


def _scalar(kind: str, check: Callable[[Any], bool], cast: Callable[[Any], Any] = lambda v: v) -> TypeSpec:
    article = "an" if kind[0] in "aeiou" else "a"

    def convert(value: Any, path: str) -> Any:
        if not check(value):
            raise _wrong(path, f"{article} {kind}", value)
        return cast(value)

    return TypeSpec({"type": kind}, convert)


_SCALARS: dict[Any, TypeSpec] = {
    str: _scalar("string", lambda v: isinstance(v, str)),
    bool: _scalar("boolean", lambda v: isinstance(v, bool)),
    int: _scalar("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: _scalar(
        "number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), float
    ),
    type(None): _scalar("null", lambda v: v is None),
}


def _pydantic_base() -> type | None:
    """pydantic's BaseModel if pydantic is already imported; a model annotation implies it is."""
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None)
    return base if isinstance(base, type) else None


def strip_titles(schema: Any) -> Any:
    """A schema without pydantic's generated `title` keys (property names called `title` are kept)."""
    if isinstance(schema, list):
        return [strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            out[key] = {name: strip_titles(sub) for name, sub in value.items()}
        else:
            out[key] = strip_titles(value)
    return out


def _pydantic_spec(model: type) -> TypeSpec:
    from pydantic import ValidationError

    schema = strip_titles(model.model_json_schema(ref_template="#/$defs/{model}"))  # type: ignore[attr-defined]
    defs = schema.pop("$defs", {})

    def convert(value: Any, path: str) -> Any:
        try:
            return model.model_validate(value)  # type: ignore[attr-defined]
        except ValidationError as exc:
            first = exc.errors()[0]
            where = path
            for part in first.get("loc", ()):
                where = f"{where}[{part}]" if isinstance(part, int) else f"{where}.{part}"
            message = str(first.get("msg") or "invalid value")
            raise ArgumentError(where, message[:1].lower() + message[1:]) from None

    return TypeSpec(schema, convert, defs)


def _enum_spec(cls: type[enum.Enum]) -> TypeSpec:
    values = [member.value for member in cls]
    allowed = ", ".join(preview(v) for v in values)

    def convert(value: Any, path: str) -> Any:
        for member in cls:
            if member.value == value and type(member.value) is type(value):
                return member
        raise ArgumentError(path, f"expected one of {allowed}, got another {_json_kind(value)}")

    return TypeSpec({"enum": values}, convert)


def _literal_spec(values: tuple[Any, ...]) -> TypeSpec:
    allowed = ", ".join(preview(v) for v in values)

    def convert(value: Any, path: str) -> Any:
        if any(value == v and type(value) is type(v) for v in values):
            return value
        raise ArgumentError(path, f"expected one of {allowed}, got another {_json_kind(value)}")

    if len(values) == 1:
        return TypeSpec({"const": values[0]}, convert)
    return TypeSpec({"enum": list(values)}, convert)


def _union_spec(members: tuple[Any, ...], where: str) -> TypeSpec:
    specs = [spec_for(member, where) for member in members]
    optional = type(None) in members
    plain = [s for s, m in zip(specs, members, strict=True) if m is not type(None)]
    if optional and len(plain) == 1 and set(plain[0].schema) == {"type"}:
        schema: dict[str, Any] = {"type": [plain[0].schema["type"], "null"]}
    else:
        schema = {"anyOf": [s.schema for s in specs]}

    def convert(value: Any, path: str) -> Any:
        failures: list[ArgumentError] = []
        for spec in specs:
            try:
                return spec.convert(value, path)
            except ArgumentError as exc:
                failures.append(exc)
        if len(plain) == 1:  # `X | None`: X's own message says most
            failure = failures[specs.index(plain[0])]
            raise ArgumentError(failure.path, f"{failure.message} (or null)" if optional else failure.message)
        raise ArgumentError(path, f"no type of {describe(schema)} accepts this {_json_kind(value)}")

    return TypeSpec(schema, convert, _merged_defs(specs))


def _merged_defs(specs: Sequence[TypeSpec]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for spec in specs:
        defs.update(spec.defs)
    return defs


def _array_spec(item: TypeSpec, as_tuple: bool = False) -> TypeSpec:
    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _wrong(path, "an array", value)
        items = [item.convert(element, f"{path}[{index}]") for index, element in enumerate(value)]
        return tuple(items) if as_tuple else items

    schema: dict[str, Any] = {"type": "array"}
    if item.schema:
        schema["items"] = item.schema
    return TypeSpec(schema, convert, item.defs)


def _fixed_tuple_spec(items: list[TypeSpec]) -> TypeSpec:
    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, list) or len(value) != len(items):
            raise _wrong(path, f"an array of {len(items)} items", value)
        return tuple(
            spec.convert(element, f"{path}[{i}]") for i, (spec, element) in enumerate(zip(items, value, strict=True))
        )

    schema = {"type": "array", "prefixItems": [s.schema for s in items], "minItems": len(items), "maxItems": len(items)}
    return TypeSpec(schema, convert, _merged_defs(items))


def _mapping_spec(value_spec: TypeSpec) -> TypeSpec:
    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _wrong(path, "an object", value)
        return {key: value_spec.convert(sub, f"{path}.{key}") for key, sub in value.items()}

    schema: dict[str, Any] = {"type": "object"}
    if value_spec.schema:
        schema["additionalProperties"] = value_spec.schema
    return TypeSpec(schema, convert, value_spec.defs)


def object_spec(
    fields_: Mapping[str, TypeSpec],
    required: set[str],
    build: Callable[[dict[str, Any]], Any] = dict,
    descriptions: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> TypeSpec:
    """A closed JSON object with named fields: unknown keys and missing required keys are errors."""
    descriptions = descriptions or {}
    defaults = defaults or {}
    properties: dict[str, Any] = {}
    for name, spec in fields_.items():
        prop = dict(spec.schema)
        if name in descriptions:
            prop["description"] = descriptions[name]
        if name in defaults:
            prop["default"] = defaults[name]
        properties[name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = [name for name in fields_ if name in required]
    schema["additionalProperties"] = False

    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _wrong(path or "arguments", "an object", value)
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in fields_:
                expected = ", ".join(fields_) or "none"
                raise ArgumentError(f"{prefix}{key}", f"unexpected argument (expected: {expected})")
        for name in fields_:
            if name in required and name not in value:
                raise ArgumentError(f"{prefix}{name}", "required argument is missing")
        return build({key: fields_[key].convert(sub, f"{prefix}{key}") for key, sub in value.items()})

    return TypeSpec(schema, convert, _merged_defs(list(fields_.values())))


def _typeddict_spec(cls: type) -> TypeSpec:
    hints = get_type_hints(cls, include_extras=True)
    fields_ = {name: spec_for(hint, f"{cls.__name__}.{name}") for name, hint in hints.items()}
    return object_spec(fields_, set(getattr(cls, "__required_keys__", hints)))


def _dataclass_spec(cls: type) -> TypeSpec:
    hints = get_type_hints(cls, include_extras=True)
    fields_: dict[str, TypeSpec] = {}
    required: set[str] = set()
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        fields_[f.name] = spec_for(hints[f.name], f"{cls.__name__}.{f.name}")
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.add(f.name)
        elif f.default is not dataclasses.MISSING and is_json_data(f.default):
            defaults[f.name] = f.default
    return object_spec(fields_, required, lambda values: cls(**values), defaults=defaults)


def spec_for(annotation: Any, where: str) -> TypeSpec:
    """The schema and converter for one type hint; `TypeError` naming `where` if it has no JSON form."""
    if annotation is Any or annotation is object:
        return TypeSpec({}, _identity)
    if annotation is None:
        annotation = type(None)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is typing.Annotated:
        inner = spec_for(args[0], where)
        notes = [meta for meta in args[1:] if isinstance(meta, str)]
        if notes:
            return TypeSpec({**inner.schema, "description": " ".join(notes)}, inner.convert, inner.defs)
        return inner
    if origin is Literal:
        return _literal_spec(args)
    if origin is Union or origin is types.UnionType:
        return _union_spec(args, where)
    if annotation in (list, tuple, Sequence) or origin in (list, Sequence):
        return _array_spec(spec_for(args[0], where) if args else TypeSpec({}, _identity))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _array_spec(spec_for(args[0], where), as_tuple=True)
        return _fixed_tuple_spec([spec_for(arg, where) for arg in args])
    if annotation in (dict, Mapping) or origin in (dict, Mapping):
        if args and args[0] is not str:
            raise TypeError(f"{where}: JSON objects have string keys; use dict[str, ...] instead of {annotation}")
        return _mapping_spec(spec_for(args[1], where) if args else TypeSpec({}, _identity))
    if isinstance(annotation, type):
        pydantic_base = _pydantic_base()
        if pydantic_base is not None and issubclass(annotation, pydantic_base):
            return _pydantic_spec(annotation)
        if issubclass(annotation, enum.Enum):
            return _enum_spec(annotation)
        if is_typeddict(annotation):
            return _typeddict_spec(annotation)
        if dataclasses.is_dataclass(annotation):
            return _dataclass_spec(annotation)
    raise TypeError(
        f"{where}: the type {getattr(annotation, '__name__', annotation)!s} has no JSON form; use JSON types "
        "(str, int, float, bool, None, list, dict[str, ...]), Literal, an Enum, a TypedDict, a dataclass "
        "or a pydantic model"
    )


def is_json_data(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def describe(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
