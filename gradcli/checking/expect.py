"""`# expect:` comments in a script: checkpoints that `gradcli test` checks.

    x = tensor([1., 2.], requires_grad=True)
    (x * x).sum().backward()
    # expect: x.grad == tensor([2., 4.])
    print(x.grad)
    # expect:
    # tensor([2., 4.])

`# expect: EXPR` holds when EXPR is true at that point of the program; an `A == B` is
compared with gradcli's `allclose` tolerance (rtol 1e-05, atol 1e-08, as torch.allclose)
when A and B are tensors or numbers. `# expect:` alone opens a block of `#` lines: the
lines the program printed since the previous checkpoint. Checkpoints stand at the top
level (column 1), between statements.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from gradcli.checking.seal import SEALED, seal

EXPECT = re.compile(r"^# ?expect:(.*)$")
RTOL, ATOL = 1e-05, 1e-08  # torch.allclose's defaults, which gradcli's allclose keeps


@dataclass
class Expectation:
    line: int  # 1-based line of the `# expect:` comment
    expression: str | None  # `x.grad == tensor([2., 4.])`, or None for a printed block
    printed: list[str] = field(default_factory=list)  # the block's expected lines
    end: int = 0  # the last line of the comment block (its own line for an expression)
    sealed: str | None = None  # `# expect-sealed: A ~ SEALED`: expression is A


def find_expectations(text: str) -> list[Expectation]:
    lines = text.split("\n")
    found = []
    index = 0
    while index < len(lines):
        sealed = SEALED.match(lines[index])
        if sealed is not None:
            found.append(Expectation(index + 1, sealed.group(1), end=index + 1,
                                     sealed=sealed.group(2)))
            index += 1
            continue
        match = EXPECT.match(lines[index])
        if match is None:
            index += 1
            continue
        expression = match.group(1).strip()
        item = Expectation(index + 1, expression or None, end=index + 1)
        if not expression:
            index += 1
            while index < len(lines) and lines[index].startswith("#") \
                    and EXPECT.match(lines[index]) is None:
                body = lines[index][1:]
                item.printed.append(body[1:] if body.startswith(" ") else body)
                index += 1
            item.end = index
            found.append(item)
            continue
        found.append(item)
        index += 1
    return found


def has_expectations(text: str) -> bool:
    return any(EXPECT.match(line) or line.startswith(("# expect-sealed:", "#expect-sealed:"))
               for line in text.split("\n"))


def comparison(expression: str) -> tuple[str, str] | None:
    """(`A`, `B`) when the expression is one `A == B` comparison, else None. Python's
    parser only splits the text; gradcli evaluates both sides."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq):
        left = ast.get_source_segment(expression, tree.left)
        right = ast.get_source_segment(expression, tree.comparators[0])
        if left is not None and right is not None:
            return left, right
    return None


def close(left, right) -> bool:
    """`left == right` with allclose's tolerance for tensors and numbers."""
    import numpy as np

    from gradcli.autodiff.tensor import Tensor

    numeric = (int, float)
    if isinstance(left, Tensor) or isinstance(right, Tensor):
        a = left.array if isinstance(left, Tensor) else np.asarray(left)
        b = right.array if isinstance(right, Tensor) else np.asarray(right)
        if isinstance(left, Tensor) and isinstance(right, Tensor) and a.shape != b.shape:
            return False
        try:
            return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=RTOL,
                                    atol=ATOL, equal_nan=False))
        except (TypeError, ValueError):
            return False
    if isinstance(left, numeric) and isinstance(right, numeric) \
            and not isinstance(left, bool) and not isinstance(right, bool):
        return abs(left - right) <= ATOL + RTOL * abs(right)
    return left == right


def truth(value) -> bool | None:
    """Whether a value counts as true (a one-element tensor by its item); None when it
    has no single truth value."""
    from gradcli.autodiff.tensor import Tensor

    if isinstance(value, Tensor):
        if value.array.size != 1:
            return None
        return bool(value.array.reshape(()).item())
    try:
        return bool(value)
    except Exception:  # noqa: BLE001 - a program's object without a truth value
        return None


# dtypes that `tensor([...])` infers from its data: no dtype= needed to read them back.
INFERRED = ("float32", "int64", "bool")


def literal(value) -> str | None:
    """Text that gradcli reads back as `value` (for --update), or None. Every digit of a
    tensor's values is kept (repr rounds to 4): the check is allclose, not the print."""
    from gradcli.autodiff.tensor import Tensor

    if isinstance(value, Tensor):
        return tensor_literal(value.array.tolist(), value.dtype.name)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return repr(value)
    return None


def tensor_literal(data, dtype: str) -> str:
    """`tensor([0.2970179617404938, 0.1])`, with `dtype=torch.X` unless inferred."""
    suffix = "" if dtype in INFERRED else f", dtype=torch.{dtype}"
    return f"tensor({data!r}{suffix})"


def largest_difference(left, right) -> float | None:
    """max |left - right| over the elements, when both are numeric and broadcast."""
    import numpy as np

    from gradcli.autodiff.tensor import Tensor

    try:
        a = left.array if isinstance(left, Tensor) else np.asarray(left)
        b = right.array if isinstance(right, Tensor) else np.asarray(right)
        return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
    except (TypeError, ValueError):
        return None


def seal_text(text: str, values: dict[int, object]) -> str:
    """The text with each `# expect: A == B` line in `values` (line -> B's value)
    replaced by `# expect-sealed: A ~ <sealed>`."""
    lines = text.split("\n")
    for line, value in values.items():
        match = EXPECT.match(lines[line - 1])
        pair = comparison(match.group(1).strip()) if match else None
        if pair is None:
            continue
        lines[line - 1] = f"# expect-sealed: {pair[0]} ~ {seal(value)}"
    return "\n".join(lines)
