"""Run a checked program: its builtins are gradcli's guards and names, its globals are the
program's own variables, and whatever it raises becomes an ErrorRecord at the position
CPython would report.

The guards here are closures over one run (its site table, its step budget, its output):
the rewritten code calls them by reserved names the program itself cannot write.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import math
import operator
import random as python_random
import re
import sys

from gradcli.autodiff.tensor import PARAMETERS, Tensor
from gradcli.base import diagnostics, wording
from gradcli.base.budget import budget_error
from gradcli.base.errors import ProgramError, name_error, type_error
from gradcli.base.wording import input_line
from gradcli.explain.loops import LoopLines, capture
from gradcli.explain.provenance import bind as bind_name
from gradcli.explain.provenance import stamp_result
from gradcli.runtime.rewrite import FAST_METHOD_NAMES, PROGRAM_FILENAME
from gradcli.sandbox import policy
from gradcli.sandbox import scope as scope_names
from gradcli.sandbox.guards import check_format_spec, check_python_binop
from gradcli.torch import functions as api
from gradcli.torch import tensor_protocol  # noqa: F401 - installs Tensor's protocol

# User-level exceptions a gradcli function may raise as Python itself would.
USER_EXCEPTIONS = (TypeError, ValueError, ZeroDivisionError, IndexError, KeyError,
                   OverflowError, RecursionError, StopIteration, AssertionError,
                   UnboundLocalError, NameError, ArithmeticError, LookupError)
# Budget errors stick: once the budget is spent, every later step fails too, so a program
# that catches the error cannot run on.
SAFE_BASE_CLASSES = frozenset({object, list, dict, tuple, set, frozenset, int, float})
CHECKED = frozenset({int, str, list, tuple, bytes})

EXCEPTION_NAMES = [name for name, value in vars(builtins).items()
                   if isinstance(value, type) and issubclass(value, BaseException)
                   and name not in ("SystemExit", "KeyboardInterrupt", "GeneratorExit")]

PYTHON_NAMES = ("len range enumerate zip reversed sorted map filter any all divmod "
                "isinstance issubclass callable id hash iter next list tuple dict set "
                "frozenset str repr object super property staticmethod classmethod slice "
                "chr ord bin hex oct format ascii complex bytes bytearray NotImplemented "
                "Ellipsis float int bool").split()


def name_parameters(module, name: str) -> None:
    """`name = module` ran in a program: views name each parameter by its path
    (`model.fc1.weight`), unless an earlier binding named it already."""
    for path, param in module.named_parameters():
        bind_name(param, f"{name}.{path}", 0, 0)


def _python_module(name: str, module, names=None) -> scope_names.Namespace:
    members = {n: getattr(module, n) for n in (names or dir(module)) if not n.startswith("_")}
    return scope_names.Namespace(name, members)


MATH = _python_module("math", math)
FUNCTOOLS = scope_names.Namespace("functools", {
    "partial": functools.partial, "reduce": functools.reduce, "wraps": functools.wraps,
    "lru_cache": functools.lru_cache, "cache": functools.cache,
    "cmp_to_key": functools.cmp_to_key, "total_ordering": functools.total_ordering,
    "update_wrapper": functools.update_wrapper,
})
ITERTOOLS = _python_module("itertools", itertools, [
    "accumulate", "chain", "combinations", "combinations_with_replacement", "compress",
    "count", "cycle", "dropwhile", "filterfalse", "groupby", "islice", "pairwise",
    "permutations", "product", "repeat", "starmap", "takewhile", "tee", "zip_longest"])
RANDOM_NAMES = ["random", "randint", "randrange", "choice", "choices", "shuffle", "sample",
                "uniform", "gauss", "normalvariate", "seed", "getrandbits", "triangular",
                "expovariate", "betavariate", "lognormvariate", "vonmisesvariate",
                "gammavariate", "paretovariate", "weibullvariate"]


class IPythonDisplayObject:
    """`Math(...)`, `HTML(...)`, ...: outside Jupyter, display() prints the repr."""

    _program_attributes_ = frozenset({"data"})
    kind = "Math"

    def __init__(self, data=None, *args, **kwargs):
        self.data = data

    def __repr__(self) -> str:
        return f"<IPython.core.display.{self.kind} object>"


def _display_class(kind: str) -> type:
    return type(kind, (IPythonDisplayObject,), {"kind": kind, "__module__": "IPython.display"})


DISPLAY_CLASSES = {kind: _display_class(kind)
                   for kind in ("Math", "HTML", "Latex", "Markdown", "Image", "SVG",
                                "Pretty", "Code", "JSON", "Javascript")}


class _OneArgumentType(type):
    """`type` as programs have it: `type(x)` and `isinstance(c, type)` work; making a class
    with three arguments (which would skip the class checks) is refused."""

    def __call__(cls, *args):
        if len(args) != 1:
            raise type_error("gradcli supports type() with one argument only")
        value = args[0]
        if value.__class__ is Tensor:
            if value in PARAMETERS:  # an nn.Parameter is a marked Tensor here
                from gradcli.torch.nn.module import Parameter

                return Parameter
            return scope_names.TORCH.members.get("Tensor", Tensor)
        return value.__class__

    def __instancecheck__(cls, value) -> bool:
        return isinstance(value, type)

    def __subclasscheck__(cls, other) -> bool:
        return isinstance(other, type) and issubclass(other, type)

    def __repr__(cls) -> str:
        return "<class 'type'>"


ONE_ARGUMENT_TYPE = _OneArgumentType("type", (), {"__module__": "builtins"})


class BuiltinFunction:
    """A builtin bound per run (print, display): it shows itself as Python's builtin,
    never as the runtime behind it."""

    __slots__ = ("function", "__name__")

    def __init__(self, function, name: str):
        self.function, self.__name__ = function, name

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<built-in function {self.__name__}>"


def contains(item, container) -> bool:
    """`item in container`. A range answers an int in constant time but compares any other
    item with each of its numbers in C (`1.5 in range(10**12)`): that case is answered by
    arithmetic, equal to one of the range's numbers meaning integral and in the range."""
    if container.__class__ is not range or item.__class__ in (int, bool):
        return item in container
    if item.__class__ is Tensor:
        if not container:
            return False
        if item.numel() != 1:  # Python compares with the first number and bool() fails
            return bool(api.eq(item, container[0]))
        item = api.item(item)
        if item.__class__ in (int, bool):
            return item in container
    if item.__class__ is float:
        return item.is_integer() and int(item) in container
    return False  # str, None, lists...: never equal to an int


