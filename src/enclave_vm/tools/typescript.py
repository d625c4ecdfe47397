"""TypeScript declarations of a set of tools, generated from their JSON Schemas: `callTool` overloads per
tool name and the `tools` namespace object, ready for a model's prompt (or a type checker)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..guard.tool_names import namespace_paths

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_MAX_DEPTH = 12

PREAMBLE = """/** A tool's outcome with `{ throwOnError: false }`: failures resolve instead of throwing. */
type ToolOutcome<T> = { ok: true; value: T } | { ok: false; error: { message: string } };"""


@dataclass(frozen=True)
class ToolSignature:
    name: str
    description: str
    parameters: Mapping[str, Any]
    returns: Mapping[str, Any] | None


def typescript_declarations(tools: Iterable[ToolSignature]) -> str:
    listed = sorted(tools, key=lambda tool: tool.name)
    lines = [PREAMBLE, ""]
    for tool in listed:
        args, result = _signature(tool)
        lines += _doc(tool.description, "")
        lines.append(
            f"declare function callTool(name: {json.dumps(tool.name)}, {args}, options?: {{ throwOnError?: true }}): "
            f"Promise<{result}>;"
        )
        soft = f"{_required(args)}, options: {{ throwOnError: false }}"
        lines.append(
            f"declare function callTool(name: {json.dumps(tool.name)}, {soft}): Promise<ToolOutcome<{result}>>;"
        )
    by_name = {tool.name: tool for tool in listed}
    paths = namespace_paths(by_name)
    if paths:
        tree: dict[str, Any] = {}
        for path, name in paths.items():
            node = tree
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = by_name[name]
        lines += ["", "/** The tools by namespace: `tools.a.b(args)` calls the tool `a:b` (or `a.b`). */"]
        lines.append("declare const tools: " + _namespace(tree, "") + ";")
    return "\n".join(lines) + "\n"


def _signature(tool: ToolSignature) -> tuple[str, str]:
    defs = _definitions(tool.parameters)
    params = ts_type(tool.parameters, defs)
    optional = not tool.parameters.get("required")
    args = f"args{'?' if optional else ''}: {params}"
    result = "unknown" if tool.returns is None else ts_type(tool.returns, _definitions(tool.returns))
    return args, result


def _required(args: str) -> str:
    """The args parameter before a required `options` (TypeScript has no required after optional)."""
    return args.replace("args?:", "args:", 1)


def _namespace(tree: Mapping[str, Any], indent: str) -> str:
    inner = indent + "  "
    lines = ["{"]
    for key in sorted(tree):
        value = tree[key]
        prop = key if _IDENTIFIER.match(key) else json.dumps(key)
        if isinstance(value, ToolSignature):
            args, result = _signature(value)
            lines += _doc(value.description, inner)
            lines.append(f"{inner}{prop}({args}, options?: {{ throwOnError?: true }}): Promise<{result}>;")
            lines.append(
                f"{inner}{prop}({_required(args)}, options: {{ throwOnError: false }}): Promise<ToolOutcome<{result}>>;"
            )
        else:
            lines.append(f"{inner}readonly {prop}: {_namespace(value, inner)};")
    lines.append(indent + "}")
    return "\n".join(lines)


def _doc(description: str, indent: str) -> list[str]:
    text = " ".join(description.split()).replace("*/", "*\\/")
    return [f"{indent}/** {text} */"] if text else []


def _definitions(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    defs = schema.get("$defs") or schema.get("definitions") or {}
    return defs if isinstance(defs, Mapping) else {}


def ts_type(schema: Any, defs: Mapping[str, Any], depth: int = 0) -> str:
    """The TypeScript type of a JSON Schema (the common subset; anything else is `unknown`)."""
    if depth > _MAX_DEPTH or not isinstance(schema, Mapping):
        return "unknown"
    deeper = depth + 1
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        return ts_type(target, defs, deeper) if target is not None else "unknown"
    if "const" in schema:
        return json.dumps(schema["const"])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return " | ".join(json.dumps(value) for value in enum)
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if isinstance(members, list) and members:
            return _join([ts_type(member, defs, deeper) for member in members], " | ")
    members = schema.get("allOf")
    if isinstance(members, list) and members:
        return _join([ts_type(member, defs, deeper) for member in members], " & ")
    kind = schema.get("type")
    if isinstance(kind, list):
        return _join([ts_type({**schema, "type": item}, defs, deeper) for item in kind], " | ")
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return "[" + ", ".join(ts_type(item, defs, deeper) for item in prefix) + "]"
        return f"Array<{ts_type(schema.get('items', {}), defs, deeper)}>"
    if kind == "object" or "properties" in schema:
        return _object(schema, defs, deeper)
    return "unknown"


def _object(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> str:
    properties = schema.get("properties")
    required = set(schema.get("required") or ())
    extra = schema.get("additionalProperties", True)
    fields: list[str] = []
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            key = name if _IDENTIFIER.match(name) else json.dumps(name)
            fields.append(f"{key}{'' if name in required else '?'}: {ts_type(sub, defs, depth)}")
    if isinstance(extra, Mapping):
        fields.append(f"[key: string]: {ts_type(extra, defs, depth)}")
    elif extra is True and not fields:
        return "Record<string, unknown>"
    return "{ " + "; ".join(fields) + " }" if fields else "{}"


def _join(types: list[str], separator: str) -> str:
    unique = list(dict.fromkeys(types))
    if "unknown" in unique:
        return "unknown"
    return unique[0] if len(unique) == 1 else "(" + separator.join(unique) + ")"
