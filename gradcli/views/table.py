"""The tensor table, laid out for a terminal width, and its tab-separated twin.

The table never splits a number and never writes a line wider than the width: a value
that fits its cell is shown inline on one line; a longer one is cut after a whole
element (`[[0.1257, -0.1321, …], …]`) and printed in full, in PyTorch's own layout at the
terminal's width, in a section below the table. When the fixed columns leave no room
for values, every value goes below; when even they do not fit, each tensor becomes a
short record. No line ends in a space."""

from __future__ import annotations

import math
import re

from gradcli.base.printing import PrintOptions, tensor_body, tensor_repr
from gradcli.runtime.result import RunResult

COLUMNS = ("name", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn", "data", "grad")
# Narrow headers let the table fit 80 columns; tsv/json keep the full names.
HEADERS = ("name", "shape", "dtype", "req_grad", "leaf", "grad_fn", "data", "grad")
GAP = "  "
MIN_VALUE_WIDTH = 8  # narrower than this a cell could not even show `[[…], …]`
ELLIPSIS = "…"
BELOW = "(below)"

# ANSI styles per column (bold cyan names, dim dtypes, magenta grad_fn, green grads);
# a missing grad (`None`) is dim: it is the absence of a value, not one.
_STYLES = {"name": "1;36", "dtype": "2", "grad_fn": "35", "grad": "32"}
_HEADER_STYLE = "1"
_NONE_STYLE = "2"


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


SUMMARY_ABOVE = 1000  # elements: PyTorch's own print threshold


def one_line(array, dtype: str, precision: int) -> str:
    """The elements on one line in PyTorch's format, alignment padding removed:
    `[[ 1.8000], [10.8000]]` reads `[[1.8000], [10.8000]]`. Past PyTorch's threshold the
    text is PyTorch's summary (`[0., 0., 0., ..., 0., 0., 0.]`): a cell shows a few
    elements at most, and a huge tensor is never formatted whole."""
    threshold = math.inf if array.size <= SUMMARY_ABOVE else SUMMARY_ABOVE
    options = PrintOptions(precision=precision, threshold=threshold, linewidth=10**9)
    text = " ".join(tensor_body(array, dtype, options).split())
    return re.sub(r"\[ +", "[", text)


def cut(text: str, width: int) -> str:
    """`text` (a one-line value) shortened to at most `width` characters after a whole
    element, with `…` for what is left out at each level: `[[0.1, 0.2, …], …]`."""
    if len(text) <= width:
        return text
    best = None
    depth = 0
    for position, char in enumerate(text):
        if char == "[":
            depth += 1
            # Cutting right after an opening bracket shows no element of that row.
            candidate = _close(text, position + 1, depth)
        elif char == "]":
            depth -= 1
            continue
        elif char == "," and text[position + 1: position + 2] == " ":
            candidate = _close(text, position + 2, depth)
        else:
            continue
        if len(candidate) > width:
            break
        best = candidate
    return best if best is not None else ELLIPSIS


def _close(text: str, position: int, depth: int) -> str:
    """text[:position] (inside `depth` brackets, before an element) closed as `…]`, with
    `, …` at each outer level that has more elements after the one that was cut."""
    out = [text[:position], ELLIPSIS]
    level = depth  # brackets open at the cut not yet closed
    current = depth
    marked = True  # the innermost level's remaining elements are the `…` just written
    for char in text[position:]:
        if char == "[":
            current += 1
        elif char == "]":
            if current == level:
                out.append("]")
                level -= 1
                marked = False
            current -= 1
        elif char == "," and current == level and not marked:
            out.append(", " + ELLIPSIS)
            marked = True
    return "".join(out)


def rows(result: RunResult, precision: int = 4):
    """One tuple per tensor: the six fixed cells, then (array, dtype) or None for data
    and grad."""
    for record in result.tensors:
        t = record.tensor
        yield (
            record.name,
            shape_text(t.shape),
            t.dtype.name,
            str(t.requires_grad),
            str(t.grad_fn is None),
            t.grad_fn.name() if t.grad_fn is not None else "None",
            (t.array, t.dtype.name),
            (t.grad.array, t.grad.dtype.name) if t.grad is not None else None,
        )


def _style(text: str, code: str | None, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code and text else text


def _join(cells, widths, styles, color: bool) -> str:
    """One line: cells padded to their widths, the last one not padded."""
    parts = []
    last = len(cells) - 1
    for index, (text, width, style) in enumerate(zip(cells, widths, styles, strict=True)):
        pad = "" if index == last else " " * (width - len(text))
        parts.append(_style(text, style, color) + pad)
    return GAP.join(parts).rstrip(" ")


def table_text(result: RunResult, precision: int = 4, width: int = 80, color: bool = False,
               full: bool = False) -> str:
    """The table of result's tensors at `width` columns (a string ending in a newline),
    followed by the values too long for their cells."""
    width = max(width, 20)
    table = list(rows(result, precision))
    if not table:
        return ""
    fixed = [max(len(HEADERS[i]), *(len(row[i]) for row in table)) for i in range(6)]
    values = [[None if v is None else one_line(v[0], v[1], precision) for v in row[6:]]
              for row in table]
    natural = [max(len(HEADERS[6 + i]), *(len(v[i] or "None") for v in values))
               for i in range(2)]
    room = width - sum(fixed) - len(GAP) * 7
    if sum(fixed) + len(GAP) * 5 > width:
        return _records(table, values, precision, width, color, full)
    if room < 2 * MIN_VALUE_WIDTH and room < sum(natural):
        return _fixed_only(table, fixed, values, precision, width, color, full)
    lengths = [[len(v[i] or "None") for v in values] for i in range(2)]
    value_widths = _share(natural, room, lengths)
    widths = fixed + value_widths
    styles = [_STYLES.get(name) for name in HEADERS]
    lines = [_join(HEADERS, widths, [_HEADER_STYLE] * 8, color)]
    lines.append("─" * (sum(widths) + len(GAP) * 7))
    below = []
    for row, texts in zip(table, values, strict=True):
        cells = list(row[:6])
        row_styles = list(styles)
        for i, (value, text) in enumerate(zip(row[6:], texts, strict=True)):
            if text is None:
                cells.append("None")
                row_styles[6 + i] = _NONE_STYLE
            elif len(text) <= value_widths[i]:
                cells.append(text)
            else:
                shown = cut(text, value_widths[i])
                # A cell too narrow for even one element points at the section below.
                cells.append(shown if any(c.isdigit() or c.isalpha() for c in shown)
                             else BELOW)
                below.append((row[0] + (".grad" if i else ""), value))
        lines.append(_join(cells, widths, row_styles, color))
    return "\n".join(lines) + "\n" + _below(below, precision, width, color, full)


def _share(natural: list[int], room: int, lengths=None) -> list[int]:
    """Split `room` between data and grad: each gets what it needs if both fit; else the
    split that shows the most values whole (`lengths`: each column's cell lengths),
    the more even one on a tie."""
    if sum(natural) <= room:
        return list(natural)
    if lengths is None:
        lengths = [[natural[0]], [natural[1]]]
    best = None
    for data in range(MIN_VALUE_WIDTH, room - MIN_VALUE_WIDTH + 1):
        grad = room - data
        whole = (sum(n <= data for n in lengths[0]) + sum(n <= grad for n in lengths[1]))
        key = (whole, -abs(data - grad))
        if best is None or key > best[0]:
            best = (key, [data, grad])
    if best is None:
        half = room // 2
        return [half, room - half]
    # Give back what a column cannot use (its widest cell is narrower than its share).
    data, grad = best[1]
    if natural[0] < data:
        data, grad = natural[0], room - natural[0]
    elif natural[1] < grad:
        data, grad = room - natural[1], natural[1]
    return [data, grad]


def _fixed_only(table, fixed, values, precision, width, color, full) -> str:
    """No room for values beside the table: the six fixed columns, every value below."""
    widths = fixed
    styles = [_STYLES.get(name) for name in HEADERS[:6]]
    lines = [_join(HEADERS[:6], widths, [_HEADER_STYLE] * 6, color)]
    lines.append("─" * (sum(widths) + len(GAP) * 5))
    below = []
    for row in table:
        lines.append(_join(row[:6], widths, styles, color))
        below.append((row[0], row[6]))
        below.append((row[0] + ".grad", row[7]))
    return "\n".join(lines) + "\n" + _below(below, precision, width, color, full)


def _records(table, values, precision, width, color, full) -> str:
    """Too narrow for any table: each tensor as words wrapped at the width."""
    lines = []
    below = []
    for row in table:
        words = [_style(row[0], _STYLES["name"], color), row[1], row[2],
                 f"requires_grad={row[3]}", f"is_leaf={row[4]}", f"grad_fn={row[5]}"]
        plain = [row[0], *words[1:]]
        line, length = [], 0
        for word, bare in zip(words, plain, strict=True):
            if line and length + 1 + len(bare) > width:
                lines.append(" ".join(line))
                line, length = ["  " + word], 2 + len(bare)
            else:
                length += (1 if line else 0) + len(bare)
                line.append(word)
        lines.append(" ".join(line))
        below.append((row[0], row[6]))
        below.append((row[0] + ".grad", row[7]))
    return "\n".join(lines) + "\n" + _below(below, precision, width, color, full)


def _below(items, precision, width, color, full) -> str:
    """The values that did not fit their cells, in PyTorch's layout at the width:
    `NAME =` and the tensor as print() shows it (without requires_grad/grad_fn, which the
    table gives). A value that fits stays on its label's line."""
    if not items:
        return ""
    # PyTorch fills a line up to linewidth + 1 characters (the closing bracket is not
    # counted), so ask for one less than the width.
    options = PrintOptions(precision=precision, linewidth=max(width - 1, 10),
                           threshold=math.inf if full else 1000)
    out = [""]
    for label, value in items:
        head = _style(label, _STYLES["name"], color) + " ="
        if value is None:
            out.append(head + " " + _style("None", _NONE_STYLE, color))
            continue
        text = tensor_repr(value[0], value[1], options=options)
        if "\n" not in text and len(label) + 3 + len(text) <= width:
            out.append(head + " " + text)
        else:
            out.append(head)
            out.extend(line.rstrip(" ") for line in text.split("\n"))
    return "\n".join(out) + "\n"


def tsv(result: RunResult, precision: int = 4) -> str:
    lines = ["\t".join(COLUMNS)]
    options = PrintOptions(precision=precision, linewidth=10**6)
    for row in rows(result, precision):
        values = ["None" if v is None else " ".join(tensor_body(v[0], v[1], options).split())
                  for v in row[6:]]
        lines.append("\t".join([*row[:6], *values]))
    return "\n".join(lines) + "\n"
