"""Python operators on Tensor (`+`, `@`, `x[i]`, comparisons, ...), installed at import:
the engine's formulas under create_graph and the program's expressions both use them.
"""

from __future__ import annotations

from gradcli.autodiff.tensor import Tensor
from gradcli.torch._common import item
from gradcli.torch.conversion import backward
from gradcli.torch.indexing import getitem
from gradcli.torch.linalg import matmul
from gradcli.torch.pointwise import (
    abs,
    add,
    bitwise_and,
    bitwise_or,
    div,
    eq,
    exp,
    ge,
    gt,
    invert,
    le,
    log,
    lt,
    mul,
    ne,
    neg,
    positive,
    pow,
    radd,
    rdiv,
    rmul,
    rsub,
    sub,
    tanh,
)
from gradcli.torch.reductions import mean, sum


def _reflected(fn):
    return lambda self, other: fn(other, self)


Tensor.__add__ = add


Tensor.__radd__ = radd


Tensor.__sub__ = sub


Tensor.__rsub__ = rsub


Tensor.__mul__ = mul


Tensor.__rmul__ = rmul


Tensor.__truediv__ = div


Tensor.__rtruediv__ = rdiv


Tensor.__pow__ = pow


Tensor.__rpow__ = _reflected(pow)


Tensor.__matmul__ = matmul


Tensor.__neg__ = neg


Tensor.__pos__ = positive


Tensor.__abs__ = abs


Tensor.__invert__ = invert


Tensor.__and__ = bitwise_and


Tensor.__rand__ = _reflected(bitwise_and)


Tensor.__or__ = bitwise_or


Tensor.__ror__ = _reflected(bitwise_or)


Tensor.__lt__ = lt


Tensor.__le__ = le


Tensor.__gt__ = gt


Tensor.__ge__ = ge


Tensor.__eq__ = eq


Tensor.__ne__ = ne


Tensor.__getitem__ = getitem


Tensor.__hash__ = lambda self: id(self)


Tensor.__float__ = lambda self: float(item(self))


Tensor.__int__ = lambda self: int(item(self))


Tensor.sum = sum


Tensor.mean = mean


Tensor.exp = exp


Tensor.log = log


Tensor.tanh = tanh


Tensor.backward = backward
