"""Every error message gradcli can raise is pinned by a test.

tests/raise_sites.py lists each place in gradcli/ that builds a program error with
literal text.  A site is *pinned* when the expected document of some conformance case
(generated from PyTorch 2.13 by tools/gen_conformance.py) has an error of the same type
whose message matches the site's text, f-string holes matching anything.  A site that
no case pins must be in one of two lists here:

- GRADCLI_OWN: messages that are gradcli's own (its limits, what it does not support
  yet, its command-line options).  Each has a program (or a call) that raises it, and
  test_gradcli_own_message runs it and checks the message.
- PENDING: gradcli's wording differs from PyTorch's and the case showing PyTorch's
  wording is a strict xfail in tests/conformance/known_differences.txt.  The site is
  listed with that case; test_pending_site_is_reached checks that the case really
  reaches the site (so the day the wording is fixed, the site is pinned and the entry
  must go: test_lists_are_not_stale).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raise_sites  # noqa: E402

from gradcli.base.budget import Limits  # noqa: E402
from gradcli.base.errors import ProgramError  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES = HERE / "conformance"


def _broadcast_fallback():
    from gradcli.torch.functions import broadcast_error

    # every pair of shapes that cannot broadcast has a mismatching dimension, which
    # gets PyTorch's message; this is the fallback for a caller passing equal shapes
    return broadcast_error((2,), (2,))


def _inplace_on_a_number():
    from gradcli.torch.functions import inplace

    try:
        inplace(3, None)
    except ProgramError as exc:
        return exc
    return None


def _print_placeholder():
    from gradcli.sandbox.scope import _print_placeholder

    try:
        _print_placeholder("x")
    except ProgramError as exc:
        return exc
    return None


BIG_LITERAL = "x = tensor([[0.0] * 4000] * 4000)"

# (path, message text as raise_sites shows it) -> program (or a call) that raises it;
# a program may be a tuple (program, run() keyword arguments)
GRADCLI_OWN: dict[tuple[str, str], object] = {
    ("gradcli/torch/pointwise.py", "shapes cannot be broadcast"): _broadcast_fallback,
    ("gradcli/torch/inplace.py", "in-place operations need a tensor"): _inplace_on_a_number,
    ("gradcli/sandbox/scope.py", "print is bound by the interpreter"): _print_placeholder,
    ("gradcli/torch/shape.py", "view(dtype) is not supported"): "x = ones(4)\ny = x.view(float64)",
    ("gradcli/torch/nn_functions.py",
     "nll_loss of an input with more than 2 dimensions is not supported yet in gradcli"):
        "loss = F.nll_loss(ones(2, 3, 4), zeros(2, 4, dtype=int64))",
    ("gradcli/torch/inplace.py", "in-place writes through views of this tensor are not supported"):
        "w = ones(3, 4, requires_grad=True)\na = w.t() * 2\nv = a[0]\nv.mul_(2)",
    ("gradcli/torch/inplace.py", "assigning a tensor that requires grad into a slice is not "
     "supported yet in gradcli"):
        "x = ones(3)\nw = ones(1, requires_grad=True)\nx[[0]] = w",
    ("gradcli/torch/inplace.py",
     "indexed assignment into a tensor with history is not supported yet in gradcli"):
        "w = ones(3, requires_grad=True)\ny = w * 2\ny[[0]] = 1.0",
    ("gradcli/sandbox/attributes.py", "gradcli tensors do not take new attributes ('{…}')"):
        "x = ones(2)\nx.foo = 1",
    ("gradcli/runtime/interpreter.py", "the program ran longer than its time limit of {…}"):
        ("x = 0\nfor i in range(10000000):\n    x = x + 1", {"limits": Limits(timeout=0.2)}),
    ("gradcli/runtime/interpreter.py", "the program printed more than {…} characters, gradcli's "
     "limit for one run"): ('s = "a" * 1000\nfor i in range(101000):\n    print(s)', {}),
    ("gradcli/base/budget.py", "a tensor of shape {…} would need {…} as {…}, over gradcli's "
     "memory limit of {…}"): "x = zeros(100000, 100000)",
    ("gradcli/base/budget.py", "a tensor of shape {…} would have {…} elements, over gradcli's "
     "limit of {…} elements per tensor"):
        ("x = ones(1).expand(100)", {"limits": Limits(max_elements=10)}),
    ("gradcli/base/budget.py", "tensor(): a nested list of {…} numbers is over gradcli's limit "
     "of {…} for converting Python lists; build large tensors with zeros/ones/arange/rand "
     "instead"): BIG_LITERAL,
    ("gradcli/sandbox/guards.py", "a string of width {…} exceeds gradcli's limit of {…} "
     "characters"): 'x = "a".rjust(100000000)',
    ("gradcli/sandbox/guards.py", "integer result of {…} ** {…} would have about {…} bits; "
     "gradcli refuses integers over {…} bits"): "x = 2 ** 1000000",
    ("gradcli/sandbox/guards.py", "format width/precision {…} exceeds gradcli's limit of {…}"):
        'x = f"{1:20000}"',
    ("gradcli/sandbox/guards.py", "integer product exceeds gradcli's limit of {…} bits"):
        "a = 2 ** 40000\nb = a * a * a",
    ("gradcli/sandbox/guards.py", "repeating a {…} of length {…} {…} times exceeds gradcli's limit "
     "of {…} elements"): 'x = "ab" * 10000000',
    ("gradcli/sandbox/guards.py", "concatenating {…}s of length {…} and {…} exceeds gradcli's "
     "limit of {…} elements"): 'a = "a" * 6000000\nb = a + a',
    ("gradcli/sandbox/attributes.py",
     "str.replace() would build a string over gradcli's limit of {…} characters"):
        'a = "a" * 1000000\nb = a.replace("a", "aaaaaaaaaaaa")',
    ("gradcli/base/budget.py", "too many dimensions 'list'"):
        "x = tensor(" + "[" * 70 + "1.0" + "]" * 70 + ")",
    ("gradcli/torch/nn/functional.py", "gradcli cannot differentiate {…}'s backward "
     "(create_graph=True)"):
        "import torch\nimport torch.nn.functional as F\nx = torch.ones(2, requires_grad=True)\n"
        "(g,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(x * x, torch.ones(2)), x,"
        " create_graph=True)\n"
        "g.sum().backward()",
    ("gradcli/torch/utils/data.py", "gradcli loads data in the main process only: "
     "num_workers={…} starts worker processes; use num_workers=0"):
        "import torch\nfrom torch.utils.data import DataLoader\n"
        "DataLoader(list(range(4)), num_workers=2)",
    ("gradcli/runtime/executor.py", "the program has used up gradcli's budget of {…} "
     "(loop iterations and function calls together)"):
        ("x = 0\nwhile True:\n    x = x + 1", {"limits": Limits(max_steps=1000)}),
    ("gradcli/runtime/executor.py", "gradcli supports type() with one argument only"):
        'A = type("A", (), {})',
    ("gradcli/runtime/executor.py", "gradcli does not support metaclasses"):
        "class A(metaclass=type):\n    pass",
    ("gradcli/runtime/executor.py", "gradcli cannot make a class from a base of type '{…}'"):
        "class A(3):\n    pass",
    ("gradcli/runtime/executor.py", "gradcli cannot subclass '{…}'"):
        "import torch\nclass A(torch.Tensor):\n    pass",
    ("gradcli/torch/nn/conv.py", "gradcli supports padding_mode='zeros' only, not "
     "padding_mode={…}"):
        "import torch\nfrom torch import nn\nc = nn.Conv2d(1, 1, 3, padding_mode='reflect')",
    # PyTorch's own text, but it prints a Python set, {'valid', 'same'}, in the hash order
    # of the run (PYTHONHASHSEED): no generated case can pin one order
    ("gradcli/torch/nn/conv.py", "Invalid padding string {…}, should be one of "
     "{'valid', 'same'}"):
        "import torch\nfrom torch import nn\nc = nn.Conv2d(1, 1, 3, padding='full')",
    # CPython's parser runs out of stack here and Python stops with a bare MemoryError
    ("gradcli/runtime/rewrite.py", "the program is nested too deeply for Python's parser "
     "(too complex to parse)"): "x = " + "-" * 200_000 + "1",
    ("gradcli/torch/nn/sparse.py", "gradcli does not support embedding's max_norm "
     "(renormalising the weight in place) yet"):
        "import torch\nfrom torch import nn\n"
        "nn.Embedding(4, 2, max_norm=1.0)(torch.tensor([1]))",
    ("gradcli/torch/nn/sparse.py", "gradcli does not support sparse gradients "
     "(embedding with sparse=True) yet"):
        "import torch\nfrom torch import nn\nnn.Embedding(4, 2, sparse=True)(torch.tensor([1]))",
    ("gradcli/torch/matrices.py", "einsum(): ellipsis ('...') is not supported by gradcli yet"):
        "import torch\ny = torch.einsum('...ij->...ji', torch.ones(2, 2, 2))",
    ("gradcli/torch/matrices.py", "{…}(): argument '{…}' must be Number, not {…}"):
        "import torch\ny = torch.addmm(torch.ones(2, 2), torch.ones(2, 2), torch.ones(2, 2), "
        "beta='a')",
    ("gradcli/torch/matrices.py", "linalg.matrix_norm: ord={…} is not supported by gradcli yet"):
        "import torch\ny = torch.linalg.matrix_norm(torch.ones(3, 3), ord='nuc')",
    ("gradcli/torch/ndarray.py", "numpy arrays take numbers, lists and arrays here, not {…}"):
        "import torch\na = torch.ones(2).numpy()\nb = a + {}",
    ("gradcli/torch/ndarray.py",
     "mixing numpy arrays and tensors in one expression is not supported by gradcli yet"):
        "import torch\na = torch.ones(2).numpy()\nb = a + torch.ones(2)",
    ("gradcli/torch/ndarray.py", "a numpy array of {…} elements is over the limit"):
        "import torch\na = torch.ones(10).numpy()\nb = a.repeat(1100000)",
    ("gradcli/torch/ndarray.py", "ndarray.view() with a dtype or type is not supported by gradcli"):
        "import torch\na = torch.ones(2).numpy()\nb = a.view('int32')",
    ("gradcli/torch/ndarray.py", "can't convert np.ndarray of type numpy.{…} to a tensor in "
     "gradcli"): "import torch\na = torch.ones(2).numpy().astype('int8')\nt = torch.from_numpy(a)",
    ("gradcli/torch/matrices.py", "gradcli cannot differentiate {…}'s backward "
     "(create_graph=True)"):
        "import torch\nx = torch.ones(2, 3, requires_grad=True)\n"
        "(g,) = torch.autograd.grad(torch.cdist(x, x * 2).sum(), x, create_graph=True)",
    ("gradcli/torch/ndarray.py", "ndarray() takes a numpy array, not {…}"):
        "import torch\na = torch.ones(2).numpy()\nb = type(a)(print)",
    ("gradcli/torch/ndarray.py", "ndarray() takes a numpy array, not ndarray"):
        "import torch\na = torch.ones(2).numpy()\ntype(a).__init__(a, a)",
    ("gradcli/torch/ndarray.py", "dtype() takes a numpy dtype, not {…}"):
        "import torch\na = torch.ones(2).numpy()\nb = type(a.dtype)(print)",
    ("gradcli/torch/ndarray.py", "numpy dtype {…} is not supported by gradcli"):
        "import torch\na = torch.ones(2).numpy().astype('U3')",
}

# (path, message text) -> the known-difference case that shows PyTorch's wording
PENDING: dict[tuple[str, str], str] = {
    ("gradcli/torch/_common.py", "dim must be an int, not {…}"): "273_err_dim_float",
    ("gradcli/torch/creation.py", "arange() missing required argument 'end'"):
        "276_err_arange_missing_end",
    ("gradcli/torch/random.py", "randint() missing required arguments 'high' and 'size'"):
        "275_err_randint_missing_size",
    ("gradcli/torch/random.py", "normal() missing required argument 'size'"):
        "402_err_normal_missing_size",
    ("gradcli/torch/random.py", "generator must be a torch.Generator, not {…}"):
        "403_err_rand_generator_not_a_generator",
    ("gradcli/torch/pointwise.py", "sub(): argument 'input' (position 1) must be Tensor, not {…}"):
        "280_sub_two_numbers",
    ("gradcli/torch/indexing.py", "an index can only have a single ellipsis ('...')"):
        "325_index_two_ellipsis",
}

# Files whose messages are not all pinned yet. The round-2 modules (torch.nn/optim, the
# generator, hooks and transforms, the Python runtime and its sandbox) left it once each
# of their sites had a case in its own suite (cases_nn_python 014-017, cases_autograd
# 072-076, cases_python 163-167). A file leaves this list once all its sites are pinned
# (test_not_yet_pinned_is_not_stale fails until then).
NOT_YET_PINNED = frozenset({
    # gradcli's own expression parser: since issue 13 programs are parsed by CPython's
    # parser, and this one only reads `gradcli quiz --answer` text
    "gradcli/lang/larkparse.py",
    "gradcli/lang/strings.py",
    "gradcli/lang/depth.py",
    # the language's grammar (grammar/python.lark): programs run through CPython's parser,
    # and test_grammar_differential holds this one to it on acceptance, not on wording
    "gradcli/lang/python_grammar.py",
})

SITES = raise_sites.all_sites()
EXPECTED = raise_sites.expected_errors()


def pinned_by(site: raise_sites.Site) -> list[str]:
    return [case for case, t, m in EXPECTED if site.matches(t, m)]


def site_key(site: raise_sites.Site) -> tuple[str, str]:
    return (site.path, site.text)


def sites_for(key: tuple[str, str]) -> list[raise_sites.Site]:
    return [s for s in SITES if site_key(s) == key]


def run_program(source: str, **kwargs):
    from gradcli.runtime.interpreter import run

    return run(source, "<test>", seed=0, **kwargs).error


def test_the_scanner_finds_the_sites() -> None:
    """The scanner sees raise statements, helpers, f-strings and concatenations."""
    texts = {s.text for s in SITES}
    assert len(SITES) > 150
    assert "Tensors must have same number of dimensions: got {…} and {…}" in texts
    assert "mat1 and mat2 shapes cannot be multiplied ({…} and {…})" in texts
    assert "unsupported operand type(s) for {…}: 'Tensor' and '{…}'" in texts
    assert any(s.type_name == "TabError" for s in SITES)
    site = next(s for s in SITES if s.text.startswith("Tensors must have same number"))
    assert site.matches("RuntimeError", "Tensors must have same number of dimensions: got 2 and 1")
    assert not site.matches("RuntimeError", "Tensors must have the same number of dimensions: "
                            "got 2 and 1")
    assert not site.matches("TypeError", "Tensors must have same number of dimensions: got 2 and 1")


@pytest.mark.parametrize("site", SITES, ids=[f"{s.path}:{s.line}" for s in SITES])
def test_every_message_is_pinned(site: raise_sites.Site) -> None:
    key = site_key(site)
    if key in GRADCLI_OWN or key in PENDING:
        return  # checked by the tests below
    if site.path in NOT_YET_PINNED:
        pytest.skip(f"{site.path}: its messages are not all pinned yet (NOT_YET_PINNED)")
    assert pinned_by(site), (
        f"{site.where()} raises {site.type_name}: {site.text!r}, and no conformance case "
        "expects that message. Add a case in tests/conformance/cases/ that makes PyTorch "
        "raise it (tools/gen_conformance.py writes the expected file), or, if the message "
        "is gradcli's own, an entry in GRADCLI_OWN."
    )


def test_not_yet_pinned_is_not_stale() -> None:
    for path in NOT_YET_PINNED:
        sites = [s for s in SITES if s.path == path]
        assert any(not pinned_by(s) and site_key(s) not in GRADCLI_OWN for s in sites), (
            f"every message of {path} is pinned now: remove it from NOT_YET_PINNED")


def test_lists_are_not_stale() -> None:
    keys = {site_key(s) for s in SITES}
    for key in [*GRADCLI_OWN, *PENDING]:
        assert key in keys, f"no raise site has the message {key}: remove the entry"
        for site in sites_for(key):
            assert not pinned_by(site), f"{key} is pinned by {pinned_by(site)}: remove the entry"


@pytest.mark.parametrize("key", list(GRADCLI_OWN), ids=[k[1][:50] for k in GRADCLI_OWN])
def test_gradcli_own_message(key, monkeypatch) -> None:
    trigger = GRADCLI_OWN[key]
    if "printed more than" in key[1]:
        import gradcli.runtime.interpreter

        monkeypatch.setattr(gradcli.runtime.interpreter, "MAX_OUTPUT_CHARS", 100_000)
    if callable(trigger):
        error = trigger()
    else:
        source, kwargs = trigger if isinstance(trigger, tuple) else (trigger, {})
        error = run_program(source, **kwargs)
    assert error is not None, f"{key[1]!r}: the trigger raised nothing"
    type_name = getattr(error, "type_name", None) or getattr(error, "type", None)
    message = getattr(error, "message", str(error))
    sites = sites_for(key)
    assert any(s.matches(type_name, message) for s in sites), (
        f"expected {sites[0].type_name}: {key[1]!r}, got {type_name}: {message!r}"
    )


@pytest.mark.parametrize("key", list(PENDING), ids=[PENDING[k] for k in PENDING])
def test_pending_site_is_reached(key) -> None:
    from test_conformance import KNOWN

    stem = PENDING[key]
    assert stem in KNOWN, f"{stem} must be a strict xfail in known_differences.txt"
    path = next(CASES.glob(f"cases*/{stem}.expr"))
    error = run_program(path.read_text(encoding="utf-8"))
    assert error is not None
    message = re.sub(r"\s+", " ", error.message)
    assert any(s.matches(error.type, message) for s in sites_for(key)), (
        f"{stem} raises {error.type}: {error.message!r}, not the site's message"
    )
