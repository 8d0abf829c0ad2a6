"""torch.nn and torch.optim as Python classes: registration, hooks, state, access rules.

Values are pinned by the conformance cases in tests/conformance/cases_nn (PyTorch 2.13);
these tests cover what a program cannot reach yet (subclasses, hooks written as Python
functions) and the access rule the sandbox applies to these objects.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import ProgramError
from gradcli.torch import access
from gradcli.torch import functions as api
from gradcli.torch.nn import (
    Linear,
    Module,
    ModuleList,
    Parameter,
    ReLU,
    Sequential,
    Tanh,
    init,
)
from gradcli.torch.optim import SGD, Adam


def t(values, requires_grad=False):
    return api.tensor(values, requires_grad=requires_grad)


class TwoLayer(Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Linear(3, 4)
        self.act = Tanh()
        self.fc2 = Linear(4, 2)
        self.scale = Parameter(t([2.0]))
        self.note = "plain attribute"

    def forward(self, x):
        return api.mul(self.fc2(self.act(self.fc1(x))), self.scale)


# ----- registration -------------------------------------------------------------------------


def test_assignment_registers_parameters_and_modules_in_order():
    net = TwoLayer()
    assert list(net._modules) == ["fc1", "act", "fc2"]
    assert list(net._parameters) == ["scale"]
    assert "fc1" not in net.__dict__ and "scale" not in net.__dict__
    assert net.__dict__["note"] == "plain attribute"
    names = [name for name, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [name for name, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.children()) == [net.fc1, net.act, net.fc2]


def test_reassigning_replaces_and_none_keeps_the_slot():
    net = TwoLayer()
    net.fc2 = ReLU()
    assert isinstance(net.fc2, ReLU) and list(net._modules) == ["fc1", "act", "fc2"]
    net.fc2 = None
    assert net.fc2 is None and [n for n, _ in net.named_children()] == ["fc1", "act"]
    with pytest.raises(ProgramError, match="cannot assign 'torch.FloatTensor' as parameter"):
        net.scale = t([1.0])
    net.scale = None
    assert "scale" not in [n for n, _ in net.named_parameters()]


def test_assignment_before_init_is_pytorch_s_error():
    class Forgot(Module):
        def __init__(self):
            self.fc = Linear(2, 2)

    with pytest.raises(ProgramError, match=r"cannot assign module before Module.__init__"):
        Forgot()


def test_skipping_module_init_fails_as_in_pytorch():
    class NoInit(Module):
        def __init__(self):
            self.k = 3

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="'NoInit' object has no attribute '_backward_hooks'"):
        NoInit()(t([1.0]))
    with pytest.raises(AttributeError, match="'NoInit' object has no attribute '_modules'"):
        repr(NoInit())


def test_parameter_is_a_marked_leaf_sharing_storage():
    data = t([1.0, 2.0])
    p = Parameter(data)
    assert p.__class__ is Tensor and p.requires_grad and p.grad_fn is None
    assert isinstance(p, Parameter) and not isinstance(data, Parameter)
    assert p.array is data.array
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert repr(api.mul(p, 2)).startswith("tensor(")  # results are plain tensors


def test_parameter_marks_do_not_keep_tensors_alive():
    from gradcli.autodiff.tensor import PARAMETERS

    p = Parameter(t([1.0]))
    key = id(p)
    del p
    gc.collect()
    assert key not in PARAMETERS._refs


def test_shared_submodule_counts_once():
    shared = Linear(2, 2)
    model = Sequential(shared, Tanh(), shared)
    assert len(list(model.parameters())) == 2
    assert len(list(model.children())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]


def test_modulelist_indexing_and_registration():
    layers = ModuleList([Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is layers[2]
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    with pytest.raises(ProgramError, match="index 3 is out of range"):
        layers[3]


# ----- state ----------------------------------------------------------------------------------


def test_state_dict_detaches_and_load_copies_in_place():
    a, b = TwoLayer(), TwoLayer()
    sd = a.state_dict()
    assert list(sd) == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(not v.requires_grad for v in sd.values())
    assert sd["fc1.weight"].array is a.fc1.weight.array  # same storage, as detach() gives
    before = b.fc1.weight.array
    version = b.fc1.weight.version[0]
    result = b.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    assert b.fc1.weight.array is before and np.array_equal(before, a.fc1.weight.array)
    assert b.fc1.weight.version[0] == version + 1
    assert repr(sd).startswith("OrderedDict([('scale', tensor([2.]))")


def test_train_eval_and_requires_grad_walk_the_tree():
    net = TwoLayer()
    assert net.eval() is net and not net.fc1.training and not net.act.training
    net.train()
    assert net.fc2.training
    net.fc1.requires_grad_(False)
    assert [p.requires_grad for p in net.parameters()] == [True, False, False, True, True]


def test_zero_grad_none_or_zeros():
    lin = Linear(2, 1)
    api.backward(api.sum(lin(t([[1.0, 2.0]]))))
    lin.zero_grad(set_to_none=False)
    assert np.array_equal(lin.weight.grad.array, np.zeros((1, 2), np.float32))
    lin.zero_grad()
    assert lin.weight.grad is None


# ----- hooks ----------------------------------------------------------------------------------


def test_forward_pre_hooks_then_forward_then_forward_hooks_in_order():
    calls = []
    lin = Linear(2, 2)
    init.constant_(lin.weight, 1.0)
    init.zeros_(lin.bias)

    def pre_a(module, args):
        calls.append("pre_a")

    def pre_b(module, args):
        calls.append("pre_b")
        return (api.mul(args[0], 2),)  # replaces the input

    def post_a(module, args, output):
        calls.append("post_a")

    def post_b(module, args, output):
        calls.append("post_b")
        return api.add(output, 1)  # replaces the output

    lin.register_forward_pre_hook(pre_a)
    lin.register_forward_pre_hook(pre_b)
    lin.register_forward_hook(post_a)
    handle = lin.register_forward_hook(post_b)
    first = lin.register_forward_hook(lambda m, a, o: calls.append("first"), prepend=True)
    out = lin(t([1.0, 2.0]))
    assert calls == ["pre_a", "pre_b", "first", "post_a", "post_b"]
    assert out.array.tolist() == [7.0, 7.0]  # (2 + 4) + 1
    handle.remove()
    first.remove()
    calls.clear()
    assert lin(t([1.0, 2.0])).array.tolist() == [6.0, 6.0]
    assert calls == ["pre_a", "pre_b", "post_a"]


def test_forward_hook_with_kwargs_sees_them():
    seen = []
    m = Tanh()
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs),
                            with_kwargs=True)
    m(t([0.0]))
    assert seen == [{}]


def test_full_backward_hook_sees_and_replaces_grad_input():
    seen = []
    lin = Linear(2, 2)
    init.constant_(lin.weight, 1.0)
    init.zeros_(lin.bias)

    def hook(module, grad_input, grad_output):
        seen.append((module, grad_input[0].array.tolist(), grad_output[0].array.tolist()))
        return (api.mul(grad_input[0], 10),)

    handle = lin.register_full_backward_hook(hook)
    x = t([[1.0, 2.0]], requires_grad=True)
    out = lin(x)
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"
    api.backward(api.sum(out))
    assert seen == [(lin, [[2.0, 2.0]], [[1.0, 1.0]])]
    assert x.grad.array.tolist() == [[20.0, 20.0]]
    assert lin.weight.grad.array.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    handle.remove()
    assert lin(x).grad_fn.name() == "AddmmBackward0"


def test_full_backward_hook_without_input_grad_fires_at_the_output():
    seen = []
    lin = Linear(2, 1)
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, len(go))))
    api.backward(api.sum(lin(t([[1.0, 2.0]]))))
    assert seen == [((None,), 1)]


# ----- optimizers -----------------------------------------------------------------------------


def test_optimizer_checks_what_it_is_given():
    w = t([1.0], requires_grad=True)
    with pytest.raises(ProgramError, match="can't optimize a non-leaf Tensor"):
        SGD([api.mul(w, 2)], lr=0.1)
    with pytest.raises(ProgramError, match="optimizer got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ProgramError, match="some parameters appear in more than one"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)


def test_param_groups_take_their_own_options():
    a, b = t([1.0], requires_grad=True), t([1.0], requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    api.backward(api.sum(api.add(a, b)))
    opt.step()
    assert a.array.tolist() == [np.float32(0.9)] and b.array.tolist() == [0.5]


def test_step_updates_in_place_and_bumps_versions():
    w = t([1.0, 2.0], requires_grad=True)
    storage = w.array
    opt = Adam([w], lr=0.1)
    api.backward(api.sum(api.mul(w, w)))
    opt.step()
    assert w.array is storage and w.version[0] == 1
    assert opt.state[w]["step"].array.item() == 1.0
    assert repr(opt.state[w]["step"]) == "tensor(1.)"


# ----- what a program may read ----------------------------------------------------------------


def test_program_attribute_rule():
    net = TwoLayer()
    net.custom = 3
    assert access.may_read(net, "fc1") and access.may_read(net, "scale")
    assert access.may_read(net, "custom") and access.may_read(net, "parameters")
    assert access.may_read(net.fc1, "weight") and access.may_read(net.fc1, "in_features")
    assert not access.may_read(net, "__class__") and not access.may_read(net, "__dict__")
    assert not access.may_read(net, "_call_with_hooks")
    opt = SGD(net.parameters(), lr=0.1)
    assert access.may_read(opt, "param_groups") and not access.may_read(opt, "__init__")


def test_program_attribute_errors_are_program_errors():
    from gradcli.sandbox.attributes import get_attribute
    from gradcli.sandbox.policy import set_attribute

    lin = Linear(2, 2)
    with pytest.raises(ProgramError, match="'Linear' object has no attribute 'wieght'"):
        get_attribute(lin, "wieght")
    with pytest.raises(ProgramError):
        get_attribute(lin, "__dict__")
    with pytest.raises(ProgramError, match="has no attribute '__dict__'"):
        set_attribute(lin, "__dict__", {})
    set_attribute(lin, "weight", Parameter(t([[1.0, 0.0], [0.0, 1.0]])))
    assert lin.weight.array.tolist() == [[1.0, 0.0], [0.0, 1.0]]


# ----- views: parameters named by their path in the module ------------------------------------

VIEW_PROGRAM = """import torch
import torch.nn as nn
model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
x = torch.tensor([[1.0, 2.0]])
loss = model(x).sum()
loss.backward()
"""


def _cli(*args):
    from click.testing import CliRunner

    from gradcli.cli.group import cli

    result = CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.stdout


def test_graph_names_parameters_by_module_path(tmp_path):
    path = tmp_path / "model.expr"
    path.write_text(VIEW_PROGRAM)
    lines = _cli("graph", str(path)).splitlines()
    leaves = [line.split("──")[-1].split()[0] for line in lines if " leaf " in line]
    assert leaves == ["model.2.bias", "model.0.bias", "model.0.weight", "model.2.weight"]


def test_trace_writes_into_named_parameters(tmp_path):
    path = tmp_path / "model.expr"
    path.write_text(VIEW_PROGRAM)
    text = _cli("eval", "--trace", str(path))
    for name in ("model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"):
        assert f"AccumulateGrad · {name}\n" in text
        assert f"writes    {name}.grad = " in text


def test_first_binding_names_a_parameter():
    from gradcli.explain.provenance import leaf_name
    from gradcli.runtime.interpreter import run

    result = run("import torch\nlin = torch.nn.Linear(2, 2)\nmodel = torch.nn.Sequential(lin)\n"
                 "w = model[0].weight\n", "<t>")
    weight = next(r.tensor for r in result.tensors if r.name == "w")
    assert leaf_name(weight) == "lin.weight"


def test_trace_shows_the_hook_node_and_the_changed_gradient():
    from gradcli.explain.tracer import Tracer
    from gradcli.runtime.interpreter import run
    from gradcli.views.trace import render_trace

    src = ("import torch\nlin = torch.nn.Linear(2, 2)\n"
           "torch.nn.init.constant_(lin.weight, 1.0)\n"
           "lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))\n"
           "x = torch.tensor([[1.0, 2.0]], requires_grad=True)\n"
           "y = lin(x).sum()\ny.backward()\n")
    tracer = Tracer(src)
    result = run(src, "<t>", observer=tracer)
    assert result.error is None
    text = "\n".join(line.plain for line in render_trace(tracer.traces[0]))
    assert text.count("BackwardHookFunctionBackward ·") == 2
    assert "identity around a module with a full backward hook" in text
    assert "x.grad = [[4., 4.]]" in text  # the hook doubled [[2., 2.]]