def not_contains(item, container) -> bool:
    if container.__class__ is not range:
        return item not in container
    return not contains(item, container)


def _format_value(value, conversion: int, spec: str) -> str:
    """An f-string field with a format spec: !r/!s/!a, then the spec, checked first."""
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    check_format_spec(spec)
    return format(value, spec)


def _is_module(value) -> bool:
    # torch.nn is imported on a program's first use of it (start-up): until then nothing
    # can be a Module.
    nn_module = sys.modules.get("gradcli.torch.nn.module")
    return nn_module is not None and isinstance(value, nn_module.Module)


def _clear_output(*args, **kwargs) -> None:
    """IPython.display.clear_output: nothing to clear in a text output."""


class Guards:
    """One run's guards and state."""

    def __init__(self, runtime, sites: list, globals_dict: dict, bind_hook=None):
        self.runtime = runtime
        self.sites = sites
        self.globals = globals_dict
        self.bind_hook = bind_hook
        self._attention = [0]
        self.spent = False
        self.code_inputs: dict = {}  # a session's code objects -> the input that made them
        self.random = python_random.Random(runtime.seed)

    def remember_input(self, code, number: int) -> None:
        """A session compiled input [number]: its functions' frames name lines by it."""
        stack = [code]
        while stack:
            current = stack.pop()
            self.code_inputs[current] = number
            stack.extend(c for c in current.co_consts if c.__class__ is current.__class__)

    # ----- the budget -----
    def make_step(self):
        """`_gx_step()`, first in every function body and loop iteration: one step of the
        budget, and every 1,024 steps a poll of the clock (and Ctrl-C). The common step
        is one add and one comparison with `attention`, the next count that needs more:
        the budget's end, the next poll, or 0 once the budget is spent."""
        runtime = self.runtime
        limit = runtime.limits.max_steps
        counter = [0]
        attention = self._attention
        attention[0] = min(limit, 1023)
        guards = self

        def attend(n):
            if n > limit or guards._spent:
                guards.spend_all()
            if n >= (attention[0] | 1023):
                runtime.poll()
            attention[0] = min(limit, n | 1023)

        def step():
            n = counter[0] + 1
            counter[0] = n
            if n > attention[0]:
                attend(n)

        def step_true():
            n = counter[0] + 1
            counter[0] = n
            if n > attention[0]:
                attend(n)
            return True

        runtime.counter = counter
        return step, step_true

    @property
    def spent(self) -> bool:
        return self._spent

    @spent.setter
    def spent(self, value: bool) -> None:
        # Spent: every step goes to `attend` (and fails); a session's next input starts over.
        self._spent = value
        self._attention[0] = -1 if value else min(self.runtime.limits.max_steps, 1023)

    def spend_all(self):
        self.spent = True
        budget = self.runtime.limits.max_steps
        raise budget_error(
            f"the program has used up gradcli's budget of {wording.steps(budget)} (loop "
            "iterations and function calls together)",
            self.runtime.budget_hint)

    # ----- builtins -----
    def builtins(self) -> dict:
        scope = scope_names.global_scope()
        out = {name: getattr(builtins, name) for name in PYTHON_NAMES}
        out.update({name: getattr(builtins, name) for name in EXCEPTION_NAMES})
        out.update(scope)
        for name in ("float", "int", "bool", "str", "list", "tuple", "len", "range", "repr",
                     "enumerate", "zip"):
            out[name] = getattr(builtins, name)
        out["Tensor"] = scope_names.TORCH.members.get("Tensor", out.get("Tensor"))
        out["print"] = BuiltinFunction(self.runtime.print, "print")
        out["display"] = BuiltinFunction(self.runtime.display, "display")
        out["getattr"] = self.getattr
        out["hasattr"] = self.hasattr
        out["setattr"] = self.setattr
        out["delattr"] = self.delattr
        out["type"] = ONE_ARGUMENT_TYPE
        out["pow"] = scope_names._tensor_aware(self.pow, api.pow)
        out["__build_class__"] = self.build_class
        step, step_true = self.make_step()
        tensor_protocol.ROW_STEP[0] = step
        sites = self.sites
        loop_lines = LoopLines(sites)
        code_inputs = self.code_inputs
        flush = self.runtime.flush_warnings
        pending = diagnostics.PENDING

        def stamp(value, k):
            cls = value.__class__
            if cls is Tensor:
                fn = value.grad_fn
                if fn is not None and fn.source is None:
                    site = sites[k]
                    stamp_result(value, site.stamp())
                    if site.function is not None or site.loops:
                        fn.context = call_context(loop_lines, site.loops, code_inputs)
            elif cls is tuple and value and value.__class__ is not str:
                stamp_result(value, sites[k].stamp())
            if pending:
                site = sites[k]
                flush(site.line, site.column)
            return value

        get_slow = policy.get_attribute
        pure = policy.PURE
        fast_methods = policy.FAST_METHODS

        def ga(obj, name):
            cls = obj.__class__
            if cls in pure:
                return getattr(obj, name)
            allowed = fast_methods.get(cls)
            if allowed is not None and name in allowed:
                return getattr(obj, name)
            return get_slow(obj, name)

        def gas(obj, name, k):
            cls = obj.__class__
            if cls in pure:
                return getattr(obj, name)
            allowed = fast_methods.get(cls)
            if allowed is not None and name in allowed:
                return getattr(obj, name)
            value = get_slow(obj, name)
            return stamp(value, k) if value.__class__ is Tensor or pending else value

        out.update({
            "_gx_type": type, "_gx_PURE": policy.PURE, "_gx_Tensor": Tensor,
            "_gx_is_module": _is_module,
            "_gx_s": stamp, "_gx_ga": ga, "_gx_gas": gas, "_gx_gad": get_slow,
            "_gx_sa": policy.set_attribute,
            "_gx_da": policy.delete_attribute, "_gx_step": step, "_gx_step_true": step_true,
            "_gx_bind": self.bind, "_gx_no_name": self.no_name, "_gx_import": self.import_,
            "_gx_import_from": self.import_from, "_gx_import_star": self.import_star,
        })
        for guard, fn, symbol in BINARY:
            out[guard] = _binary_guard(fn, symbol, stamp)
        for guard, fn, symbol in INPLACE:
            out[guard] = _binary_guard(fn, symbol, stamp)
        out["_gx_slice"] = slice
        out["_gx_format"] = _format_value
        out["_gx_in"] = contains
        out["_gx_not_in"] = not_contains
        # `seen.add` read natively: the classes whose allow-list has the method.
        for name in FAST_METHOD_NAMES:
            out[f"_gx_m_{name}"] = frozenset(
                cls for cls, allowed in policy.FAST_METHODS.items() if name in allowed)
        for guard, fn in UNARY:
            out[guard] = _unary_guard(fn, stamp)
        out["sum"] = self.bounded(out["sum"], with_start=True)
        out["min"] = self.bounded(out["min"])
        out["max"] = self.bounded(out["max"])
        out["all"] = self.bounded(builtins.all)
        out["any"] = self.bounded(builtins.any)
        return out

    def bounded(self, consume, with_start: bool = False):
        """sum/min/max/any/all run their loop in C: a sized argument is charged before,
        an iterator one step per item."""
        runtime = self.runtime

        @functools.wraps(consume)
        def call(*args, **kwargs):
            # sum(it, start), max(it, key=...): the first argument is the loop
            if args and (len(args) == 1 or with_start) and args[0].__class__ is not Tensor:
                first = args[0]
                try:
                    length = len(first)
                except TypeError:
                    args = (self.counted(first), *args[1:])
                except OverflowError:
                    length = sys.maxsize
                else:
                    if length > 1000:
                        runtime.counter[0] += length
                        if runtime.counter[0] > runtime.limits.max_steps:
                            self.spend_all()
            return consume(*args, **kwargs)

        return call

    def counted(self, iterable):
        step = self.make_step_counter()
        for item in iterable:
            step()
            yield item

    def make_step_counter(self):
        runtime = self.runtime

        def step():
            runtime.counter[0] += 1
            if runtime.counter[0] > runtime.limits.max_steps:
                self.spend_all()

        return step

    def bind(self, value, name, k, module_level):
        if _is_module(value):
            name_parameters(value, name)
            return
        if value.__class__ is Tensor:
            site = self.sites[k]
            grad_fn = value.grad_fn
            if grad_fn is not None:
                if grad_fn.multi_output and hasattr(grad_fn, "name_output"):
                    grad_fn.name_output(value, name)  # one of unbind's outputs
                source = grad_fn.source
                if source is not None and source[3] is None:
                    grad_fn.source = (source[0], source[1], source[2], name)
                elif source is None:
                    bind_name(value, name, site.line, site.column)
            else:
                bind_name(value, name, site.line, site.column)
            if module_level and self.bind_hook is not None:
                self.bind_hook(name, value)

    def no_name(self, name):
        raise name_error(f"name '{name}' is not defined")

    def getattr(self, obj, name, *default):
        if len(default) > 1:
            raise type_error(f"getattr expected at most 3 arguments, got {2 + len(default)}")
        if not isinstance(name, str):
            raise type_error("attribute name must be string, not "
                             f"'{type(name).__name__}'")
        try:
            return policy.get_attribute(obj, name)
        except AttributeError:
            if default:
                return default[0]
            raise

    def hasattr(self, obj, name):
        if not isinstance(name, str):
            raise type_error("attribute name must be string, not "
                             f"'{type(name).__name__}'")
        try:
            policy.get_attribute(obj, name)
        except AttributeError:
            return False
        return True

    def setattr(self, obj, name, value):
        if not isinstance(name, str):
            raise type_error("attribute name must be string, not "
                             f"'{type(name).__name__}'")
        policy.set_attribute(obj, name, value)

    def delattr(self, obj, name):
        if not isinstance(name, str):
            raise type_error("attribute name must be string, not "
                             f"'{type(name).__name__}'")
        policy.delete_attribute(obj, name)

    def pow(self, base, exp, mod=None):
        if mod is None:
            check_python_binop("**", base, exp)
            return base ** exp
        return builtins.pow(base, exp, mod)

    def build_class(self, body, name, *bases, **keywords):
        if "metaclass" in keywords:
            raise type_error("gradcli does not support metaclasses")
        for base in bases:
            if not isinstance(base, type):
                raise type_error(f"gradcli cannot make a class from a base of type "
                                 f"'{type(base).__name__}'")
            if not (policy.is_program_class(base) or base in SAFE_BASE_CLASSES
                    or (issubclass(base, BaseException) and base.__module__ == "builtins")
                    or policy.program_attributes(base) is not None):
                raise type_error(f"gradcli cannot subclass '{base.__name__}'")
        cls = builtins.__build_class__(body, name, *bases, **keywords)
        type.__setattr__(cls, policy.PROGRAM_MARK, True)
        if all(policy.is_program_class(k) or k in SAFE_BASE_CLASSES
               or (issubclass(k, BaseException) and k.__module__ == "builtins")
               for k in cls.__mro__):
            policy.PURE.add(cls)
        return cls

    # ----- imports -----
    def modules(self) -> dict:
        found = dict(scope_names.MODULES)
        found.update({"math": MATH, "functools": FUNCTOOLS, "itertools": ITERTOOLS})
        found["random"] = scope_names.Namespace(
            "random", {n: getattr(self.random, n) for n in RANDOM_NAMES})
        display = scope_names.Namespace("IPython.display", {
            "display": BuiltinFunction(self.runtime.display, "display"),
            "clear_output": BuiltinFunction(_clear_output, "clear_output"), **DISPLAY_CLASSES})
        found["IPython.display"] = display
        found["IPython"] = scope_names.Namespace("IPython", {"display": display})
        found["__future__"] = scope_names.Namespace("__future__", {
            "annotations": None, "division": None, "print_function": None})
        return found

    def find_module(self, name: str):
        modules = self.runtime.modules
        found = modules.get(name)
        if found is not None:
            return found
        if name.startswith("torch."):
            namespace = modules["torch"]
            for part in name.split(".")[1:]:
                member = namespace.members.get(part) if isinstance(
                    namespace, scope_names.Namespace) else None
                if not isinstance(member, scope_names.Namespace):
                    namespace = None
                    break
                namespace = member
            if namespace is not None:
                return namespace
        top = name.split(".")[0]
        if name.startswith(".") or not top:
            raise ProgramError("ImportError",
                               "attempted relative import with no known parent package")
        message = (f"No module named '{name}'" if top in modules
                   else f"No module named '{top}'")
        raise ProgramError("ModuleNotFoundError", message)

    def import_(self, name: str, aliased: bool, k: int):
        module = self.find_module(name)
        if aliased or "." not in name:
            return module
        return self.find_module(name.split(".")[0])

    def import_from(self, module_name: str, name: str, k: int):
        module = self.find_module(module_name)
        full = f"{module_name}.{name}"
        if full in self.runtime.modules:
            return self.runtime.modules[full]
        if isinstance(module, scope_names.Namespace):
            if name in module.members:
                return module.members[name]
        raise ProgramError(
            "ImportError",
            f"cannot import name '{name}' from '{module_name}' (unknown location)")

    def import_star(self, module_name: str, k: int):
        module = self.find_module(module_name)
        if isinstance(module, scope_names.Namespace):
            for name, value in module.members.items():
                if not name.startswith("_"):
                    self.globals[name] = value


