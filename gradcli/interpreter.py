"""Run a program: parse, compile, execute, and collect what happened into a RunResult.

This module knows nothing of click or rich; the CLI and the renderers read its result.
"""

from __future__ import annotations

import gc
import sys
import threading
import time

import numpy as np

from gradcli import api, diagnostics, hints
from gradcli import limits as resource_limits
from gradcli.engine import Observer
from gradcli.errors import GradcliSyntaxError, ProgramError, type_error
from gradcli.lang import ast as A
from gradcli.lang.compiler import Compiler
from gradcli.lang.parser import parse, parse_expression
from gradcli.limits import Limits, budget_error, format_bytes, resource_error
from gradcli.names import MODULES, global_scope
from gradcli.result import ErrorRecord, RunResult, TensorRecord, WarningRecord
from gradcli.tensor import GradMode, Tensor

STACK_BYTES = 512 * 2**20  # deep programs recurse in the parser and compiler, not in backward
# A recorded graph is millions of small objects that live until backward and hold no
# reference cycles, so the collector's full passes over them are pure cost (70% of a
# 100,000-step chain's forward). While a program runs, full passes wait for 1,000 young
# passes instead of 10; the young passes still free short-lived cycles.
FULL_COLLECTION_EVERY = 1000
RECURSION_LIMIT = 200_000
MAX_OUTPUT_CHARS = 100_000_000  # what print() may write in one run (it is kept in memory)
TIMEOUT_GRACE = 1.0  # seconds to wait past --timeout for a long numpy call to finish
# Builtins that consume a whole iterable: list(range(10**12)) is a loop in disguise.
CONSUMERS = ("list", "tuple", "sum", "min", "max")
# Interpreter threads left running (past --timeout, or after Ctrl-C), by their "finished"
# events.
_abandoned: list[threading.Event] = []


def abandoned_threads() -> bool:
    """Whether a program is still running in the background. The process must then end
    with os._exit: OpenBLAS's exit handler would wait for that thread's call forever."""
    return any(not finished.is_set() for finished in _abandoned)


class IPythonMath:
    """`display(Math(...))` from the notebook: outside Jupyter, display() prints the repr."""

    def __init__(self, *args, **kwargs):
        pass

    def __repr__(self) -> str:
        return "<IPython.core.display.Math object>"


