"""torchgen's rule for naming grad_fn classes from derivatives.yaml (a golden test,
tests/test_grad_fn_names.py, guards it)."""

from __future__ import annotations

from gradcli.aten.overloads import DERIVATIVES_YAML_ORDER


def backward_prefix(base: str) -> str:
    """torchgen's _create_op_prefix: `_log_softmax` -> `LogSoftmaxBackward`."""
    camel = "".join(part.title() for part in base.split("_"))
    return (camel + "Backward").replace("ForwardBackward", "Backward")


_name_table: dict[str, str] | None = None


def backward_name(overload: str) -> str:
    """grad_fn class name of an ATen overload, e.g. `rsub.Scalar` -> `RsubBackward1`.

    The digit counts the derivatives.yaml entries sharing the prefix, in file order.
    """
    global _name_table
    if _name_table is None:
        counters: dict[str, int] = {}
        _name_table = {}
        for entry in DERIVATIVES_YAML_ORDER:
            prefix = backward_prefix(entry.split(".")[0])
            _name_table[entry] = f"{prefix}{counters.get(prefix, 0)}"
            counters[prefix] = counters.get(prefix, 0) + 1
    return _name_table[overload]
