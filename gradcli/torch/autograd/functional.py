"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp over a callable.

As PyTorch's own implementation does, everything is reverse mode: jvp and hvp use the
double-backward trick (the vjp is linear in its cotangent u, so differentiating
u -> J^T u against v gives J v). Inputs are detached copies that require grad; the
results are detached unless create_graph=True.
"""

from __future__ import annotations

import numpy as np

from gradcli.autodiff import batched
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base.errors import ProgramError, runtime_error
from gradcli.torch import functions as api


def _as_tuple(value, arg_name="inputs", fn_name="jacobian"):
    """(whether value was a tuple, value as a tuple of tensors); a list is not a tuple."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, el in enumerate(values):
        if el.__class__ is not Tensor:
            where = f"value at index {i}" if is_tuple else f"given {arg_name}"
            raise ProgramTypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but the {where} has type {_type_repr(el)}.")
    return is_tuple, values


def _type_repr(value) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return f"<class '{cls.__qualname__}'>"
    return repr(cls)


def ProgramTypeError(message):
    from gradcli.base.errors import type_error

    return type_error(message)


def _prepare(inputs, create_graph):
    """PyTorch's _grad_preprocess: detached inputs that require grad (views of the
    originals with create_graph, so the result stays differentiable w.r.t. them)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(alias(t))
        else:
            d = api.detach(t)
            d.requires_grad = True
            out.append(d)
    return tuple(out)


def alias(t: Tensor) -> Tensor:
    """A differentiable alias of t (AliasBackward0): gradients flow back to t."""
    from gradcli.aten import ops

    return ops.call(ops.alias, (t,))


def _finish(value, create_graph):
    if value is None or value.__class__ is not Tensor:
        return value
    if create_graph:
        return value
    return api.detach(value)


def _grads(outputs, inputs, grad_outputs, create_graph, retain_graph=True):
    wanted = [o for o in outputs if o.requires_grad]
    if not wanted:
        return (None,) * len(inputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    return api.autograd_grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                             retain_graph=retain_graph, create_graph=create_graph,
                             allow_unused=True)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    _check_strategy(strategy, create_graph, strict, vectorize)
    is_tuple_in, inputs = _as_tuple(inputs)
    with api_enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs = func(*inputs)
        is_tuple_out, outputs = _as_tuple(outputs, "outputs of the user-provided function")
        if strict:
            _check_requires_grad(outputs)
        if vectorize and strict:
            raise runtime_error(
                "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                "not supported together. Please either set `strict=False` or "
                "`vectorize=False`.")
        rows_per_output = []
        for i, out in enumerate(outputs):
            if vectorize and not create_graph:
                # One backward pass over all basis vectors (PyTorch vmaps autograd.grad).
                blocks = _vectorized_blocks(out, inputs)
                if blocks is not None:
                    rows_per_output.append(tuple(blocks) if is_tuple_in else blocks[0])
                    continue
            flat = api.reshape(out, (-1,))
            per_input = [[] for _ in inputs]
            for j in range(flat.shape[0]):
                element = api.getitem(flat, j)
                if element.requires_grad:
                    grads = api.autograd_grad(element, list(inputs), retain_graph=True,
                                              create_graph=create_graph, allow_unused=True)
                else:
                    grads = (None,) * len(inputs)
                for k, (g, x) in enumerate(zip(grads, inputs, strict=True)):
                    if g is None:
                        if strict:
                            raise runtime_error(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {k}. This is not allowed in strict mode.")
                        g = api.zeros_like(x)
                    per_input[k].append(g)
            blocks = []
            for k, x in enumerate(inputs):
                if per_input[k]:
                    block = api.stack(per_input[k])
                else:
                    block = Tensor(np.zeros((0,) + x.shape, x.dtype.numpy), x.dtype)
                blocks.append(_finish(api.reshape(block, out.shape + x.shape), create_graph))
            rows_per_output.append(tuple(blocks) if is_tuple_in else blocks[0])
    if strategy == "forward-mode" and is_tuple_in:
        # PyTorch's forward-mode path hands back lists where reverse mode has tuples.
        rows_per_output = [list(r) for r in rows_per_output]
        return rows_per_output if is_tuple_out else rows_per_output[0]
    return tuple(rows_per_output) if is_tuple_out else rows_per_output[0]


def _vectorized_blocks(out, inputs):
    if not out.requires_grad:
        return [Tensor(np.zeros(out.shape + x.shape, x.dtype.numpy), x.dtype) for x in inputs]
    if not out.numel():
        return None
    return batched_jacobian(out, inputs)


def _check_strategy(strategy, create_graph, strict, vectorize) -> None:
    """PyTorch's checks of `strategy`; forward mode gives the same Jacobian, computed here
    in reverse mode."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ProgramError(
            "AssertionError",
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            'performant. Otherwise, prefer to use "reverse-mode".')
    if strategy != "forward-mode":
        return
    if create_graph:
        raise ProgramError(
            "NotImplementedError",
            "torch.autograd.functional.jacobian: `create_graph=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`create_graph=False` or `strategy="reverse-mode"`.')
    if strict:
        raise runtime_error(
            "torch.autograd.functional.jacobian: `strict=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`strict=False` or `strategy="reverse-mode"`.')
    if not vectorize:
        # (sic: PyTorch's message has no space between "is" and "only")
        raise ProgramError(
            "NotImplementedError",
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
            "only implemented for `vectorize=True`.")


def _check_requires_grad(outputs) -> None:
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise runtime_error(
                f"Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when running "
                "in strict mode.")


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    is_tuple_in, tupled = _as_tuple(inputs, fn_name="hessian")

    def jac_func(*inp):
        out = func(*inp)
        is_tuple_out, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if strict:
            _check_requires_grad(outs)
        _check_single_element(is_tuple_out, outs[0], "hessian")
        jac = jacobian(lambda *i: api.reshape(func(*i), ()), inp, create_graph=True)
        if strict:
            for k, j in enumerate(jac):
                if not j.requires_grad:
                    raise runtime_error(
                        "While computing the hessian, found that the jacobian of the "
                        f"user-provided function with respect to input {k} is independent of "
                        "the input. This is not allowed in strict mode. You should ensure that "
                        "your function is twice differentiable and that the jacobian depends "
                        "on the inputs (this would be violated by a linear function for "
                        "example).")
        return jac

    result = jacobian(jac_func, tupled, create_graph=create_graph, strict=strict,
                      vectorize=vectorize, strategy=outer_jacobian_strategy)
    if not is_tuple_in:
        return result[0][0]
    return result


def _check_single_element(is_tuple_out, out, fn_name) -> None:
    """hessian, vhp and hvp differentiate a scalar function."""
    if is_tuple_out or out.__class__ is not Tensor:
        raise runtime_error(f"The function given to {fn_name} should return a single Tensor")
    if out.numel() != 1:
        raise runtime_error(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element")


def _check_v(v, others, is_others_tuple, fn_name):
    """PyTorch's _validate_v: v has one entry of the same size per output (vjp) or per
    input (jvp, vhp, hvp)."""
    _, v = _as_tuple(v, "v", fn_name)
    if len(others) != len(v):
        if is_others_tuple:
            raise runtime_error(
                f"v is a tuple of invalid length: should be {len(others)} but got {len(v)}.")
        raise runtime_error("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, others, strict=True)):
        if a.shape != b.shape:
            entry = f"Entry {i} in " if is_others_tuple else ""
            raise runtime_error(
                f"{entry}v has invalid size: should be {_size(b.shape)} but got "
                f"{_size(a.shape)}.")
    return v


def _size(shape):
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    is_tuple_in, inputs = _as_tuple(inputs, fn_name="vjp")
    with api_enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs = func(*inputs)
        is_tuple_out, outputs = _as_tuple(outputs, "outputs of the user-provided function", "vjp")
        if strict:
            _check_requires_grad(outputs)
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise runtime_error(
                    "The vector v can only be None if the user-provided function returns a "
                    "single Tensor with a single element.")
            v = (api.ones_like(outputs[0]),)
        else:
            v = _check_v(v, outputs, is_tuple_out, "vjp")
        grads = _grads(outputs, inputs, v, create_graph)
        grads = tuple(api.zeros_like(x) if g is None else g
                      for g, x in zip(grads, inputs, strict=True))
    outs = tuple(_finish(o, create_graph) for o in outputs)
    grads = tuple(_finish(g, create_graph) for g in grads)
    return (outs if is_tuple_out else outs[0]), (grads if is_tuple_in else grads[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    is_tuple_in, inputs = _as_tuple(inputs, fn_name="jvp")
    with api_enable_grad():
        inputs = _prepare(inputs, create_graph)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise runtime_error(
                    "The vector v can only be None if the input to the user-provided function "
                    "is a single Tensor with a single element.")
            v = (api.ones_like(inputs[0]),)
        else:
            v = _check_v(v, inputs, is_tuple_in, "jvp")
        outputs = func(*inputs)
        is_tuple_out, outputs = _as_tuple(outputs, "outputs of the user-provided function", "jvp")
        results = jvp_by_double_backward(outputs, inputs, v, create_graph)
    outs = tuple(_finish(o, create_graph) for o in outputs)
    results = tuple(_finish(r, create_graph) for r in results)
    return (outs if is_tuple_out else outs[0]), (results if is_tuple_out else results[0])


def jvp_by_double_backward(outputs, inputs, tangents, create_graph):
    """J v from two reverse passes: u -> J^T u is linear, and its vjp against v is J v."""
    cotangents = []
    for o in outputs:
        u = api.zeros_like(o)
        u.requires_grad = True
        cotangents.append(u)
    grads = _grads(outputs, inputs, cotangents, create_graph=True)
    pairs = [(g, t) for g, t in zip(grads, tangents, strict=True)
             if g is not None and g.requires_grad]
    if not pairs:
        return tuple(api.zeros_like(o) for o in outputs)
    results = api.autograd_grad([g for g, _ in pairs], cotangents, [t for _, t in pairs],
                                retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tuple(api.zeros_like(o) if r is None else r
                 for r, o in zip(results, outputs, strict=True))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    return _second_order(func, inputs, v, create_graph, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    # The hessian of a scalar function is symmetric: H v equals v^T H.
    return _second_order(func, inputs, v, create_graph, "hvp")


def _second_order(func, inputs, v, create_graph, name):
    is_tuple_in, inputs = _as_tuple(inputs, fn_name=name)
    with api_enable_grad():
        inputs = _prepare(inputs, create_graph)
        output = func(*inputs)
        is_tuple_out, outs = _as_tuple(output, "outputs of the user-provided function", name)
        _check_single_element(is_tuple_out, outs[0], name)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise runtime_error(
                    "The vector v can only be None if the input to the user-provided function "
                    "is a single Tensor with a single element.")
            v = (api.ones_like(inputs[0]),)
        else:
            v = _check_v(v, inputs, is_tuple_in, name)
        grads = _grads(outs, inputs, (None,), create_graph=True)
        pairs = [(g, t) for g, t in zip(grads, v, strict=True)
                 if g is not None and g.requires_grad]
        if pairs:
            second = api.autograd_grad([g for g, _ in pairs], list(inputs),
                                       [t for _, t in pairs], retain_graph=True,
                                       create_graph=create_graph, allow_unused=True)
        else:
            second = (None,) * len(inputs)
        second = tuple(api.zeros_like(x) if s is None else s
                       for s, x in zip(second, inputs, strict=True))
    out = _finish(outs[0], create_graph)
    second = tuple(_finish(s, create_graph) for s in second)
    return out, (second if is_tuple_in else second[0])


def api_enable_grad():
    from gradcli.torch.autograd import grad_mode as autograd_api

    return autograd_api.enable_grad()


MEMBERS = {"jacobian": jacobian, "hessian": hessian, "vjp": vjp, "jvp": jvp, "hvp": hvp,
           "vhp": vhp}
__all__ = ["GradMode", "MEMBERS"]


def batched_jacobian(output, inputs):
    """The blocks d output / d input (shape output.shape + input.shape) from one backward
    pass over the identity's rows, or None if the pass cannot be batched."""
    size = output.numel()
    basis = np.eye(size, dtype=output.dtype.numpy).reshape((size,) + output.shape)
    grads = batched.batched_vjp(output, list(inputs), basis)
    if grads is None:
        return None
    return [Tensor(np.zeros(output.shape + x.shape, x.dtype.numpy), x.dtype) if g is None
            else Tensor(np.asarray(g.reshape(output.shape + x.shape), order="C"), x.dtype)
            for g, x in zip(grads, inputs, strict=True)]
