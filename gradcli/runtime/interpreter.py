"""Run a program: parse, compile, execute, and collect what happened into a RunResult.

This module knows nothing of click or rich; the CLI and the renderers read its result.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import warnings

import numpy as np

from gradcli.autodiff import hints
from gradcli.autodiff.engine import Observer
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import budget as resource_limits
from gradcli.base import diagnostics, dtypes, held_output, wording
from gradcli.base.budget import Limits, budget_error, format_bytes, resource_error
from gradcli.base.errors import GradcliSyntaxError, ProgramError, type_error
from gradcli.runtime.executor import Guards, locate, position
from gradcli.runtime.result import ErrorRecord, RunResult, TensorRecord, WarningRecord
from gradcli.runtime.rewrite import PROGRAM_FILENAME, compile_tree, parse_python, rewrite
from gradcli.sandbox import policy
from gradcli.torch import functions as api
from gradcli.torch import runtime_state

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


class Runtime:
    """What a running program writes and spends: output, warnings, the clock and steps."""

    budget_hint = "raise the budget with --max-steps N"

    def __init__(self, limits: Limits, seed: int | None = None):
        self.output: list[str] = []
        self.warnings: list[WarningRecord] = []
        self.warned: set = set()
        self.limits = limits
        self.seed = 0 if seed is None else seed
        self.counter = [0]
        self.output_chars = 0
        self.thread_id = None
        self.deadline = None if limits.timeout is None else time.monotonic() + limits.timeout
        self.modules: dict = {}
        self.globals: dict = {}  # the namespace's, once one runs here
        self.source_lines: list[str] = []

    @property
    def scope(self) -> dict:
        """The names a program has without defining them (torch's, Python's builtins)."""
        builtins_ = self.globals.get("__builtins__", {})
        return {name: value for name, value in builtins_.items()
                if not name.startswith(("_gx_", "__"))}

    @property
    def vars(self) -> dict:
        """The program's top-level variables, in binding order."""
        return {name: value for name, value in self.globals.items()
                if not name.startswith(("__", "_gx_"))}

    @property
    def line(self) -> int | None:
        """The program line running now (read from the program thread's frames)."""
        frame = sys._current_frames().get(self.thread_id) if self.thread_id else None
        while frame is not None:
            if frame.f_code.co_filename == PROGRAM_FILENAME:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def print(self, *values, sep=" ", end="\n", file=None, flush=False):
        if sep is None:
            sep = " "
        if end is None:
            end = "\n"
        for name, value in (("sep", sep), ("end", end)):
            if not isinstance(value, str):
                raise type_error(f"{name} must be None or a string, not {type(value).__name__}")
        text = sep.join(str(v) for v in values) + end
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:  # a lone surrogate: Python's print fails too
                raise ProgramError("UnicodeEncodeError", str(exc)) from None
        if held_output.HELD:  # vmap is tracing the function that prints
            held_output.HELD[-1].append((self.emit, text))
            return
        self.emit(text)

    def emit(self, text: str) -> None:
        self.output_chars += len(text)
        if self.output_chars > MAX_OUTPUT_CHARS:
            raise resource_error(
                f"the program printed more than {MAX_OUTPUT_CHARS:,} characters, gradcli's "
                "limit for one run"
            )
        self.output.append(text)

    def display(self, *objects, **kwargs):
        for obj in objects:
            if obj is not None:
                self.print(repr(obj))

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise time_limit_error(self.limits.timeout)

    def poll(self) -> None:
        """Every 1,024 steps: the clock (and, in a session, Ctrl-C)."""
        self.check_time()

    def flush_warnings(self, line: int, column: int) -> None:
        for message, category, once_per_process, where in diagnostics.PENDING:
            at_line, at_column = where if where is not None else (line, column)
            key = (message, category) if once_per_process else (message, category, at_line)
            if key in self.warned:
                continue
            self.warned.add(key)
            self.warnings.append(WarningRecord(message, category, at_line, at_column))
        diagnostics.PENDING.clear()

    def position(self):
        """(line, column) where the program stands (its innermost frame), or None."""
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != PROGRAM_FILENAME:
            frame = frame.f_back
        if frame is None:
            return None
        where = position(frame.f_code, frame.f_lasti, self.source_lines)
        return (where[0], where[1]) if where is not None else (frame.f_lineno, 1)

    def flush_here(self) -> None:
        """Warnings raised where no expression reported its position: the current line."""
        if diagnostics.PENDING:
            line = self.line or 1
            self.flush_warnings(line, 1)


