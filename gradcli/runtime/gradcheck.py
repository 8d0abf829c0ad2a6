"""gradcli check: autograd's gradients against central finite differences, in float64.

The program is run once to get the analytic gradient of the output (`--of`, by default
the last scalar that backward() was called on) with respect to each leaf, then re-run
with one leaf element nudged by ±eps at the moment the leaf is first bound. Everything
runs with float32 promoted to float64, so the differences are meaningful.

A point where the two one-sided differences disagree (relu at 0, abs at 0, a max tie)
is reported as non-differentiable rather than as a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gradcli.autodiff import engine
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError
from gradcli.runtime.interpreter import run

MAX_ELEMENTWISE = 64  # larger leaves get a random-projection check instead


@dataclass
class ElementCheck:
    index: str
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    status: str  # "ok", "FAIL", "kink"


@dataclass
class LeafCheck:
    name: str
    shape: tuple
    method: str  # "elementwise" or "projection"
    elements: list[ElementCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(e.status != "FAIL" for e in self.elements)


@dataclass
class CheckReport:
    output: str
    leaves: list[LeafCheck]
    atol: float
    rtol: float
    eps: float
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(leaf.passed for leaf in self.leaves)

    def worst(self):
        worst = None
        for leaf in self.leaves:
            for element in leaf.elements:
                if element.status == "FAIL" and (
                        worst is None or element.abs_error > worst[1].abs_error):
                    worst = (leaf, element)
        return worst


class CheckError(Exception):
    """The check cannot run (the program fails, no output scalar, unknown name)."""

    usage = False  # True: the command line named the wrong thing (exit 2)
    syntax = False


class CheckUsageError(CheckError):
    """--of/--wrt name something that is not there, or not the right kind of tensor."""

    usage = True


class _Perturbing(dict):
    """Program variables that nudge one leaf element the first time the leaf is bound."""

    def __init__(self, name, index, delta):
        super().__init__()
        self.target, self.index, self.delta, self.done = name, index, delta, False

    def __setitem__(self, key, value):
        if key == self.target and not self.done and isinstance(value, Tensor):
            value.array = np.array(value.array, dtype=np.float64, copy=True)
            flat = value.array.reshape(-1)
            if self.index is None:
                flat += self.delta  # a whole direction vector
            else:
                flat[self.index] += self.delta
            self.done = True
        super().__setitem__(key, value)


def _run64(source, filename, seed, bindings=None, roots=None):
    hook = roots.append if roots is not None else None
    dtypes.FORCE_FLOAT64, saved_default = True, dtypes.DEFAULT_FLOAT
    dtypes.DEFAULT_FLOAT = dtypes.float64
    if hook:
        engine.BACKWARD_HOOKS.append(hook)
    try:
        return run(source, filename, seed=seed, bindings=bindings)
    finally:
        dtypes.FORCE_FLOAT64, dtypes.DEFAULT_FLOAT = False, saved_default
        if hook:
            engine.BACKWARD_HOOKS.remove(hook)


def _scalar_of(result, name):
    for record in result.tensors:
        if record.name == name:
            t = record.tensor
            if t.array.size != 1:
                raise CheckUsageError(f"--of {name}: tensor has {t.array.size} elements, not 1")
            return float(t.array.reshape(()))
    raise CheckUsageError(f"--of {name}: no tensor of that name at the end of the program")


def check(source: str, filename: str, of: str | None = None, wrt=(), atol=1e-5, rtol=1e-3,
          eps=1e-6, seed: int | None = None) -> CheckReport:
    roots: list = []
    base = _run64(source, filename, seed, roots=roots)
    if base.error is not None:
        e = base.error
        error = CheckError(
            f"the program fails: {filename}:{e.line}:{e.column}: {e.type}: {e.message}")
        error.syntax = e.phase == "parse"
        raise error
    named = {record.name: record.tensor for record in base.tensors}
    notes = []
    last_root = None
    scalar_roots = [group[0] for group in roots if len(group) == 1 and group[0].array.size == 1]
    if scalar_roots:
        last_root = scalar_roots[-1]
    if of is None:
        if last_root is None:
            raise CheckError("no backward() on a scalar in the program: name the output with --of")
        of = next((name for name, t in named.items() if t is last_root), None)
        if of is None:
            raise CheckError("the tensor backward() was called on has no name: use --of NAME")
    else:
        _check_output(of, named)
    leaves = list(wrt) or [name for name, t in named.items()
                           if t.grad_fn is None and t.requires_grad]
    for name in leaves:
        if name not in named:
            raise CheckUsageError(f"--wrt {name}: no tensor of that name")
        if named[name].grad_fn is not None:
            raise CheckUsageError(
                f"--wrt {name}: {name} is not a leaf (its grad_fn is "
                f"{named[name].grad_fn.name()}); name a leaf that requires grad")
        if not named[name].requires_grad:
            raise CheckUsageError(f"--wrt {name}: {name} does not require grad")
    if named[of] is last_root and len(roots) == 1:
        # The one backward() of the program ran on the output: its .grad is the answer.
        grads = {name: named[name].grad for name in leaves}
    else:
        # Another output, or several backward passes: .grad holds some other (or summed)
        # gradient, so differentiate the output itself, on its own graph.
        try:
            grads = _fresh_gradients(named, of, leaves)
        except CheckError:
            if named[of] is not last_root:
                raise
            # The output's graph was freed by its own backward(): all that is left is .grad.
            grads = {name: named[name].grad for name in leaves}
            notes.append(f"backward() ran {len(roots)} times: analytic gradients are the "
                         "accumulated .grad")
    report = CheckReport(of, [], atol, rtol, eps, notes)
    for name in leaves:
        report.leaves.append(
            _check_leaf(source, filename, seed, of, name, named[name], grads[name], atol, rtol,
                        eps))
    return report


def _check_output(of: str, named: dict) -> None:
    if of not in named:
        raise CheckUsageError(f"--of {of}: no tensor of that name at the end of the program")
    tensor = named[of]
    if tensor.grad_fn is None:
        raise CheckUsageError(
            f"--of {of}: {of} is a leaf; name the output computed from the leaves "
            "(a tensor with a grad_fn)")
    if tensor.array.size != 1:
        raise CheckUsageError(f"--of {of}: tensor has {tensor.array.size} elements, not 1")


def _fresh_gradients(named: dict, of: str, leaves: list[str]) -> dict:
    """d(of)/d(leaf) by autograd.grad on the output's graph, leaving every .grad alone."""
    try:
        values = engine.grad([named[of]], [named[name] for name in leaves],
                             retain_graph=True, allow_unused=True)
    except ProgramError as exc:
        raise CheckError(f"cannot differentiate {of}: {exc}") from None
    return dict(zip(leaves, values, strict=True))


