"""SPEC §1: the Lark grammar (grammar/python.lark) defines the language and any faster
front end must agree with it. gradcli runs programs through CPython's parser plus its own
refusals (gradcli/runtime/rewrite.py); here both front ends read every program text the
repository has, generated programs and hand-made tricky ones, and must agree: the grammar
accepts exactly what gradcli accepts, and the two trees have the same outline (every
statement's line and kind, nested, and the kinds of its expression nodes in source order).
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from gradcli.base.errors import GradcliSyntaxError
from gradcli.lang import python_grammar
from gradcli.runtime import rewrite
from tests.strategies.programs import broad_programs
from tests.test_python_differential import PRELUDE, blocks

ROOT = Path(__file__).resolve().parents[1]


def gradcli_reading(source: str):
    """What gradcli's runner does with the text before running it: CPython's parser, the
    rewrite that refuses what SPEC §1.6 and §1.9 leave out, and CPython's compiler (which
    refuses `return` outside a function, a repeated keyword, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CPython's "perhaps you missed a comma?"
        rewrite.compile_program(source)
    return rewrite.parse_python(source)


def verdict(read, source):
    try:
        return read(source), None
    except GradcliSyntaxError as exc:
        return None, f"{exc.type_name}: {exc.message} ({exc.line}:{exc.column})"


def assert_agree(source: str):
    cpython, cpython_error = verdict(gradcli_reading, source)
    lark, lark_error = verdict(python_grammar.parse, source)
    assert (cpython_error is None) == (lark_error is None), (
        f"gradcli: {cpython_error or 'accepts'}; grammar: {lark_error or 'accepts'}\n{source}")
    if cpython is not None:
        assert python_grammar.outline(lark) == python_grammar.ast_outline(cpython), source
    return cpython_error is None


# ----------------------------------------------------------------------------- the corpus
def notebook_cells(path: Path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        text = "".join(source) if isinstance(source, list) else source
        # gradcli skips IPython's `%` and `!` lines (SPEC §1.8): blank them, keep the lines.
        text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in text.split("\n"))
        yield f"{path.name}[{index}]", text


def corpus():
    files = sorted((ROOT / "examples").rglob("*.expr"))
    files += sorted((ROOT / "tests" / "conformance").rglob("*.expr"))
    files += sorted((ROOT / "tests" / "conformance").rglob("*.py"))
    texts = [(str(f.relative_to(ROOT)), f.read_text(encoding="utf-8")) for f in files]
    for notebook in sorted(ROOT.glob("examples/lessons/*.ipynb")):
        texts.extend(notebook_cells(notebook))
    return texts


CORPUS = corpus()


def test_the_corpus_is_large():
    assert len(CORPUS) > 500


@pytest.mark.parametrize("name,source", CORPUS, ids=[name for name, _ in CORPUS])
def test_corpus_file(name, source):
    assert_agree(source)


def test_corpus_syntax_cases_are_refused_by_both():
    """Conformance stems with `syntax` are SyntaxErrors (tests/conformance/README.md)."""
    syntax = [(n, s) for n, s in CORPUS if "syntax" in Path(n).stem]
    assert len(syntax) > 20
    for name, source in syntax:
        assert verdict(python_grammar.parse, source)[1] is not None, name


