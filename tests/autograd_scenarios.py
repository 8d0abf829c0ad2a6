"""Python-level scenarios for hooks, custom Functions, forward AD and torch.func.

Each scenario is `fn(T, A, out)`: `T` is the torch module (real torch under the oracle,
gradcli's `torch` namespace in the tests), `A(obj, name)` reads an attribute as a program
does (getattr under torch; gradcli's sandboxed get_attribute here), `out(value)` records
what the scenario shows. tools/gen_autograd_scenarios.py runs them under PyTorch 2.13 and
writes tests/data/autograd_scenarios.json; tests/test_autograd_extensions.py runs them on
gradcli and compares. Program classes and lambdas here are what the compiled-Python
runtime will hand gradcli: real Python classes subclassing T.autograd.Function, real
functions as hooks.
"""

from __future__ import annotations

import re

SCENARIOS: dict = {}
ADDRESS = re.compile(r"0x[0-9a-f]+")


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def shown(value) -> str:
    """What print() shows, object addresses masked."""
    return ADDRESS.sub("0x…", repr(value))


def error_text(exc) -> str:
    kind = getattr(exc, "type_name", None) or type(exc).__name__
    return f"{kind}: {getattr(exc, 'message', None) or str(exc)}"


def attempt(out, fn):
    try:
        out(fn())
    except Exception as exc:  # noqa: BLE001 - the error is the observation
        out(error_text(exc))


def call(A, obj, name, *args, **kwargs):
    return A(obj, name)(*args, **kwargs)


# ----- tensor hooks ------------------------------------------------------------------


