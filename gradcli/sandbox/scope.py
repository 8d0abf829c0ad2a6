"""Everything a program can reach, by name: the allow-lists of SPEC §1.3.

A program sees only these names, these module attributes and these tensor attributes.
Nothing else in Python is reachable from the language.
"""

from __future__ import annotations

import builtins
import math

from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import attribute_error, type_error
from gradcli.torch import functions as api
from gradcli.torch import runtime_state, shape_index_linalg, tensor_api, tensor_extra
from gradcli.torch.activations import FUNCTIONAL_MEMBERS as ACTIVATIONS
from gradcli.torch.activations_more import TORCH_MORE as ACTIVATIONS_AS_TORCH
from gradcli.torch.autograd import grad_mode as G
from gradcli.torch.autograd import namespaces as autograd_namespaces
from gradcli.torch.losses_more import TORCH_LOSSES as LOSSES_AS_TORCH
from gradcli.torch.tensor_protocol import tensor_class
from gradcli.torch.unbind import unbind


class Namespace:
    """A module as the program sees it (`torch`, `F`, `torch.autograd`).

    `members` may be given as a function that builds them: torch.nn and torch.optim are
    imported on a program's first use of them, not by every run (start-up time)."""

    def __init__(self, name: str, members):
        self.name = name
        if callable(members):
            self._build = members
        else:
            self.members = members

    def __getattr__(self, attr: str):
        # only reached while `members` is not built yet
        if attr == "members" and "_build" in self.__dict__:
            self.members = self.__dict__.pop("_build")()
            return self.members
        raise AttributeError(attr)

    def get(self, attr: str):
        try:
            return self.members[attr]
        except KeyError:
            raise attribute_error(f"module '{self.name}' has no attribute '{attr}'") from None

    def __repr__(self) -> str:
        return f"<module '{self.name}'>"


# ----- torch functions (torch.X) ---------------------------------------------------------

TORCH_FUNCTIONS = {
    # creation
    "tensor": api.tensor,
    "Tensor": tensor_class(api.legacy_constructor(dtypes.float32)),
    "FloatTensor": api.legacy_constructor(dtypes.float32),
    "DoubleTensor": api.legacy_constructor(dtypes.float64),
    "LongTensor": api.legacy_constructor(dtypes.int64),
    "empty": api.empty,
    "zeros": api.zeros,
    "ones": api.ones,
    "full": api.full,
    "arange": api.arange,
    "linspace": api.linspace,
    "eye": api.eye,
    "rand": api.random_function("rand"),
    "randn": api.random_function("randn"),
    "randint": api.random_function("randint"),
    "randperm": api.random_function("randperm"),
    "randint_like": api.random_function("randint_like"),
    "normal": api.random_function("normal"),
    "bernoulli": api.random_function("bernoulli"),
    "multinomial": api.random_function("multinomial"),
    "initial_seed": api.random_function("initial_seed"),
    "get_rng_state": api.random_function("get_rng_state"),
    "set_rng_state": api.random_function("set_rng_state"),
    "Generator": api.random_function("new_generator"),
    "zeros_like": api.zeros_like,
    "ones_like": api.ones_like,
    "full_like": api.full_like,
    "rand_like": api.random_function("rand_like"),
    "randn_like": api.random_function("randn_like"),
    "manual_seed": api.random_function("manual_seed"),
    # arithmetic
    "add": api.add,
    "sub": api.sub,
    "subtract": api.sub,
    "mul": api.mul,
    "multiply": api.mul,
    "div": api.div,
    "divide": api.div,
    "true_divide": api.true_divide,
    "floor_divide": api.floor_divide,
    "remainder": api.remainder,
    "pow": api.pow,
    "neg": api.neg,
    "negative": api.neg,
    "matmul": api.matmul,
    "mm": api.mm,
    "mv": api.mv,
    "dot": api.dot,
    "outer": api.outer,
    # element-wise
    "exp": api.exp,
    "log": api.log,
    "log2": api.log2,
    "log10": api.log10,
    "log1p": api.log1p,
    "expm1": api.expm1,
    "sqrt": api.sqrt,
    "rsqrt": api.rsqrt,
    "sin": api.sin,
    "cos": api.cos,
    "tan": api.tan,
    "tanh": api.tanh,
    "sigmoid": api.sigmoid,
    "relu": api.relu,
    "abs": api.abs,
    "sign": api.sign,
    "square": api.square,
    "reciprocal": api.reciprocal,
    "clamp": api.clamp,
    "clip": api.clip,
    "maximum": api.maximum,
    "minimum": api.minimum,
    "where": api.where,
    "gt": api.gt,
    "ge": api.ge,
    "lt": api.lt,
    "le": api.le,
    "eq": api.eq,
    "ne": api.ne,
    "isnan": api.isnan,
    "isinf": api.isinf,
    "isfinite": api.isfinite,
    "allclose": api.allclose,
    "equal": api.equal,
    "logical_not": api.logical_not,
    # reductions
    "sum": api.sum,
    "mean": api.mean,
    "prod": api.prod,
    "max": api.max,
    "min": api.min,
    "amax": api.amax,
    "amin": api.amin,
    "argmax": api.argmax,
    "argmin": api.argmin,
    "norm": api.norm,
    "var": api.var,
    "std": api.std,
    "logsumexp": api.logsumexp,
    "all": api.all_,
    "any": api.any_,
    # shape
    "reshape": api.reshape,
    "flatten": api.flatten,
    "squeeze": api.squeeze,
    "unsqueeze": api.unsqueeze,
    "transpose": api.transpose,
    "permute": api.permute,
    "t": api.t,
    "cat": api.cat,
    "concat": api.cat,
    "stack": api.stack,
    "unbind": unbind,
    "clone": api.clone,
    "detach": api.detach,
    # nn
    "softmax": api.torch_softmax,
    "log_softmax": api.torch_log_softmax,
    # autograd
    "no_grad": G.no_grad,
    "enable_grad": G.enable_grad,
    "set_grad_enabled": G.set_grad_enabled,
    "is_grad_enabled": G.is_grad_enabled,
    "is_tensor": lambda obj: isinstance(obj, Tensor),
    "numel": api.numel,
    "Size": lambda sizes=(): api.Size(tuple(sizes)),
}

