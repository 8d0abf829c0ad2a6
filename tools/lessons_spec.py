# ruff: noqa: W291 - the source notebook's cells are kept verbatim, trailing blanks included
"""The texts of examples/lessons/ and tests/data/lessons/: notebooks as cells and
transcripts as examples. tools/gen_lessons.py runs them under real PyTorch and records
the outputs; nothing here is an expected value."""

from __future__ import annotations


def md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text.strip("\n")}


def code(text: str, *tags: str) -> dict:
    return {"cell_type": "code", "source": text.strip("\n"), "tags": list(tags)}


# The source notebook of the project (SPEC: reference/000_b9e20277f77b64a4.txt), cell by
# cell. Its first cell prints uninitialised memory (no two runs agree: its output is not
# compared, nbval's tag); the cells that fail on purpose are tagged `raises-exception`.
SOURCE_NOTEBOOK = [
    md("""
# PyTorch Computational Graphs

Modern neural network architectures can have millions of learnable parameters. From a
computational point of view, training a neural network consists of two phases:

* A forward pass to compute the value of the loss function.
* A backward pass to compute the gradients of the learnable parameters.
"""),
    md("""
## Tensors: Basic Building Blocks of PyTorch

Tensor is a data structure which is a fundamental building block of PyTorch.
"""),
    code("""
import torch

x = torch.Tensor(3, 5)
print(x)
""", "nbval-ignore-output"),
    md("""
### requires_grad

Every Tensor in PyTorch has a flag: `required_grad` that allows for fine-grained exclusion
of subgraphs from gradient computation and can increase efficiency.
"""),
    code("""
t1 = torch.randn((3,3), requires_grad = True) 

t2 = torch.FloatTensor(3,3) # No way to specify requires_grad while initiating 
t2.requires_grad = True

print(t2.grad)
"""),
    md("""
`requires_grad` is contagious.
"""),
    code("""
import torch

x = torch.randn(3,3) # requires_grad=False by default
y = torch.randn(3,3) #requires_grad=False by default
z = torch.randn((3,3),requires_grad=True)
a = x+y # since both x and y don't require gradients, a also doesn't require gradients
print(a.requires_grad) #output: False
b = a+z #since z requires gradient, b also requires gradient
print(b.requires_grad) #output: True
"""),
    md("""
### grad_fn

Each Tensor has an attribute called `grad_fn`, which refers to the mathematical operator
that create the variable.
"""),
    code("""
print(x.grad_fn)    # x is a leaf node, no grad_fn
print(y.grad_fn)    # y is a leaf node, no grad_fn
print(z.grad_fn)    # z is a leaf node, no grad_fn
print(a.grad_fn)    # a's requires_grad is False, no grad_fn
print(b.grad_fn)
"""),
    md("""
## Function

One thing to note here is that PyTorch gives an error if you call `backward` on
vector-valued Tensor.
"""),
    code("""
import torch 

a = torch.randn((3,3), requires_grad = True)

w1 = torch.randn((3,3), requires_grad = True)
w2 = torch.randn((3,3), requires_grad = True)
w3 = torch.randn((3,3), requires_grad = True)
w4 = torch.randn((3,3), requires_grad = True)

b = w1*a 
c = w2*a

d = w3*b + w4*c 

L = (10 - d)

L.backward()
""", "raises-exception"),
    md("""
There are two ways to overcome this.
"""),
    code("""
import torch 

a = torch.randn((3,3), requires_grad = True)

w1 = torch.randn((3,3), requires_grad = True)
w2 = torch.randn((3,3), requires_grad = True)
w3 = torch.randn((3,3), requires_grad = True)
w4 = torch.randn((3,3), requires_grad = True)

b = w1*a 
c = w2*a

d = w3*b + w4*c 

# Replace L = (10 - d) by 
L = (10 -d).sum()

L.backward()
"""),
    code("""
import torch 

a = torch.randn((3,3), requires_grad = True)

w1 = torch.randn((3,3), requires_grad = True)
w2 = torch.randn((3,3), requires_grad = True)
w3 = torch.randn((3,3), requires_grad = True)
w4 = torch.randn((3,3), requires_grad = True)

b = w1*a 
c = w2*a

d = w3*b + w4*c 

# Replace L = (10 - d) by 
L = (10 -d)

L.backward(torch.ones(L.shape))
"""),
    md("""
In this way, we can have gradients for every Tensor , and we can update them using
Optimisation algorithm of our choice.
"""),
    code("""
learning_rate = 0.5
w1 = w1 - learning_rate * w1.grad
"""),
    md("""
## Dynamic Computation Graph
"""),
    code("""
a = torch.randn((3,3), requires_grad = True)   #No graph yet, as a is a leaf

w1 = torch.randn((3,3), requires_grad = True)  #Same logic as above

b = w1*a   #Graph with node `mulBackward` is created.
"""),
    md("""
You can undo this non-leaf buffer destroying behaviour by adding `retain_graph = True`.
"""),
    code("""
loss.backward(retain_graph = True)
""", "raises-exception"),
    md("""
## torch.no_grad()
"""),
    code("""
with torch.no_grad():
    inference code goes here
""", "raises-exception"),
    md("""
### is_leaf() and retain_grad()
"""),
    code("""
import torch

# Define the graph a,b,c,d are leaf nodes and e is the root node
# The graph is constructed with every line since the 
# computational graphs are dynamic in PyTorch
a = torch.tensor([2.0],requires_grad=True)
b = torch.tensor([3.0],requires_grad=True)
c = torch.tensor([5.0],requires_grad=True)
d = torch.tensor([10.0],requires_grad=True)
u = a*b
t = torch.log(d)
v = t*c
t.retain_grad()
e = u+v
"""),
    code("""
print(f"a is leaf: {a.is_leaf}")
print(f"a grad_fn: {a.grad_fn}")
print(f"a grad: {a.grad}")
print()

print(f"e is leaf: {e.is_leaf}")
print(f"e grad_fn: {e.grad_fn}")
print(f"e grad: {e.grad}")
print()

print(f"t is leaf: {t.is_leaf}")
print(f"t grad_fn: {t.grad_fn}")
print(f"t grad: {t.grad}")
"""),
    md("""
The leaves don't have grad_fn but will have gradients.
"""),
    code("""
from IPython.display import display, Math

e.backward()
display(Math(fr'\\frac{{\\partial e}}{{\\partial a}} = {a.grad.item()}'))
print()
display(Math(fr'\\frac{{\\partial e}}{{\\partial b}} = {b.grad.item()}'))
print()
display(Math(fr'\\frac{{\\partial e}}{{\\partial c}} = {c.grad.item()}'))
print()
display(Math(fr'\\frac{{\\partial e}}{{\\partial d}} = {d.grad.item()}'))
"""),
    code("""
print(f"a is leaf: {a.is_leaf}")
print(f"a grad_fn: {a.grad_fn}")
print(f"a grad: {a.grad}")
print()

print(f"e is leaf: {e.is_leaf}")
print(f"e grad_fn: {e.grad_fn}")
print(f"e grad: {e.grad}")
print()

print(f"t is leaf: {t.is_leaf}")
print(f"t grad_fn: {t.grad_fn}")
print(f"t grad: {t.grad}")
"""),
]