@scenario
def hook_leaf_returns_new_grad(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    call(A, x, "register_hook", lambda g: g * 2)
    call(A, T.sum(x * 3), "backward")
    out(A(x, "grad"))


@scenario
def hook_order_and_chaining(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    call(A, y, "register_hook", lambda g: seen.append(("first", shown(g))))
    call(A, y, "register_hook", lambda g: g + 1)
    call(A, y, "register_hook", lambda g: seen.append(("third", shown(g))) or g * 10)
    call(A, T.sum(y), "backward")
    out(seen)
    out(A(x, "grad"))


@scenario
def hook_handle_remove(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = call(A, x, "register_hook", lambda g: g * 100)
    call(A, h, "remove")
    call(A, h, "remove")  # twice is harmless
    call(A, T.sum(x * 2), "backward")
    out(A(x, "grad"))
    out(shown(h).startswith("<torch.utils.hooks.RemovableHandle object at"))


@scenario
def hook_nonleaf_with_retain_grad(T, A, out):
    # The retains_grad hook runs after the tensor's hooks, whenever retain_grad() was called.
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    call(A, y, "retain_grad")
    call(A, y, "register_hook", lambda g: g * 5)
    call(A, T.sum(y), "backward")
    out(A(y, "grad"))
    out(A(x, "grad"))


@scenario
def hook_on_leaf_sees_accumulated_input(T, A, out):
    x = T.tensor([1.0, -1.0], requires_grad=True)
    grads = []
    call(A, x, "register_hook", lambda g: grads.append(shown(g)))
    call(A, T.sum(x * 2 + x * 3), "backward")
    out(grads)
    out(A(x, "grad"))


@scenario
def hook_runs_for_autograd_grad(T, A, out):
    x = T.tensor([2.0], requires_grad=True)
    y = x * x
    call(A, y, "register_hook", lambda g: g * 3)
    out(T.autograd.grad(T.sum(y), x))


@scenario
def hook_errors(T, A, out):
    attempt(out, lambda: call(A, T.tensor([1.0]), "register_hook", lambda g: g))
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3

    def shrink(g):
        return g[:1]

    call(A, y, "register_hook", shrink)
    attempt(out, lambda: call(A, T.sum(y), "backward"))
    z = x * 3
    call(A, z, "register_hook", lambda g: A(g, "double")())
    attempt(out, lambda: call(A, T.sum(z), "backward"))
    w = x * 3
    call(A, w, "register_hook", lambda g: 5)
    attempt(out, lambda: call(A, T.sum(w), "backward"))


@scenario
def post_accumulate_grad_hook(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    call(A, x, "register_post_accumulate_grad_hook",
         lambda t: seen.append(shown(A(t, "grad"))))
    call(A, T.sum(x * 2), "backward")
    call(A, T.sum(x * 3), "backward")
    out(seen)
    attempt(out, lambda: call(A, x * 2, "register_post_accumulate_grad_hook", lambda t: None))


@scenario
def node_hooks_pre_and_post(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = T.exp(x)
    fn = A(y, "grad_fn")
    log = []
    call(A, fn, "register_prehook", lambda grad_outputs: log.append(("pre", shown(grad_outputs))))
    call(A, fn, "register_hook", lambda gi, go: log.append(("post", shown(gi), shown(go))))
    call(A, T.sum(y), "backward")
    out(log)


@scenario
def node_hooks_replace_gradients(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    fn = A(y, "grad_fn")
    call(A, fn, "register_prehook", lambda go: (go[0] * 10,))
    call(A, fn, "register_hook", lambda gi, go: (gi[0] + 1, None))
    call(A, T.sum(y), "backward")
    out(A(x, "grad"))


@scenario
def grad_fn_metadata(T, A, out):
    x = T.tensor([1.0], requires_grad=True)
    y = x * 2
    meta = A(A(y, "grad_fn"), "metadata")
    meta["label"] = "doubling"
    out(A(A(y, "grad_fn"), "metadata"))


# ----- saved tensors ------------------------------------------------------------------


@scenario
def saved_self_identity(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    w = T.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    fn = A(y, "grad_fn")
    out(A(fn, "_saved_self") is x)
    out(A(fn, "_saved_other") is w)


@scenario
def saved_result_equal_not_same(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = T.exp(x)
    saved = A(A(y, "grad_fn"), "_saved_result")
    out(call(A, saved, "equal", y))
    out(saved is y)
    out(shown(A(A(y, "grad_fn"), "_raw_saved_result")).split(" object")[0])


@scenario
def saved_numbers_and_sizes(T, A, out):
    x = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    fn = A(x ** 3, "grad_fn")
    out(A(fn, "_saved_exponent"))
    out(A(A(T.sum(x, 0), "grad_fn"), "_saved_dim"))
    out(A(A(T.sum(x, 0), "grad_fn"), "_saved_keepdim"))
    out(A(A(T.sum(x), "grad_fn"), "_saved_self_sym_sizes"))
    out(A(A(T.transpose(x, 0, 1), "grad_fn"), "_saved_dim1"))
    out(A(A(T.clamp(x, 0, 1), "grad_fn"), "_saved_max"))
    out(A(A(x * 2, "grad_fn"), "_saved_self"))


@scenario
def saved_after_backward_is_freed(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = T.sin(x)
    call(A, T.sum(y), "backward")
    attempt(out, lambda: A(A(y, "grad_fn"), "_saved_self"))
    attempt(out, lambda: A(A(y, "grad_fn"), "_saved_result"))


@scenario
def saved_tensors_hooks_pack_unpack(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    log = []

    def pack(t):
        log.append(("pack", shown(t)))
        return t * 1

    def unpack(t):
        log.append(("unpack", shown(t)))
        return t

    with T.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = x * x
    call(A, T.sum(y), "backward")
    out(log)
    out(A(x, "grad"))


@scenario
def saved_tensors_hooks_unpack_changes_backward(T, A, out):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with T.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t * 0 + 10):
        y = T.sin(x)
    call(A, T.sum(y), "backward")
    out(A(x, "grad"))


@scenario
def raw_saved_register_hooks(T, A, out):
    # The saved-tensors-hooks tutorial: hooks on one saved tensor of one node.
    x = T.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = T.pow(x, 2)
    log = []

    def pack(t):
        log.append("pack")
        return t * 1

    def unpack(t):
        log.append("unpack")
        return t * 2

    A(A(y, "grad_fn"), "_raw_saved_self").register_hooks(pack, unpack)
    out(A(A(y, "grad_fn"), "_saved_self"))
    call(A, T.sum(y), "backward")
    out(A(x, "grad"))
    out(log)


@scenario
def save_on_cpu_same_gradients(T, A, out):
    x = T.tensor([0.5, 1.5], requires_grad=True)
    with T.autograd.graph.save_on_cpu():
        y = T.sum(T.tanh(x) * x)
    call(A, y, "backward")
    out(A(x, "grad"))


# ----- custom Functions ---------------------------------------------------------------


def _exp_function(T, A):
    class Exp(T.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = T.exp(i)
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    return Exp


@scenario
def function_exp_tutorial(T, A, out):
    Exp = _exp_function(T, A)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = Exp.apply(x)
    out(y)
    out(shown(A(y, "grad_fn")))
    out(call(A, A(y, "grad_fn"), "name"))
    call(A, T.sum(y), "backward")
    out(A(x, "grad"))


@scenario
def function_legendre_polynomial3(T, A, out):
    class LegendrePolynomial3(T.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    a = T.tensor(0.5, requires_grad=True)
    b = T.tensor(-0.25, requires_grad=True)
    x = T.linspace(-1.0, 1.0, 5)
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(x * 0.5 + 0.1)
    loss = T.sum((y_pred - T.sin(x)) ** 2)
    call(A, loss, "backward")
    out(loss)
    out(A(a, "grad"))
    out(A(b, "grad"))


@scenario
def function_straight_through_clamp(T, A, out):
    class StraightThroughClamp(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return T.clamp(x, -1.0, 1.0)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    x = T.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = StraightThroughClamp.apply(x)
    call(A, T.sum(y * y), "backward")
    out(y)
    out(A(x, "grad"))


@scenario
def function_setup_context_and_needs_input_grad(T, A, out):
    class MulConstant(T.autograd.Function):
        @staticmethod
        def forward(tensor, other, constant):
            return tensor * other * constant

        @staticmethod
        def setup_context(ctx, inputs, output):
            tensor, other, constant = inputs
            ctx.constant = constant
            ctx.save_for_backward(tensor, other)

        @staticmethod
        def backward(ctx, grad_output):
            tensor, other = ctx.saved_tensors
            out(ctx.needs_input_grad)
            return grad_output * other * ctx.constant, None, None

    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = MulConstant.apply(x, T.tensor([3.0, 4.0]), 2)
    out(y)
    call(A, T.sum(y), "backward")
    out(A(x, "grad"))
    out(len(A(A(y, "grad_fn"), "next_functions")))


@scenario
def function_wrong_number_of_gradients(T, A, out):
    class Bad(T.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    class TooMany(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    class ExtraNones(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    x = T.tensor([1.0, 2.0], requires_grad=True)
    attempt(out, lambda: call(A, T.sum(Bad.apply(x, x)), "backward"))
    attempt(out, lambda: call(A, T.sum(TooMany.apply(x)), "backward"))
    call(A, T.sum(ExtraNones.apply(x)), "backward")
    out(A(x, "grad"))


@scenario
def function_wrong_gradient_shape(T, A, out):
    class Bad(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    class Broadcast(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return T.ones(3, 2)

    x = T.tensor([1.0, 2.0], requires_grad=True)
    attempt(out, lambda: call(A, T.sum(Bad.apply(x)), "backward"))
    call(A, T.sum(Broadcast.apply(x)), "backward")
    out(A(x, "grad"))


@scenario
def function_missing_backward(T, A, out):
    class NoBackward(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = NoBackward.apply(x)
    out(y)
    attempt(out, lambda: call(A, T.sum(y), "backward"))


@scenario
def function_double_backward(T, A, out):
    class Cube(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x ** 2

    x = T.tensor([1.0, 2.0], requires_grad=True)
    (g,) = T.autograd.grad(T.sum(Cube.apply(x)), x, create_graph=True)
    out(g)
    (gg,) = T.autograd.grad(T.sum(g), x)
    out(gg)


@scenario
def function_double_backward_saved_output(T, A, out):
    Exp = _exp_function(T, A)
    x = T.tensor([0.5, 1.0], requires_grad=True)
    (g,) = T.autograd.grad(T.sum(Exp.apply(x)), x, create_graph=True)
    out(g)
    call(A, T.sum(g), "backward")
    out(A(x, "grad"))


@scenario
def function_once_differentiable(T, A, out):
    once = T.autograd.function.once_differentiable

    class Square(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 2 * x

    x = T.tensor([1.0, 3.0], requires_grad=True)
    (g,) = T.autograd.grad(T.sum(Square.apply(x)), x, create_graph=True)
    out(g)
    attempt(out, lambda: call(A, T.sum(g), "backward"))


@scenario
def function_mark_non_differentiable_and_two_outputs(T, A, out):
    class SplitScale(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            doubled = x * 2
            flags = x > 0
            ctx.mark_non_differentiable(flags)
            return doubled, x * 3, flags

        @staticmethod
        def backward(ctx, g_doubled, g_tripled, g_flags):
            return g_doubled * 2 + g_tripled * 3

    x = T.tensor([-1.0, 2.0], requires_grad=True)
    d, t, f = SplitScale.apply(x)
    out(A(d, "grad_fn") is A(t, "grad_fn"))
    out(A(f, "requires_grad"))
    call(A, T.sum(t), "backward")
    out(A(x, "grad"))
    call(A, T.sum(d * 10 + t), "backward")
    out(A(x, "grad"))


@scenario
def function_mark_dirty(T, A, out):
    class TimesTwoInPlace(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            call(A, x, "mul_", 2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    leaf = T.tensor([1.0, 2.0], requires_grad=True)
    a = call(A, leaf, "clone")
    b = TimesTwoInPlace.apply(a)
    out(b is a)
    out(b)
    call(A, T.sum(b), "backward")
    out(A(leaf, "grad"))
    attempt(out, lambda: TimesTwoInPlace.apply(leaf))


@scenario
def function_no_grad_and_no_input_grad(T, A, out):
    Exp = _exp_function(T, A)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with T.no_grad():
        out(Exp.apply(x))
    out(Exp.apply(T.tensor([1.0])))


@scenario
def function_saved_tensors_freed_after_backward(T, A, out):
    Exp = _exp_function(T, A)
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = Exp.apply(x)
    out(A(y, "grad_fn").saved_tensors)
    call(A, T.sum(y), "backward")
    attempt(out, lambda: A(y, "grad_fn").saved_tensors)


# ----- forward mode -------------------------------------------------------------------


@scenario
def forward_ad_elementwise(T, A, out):
    fwAD = T.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(T.tensor([1.0, 2.0]), T.tensor([1.0, 0.5]))
        y = T.sin(d * d) + T.exp(d) / 3 - T.sigmoid(d) * T.tanh(d)
        out(fwAD.unpack_dual(y).tangent)
        out(shown(d))


@scenario
def forward_ad_reductions_and_linear_algebra(T, A, out):
    fwAD = T.autograd.forward_ad
    W = T.tensor([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    with fwAD.dual_level():
        d = fwAD.make_dual(T.tensor([1.0, -2.0]), T.tensor([0.25, 1.0]))
        h = T.relu(T.matmul(W, d))
        out(fwAD.unpack_dual(h).tangent)
        out(fwAD.unpack_dual(T.softmax(h, 0)).tangent)
        out(fwAD.unpack_dual(T.mean(h * h)).tangent)
        out(fwAD.unpack_dual(T.norm(d)).tangent)
        out(fwAD.unpack_dual(T.prod(d)).tangent)


@scenario
def forward_ad_errors(T, A, out):
    fwAD = T.autograd.forward_ad
    attempt(out, lambda: fwAD.make_dual(T.tensor([1.0]), T.tensor([1.0])))
    with fwAD.dual_level():
        attempt(out, lambda: fwAD.make_dual(T.tensor([1.0, 2.0]), T.ones(3)))
        attempt(out, lambda: fwAD.make_dual(T.tensor([1, 2]), T.ones(2)))
        d = fwAD.make_dual(T.tensor([3.0, 4.0]), T.ones(2))
        attempt(out, lambda: T.floor_divide(d, 2))
    out(fwAD.unpack_dual(d))


@scenario
def forward_ad_custom_function_jvp(T, A, out):
    fwAD = T.autograd.forward_ad
    Exp = _exp_function(T, A)

    class ExpWithJvp(Exp):
        @staticmethod
        def forward(ctx, i):
            result = T.exp(i)
            ctx.save_for_backward(result)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, tangent):
            return tangent * ctx.result

    with fwAD.dual_level():
        d = fwAD.make_dual(T.tensor([1.0, 2.0]), T.tensor([1.0, 0.5]))
        attempt(out, lambda: Exp.apply(d))
        y = ExpWithJvp.apply(d)
        out(y)
        out(fwAD.unpack_dual(T.sin(y)).tangent)


@scenario
def forward_ad_matches_jvp(T, A, out):
    fwAD = T.autograd.forward_ad
    x = T.tensor([0.3, -0.7, 1.1])
    v = T.tensor([1.0, 2.0, -1.0])
    with fwAD.dual_level():
        y = T.logsumexp(T.log1p(T.exp(fwAD.make_dual(x, v))), 0)
        out(fwAD.unpack_dual(y).tangent)
    out(T.autograd.functional.jvp(lambda t: T.logsumexp(T.log1p(T.exp(t)), 0), x, v))


# ----- autograd.functional ---------------------------------------------------------------


@scenario
def functional_jacobian_and_hessian(T, A, out):
    AF = T.autograd.functional

    def f(x):
        return T.sin(x) * x[0]

    x = T.tensor([0.5, 1.0, 2.0])
    out(AF.jacobian(f, x))
    out(AF.hessian(lambda t: T.sum(t ** 3) + t[0] * t[1], x))
    out(AF.jacobian(lambda a, b: a * b + b, (T.tensor([1.0, 2.0]), T.tensor([3.0, 4.0]))))


@scenario
def functional_vjp_jvp_hvp_vhp(T, A, out):
    AF = T.autograd.functional

    def f(x):
        return T.sum(x ** 3 - x)

    x = T.tensor([1.0, 2.0])
    v = T.tensor([1.0, -1.0])
    out(AF.vjp(lambda t: t ** 2, x, v))
    out(AF.jvp(lambda t: t ** 2, x, v))
    out(AF.hvp(f, x, v))
    out(AF.vhp(f, x, v))
    attempt(out, lambda: AF.vjp(lambda t: t ** 2, x))


@scenario
def functional_strict_and_create_graph(T, A, out):
    AF = T.autograd.functional
    x = T.tensor([1.0, 2.0])
    attempt(out, lambda: AF.jacobian(lambda t: T.ones(2), x, strict=True))
    attempt(out, lambda: AF.hessian(T.sum, x, strict=True))
    xr = T.tensor([1.0, 2.0], requires_grad=True)
    j = AF.jacobian(lambda t: t ** 3, xr, create_graph=True)
    out(A(j, "requires_grad"))
    call(A, T.sum(j), "backward")
    out(A(xr, "grad"))


# ----- torch.func --------------------------------------------------------------------


@scenario
def func_grad_and_value(T, A, out):
    def f(x):
        return T.sum(T.sin(x) ** 2)

    x = T.tensor([1.0, 2.0])
    out(T.func.grad(f)(x))
    out(T.func.grad_and_value(f)(x))
    out(T.func.grad(lambda a, b: T.sum(a * b), argnums=(0, 1))(x, T.tensor([3.0, 4.0])))
    attempt(out, lambda: T.func.grad(T.sin)(x))


@scenario
def func_vmap_grad(T, A, out):
    def loss(w, x):
        return T.sum(T.tanh(x * w))

    w = T.tensor([0.5, -1.0])
    xs = T.tensor([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
    out(T.func.vmap(T.func.grad(loss), in_dims=(None, 0))(w, xs))
    out(T.func.vmap(T.dot, in_dims=(0, None))(xs, w))
    out(T.func.vmap(T.sum, in_dims=1)(xs))
    out(T.func.vmap(lambda r: r * 2, out_dims=1)(xs))


@scenario
def func_vmap_errors(T, A, out):
    attempt(out, lambda: T.func.vmap(T.sum, in_dims=2)(T.ones(3, 2)))
    attempt(out, lambda: T.func.vmap(T.dot)(T.ones(3, 2), T.ones(4, 2)))


@scenario
def func_jacrev_jacfwd_hessian(T, A, out):
    def f(x):
        return T.sin(x) * T.cos(x[0])

    x = T.tensor([0.3, 1.2])
    out(T.func.jacrev(f)(x))
    out(T.func.jacfwd(f)(x))
    out(T.func.hessian(lambda t: T.sum(t ** 3 * t[1]))(x))
    out(T.func.jacfwd(T.func.jacrev(lambda t: T.sum(T.exp(t) * t)))(x))


@scenario
def func_vjp_jvp_linearize(T, A, out):
    x = T.tensor([0.5, 1.5])
    value, vjp_fn = T.func.vjp(T.tanh, x)
    out(value)
    out(vjp_fn(T.tensor([1.0, 2.0])))
    out(T.func.jvp(T.tanh, (x,), (T.tensor([1.0, 2.0]),)))
    value, jvp_fn = T.func.linearize(T.tanh, x)
    out(value)
    out(jvp_fn(T.tensor([1.0, 2.0])))


@scenario
def func_nested_grad(T, A, out):
    def cube(t):
        return t ** 3

    out(T.func.grad(T.func.grad(cube))(T.tensor(2.0)))
    out(T.func.grad(lambda t: T.func.grad(cube)(t) * t)(T.tensor(2.0)))


# ----- gradcheck ---------------------------------------------------------------------


@scenario
def gradcheck_pass_and_fail(T, A, out):
    class WrongSquare(T.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a

    x = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
    out(T.autograd.gradcheck(T.sin, (x,)))
    out(T.autograd.gradcheck(lambda a, b: a * b + T.exp(a), (x, T.tensor(
        [0.5, 3.0], dtype=T.float64, requires_grad=True))))
    attempt(out, lambda: T.autograd.gradcheck(WrongSquare.apply, (x,)))
    out(T.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False))
    out(T.autograd.gradgradcheck(T.sin, (x,)))
    attempt(out, lambda: T.autograd.gradcheck(T.sin, (T.tensor([1.0], dtype=T.float64),)))


@scenario
def grad_mode_decorators(T, A, out):
    @T.no_grad()
    def doubled(x):
        return x * 2

    @T.enable_grad()
    def tripled(x):
        return x * 3

    @T.inference_mode()
    def halved(x):
        return x / 2

    x = T.tensor([1.0], requires_grad=True)
    out(doubled(x))
    with T.no_grad():
        out(tripled(x))
    out(halved(x))
    out(doubled.__name__)


# ----- anomaly, devices --------------------------------------------------------------


@scenario
def detect_anomaly_names_node(T, A, out):
    with T.autograd.detect_anomaly():
        x = T.tensor([-1.0, 4.0], requires_grad=True)
        y = T.sqrt(x)
        attempt(out, lambda: call(A, T.sum(y), "backward"))
    out(T.is_anomaly_enabled())


@scenario
def devices_cpu_only(T, A, out):
    x = T.tensor([1.0, 2.0])
    out(A(x, "device"))
    out(str(A(x, "device")))
    out(T.device("cpu") == A(x, "device"))
    out(call(A, x, "to", "cpu") is x)
    out(T.cuda.is_available())
    attempt(out, lambda: call(A, x, "cuda"))
    attempt(out, lambda: call(A, x, "to", "cuda"))
    attempt(out, lambda: T.zeros(2, device="cuda"))
    attempt(out, lambda: T.device("gpu"))