# ----------------------------------------------------------------------------- by hand
VALID = [
    # decorators (PEP 614), lambdas, star-args, keyword-only and positional-only parameters
    "@torch.no_grad()\ndef f(x):\n    return x\n",
    "@deco\n@a.b[0](1)\nclass C(B, metaclass=M):\n    x: int = 1\n",
    "def f(a, b=1, /, c=2, *args, d, e=3, **kw) -> int:\n    return a\n",
    "def f(a, /):\n    pass\n",
    "def f(*, a):\n    pass\n",
    "def f(*args: int, **kw: str):\n    pass\n",
    "g = lambda x, y=2, *a, z, **k: x + y\n",
    "g = lambda: (lambda *, k=1: k)\n",
    "f(*a, *b, c=1, **d, e=2)\nf(a, *b, c)\nf(x=1, *y)\n",
    "print(*[1, 2], sep='', end='\\n')\n",
    # walrus where Python allows it
    "if (n := len(a)) > 10:\n    pass\nwhile (line := f()):\n    break\n",
    "[y := f(x), y ** 2]\nprint(z := 3)\nx[i := 0]\n{(a := 1)}\n",
    "[y for x in data if (y := f(x))]\n",
    "with (a := open_it()):\n    pass\n",
    # f-strings
    "x = f'{a!r:>{width}.{prec}}' f\"{b=}\" F'{c!s}' rf'\\d{d}'\n",
    "x = f'{a:{b}}' f'{{literal}}' f'{ {1: 2}[1] }' f'{x:}' f'{x=:>10}' f'{x=!r}'\n",
    "x = f'''{\na\n+ b}''' f\"{'nested'}\" f'{3.14:.2f}' f'{a if b else c}'\n",
    "x = f'{(lambda: 1)()}' f'{a, b}' f'{*a,}' f'{[i for i in x]}' f'{x!a}'\n",
    # slices and subscripts
    "x[1:2, ::3, ...]\nx[:, None]\nx[a:b:c]\nx[()]\nx[*idx]\nx[1:2,]\nx[-1:]\n",
    # comprehensions
    "[x for x in y if x if not x for z in w]\n{k: v for k, v in d.items()}\n",
    "{x for x in y}\n(x for x in y)\nf(x for x in y)\nsum(i * i for i in range(3))\n",
    "[(a, b) for a, *b in pairs]\n[x for x in (lambda: y)]\n",
    # try / except / else / finally, except*
    "try:\n    pass\nexcept (A, B) as e:\n    raise C from e\nexcept E:\n    raise\n"
    "else:\n    pass\nfinally:\n    pass\n",
    "try:\n    pass\nfinally:\n    pass\n",
    "try:\n    pass\nexcept* ValueError as eg:\n    pass\n",
    "try:\n    pass\nexcept:\n    pass\n",
    # with items
    "with a as b, c as (d, e), f:\n    pass\n",
    "with (a as b, c as d,):\n    pass\n",
    "with (a, b):\n    pass\n",
    "with (a, b) as c:\n    pass\n",
    "with (a):\n    pass\n",
    "with (x for x in y):\n    pass\n",
    "with ():\n    pass\n",
    "with (a, *b):\n    pass\n",
    "with (open(x)) as f, g:\n    pass\n",
    # global, nonlocal, del, assert, chains, conditionals
    "def f():\n    global g\n    x = 1\n    def h():\n        nonlocal x\n        x += 1\n",
    "del a, b[0], c.d, (e, [f])\n",
    "assert x, 'message'\nassert a < b <= c != d is not e not in f\n",
    "x = a if b else c if d else e\ny = not a and b or c\n",
    "a = b = c = 1\na, *b = c\n[a, b] = c\n(a), b.c, d[0] = e\n*a, = b\n",
    "x: int\nx.y: str = 'a'\nx[0]: int = 1\n(y): int = 2\n",
    "x @= y; x //= 2; x **= 3; x >>= 1; x <<= 1; x ^= 1; x |= 1; x &= 1; x %= 2\n",
    "import torch.nn.functional as F, math\nfrom . import a\nfrom ..b import (c, d,)\n"
    "from ... import e\nfrom .... import f\nfrom g import *\n",
    # numbers, strings, names
    "x = 1_000 + 0x_ff + 0o17 + 0b101 + 1. + .5 + 1e5 + 2.5e-3 + 3j + 1_0.0_1J + 00\n",
    "x = 1if y else 2\n",
    "x = 'a' 'b' \"c\" '''d\ne''' r'\\d' u'x' '\\N{BULLET}' '\\q'\n"
    "y = b'x' rb'x' BR'x' b'\\N' b'\\u12'\n",
    "x = 'a\\\nb'\n",
    "αβ = 1\nﬁ = 2\nｘ = 3\nprint(αβ.γ)\n",
    "match = 1\ncase = match\nprint(match, case)\ncase(x)\nmatch(x)\nmatch[0] = 1\n",
    "_ = 1\n__name__\nprint(_gx_echo)\n",
    "class A:\n    __class__x = 1\n    __builtins__ = 2\n",
    # layout: semicolons, continuation, comments, tabs, blank lines, no final newline
    "x = 1; y = 2;\nif x: y = 3; z = 4\n",
    "x = (1 +\n     2)\ny = 1 + \\\n    2\n",
    "if x:\n\tpass\n\tpass\n",
    "if x:\n    # comment\n\n    pass\n  # dedented comment\nx = 1",
    "",
    "# only a comment",
    "\n\n\n",
    "if a:\n    pass\nelif b:\n    pass\nelif c:\n    pass\nelse:\n    pass\n",
    "for i, (x, y) in enumerate(zip(a, b)):\n    continue\nelse:\n    pass\n",
    "while x:\n    break\nelse:\n    pass\n",
    "class A(B):\n    def __init__(self):\n        super().__init__()\n"
    "    @property\n    def x(self): return self._x\n",
    "x = {**a, 'b': 1, **c}\ny = {*a, *b}\nz = [*a, *b]\nw = (*a, *b)\n",
    "x = -1 ** -2 ** 3\ny = ~a + -b - +c\nz = a @ b @ c\n",
    "x = a << 1 >> 2 | 3 & 4 ^ 5\n",
    "print(1, 2,)\nf(a,)\nf(*a,)\nf(**k,)\n",
    "x = ...\ny = None, True, False\n",
    "def f():\n    return *a, b\nfor x in *a, b:\n    pass\n",
    "x = *a, *b\n",
    "x = [*a, b] = c\n",
]