class Runtime:
    def __init__(self, limits: Limits, bindings: dict | None = None):
        self.vars: dict = bindings if bindings is not None else {}
        self.scope = global_scope()
        self.scope["print"] = self.print
        self.output: list[str] = []
        self.warnings: list[WarningRecord] = []
        self.warned: set = set()
        self.limits = limits
        self.steps = 0
        self.line = 0
        self.output_chars = 0
        self.deadline = None if limits.timeout is None else time.monotonic() + limits.timeout
        for name in CONSUMERS:
            self.scope[name] = self._bounded(self.scope[name], name in ("list", "tuple"))

    def print(self, *values, sep=" ", end="\n", flush=False):
        if sep is None:
            sep = " "
        if end is None:
            end = "\n"
        if not isinstance(sep, str) or not isinstance(end, str):
            raise type_error("sep must be None or a string")
        text = sep.join(str(v) for v in values) + end
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:  # a lone surrogate: Python's print fails too
                raise ProgramError("UnicodeEncodeError", str(exc)) from None
        self.output_chars += len(text)
        if self.output_chars > MAX_OUTPUT_CHARS:
            raise resource_error(
                f"the program printed more than {MAX_OUTPUT_CHARS:,} characters, gradcli's "
                "limit for one run"
            )
        self.output.append(text)

    # ----- budgets: loop steps and the wall clock -----

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise budget_error(
                f"the program ran longer than its time limit of {self.limits.timeout:g} "
                "seconds",
                "raise the limit with --timeout SECONDS",
            )

    def _charge(self, count) -> None:
        """Spend `count` loop steps, refusing (before the loop starts) to pass the budget."""
        if self.steps + count > self.limits.max_steps:
            budget = self.limits.max_steps
            if count > budget // 2:
                message = (f"this loop would run {count:,} iterations, past gradcli's budget "
                           f"of {budget:,} loop steps for the whole program")
            else:
                message = (f"the program has used up gradcli's budget of {budget:,} loop "
                           "steps (iterations of all loops and comprehensions together)")
            raise budget_error(message, "raise the budget with --max-steps N")
        self.steps += count

    def _count_items(self, iterator, line):
        """An iterable of unknown length (enumerate, zip): one step per item."""
        budget = self.limits.max_steps
        for item in iterator:
            self.steps += 1
            if self.steps > budget or self.deadline is not None:
                self._check_loop(line)
            yield item

    def _timed(self, items, line):
        for item in items:
            self._check_loop(line)
            yield item

    def _check_loop(self, line) -> None:
        # Raised between iterations, after the body set rt.line: point back at the loop.
        try:
            if self.steps > self.limits.max_steps:
                self.steps -= 1
                self._charge(1)
            self.check_time()
        except ProgramError:
            self.line = line
            raise

    def _bounded(self, consume, keep_tensors: bool):
        return _Bounded(self, consume, keep_tensors)

    def flush_warnings(self, line: int, column: int) -> None:
        for message, category, once_per_process in diagnostics.PENDING:
            key = (message, category) if once_per_process else (message, category, line)
            if key in self.warned:
                continue
            self.warned.add(key)
            self.warnings.append(WarningRecord(message, category, line, column))
        diagnostics.PENDING.clear()

    def iterate(self, value, counted=False):
        """What a `for` loop, a comprehension or an unpacking walks over. Every item is a
        step of the program's budget (`counted` is kept for callers; all loops count)."""
        if isinstance(value, Tensor):
            if not value.ndim:
                raise type_error("iteration over a 0-d tensor")
            self._charge(value.shape[0])
            value = [api.getitem(value, i) for i in range(value.shape[0])]
        elif isinstance(value, (int, float, bool)) or value is None:
            raise type_error(f"'{type(value).__name__}' object is not iterable")
        elif isinstance(value, (list, tuple, str, range, dict)) or value.__class__ is api.Size:
            try:
                length = len(value)
            except OverflowError:  # len(range(10**30))
                length = sys.maxsize
            self._charge(length)
        else:
            return self._count_items(iter(value), self.line)
        if self.deadline is not None:
            return self._timed(value, self.line)
        return value

    def do_import(self, bound: str, module: str, node) -> None:
        if module.startswith("IPython."):
            self.vars[bound] = {"display": self.display, "Math": IPythonMath}.get(
                bound, IPythonMath
            )
            return
        if module.startswith("torch.") and module not in MODULES:
            name = module.split(".", 1)[1]
            namespace = MODULES["torch"]
            if "." not in name and name in namespace.members:
                self.vars[bound] = namespace.members[name]
                return
        parent, _, member = module.rpartition(".")
        if module not in MODULES and parent in MODULES and member in MODULES[parent].members:
            # `from torch.optim.lr_scheduler import StepLR`
            self.vars[bound] = MODULES[parent].members[member]
            return
        if module not in MODULES:
            raise ProgramError(
                "ModuleNotFoundError", f"No module named '{module.split('.')[0]}'"
                if module.split(".")[0] not in ("torch", "numpy")
                else f"No module named '{module}'"
            ).at(node.line, node.column)
        self.vars[bound] = MODULES[module]

    def display(self, *objects, **kwargs):
        for obj in objects:
            self.print(repr(obj))


class _Bounded:
    """list(x), sum(x), ...: the same step budget as a loop over x. Shows itself as the
    builtin it wraps (`print(list)` is still `<class 'list'>`)."""

    __slots__ = ("runtime", "consume", "keep_tensors", "__name__")

    def __init__(self, runtime, consume, keep_tensors: bool):
        self.runtime, self.consume, self.keep_tensors = runtime, consume, keep_tensors
        self.__name__ = getattr(consume, "__name__", "builtin")

    def __call__(self, *args, **kwargs):
        if args:
            first = args[0]
            if first.__class__ is Tensor:
                # list(t) and tuple(t) walk the tensor as a for loop does.
                if self.keep_tensors and len(args) == 1:
                    args = (self.runtime.iterate(first),)
            elif len(args) == 1 or self.__name__ == "sum":
                args = (self.runtime.iterate(first), *args[1:])
        return self.consume(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.consume)


