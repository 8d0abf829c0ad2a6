"""`gradcli help [TOPIC]`: the language reference (and each command's help) in the terminal.

`gradcli help language` prints a man-page-like reference of the `.expr` language. The
lists of names are read from the allow-lists the interpreter itself uses (names.py,
attributes.py), so the page cannot drift from what programs can reach.
"""

from __future__ import annotations

import os
import sys
import textwrap

import click

from gradcli.cli.commands.options import color_choice, color_options, examples
from gradcli.views.highlight import highlight
from gradcli.views.terminal import color_enabled

WIDTH = 78

# (section title, paragraphs); a paragraph starting with "$ " is code, kept as written.
LANGUAGE = [
    ("NAME", ["gradcli language - Python 3.11 with PyTorch's names, in a sandbox"]),
    ("RULE OF MEANING", [
        "A program means exactly what the same text means to Python 3.11 + PyTorch 2.13 with "
        "the names below in scope. PyTorch is the oracle: values, gradients, grad_fn class "
        "names, is_leaf, requires_grad, error types and messages, warnings, and the text "
        "print writes. The deliberate differences are listed under DIFFERENCES.",
        "The language is defined by the Lark grammar grammar/python.lark: Python 3.11 "
        "without yield, async/await and the match statement.",
        "Nothing you write is handed to Python's eval or exec as text: gradcli parses it "
        "with CPython's parser (held to the grammar by differential tests), refuses what "
        "is left out, rewrites the tree so every "
        "attribute, import, loop and call goes through its guards, and compiles the "
        "checked tree. A program can compute, print and build graphs, and nothing else.",
    ]),
    ("PYTHON", [
        "def (defaults, keywords, *args, **kwargs, keyword-only), lambda, closures, "
        "nonlocal, global, recursion (RecursionError at Python's limit), decorators "
        "(@torch.no_grad(), @staticmethod, @classmethod, @property, your own); if/elif/"
        "else, while/else, for over any iterable with unpacking, break, continue, "
        "try/except/else/finally, raise, assert, del, with; lists, tuples, dicts, sets, "
        "comprehensions, generator expressions, * and ** unpacking, slicing, string "
        "methods, % and str.format, f-strings; classes with inheritance, super(), "
        "properties and the operator methods a program defines (a micrograd Value class "
        "runs as under Python).",
        "$ def loss_fn(w, b):",
        "$     return ((w * x + b - y) ** 2).mean()",
        "$ try:",
        "$     y.backward()",
        "$ except RuntimeError as e:    # PyTorch's error; str(e) is its message",
        "$     print(e)",
        "Modules: torch (and its submodules), math, functools, itertools, random (seeded "
        "from --seed), IPython.display; import numpy as np gives np.pi, np.e, np.inf, "
        "np.nan. Builtins: Python's, except what the sandbox keeps out.",
        "Not supported, each a SyntaxError that says so: yield, async/await, match.",
    ]),
    ("THE SANDBOX", [
        "No open, exec, eval, compile, input, __import__, globals, locals, vars, "
        "breakpoint or exit; no module but the ones above; no attribute whose name starts "
        "and ends with __ except the protocol methods a program's own classes define and "
        "call, and __name__, __doc__, __class__. Each refusal is the error Python gives for "
        "a missing name or attribute. --max-steps counts loop iterations and function "
        "calls, --max-memory tensors and Python values, --timeout the clock.",
    ]),
    ("STATEMENTS", [
        "$ a = expr                     # assignment; also a = b = expr",
        "$ v, i = x.max(dim=0)          # tuple targets; g, = torch.autograd.grad(y, [x])",
        "$ w -= lr * w.grad             # += -= *= /= //= %= **= @= (in-place on tensors)",
        "$ t.requires_grad = True       # attribute assignment: requires_grad, grad, data",
        "$ L.backward(); print(a.grad)  # expression statements, ; between statements",
        "$ with torch.no_grad():        # also enable_grad(), set_grad_enabled(False),",
        "$     w -= lr * w.grad         # with or without torch., nested",
        "$ for i in range(3):           # any iterable: lists, dicts, zip(), tensors",
        "$     loss = (w * x).sum()",
        "$ if x.sum() > 0:              # if / elif / else",
        "$     pass",
        "$ import torch                 # also import torch.nn.functional as F, math, ...",
        "Comments start with #. Blank lines are free. A line continues inside brackets or "
        "after a backslash. Blocks are indented with spaces or tabs, consistently, as "
        "Python requires. A bare string statement is a docstring (no effect).",
    ]),
    ("EXPRESSIONS", [
        "Literals: ints, floats (1e-3, .5), True, False, None, strings in every quote style, "
        "f-strings with {expr}, {expr=} and a format spec ({x:.4f}), lists, tuples, list "
        "comprehensions.",
        "Operators, with Python's precedence: + - * / // % ** @, unary - + ~, comparisons "
        "< <= > >= == != (element-wise on tensors), and, or, not, is, in, and "
        "a if cond else b.",
        "Calls with positional and keyword arguments, attributes, methods, and indexing: "
        "ints, slices with steps, None, ..., tuples of these, and PyTorch's advanced "
        "indexing with a bool mask or an integer tensor or list, gradients included:",
        "$ x[0]   x[:, 1]   x[1:3, ::2]   x[..., None]   x[x > 0]   logp[arange(3), y]",
    ]),
    ("NAMES IN SCOPE", ["@names"]),
    ("AUTOGRAD, IN BRIEF", [
        "The default dtype is float32. requires_grad is contagious: a result requires grad "
        "when any input does. Leaves are the tensors with requires_grad=False and those "
        "with requires_grad=True that you created; only leaves get .grad, plus non-leaves "
        "that called retain_grad(). Reading .grad of a non-leaf warns.",
        "backward() on a non-scalar needs gradient=. A second backward through freed "
        "buffers fails unless retain_graph=True. Gradients accumulate across backward "
        "calls (reset with w.grad = None or w.grad.zero_()). Broadcasting is undone in "
        "backward by summing. no_grad records nothing and saves nothing. "
        "create_graph=True records the backward pass itself, so gradients of gradients "
        "work (Newton's method, Hessian-vector products).",
        "grad_fn names are PyTorch's: AddBackward0, RsubBackward1, PowBackward0/1/2, "
        "MmBackward0, SelectBackward0, AccumulateGrad, ...",
    ]),
    ("DIFFERENCES FROM PYTORCH", [
        "Random numbers are PyTorch's CPU generator's, but every run starts from seed 0 "
        "(or --seed N) where PyTorch starts at random: after torch.manual_seed(0) a "
        "program prints PyTorch's numbers.",
        "Uninitialised storage (Tensor(3, 5), empty) is zero-filled.",
        "Object addresses in <MulBackward0 object at 0x...> are gradcli's own.",
        "No CUDA and no complex dtypes: the device is the CPU.",
    ]),
    ("EXAMPLE", [
        "$ x = tensor([1.0, 2.0, 3.0], requires_grad=True)",
        "$ y = (x ** 2).sum()           # SumBackward0",
        "$ y.backward()",
        "$ print(x.grad)                # tensor([2., 4., 6.])",
        "Run it with gradcli eval FILE, look at it with gradcli show FILE, try it line by "
        "line in gradcli repl.",
    ]),
    ("SEE ALSO", [
        "gradcli eval --help, gradcli repl --help, gradcli show --help, gradcli completion "
        "--help; gradcli examples lists the example programs installed with gradcli.",
    ]),
]


