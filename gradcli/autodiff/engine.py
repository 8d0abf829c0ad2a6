"""The backward pass: PyTorch's engine, iteratively.

Nodes run when every node that feeds them has run (dependency counting, so graphs of
any depth need no recursion). Among ready nodes the most recently created runs first,
as in PyTorch's ready queue; AccumulateGrad nodes go before everything else.

Gradients are numpy arrays, or, with create_graph=True, tensors built by the engine's
own differentiable ops, so that the gradient can itself be differentiated.
"""

from __future__ import annotations

import heapq
import sys

import numpy as np

from gradcli.autodiff import hints, hooks
from gradcli.autodiff.node import AccumulateGrad, accumulator_of
from gradcli.autodiff.observer import Observer
from gradcli.autodiff.saved import FREED_MESSAGE, unpack_saved
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.autodiff.vocabulary import NumpyVocabulary, sum_to
from gradcli.base.errors import runtime_error

# The vocabulary over differentiable tensors that create_graph=True runs formulas in, with
# the engine's own additions, casts and copies. The torch layer builds it from its
# functions and hands it over (gradcli.torch.vocabulary): the engine knows no torch function.
TENSOR_VOCABULARY = None

# Set by the op table when some custom Function has made a node with several outputs.
multi_output = False


def use_tensor_vocabulary(vocabulary) -> None:
    global TENSOR_VOCABULARY
    TENSOR_VOCABULARY = vocabulary
# CPython up to 3.13 counts getrefcount's own argument; 3.14 may lend a local to a call
# without a new reference, and other interpreters count differently: there, always copy.
_COUNTS_ARGUMENT = sys.implementation.name == "cpython" and sys.version_info < (3, 14)


class BackwardContext:
    """What a formula sees of its node when the node saved tensors: their values, checked
    and unpacked. (A node that saved only numbers is its own context.)"""

    __slots__ = ("saved", "params", "needs", "node")

    def __init__(self, node, saved):
        self.saved = saved
        self.params = node.params
        self.needs = node.needs
        self.node = node

    @property
    def shapes(self):
        return self.node.shapes


def root_node(tensor: Tensor):
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    if tensor.requires_grad:
        return accumulator_of(tensor)
    return None


class Plan:
    """What a backward pass computes: accumulate into leaves (backward) or capture the
    gradients of chosen tensors (autograd.grad / backward(inputs=...))."""

    def __init__(self, capture=None, accumulate=True, only=None):
        self.capture = capture or {}  # node -> slot index in the result
        self.accumulate = accumulate
        self.only = only  # set of nodes whose subgraph leads to a capture, or None
        self.captured: dict = {}
        self.run_captured: set = set()  # captured nodes that lead to other captures


def _dependencies(roots):
    """How many edges lead into each node reachable from `roots`."""
    dependencies: dict = {}
    stack = list(roots)
    roots = set(stack)
    pop, push, count = stack.pop, stack.append, dependencies.get
    while stack:
        for child, _ in pop().next_functions:
            if child is not None:
                n = count(child)
                if n is None:
                    dependencies[child] = 1
                    if child not in roots:
                        push(child)
                else:
                    dependencies[child] = n + 1
    return dependencies


def _parents(roots):
    """Each node's parents (the nodes whose next_functions name it), for `_needed`."""
    parents: dict = {}
    stack = list(roots)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is not None:
                parents.setdefault(child, []).append(node)
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
    return parents


def _needed(parents, targets):
    """Nodes from which some target is reachable (PyTorch only runs those)."""
    return _ancestors(parents, targets) | set(targets)


def _ancestors(parents, targets):
    """Nodes from which some target is reachable through at least one edge: a target
    outside this set is captured and not run (autograd.grad w.r.t. a non-leaf stops
    there, and a custom Function's backward is not called for it)."""
    found = set()
    stack = list(targets)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found


def run_node_backward(node, grad, xp):
    """Run one node's formula outside the queue (CopySlices runs its inner op this way)."""
    saved = unpack_saved(node, xp is TENSOR_VOCABULARY) if node.saved else ()
    return node.op.backward(BackwardContext(node, saved), grad, xp)