def apply_overrides(program: A.Program, overrides: dict[str, str]) -> None:
    """--set NAME=VALUE: replace the data of NAME's first `tensor(...)` declaration."""
    for name, text in overrides.items():
        call = _first_tensor_call(program.body, name)
        if call is None:
            raise ProgramError(
                "ValueError", f"--set {name}: no `{name} = tensor(...)` declaration in the program"
            )
        try:
            value = parse_expression(text, call.line, call.column)
        except GradcliSyntaxError:
            raise ProgramError("ValueError",
                               f"--set {name}: '{text}' is not a number or list") from None
        if not _is_literal(value):
            raise ProgramError("ValueError", f"--set {name}: '{text}' is not a number or list")
        if (not any(k == "dtype" for k, _ in call.kwargs) and call.args
                and _is_literal(call.args[0])):
            dtype = api._infer_dtype(_literal_value(call.args[0]))
            call.kwargs.append(("dtype", A.Const(call.line, call.column, dtype)))
        if call.args:
            call.args[0] = value
        else:
            call.kwargs = [(k, v) for k, v in call.kwargs if k != "data"] + [("data", value)]


def _first_tensor_call(body, name):
    for statement in body:
        if isinstance(statement, A.Assign):
            value = statement.value
            is_tensor_call = isinstance(value, A.Call) and (
                (isinstance(value.func, A.Name) and value.func.id == "tensor")
                or (isinstance(value.func, A.Attribute) and value.func.attr == "tensor")
            )
            if is_tensor_call and any(isinstance(t, A.Name) and t.id == name
                                      for t in statement.targets):
                return value
        for block in ("body", "orelse"):
            inner = getattr(statement, block, None)
            if isinstance(inner, list):
                found = _first_tensor_call(inner, name)
                if found is not None:
                    return found
    return None


def _is_literal(node) -> bool:
    if isinstance(node, A.Const):
        return isinstance(node.value, (int, float, bool))
    if isinstance(node, A.UnaryOp) and node.op in "+-":
        return _is_literal(node.operand)
    if isinstance(node, (A.ListExpr, A.TupleExpr)):
        return all(_is_literal(item) for item in node.items)
    return False


def _literal_value(node):
    if isinstance(node, A.Const):
        return node.value
    if isinstance(node, A.UnaryOp):
        value = _literal_value(node.operand)
        return -value if node.op == "-" else value
    return [_literal_value(item) for item in node.items]


