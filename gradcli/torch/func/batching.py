"""vmap's batched execution: run the function once on the whole batch.

functorch wraps each mapped input in a BatchedTensor and gives every ATen op a batching
rule. gradcli gets the same effect without a second tensor class: it runs the function
on one batch entry while `ops.call` reports each op (a trace: which op, on which earlier
results, inputs or constants, with which parameters), then replays that trace once with
every batch-carrying array holding the batch in its dimension 0, through the op's
batching rule (gradcli/torch/func/batch_rules.py).

The replay is only valid when the trace does not depend on the entry it was taken on.
Two facts make that checkable:
  - reading a batched value (bool(t), t.item()) raises PyTorch's vmap errors, as
    functorch does, so no Python branch or number can depend on the data;
  - the trace is taken twice, on the first and the last entry, and must be the same
    op for op, with the *same* constant objects: a tensor made outside the op table
    (any path that computes from `.array` directly) is a new object in each run, so such
    a function is never replayed.
Whenever the trace cannot be replayed (an op without a batching rule, a function that
differentiates inside, tensors that require grad, forward AD) vmap falls back to one call
per entry, so the values are those of the loop in every case.
"""

from __future__ import annotations

import sys

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff import tensor as tensor_module
from gradcli.autodiff.tensor import Tensor
from gradcli.base import held_output
from gradcli.base.errors import runtime_error
from gradcli.torch.func import batch_rules

# PyTorch's errors for reading a batched tensor as a Python value, by what reads it.
READ_MESSAGES = {
    "item": "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap "
            "over calling .item() on a Tensor, please try to rewrite what you're doing with "
            "other operations. If error is occurring somewhere inside PyTorch internals, "
            "please file a bug report.",
    "bool": "vmap: It looks like you're attempting to use a Tensor in some data-dependent "
            "control flow. We don't support that yet, please file an issue at "
            "https://github.com/pytorch/pytorch/issues .",
    "tolist": "Cannot access data pointer of Tensor that doesn't have storage",
    "allclose": "vmap over torch.allclose isn't supported yet. Please file an issue at "
                "https://github.com/pytorch/pytorch/issues if you need this feature.",
    "equal": "Batching rule not implemented for aten::equal. We could not generate a "
             "fallback.",
}


class _Untraceable(Exception):
    """The trace cannot be replayed: run the per-entry loop instead."""


class Trace:
    """The ops one call of the function ran, each input named by where it came from:
    ("in", i) the i-th argument, ("op", j) step j's result, ("const", tensor) a tensor from
    outside, ("lit", value) a Python value."""

    def __init__(self, arguments):
        self.where = {}
        self.keep = []  # every tensor named in `where`, alive so that ids stay unique
        self.versions = {}
        self.batched = set()  # ids of tensors that carry the batch
        self.steps = []
        self.broken = False
        for i, a in arguments:
            self._name(a, ("in", i))
            self.batched.add(id(a))

    def _name(self, tensor, ref):
        self.where[id(tensor)] = ref
        self.keep.append(tensor)
        self.versions[id(tensor)] = tensor.version[0]

    def ref(self, value):
        if value.__class__ is not Tensor:
            return ("lit", value)
        ref = self.where.get(id(value))
        if ref is None:
            self.keep.append(value)
            return ("const", value)
        if self.versions[id(value)] != value.version[0]:
            self.broken = True  # written in place after it was made: the names are stale
        return ref

    def __call__(self, entry, inputs, p=None, arrays=None):
        refs = tuple([self.ref(x) for x in inputs])
        if arrays is not None:
            refs = tuple([self._converted(r, x, a) for r, x, a in zip(refs, inputs, arrays,
                                                                      strict=True)])
        if _holds_array(p):
            self.broken = True  # an index or mask computed from data may differ per entry
        out = O.call_untraced(entry, inputs, p, arrays)
        if any(x.__class__ is Tensor and id(x) in self.batched for x in inputs):
            self.batched.add(id(out))
        self._name(out, ("op", len(self.steps)))
        self.steps.append((entry, refs, p, out))
        return out

    def _converted(self, ref, value, array):
        """The operand the op was handed for `value`: the API passes the arrays it cast to
        the computation's dtype (type promotion), or a number it converted."""
        if value.__class__ is not Tensor:
            return ("lit", array)
        if array is value.array:
            return ref
        if (isinstance(array, (np.ndarray, np.generic)) and np.shape(array) == value.shape
                and ref[0] != "lit"):
            return ref + (np.dtype(array.dtype),)  # (kind, what, dtype): cast first
        self.broken = True
        return ref

    def read(self, tensor, kind):
        """A tensor read as a Python value (bool(t), t.item(), ...): PyTorch refuses a
        batched one. A tensor the trace does not know may hold batch data that reached it
        outside the op table: then the trace cannot stand for the other entries."""
        if self.where.get(id(tensor)) is None:
            self.broken = True
        elif id(tensor) in self.batched:
            raise runtime_error(READ_MESSAGES[kind])


def _holds_array(p) -> bool:
    if isinstance(p, (tuple, list)):
        return any(_holds_array(x) for x in p)
    return isinstance(p, np.ndarray)


def _same(a, b) -> bool:
    if a is b:
        return True
    if a.__class__ is not b.__class__:
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, slice):
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an unusual parameter: treat as different
        return False


