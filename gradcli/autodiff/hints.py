"""gradcli's own one-line explanations for PyTorch's cryptic errors.

PyTorch's message stays as it is; a hint names the user's variable and line. The
interpreter points `Context` at the running program, so the engine can ask which line
is running and which variable holds a tensor."""

from __future__ import annotations

from gradcli.base.wording import line_text


class Context:
    line = staticmethod(lambda: None)  # the line of the statement running now
    variables = staticmethod(lambda: {})  # the program's variables


def current_line():
    return Context.line()


def name_of(predicate) -> str | None:
    for name, value in list(Context.variables().items()):
        try:
            if predicate(value):
                return name
        except Exception:  # noqa: BLE001 - hints must never fail the program
            continue
    return None


def mark_inplace(tensor) -> None:
    """Remember where a tensor (and every view sharing its counter) was last written."""
    version = tensor.version
    line = current_line()
    if len(version) == 1:
        version.append(line)
    else:
        version[1] = line


def modified_inplace(version, shape) -> str | None:
    from gradcli.autodiff.tensor import Tensor

    name = name_of(lambda v: isinstance(v, Tensor) and v.version is version)
    line = version[1] if len(version) > 1 else None
    if name is None and line is None:
        return None
    who = f"'{name}'" if name else "a tensor saved for backward"
    where = f" on {line_text(line)}" if line else ""
    return (f"{who} (shape {tuple(shape)}) was modified in place{where} after it was used; "
            "compute on a copy (x = x + ...) or clone() it before the in-place change")


def freed_by(line) -> str | None:
    if not isinstance(line, int) or isinstance(line, bool):
        return None
    return (f"the graph's saved tensors were freed by the backward() call on {line_text(line)}; "
            "pass retain_graph=True to that call to run backward through it again")


def non_scalar(tensor) -> str:
    from gradcli.autodiff.tensor import Tensor

    name = name_of(lambda v: v is tensor and isinstance(v, Tensor)) or "the output"
    shape = tuple(tensor.shape)
    return (f"{name} has shape {shape} ({tensor.array.size} elements); reduce it first "
            f"({name}.sum().backward()) or pass gradient=torch.ones_like({name})")