# d2l.ai, chapter 2.5 "Automatic Differentiation" (the cells without Python functions).
D2L_AUTOGRAD = [
    md("# Automatic Differentiation\n\nAs a toy example, say that we are interested in "
       "differentiating the function $y = 2\\mathbf{x}^{\\top}\\mathbf{x}$."),
    code("import torch"),
    code("x = torch.arange(4.0)\nx"),
    code("# Can also create x = torch.arange(4.0, requires_grad=True)\n"
         "x.requires_grad_(True)\nx.grad  # The gradient is None by default"),
    code("y = 2 * torch.dot(x, x)\ny"),
    code("y.backward()\nx.grad"),
    code("x.grad == 4 * x"),
    md("## Backward for Non-Scalar Variables"),
    code("x.grad.zero_()  # Reset the gradient\ny = x.sum()\ny.backward()\nx.grad"),
    code("x.grad.zero_()\ny = x * x\ny.backward(gradient=torch.ones(len(y)))  # Faster: "
         "y.sum().backward()\nx.grad"),
    md("## Detaching Computation"),
    code("x.grad.zero_()\ny = x * x\nu = y.detach()\nz = u * x\n\nz.sum().backward()\n"
         "x.grad == u"),
    code("x.grad.zero_()\ny.sum().backward()\nx.grad == 2 * x"),
]

