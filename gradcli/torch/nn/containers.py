"""nn.ModuleDict, nn.ParameterList, nn.ParameterDict (torch/nn/modules/container.py of
PyTorch 2.13): entries live as the module's own attributes (sub-modules and parameters
registered under their key, other objects as plain attributes), so parameters(),
named_parameters() and state_dict() see them as PyTorch's do."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from gradcli.autodiff.tensor import Tensor
from gradcli.base.errors import ProgramError, runtime_error, type_error, value_error
from gradcli.torch.nn.module import Module, Parameter, typename
from gradcli.torch.nn.modules import absolute_index

_DICT_METHODS = frozenset({"keys", "values", "items", "update", "pop", "clear", "get"})


class ModuleDict(Module):
    _program_attributes_ = _DICT_METHODS - {"get"}

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise _key_error(key)
        return self._modules[key]

    def __setitem__(self, key, module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key) -> None:
        if key not in self._modules:
            raise _key_error(key)
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules) -> None:
        if not isinstance(modules, Iterable) or isinstance(modules, Tensor):
            raise type_error("ModuleDict.update should be called with an iterable of "
                             f"key/value pairs, but got {type(modules).__name__}")
        if isinstance(modules, (OrderedDict, ModuleDict, Mapping)):
            for key, module in modules.items():
                self[key] = module
        else:
            _update_from_pairs(self, modules, "ModuleDict")


def _key_error(key):
    return ProgramError("KeyError", repr(key))


def _update_from_pairs(target, pairs, kind: str) -> None:
    for j, pair in enumerate(pairs):
        if not isinstance(pair, Iterable):
            raise type_error(f"{kind} update sequence element #{j} should be Iterable; "
                             f"is{type(pair).__name__}")
        if len(pair) != 2:
            raise value_error(f"{kind} update sequence element #{j} has length {len(pair)}; "
                              "2 is required")
        target[pair[0]] = pair[1]


def _entry_line(key, value, dtype_text) -> str:
    if isinstance(value, Tensor):
        size = "x".join(str(s) for s in value.shape)
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{dtype_text(value)} of size {size}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


def _as_parameter(value):
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    _program_attributes_ = frozenset({"append", "extend"})

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _abs_index(self, idx) -> str:
        return absolute_index(idx, len(self))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            out = self.__class__()
            for i in range(*idx.indices(len(self))):
                out.append(self[i])
            return out
        return getattr(self, self._abs_index(idx))

    def __setitem__(self, idx, param) -> None:
        setattr(self, self._abs_index(idx), _as_parameter(param))

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return iter([self[i] for i in range(len(self))])

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def append(self, value):
        new_idx = len(self)
        self._size += 1
        self[new_idx] = value
        return self

    def extend(self, values):
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise type_error("ParameterList.extend should be called with an iterable, but got "
                             + ("Parameter" if isinstance(values, Parameter)
                                else type(values).__name__))
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_line(k, p, lambda t: repr(t.dtype)) for k, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise runtime_error("ParameterList should not be called.")


class ParameterDict(Module):
    _program_attributes_ = _DICT_METHODS | {"setdefault", "popitem", "copy", "fromkeys"}

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    def _key_to_attr(self, key) -> str:
        if not isinstance(key, str):
            raise type_error(
                "Index given to ParameterDict cannot be used as a key as it is not a string "
                f"(type is '{type(key).__name__}'). Open an issue on github if you need "
                "non-string keys.")
        return key

    def __getitem__(self, key):
        return getattr(self, self._key_to_attr(key))

    def __setitem__(self, key, value) -> None:
        self._keys[key] = None
        setattr(self, self._key_to_attr(key), _as_parameter(value))

    def __delitem__(self, key) -> None:
        del self._keys[key]
        delattr(self, self._key_to_attr(key))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._keys

    def copy(self):
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        for k in self._keys.copy():
            del self[k]

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def popitem(self):
        k, _ = self._keys.popitem()
        self._keys[k] = None
        val = self[k]
        del self[k]
        return k, val

    def get(self, key, default=None):
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None):
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        return self._keys.keys()

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def values(self):
        return [self[k] for k in self._keys]

    def update(self, parameters) -> None:
        if not isinstance(parameters, Iterable) or isinstance(parameters, Tensor):
            raise type_error("ParametersDict.update should be called with an iterable of "
                             f"key/value pairs, but got {type(parameters).__name__}")
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            for key, parameter in parameters.items():
                self[key] = parameter
        elif isinstance(parameters, Mapping):
            # a plain dict's order is not kept: PyTorch sorts its keys
            for key, parameter in sorted(parameters.items()):
                self[key] = parameter
        else:
            _update_from_pairs(self, parameters, "ParameterDict")

    def extra_repr(self) -> str:
        return "\n".join(_entry_line(k, p, typename) for k, p in self.items())

    def __call__(self, *args, **kwargs):
        raise runtime_error("ParameterDict should not be called.")

    def __or__(self, other):
        copy = self.copy()
        copy.update(other)
        return copy

    def __ior__(self, other):
        self.update(other)
        return self


__all__ = ["ModuleDict", "ParameterDict", "ParameterList"]