class Namespace:
    """One program's variables, guards and site table: a run, or a whole repl session."""

    def __init__(self, runtime: Runtime, bind_hook=None):
        self.runtime = runtime
        self.sites: list = []
        self.function_names: set = set()
        self.input_number = None  # a session's input being compiled: `input [3], line 2`
        self.globals: dict = {"__name__": "__main__", "__doc__": None}
        runtime.globals = self.globals
        self.guards = Guards(runtime, self.sites, self.globals, bind_hook)
        runtime.modules = self.guards.modules()
        self.globals["__builtins__"] = self.guards.builtins()

    def compile(self, tree, source: str, mode: str = "exec"):
        program = rewrite(tree, source, self.sites, input_number=self.input_number)
        self.function_names |= program.function_names
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # CPython's SyntaxWarnings are not PyTorch's
                code = compile_tree(program.tree, mode)
            if self.input_number is not None:
                self.guards.remember_input(code, self.input_number)
            return code
        except SyntaxError as exc:
            raise GradcliSyntaxError(exc.msg, exc.lineno or 1, exc.offset or 1,
                                     type(exc).__name__) from None
        except RecursionError:
            raise GradcliSyntaxError("too many nested parentheses", 1, 1) from None

    def execute(self, code, source: str):
        """Run compiled code; None, or the error as an ErrorRecord."""
        self.runtime.thread_id = threading.get_ident()
        self.runtime.source_lines = source.split("\n")
        diagnostics.LOCATE = self.runtime.position
        old_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(_depth() + USER_RECURSION_LIMIT)
        try:
            exec(code, self.globals)  # noqa: S102 - a checked, guarded tree (SPEC §1)
        except BaseException as exc:  # noqa: BLE001 - every error is reported, never raised
            if isinstance(exc, KeyboardInterrupt):
                raise
            return self.error_record(exc, source)
        finally:
            sys.setrecursionlimit(old_limit)
            diagnostics.LOCATE = None
        if self.guards.spent:
            try:
                self.guards.spend_all()
            except ProgramError as exc:
                return self.error_record(exc, source)
        return None

    def error_record(self, exc: BaseException, source: str) -> ErrorRecord:
        if isinstance(exc, MemoryError) and not isinstance(exc, ProgramError):
            # What the program built and holds (a list of big tensors) goes first, so the
            # error can be reported; its tensors stay for the table.
            for name in [n for n, v in self.globals.items()
                         if v.__class__ is not Tensor and not n.startswith("__")]:
                del self.globals[name]
            gc.collect()
            located = locate(exc, source.split("\n"), self.function_names)
            return _memory_error(exc, located.line, self.runtime.limits)
        located = locate(exc, source.split("\n"), self.function_names)
        if located.internal:
            raise exc
        if located.type_name == "RecursionError":
            located.message = "maximum recursion depth exceeded"
        record = ErrorRecord(located.type_name, located.message, located.line,
                             located.column or (1 if located.line else None), located.hint)
        record.stack = located.stack
        record.end_line, record.end_column = located.end_line, located.end_column
        return record

    def tensors(self) -> list:
        return [TensorRecord(name, value) for name, value in self.globals.items()
                if value.__class__ is Tensor and not name.startswith(("__", "_gx_"))]


USER_RECURSION_LIMIT = 1000 + 40  # Python's limit, plus headroom for gradcli's own frames