INVALID = [
    # refused by SPEC §1.6
    "def f():\n    yield 1\n",
    "def f():\n    x = yield\n",
    "def f():\n    yield from g()\n",
    "async def f():\n    pass\n",
    "async def f():\n    await g()\n",
    "await g()\n",
    "x = [await y for y in z]\n",
    "async with a:\n    pass\n",
    "match x:\n    case 1:\n        pass\n",
    "match (x):\n    case [a, b]:\n        pass\n",
    "yield = 1\n",
    "async = 1\n",
    "f = lambda: (yield)\n",
    # SPEC §1.9: reserved names, __builtins__, a class's __class__
    "_gx_t1 = 1\n",
    "print(x._gx_ga)\n",
    "def _gx_f():\n    pass\n",
    "def f(_gx_a):\n    pass\n",
    "import _gx_m\n",
    "from m import _gx_a\n",
    "f(_gx_k=1)\n",
    "__builtins__ = {}\n",
    "for __builtins__ in x:\n    pass\n",
    "class A:\n    __class__ = int\n",
    "class A:\n    def __class__(self):\n        pass\n",
    "[1 for x.y in z]\n",
    "with a as b.c:\n    pass\n",
    # CPython 3.11's syntax errors
    "x := 1\n",
    "x = y := 1\n",
    "f(a=b := 1)\n",
    "def f(a=1, b):\n    pass\n",
    "def f(a=1, /, b):\n    pass\n",
    "def f(*):\n    pass\n",
    "def f(*, **k):\n    pass\n",
    "def f(**k, a):\n    pass\n",
    "def f(/, a):\n    pass\n",
    "def f(*a, *b):\n    pass\n",
    "lambda a=1, b: 0\n",
    "f(a=1, b)\n",
    "f(**k, *a)\n",
    "f(**k, a)\n",
    "f(a.b=1)\n",
    "f((a)=1)\n",
    "f(True=1)\n",
    "f(x for x in y, 1)\n",
    "f(x for x in y,)\n",
    "class A(x for x in y):\n    pass\n",
    "f() = 1\n",
    "1 = x\n",
    "a + b = c\n",
    "(a := 1) = 2\n",
    "[f()] = x\n",
    "a, b += 1\n",
    "f() += 1\n",
    "(a, b): int\n",
    "[a]: int\n",
    "del f()\n",
    "del *a\n",
    "del a + b\n",
    "for f() in x:\n    pass\n",
    "[1 for 1 in x]\n",
    "with a as f():\n    pass\n",
    "with (a as b, *c):\n    pass\n",
    "with (*a):\n    pass\n",
    "x = b'é'\n",
    "x = b'a' 'b'\n",
    "x = f'{}'\n",
    "x = f'{ }'\n",
    "x = f'{x!z}'\n",
    "x = f'{x!}'\n",
    "x = f'}'\n",
    "x = f'{'\n",
    "x = f'{a:{b:{c}}}'\n",
    "x = f'{a#}'\n",
    "x = f'{\"\\n\"}'\n",
    "x = f'{a b}'\n",
    "x = f'{lambda x:1}'\n",
    "x = f'{*a}'\n",
    "x = f'{)}'\n",
    "x = f'{a!r=}'\n",
    "x = '\\x4'\n",
    "x = '\\N{NO SUCH NAME}'\n",
    "x = '\\U00110000'\n",
    "x = ur'a'\n",
    "x = 'abc\n",
    "x = '''abc\n",
    "x = 0777\n",
    "x = 1__0\n",
    "x = 0b12\n",
    "x = 1_\n",
    "x = a <> b\n",
    "x = (1, 2\n",
    "x = (1, 2))\n",
    "x = [1, 2)\n",
    "  x = 1\n",
    "x = 1\n    y = 2\n",
    "if x:\npass\n",
    "if x:\n        a\n    b\n",
    "if x:\n\tpass\n        pass\n",
    "if x:\n        pass\n\tpass\n",
    "x = 1 \\ \ny = 2\n",
    "from a import b,\n",
    "from a import (b)c\n",
    "import a.b as c.d\n",
    "print 'x'\n",
    "a if b\n",
    "x = = 1\n",
    "def f:\n    pass\n",
    "class A(:\n    pass\n",
    "try:\n    pass\n",
    "try:\n    pass\nexcept E:\n    pass\nexcept* F:\n    pass\n",
    "try:\n    pass\nelse:\n    pass\n",
    "x[]\n",
    "x[1:*a]\n",
    "{**a for a in b}\n",
    "[*a for a in b]\n",
    "(*a)\n",
    "True = 1\n",
    "None += 1\n",
    "lambda: x = 1\n",
    "x = 1 if 2 else\n",
    "return x := 1\n",
    "a.b := 1\n",
    "exec 'x'\n",
    ";\n",
    "x = 1;;\n",
    "@\ndef f():\n    pass\n",
    "x = \0\n",
    "pass\x0c\n  pass\n",
    "[x for x in lambda: y]\n",
    # CPython's compiler
    "*a = b\n",
    "x = *a\n",
    "*a\n",
    "for *a in b:\n    pass\n",
    "a, *b, *c = d\n",
    "print(*a for a in b)\n",
    "return 1\n",
    "class A:\n    return 1\n",
    "break\n",
    "for x in y:\n    def f():\n        break\n",
    "while x:\n    pass\nelse:\n    continue\n",
    "f(a=1, a=2)\n",
    "def f(a, a):\n    pass\n",
    "lambda a, a: 0\n",
    "__debug__ = 1\n",
    "f(__debug__=1)\n",
    "nonlocal x\n",
    "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\n",
    "x = 1\nglobal x\n",
    "def f(a):\n    global a\n",
]


