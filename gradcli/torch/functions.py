"""torch.* as gradcli's own code calls it (`from gradcli.torch import functions as api`):
the family modules' functions under one name. Importing it installs the Python operators
on Tensor (gradcli.torch.operators).
"""

# ruff: noqa: F401
from __future__ import annotations

from gradcli.torch import (
    operators,  # installs Tensor's operators
    vocabulary,  # hands the engine its create_graph vocabulary
)
from gradcli.torch._common import (
    SCALAR_OF_GRAD_TENSOR,
    Number,
    _scalar_of,
    as_dtype,
    call,
    call_number,
    cast,
    check_requires_grad,
    float_dtype,
    is_tensor,
    item,
    python_bool,
    python_float,
    python_int,
    size_args,
    type_name,
    wrap_dim,
    wrap_dims,
)
from gradcli.torch.conversion import (
    CREATE_GRAPH_WARNING,
    Size,
    autograd_grad,
    backward,
    bool_,
    clone,
    contiguous,
    data_of,
    detach,
    dim,
    double,
    float_,
    int_,
    long,
    numel,
    requires_grad_,
    retain_grad,
    set_requires_grad,
    size,
    to,
    tolist,
)
from gradcli.torch.creation import (
    Random,
    _check_size,
    arange,
    empty,
    eye,
    full,
    full_like,
    legacy_constructor,
    linspace,
    new_leaf,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from gradcli.torch.indexing import (
    getitem,
)
from gradcli.torch.inplace import (
    LEAF_INPLACE_MESSAGE,
    _check_inplace,
    add_,
    clamp_,
    copy_,
    div_,
    fill_,
    inplace,
    mul_,
    set_data,
    set_grad,
    setitem,
    sub_,
    zero_,
)
from gradcli.torch.linalg import (
    T_last,
    dot,
    linear,
    matmul,
    mm,
    mv,
    outer,
)
from gradcli.torch.nn_functions import (
    _check_reduction,
    binary_cross_entropy,
    cross_entropy,
    l1_loss,
    log_softmax,
    mse_loss,
    nll_loss,
    no_grad_enabled,
    softmax,
    torch_log_softmax,
    torch_softmax,
)
from gradcli.torch.pointwise import (
    abs,
    add,
    all_,
    allclose,
    any_,
    binary,
    bitwise_and,
    bitwise_or,
    broadcast_error,
    clamp,
    clip,
    cos,
    div,
    eq,
    equal,
    exp,
    expm1,
    floor_divide,
    ge,
    gt,
    invert,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    log2,
    log10,
    logical_not,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    operand,
    positive,
    pow,
    promote,
    radd,
    rdiv,
    reciprocal,
    relu,
    remainder,
    rmul,
    rsqrt,
    rsub,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tan,
    tanh,
    true_divide,
    where,
)
from gradcli.torch.reductions import (
    ReturnTypes,
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from gradcli.torch.shape import (
    T,
    cat,
    expand,
    expand_as,
    flatten,
    permute,
    repeat,
    reshape,
    squeeze,
    stack,
    t,
    transpose,
    unsqueeze,
    view,
)


def random_function(name: str):
    """rand, randn, ...: gradcli.torch.random, imported on the first call (a program that
    draws nothing should not pay for its import)."""

    def delegate(*args, **kwargs):
        from gradcli.torch import random as functions

        return getattr(functions, name)(*args, **kwargs)

    delegate.__name__ = name
    return delegate


manual_seed = random_function("manual_seed")
rand = random_function("rand")
randn = random_function("randn")
randint = random_function("randint")
rand_like = random_function("rand_like")
randn_like = random_function("randn_like")