def _depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


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
            box.append(_run(source, filename, seed, limits, bindings,
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
                return _timed_out(source, filename, limits, shared.get("runtime"),
                                  shared.get("namespace"))
    except KeyboardInterrupt:
        _abandoned.append(finished)  # Ctrl-C: the program may be inside a numpy call
        raise
    if not box:
        raise RuntimeError("the interpreter thread ended without a result")
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def time_limit_error(timeout: float):
    return budget_error(
        f"the program ran longer than its time limit of {wording.seconds(timeout)}",
        "raise the limit with --timeout SECONDS",
    )


def _timed_out(source, filename, limits, runtime, namespace) -> RunResult:
    error = time_limit_error(limits.timeout)
    result = RunResult(filename=filename, source=source)
    line = runtime.line if runtime is not None else None
    result.error = ErrorRecord(error.type_name, error.message, line, 1 if line else None,
                               error.hint)
    if runtime is not None:
        # A snapshot: the interpreter thread may still be inside its last statement.
        result.stdout = "".join(list(runtime.output))
        result.warnings = list(runtime.warnings)
    if namespace is not None:
        result.tensors = [TensorRecord(name, value)
                          for name, value in list(namespace.globals.items())
                          if value.__class__ is Tensor and not name.startswith(("__", "_gx_"))]
    return result


def _memory_error(exc: MemoryError, line, limits) -> ErrorRecord:
    # numpy says which allocation failed ("Unable to allocate 3.6 GiB for an array with
    # shape ..."); Python's own MemoryError says nothing.
    message = str(exc) or "out of memory"
    return ErrorRecord("MemoryError", message, line, 1 if line else None,
                       f"gradcli's memory limit is {format_bytes(limits.max_memory)}; "
                       "raise it with --max-memory")


def _run(source, filename, seed, limits, bindings=None, observer=None, shared=None):
    try:
        return _execute(source, filename, seed, limits, bindings, observer, shared)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
        return exc


def parse_program(source: str):
    """CPython's tree of the program, or GradcliSyntaxError (with depth limits first)."""
    return parse_python(source)


def _execute(source, filename, seed, limits, bindings=None, observer=None,
             shared=None) -> RunResult:
    result = RunResult(filename=filename, source=source)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(RECURSION_LIMIT)
    GradMode.enabled = True
    default_dtype = dtypes.DEFAULT_FLOAT  # the caller's (gradcli check runs in float64)
    runtime_state.reset(default_dtype)  # print options, anomaly mode, dual level, ...
    diagnostics.PENDING.clear()
    policy.PURE.clear()
    api.Random.seed(0 if seed is None else seed)
    previous_limits = resource_limits.activate(limits)
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], FULL_COLLECTION_EVERY))
    try:
        with np.errstate(all="ignore"):
            runtime = Runtime(limits, seed)
            runtime.thread_id = threading.get_ident()
            try:
                tree = parse_program(source)
                hook = bindings.__setitem__ if bindings is not None else None
                namespace = Namespace(runtime, hook)
                if bindings:  # values handed in before the program runs (benchmarks, tests)
                    namespace.globals.update(bindings)
                code = namespace.compile(tree, source)
            except MemoryError as exc:
                result.error = _memory_error(exc, None, limits)
                return result
            except GradcliSyntaxError as exc:
                # SPEC §2.1: every syntax error (indentation and tabs included) is a SyntaxError.
                result.error = ErrorRecord("SyntaxError", exc.message, exc.line, exc.column,
                                           phase="parse")
                return result
            if shared is not None:
                shared["runtime"] = runtime
                shared["namespace"] = namespace
                if limits.timeout is not None:
                    runtime.deadline = shared["started"] + limits.timeout
            hints.Context.line = lambda: runtime.line
            hints.Context.variables = lambda: namespace.globals
            if observer is not None:
                if hasattr(observer, "attach"):
                    observer.attach(runtime)
                Observer.active = observer
            result.error = namespace.execute(code, source)
            runtime.flush_here()
            result.stdout = "".join(runtime.output)
            result.warnings = runtime.warnings
            result.tensors = namespace.tensors()
            return result
    finally:
        sys.setrecursionlimit(old_limit)
        gc.set_threshold(*thresholds)
        GradMode.enabled = True
        runtime_state.reset(default_dtype)
        Observer.active = None
        resource_limits.activate(previous_limits)
        hints.Context.line = lambda: None
        hints.Context.variables = lambda: {}
