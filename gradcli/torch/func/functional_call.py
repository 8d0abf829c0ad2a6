"""torch.func.functional_call: run a module with some parameters and buffers replaced.

PyTorch swaps each named tensor into the module for the duration of the call
(torch/nn/utils/stateless.py) and puts the originals back afterwards, even when the
call fails; the module then computes with the given tensors (dual tensors, tensors that
require grad, batched tensors), and its own parameters are untouched.
"""

from __future__ import annotations

from gradcli.base.errors import ProgramError, value_error


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    if isinstance(parameter_and_buffer_dicts, dict):
        replacements = dict(parameter_and_buffer_dicts)
    else:
        replacements, repeated = {}, []
        for table in parameter_and_buffer_dicts:
            repeated += [name for name in table if name in replacements]
            replacements.update(table)
        if repeated:
            raise value_error(
                f"{repeated!r} appeared in multiple dictionaries; behavior of functional call "
                "is ambiguous")
    if strict:
        _check_strict(module, replacements)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = kwargs or {}
    swapped = []
    try:
        for name, value in replacements.items():
            owner, leaf = _owner(module, name)
            table = _table_of(owner, leaf)
            if table is None:
                continue
            swapped.append((table, leaf, table[leaf]))
            table[leaf] = value
        return module(*args, **kwargs)
    finally:
        for table, leaf, original in reversed(swapped):
            table[leaf] = original


def _check_strict(module, replacements) -> None:
    """strict=True: the names must be exactly the module's parameters and buffers."""
    known = [name for name, _ in module.named_parameters()]
    known += [name for name, _ in module.named_buffers()]
    unexpected = [name for name in replacements if name not in known]
    missing = sorted(name for name in known if name not in replacements)
    if not unexpected and not missing:
        return
    text = f"Error(s) in reparametrizing for {type(module).__name__}:"
    if unexpected:
        text += "\n\tUnexpected key(s): " + ", ".join(repr(n) for n in unexpected) + "."
    if missing:
        text += "\n\tMissing key(s): " + ", ".join(repr(n) for n in missing) + "."
    raise ProgramError("RuntimeError", text)


def _owner(module, name: str):
    *path, leaf = name.split(".")
    owner = module
    for part in path:
        owner = owner._modules[part]
    return owner, leaf


def _table_of(module, leaf: str):
    for table in (module._parameters, module._buffers):
        if leaf in table:
            return table
    return None
