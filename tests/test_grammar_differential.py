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


# Edge cases of Python's lexer, f-strings, `with`, scopes and parameters, valid or not:
# the two front ends must give the same verdict (found while building the grammar).
EDGES = [
    'f"{x!r:}"\n',
    'f"{x:{\'a\'}}"\n',
    'f\'{a["b"]}\'\n',
    'f"{\'a\' if x else \'b\'}"\n',
    'f"{x:=^10}"\n',
    'f"{x==y}"\n',
    'f"{x!=y}"\n',
    'f"{x<y}"\n',
    'f"{x>=y}"\n',
    'f"{x=!s:>3}"\n',
    'f"{x = }"\n',
    'f"{f\'{x}\'}"\n',
    'f"{x:{{}}}"\n',
    'f"{x:{y}{z}}"\n',
    'f"{x:{y:{z}}}"\n',
    "f'{x!r}' f'{y}' 'z' f'{{'\n",
    'f"{\'\\n\'}"\n',
    'f"{x}}}"\n',
    'f"{{{x}"\n',
    'f"{ x }"\n',
    'f"{x:{y!r}}"\n',
    'f"{x!r }"\n',
    'f"{x !r}"\n',
    'f"{3!r}"\n',
    'f"{x:%}"\n',
    'f"{x:{y}.{z}f}"\n',
    'f"{(x:=1)}"\n',
    'f"{x:=1}"\n',
    'f"{a:b:c}"\n',
    'f"{a[\'b\':\'c\']}"\n',
    'f"{lambda: 1}"\n',
    'f"{yield}"\n',
    'f"{await x}"\n',
    'f"{*a,}"\n',
    'f"{a,}"\n',
    'f"{}"\n',
    'f"{ }"\n',
    'f"{#}"\n',
    'f"{x!}"\n',
    'f"{x!rr}"\n',
    'f"{x!r:{y!r:{z}}}"\n',
    "'\\N{LATIN SMALL LETTER A}'\n",
    "b'\\N{x}'\n",
    "'\\u00e9'\n",
    "'\\u00e'\n",
    "b'\\u00e'\n",
    "u'\\N{BULLET}'\n",
    "r'\\N{bad}'\n",
    '"a\\"b"\n',
    '\'\'\'"a"\'\'\'\n',
    '1e1_0\n',
    '1_e1\n',
    '0x_\n',
    '0x_1\n',
    '1.__class__\n',
    '1 .__class__\n',
    '0o8\n',
    '0b_1\n',
    '0_\n',
    '09\n',
    '09.5\n',
    '00.5\n',
    '0e5\n',
    '1E+5\n',
    '09j\n',
    '0__0\n',
    '1.e\n',
    '1._5\n',
    '.e5\n',
    '1.5_\n',
    '0x1.5\n',
    '1if 1else 2\n',
    '0b1and 1\n',
    '0or 1\n',
    '[0x1for x in y]\n',
    'x = 1\t# tab comment\n',
    'not not x\n',
    '- - x\n',
    'x if y else lambda: z\n',
    'lambda: x if y else z\n',
    'del (a)\n',
    'del [a]\n',
    'del (a,)\n',
    'del ()\n',
    'del []\n',
    'x: list[int] = []\n',
    "def f() -> 'x': pass\n",
    'global x, y\n',
    "assert (x, 'msg')\n",
    'import a as b, c\n',
    'from a import b as c, d\n',
    'raise\n',
    'raise E from None\n',
    'while 1: pass\n',
    'if a and \\\n   b:\n    pass\n',
    'for x, in y: pass\n',
    'for (x) in y: pass\n',
    'for [x, y] in z: pass\n',
    'with a, b as c: pass\n',
    'try: pass\nexcept* (A, B): pass\n',
    'class A(*bases, **kw): pass\n',
    'class A(x=1, x=2): pass\n',
    "print(end='')\n",
    'f(**a, **b)\n',
    'f(*a, **b, c=1)\n',
    'f(a for a in b)(c)\n',
    'f(a)(b)[c].d\n',
    'a = 1 if b else 2, 3\n',
    'def f():\n    def g():\n        nonlocal x\n',
    'def f():\n    x = 1\n    def g():\n        nonlocal x\n',
    'def f(x):\n    def g():\n        nonlocal x\n',
    'def f():\n    def g():\n        nonlocal x\n    x = 2\n',
    'class A:\n    nonlocal x\n',
    'def f():\n    global x\n    global x\n',
    'def f():\n    x = 1\n    nonlocal x\n',
    'def f(a):\n    nonlocal a\n',
    'def f():\n    print(x)\n    global x\n',
    'def f():\n    global x\n    x = 1\n',
    'x = 1; del x; global x\n',
    'import x; global x\n',
    'def f(): yield\n',
    'def f(): return; yield\n',
    'x = [i for i in range(3)]; global i\n',
    'lambda x: (x := 1)\n',
    '[x := 1 for x in y]\n',
    '[(y := 1) for x in y if (z := 2)]\n',
    '[i for i in (j := 1)]\n',
    '[(i := 1) for i in y]\n',
    'class A: [(x := 1) for y in z]\n',
    'def f(x=(y := 1)): pass\n',
    'f(x := 1, y)\n',
    'x[a:=1]\n',
    'x[a:=1, b]\n',
    'print((a := 1), b := 2)\n',
    'a[b]: int = 1\n',
    '(a.b): int\n',
    'a, = b\n',
    'a.b.c = d\n',
    '(a)(b) = c\n',
    'a[b](c) = d\n',
    'x = a = b = (c := 1)\n',
    'if x: pass\nelse: pass\n',
    'if x:\n    pass\n  # odd comment\nelse:\n    pass\n',
    'if x:  pass\nelif y:  pass\n',
    'try:\n    pass\nexcept A as e:\n    pass\nexcept (B) as f:\n    pass\nelse:\n    pass\n',
    'class A: x = 1; y = 2\n',
    'def f(): return 1,\ndef f(): return (yield)\n',
    'def f(a, *, b=1, c): pass\n',
    'def f(a=1, *, b, c=2): pass\n',
    'def f(a, b=1, /, c=2): pass\n',
    'def f(a, /, b, *, c, **d): pass\n',
    'def f(**kw,): pass\n',
    'def f(*a,): pass\n',
    'def f(*, a,): pass\n',
    'def f(a, /,): pass\n',
    'lambda *a, **k: 0\n',
    'lambda a, /: 0\n',
    'lambda *, a: 0\n',
    'lambda **k,: 0\n',
    'lambda: 0,\n(lambda: 0)()\n',
    'x = (\n)\n',
    'x = [\n    1,  # one\n    2,\n]\n',
    'if True:\n\tx = 1\n\tif x:\n\t\ty = 2\n',
    'if True:\n        x = 1\n\ty = 2\n',
    'if True:\n\tx = 1\n        y = 2\n',
    'if x:\n  pass\n',
    'if y:\n    pass\n',
    'x = 1 \\\n+ 2\n',
    "x = 'a' \\\n'b'\n",
    "@a\n@b.c\n@d(e)\n@(f)\n@g[0]\n@h if i else j\n@k := l\ndef m(): pass\n",
    "@a\n@(k := l)\ndef m(): pass\n",
    '__debug__\n',
    'x.__debug__ = 1\n',
    'del __debug__\n',
    'print(__debug__)\n',
    'def __debug__(): pass\n',
    'import __debug__\n',
    'for __debug__ in x: pass\n',
    'class __debug__: pass\n',
    'with x as __debug__: pass\n',
    '(__debug__ := 1)\n',
    'x: __debug__ = 1\n',
    '__debug__: int = 1\n',
    "f(**{'__debug__': 1})\n",
    '_gx_echo = 1\n',
    'x._gx_echo\n',
    'import a._gx_b\n',
    'import _gx_a.b as c\n',
    'from _gx_a import b\n',
    'from a import b as _gx_c\n',
    'class A(_gx_b=1): pass\nexcept_ = 1\n',
    'match x:\n    case _: pass\n',
    'match(x).y\n',
    'match.case = 1\n',
    'case = [match]\n',
    'print(match, case, _)\n',
    'type = 1\n',
    'type(x)\n',
    'soft = [m for match in x]\n',
    'async\n',
    'await\n',
    'try:\n    pass\nexcept E as __debug__:\n    pass\n',
    'x = 1\n\x0c\ny = 2\n',
    'if x:\n\x0c    pass\n',
    'if x:\n    pass\n\x0c  \nelse:\n    pass\n',
    'x = 1\r\ny = 2\r\n',
    'x = 1\ry = 2\r',
    'if x:\r\n    pass\r\n',
    'x = (1,\n\n\n2)\n',
    "x = '''a\\\nb'''\n",
    "x = 'a\\\n'\n",
    '\\\nx = 1\n',
    'x = 1 \\\n\n',
    'x = 1\\',
    'if x:\n    pass\n    \n',
    'if x:\n    pass\n\t\n',
    'if x:\n  pass\n \n',
    "def f():\n    '''doc'''\n",
    "class A:\n    '''doc'''\n    x: int\n",
    'x = [1,\n# c\n2]\n',
    'x = {  # c\n}\n',
    "x = f'a' f'''\n{b}\n'''\n",
    "x = f'{a!r}{b!s}{c!a}'\n",
    "x = f'{a:{b}{c}}'\n",
    "x = f'{a:}}}'\n",
    "x = f'{a:{{}'\n",
    "x = f'{{}}'\n",
    "x = f'{a}' b'x'\n",
    "x = rb'\\N' Rb'\\x' bR'\\u'\n",
    "x = '\\8'\n",
    "x = b'\\xzz'\n",
    "x = f'\\xzz{a}'\n",
    "x = rf'\\xzz{a}'\n",
    "x = f'\\N{BULLET}{a}'\n",
    "x = f'\\N{NOPE}{a}'\n",
    "x = f'{a}\\N{BULLET}'\n",
    "x = f'{a:\\N{BULLET}}'\n",
    "x = f'{a:\\n}'\n",
    "x = f'{a!r:\\x41}'\n",
    "x = f'''{a\n!r}'''\n",
    "x = f'''{a:\n}'''\n",
    "x = f'{a\n}'\n",
    'x = f\'{"a"}\'\n',
    'x = f"{\'\'\'a\'\'\'}"\n',
    "x = f'{a}' if b else f'{c}'\n",
    'x = f\'{a["b"]}\'\n',
    "x = f'{a[b]}'\n",
    "x = f'{a(b=1)}'\n",
    "x = f'{a(b==1)}'\n",
    "x = f'{a!=b}'\n",
    "x = f'{a=!r:10}'\n",
    "x = f'{a = !r}'\n",
    "x = f'{a=:}'\n",
    "x = f'{1:{2:{3}}}'\n",
    "x = f'{x:{y}}' f'{z:{w!r}}'\n",
    "x = f'{{a}}'\n",
    "x = f'}}{{'\n",
    "x = f'{a:}' + f'{b:{c}}'\n",
    "x = f'{a}}'\n",
    "x = f'{a}{'\n",
    "x = f'{a:{b}'\n",
    "x = f'{a:b}c}'\n",
    "x = f'{a}' f'}'\n",
    "print(f'{a:>{w}}', f'{b!r:^{w}.{p}}')\n",
    "x = F'{a}' fR'{b}\\d' Rf'{c}'\n",
    "x = u'a' 'b'\n",
    "x = 'é' 'ß'\n",
    'é = 1\nprint(é)\n',
    'x\xa0= 1\n',
    'x = 1 # é\n',
    "x = '\\xe9'\n",
    "x = b'\\xe9'\n",
    "x = '\\777'\n",
    "x = b'\\777'\n",
    'x = 0xFFFFFFFFFFFFFFFFFFFF\n',
    'x = 1_000_000.000_1e1_0j\n',
    'x = 0.\n',
    'x = 0.e0\n',
    'x = 00.e0j\n',
    'x = 1e\n',
    'x = 1e+\n',
    'x = 0b\n',
    'x = 0x\n',
    'x = 0o\n',
    'x = 0b2\n',
    'x = 0o9\n',
    'x = 0xg\n',
    'x = 1.2.3\n',
    'x = 1..real\n',
    'x = 1 .real\n',
    'x = 1j.imag\n',
    'x = 1_000j\n',
    'x = .5.real\n',
    'x = 5.real\n',
    'x = 0x1f.real\n',
    'x = 0x1for\n',
    'x = 1if 1else 0\n',
    'x = 0b1or 1\n',
    'x = 0o7and 1\n',
    'x = 0x1and 1\n',
    'x = 1_if\n',
    'x = a.if\n',
    'x = a.match\n',
    'x = a.None\n',
    'x = a.print\n',
    'x = a.\\\nb\n',
    'x = a . b\n',
    'x = a.__class__\n',
    'x = (a)\n.b\n',
    'x = (a\n.b)\n',
    'x = [i\nfor i in y]\n',
    'for x in y: pass\nelse: pass\n',
    'while x: break\nelse: pass\n',
    'if x:\n    pass\nelif y: pass\nelse:\n    pass\n',
    'if x: pass\nelse: \n    pass\n',
    'if x:\n\n\n    pass\n',
    'if x: # c\n    pass\n',
    'if x:  # c\n  # c\n    pass\n',
    'def f(\n    a,\n    b,\n):\n    pass\n',
    'def f(a,\n      b):\n  return (a +\n  b)\n',
    'class A(\n):\n    pass\n',
    'x = lambda: (\n    1)\n',
    'with open(x) as f, \\\n     open(y) as g:\n    pass\n',
    'with (\n    open(x) as f,\n    open(y) as g,\n):\n    pass\n',
    'with (open(x) as f), open(y):\n    pass\n',
    'with (a, b) as c, d:\n    pass\n',
    'with (a), (b):\n    pass\n',
    'with (a)(b):\n    pass\n',
    'with (a) as b:\n    pass\n',
    'with (a as b) as c:\n    pass\n',
    'with (a as b, c) as d:\n    pass\n',
    'with (yield_):\n    pass\n',
    'with (lambda: 1)():\n    pass\n',
    'with (x for x in y), z:\n    pass\n',
    'with (*a,):\n    pass\n',
    'with (*a, b as c):\n    pass\n',
    'with (a := b, c):\n    pass\n',
    'with (a := b as c):\n    pass\n',
    'with ((a as b)):\n    pass\n',
    'with (a, b,):\n    pass\n',
    'with (a,):\n    pass\n',
    'with a as (b, c):\n    pass\n',
    'with a as [b, *c]:\n    pass\n',
    'with a as b[0]:\n    pass\n',
    'with a as *b:\n    pass\n',
    'with a as b, :\n    pass\n',
    'with:\n    pass\n',
    'x = (yield_ := 1)\n',
    'print(yield_from)\n',
    'asyncio = 1\n',
    'awaiting = 1\n',
    'x = not_a\n',
    'x = a if b else c if d else e\n',
    'x = (a if b else c)(d)\n',
    'x = a if (b if c else d) else e\n',
    'x = lambda a=lambda: 1: a\n',
    'x = lambda: lambda: 1\n',
    'x = [lambda: i for i in y]\n',
    'x = {a: b for a, b in c if a for d in e}\n',
    'x = {**a for a in b}\n',
    'x = {a: *b for a in c}\n',
    'x = [*a, *b for a in c]\n',
    'x = (a for a in b for c in d if e if f)\n',
    'x = [a async for a in b]\n',
    'x = [a for a in b if c else d]\n',
    'x = [a for a in b if lambda: c]\n',
    'x = [a for a in (b if c else d)]\n',
    'x = [a for a in b, c]\n',
    'x = [a for a, in b]\n',
    'x = [a for (a) in b]\n',
    'x = [a for a.b in c]\n',
    'x = [a for a[0] in c]\n',
    'x = [a for *a, b in c]\n',
    'x = [a for *a in c]\n',
    'x = [a for a in b if (c := d)]\n',
    'x = [(c := a) for a in b]\n',
    'def f():\n    [(c := a) for a in b]\n    nonlocal_ = c\n',
    'def f():\n    x = 1\n    def g():\n        [(x := 1) for a in b]\n',
    'def f():\n    def g():\n        nonlocal x\n    [(x := 1) for a in b]\n',
    'def f():\n    def g():\n        nonlocal x\n    for x in y: pass\n',
    'def f():\n    def g():\n        nonlocal x\n    with a as (x, y): pass\n',
    'def f():\n    def g():\n        nonlocal x\n    import x\n',
    'def f():\n    def g():\n        nonlocal x\n    global x\n',
    'def f():\n    def g():\n        nonlocal x\n    del x\n',
    'def f():\n    def g():\n        nonlocal x\n    try: pass\n    except E as x: pass\n',
    'def f():\n    def g():\n        nonlocal x\n    x: int\n',
    'def f():\n    def g():\n        nonlocal x\n    x += 1\n',
    'def f():\n    def g():\n        nonlocal x\n    class x: pass\n',
    'def f():\n    def g():\n        nonlocal x\n    lambda x: 0\n',
    'def f():\n    def g():\n        nonlocal x\n    [x for x in y]\n',
    'def f():\n    x = 1\n    class A:\n        nonlocal x\n',
    'def f():\n    x = 1\n    class A:\n        def g(self):\n            nonlocal x\n',
    'def f():\n    global x\n    def g():\n        nonlocal x\n',
    'def f():\n    nonlocal_x = 1\n    global nonlocal_x\n',
    'def f():\n    x: int = 1\n    global x\n',
    'def f(x):\n    global x\n',
    'def f():\n    global x\n    x: int = 1\n',
    'def f():\n    global f\n',
    'def f():\n    f()\n    global f\n',
    'x = 1\ndef f():\n    global x\n    x = 2\n',
    'global x\nx = 1\nglobal x\n',
    'lambda: (global_ := 1)\n',
    'class A:\n    x = 1\n    global x\n',
    'class A:\n    global x\n    x = 1\n',
    'def f():\n    try:\n        pass\n    finally:\n        return\n',
    'for x in y:\n    try:\n        pass\n    finally:\n        break\n',
    'for x in y:\n    try:\n        pass\n    finally:\n        continue\n',
    'for x in y:\n    class A:\n        break\n',
    'while x:\n    lambda: (yield_)\n',
    'def f():\n    class A:\n        return 1\n',
    'class A:\n    def f(self):\n        return 1\n',
    'def f(*, a=1, b): pass\n',
    'def f(a, b=1, *c, d, e=2, **f): pass\n',
    'def f(a, *, b, **c): pass\n',
    'def f(a, b, /, c, d, *, e, f): pass\n',
    'def f(a=1, /, b=2, *, c): pass\n',
    'def f(a, /, *, b): pass\n',
    'def f(a, /, /): pass\n',
    'def f(a, *, /): pass\n',
    'def f(*a, b, c=1, **d): pass\n',
    'def f(*a: *b): pass\n',
    'def f(a: *b): pass\n',
    'def f(**a: *b): pass\n',
    'def f(a, b): return a\ndef f(a): pass\n',
    'def f(a, *a): pass\n',
    'def f(a, **a): pass\n',
    'lambda a, *, b: 0\n',
    'lambda *, **k: 0\n',
    'lambda a=1, /, b=2: 0\n',
    'lambda a, /, b, *c, d, **e: 0\n',
    'f(a, b, *c, d=1, *e, **f, g=2)\n',
    'f(*a, b=1, c)\n',
    'f(**a, *b)\n',
    'f(a, (b for b in c))\n',
    'f((a for a in b), c)\n',
    'f(a=(b for b in c))\n',
    'f(*(a for a in b))\n',
    'f(a for a in b)\n',
    'f(a = 1)\n',
    'f(a == 1)\n',
    'f(a.b == 1)\n',
    'f(a[0]=1)\n',
    'f(1=2)\n',
    "f(a=1, **{'a': 2})\n",
    'f(*a=1)\n',
    'f(**a=1)\n',
    'f(a:=1)\n',
    'f(a:=1, b:=2)\n',
    'f(a, b:=2)\n',
    'f(b=a:=1)\n',
    'f(a for a in b, )\n',
    'f(,)\n',
    'f(a,,b)\n',
    'f(a b)\n',
    'class A(B, C, metaclass=D, **E): pass\n',
    'class A(B=1, C): pass\n',
    'class A(*B, C): pass\n',
    'class A(**B, *C): pass\n',
    'class A(): pass\n',
    'class A(,): pass\n',
    'class A: pass\nclass B(A): pass\n',
]


@pytest.mark.parametrize("source", VALID)
def test_valid_by_hand(source):
    assert assert_agree(source), source


@pytest.mark.parametrize("source", INVALID)
def test_invalid_by_hand(source):
    assert not assert_agree(source), source


# Found by this test: gradcli's runner accepted a starred augmented value, which CPython's
# compiler refuses ("can't use starred expression here"): runtime/rewrite.py turned
# `x += *a` into a guard call, where `*a` is a legal argument. The runner now refuses it.
RUNNER_DIFFERENCES = ["x = [0]\na = [1]\nx += *a\n", "x.y <<= *a\n", "x[0] -= *a\n"]


@pytest.mark.parametrize("source", RUNNER_DIFFERENCES)
def test_runner_differences_are_python_errors(source):
    with pytest.raises(SyntaxError):
        compile(source, "<program>", "exec")
    with pytest.raises(GradcliSyntaxError):
        python_grammar.parse(source)


@pytest.mark.parametrize("source", RUNNER_DIFFERENCES)
def test_runner_differences(source):
    assert_agree(source)


@pytest.mark.parametrize("source", EDGES)
def test_edge_cases(source):
    assert_agree(source)


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