def _names_section() -> list[str]:
    from gradcli.sandbox import attributes
    from gradcli.sandbox import scope as names

    scope = names.global_scope()
    python = sorted(set(names.PYTHON_BUILTINS) | {"print"})
    torch_members = names.TORCH.members
    bare = sorted(name for name in names.BARE_TORCH if name not in names.TORCH_DTYPES)
    torch_only = sorted(
        name for name, value in torch_members.items()
        if name not in scope and not isinstance(value, names.Namespace)
        and name not in names.TORCH_DTYPES
    )  # fmt: skip
    properties = sorted(name for name in attributes.TENSOR_PROPERTIES if not name.startswith("_"))
    return [
        "Each name works in every form PyTorch offers it: bare (log(d), as from torch import "
        "* binds it), as torch.log(d), and as a method (d.log()). A form PyTorch lacks "
        "(bare view) is a NameError or AttributeError here too.",
        "Torch functions, bare and as torch.NAME: " + " ".join(bare) + ".",
        "Only as torch.NAME: " + " ".join(torch_only) + ".",
        "dtypes: " + " ".join(sorted(names.TORCH_DTYPES)) + " (bare or torch.NAME); Python's "
        "float, int and bool given as a dtype mean float64, int64 and bool, as in PyTorch.",
        "F. (torch.nn.functional): " + " ".join(sorted(names.FUNCTIONAL.members)) + ".",
        "torch.autograd.: " + " ".join(sorted(names.AUTOGRAD.members)) + ".",
        "Tensor properties: " + " ".join(properties) + ".",
        "Tensor methods: " + " ".join(sorted(attributes.TENSOR_METHODS)) + ".",
        "grad_fn nodes: .name() .next_functions .variable (AccumulateGrad) .metadata.",
        "Python builtins: " + " ".join(python) + "; abs min max sum act like Python's on "
        "numbers and like torch's on tensors.",
        "Functions take the positional and keyword arguments PyTorch 2.13 accepts, with its "
        "defaults (flatten(start_dim=1), norm(p=1), var(unbiased=False)).",
    ]