# The micrograd lecture's "now in PyTorch" cell, one step per cell.
MICROGRAD_NEURON = [
    md("# A neuron in PyTorch\n\nThe same tanh neuron as in micrograd, with PyTorch's "
       "autograd."),
    code("import torch"),
    code("""
x1 = torch.Tensor([2.0]).double()                ; x1.requires_grad = True
x2 = torch.Tensor([0.0]).double()                ; x2.requires_grad = True
w1 = torch.Tensor([-3.0]).double()               ; w1.requires_grad = True
w2 = torch.Tensor([1.0]).double()                ; w2.requires_grad = True
b = torch.Tensor([6.8813735870195432]).double()  ; b.requires_grad = True
n = x1*w1 + x2*w2 + b
o = torch.tanh(n)

print(o.data.item())
o.backward()
"""),
    code("""
print('---')
print('x2', x2.grad.item())
print('w2', w2.grad.item())
print('x1', x1.grad.item())
print('w1', w1.grad.item())
"""),
    code("o"),
    code("o.item();"),
]

# makemore part 1: the bigram model trained as a one-layer network (a fixed start for W
# instead of torch.randn, so the numbers are the same on every machine).
MAKEMORE_BIGRAM = [
    md("# makemore: bigrams as a neural network\n\nThe five bigrams of `.emma.`"),
    code("import torch\nimport torch.nn.functional as F"),
    code("xs = torch.tensor([0, 5, 13, 13, 1])\nys = torch.tensor([5, 13, 13, 1, 0])\n"
         "xenc = torch.eye(27)[xs]  # one-hot rows, as F.one_hot(xs, num_classes=27).float()\n"
         "xenc.shape"),
    code("W = torch.linspace(-1, 1, 27*27).reshape(27, 27)\nW.requires_grad = True"),
    md("## Forward pass"),
    code("logits = xenc @ W # log-counts\ncounts = logits.exp() # equivalent N\n"
         "probs = counts / counts.sum(1, keepdim=True)\n"
         "loss = -probs[torch.arange(5), ys].log().mean()\nloss"),
    md("## Gradient descent"),
    code("""
for k in range(5):
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    loss = -probs[torch.arange(5), ys].log().mean()
    print(f"step {k}: loss {loss.item():.4f}")
    W.grad = None
    loss.backward()
    W.data += -10 * W.grad
"""),
    code("W.grad[0, :5]"),
]

# IPython's own syntax and display rule: magics, markdown, `;`, None, display().
MAGICS_AND_DISPLAY = [
    md("# Notebook syntax gradcli skips\n\nMagics do not run; markdown is prose."),
    code("%load_ext autoreload\n%autoreload 2\nimport torch"),
    code("a = torch.tensor([1.0, 2.0], requires_grad=True)\nb = (a * a).sum()\nb"),
    md("A trailing semicolon silences the display:"),
    code("b.backward();"),
    code("a.grad"),
    code("print(a.grad_fn)\na.grad_fn"),
    code("from IPython.display import Math, display\n\n"
         "display(Math(r'\\partial b / \\partial a'))\ndisplay(a.grad)\na.grad * 0"),
    code("from IPython.display import HTML, Markdown\n\n"
         "display(HTML('<b>bold</b>'))\nMarkdown('*a*')"),
]

# A notebook whose fifth code cell raises (tests: the run stops there).
ERROR_IN_CELL_5 = [
    code("import torch"),
    code("x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)"),
    code("y = (x * x).sum()\ny"),
    code("y.backward()\nx.grad"),
    md("Calling backward a second time: the graph's buffers are freed."),
    code("print('again')\ny.backward()"),
    code("print('never reached')"),
]

NOTEBOOKS = {
    "examples/lessons/pytorch_computational_graphs.ipynb": SOURCE_NOTEBOOK,
    "examples/lessons/d2l_autograd.ipynb": D2L_AUTOGRAD,
    "examples/lessons/micrograd_neuron.ipynb": MICROGRAD_NEURON,
    "examples/lessons/makemore_bigram.ipynb": MAKEMORE_BIGRAM,
    "examples/lessons/magics_and_display.ipynb": MAGICS_AND_DISPLAY,
    "examples/lessons/error_in_cell_5.ipynb": ERROR_IN_CELL_5,
}


def ex(code_text: str, directive: str | None = None, **more) -> dict:
    return {"code": code_text, "directive": directive, **more}


