"""SPEC §1.9 with the Python of §1.6: whatever Python a program writes, it reaches nothing
but computing and printing. Each escape family that broke another Python sandbox is tried
here; every one must end in the documented error (the one Python gives for a missing name
or attribute, or a clear gradcli refusal), at the right line, with nothing of the host
printed."""

from __future__ import annotations

import pytest

from gradcli.runtime.interpreter import run

# What would show that a program reached the host: paths, frames, code, gradcli's objects.
HOST_WORDS = ("/usr", "/work", "site-packages", "<frame", "<code", "<module", "Runtime",
              "Guards", "posix", "0x")

# (name, program, expected error type, expected line)
ESCAPES = [
    # dunder walks from literals, functions, classes, instances, exceptions
    ("literal_class_bases", "print(().__class__.__bases__)", "AttributeError", 1),
    ("literal_subclasses", "print(object.__subclasses__())", "AttributeError", 1),
    ("class_dict", "print(type(1).__dict__)", "AttributeError", 1),
    ("class_mro", "print(type(1).mro())", "AttributeError", 1),
    ("function_globals", "def f():\n    pass\nprint(f.__globals__)", "AttributeError", 3),
    ("function_code", "f = lambda: 1\nprint(f.__code__.co_consts)", "AttributeError", 2),
    ("function_closure_cells",
     "def outer():\n    x = 1\n    def inner():\n        return x\n    return inner\n"
     "print(outer().__closure__)", "AttributeError", 6),
    ("builtin_self", "print(print.__self__)", "AttributeError", 1),
    ("method_func", "class A:\n    def m(self):\n        pass\nprint(A().m.__func__)",
     "AttributeError", 4),
    ("instance_dict", "class A:\n    pass\nprint(A().__dict__)", "AttributeError", 3),
    ("exception_traceback",
     "try:\n    1 / 0\nexcept Exception as e:\n    print(e.__traceback__.tb_frame)",
     "AttributeError", 4),
    ("exception_context",
     "try:\n    1 / 0\nexcept Exception as e:\n"
     "    print(e.__context__, e.with_traceback(None).__traceback__)",
     "AttributeError", 4),
    # generator and coroutine frames (simpleeval#138)
    ("generator_frame", "g = (i for i in [1])\nprint(g.gi_frame.f_globals)",
     "AttributeError", 2),
    ("generator_code", "g = (i for i in [1])\nprint(g.gi_code)", "AttributeError", 2),
    # str.format / format_map field paths (smolagents#2271)
    ("format_field_class", 'print("{0.__class__}".format(1))', "AttributeError", 1),
    ("format_field_globals", 'def f():\n    pass\nprint("{0.__globals__}".format(f))',
     "AttributeError", 3),
    ("format_map", 'print("{x.__class__}".format_map({"x": 1}))', "AttributeError", 1),
    ("format_via_class", 'print(str.format("{0.__class__}", 1))', "AttributeError", 1),
    # shadowing an injected guard (GHSA-ffg3-p8fm-mjx2)
    ("shadow_guard_parameter", "def f(_gx_ga):\n    return _gx_ga\nprint(f(1))",
     "SyntaxError", 1),
    ("shadow_guard_global", "_gx_step = print", "SyntaxError", 1),
    ("shadow_guard_attribute", "class A:\n    pass\nA()._gx_program", "SyntaxError", 3),
    ("builtins_name", "print(__builtins__)", "NameError", 1),
    ("assign_builtins", "__builtins__ = {}", "SyntaxError", 1),
    ("build_class_name", "print(__build_class__)", "NameError", 1),
    # type.__dict__ lookups with names built by chr (crewAI#4643)
    ("getattr_chr_dunder", "n = chr(95) * 2 + 'dict' + chr(95) * 2\nprint(getattr(type, n))",
     "AttributeError", 2),
    ("getattr_chr_subclasses",
     "n = chr(95) * 2 + 'subclasses' + chr(95) * 2\nprint(getattr(object, n)())",
     "AttributeError", 2),
    ("getattr_reserved", "print(getattr(print, '_gx_x'))", "AttributeError", 1),
    # __init_subclass__, __class_getitem__, metaclass keywords, super() tricks
    ("metaclass_base", "class M(type):\n    pass", "TypeError", 1),
    ("metaclass_argument", "class A(metaclass=type):\n    pass", "TypeError", 1),
    ("super_getattribute", "class A:\n    pass\nprint(super(A, A()).__getattribute__)",
     "AttributeError", 3),
    ("super_of_generator",
     "g = (i for i in [1])\nprint(super(type(g), g).gi_frame)", "AttributeError", 2),
    ("object_setattr_any", "object.__setattr__(print, 'x', 1)", "AttributeError", 1),
    ("object_getattribute", "print(object.__getattribute__(1, '__class__'))",
     "AttributeError", 1),
    ("reduce_ex", "print((1).__reduce_ex__(2))", "AttributeError", 1),
    ("type_three_arguments", "T = type('T', (), {})", "TypeError", 1),
    # decorators and default arguments evaluated at definition time
    ("decorator_walk", "@(lambda f: f.__globals__)\ndef g():\n    pass",
     "AttributeError", 1),
    ("default_walk", "def f(x=().__class__.__base__):\n    return x", "AttributeError", 1),
    # modules and names kept out
    ("import_os", "import os", "ModuleNotFoundError", 1),
    ("import_sys_from", "from sys import modules", "ModuleNotFoundError", 1),
    ("import_builtins", "import builtins", "ModuleNotFoundError", 1),
    ("import_subprocess", "import subprocess", "ModuleNotFoundError", 1),
    ("open", "open('/etc/passwd')", "NameError", 1),
    ("eval", "eval('1')", "NameError", 1),
    ("exec", "exec('x = 1')", "NameError", 1),
    ("compile", "compile('1', 'f', 'eval')", "NameError", 1),
    ("globals", "print(globals())", "NameError", 1),
    ("locals", "def f():\n    return locals()\nf()", "NameError", 2),
    ("vars", "print(vars())", "NameError", 1),
    ("dunder_import", "__import__('os')", "NameError", 1),
    ("breakpoint", "breakpoint()", "NameError", 1),
    ("input", "input()", "NameError", 1),
    ("exit", "exit()", "NameError", 1),
    ("random_internals", "import random\nprint(random._os)", "AttributeError", 2),
    ("random_bound_self", "import random\nprint(random.random.__self__)", "AttributeError", 2),
    ("math_module_loader", "import math\nprint(math.__loader__)", "AttributeError", 2),
    ("functools_partial_func", "import functools\nprint(functools.partial(print).func.__self__)",
     "AttributeError", 2),
    ("torch_module_internals", "import torch\nprint(torch.__dict__)", "AttributeError", 2),
    ("tensor_internals", "import torch\nprint(torch.tensor(1.).array)", "AttributeError", 2),
    ("grad_fn_internals", "import torch\nx = torch.tensor(1., requires_grad=True)\n"
     "print((x * 2).grad_fn.op)", "AttributeError", 3),
    ("namespace_members", "import torch\nprint(torch.members)", "AttributeError", 2),
    ("reinit_grad_fn", "import torch\nx = torch.tensor(1., requires_grad=True)\n"
     "(x * 2).grad_fn.__init__(None, (), None, None, None, ())", "AttributeError", 3),
    ("reinit_namespace", "import torch\ntorch.__init__('torch', {})", "AttributeError", 2),
    ("tensor_method_func", "import torch\nprint(torch.tensor(1.).abs.func)",
     "AttributeError", 2),
    ("subclass_namespace", "import torch\nclass T(type(torch)):\n    pass", "TypeError", 2),
]


