"""torch.autograd.gradcheck / gradgradcheck: PyTorch's slow-mode check.

For output i and input j (inputs that require grad), the numerical Jacobian, of shape
(input.numel(), output.numel()), is the central difference (f(x + eps) - f(x - eps)) /
(2 eps) per input element, computed in the input's dtype as PyTorch perturbs the tensor
in place; the analytical one has a column per output element, from a backward pass with
a one-hot gradient. The first pair not allclose(analytical, numerical, rtol, atol)
raises GradcheckError with both printed (or returns False, raise_exception=False).
"""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base import diagnostics
from gradcli.base.errors import ProgramError, value_error
from gradcli.torch import functions as api

NOT_DOUBLE = (
    "Input #{} requires gradient and is not a double precision floating point or complex. "
    "This check will likely fail if all the inputs are not of double precision floating "
    "point or complex. "
)


def _tupled(inputs):
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _outputs(func, inputs):
    out = func(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _numerical(func, inputs, j, eps):
    """d outputs / d inputs[j] by central differences: one matrix per output."""
    x = inputs[j]
    flat = x.array.reshape(-1)
    columns = None
    for k in range(flat.size):
        values = []
        for sign in (-1, 1):
            array = x.array.copy()
            array.reshape(-1)[k] = flat[k] + x.dtype.numpy.type(sign * eps)
            # As PyTorch perturbs the input in place: the probe still requires grad, and the
            # function runs with grad mode on (gradgradcheck's differentiates inside).
            probe = Tensor(array, x.dtype, x.requires_grad)
            args = tuple(probe if i == j else a for i, a in enumerate(inputs))
            with _enable_grad():
                values.append([o.array.copy() for o in _outputs(func, args)])
        rows = [((b - a) / np.asarray(2 * eps, a.dtype)).reshape(-1)
                for a, b in zip(values[0], values[1], strict=True)]
        if columns is None:
            columns = [[] for _ in rows]
        for c, r in zip(columns, rows, strict=True):
            c.append(r)
    return [np.stack(c).astype(c[0].dtype) for c in columns]


def _analytical(outputs, wanted):
    per_output = []
    for o in outputs:
        matrices = [np.zeros((x.numel(), o.numel()), x.dtype.numpy) for x in wanted]
        if o.requires_grad:
            for e in range(o.numel()):
                onehot = np.zeros(o.numel(), o.dtype.numpy)
                onehot[e] = 1
                grads = api.autograd_grad(o, list(wanted), Tensor(onehot.reshape(o.shape)),
                                          retain_graph=True, allow_unused=True)
                for m, g in zip(matrices, grads, strict=True):
                    if g is not None:
                        m[:, e] = g.array.reshape(-1)
        per_output.append(matrices)
    return per_output


def _forward_analytical(func, inputs, positions):
    """check_forward_ad: one forward-mode pass per input element with a one-hot tangent;
    the outputs' tangents are that element's row of each Jacobian."""
    from gradcli.torch.autograd import forward_mode as forward

    per_output = None
    for slot, j in enumerate(positions):
        x = inputs[j]
        for k in range(x.numel()):
            onehot = np.zeros(x.numel(), x.dtype.numpy)
            onehot[k] = 1
            forward.enter_dual_level()
            try:
                dual = forward.make_dual(x, Tensor(onehot.reshape(x.shape), x.dtype))
                args = tuple(dual if i == j else a for i, a in enumerate(inputs))
                outputs = _outputs(func, args)
                tangents = [forward.unpack_dual(o).tangent for o in outputs]
            finally:
                forward.exit_dual_level()
            if per_output is None:
                per_output = [[np.zeros((inputs[p].numel(), o.numel()), inputs[p].dtype.numpy)
                               for p in positions] for o in outputs]
            for i, t in enumerate(tangents):
                if t is not None:
                    per_output[i][slot][k, :] = t.array.reshape(-1)
    return per_output


def _no_grad():
    from gradcli.torch.autograd import grad_mode as autograd_api

    return autograd_api.no_grad()


def _mismatch(i, j, numerical, analytical, dtype, mode=""):
    return (f"Jacobian {mode}mismatch for output {i} with respect to input {j},\n"
            f"numerical:{Tensor(numerical, dtype)!r}\nanalytical:{Tensor(analytical, dtype)!r}\n")


def gradcheck(func, inputs, *, eps=1e-06, atol=1e-05, rtol=0.001, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    inputs = _tupled(inputs)
    positions = [i for i, a in enumerate(inputs) if a.__class__ is Tensor and a.requires_grad]
    if not positions:
        raise value_error(
            "gradcheck expects at least one input tensor to require gradient, but none of "
            "them have requires_grad=True.")
    for i in positions:
        if inputs[i].dtype.name != "float64":
            diagnostics.warn(NOT_DOUBLE.format(i))
    with _enable_grad():
        outputs = _outputs(func, inputs)
        wanted = [inputs[i] for i in positions]
        analytical = _analytical(outputs, wanted) if check_backward_ad else None
    numerical = [_numerical(func, inputs, j, eps) for j in positions]
    checks = []
    if check_backward_ad:
        checks.append(("", analytical))
    if check_forward_ad:
        checks.append(("computed with forward mode ", _forward_analytical(func, inputs,
                                                                          positions)))
    for mode, jacobians in checks:
        for i, o in enumerate(outputs):
            if not o.dtype.is_floating_point:
                continue
            for j, x in enumerate(wanted):
                a = jacobians[i][j]
                n = numerical[j][i]
                if not np.allclose(a, n.astype(a.dtype), rtol=rtol, atol=atol):
                    if not raise_exception:
                        return False
                    raise ProgramError("GradcheckError", _mismatch(i, j, n, a, x.dtype, mode))
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-06, atol=1e-05, rtol=0.001,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    inputs = _tupled(inputs)
    if grad_outputs is None:
        # PyTorch draws random gradients from its global generator:
        # torch.testing.make_tensor(low=-1, high=1) is empty(shape).uniform_(-1, 1)
        with _enable_grad():
            outs = _outputs(func, inputs)
        grad_outputs = tuple(
            api.requires_grad_(
                api.random_function("uniform_")(api.empty(o.shape, dtype=o.dtype), -1, 1))
            for o in outs if o.requires_grad)
    else:
        grad_outputs = _tupled(grad_outputs)
    n_inputs = len(inputs)
    positions = [i for i, a in enumerate(inputs) if a.__class__ is Tensor and a.requires_grad]

    def first_derivatives(*args):
        primal, cotangents = args[:n_inputs], args[n_inputs:]
        outs = [o for o in _outputs(func, primal) if o.requires_grad]
        wanted = [primal[i] for i in positions]
        grads = api.autograd_grad(outs, wanted, list(cotangents), create_graph=True,
                                  allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)


def _enable_grad():
    from gradcli.torch.autograd import grad_mode as autograd_api

    return autograd_api.enable_grad()