def run_backward(roots, retain_graph: bool, create_graph: bool = False, plan: Plan | None = None,
                 observer: Observer | None = None):
    """roots: list of (node, gradient). Returns the plan (with captured gradients)."""
    if observer is None:
        observer = Observer.active
    if observer is not None:
        observer.begin(roots, retain_graph)
    plan = plan or Plan()
    root_nodes = [node for node, _ in roots]
    dependencies = _dependencies(root_nodes)
    if plan.capture:
        plan.run_captured = _ancestors(_parents(root_nodes), plan.capture)
        plan.only = plan.run_captured | set(plan.capture)
    xp = NumpyVocabulary
    previous_mode = GradMode.enabled
    if create_graph:
        xp = TENSOR_VOCABULARY
    GradMode.enabled = create_graph
    try:
        _execute(roots, dependencies, retain_graph, create_graph, plan, xp, observer)
    finally:
        GradMode.enabled = previous_mode
    return plan


def _execute(roots, dependencies, retain_graph, create_graph, plan, xp, observer):
    buffers: dict = {}
    owned: dict = {}  # node -> the buffer this pass allocated for it (safe to add into)
    for node, grad in roots:
        previous = buffers.get(node)
        if previous is not None and node.multi_output:
            grad = [a if b is None else b if a is None else a + b
                    for a, b in zip(previous, grad, strict=True)]
        elif previous is not None:
            grad = previous + grad
        buffers[node] = grad
    ready: list = []
    order = 0
    for node in buffers:
        if not dependencies.get(node):
            heapq.heappush(ready, (-node.sequence_nr, order, node))
            order += 1
    only, capture, accumulate = plan.only, plan.capture, plan.accumulate
    selective = only is not None or bool(capture)  # autograd.grad, backward(inputs=...)
    freed_by = None  # the line of this backward() call, looked up once, for freed nodes
    heappush, heappop = heapq.heappush, heapq.heappop
    numpy_grads = xp is NumpyVocabulary
    hooked = hooks.State.active  # some hook (or anomaly mode) exists: ask the hook table
    multi = multi_output  # some custom Function has several outputs
    # A chain hands each node straight to the next one: when a node makes exactly one
    # node ready and nothing else is waiting, the priority queue has nothing to decide.
    node = grad = None
    while True:
        if node is None:
            if not ready:
                break
            node = heappop(ready)[2]
            grad = buffers.pop(node, None)
        if selective and only is not None and node not in only:
            node = None
            continue
        if hooked and grad is not None:
            grad = hooks.tensor_pre_hooks(node, grad, numpy_grads)
        if selective:
            if grad is not None and node in capture:
                plan.captured[node] = grad
                if not accumulate and node not in plan.run_captured:
                    node = None
                    continue
        if grad is not None and node.retained is not None and accumulate:
            _retain(node.retained(), grad, create_graph)
        elif multi and grad is not None and accumulate and node.multi_output:
            _retain_outputs(node, grad, create_graph)  # retain_grad() on unbind's outputs
        mine = owned.pop(node, None) is grad if owned and grad is not None else False
        if node.__class__ is AccumulateGrad:
            if grad is not None and accumulate and (only is None or node in capture):
                # .grad may adopt, without a copy, a buffer this pass allocated or a gradient
                # only this frame refers to (getrefcount counts its own argument), as
                # PyTorch's AccumulateGrad steals an unshared gradient; a captured one is
                # autograd.grad's result too.
                adopt = node not in capture and (
                    mine or (_COUNTS_ARGUMENT and sys.getrefcount(grad) == 2))
                _accumulate(node.variable, grad, create_graph, observer, adopt)
                if hooked:
                    hooks.post_accumulate(node.variable)
            node = None
            continue
        grads = ()
        if grad is not None:
            if node.released:
                raise _freed(node)
            saved = node.saved
            if saved and node.saved_versions is not None:
                ctx = BackwardContext(node, unpack_saved(node, create_graph))
            else:
                ctx = node  # it saved only numbers: the node is its own context
            if hooked:
                grad = hooks.node_pre_hooks(node, grad, numpy_grads)
                grads = node.op.backward(ctx, grad, xp)
                grads = hooks.node_post_hooks(node, grads, grad, numpy_grads)
            else:
                grads = node.op.backward(ctx, grad, xp)
            if saved and not retain_graph:
                if freed_by is None:
                    freed_by = hints.current_line() or True
                node.saved = None
                node.released = freed_by
            if observer is not None:
                observer.node_ran(node, grad, grads)
        following = None
        for i, (child, slot) in enumerate(node.next_functions):
            if child is None:
                continue
            child_grad = grads[i] if grads else None
            if child_grad is not None:
                meta = node.inputs_meta[i]
                if (not numpy_grads or child_grad.__class__ is Tensor
                        or child_grad.dtype is not meta[1].numpy or child_grad.shape != meta[0]):
                    child_grad = _conform(child_grad, meta, xp)
                previous = buffers.get(child)
                if multi and child.multi_output:  # a custom Function with several outputs
                    child_grad = child.gather(previous, slot, child_grad)
                elif previous is not None:
                    child_grad = _add_into(previous, child_grad, child, owned)
                buffers[child] = child_grad
            remaining = dependencies[child] - 1
            dependencies[child] = remaining
            if remaining == 0:
                if following is not None:
                    heappush(ready, (-following.sequence_nr, order, following))
                    order += 1
                following = child
        node = None
        grads = child_grad = None  # hold no gradient past its node (see `adopt`)
        if following is not None:
            if ready:
                heappush(ready, (-following.sequence_nr, order, following))
                order += 1
            else:
                node = following
                grad = buffers.pop(node, None)


