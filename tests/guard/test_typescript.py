"""The TypeScript stripper: types go, positions stay, and stripping never makes a rejected program valid."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, prepare, validate_code
from enclave_vm.guard.typescript import strip_types

POLICY = policy_for(SecurityLevel.STANDARD)


def rules(code: str) -> set[str]:
    return {issue.rule for issue in validate_code(code, POLICY, "typescript") if issue.severity == "error"}


@pytest.mark.parametrize(
    ("typescript", "javascript"),
    [
        ("let x: number = 1;", "let x         = 1;"),
        ("const f = <T,>(x: T): T => x;", "const f =     (x   )    => x;"),
        ("const y = a as string;", "const y = a          ;"),
        ("const z = a!.b;", "const z = a .b;"),
        ("f<string>(1);", "f        (1);"),
        ("interface A { x: number }\nreturn 1;", ";                        \nreturn 1;"),
        ("type T = string;", ";               "),
        ("function g(this: Window, a?: number) {}", "function g(              a         ) {}"),
        (
            "class C implements I { private x = 1; declare y: number }",
            "class C              {         x = 1; ;                 }",
        ),
        ("const o = {} satisfies Record<string, number>;", "const o = {}                                 ;"),
        ("let u!: string;", "let u         ;"),
    ],
)  # fmt: skip
def test_type_only_syntax_becomes_spaces(typescript: str, javascript: str) -> None:
    stripped = strip_types(typescript)
    assert stripped.issues == []
    assert stripped.javascript == javascript


@pytest.mark.parametrize(
    "code",
    [
        "enum E { A }",
        "const enum E { A }",
        "namespace N { }",
        "module M { }",
        "@dec class A {}",
        "class A { constructor(private x: number) {} }",
        "class A { constructor(readonly x: number) {} }",
    ],
)
def test_runtime_typescript_is_refused(code: str) -> None:
    assert "typescript-runtime-syntax" in rules(code)


def test_positions_are_those_of_the_typescript() -> None:
    code = "interface U { id: number }\nconst u: U = { id: 1 };\nconst e: typeof u = eval('x');"
    (issue,) = [i for i in validate_code(code, POLICY, "typescript") if i.rule == "no-eval"]
    assert issue.location == {"line": 3, "column": 21}
    (issue,) = validate_code("enum Color {\n  Red,\n}\nlet x: = 1", POLICY, "typescript")[:1]
    assert (issue.rule, issue.location) == ("syntax-error", {"line": 4, "column": 8})  # syntax errors first


# ---------------------------------------------------------------- properties

#: (TypeScript, the JavaScript it must read as) pieces: a program is a sequence of them.
_TYPED = [
    ("let a: number = 1;", "let a = 1;"),
    ("const b = (x: string): string => x;", "const b = (x) => x;"),
    ("const c = [1, 2] as number[];", "const c = [1, 2];"),
    ("type T = { k: string };", ""),
    ("interface I { m(): void }", ""),
    ("const d = c!.length;", "const d = c.length;"),
    ("function e<T>(v: T, w?: T): T { return v; }", "function e(v, w) { return v; }"),
    ("class F { g: number = 2; h(): number { return this.g; } }", "class F { g = 2; h() { return this.g; } }"),
    ("declare const q: number;", ""),
    ("const m = new Map<string, number>();", "const m = new Map();"),
]
#: Plain JavaScript pieces, some of them rejected by the guard.
_PLAIN = [
    "let p = 1;",
    "const r = [1, 2].map((x) => x * 2);",
    "eval('1');",
    "globalThis.x = 1;",
    "const s = ({}).constructor;",
    "while (true) {}",
    "function* g() {}",
    "const t = new Proxy({}, {});",
    "return 1;",
    "const u = `${p}`;",
    "if (p) { p = 2; }",
    "const v = this;",
]
_PIECE = st.one_of(st.sampled_from(_TYPED), st.sampled_from(_PLAIN).map(lambda js: (js, js)))
_PROGRAM = st.lists(_PIECE, min_size=1, max_size=6).map(
    lambda pieces: ("\n".join(ts for ts, _ in pieces), "\n".join(js for _, js in pieces))
)


@settings(
    derandomize=True, database=None, max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(_PROGRAM)
def test_stripping_keeps_every_position(program: tuple[str, str]) -> None:
    typescript, _ = program
    stripped = strip_types(typescript)
    assert stripped.issues == []
    javascript = stripped.javascript
    assert len(javascript) == len(typescript)
    for index, (ts_char, js_char) in enumerate(zip(typescript, javascript, strict=True)):
        assert js_char in (ts_char, " ", ";"), (index, ts_char, js_char)
        assert (ts_char == "\n") == (js_char == "\n")


@settings(
    derandomize=True, database=None, max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(_PROGRAM)
def test_stripping_never_makes_an_invalid_program_valid(program: tuple[str, str]) -> None:
    typescript, javascript = program
    as_typescript = prepare(typescript, POLICY, "typescript").valid
    as_javascript = prepare(javascript, POLICY).valid
    assert as_typescript == as_javascript, (typescript, javascript)


@settings(
    derandomize=True, database=None, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(_PLAIN), min_size=1, max_size=6).map("\n".join))
def test_plain_javascript_reads_the_same_as_typescript(code: str) -> None:
    assert prepare(code, POLICY, "typescript").valid == prepare(code, POLICY).valid
    assert [(i.rule, i.location) for i in validate_code(code, POLICY, "typescript")] == [
        (i.rule, i.location) for i in validate_code(code, POLICY)
    ]
