"""torch.nn.Module and torch.nn.Parameter, as torch/nn/modules/module.py and
torch/nn/parameter.py of PyTorch 2.13 define them (CPU, no buffers' persistence flags,
no state-dict hooks, no global hooks).

A module registers parameters and sub-modules when they are assigned as attributes; they
live in `_parameters` / `_modules`, not in the instance's __dict__, and `__getattr__`
finds them, exactly as in PyTorch, so a program's `class Net(nn.Module)` behaves the same.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

from gradcli.autodiff.tensor import PARAMETERS, Tensor
from gradcli.base.dtypes import LEGACY_TYPE_NAMES
from gradcli.base.errors import ProgramError, attribute_error, runtime_error, type_error
from gradcli.torch import functions as api

# ----- Parameter ----------------------------------------------------------------------------


class _ParameterMeta(type):
    """gradcli has one Tensor class (its fast paths test `x.__class__ is Tensor`), so a
    Parameter is a Tensor marked in tensor.PARAMETERS; isinstance asks the mark."""

    tensor_subclass = True  # issubclass(nn.Parameter, torch.Tensor)

    def __instancecheck__(cls, obj) -> bool:
        return obj.__class__ is Tensor and obj in PARAMETERS


class Parameter(metaclass=_ParameterMeta):
    """`nn.Parameter(data, requires_grad=True)`: a leaf sharing `data`'s storage, printed
    as `Parameter containing:` + the tensor."""

    _program_attributes_ = frozenset()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = api.empty(0)
        if data.__class__ is not Tensor:
            # PyTorch takes anything else for a tensor subclass and calls data.detach()
            raise attribute_error(f"'{type(data).__name__}' object has no attribute 'detach'")
        api.check_requires_grad(data.dtype, requires_grad)
        param = Tensor(data.array, data.dtype, bool(requires_grad))
        param.version = data.version
        PARAMETERS.add(param)
        return param


def typename(obj) -> str:
    """torch.typename: `torch.FloatTensor` for a tensor, the class name otherwise."""
    if obj.__class__ is Tensor:
        return f"torch.{LEGACY_TYPE_NAMES.get(obj.dtype.name, 'Float')}Tensor"
    module = type(obj).__module__
    qualname = type(obj).__qualname__
    if module in ("builtins", "__builtin__", None, ""):
        return qualname
    return f"{module}.{qualname}"


class ModuleAttributeError(ProgramError, AttributeError):
    """A missing attribute of a module: the program's AttributeError, and a Python
    AttributeError too, so hasattr() and getattr(..., default) work on modules."""

    def __init__(self, message: str):
        super().__init__("AttributeError", message)


# ----- hooks --------------------------------------------------------------------------------


class RemovableHandle:
    """What register_*_hook returns: `handle.remove()` takes the hook out again."""

    _program_attributes_ = frozenset({"remove", "id"})
    _next_id = itertools.count()

    def __init__(self, hooks_dict: OrderedDict, *extra: OrderedDict):
        self.hooks_dict_ref = hooks_dict
        self.id = next(RemovableHandle._next_id)
        self.extra = extra

    def remove(self) -> None:
        for table in (self.hooks_dict_ref, *self.extra):
            table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    rest = "\n".join((spaces * " ") + line if line.strip() else "" for line in lines)
    return first + "\n" + rest


# ----- Module -------------------------------------------------------------------------------

_MODULE_STATE = (
    "training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_modules",
    "_forward_hooks", "_forward_hooks_with_kwargs", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_backward_hooks",
)


class Module:
    """Base class of every layer, container and loss; programs subclass it."""

    _program_attributes_ = frozenset({
        "training", "forward", "parameters", "named_parameters", "buffers", "named_buffers",
        "children", "named_children", "modules", "named_modules", "zero_grad", "train", "eval",
        "requires_grad_", "state_dict", "load_state_dict", "register_parameter",
        "register_buffer", "add_module", "register_module", "get_submodule", "get_parameter",
        "apply", "register_forward_hook", "register_forward_pre_hook",
        "register_full_backward_hook", "extra_repr", "cpu", "to", "float", "double", "type",
        "share_memory",
    })

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            extra = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
            raise type_error(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'" if kwargs and not args else
                f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given" if not kwargs else
                f"{type(self).__name__}.__init__() got unexpected arguments: {extra}"
            )
        setter = object.__setattr__
        setter(self, "training", True)
        setter(self, "_parameters", {})
        setter(self, "_buffers", {})
        setter(self, "_non_persistent_buffers_set", set())
        setter(self, "_forward_hooks", OrderedDict())
        setter(self, "_forward_hooks_with_kwargs", OrderedDict())
        setter(self, "_forward_pre_hooks", OrderedDict())
        setter(self, "_forward_pre_hooks_with_kwargs", OrderedDict())
        setter(self, "_backward_hooks", OrderedDict())
        setter(self, "_modules", {})

    def forward(self, *args, **kwargs):
        raise ProgramError(
            "NotImplementedError",
            f'Module [{type(self).__name__}] is missing the required "forward" function',
        )

    # ----- calling -----

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if "_backward_hooks" not in d:  # a subclass that skipped Module.__init__()
            raise ModuleAttributeError(
                f"'{type(self).__name__}' object has no attribute '_backward_hooks'")
        if not (d["_forward_hooks"] or d["_forward_pre_hooks"] or d["_backward_hooks"]):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise runtime_error(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}."
                        )
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward_hook = None
        if self._backward_hooks:
            from gradcli.torch.nn.hooks import BackwardHook

            backward_hook = BackwardHook(self, list(self._backward_hooks.values()))
            args = backward_hook.setup_input(tuple(args))
        output = self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        if backward_hook is not None:
            output = backward_hook.setup_output(output)
        return output

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    # ----- registration by attribute assignment -----

    def __getattr__(self, name: str):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            members = d.get(table)
            if members is not None and name in members:
                return members[name]
        raise ModuleAttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise attribute_error("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise type_error(
                    f"cannot assign '{typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise attribute_error("cannot assign module before Module.__init__() call")
                _remove_from(name, d, self._parameters, self._buffers,
                             self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise type_error(
                        f"cannot assign '{typename(value)}' as child module '{name}' "
                        "(torch.nn.Module or None expected)"
                    )
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and value.__class__ is not Tensor:
                        raise type_error(
                            f"cannot assign '{typename(value)}' as buffer '{name}' "
                            "(torch.nn.Buffer, torch.Tensor or None expected)"
                        )
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param) -> None:
        if "_parameters" not in self.__dict__:
            raise attribute_error("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            raise type_error(f"parameter name should be a string. Got {typename(name)}")
        if "." in name:
            raise ProgramError("KeyError", "'parameter name can\\'t contain \".\"'")
        if name == "":
            raise ProgramError("KeyError", "'parameter name can\\'t be empty string \"\"'")
        if _has_attribute(self, name) and name not in self._parameters:
            raise ProgramError("KeyError", f"\"attribute '{name}' already exists\"")
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise type_error(
                f"cannot assign '{typename(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        else:
            self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True) -> None:
        if "_buffers" not in self.__dict__:
            raise attribute_error("cannot assign buffer before Module.__init__() call")
        if _has_attribute(self, name) and name not in self._buffers:
            raise ProgramError("KeyError", f"\"attribute '{name}' already exists\"")
        if tensor is not None and tensor.__class__ is not Tensor:
            raise type_error(
                f"cannot assign '{typename(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module) -> None:
        if not isinstance(module, Module) and module is not None:
            raise type_error(f"{typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise type_error(f"module name should be a string. Got {typename(name)}")
        if _has_attribute(self, name) and name not in self._modules:
            raise ProgramError("KeyError", f"\"attribute '{name}' already exists\"")
        if "." in name:
            raise ProgramError("KeyError", f"'module name can\\'t contain \".\", got: {name}'")
        if name == "":
            raise ProgramError("KeyError", "'module name can\\'t be empty string \"\"'")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str):
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if item not in module._modules:
                raise attribute_error(f"{module._get_name()} has no attribute `{item}`")
            module = module._modules[item]
        return module

    def get_parameter(self, target: str):
        module_path, _, param_name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if param_name in module._parameters:
            return module._parameters[param_name]
        if not _has_attribute(module, param_name):
            raise attribute_error(f"{module._get_name()} has no attribute `{param_name}`")
        raise attribute_error(f"`{param_name}` is not an nn.Parameter")

    # ----- walking the tree -----

    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for key, value in get_members(module):
                if value is None or value in memo:
                    continue
                if remove_duplicate:
                    memo.add(value)
                yield module_prefix + ("." if module_prefix else "") + key, value

    def parameters(self, recurse=True):
        for _name, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._parameters.items(), prefix=prefix,
                                       recurse=recurse, remove_duplicate=remove_duplicate)

    def buffers(self, recurse=True):
        for _name, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix=prefix,
                                       recurse=recurse, remove_duplicate=remove_duplicate)

    def children(self):
        for _name, module in self.named_children():
            yield module

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and module not in memo:
                memo.add(module)
                yield name, module

    def modules(self):
        for _name, module in self.named_modules():
            yield module

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if self not in memo:
            if remove_duplicate:
                memo.add(self)
            yield prefix, self
            for name, module in self._modules.items():
                if module is None:
                    continue
                yield from module.named_modules(
                    memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def apply(self, fn):
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients -----

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise value_error_("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            api.requires_grad_(p, requires_grad)
        return self

    def zero_grad(self, set_to_none=True) -> None:
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    _zero_grad_in_place(p)

    def cpu(self):
        return self

    def to(self, *args, **kwargs):
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, str) and arg.startswith("cuda"):
                raise ProgramError("AssertionError", "Torch not compiled with CUDA enabled")
        return self

    def share_memory(self):
        return self

    # ----- state -----

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        if destination is None:
            destination = StateDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else api.detach(param)
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else api.detach(buf)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            source = state_dict[key]
            if source.shape != target.shape:
                errors.append(
                    f'size mismatch for {key}: copying a param with shape '
                    f'{api.Size(source.shape)} from checkpoint, the shape in current model is '
                    f'{api.Size(target.shape)}.')
                continue
            from gradcli.torch.autograd.grad_mode import no_grad

            with no_grad():
                api.copy_(target, source)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise runtime_error(
                f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # ----- printing -----

    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if "_modules" not in self.__dict__:
            raise ModuleAttributeError(
                f"'{type(self).__name__}' object has no attribute '_modules'")
        extra_lines = []
        extra = self.extra_repr()
        if extra:
            extra_lines = extra.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            child_lines.append("(" + key + "): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return sorted(set(dir(type(self))) | set(self.__dict__) | set(self._parameters)
                      | set(self._modules) | set(self._buffers))


def _remove_from(name, *tables) -> None:
    for table in tables:
        if name in table:
            if isinstance(table, dict):
                del table[name]
            else:
                table.discard(name)


def _has_attribute(module: Module, name: str) -> bool:
    return hasattr(module, name)


def _zero_grad_in_place(p: Tensor) -> None:
    grad = p.grad
    if grad.grad_fn is not None:
        grad.grad_fn = None
    grad.requires_grad = False
    api.zero_(grad)


def value_error_(message: str) -> ProgramError:
    return ProgramError("ValueError", message)


class StateDict(OrderedDict):
    """Module.state_dict(): an OrderedDict, printed as Python 3.11 prints one."""

    _program_attributes_ = frozenset({"keys", "values", "items", "get", "copy"})

    def __repr__(self) -> str:
        if not self:
            return "OrderedDict()"
        return "OrderedDict(" + repr(list(self.items())) + ")"


class _IncompatibleKeys:
    _program_attributes_ = frozenset({"missing_keys", "unexpected_keys"})

    def __init__(self, missing_keys, unexpected_keys):
        self.missing_keys = missing_keys
        self.unexpected_keys = unexpected_keys

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
                f"unexpected_keys={self.unexpected_keys!r})")


__all__ = ["Module", "Parameter", "RemovableHandle", "StateDict", "typename"]