def render_language(color: bool) -> str:
    def bold(text):
        return f"\x1b[1m{text}\x1b[0m" if color else text

    title = "GRADCLI-LANGUAGE(7)"
    out = [bold(title) + " " * max(WIDTH - 2 * len(title), 1) + bold(title), ""]
    for heading, paragraphs in LANGUAGE:
        out.append(bold(heading))
        if paragraphs == ["@names"]:
            paragraphs = _names_section()
        previous_code = False
        for paragraph in paragraphs:
            if paragraph.startswith("$ "):
                out.append("       " + highlight(paragraph[2:], color))
                previous_code = True
                continue
            if previous_code:
                out.append("")
            previous_code = False
            out.extend(textwrap.wrap(paragraph, WIDTH, initial_indent="       ",
                                     subsequent_indent="       ", break_on_hyphens=False))
            out.append("")
        if previous_code:
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def page(text: str) -> None:
    """The text through $PAGER or less. click sets LESS=-R (so less shows colours instead
    of raw `ESC[1m`) only when asked to decide about colour itself (color=None), and
    strips the escapes for a pager that cannot show them."""
    click.echo_via_pager(text, color=None)


TOPICS = {"language": "the .expr language reference (man-page style)"}


@click.command("help", short_help="The language reference, or a command's help.",
               epilog=examples("gradcli help language", "gradcli help check",
                                      "gradcli help language --no-pager | grep -A3 EXAMPLE"))
@click.argument("topic", required=False)
@color_options
@click.option("--pager/--no-pager", default=None,
              help="Page the output (default: on a terminal, with $PAGER or less).")
@click.pass_context
def command(ctx, topic, color_mode, no_color, pager):
    """Help on TOPIC: `language`, or a command name (eval, repl, show, ...)."""
    root = ctx.find_root().command
    if topic is None:
        click.echo(ctx.find_root().get_help())
        click.echo("\nTopics:\n  " + "\n  ".join(f"{name:10} {text}" for name, text
                                               in TOPICS.items()))
        click.echo("  COMMAND    the help of that command (same as gradcli COMMAND --help)")
        return
    if topic == "language":
        color = color_enabled(color_choice(color_mode, no_color), sys.stdout)
        text = render_language(color)
        use_pager = pager if pager is not None else (
            sys.stdout.isatty() and sys.stdin.isatty() and os.environ.get("TERM") != "dumb")
        if use_pager:
            page(text)
        else:
            click.echo(text, nl=False, color=color)
        return
    sub = root.get_command(ctx, topic) if isinstance(root, click.Group) else None
    if sub is None:
        raise click.UsageError(
            f"no help topic '{topic}'; topics: language, "
            + ", ".join(sorted(root.list_commands(ctx))), ctx=ctx)
    with click.Context(sub, info_name=topic, parent=ctx.find_root()) as sub_ctx:
        click.echo(sub.get_help(sub_ctx))