TORCH_FUNCTIONS.update(runtime_state.torch_function_overrides(TORCH_FUNCTIONS))
TORCH_FUNCTIONS.update(tensor_extra.FUNCTIONS)
TORCH_FUNCTIONS.update(ACTIVATIONS_AS_TORCH)
TORCH_FUNCTIONS.update(LOSSES_AS_TORCH)
TORCH_FUNCTIONS.update(tensor_api.FUNCTIONS)
TORCH_FUNCTIONS.update(shape_index_linalg.functions(TORCH_FUNCTIONS))

TORCH_DTYPES = {
    "float32": dtypes.float32,
    "float": dtypes.float32,
    "float64": dtypes.float64,
    "double": dtypes.float64,
    "int64": dtypes.int64,
    "long": dtypes.int64,
    "int32": dtypes.int32,
    "int": dtypes.int32,
    "bool": dtypes.bool_,
}

def _functional_members() -> dict:
    from gradcli.torch.nn import FUNCTIONAL_EXTRA, FUNCTIONAL_MORE

    return {
        "relu": api.relu,
        "sigmoid": api.sigmoid,
        "tanh": api.tanh,
        "softmax": api.softmax,
        "log_softmax": api.log_softmax,
        "mse_loss": api.mse_loss,
        "l1_loss": api.l1_loss,
        "binary_cross_entropy": api.binary_cross_entropy,
        "cross_entropy": api.cross_entropy,
        "nll_loss": api.nll_loss,
        "linear": api.linear,
        **ACTIVATIONS,
        **FUNCTIONAL_EXTRA,
        **FUNCTIONAL_MORE,
    }


def _nn_members() -> dict:
    from gradcli.torch.nn import NN_MEMBERS

    return {"functional": FUNCTIONAL, "init": NN_INIT, "utils": NN_UTILS, **NN_MEMBERS}


def _nn_init_members() -> dict:
    from gradcli.torch.nn import INIT_MEMBERS

    return INIT_MEMBERS


def _nn_utils_members() -> dict:
    from gradcli.torch.nn.utils import UTILS_MEMBERS

    return UTILS_MEMBERS


def _optim_members() -> dict:
    from gradcli.torch.optim import OPTIM_MEMBERS

    return {**OPTIM_MEMBERS, "lr_scheduler": LR_SCHEDULER}


def _lr_scheduler_members() -> dict:
    from gradcli.torch.optim import LR_SCHEDULER_MEMBERS

    return LR_SCHEDULER_MEMBERS


def _data_members() -> dict:
    from gradcli.torch.utils.data import DATA_MEMBERS

    return DATA_MEMBERS


