"""What is wrong with a name, judged once per distinct spelling and reused for every occurrence."""

from __future__ import annotations

from functools import lru_cache

from .language import (
    FORBIDDEN_NAMES,
    FORBIDDEN_PROPERTIES,
    INVISIBLE_CHARACTERS,
    NAME_REASONS,
    advice,
    homoglyph_of,
)
from .names import decode_identifier
from .policy import RESERVED_PREFIXES

Problem = tuple[str, str]
"""(rule id, message) of one issue, reported at each occurrence of the name."""


def decode_name(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return decode_identifier(text) if "\\" in text else text


def _spelled(name: str, raw: str) -> str:
    return f" (written as '{raw}')" if raw != name else ""


def _character_problems(name: str, what: str) -> list[Problem]:
    problems: list[Problem] = []
    for char in dict.fromkeys(name):  # each distinct character once, in order
        if char.isascii():
            continue
        if char in INVISIBLE_CHARACTERS:
            problems.append(
                (
                    "invisible-character",
                    f"{what} '{name}' contains the invisible character U+{ord(char):04X}; "
                    + advice("invisible-character"),
                )
            )
            continue
        latin = homoglyph_of(char)
        if latin is not None:
            problems.append(
                (
                    "homoglyph",
                    f"{what} '{name}' contains '{char}' (U+{ord(char):04X}), which looks like "
                    f"'{latin}'; " + advice("homoglyph"),
                )
            )
    return problems


@lru_cache(maxsize=4096)
def identifier_problems(raw: bytes) -> tuple[str, tuple[Problem, ...], bool]:
    """(decoded name, its problems, whether a name rule already rejected it) for a variable name."""
    name = decode_name(raw)
    written = _spelled(name, raw.decode("utf-8", "replace"))
    problems: list[Problem] = []
    rejected = True
    rule = FORBIDDEN_NAMES.get(name)
    if rule == "no-eval":
        problems.append((rule, f"Identifier '{name}' is not allowed{written}"))
    elif rule is not None:
        problems.append((rule, f"Identifier '{name}' is not allowed{written}: {NAME_REASONS[rule]}; {advice(rule)}"))
    elif name in FORBIDDEN_PROPERTIES:
        problems.append(
            ("forbidden-property", f"Name '{name}' is not allowed{written}; {advice('forbidden-property')}")
        )
    elif name.startswith(RESERVED_PREFIXES):
        problems.append(
            (
                "reserved-identifier",
                f"Identifier '{name}' uses a reserved prefix; {advice('reserved-identifier')}",
            )
        )
    else:
        rejected = False
    if not name.isascii():
        problems.extend(_character_problems(name, "Identifier"))
    return name, tuple(problems), rejected


@lru_cache(maxsize=4096)
def property_problems(raw: bytes) -> tuple[str, tuple[Problem, ...]]:
    """(decoded name, its problems) for a property name written as an identifier (`o.name`, `{ name: 1 }`)."""
    name = decode_name(raw)
    problems: list[Problem] = []
    if name in FORBIDDEN_PROPERTIES:
        written = _spelled(name, raw.decode("utf-8", "replace"))
        problems.append(
            (
                "forbidden-property",
                f"Property '{name}' is not allowed{written}; {advice('forbidden-property')}",
            )
        )
    if not name.isascii():
        problems.extend(_character_problems(name, "Name"))
    return name, tuple(problems)


def key_problem(value: str, how: str) -> Problem:
    """The issue for a forbidden property name computed from a literal key (`o['constructor']`)."""
    return (
        "forbidden-property",
        f"Property '{value}' is not allowed (as {how}); {advice('forbidden-property')}",
    )
