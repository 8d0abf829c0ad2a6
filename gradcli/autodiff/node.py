"""Backward graph nodes (what `t.grad_fn` is); their names come from gradcli.aten.grad_fn_names."""

from __future__ import annotations

import itertools

from gradcli.autodiff import hooks
from gradcli.autodiff.tensor import Tensor

_sequence = itertools.count()


class NodeHooks:
    """PyTorch's Node API for hooks, shared by recorded nodes and AccumulateGrad."""

    __slots__ = ()

    def register_hook(self, fn):
        return hooks.register_node_hook(self, fn)

    def register_prehook(self, fn):
        return hooks.register_node_prehook(self, fn)

    @property
    def metadata(self) -> dict:
        return hooks.metadata(self)


class Node(NodeHooks):
    """One recorded operation. `inputs_meta` holds (shape, dtype) of each input so the
    engine can sum a broadcast gradient back to the input's shape and cast it."""

    __slots__ = (
        "op",
        "next_functions",
        "saved",
        "saved_versions",
        "params",
        "inputs_meta",
        "needs",
        "sequence_nr",
        "released",
        "retained",
        "source",
        "context",
        "__weakref__",
    )

    multi_output = False  # one gradient per node; custom Functions may have several

    def __init__(self, op, next_functions, saved, saved_versions, params, inputs_meta,
                 needs=None):
        self.op = op
        self.next_functions = next_functions
        self.saved = saved
        # One version per saved value, or None when nothing saved is a tensor.
        self.saved_versions = saved_versions
        self.params = params
        self.inputs_meta = inputs_meta
        # Which inputs want a gradient (PyTorch's needs_input_grad).
        self.needs = needs if needs is not None else tuple(
            [edge[0] is not None for edge in next_functions])
        self.sequence_nr = next(_sequence)
        self.released = False
        self.retained = None  # weakref to a non-leaf tensor that called retain_grad()
        self.source = None  # (line, column, text) of the program expression, if known
        # (function, call lines outermost first) when made inside a program's function
        self.context = None

    @property
    def shapes(self):
        """The inputs' shapes, for formulas; only the un-broadcasting ones (sum, expand, ...)
        ask, so they are not kept per node."""
        return tuple([m[0] if m is not None else () for m in self.inputs_meta])

    def name(self) -> str:
        return self.op.backward_name

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    # ----- PyTorch's Node API for programs: hooks (NodeHooks), metadata, saved values ---


    # `_saved_self`, `_raw_saved_result`, ... are not Python attributes: a __getattr__ here
    # would turn off CPython's attribute-access specialisation for every node the engine
    # touches. Programs reach them through gradcli.autodiff.saved.saved_attribute (see
    # attributes.get_attribute).


class AccumulateGrad(NodeHooks):
    """The node behind every leaf that requires grad: adds incoming gradient to `.grad`."""

    __slots__ = ("variable", "sequence_nr", "__weakref__")
    next_functions = ()
    retained = None
    source = None
    multi_output = False
    context = None

    def __init__(self, variable):
        self.variable = variable
        # PyTorch gives AccumulateGrad the highest priority in the ready queue.
        self.sequence_nr = float("inf")

    def name(self) -> str:
        return "AccumulateGrad"


    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def accumulator_of(tensor) -> AccumulateGrad:
    node = tensor.accumulator
    if node is None:
        node = tensor.accumulator = AccumulateGrad(tensor)
    return node


def edge_to(value):
    """The next_functions entry for an op input."""
    if value.__class__ is not Tensor or not value.requires_grad:
        return (None, 0)
    fn = value.grad_fn
    if fn is None:
        return (accumulator_of(value), 0)
    return (fn, 0) if not fn.multi_output else fn.edge_of(value)  # rare: Function outputs