def _f(source, filename, seed, of, name, index, delta):
    result = _run64(source, filename, seed, bindings=_Perturbing(name, index, delta))
    if result.error is not None:
        raise CheckError(f"the program fails when {name} is perturbed: {result.error.message}")
    return _scalar_of(result, of)


def _classify(analytic, numeric, forward, backward_, atol, rtol):
    abs_error = abs(analytic - numeric)
    rel_error = abs_error / max(abs(numeric), abs(analytic), 1e-12)
    if math.isclose(analytic, numeric, rel_tol=rtol, abs_tol=atol):
        return abs_error, rel_error, "ok"
    if not math.isclose(forward, backward_, rel_tol=10 * rtol, abs_tol=10 * atol):
        return abs_error, rel_error, "kink"
    return abs_error, rel_error, "FAIL"


def _check_leaf(source, filename, seed, of, name, leaf, grad, atol, rtol, eps) -> LeafCheck:
    grad = grad.array.astype(np.float64) if grad is not None else np.zeros(leaf.shape)
    f0 = _f(source, filename, seed, of, name, 0, 0.0)
    size = leaf.array.size
    if size <= MAX_ELEMENTWISE:
        check = LeafCheck(name, leaf.shape, "elementwise")
        for k in range(size):
            plus = _f(source, filename, seed, of, name, k, eps)
            minus = _f(source, filename, seed, of, name, k, -eps)
            numeric = (plus - minus) / (2 * eps)
            analytic = float(grad.reshape(-1)[k])
            abs_e, rel_e, status = _classify(
                analytic, numeric, (plus - f0) / eps, (f0 - minus) / eps, atol, rtol
            )
            index = (str(tuple(int(i) for i in np.unravel_index(k, leaf.shape))) if leaf.shape
                     else "()")
            check.elements.append(ElementCheck(index, analytic, numeric, abs_e, rel_e, status))
        return check
    check = LeafCheck(name, leaf.shape, "projection")
    rng = np.random.default_rng(0)
    for trial in range(3):
        direction = rng.standard_normal(size)
        direction /= np.linalg.norm(direction)
        plus = _f(source, filename, seed, of, name, None, eps * direction)
        minus = _f(source, filename, seed, of, name, None, -eps * direction)
        numeric = (plus - minus) / (2 * eps)
        analytic = float(grad.reshape(-1) @ direction)
        abs_e, rel_e, status = _classify(
            analytic, numeric, (plus - f0) / eps, (f0 - minus) / eps, atol, rtol
        )
        check.elements.append(ElementCheck(f"v{trial}", analytic, numeric, abs_e, rel_e, status))
    return check


__all__ = ["check", "CheckReport", "CheckError", "CheckUsageError", "ProgramError"]