def _freed(node):
    error = runtime_error(FREED_MESSAGE)
    error.hint = hints.freed_by(node.released)
    return error


def _add_into(previous, grad, node, owned: dict):
    """previous + grad, written into `previous` when this pass allocated it: a gradient a
    formula returned may be another node's too, or a saved or user-visible array."""
    if (owned.get(node) is previous and grad.__class__ is not Tensor
            and previous.shape == grad.shape and previous.dtype == grad.dtype):
        return np.add(previous, grad, out=previous)
    total = previous + grad
    if total.__class__ is np.ndarray and total.ndim:
        owned[node] = total
    return total


def _conform(grad, meta, xp):
    """The engine's one place for un-broadcasting: sum to the input's shape, cast to its dtype."""
    shape, dtype = meta
    if grad.__class__ is Tensor:
        if grad.shape != shape:
            grad = xp.sum_to(grad, shape)
        if grad.dtype is not dtype:
            grad = TENSOR_VOCABULARY.to_dtype(grad, dtype)
        return grad
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    if grad.dtype != dtype.numpy:
        grad = grad.astype(dtype.numpy)
    return grad


def _owned(grad: np.ndarray, dtype) -> np.ndarray:
    """A fresh, writable, contiguous copy (gradients may be broadcast views or shared)."""
    return np.array(grad, dtype=dtype, copy=True, order="C")


def _accumulate(variable: Tensor, grad, create_graph: bool, observer,
                adopt: bool = False) -> None:
    if grad.__class__ is Tensor:
        if variable.grad is None:
            # PyTorch copies the incoming gradient into a fresh buffer: CopyBackwards.
            target = Tensor(np.zeros(variable.shape, variable.dtype.numpy))
            variable.grad = TENSOR_VOCABULARY.copy_into(target, grad)
        else:
            variable.grad = TENSOR_VOCABULARY.add(variable.grad, grad)
    elif variable.grad is None:
        dtype = variable.dtype.numpy
        if (adopt and observer is None and grad.__class__ is np.ndarray and grad.base is None
                and grad.dtype == dtype and grad.flags.writeable and grad.flags.c_contiguous):
            variable.grad = Tensor(grad)
        else:
            variable.grad = Tensor(_owned(grad, dtype))
    elif variable.grad.grad_fn is not None or variable.grad.requires_grad:
        variable.grad = TENSOR_VOCABULARY.add(variable.grad, Tensor(np.asarray(grad)))
    else:
        # PyTorch adds into the existing .grad in place.
        total = variable.grad.array
        variable.grad.array = np.add(total, grad, casting="unsafe",
                                     out=total if total.flags.writeable else None)
        variable.grad.version[0] += 1
    if observer is not None:
        observer.accumulated(variable, grad, variable.grad.array)