def call_context(loop_lines=None, loops=(), code_inputs=None):
    """Where a node was made, beyond its line: (function, call lines, iteration, call
    iterations). `function` is the program's function that made it (None at module level),
    the call lines lead there, outermost first; `iteration` is the loop state at the node's
    own line (loops.capture: `i=3`, `iteration 2` once worded, or None), each call line's
    loop state is in `call iterations` beside it."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename != PROGRAM_FILENAME:
        frame = frame.f_back
    if frame is None:
        return None
    function = frame.f_code.co_name
    if function == "<module>":
        function = None
    iteration = capture(frame.f_locals, loops) if loops else None
    calls, iterations = [], []
    frame = frame.f_back
    while frame is not None:
        if frame.f_code.co_filename == PROGRAM_FILENAME:
            line = frame.f_lineno
            if code_inputs:  # a session: the line of which input
                line = input_line(line, code_inputs.get(frame.f_code))
            calls.append(line)
            around = loop_lines.get(line) if loop_lines is not None else None
            iterations.append(capture(frame.f_locals, around) if around else None)
        frame = frame.f_back
    calls.reverse()
    iterations.reverse()
    return function, tuple(calls), iteration, tuple(iterations)


def _binary_guard(fn, symbol, stamp):
    pending = diagnostics.PENDING
    if symbol in ("**", "*", "+", "%", "<<"):
        def guard(a, b, k):
            ca, cb = a.__class__, b.__class__
            # Sizes are checked before Python builds a huge int, string or list; floats and
            # tensors never need it.
            if ca is str or ((ca in CHECKED or cb in CHECKED) and ca is not float
                             and cb is not float and ca is not Tensor and cb is not Tensor):
                check_python_binop(symbol, a, b)
                if symbol == "<<" and isinstance(b, int) and b > 10**6 and a:
                    check_python_binop("**", 2, b)
            value = fn(a, b)
            if value.__class__ is Tensor or pending:
                return stamp(value, k)
            return value
    else:
        def guard(a, b, k):
            value = fn(a, b)
            if value.__class__ is Tensor or pending:
                return stamp(value, k)
            return value
    return guard


def _unary_guard(fn, stamp):
    pending = diagnostics.PENDING

    def guard(a, k):
        value = fn(a)
        if value.__class__ is Tensor or pending:
            return stamp(value, k)
        return value
    return guard


# Python's binary operators by their `operator` names: the guard of `a + b` is `_gx_add`,
# of `a += b` `_gx_iadd` (rewrite.BINARY_GUARDS and INPLACE_GUARDS name the same ones).
OPERATORS = [("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"),
             ("floordiv", "//"), ("mod", "%"), ("pow", "**"), ("matmul", "@"),
             ("lshift", "<<"), ("rshift", ">>"), ("and", "&"), ("or", "|"), ("xor", "^")]
BINARY = [(f"_gx_{name}", getattr(operator, name + "_" if name in ("and", "or") else name),
           symbol) for name, symbol in OPERATORS]
INPLACE = [(f"_gx_i{name}", getattr(operator, "i" + name), symbol)
           for name, symbol in OPERATORS]
UNARY = [("_gx_neg", operator.neg), ("_gx_pos", operator.pos), ("_gx_invert", operator.invert)]


# ----- errors: where CPython would point, and what it would say -----

NOT_A_TENSOR = re.compile(
    r"^'(int|float|bool|str|list|tuple|NoneType|dict|range|Size|dtype|Namespace|"
    r"GradModeContext|ReturnTypes|function|partial|builtin_function_or_method)' object has no "
    r"attribute '(array|dtype|shape|ndim|grad_fn|requires_grad|version|base|grad)'"
)


class Located:
    """An error with the program position and call stack CPython would report."""

    __slots__ = ("type_name", "message", "line", "column", "end_line", "end_column",
                 "stack", "hint", "internal")

    def __init__(self):
        self.type_name = self.message = None
        self.line = self.column = self.end_line = self.end_column = None
        self.stack: list = []  # (function name, line) of the calls around the error
        self.hint = None
        self.internal = False


MAX_STACK = 12  # calls shown around an error (a runaway recursion shows its last ones)
GUARD_FILES = frozenset({__file__, policy.__file__})


def _raised_by_program(tb) -> bool:
    """Whether the program raised it: its own code, or a guard acting for it (a missing
    attribute), or Python itself on the program's behalf (a C call's error)."""
    last_program = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == PROGRAM_FILENAME:
            last_program = tb
        elif last_program is not None and filename not in GUARD_FILES:
            return False
        tb = tb.tb_next
    return last_program is not None


def _looked_up_by_guard(tb) -> bool:
    """Whether the call after the program's last frame is the attribute guard's."""
    after = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == PROGRAM_FILENAME:
            after = tb.tb_next
        tb = tb.tb_next
    return after is not None and after.tb_frame.f_code.co_filename in GUARD_FILES


def program_frames(tb):
    """The traceback entries that ran the program's own code, outermost first."""
    out = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == PROGRAM_FILENAME:
            out.append(tb)
        tb = tb.tb_next
    return out