# Examples from PyTorch's docstrings (torch/autograd/grad_mode.py: no_grad, enable_grad,
# set_grad_enabled; torch/_torch_docs.py: asarray's autograd part; torch/_tensor.py:
# Tensor.backward's neighbours), kept to the constructs gradcli runs today.
GRAD_MODE_DOCS = [
    "Disabling gradient calculation is useful for inference (torch.no_grad's docstring).",
    "",
    "Example::",
    "",
    ex("x = torch.tensor([1.], requires_grad=True)"),
    ex("with torch.no_grad():\n    y = x * 2"),
    ex("y.requires_grad"),
    "",
    "Enables gradient calculation inside a no_grad context (torch.enable_grad):",
    "",
    ex("with torch.no_grad():\n    with torch.enable_grad():\n        y = x * 2"),
    ex("y.requires_grad"),
    ex("y.backward()"),
    ex("x.grad"),
    "",
    "Sets gradient calculation on or off (torch.set_grad_enabled):",
    "",
    ex("x = torch.tensor([1.], requires_grad=True)"),
    ex("is_train = False"),
    ex("with torch.set_grad_enabled(is_train):\n    y = x * 2"),
    ex("y.requires_grad"),
    ex("_ = torch.set_grad_enabled(True)"),
    ex("y = x * 2"),
    ex("y.requires_grad"),
    ex("_ = torch.set_grad_enabled(False)"),
    ex("y = x * 2"),
    ex("y.requires_grad"),
    ex("_ = torch.set_grad_enabled(True)"),
    "",
    "A factory function under no_grad (the docstring's last example; skipped, as PyTorch's",
    "own doctest run skips it):",
    "",
    ex("with torch.no_grad():\n    a = torch.nn.Parameter(torch.rand(10))", "+SKIP"),
    ex("a.requires_grad", "+SKIP", want="True\n"),
]

AUTOGRAD_BASICS_DOCS = [
    "Autograd basics, from PyTorch's docstrings and tutorials (torch.asarray's autograd",
    "example, the autograd tutorial's `out.backward()`).",
    "",
    ex("a = torch.tensor([1., 2., 3.], requires_grad=True)"),
    ex("b = a + 2"),
    ex("b"),
    ex("b.grad_fn", "+ELLIPSIS", edit=lambda want: want.split(" at ")[0] + " at 0x...>\n"),
    ex("c = b * b * 3"),
    ex("out = c.mean()"),
    ex("c, out"),
    ex("out.backward()"),
    A_GRAD := ex("a.grad"),
    ex("print(a.grad.tolist(), a.is_leaf, b.is_leaf)"),
    ex("out.backward()"),
    ex("b.retain_grad()"),
    ex("torch.ones(2, 3) * 2", "+NORMALIZE_WHITESPACE",
       edit=lambda want: " ".join(want.split()) + "\n"),
]

# The same lesson with one output altered by hand: the checker must fail at that example
# (the alteration is the only text in this file not written by PyTorch).
ALTERED = dict(A_GRAD, edit=lambda want: want.replace("8.", "9.", 1))

TRANSCRIPTS = {
    "examples/lessons/torch_grad_mode_docs.txt": GRAD_MODE_DOCS,
    "examples/lessons/autograd_basics_docs.txt": AUTOGRAD_BASICS_DOCS,
    "tests/data/lessons/autograd_basics_altered.txt":
        [ALTERED if part is A_GRAD else part for part in AUTOGRAD_BASICS_DOCS],
}


# Scripts with `# expect:` checkpoints: ("value", EXPR) becomes `# expect: EXPR == V` with
# PyTorch's value V; ("printed",) a block of what PyTorch printed since the last one.
CHAIN_RULE = [
    """
# The chain rule through one tanh neuron, checked at each step.
x = tensor([1.0, -2.0, 0.5], requires_grad=True)
w = tensor([0.3, 0.1, -0.4], requires_grad=True)
b = tensor(0.2, requires_grad=True)
n = (w * x).sum() + b
o = n.tanh()
""",
    ("value", "o"),
    """
o.backward()
""",
    ("value", "b.grad"),
    ("value", "x.grad"),
    ("value", "w.grad"),
    """
print(f"do/dn = {1 - o.item() ** 2:.6f}")
print(w.grad_fn, b.grad.shape)
""",
    ("printed",),
]

GRAD_ACCUMULATION = [
    """
# Gradients add up across backward() calls until they are zeroed.
a = tensor([2.0, 3.0], requires_grad=True)
for step in range(3):
    loss = (a ** 2).sum()
    loss.backward()
    print(step, a.grad)
""",
    ("printed",),
    ("value", "a.grad"),
    """
a.grad.zero_()
(a * a * a).sum().backward()
""",
    ("value", "a.grad"),
    ("value", "a.grad.sum().item()"),
]

EXPECT_SCRIPTS = {
    "examples/lessons/chain_rule_checked.expr": CHAIN_RULE,
    "examples/lessons/grad_accumulation_checked.expr": GRAD_ACCUMULATION,
}
