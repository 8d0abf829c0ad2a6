"""Programs for tests/test_symbolic.py: name -> source. Each exercises one family of ops
(and the kinks PyTorch resolves by convention); all run in gradcli and call backward()."""

PROGRAMS = {
    "polynomial": """
w = torch.tensor(1.5, requires_grad=True)
L = w ** 3 + 2 * w ** 2 - w
L.backward()
""",
    "polynomial_two_leaves": """
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(-0.5, requires_grad=True)
L = (a * b + a ** 2) * b
L.backward()
""",
    "exp_log_chain": """
w = torch.tensor(0.7, requires_grad=True)
x = torch.tensor(1.3)
L = torch.log(torch.exp(w * x) + 1)
L.backward()
""",
    "trig_chain": """
w = torch.tensor(0.4, requires_grad=True)
L = torch.sin(torch.cos(w)) * torch.tan(w / 2)
L.backward()
""",
    "sigmoid": """
w = torch.tensor(0.8, requires_grad=True)
b = torch.tensor(-0.3, requires_grad=True)
x = torch.tensor(2.0)
L = torch.sigmoid(w * x + b)
L.backward()
""",
    "tanh_named": """
w = torch.tensor(0.6, requires_grad=True)
x = torch.tensor(1.5)
h = torch.tanh(w * x)
L = h * h
L.backward()
""",
    "linear_named_residual": """
w = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
x = torch.tensor(3.0)
y = torch.tensor(1.0)
r = w * x + b - y
L = r ** 2
L.backward()
""",
    "softmax_cross_entropy": """
import torch.nn.functional as F
z = torch.tensor([1.0, 2.0, 0.5], requires_grad=True)
target = torch.tensor([1])
L = F.cross_entropy(z.unsqueeze(0), target)
L.backward()
""",
    "softmax_by_hand": """
z = torch.tensor([1.0, 2.0, 0.5], requires_grad=True)
p = torch.softmax(z, dim=0)
L = -torch.log(p[1])
L.backward()
""",
    "log_softmax": """
z = torch.tensor([0.3, -1.0, 2.0], requires_grad=True)
L = -torch.log_softmax(z, dim=0)[2]
L.backward()
""",
    "mlp_element": """
x = torch.tensor([1.0, -0.5])
W1 = torch.tensor([[0.5, -0.3], [0.8, 0.2]], requires_grad=True)
b1 = torch.tensor([0.1, -0.1], requires_grad=True)
w2 = torch.tensor([1.0, -1.0], requires_grad=True)
h = torch.tanh(W1 @ x + b1)
out = torch.sigmoid(h @ w2)
L = (out - 1.0) ** 2
L.backward()
""",
    "linear_regression_matrix": """
X = torch.tensor([[1.0, 2.0, 0.5], [0.0, 1.0, -1.0], [2.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
y = torch.tensor([[1.0], [0.0], [2.0], [1.5]])
W = torch.tensor([[0.1], [-0.2], [0.3]], requires_grad=True)
L = ((X @ W - y) ** 2).sum()
L.backward()
""",
    "linear_regression_mean": """
X = torch.tensor([[1.0, 2.0], [0.0, 1.0], [2.0, -1.0]])
y = torch.tensor([[1.0], [0.0], [2.0]])
W = torch.tensor([[0.3], [-0.2]], requires_grad=True)
L = ((X @ W - y) ** 2).mean()
L.backward()
""",
    "broadcast_scalar_weights": """
x = torch.tensor([1.0, 2.0, 3.0])
y = torch.tensor([2.0, 3.0, 7.0])
w = torch.tensor(1.5, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
L = ((w * x + b - y) ** 2).sum()
L.backward()
""",
    "relu_at_zero": """
x = torch.tensor([0.0, 1.5, -2.0], requires_grad=True)
L = (torch.relu(x) * torch.tensor([1.0, 2.0, 3.0])).sum()
L.backward()
""",
    "abs_at_zero": """
x = torch.tensor([0.0, -1.5, 2.0], requires_grad=True)
L = (x.abs() * 3).sum()
L.backward()
""",
    "max_ties": """
x = torch.tensor([3.0, 1.0, 3.0], requires_grad=True)
L = x.max() * 2
L.backward()
""",
    "maximum_tie": """
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(2.0, requires_grad=True)
L = torch.maximum(a, b) * 3 + torch.minimum(a, b)
L.backward()
""",
    "where_on_data": """
x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
y = torch.where(x > 0, x ** 2, -x)
L = y.sum()
L.backward()
""",
    "clamp": """
x = torch.tensor([-2.0, 0.5, 3.0], requires_grad=True)
L = (torch.clamp(x, -1.0, 1.0) * x).sum()
L.backward()
""",
    "quotient": """
a = torch.tensor(1.5, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
L = a / (b + 1) - b / a
L.backward()
""",
    "square_roots": """
w = torch.tensor(2.5, requires_grad=True)
L = torch.sqrt(w) + torch.rsqrt(w + 1)
L.backward()
""",
    "power_of_tensors": """
a = torch.tensor(1.7, requires_grad=True)
b = torch.tensor(0.6, requires_grad=True)
L = a ** b
L.backward()
""",
    "sum_dim_then_mean": """
W = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]], requires_grad=True)
L = (W ** 2).sum(dim=1).mean()
L.backward()
""",
    "mse_loss": """
import torch.nn.functional as F
p = torch.tensor([0.5, 1.5, -0.5], requires_grad=True)
t = torch.tensor([1.0, 1.0, 0.0])
L = F.mse_loss(p, t)
L.backward()
""",
    "binary_cross_entropy": """
import torch.nn.functional as F
z = torch.tensor([0.4, -1.2], requires_grad=True)
t = torch.tensor([1.0, 0.0])
L = F.binary_cross_entropy(torch.sigmoid(z), t)
L.backward()
""",
    "logsumexp": """
z = torch.tensor([0.5, -0.5, 1.0], requires_grad=True)
L = torch.logsumexp(z, dim=0)
L.backward()
""",
    "notebook_cell_14": """
a = torch.tensor([2.0],requires_grad=True)
b = torch.tensor([3.0],requires_grad=True)
c = torch.tensor([5.0],requires_grad=True)
d = torch.tensor([10.0],requires_grad=True)
u = a*b
t = torch.log(d)
v = t*c
t.retain_grad()
e = u+v
e.backward()
""",
    "notebook_cell_9": """
a = torch.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
w1 = torch.tensor([[0.5, -1.0], [2.0, 1.0]], requires_grad=True)
w2 = torch.tensor([[1.5, 0.5], [-0.5, 1.0]], requires_grad=True)
w3 = torch.tensor([[1.0, 2.0], [0.0, -1.0]], requires_grad=True)
w4 = torch.tensor([[0.2, 0.4], [0.6, 0.8]], requires_grad=True)
b = w1*a
c = w2*a
d = w3*b + w4*c
L = (10 - d).sum()
L.backward()
""",
    "two_paths": """
w = torch.tensor(1.5, requires_grad=True)
x = torch.tensor(2.0)
L = w * x + w ** 2
L.backward()
""",
    "vector_norm": """
v = torch.tensor([3.0, -4.0, 1.0], requires_grad=True)
L = v.norm()
L.backward()
""",
    "product": """
v = torch.tensor([1.5, -2.0, 0.5], requires_grad=True)
L = v.prod()
L.backward()
""",
    "matmul_bias_broadcast": """
X = torch.tensor([[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]])
W = torch.tensor([[0.2], [-0.4]], requires_grad=True)
b = torch.tensor([0.1], requires_grad=True)
L = torch.tanh(X @ W + b).sum()
L.backward()
""",
    "transpose_view": """
W = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]], requires_grad=True)
x = torch.tensor([1.0, -1.0, 2.0])
L = (W.t() @ x).view(2, 1).sum()
L.backward()
""",
    "expm1_log1p": """
w = torch.tensor(0.3, requires_grad=True)
L = torch.expm1(w) * torch.log1p(w)
L.backward()
""",
    "reciprocal_rsub": """
w = torch.tensor(0.8, requires_grad=True)
L = 1 / w + (1 - w) ** 2
L.backward()
""",
    "max_along_dim": """
x = torch.tensor([[1.0, 5.0], [4.0, 2.0]], requires_grad=True)
values, indices = x.max(dim=1)
L = (values * torch.tensor([1.0, 3.0])).sum()
L.backward()
""",
    "stack_and_index": """
a = torch.tensor(1.5, requires_grad=True)
b = torch.tensor(-0.5, requires_grad=True)
s = torch.stack([a * b, a + b])
L = s[0] * s[1]
L.backward()
""",
    "if_on_data": """
x = torch.tensor(-1.5, requires_grad=True)
w = torch.tensor(0.5, requires_grad=True)
if x > 0:
    y = w * x ** 2
else:
    y = -w * x
y.backward()
""",
    "exp_base": """
w = torch.tensor(1.2, requires_grad=True)
L = 2 ** w + torch.exp(-w)
L.backward()
""",
}

# The dozen whose printed formulas are recorded in tests/data/symbolic/NAME.txt
# (tools/record_symbolic.py writes them; review the diff by eye).
RECORDED = (
    "linear_named_residual", "notebook_cell_14", "softmax_by_hand", "mlp_element",
    "linear_regression_matrix", "relu_at_zero", "abs_at_zero", "max_ties", "where_on_data",
    "sigmoid", "broadcast_scalar_weights", "two_paths", "clamp", "power_of_tensors",
)


def formulas_text(source: str, filename: str = "program.expr") -> str:
    """What `gradcli eval --symbolic --no-color` prints before the table."""
    import io

    from gradcli.runtime.interpreter import run
    from gradcli.views.symbolic import make_symbolic_views

    views = make_symbolic_views(source, False, "summary", False, False)
    result = run(source, filename, observer=views.tracer)
    views.finish(result)
    out = io.StringIO()
    views.write(result.stdout, False, out)
    return "\n".join(line.rstrip() for line in out.getvalue().split("\n")).strip("\n") + "\n"
