"""`eval --detect-anomaly`: stop at the first backward node whose output holds NaN or inf.

PyTorch's anomaly mode (torch.autograd.set_detect_anomaly) raises "Function
'SqrtBackward0' returned nan values in its 0th output." and prints the Python traceback
of the forward call. gradcli raises the same RuntimeError, positioned at the program line
of the forward operation, with a hint naming the variable. PyTorch checks for NaN only;
gradcli also stops at an infinity (`sqrt(0)` backward gives inf, not NaN), worded the
same way with "inf".
"""

from __future__ import annotations

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import ProgramError
from gradcli.explain.rules import local_rule


def _array(value):
    if value is None:
        return None
    return value.array if value.__class__ is Tensor else np.asarray(value)


def check_outputs(node, grads_out, labeller) -> None:
    """Raise the anomaly error if any gradient this node produced is not finite."""
    for i, grad in enumerate(grads_out or ()):
        array = _array(grad)
        if array is None or array.dtype.kind != "f" or np.isfinite(array).all():
            continue
        kind = "nan" if np.isnan(array).any() else "inf"
        raise anomaly_error(node, i, kind, array, labeller)


def anomaly_error(node, index: int, kind: str, array, labeller) -> ProgramError:
    message = f"Function '{node.name()}' returned {kind} values in its {index}th output."
    definition = labeller.definition(node)
    line = labeller.line(node)
    output = labeller.short(node)
    inputs = [labeller.input(node, i) for i in range(len(node.next_functions))]
    _, partials, formulas = local_rule(node, output, inputs)
    bad = np.argwhere(~np.isfinite(array))
    where = ""
    if array.ndim and len(bad):
        where = " at index " + ", ".join(str(int(i)) for i in bad[0])
    target = inputs[index] if index < len(inputs) else f"input {index}"
    rule = next((p for p in partials if f"/∂{target} =" in p), None)
    if definition and line:
        hint = f"the backward of `{definition}` (line {line}) gave {kind}"
    else:
        hint = f"{node.name()} gave {kind}"
    hint += f" in the gradient for {target}{where}"
    if rule:
        hint += f"; its rule is {rule}"
    elif index < len(formulas) and formulas[index]:
        hint += f"; it sends {formulas[index]}"
    error = ProgramError("RuntimeError", message, hint)
    source = getattr(node, "source", None)
    if source is not None:
        error.at(source[0], source[1])
    return error