def start_deep_thread(work, name: str) -> threading.Thread:
    """Run `work` in a daemon thread with STACK_BYTES of stack: a program's expressions
    recurse once per level of their tree, far past the main thread's 8 MiB."""
    previous = threading.stack_size()
    threading.stack_size(STACK_BYTES)
    try:
        worker = threading.Thread(target=work, name=name, daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    return worker


def run(
    source: str,
    filename: str = "<stdin>",
    *,
    seed: int | None = None,
    overrides: dict[str, str] | None = None,
    limits: Limits | None = None,
    bindings: dict | None = None,
    observer=None,
) -> RunResult:
    """Run `source` and report what it printed, warned, bound and raised.

    `bindings` may be a dict subclass that watches assignments (gradcli check uses it);
    `observer` (an engine.Observer) sees every backward pass (--trace, --detect-anomaly)."""
    box: list = []
    limits = limits or Limits()
    shared = {"started": time.monotonic()}  # and "runtime", once the program runs
    finished = threading.Event()

    def work():
        try:
            box.append(_run(source, filename, seed, overrides or {}, limits, bindings,
                            observer, shared))
        finally:
            finished.set()

    start_deep_thread(work, "gradcli-run")
    give_up = None if limits.timeout is None else (
        shared["started"] + limits.timeout + TIMEOUT_GRACE)
    try:
        # An Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread
        # looking finished while it still runs (CPython bpo-21822).
        while not finished.wait(0.1):
            if give_up is not None and time.monotonic() > give_up:
                # The program is inside one long call (numpy, or the parser) and has not
                # reached a check; leave the daemon thread behind and report the timeout.
                _abandoned.append(finished)
                return _timed_out(source, filename, limits, shared.get("runtime"))
    except KeyboardInterrupt:
        _abandoned.append(finished)  # Ctrl-C: the program may be inside a numpy call
        raise
    if not box:
        raise RuntimeError("the interpreter thread ended without a result")
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _timed_out(source, filename, limits, runtime) -> RunResult:
    error = budget_error(
        f"the program ran longer than its time limit of {limits.timeout:g} seconds",
        "raise the limit with --timeout SECONDS",
    )
    result = RunResult(filename=filename, source=source)
    line = runtime.line if runtime is not None and runtime.line else None
    result.error = ErrorRecord(error.type_name, error.message, line, 1 if line else None,
                               error.hint)
    if runtime is not None:
        # A snapshot: the interpreter thread may still be inside its last statement.
        result.stdout = "".join(list(runtime.output))
        result.warnings = list(runtime.warnings)
        result.tensors = [TensorRecord(name, value) for name, value in list(runtime.vars.items())
                          if isinstance(value, Tensor)]
    return result


def _memory_error(exc: MemoryError, line, limits) -> ErrorRecord:
    # numpy says which allocation failed ("Unable to allocate 3.6 GiB for an array with
    # shape ..."); Python's own MemoryError says nothing.
    message = str(exc) or "out of memory"
    return ErrorRecord("MemoryError", message, line, 1 if line else None,
                       f"gradcli's memory limit is {format_bytes(limits.max_memory)}; "
                       "raise it with --max-memory")


def _run(source, filename, seed, overrides, limits, bindings=None, observer=None, shared=None):
    try:
        return _execute(source, filename, seed, overrides, limits, bindings, observer, shared)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
        return exc


def _execute(source, filename, seed, overrides, limits, bindings=None, observer=None,
             shared=None) -> RunResult:
    result = RunResult(filename=filename, source=source)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(RECURSION_LIMIT)
    GradMode.enabled = True
    diagnostics.PENDING.clear()
    api.Random.seed(0 if seed is None else seed)
    previous_limits = resource_limits.activate(limits)
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], FULL_COLLECTION_EVERY))
    try:
        with np.errstate(all="ignore"):
            try:
                program = parse(source)
            except MemoryError as exc:
                result.error = _memory_error(exc, None, limits)
                return result
            except GradcliSyntaxError as exc:
                # SPEC §2.1: every syntax error (indentation and tabs included) is a SyntaxError.
                result.error = ErrorRecord("SyntaxError", exc.message, exc.line, exc.column,
                                           phase="parse")
                return result
            runtime = Runtime(limits, bindings)
            if shared is not None:
                shared["runtime"] = runtime
                if limits.timeout is not None:
                    runtime.deadline = shared["started"] + limits.timeout
            hints.Context.line = lambda: runtime.line
            hints.Context.variables = lambda: runtime.vars
            if observer is not None:
                if hasattr(observer, "attach"):
                    observer.attach(runtime)
                Observer.active = observer
            try:
                apply_overrides(program, overrides)
                compiled = [Compiler(limits).stmt(s) for s in program.body]
                for statement in compiled:
                    if runtime.deadline is not None:
                        runtime.check_time()
                    statement(runtime)
            except ProgramError as exc:
                line = exc.line if exc.line is not None else (runtime.line or None)
                result.error = ErrorRecord(exc.type_name, exc.message, line,
                                           exc.column or (1 if line else None), exc.hint)
            except RecursionError:
                result.error = ErrorRecord(
                    "RecursionError", "maximum recursion depth exceeded", runtime.line or None, 1
                )
            except MemoryError as exc:
                result.error = _memory_error(exc, runtime.line or None, limits)
            if diagnostics.PENDING:
                runtime.flush_warnings(runtime.line, 1)
            result.stdout = "".join(runtime.output)
            result.warnings = runtime.warnings
            result.tensors = [
                TensorRecord(name, value)
                for name, value in runtime.vars.items()
                if isinstance(value, Tensor)
            ]
            # Without the cycles through its scope (print, list, ... are bound to it) the
            # runtime, and whatever else the program made, is freed before rendering.
            runtime.scope = {}
            return result
    finally:
        sys.setrecursionlimit(old_limit)
        gc.set_threshold(*thresholds)
        GradMode.enabled = True
        Observer.active = None
        resource_limits.activate(previous_limits)
        # Let the program's values go (a list of big tensors after a MemoryError, say)
        # before the result is rendered.
        hints.Context.line = lambda: None
        hints.Context.variables = lambda: {}