def _same_ref(a, b) -> bool:
    if a[0] != b[0] or len(a) != len(b) or (len(a) == 3 and a[2] != b[2]):
        return False
    if a[0] == "const":
        return a[1] is b[1]
    return _same(a[1], b[1])


def _same_trace(one: Trace, two: Trace, outs_one, outs_two) -> bool:
    if len(one.steps) != len(two.steps) or len(outs_one) != len(outs_two):
        return False
    for (e1, r1, p1, _), (e2, r2, p2, _) in zip(one.steps, two.steps, strict=True):
        if e1 is not e2 or len(r1) != len(r2) or not _same(p1, p2):
            return False
        if not all(_same_ref(a, b) for a, b in zip(r1, r2, strict=True)):
            return False
    return all(_same_ref(a, b) for a, b in zip(outs_one, outs_two, strict=True))


def _traced_call(func, call_args, mapped, kwargs):
    trace = Trace([(i, call_args[i]) for i, _, _ in mapped])
    previous_hook = O.set_call_hook(trace)
    previous_read = tensor_module.READ_HOOK
    tensor_module.READ_HOOK = trace.read
    try:
        result = func(*call_args, **kwargs)
    finally:
        O.set_call_hook(previous_hook)
        tensor_module.READ_HOOK = previous_read
    return trace, result


def _entry_args(args, mapped, b):
    # Copies: a function that writes into its argument must not write into the batch
    # while it is only being traced (the replay or the loop then writes it once).
    call_args = list(args)
    for i, a, d in mapped:
        call_args[i] = Tensor(a.array[(slice(None),) * d + (b, Ellipsis)].copy(), a.dtype)
    return call_args


def _outputs(result):
    tupled = isinstance(result, (tuple, list))
    outs = tuple(result) if tupled else (result,)
    if any(o.__class__ is not Tensor for o in outs):
        raise _Untraceable  # the loop raises PyTorch's error for a non-tensor output
    return tupled, outs


def batched_call(func, args, mapped, kwargs, size, out_dims):
    """vmap's result computed by one replay of the traced function, or None when the
    function cannot be replayed (the caller then runs the loop)."""
    # What the function prints while traced comes out once, as PyTorch's single call
    # prints it, and only if the batched run stands (the loop prints for itself).
    printed, extra = held_output.hold(), None
    stands = False
    try:
        first, result = _traced_call(func, _entry_args(args, mapped, 0), mapped, kwargs)
        tupled, outs = _outputs(result)
        refs = [first.ref(o) for o in outs]  # (an output written in place breaks the trace)
        if first.broken:
            return None
        extra = held_output.hold()
        last, result_last = _traced_call(func, _entry_args(args, mapped, size - 1), mapped,
                                         kwargs)
        _, outs_last = _outputs(result_last)
        refs_last = [last.ref(o) for o in outs_last]
        if last.broken or not _same_trace(first, last, refs, refs_last):
            return None
        values = _replay(first, args, mapped, size)
        arrays = [_batched_value(ref, values, args, mapped, size) for ref in refs]
        stands = True
    except _Untraceable:
        return None
    finally:
        if extra is not None:
            held_output.release(extra, keep=False)
        # An error the function raised while traced is its own: what it printed first
        # comes out, as it would before PyTorch's single call failed.
        held_output.release(printed, keep=stands or sys.exc_info()[0] is not None)
    results = []
    for k, (array, out) in enumerate(zip(arrays, outs, strict=True)):
        od = out_dims[k] if isinstance(out_dims, (tuple, list)) else out_dims
        # A view op's result stays a view of the batched input, as with functorch
        # (vmap(lambda x: x)(xs) is xs's data).
        od %= out.ndim + 1
        results.append(Tensor(array if od == 0 else np.moveaxis(array, 0, od), out.dtype))
    return tuple(results) if tupled else results[0]


def _replay(trace: Trace, args, mapped, size):
    """Each step's value on the whole batch: (array, batched)."""
    inputs = {i: a.array if d == 0 else np.moveaxis(a.array, d, 0) for i, a, d in mapped}
    values = []
    for entry, refs, p, out in trace.steps:
        operands = []
        any_batched = False
        for ref in refs:
            kind, what = ref[0], ref[1]
            if kind == "op":
                operand = values[what]
            elif kind == "in":
                operand = (inputs[what], True)
            elif kind == "const":
                operand = (what.array, False)
            else:
                operand = (what, False)
            if len(ref) == 3:  # the API cast this operand for type promotion
                operand = (np.asarray(operand[0]).astype(ref[2], copy=False), operand[1])
            any_batched = any_batched or operand[1]
            operands.append(operand)
        if not any_batched:
            values.append((out.array, False))
            continue
        rule = batch_rules.RULES.get(entry.overload)
        if rule is None:
            raise _Untraceable
        array = rule(entry, operands, p, out.array)
        if array is None:
            raise _Untraceable
        array = np.asarray(array)
        if array.shape != (size,) + out.shape or array.dtype != out.array.dtype:
            raise _Untraceable
        values.append((array, True))
    return values


def _batched_value(ref, values, args, mapped, size):
    kind, what = ref
    if kind == "op":
        array, batched = values[what]
        if batched:
            return array
    elif kind == "in":
        for i, a, d in mapped:
            if i == what:
                return a.array if d == 0 else np.moveaxis(a.array, d, 0)
    else:
        array = what.array
    # An output that does not depend on the mapped inputs: every entry is the same.
    return np.ascontiguousarray(np.broadcast_to(array, (size,) + array.shape))
