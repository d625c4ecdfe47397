"""JSON Schemas and argument checks for a tool's parameters, from pydantic.

One pydantic `TypeAdapter` over the function's parameters gives both the JSON Schema a model reads
and the check a script's arguments pass, so what the prompt promises is what is enforced; and the
schemas are the ones the pydantic-based tool libraries produce (FastMCP, pydantic-ai, the OpenAI SDK's
helpers). Two choices of ours on top:
- objects are closed (`extra="forbid"`): an unknown key, at the top or in a nested TypedDict or
  dataclass, is an error naming it, not silently dropped (a pydantic model keeps its own config);
- arguments are checked in pydantic's strict JSON mode: they are JSON, so `"5"` is not an int and
  `true` is not 1, while an enum takes its value and a dataclass or model takes an object.
"""

from __future__ import annotations

import inspect
import json
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast, get_args, get_origin, is_typeddict

import typing_extensions
from pydantic import ConfigDict, Field, PydanticUserError, TypeAdapter, ValidationError
from pydantic.errors import PydanticSchemaGenerationError
from pydantic_core import ErrorDetails

ARGUMENTS_CONFIG = ConfigDict(extra="forbid")
_MISSING = frozenset({"missing", "missing_argument", "missing_keyword_only_argument"})
_UNEXPECTED = frozenset({"extra_forbidden", "unexpected_keyword_argument"})
_JSON_TYPES = (
    "JSON types (str, int, float, bool, None, list, dict[str, ...]), Literal, an Enum, a TypedDict, "
    "a dataclass or a pydantic model"
)


class ArgumentError(Exception):
    """Arguments do not match the schema; `path` names the field (`limit`, `filter.status`, `ids[2]`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Arguments:
    """The checked arguments of one tool: its JSON Schema and the adapter that enforces it."""

    schema: dict[str, Any]
    names: tuple[str, ...]
    _adapter: TypeAdapter[dict[str, Any]]

    def check(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for the function (enum members, dataclass and model instances built);
        `ArgumentError` naming the first field that does not match."""
        text = json.dumps(args, separators=(",", ":"))
        try:
            return self._adapter.validate_json(text, strict=True)
        except ValidationError as exc:
            raise argument_error(exc.errors(include_url=False), args, self.names) from None


def arguments_for(
    parameters: list[inspect.Parameter],
    hints: Mapping[str, Any],
    descriptions: Mapping[str, str],
    where: str,
) -> Arguments:
    """The schema and check of `parameters` (resolved `hints`; `descriptions` from the docstring).

    They are those of a stand-in function with exactly these parameters (a tool's `context` is left
    out), which pydantic validates like any function: `TypeAdapter(function).json_schema()`."""
    annotated: list[inspect.Parameter] = []
    for param in parameters:
        annotation = portable(hints.get(param.name, Any))
        description = descriptions.get(param.name) or _annotated_note(annotation)
        if description:
            annotation = Annotated[annotation, Field(description=description)]
        annotated.append(param.replace(annotation=annotation))

    def stand_in(**arguments: Any) -> dict[str, Any]:
        return arguments

    stand_in.__signature__ = inspect.Signature(annotated)  # type: ignore[attr-defined]
    stand_in.__annotations__ = {param.name: param.annotation for param in annotated}
    try:
        adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(cast(Any, stand_in), config=ARGUMENTS_CONFIG)
        schema = adapter.json_schema()
    except (PydanticUserError, PydanticSchemaGenerationError, TypeError) as exc:
        raise TypeError(_unsupported(parameters, hints, where, exc)) from None
    return Arguments(schema, tuple(param.name for param in parameters), adapter)


def returns_schema(annotation: Any, description: str | None) -> dict[str, Any] | None:
    """The JSON Schema of a result type (as pydantic serialises it), or None when the type says nothing."""
    if annotation is inspect.Signature.empty or annotation is None or annotation is type(None):
        return None
    try:
        schema = TypeAdapter(portable(annotation)).json_schema(mode="serialization")
    except (PydanticUserError, PydanticSchemaGenerationError, TypeError):
        return None  # results are checked as JSON data anyway; an exotic hint only loses its schema
    if description:
        schema["description"] = description
    return schema or None


def portable(annotation: Any) -> Any:
    """`annotation` with every `typing.TypedDict` in it rebuilt as a `typing_extensions.TypedDict`:
    pydantic refuses the former before Python 3.12, and a tool's signature is the user's own."""
    if sys.version_info >= (3, 12):
        return annotation
    return _portable(annotation, {})


def _portable(annotation: Any, seen: dict[type, Any]) -> Any:
    if isinstance(annotation, type) and is_typeddict(annotation):
        if type(annotation) is not typing._TypedDictMeta:  # type: ignore[attr-defined]
            return annotation  # already a typing_extensions one
        if annotation not in seen:
            hints = typing.get_type_hints(annotation, include_extras=True)
            required = getattr(annotation, "__required_keys__", frozenset(hints))
            fields: dict[str, Any] = {}
            for name, hint in hints.items():
                field = _portable(_unwrap_required(hint), seen)
                fields[name] = field if _is_required(name, hint, required) else typing_extensions.NotRequired[field]
            make: Any = typing_extensions.TypedDict  # the functional form, with a computed name
            rebuilt: Any = make(annotation.__name__, fields)
            rebuilt.__doc__ = annotation.__doc__
            rebuilt.__module__ = annotation.__module__
            seen[annotation] = rebuilt
        return seen[annotation]
    origin, args = get_origin(annotation), get_args(annotation)
    if not args or origin is typing.Literal:
        return annotation
    if origin is Annotated:
        return Annotated[(_portable(args[0], seen), *annotation.__metadata__)]
    converted = tuple(_portable(arg, seen) for arg in args)
    if converted == args:
        return annotation
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return typing.Union[converted]  # noqa: UP007 - built from a tuple
    return annotation.copy_with(converted) if hasattr(annotation, "copy_with") else origin[converted]


