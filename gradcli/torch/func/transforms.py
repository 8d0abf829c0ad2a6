"""torch.func: grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian, vmap.

Transforms over a callable, built on gradcli's reverse-mode engine. A transformed call
differentiates through fresh aliases of its inputs; when an input already takes part in
an enclosing differentiation (a nested transform, or a tensor that requires grad) the
gradient is computed with create_graph so the enclosing level can differentiate it
again, which is how `jacrev(jacrev(f))` and `vmap(grad(f))` compose. Forward-mode
transforms (jvp, jacfwd, linearize) compute the same values by the double-vjp identity.
vmap runs the function once on the whole batch where every op it runs has a batching
rule (batching.py), and otherwise once per batch entry, stacking the results.
"""

from __future__ import annotations

import functools

import numpy as np

from gradcli.aten import ops as ops_module
from gradcli.aten.ops import FORWARD_AD
from gradcli.autodiff.tensor import Tensor
from gradcli.base import held_output
from gradcli.base.errors import ProgramError, runtime_error, value_error
from gradcli.random.generator import default_generator
from gradcli.torch import functions as api
from gradcli.torch import random as random_functions
from gradcli.torch.autograd.function import TRANSFORMS_ACTIVE
from gradcli.torch.autograd.functional import (
    alias,
    api_enable_grad,
    batched_jacobian,
    jvp_by_double_backward,
)
from gradcli.torch.func import batching