@pytest.mark.parametrize("source", VALID)
def test_valid_by_hand(source):
    assert assert_agree(source), source


@pytest.mark.parametrize("source", INVALID)
def test_invalid_by_hand(source):
    assert not assert_agree(source), source


@pytest.mark.parametrize("source,keyword", [
    ("def f():\n    yield 1\n", "yield"),
    ("async def f():\n    pass\n", "async"),
    ("x = await y\n", "await"),
    ("match command:\n    case 'go':\n        pass\n", "match"),
])
def test_refused_constructs_are_named_at_their_keyword(source, keyword):
    with pytest.raises(GradcliSyntaxError) as caught:
        python_grammar.parse(source)
    assert caught.value.message == f"'{keyword}' is not supported by gradcli"
    line = source.split("\n")[caught.value.line - 1]
    assert line[caught.value.column - 1:].startswith(keyword)


def test_match_and_case_stay_names():
    tree = python_grammar.parse("match = 1\ncase(x)\n")
    assert [entry[1] for entry in python_grammar.outline(tree)] == ["Assign", "Expr"]


def test_the_reserved_names_are_the_runners():
    assert python_grammar.RESERVED_PREFIX == rewrite.RESERVED_PREFIX
    assert python_grammar.HARMLESS_RESERVED == rewrite.HARMLESS_RESERVED


def test_outlines_compare_structure():
    """Same acceptance is not enough: the outline tells `a - b - c` from `a - (b - c)`."""
    left = python_grammar.outline(python_grammar.parse("x = a - b - c\n"))
    right = python_grammar.ast_outline(ast.parse("x = a - (b - c)\n"))
    assert left != right
    assert left == python_grammar.ast_outline(ast.parse("x = (a - b) - c\n"))


# ----------------------------------------------------------------------------- generated
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(blocks())
def test_python_differential_programs(lines):
    assert assert_agree(PRELUDE + "\n".join(lines) + "\n")


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(broad_programs())
def test_broad_programs(source):
    assert_agree(source)