FUNCTIONAL = Namespace("torch.nn.functional", _functional_members)
_AUTOGRAD_EXTRA, _TORCH_EXTRA = autograd_namespaces(Namespace)
AUTOGRAD = Namespace("torch.autograd", {"grad": G.autograd_grad, "backward": G.autograd_backward,
                                        **_AUTOGRAD_EXTRA})
NN_INIT = Namespace("torch.nn.init", _nn_init_members)
NN = Namespace("torch.nn", _nn_members)
NN_UTILS = Namespace("torch.nn.utils", _nn_utils_members)
LR_SCHEDULER = Namespace("torch.optim.lr_scheduler", _lr_scheduler_members)
OPTIM = Namespace("torch.optim", _optim_members)
DATA = Namespace("torch.utils.data", _data_members)
UTILS = Namespace("torch.utils", {"data": DATA})
LINALG = Namespace("torch.linalg", shape_index_linalg.LINALG)
RANDOM = Namespace("torch.random", {
    "manual_seed": api.random_function("manual_seed"),
    "initial_seed": api.random_function("initial_seed"),
    "get_rng_state": api.random_function("get_rng_state"),
    "set_rng_state": api.random_function("set_rng_state"),
    "fork_rng": api.random_function("fork_rng"),
})
TORCH = Namespace(
    "torch",
    {
        **TORCH_FUNCTIONS,
        **TORCH_DTYPES,
        "nn": NN,
        "optim": OPTIM,
        "autograd": AUTOGRAD,
        "random": RANDOM,
        "utils": UTILS,
        "linalg": LINALG,
        "pi": math.pi,
        "e": math.e,
        "inf": math.inf,
        "nan": math.nan,
        **_TORCH_EXTRA,
        **runtime_state.torch_members(Namespace),
    },
)
NUMPY = Namespace("numpy", {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan})

MODULES = {
    "torch": TORCH,
    "torch.nn": NN,
    "torch.nn.functional": FUNCTIONAL,
    "torch.nn.init": NN_INIT,
    "torch.nn.utils": NN_UTILS,
    "torch.optim": OPTIM,
    "torch.optim.lr_scheduler": LR_SCHEDULER,
    "torch.autograd": AUTOGRAD,
    "torch.random": RANDOM,
    "torch.utils": UTILS,
    "torch.utils.data": DATA,
    "torch.linalg": LINALG,
    **{ns.name: ns for ns in (*_AUTOGRAD_EXTRA.values(), *_TORCH_EXTRA.values())
       if isinstance(ns, Namespace)},
    "numpy": NUMPY,
}


# ----- Python builtins; abs/min/max/sum switch to torch's on tensors --------------------


def _tensor_aware(python_fn, torch_fn):
    def dispatch(*args, **kwargs):
        if args and any(isinstance(a, Tensor) for a in args[:2]):
            return torch_fn(*args, **kwargs)
        return python_fn(*args, **kwargs)

    dispatch.__name__ = python_fn.__name__
    return dispatch


def _print_placeholder(*args, **kwargs):  # replaced per run by the interpreter
    raise type_error("print is bound by the interpreter")


def _round(number, ndigits=None):
    if isinstance(number, Tensor):
        raise type_error("type Tensor doesn't define __round__ method")
    return builtins.round(number) if ndigits is None else builtins.round(number, ndigits)


PYTHON_BUILTINS = {
    "len": len,
    "range": range,
    "float": api.python_float,
    "int": api.python_int,
    "round": _round,
    "bool": api.python_bool,
    "str": str,
    "repr": repr,
    "list": list,
    "tuple": tuple,
    "enumerate": enumerate,
    "zip": zip,
    "isinstance": None,  # deliberately absent: no access to Python types
    "abs": _tensor_aware(builtins.abs, api.abs),
    "min": _tensor_aware(builtins.min, api.min),
    "max": _tensor_aware(builtins.max, api.max),
    "sum": _tensor_aware(builtins.sum, api.sum),
}
del PYTHON_BUILTINS["isinstance"]

# `from torch import *` binds these bare (SPEC §1.3); Python's builtins keep their names.
BARE_TORCH = {
    name: value
    for name, value in {**TORCH_FUNCTIONS, **TORCH_DTYPES}.items()
    if name not in ("float", "int", "bool", "abs", "min", "max", "sum", "Size", "is_tensor")
}


def global_scope() -> dict:
    scope = dict(BARE_TORCH)
    scope.update(PYTHON_BUILTINS)
    scope["torch"] = TORCH
    scope["F"] = FUNCTIONAL
    return scope