def _retain(tensor, grad, create_graph: bool) -> None:
    if tensor is None:
        return
    if grad.__class__ is Tensor:
        tensor.grad = grad if tensor.grad is None else TENSOR_VOCABULARY.add(tensor.grad, grad)
        return
    if tensor.grad is None:
        tensor.grad = Tensor(_owned(grad, tensor.dtype.numpy))
    else:
        tensor.grad = Tensor(tensor.grad.array + grad)


def _retain_outputs(node, grads, create_graph: bool) -> None:
    for slot, ref in (getattr(node, "retained_outputs", None) or {}).items():
        if grads[slot] is not None:
            _retain(ref(), grads[slot], create_graph)


def _root_gradient(tensor: Tensor, gradient, index: int, create_graph: bool):
    if gradient is None:
        if tensor.array.size != 1:
            error = runtime_error("grad can be implicitly created only for scalar outputs")
            error.hint = hints.non_scalar(tensor)
            raise error
        root = np.ones(tensor.shape, dtype=tensor.dtype.numpy)
        return Tensor(root) if create_graph else root
    if gradient.shape != tensor.shape:
        raise runtime_error(
            f"Mismatch in shape: grad_output[{index}] has a shape of "
            f"torch.Size({list(gradient.shape)}) and output[{index}] has a shape of "
            f"torch.Size({list(tensor.shape)})."
        )
    if create_graph:
        if gradient.dtype is not tensor.dtype:
            return TENSOR_VOCABULARY.to_dtype(gradient, tensor.dtype)
        return gradient
    return gradient.array.astype(tensor.dtype.numpy, copy=False)


def _roots(tensors, gradients, create_graph):
    roots = []
    for index, (tensor, gradient) in enumerate(zip(tensors, gradients, strict=False)):
        node = root_node(tensor)
        if node is None:
            raise runtime_error(
                f"element {index} of tensors does not require grad and does not have a grad_fn"
            )
        grad = _root_gradient(tensor, gradient, index, create_graph)
        if node.multi_output:
            grad = node.root_gradient(tensor, grad)
        roots.append((node, grad))
    return roots


BACKWARD_HOOKS: list = []  # callables told of every backward() root (gradcli check)


def backward(tensor: Tensor, gradient=None, retain_graph=None, create_graph=False,
             inputs=None, observer=None) -> None:
    """Tensor.backward(gradient=None, retain_graph=None, create_graph=False, inputs=None)."""
    tensors = tensor if isinstance(tensor, (list, tuple)) else [tensor]
    for hook in BACKWARD_HOOKS:
        hook(tensors)
    gradients = gradient if isinstance(gradient, (list, tuple)) else [gradient] * len(tensors)
    roots = _roots(tensors, gradients, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    plan = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            capture[root_node(t) if t.grad_fn is None else t.grad_fn] = i
        plan = Plan(capture=capture, accumulate=True)
    run_backward(roots, retain_graph, create_graph, plan, observer)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, observer=None):
    """torch.autograd.grad: the gradients of `outputs` w.r.t. `inputs`, as a tuple."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single_input = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise runtime_error(
            f"got {len(outputs)} tensors and {len(grad_outputs)} gradients"
        )
    for t in inputs:
        if not t.requires_grad:
            raise runtime_error("One of the differentiated Tensors does not require grad")
    roots = _roots(outputs, grad_outputs, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    capture = {}
    targets = []
    for t in inputs:
        node = t.grad_fn if t.grad_fn is not None else accumulator_of(t)
        capture[node] = True
        targets.append(node)
    plan = run_backward(roots, retain_graph, create_graph, Plan(capture, accumulate=False),
                        observer)
    results = []
    for index, (t, node) in enumerate(zip(inputs, targets, strict=False)):
        value = plan.captured.get(node)
        if value is not None and node.multi_output:  # one output of several: its own slot
            value = value[node.edge_of(t)[1]]
        if value is None:
            if not allow_unused:
                raise runtime_error(
                    f"The differentiated Tensor at index {index} appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior."
                )
            results.append(None)
            continue
        if value.__class__ is not Tensor:
            value = Tensor(_owned(value, t.dtype.numpy))
        results.append(value)
    return tuple(results)