def _transform(fn):
    """Mark a transform's run: custom Functions applied inside need setup_context."""
    @functools.wraps(fn)
    def running(*args, **kwargs):
        TRANSFORMS_ACTIVE[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            TRANSFORMS_ACTIVE[0] -= 1

    return running


def _name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _differentiable_copies(args, argnums):
    """Fresh inputs for the positions in argnums; whether any must keep its graph."""
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    nested = False
    for i in positions:
        a = args[i]
        if a.__class__ is not Tensor:
            raise value_error(f"Thing passed to transform API must be Tensor, got {type_repr(a)}")
        if a.requires_grad:
            nested = True
            args[i] = alias(a)
        else:
            d = api.detach(a)
            d.requires_grad = True
            args[i] = d
    return args, positions, nested


def _grad_and_value(func, argnums, has_aux, args, kwargs, api_name):
    with api_enable_grad():
        args, positions, nested = _differentiable_copies(args, argnums)
        output = func(*args, **kwargs)
        aux = None
        if has_aux:
            if not (isinstance(output, tuple) and len(output) == 2):
                raise runtime_error(
                    f"{api_name}(f)(*args): output of function f should be a tuple: (output, "
                    "aux) if has_aux is True")
            output, aux = output
        if output.__class__ is not Tensor:
            raise runtime_error(
                f"{api_name}(f)(*args): Expected f(*args) to return a Tensor, got "
                f"{type_repr(output)}")
        if output.ndim != 0:
            raise runtime_error(
                f"{api_name}(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                f"tensor with {output.ndim} dims. Maybe you wanted to use the vjp or jacrev "
                "APIs instead?")
        inputs = [args[i] for i in positions]
        if output.requires_grad:
            grads = api.autograd_grad(output, inputs, create_graph=nested, allow_unused=True)
        else:
            grads = (None,) * len(inputs)
        grads = tuple(api.zeros_like(x) if g is None else g
                      for g, x in zip(grads, inputs, strict=True))
    if not nested:
        output = api.detach(output)
    result = grads[0] if isinstance(argnums, int) else grads
    return result, ((output, aux) if has_aux else output)


def grad_and_value(func, argnums=0, has_aux=False):
    @functools.wraps(func)
    @_transform
    def wrapper(*args, **kwargs):
        return _grad_and_value(func, argnums, has_aux, args, kwargs, "grad_and_value")

    return wrapper


def grad(func, argnums=0, has_aux=False):
    @functools.wraps(func)
    @_transform
    def wrapper(*args, **kwargs):
        g, value = _grad_and_value(func, argnums, has_aux, args, kwargs, "grad_and_value")
        return (g, value[1]) if has_aux else g

    return wrapper


def _flat(value):
    if isinstance(value, (tuple, list)):
        return True, tuple(value)
    return False, (value,)


class VjpFunction:
    """What func.vjp returns beside the output: call it with cotangents."""

    _program_attributes_ = frozenset()

    def __init__(self, outputs, inputs, nested, tupled_out):
        self._outputs = outputs
        self._inputs = inputs
        self._nested = nested
        self._tupled_out = tupled_out

    def __call__(self, cotangents, retain_graph=True, create_graph=None):
        _, cotangents = _flat(cotangents)
        for i, (c, o) in enumerate(zip(cotangents, self._outputs, strict=False)):
            if c.shape != o.shape:
                raise runtime_error(
                    f"Mismatch in shape: grad_output[{i}] has a shape of "
                    f"torch.Size({list(c.shape)}) and output[{i}] has a shape of "
                    f"torch.Size({list(o.shape)}).")
        pairs = [(o, c) for o, c in zip(self._outputs, cotangents, strict=True)
                 if o.requires_grad]
        create = self._nested if create_graph is None else create_graph
        with api_enable_grad():
            if pairs:
                grads = api.autograd_grad([o for o, _ in pairs], list(self._inputs),
                                          [c for _, c in pairs], retain_graph=True,
                                          create_graph=create or any(
                                              c.requires_grad for _, c in pairs),
                                          allow_unused=True)
            else:
                grads = (None,) * len(self._inputs)
        return tuple(api.zeros_like(x) if g is None else g
                     for g, x in zip(grads, self._inputs, strict=True))

    def __repr__(self) -> str:
        return f"<function vjp.<locals>.wrapper at {id(self):#x}>"


@_transform
def vjp(func, *primals, has_aux=False):
    with api_enable_grad():
        args, _, nested = _differentiable_copies(primals, tuple(range(len(primals))))
        output = func(*args)
        aux = None
        if has_aux:
            output, aux = output
    tupled, outputs = _flat(output)
    fn = VjpFunction(outputs, args, nested, tupled)
    shown = output if nested else (
        tuple(api.detach(o) for o in outputs) if tupled else api.detach(output))
    return (shown, fn, aux) if has_aux else (shown, fn)


JVP = "jvp(f, primals, tangents)"


@_transform
def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    if not isinstance(primals, tuple):
        raise runtime_error(
            f"{JVP}: Expected primals to be a tuple. E.g. it should be valid to call "
            "f(*primals).")
    primals_spec, tangents_spec = _structure(primals), _structure(tangents)
    if primals_spec != tangents_spec:
        raise runtime_error(
            f"{JVP}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {primals_spec} and tangents with structure {tangents_spec}")
    _only_tensors(primals, "primals")
    _only_tensors(tangents, "tangents")
    with api_enable_grad():
        args, _, nested = _differentiable_copies(primals, tuple(range(len(primals))))
        output = func(*args)
        aux = None
        if has_aux:
            if not (isinstance(output, tuple) and len(output) == 2):
                raise runtime_error(
                    f"{JVP}: output of function f should be a tuple: (output, aux) if has_aux "
                    "is True")
            output, aux = output
        tupled, outputs = _flat(output)
        results = jvp_by_double_backward(outputs, args, tuple(tangents), nested)
    if not nested:
        outputs = tuple(api.detach(o) for o in outputs)
        results = tuple(api.detach(r) for r in results)
    out = outputs if tupled else outputs[0]
    res = results if tupled else results[0]
    return (out, res, aux) if has_aux else (out, res)


def _only_tensors(values, argname) -> None:
    """PyTorch's assert_non_empty_list_of_tensors (the primals and tangents are flat here:
    a nested one has a different structure and was refused before)."""
    if len(values) == 0:
        raise runtime_error(f"{JVP}: Expected {argname} to contain at least one Tensor.")
    for value in values:
        if value.__class__ is not Tensor:
            raise runtime_error(
                f"{JVP}: Expected {argname} to only contain Tensors, got {type_repr(value)}")


def _structure(value, indent: int = 0) -> str:
    """repr() of the pytree TreeSpec of value: tuples and lists are nodes (one child per
    line after the first, indented by depth), None an empty node, anything else a leaf."""
    if value is None:
        return "TreeSpec(NoneType, None, [])"
    if not isinstance(value, (tuple, list)):
        return "*"
    indent += 2
    children = [_structure(v, indent) for v in value]
    inner = ",".join([children[0], *("\n" + " " * indent + c for c in children[1:])]) \
        if children else ""
    return f"TreeSpec({type(value).__name__}, None, [{inner}])"


def type_repr(value) -> str:
    """type(value) as PyTorch's messages print it: <class 'float'>."""
    cls = type(value)
    if cls.__module__ == "builtins":
        return f"<class '{cls.__qualname__}'>"
    return repr(cls)


@_transform
def linearize(func, *primals):
    output = func(*[api.detach(p) for p in primals])

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return output, jvp_fn


def _jacobian_rows(output, inputs, nested):
    """d output / d input for each input: one reverse pass with the batch of all basis
    vectors (autodiff/batched.py) or, where that cannot run, one pass per output element."""
    size = output.numel()
    if not nested and output.requires_grad and size:
        blocks = batched_jacobian(output, inputs)
        if blocks is not None:
            return blocks
    rows = [[] for _ in inputs]
    for j in range(size):
        if output.requires_grad:
            # Row j: the vjp with the j-th basis vector (no indexing node per row).
            basis = np.zeros(size, output.dtype.numpy)
            basis[j] = 1
            grads = api.autograd_grad(output, list(inputs),
                                      Tensor(basis.reshape(output.shape), output.dtype),
                                      retain_graph=True, create_graph=nested,
                                      allow_unused=True)
        else:
            grads = (None,) * len(inputs)
        for k, (g, x) in enumerate(zip(grads, inputs, strict=True)):
            rows[k].append(api.zeros_like(x) if g is None else g)
    blocks = []
    for k, x in enumerate(inputs):
        block = api.stack(rows[k]) if rows[k] else api.zeros((0,) + x.shape, dtype=x.dtype)
        blocks.append(api.reshape(block, output.shape + x.shape))
    return blocks


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    @functools.wraps(func)
    @_transform
    def wrapper(*args):
        with api_enable_grad():
            copies, positions, nested = _differentiable_copies(args, argnums)
            output = func(*copies)
            aux = None
            if has_aux:
                output, aux = output
            tupled, outputs = _flat(output)
            inputs = [copies[i] for i in positions]
            per_output = []
            for out in outputs:
                blocks = _jacobian_rows(out, inputs, nested)
                if not nested:
                    blocks = [api.detach(b) for b in blocks]
                per_output.append(blocks[0] if isinstance(argnums, int) else tuple(blocks))
        result = tuple(per_output) if tupled else per_output[0]
        return (result, aux) if has_aux else result

    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    # The same Jacobian as forward mode gives, computed row by row in reverse mode.
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    return jacfwd(jacrev(func, argnums), argnums)


# ----- vmap ---------------------------------------------------------------------------


RANDOM_MESSAGE = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    if randomness not in ("error", "different", "same"):
        raise runtime_error("Only allowed values for randomness are 'error', 'different', or "
                            f"'same'. Got {randomness}")

    @functools.wraps(func)
    @_transform
    def wrapper(*args, **kwargs):
        if randomness != "error":
            # The per-entry loop draws each entry's numbers ("different"), or, restarting
            # the generator for each entry, one set for all ("same"); the trace would draw
            # twice more, so no batched run here.
            return _vmap_call(func, in_dims, out_dims, args, kwargs, batch=False,
                              same_random=randomness == "same")
        previous = random_functions.DRAW_HOOK
        random_functions.DRAW_HOOK = _refuse_random
        try:
            return _vmap_call(func, in_dims, out_dims, args, kwargs)
        finally:
            random_functions.DRAW_HOOK = previous

    return wrapper


def _refuse_random():
    raise runtime_error(RANDOM_MESSAGE)


def _vmap_call(func, in_dims, out_dims, args, kwargs, batch=True, same_random=False):
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise value_error(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or "
            "a (potentially nested) tuple matching the structure of inputs, got: "
            f"{type_repr(in_dims)}.")
    if not args:
        raise value_error(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
            "trying to vmap over a function with no inputs. The latter is unsupported.")
    if isinstance(in_dims, tuple):
        if len(in_dims) != len(args):
            raise value_error(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                f"compatible with the structure of `inputs`. in_dims has structure "
                f"{_structure(in_dims)} but inputs has structure {_structure(args)}.")
        dims = list(in_dims)
    else:
        dims = [in_dims] * len(args)
    sizes = []
    for i, (a, d) in enumerate(zip(args, dims, strict=True)):
        if d is None:
            continue
        if not isinstance(d, int):
            raise value_error(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                "but in_dim must be either an integer dimension or None.")
        if a.__class__ is not Tensor:
            raise value_error(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} "
                f"for an input but the input is of type {type(a)}. We cannot vmap over "
                "non-Tensor arguments, please use None as the respective in_dim")
        if not -a.ndim <= d < a.ndim:
            raise value_error(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} "
                f"for some input, but that input is a Tensor of dimensionality {a.ndim} so "
                f"expected in_dim to satisfy -{a.ndim} <= in_dim < {a.ndim}.")
        dims[i] = d % a.ndim
        sizes.append(a.shape[dims[i]])
    if not sizes:
        raise value_error("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) != 1:
        raise value_error(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension")
    # One call per batch entry. Inputs that take part in no differentiation are sliced
    # as plain numpy views (no node to record); the others through SelectBackward0.
    # Inside an enclosing vmap's trace (a nested vmap) the entries are taken and stacked
    # by ops, which that trace records and replays on its own batch.
    traced = ops_module._call_hook is not None
    plain = not traced and not FORWARD_AD.active and not any(
        a.__class__ is Tensor and a.requires_grad for a in args)
    mapped = [(i, a, d) for i, (a, d) in enumerate(zip(args, dims, strict=True))
              if d is not None]
    if batch and plain and sizes[0] > 1 and not any(
            v.__class__ is Tensor and v.requires_grad for v in kwargs.values()):
        # Run the function once on the whole batch when its trace allows (batching.py).
        result = batching.batched_call(func, args, mapped, kwargs, sizes[0], out_dims)
        if result is not None:
            return result
    call_args = list(args)
    results = []
    generator = default_generator() if same_random else None
    start_state = generator.clone_state() if same_random else None
    for b in range(sizes[0]):
        if same_random:
            generator.restore(start_state)
        for i, a, d in mapped:
            if plain:
                call_args[i] = Tensor(a.array[(slice(None),) * d + (b, Ellipsis)], a.dtype)
            else:
                call_args[i] = _select(a, d, b)
        if traced and b:
            # Traced for an enclosing vmap, which stands for one call of the function:
            # what the other entries print is not shown.
            held = held_output.hold()
            try:
                results.append(func(*call_args, **kwargs))
            finally:
                held_output.release(held, keep=False)
        else:
            results.append(func(*call_args, **kwargs))
    tupled = isinstance(results[0], (tuple, list))
    columns = list(zip(*results, strict=True)) if tupled else [results]
    outs = []
    for k, column in enumerate(columns):
        if column[0].__class__ is not Tensor:
            raise value_error(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                f"{type(column[0])}. Did you mean to set out_dims= to None for output?")
        od = out_dims[k] if isinstance(out_dims, (tuple, list)) else out_dims
        if not traced and not FORWARD_AD.active and not any(c.requires_grad for c in column):
            # Nothing to differentiate: numpy's stack, without a StackBackward0 to record.
            outs.append(Tensor(np.stack([c.array for c in column], od % (column[0].ndim + 1)),
                               column[0].dtype))
        else:
            outs.append(api.stack(list(column), od))
    return tuple(outs) if tupled else outs[0]


def _select(tensor, dim, index):
    from gradcli.aten import ops

    return ops.call(ops.select, (tensor,), (dim, index))


MEMBERS = {
    "grad": grad, "grad_and_value": grad_and_value, "vjp": vjp, "jvp": jvp,
    "linearize": linearize, "jacrev": jacrev, "jacfwd": jacfwd, "hessian": hessian,
    "vmap": vmap,
}
__all__ = ["MEMBERS", "ProgramError"]
