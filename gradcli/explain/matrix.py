"""Matrix formulas (`∂L/∂W = 2·Xᵀ·(X·W − y)`) for programs made of matrix products,
transposes, sums and differences, multiples by a number and a final sum (or mean) of
squares: the graph rebuilt on SymPy MatrixSymbols and differentiated with SymPy's matrix
calculus. Anything else returns no formula (the caller falls back to element formulas)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from gradcli.explain.capture import Pass
from gradcli.explain.symbolic_ops import number


class MatrixFormula:
    def __init__(self, expr, symbols: list, names: list, shape):
        self.expr = expr
        self.notes: list[str] = []
        self._symbols = symbols
        self._names = names
        self._shape = shape
        self._function = None

    def evaluate(self, values: dict) -> np.ndarray:
        """The formula's value with each matrix symbol bound to the named value."""
        if self._function is None:
            plain = all(name.isidentifier() for name in self._names)
            self._function = sp.lambdify(self._symbols, self.expr, "numpy", dummify=not plain)
        arguments = []
        for symbol, name in zip(self._symbols, self._names, strict=True):
            value = np.asarray(values[name], dtype=np.float64)
            arguments.append(value.reshape(symbol.shape))
        return np.asarray(self._function(*arguments), dtype=np.float64)


class _Square:
    """E∘E, waiting for the sum that makes it Trace(Eᵀ·E)."""

    def __init__(self, matrix):
        self.matrix = matrix


def _shape2(shape):
    shape = tuple(shape)
    if len(shape) == 2:
        return shape
    if len(shape) == 1:
        return (shape[0], 1)
    return None


def matrix_formulas(captured: Pass) -> dict:
    """leaf name -> MatrixFormula, or {} when the program is not of the matrix kind."""
    try:
        return _build(captured)
    except (_NotMatrix, ValueError, TypeError, AttributeError, sp.ShapeError):
        return {}


class _NotMatrix(Exception):
    pass


def _build(captured: Pass) -> dict:
    if not captured.roots or len(captured.roots) != 1:
        return {}
    symbols, names = [], []
    leaf_symbols = []
    for leaf in captured.leaves:
        shape = _shape2(leaf.shape)
        if shape is None or leaf.value.size == 1:
            return {}
        symbol = sp.MatrixSymbol(leaf.name, *shape)
        leaf_symbols.append(symbol)
        symbols.append(symbol)
        names.append(leaf.name)
    constants: dict = {}
    values: list = []
    for step in captured.steps:
        args = []
        for operand in step.operands:
            if operand.kind == "step":
                args.append(values[operand.step])
            elif operand.kind == "leaf":
                args.append(leaf_symbols[operand.leaf])
            elif operand.kind == "number":
                args.append(number(operand.value))
            else:
                value = np.asarray(operand.value)
                if value.ndim == 0:
                    args.append(number(value[()]))
                    continue
                shape = _shape2(value.shape)
                if shape is None:
                    raise _NotMatrix
                if operand.name and operand.name not in names:
                    symbol = sp.MatrixSymbol(operand.name, *shape)
                    constants[operand.name] = symbol
                    symbols.append(symbol)
                    names.append(operand.name)
                    args.append(symbol)
                elif operand.name in constants:
                    args.append(constants[operand.name])
                else:
                    args.append(sp.ImmutableMatrix(value.reshape(shape).tolist()).applyfunc(
                        number))
        values.append(_step(step, args))
    root = values[captured.roots[0][0]]
    if isinstance(root, (_Square, sp.MatrixBase, sp.MatrixExpr)):
        raise _NotMatrix
    grad = np.asarray(captured.roots[0][1])
    if grad.size != 1:
        raise _NotMatrix
    root = number(grad.reshape(())[()]) * root
    out = {}
    for leaf, symbol in zip(captured.leaves, leaf_symbols, strict=True):
        derivative = root.diff(symbol)
        if isinstance(derivative, sp.MatrixExpr) or isinstance(derivative, sp.MatrixBase):
            out[leaf.name] = MatrixFormula(derivative, symbols, names, symbol.shape)
        else:
            raise _NotMatrix
    return out


def _is_matrix(value) -> bool:
    return isinstance(value, (sp.MatrixExpr, sp.MatrixBase))


def _step(step, args):
    overload, p = step.overload, step.params
    a = args[0] if args else None
    if overload == "mm" or overload == "mv":
        if not (_is_matrix(a) and _is_matrix(args[1])):
            raise _NotMatrix
        return a * args[1]
    if overload in ("t", "transpose.int"):
        if len(step.node.inputs_meta[0][0]) < 2:
            return a
        return a.T
    if overload in ("add.Tensor", "sub.Tensor"):
        b = args[1] if p is None else number(p) * args[1]
        if isinstance(a, _Square) or isinstance(b, _Square) or _is_matrix(a) != _is_matrix(b):
            raise _NotMatrix
        if _is_matrix(a) and a.shape != b.shape:
            raise _NotMatrix
        return a + b if overload == "add.Tensor" else a - b
    if overload == "mul.Tensor":
        matrices = [x for x in args if _is_matrix(x) or isinstance(x, _Square)]
        if len(matrices) > 1 or any(isinstance(x, _Square) for x in args):
            raise _NotMatrix
        return a * args[1]
    if overload == "div.Scalar":
        if isinstance(a, _Square):
            raise _NotMatrix
        return a / number(p)
    if overload == "neg":
        return -a
    if overload == "pow.Tensor_Scalar" and p == 2 and _is_matrix(a):
        return _Square(a)
    if overload in ("sum", "mean"):
        if isinstance(a, _Square):
            m = a.matrix
            total = sp.Trace(m.T * m)
            return total / (m.shape[0] * m.shape[1]) if overload == "mean" else total
        if _is_matrix(a):
            raise _NotMatrix
        return a
    if overload == "mse_loss" and _is_matrix(a) and _is_matrix(args[1]):
        e = a - args[1]
        total = sp.Trace(e.T * e)
        if p == "mean":
            return total / (e.shape[0] * e.shape[1])
        if p == "sum":
            return total
    if overload == "clone" or overload == "alias":
        return a
    raise _NotMatrix
