"""Workloads of issue 13: the Python around the tensors.

Each program is one text, run three ways: by gradcli's interpreter (guarded compiled
Python), by CPython with torch's names in scope, and (for plain Python) by CPython alone.
Start-up is excluded: the text is compiled and run inside the benchmark process.
"""

from __future__ import annotations

import numpy as np

CALLS = 100_000

DEF_PROGRAM = """\
import torch
def f(x):
    return x * 1.0001 + 0.5
x = torch.tensor(1.0, requires_grad=True)
y = x
for i in range({n}):
    y = f(y)
y.backward()
"""

MICROGRAD_PROGRAM = '''\
import math
import random

class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = Value(self.data ** other, (self,), f"**{other}")

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rmul__(self, other):
        return self * other


class Neuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, nin, nout):
        self.neurons = [Neuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


random.seed(1337)
model = MLP(3, [4, 4, 1])
xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]
for k in range({steps}):
    ypred = [model(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
    for p in model.parameters():
        p.grad = 0.0
    loss.backward()
    for p in model.parameters():
        p.data += -0.05 * p.grad
final_loss = loss.data
'''


def run_gradcli(text: str):
    from gradcli.runtime.interpreter import run

    result = run(text, "<bench>")
    if result.error is not None:
        raise RuntimeError(f"gradcli failed: {result.error.type}: {result.error.message}")
    return result


def def_gradcli(n: int = CALLS):
    result = run_gradcli(DEF_PROGRAM.format(n=n))
    x = next(r.tensor for r in result.tensors if r.name == "x")
    return [x.grad.array]


def def_torch(n: int = CALLS):
    import torch

    scope = {"torch": torch}
    exec(compile(DEF_PROGRAM.format(n=n), "<bench>", "exec"), scope)  # noqa: S102
    return [scope["x"].grad.numpy()]


def micrograd_gradcli(steps: int = 100):
    text = MICROGRAD_PROGRAM.replace("{steps}", str(steps)) + "print(repr(final_loss))\n"
    result = run_gradcli(text)
    return [np.asarray(float(result.stdout.strip()))]


def micrograd_cpython(steps: int = 100):
    printed: list = []
    scope: dict = {"__name__": "__main__", "print": lambda *a: printed.append(a)}
    text = MICROGRAD_PROGRAM.replace("{steps}", str(steps)) + "print(repr(final_loss))\n"
    exec(compile(text, "<bench>", "exec"), scope)  # noqa: S102
    return [np.asarray(float(printed[-1][0]))]