@pytest.mark.parametrize("name,program,error,line", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape_is_refused(name, program, error, line):
    result = run(program, "<escape>")
    assert result.error is not None, f"{name}: ran to the end, printing {result.stdout!r}"
    assert result.error.type == error, (name, result.error)
    assert result.error.line == line, (name, result.error)
    shown = result.stdout + " " + result.error.message
    for word in HOST_WORDS:
        assert word not in shown, (name, word, shown)


def test_print_shows_no_runtime():
    result = run("print(print, display)\nimport functools\n"
                 "print(functools.partial(print, 1).func)", "<p>")
    assert result.error is None, result.error
    assert result.stdout == ("<built-in function print> <built-in function display>\n"
                             "<built-in function print>\n")


def test_refusals_are_catchable_as_python_errors():
    result = run("try:\n    (1).__class__.__bases__\nexcept AttributeError as e:\n"
                 "    print('refused:', e)\n", "<p>")
    assert result.error is None
    assert result.stdout == "refused: 'type' object has no attribute '__bases__'\n"


@pytest.mark.parametrize("program,keyword,line,column", [
    ("def gen():\n    yield 1\n", "yield", 2, 5),
    ("def gen():\n    yield from [1]\n", "yield", 2, 5),
    ("async def f():\n    pass\n", "async", 1, 1),
    ("match 1:\n    case 1:\n        pass\n", "match", 1, 1),
    ("x = [(yield) for i in range(2)]\n", "yield", 1, 7),
])
def test_unsupported_construct_says_so(program, keyword, line, column):
    result = run(program, "<p>")
    assert result.error is not None
    assert result.error.type == "SyntaxError"
    assert result.error.message == f"'{keyword}' is not supported by gradcli"
    assert (result.error.line, result.error.column) == (line, column)


# ----- resources -----------------------------------------------------------------------

@pytest.mark.parametrize("program,error", [
    ("def f(n):\n    return f(n + 1)\nf(0)", "RecursionError"),
    ("class A:\n    def __repr__(self):\n        return repr(self)\nprint(A())",
     "RecursionError"),
    ("while True:\n    pass", "TimeoutError"),
    ("def f():\n    while True:\n        try:\n            pass\n        except BaseException:\n"
     "            pass\nf()", "TimeoutError"),
    ("while True:\n    try:\n        while True:\n            pass\n    except Exception:\n"
     "        pass", "TimeoutError"),
    ("xs = [0] * 10**10", "MemoryError"),
    ("s = 'x'\nwhile True:\n    s += s", "MemoryError"),
    ("n = 10 ** 10 ** 10", "MemoryError"),
    ("print(sum(range(10**12)))", "TimeoutError"),
    ("print([i for i in range(10**12)])", "TimeoutError"),
    ("xs = []\nwhile True:\n    xs.append(xs)", "TimeoutError"),
])
def test_runaway_programs_end_with_a_clear_error(program, error):
    from gradcli.base.budget import Limits

    result = run(program, "<p>", limits=Limits(max_steps=200_000))
    assert result.error is not None, program
    assert result.error.type == error, (program, result.error)


def test_caught_budget_error_still_ends_the_run():
    from gradcli.base.budget import Limits

    program = ("n = 0\ntry:\n    while True:\n        n += 1\nexcept Exception as e:\n"
               "    print('caught')\nprint('after')\n")
    result = run(program, "<p>", limits=Limits(max_steps=1000))
    assert result.error is not None and result.error.type == "TimeoutError"