def position(code, lasti, lines):
    """(line, column, end line, end column) of the instruction, in characters, 1-based."""
    from gradcli.runtime.rewrite import char_column

    positions = list(code.co_positions())
    index = lasti // 2
    if not 0 <= index < len(positions):
        return None
    line, end_line, column, end_column = positions[index]
    if line is None:
        return None
    column = char_column(lines, line, column or 0) + 1
    end_column = char_column(lines, end_line or line, end_column or 0) + 1
    return line, column, end_line or line, end_column


def locate(exc: BaseException, lines, function_names) -> Located:
    located = Located()
    entries = program_frames(exc.__traceback__)
    raised_by_program = _raised_by_program(exc.__traceback__)
    if isinstance(exc, RecursionError) and len(entries) > 1:
        # The limit trips inside the innermost call's first guard; CPython reports the
        # call that could not be made, which is where the caller stands.
        entries = entries[:-1]
    if entries:
        last = entries[-1]
        where = position(last.tb_frame.f_code, last.tb_lasti, lines)
        if where is not None:
            located.line, located.column, located.end_line, located.end_column = where
        for entry in entries[1:]:
            located.stack.append((entry.tb_frame.f_code.co_name, entry.tb_lineno))
        if len(entries) > 1:
            located.stack.insert(0, ("<module>", entries[0].tb_lineno))
        located.stack = located.stack[-MAX_STACK:]
    if isinstance(exc, ProgramError):
        located.type_name, located.message, located.hint = exc.type_name, exc.message, exc.hint
        if exc.line is not None:
            located.line, located.column = exc.line, exc.column
        return located
    located.type_name = type(exc).__name__
    located.message = str(exc)
    if isinstance(exc, AttributeError) and not raised_by_program and _looked_up_by_guard(
            exc.__traceback__):
        # A gradcli object's own __getattr__ said no (`model.wieght`): Python's error.
        located.type_name, located.message = "AttributeError", str(exc)
        return located
    if isinstance(exc, AttributeError) and not raised_by_program:
        match = NOT_A_TENSOR.match(located.message)
        if match is not None:
            located.type_name = "TypeError"
            located.message = f"expected Tensor as argument, but got {match.group(1)}"
        else:
            located.internal = True
        return located
    if isinstance(exc, TypeError) and raised_by_program:
        located.message = _call_message(located.message, function_names,
                                        _callee(lines, located))
        # Python names the type; PyTorch's class prints as torch.Size.
        located.message = located.message.replace("'Size' object", "'torch.Size' object")
    if not raised_by_program and not isinstance(exc, USER_EXCEPTIONS + (MemoryError,)):
        located.internal = True
    return located


def _callee(lines, located) -> str | None:
    """The name a call's text uses for its function (`torch.softmax(x)` -> softmax)."""
    if located.line is None or not 0 < located.line <= len(lines):
        return None
    text = lines[located.line - 1][(located.column or 1) - 1:]
    match = re.match(r"\s*([\w.]+)\s*\(", text)
    return match.group(1).rsplit(".", 1)[-1] if match else None


def _call_message(message: str, function_names, callee: str | None = None) -> str:
    """A gradcli function called with the wrong arguments words it as PyTorch does, under
    the name the program called it by; a function the program defined keeps CPython's
    words."""
    match = re.match(r"(\w+)\(\) missing (\d+) required positional arguments?: (.*)", message)
    if match is None or match.group(1) in function_names:
        return message
    names = ", ".join(f'"{n}"' for n in re.findall(r"'(\w+)'", match.group(3)))
    return (f"{callee or match.group(1)}() missing {match.group(2)} required positional "
            f"arguments: {names}")