def _is_required(name: str, hint: Any, required: frozenset[str]) -> bool:
    # `__required_keys__` misses NotRequired/Required written as strings (postponed annotations).
    origin = get_origin(hint)
    return origin is not typing.NotRequired and (origin is typing.Required or name in required)


def _unwrap_required(hint: Any) -> Any:
    return get_args(hint)[0] if get_origin(hint) in (typing.Required, typing.NotRequired) else hint


def _annotated_note(annotation: Any) -> str:
    """The text of `Annotated[X, "a note"]`: plain strings in the metadata are the field's description."""
    if get_origin(annotation) is not Annotated:
        return ""
    return " ".join(meta for meta in annotation.__metadata__ if isinstance(meta, str))


def _unsupported(parameters: list[inspect.Parameter], hints: Mapping[str, Any], where: str, exc: Exception) -> str:
    """Which parameter's type pydantic could not take, and why, in one line."""
    for param in parameters:
        hint = portable(hints.get(param.name, Any))
        try:
            TypeAdapter(hint).json_schema()
        except (PydanticUserError, PydanticSchemaGenerationError, TypeError) as error:
            name = getattr(hint, "__name__", None) or str(hint)
            reason = str(error).split("\n", 1)[0]
            return f"{where}, parameter '{param.name}': the type {name} has no JSON form; use {_JSON_TYPES} ({reason})"
    return f"{where}: its parameters have no JSON form ({str(exc).splitlines()[0]})"


# ---- errors a script can act on ----
def argument_error(errors: list[ErrorDetails], args: Mapping[str, Any], names: tuple[str, ...]) -> ArgumentError:
    """The first argument pydantic found a problem with, as the field it concerns and a message naming
    what was expected and what came. Within that argument the deepest problem wins (of a union's
    members, the one that matched furthest), and alternatives at the same place are joined ("a valid
    integer or a valid array")."""
    located = [(_field_path(error, args), error) for error in errors]
    argument = located[0][0][:1]
    own = [(where, error) for where, error in located if where[:1] == argument]
    deepest = max(len(where) for where, _ in own)
    path = next(where for where, _ in own if len(where) == deepest)
    alternatives = [error for where, error in own if where == path]
    first = alternatives[0]
    kind = first["type"]
    if kind in _MISSING:
        message = "required argument is missing" if len(path) == 1 else "required field is missing"
    elif kind in _UNEXPECTED:
        expected = ", ".join(names) or "none"
        message = f"unexpected argument (expected: {expected})" if len(path) == 1 else "unexpected field"
    elif kind == "json_invalid":
        path, message = (), "a string in them is not valid Unicode text (a lone surrogate)"
    else:
        said = list(dict.fromkeys(error["msg"] for error in alternatives))
        message = " or ".join([said[0], *(text.removeprefix("Input should be ") for text in said[1:])])
        message += f", got {_shown(first['input'])}"
    others = len({where[:1] for where, _ in located} - {argument})
    if others:
        message += f" (and {others} more problem{'s' if others > 1 else ''})"
    return ArgumentError(_joined(path) or "arguments", message)


def _field_path(error: ErrorDetails, args: Mapping[str, Any]) -> tuple[str | int, ...]:
    """Pydantic's location without the names of union members (`int`, `list[int]`, a model's name),
    found by following the location through the arguments themselves."""
    loc = error["loc"]
    value: Any = args
    path: list[str | int] = []
    for index, part in enumerate(loc):
        missing_here = index == len(loc) - 1 and error["type"] in _MISSING  # the absent key itself
        if isinstance(value, Mapping) and isinstance(part, str) and (part in value or missing_here):
            path.append(part)
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int):
            path.append(part)
            value = value[part] if 0 <= part < len(value) else None
    return tuple(path)


def _joined(path: tuple[str | int, ...]) -> str:
    """`filter.status`, `ids[2]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _shown(value: Any) -> str:
    """What came instead, briefly: a short scalar as JSON, a container by its kind."""
    if isinstance(value, str):
        return json.dumps(value[:40] + ("…" if len(value) > 40 else ""), ensure_ascii=False)
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return "an array" if isinstance(value, list) else "an object"


# ---- schemas in prompts ----
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames")


def without_titles(schema: Any) -> Any:
    """`schema` without the `title`s pydantic derives from names (`"limit"` → `"Limit"`): they cost a
    model's prompt tokens and say nothing. Only keywords are walked, so a property named `title` stays."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: without_titles(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [without_titles(sub) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = without_titles(value)
        else:
            out[key] = value
    return out


def describe(schema: Mapping[str, Any]) -> str:
    """A schema as compact JSON text for a prompt."""
    return json.dumps(without_titles(dict(schema)), separators=(",", ":"), ensure_ascii=False)


def is_json_data(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
