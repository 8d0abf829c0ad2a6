"""A Runtime kept alive across inputs: what `gradcli repl` and `gradcli show` run on.

`gradcli eval` runs a whole program at once (interpreter.run); a Session runs one input at
a time against the same variables, random generator and warning registry, and remembers
the inputs that ran so the session can be saved as a program that `gradcli eval` runs to
the same tensors.
"""

from __future__ import annotations

import ast
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

from gradcli.autodiff import hints
from gradcli.autodiff.engine import Observer
from gradcli.autodiff.tensor import GradMode, Tensor
from gradcli.base import diagnostics
from gradcli.base.budget import Limits
from gradcli.base.errors import GradcliSyntaxError, ProgramError
from gradcli.base.wording import input_line
from gradcli.runtime.interpreter import RECURSION_LIMIT, Namespace, Runtime, start_deep_thread
from gradcli.runtime.result import ErrorRecord, RunResult, TensorRecord, WarningRecord
from gradcli.runtime.rewrite import char_column, parse_python
from gradcli.sandbox import policy
from gradcli.torch import functions as api


@dataclass
class Binding:
    """A name bound to a tensor by the statement starting at `line`, as it was then."""

    line: int
    name: str
    shape: tuple
    dtype: str
    requires_grad: bool
    grad_fn: str | None


@dataclass
class Outcome:
    """What one input did."""

    source: str
    stdout: str = ""
    warnings: list[WarningRecord] = field(default_factory=list)
    error: ErrorRecord | None = None
    echoes: list[str] = field(default_factory=list)  # reprs of expression values (REPL echo)
    ran: str = ""  # the text of the top-level statements that completed
    failed: str = ""  # the text from the statement that failed to the end of the input

    @property
    def ok(self) -> bool:
        return self.error is None


class Interrupted(ProgramError):
    def __init__(self):
        super().__init__("KeyboardInterrupt", "")


class SessionRuntime(Runtime):
    """A Runtime that can be interrupted (Ctrl-C in the REPL) and that records the tensor
    bindings of the session's top level with their lines (`gradcli show`)."""

    def __init__(self, limits: Limits, record: bool = False, seed: int | None = None):
        self.cancel = threading.Event()
        super().__init__(limits, seed)
        self.bindings: list[Binding] | None = [] if record else None

    def poll(self) -> None:
        if self.cancel.is_set():
            raise Interrupted()
        self.check_time()

    def record(self, name, value) -> None:
        if self.bindings is not None and isinstance(value, Tensor):
            self.bindings.append(Binding(
                self.line or 0, name, tuple(value.shape), value.dtype.name,
                value.requires_grad, value.grad_fn.name() if value.grad_fn is not None else None,
            ))  # fmt: skip


class Session:
    def __init__(self, *, seed: int | None = None, limits: Limits | None = None,
                 record_bindings: bool = False, keep_grad_mode: bool = False):
        self.seed = seed
        # Whether torch.set_grad_enabled(False) in one input still holds in the next
        # (as in a notebook); the REPL starts every input with gradients on.
        self.keep_grad_mode = keep_grad_mode
        self.limits = limits or Limits()
        self.record_bindings = record_bindings
        self.reset()

    def reset(self) -> None:
        """Forget every variable; reseed the random generator; start a new history."""
        GradMode.enabled = self.grad_enabled = True
        diagnostics.PENDING.clear()
        api.Random.seed(0 if self.seed is None else self.seed)
        policy.PURE.clear()
        self.runtime = SessionRuntime(self.limits, self.record_bindings, self.seed)
        self.namespace = Namespace(self.runtime, self.runtime.record)
        self.inputs = 0
        self.history: list[Outcome] = []

    @property
    def variables(self) -> dict:
        # `_gx_` names are the rewriter's (a loop's iteration counter at module level)
        return {name: value for name, value in self.namespace.globals.items()
                if not name.startswith(("__", "_gx_"))}

    @property
    def bindings(self) -> list[Binding]:
        return self.runtime.bindings or []

    def tensors(self) -> list[TensorRecord]:
        return self.namespace.tensors()

    def result(self, filename: str = "<repl>", source: str = "", outcome: Outcome | None = None
               ) -> RunResult:
        """The session's state as a RunResult, for the renderers."""
        result = RunResult(filename=filename, source=source, tensors=self.tensors())
        if outcome is not None:
            result.stdout, result.warnings, result.error = (
                outcome.stdout, outcome.warnings, outcome.error)
        return result

    def execute(self, source: str, *, echo: bool = False, observer=None,
                number: int | None = None) -> Outcome:
        """Run one input (any number of statements) against the session's variables.

        With `echo`, the value of each top-level expression statement that is not None is
        kept as its repr, as Python's interactive prompt shows it. `observer` (an
        engine.Observer, e.g. trace.Tracer) sees this input's backward passes.
        """
        box: list = []
        finished = threading.Event()

        def work():
            try:
                box.append(self._execute(source, echo, observer, number))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                box.append(exc)
            finally:
                finished.set()

        start_deep_thread(work, "gradcli-session")
        # An Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread
        # looking finished while it still runs (CPython bpo-21822).
        try:
            while not finished.wait(0.05):
                pass
        except KeyboardInterrupt:
            # Stop at the next statement; numpy work already under way finishes first.
            self.runtime.cancel.set()
            while not finished.is_set():
                try:
                    finished.wait(0.05)
                except KeyboardInterrupt:
                    continue
        finally:
            self.runtime.cancel.clear()
        if not box:
            raise RuntimeError("the session thread ended without a result")
        if isinstance(box[0], BaseException):
            raise box[0]
        outcome = box[0]
        self.history.append(outcome)
        return outcome

    def _execute(self, source: str, echo: bool, observer, number=None) -> Outcome:
        outcome = Outcome(source=source)
        rt = self.runtime
        namespace = self.namespace
        rt.thread_id = threading.get_ident()
        # `number`: the repl's input [number]; traces and hints then name its lines so.
        namespace.input_number = rt.input_number = number
        hints.Context.line = lambda: input_line(rt.line, number)
        hints.Context.variables = lambda: namespace.globals
        if observer is not None:
            if hasattr(observer, "attach"):
                observer.attach(rt)
            Observer.active = observer
        rt.output.clear()
        rt.warnings.clear()
        rt.counter[0] = 0  # each input has the whole step budget
        namespace.guards.spent = False
        # Python's once-per-line warning rule applies within one input: a new input is new
        # text, so a warning that an earlier input raised on its line 1 shows again.
        rt.warned = {key for key in rt.warned if len(key) == 2}
        diagnostics.PENDING.clear()
        old_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(RECURSION_LIMIT)
        if self.keep_grad_mode:
            GradMode.enabled = self.grad_enabled
        try:
            with np.errstate(all="ignore"):
                try:
                    tree = parse_python(source)
                except GradcliSyntaxError as exc:
                    # SPEC §2.1: indentation and tab errors are reported as SyntaxError too.
                    outcome.error = ErrorRecord("SyntaxError", exc.message, exc.line, exc.column,
                                                phase="parse")
                    outcome.failed = source
                    return outcome
                starts = _offsets(source)
                body = tree.body
                done = 0
                echoes: list = []
                for statement in body:
                    try:
                        code = namespace.compile(_statement_module(statement, echo), source)
                    except GradcliSyntaxError as exc:
                        outcome.error = ErrorRecord("SyntaxError", exc.message, exc.line,
                                                    exc.column, phase="parse")
                        break
                    namespace.globals["__builtins__"]["_gx_echo"] = echoes.append
                    error = namespace.execute(code, source)
                    rt.flush_here()
                    for value in echoes:
                        if value is not None:
                            rt.output.append(repr(value) + "\n")
                            outcome.echoes.append(repr(value))
                    echoes.clear()
                    if error is not None:
                        outcome.error = error
                        break
                    done += 1
                rt.flush_here()
                outcome.ran, outcome.failed = _split(source, starts, body, done)
                outcome.stdout = "".join(rt.output)
                outcome.warnings = list(rt.warnings)
                return outcome
        finally:
            sys.setrecursionlimit(old_limit)
            self.grad_enabled = GradMode.enabled
            GradMode.enabled = True
            Observer.active = None

    def program(self) -> str:
        """The session as a program: every input's completed statements, in order.

        A statement that failed is kept as a comment, so the program runs to the end and
        leaves the same tensors as the session.
        """
        parts = []
        for outcome in self.history:
            if outcome.ran.strip():
                parts.append(outcome.ran.rstrip("\n") + "\n")
            if outcome.error is not None and outcome.failed.strip():
                first = (outcome.error.message.split("\n") or [""])[0]
                lines = [f"# failed: {outcome.error.type}: {first}"]
                lines += [f"# {line}".rstrip() for line in outcome.failed.strip("\n").split("\n")]
                parts.append("\n".join(lines) + "\n")
        return "".join(parts)


def _statement_module(statement, echo: bool) -> ast.Module:
    """One top-level statement as a module; with `echo`, an expression statement hands
    its value to the session (Python's interactive prompt shows its repr)."""
    module = ast.Module(body=[statement], type_ignores=[])
    if echo and isinstance(statement, ast.Expr):
        call = ast.Call(func=ast.Name(id="_gx_echo", ctx=ast.Load()), args=[statement.value],
                        keywords=[])
        for node in (call, call.func):
            ast.copy_location(node, statement.value)
            node.end_lineno = statement.value.end_lineno
            node.end_col_offset = statement.value.end_col_offset
        module.body = [ast.copy_location(ast.Expr(value=call), statement)]
    return module


def _offsets(source: str) -> list[int]:
    """Offset of the start of each line (1-based line numbers index it directly)."""
    starts = [0, 0]
    for index, char in enumerate(source):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _split(source: str, starts: list[int], body: list, done: int) -> tuple[str, str]:
    """The text of the first `done` top-level statements, and the text after them."""
    if done >= len(body):
        return (source if source.endswith("\n") else source + "\n"), ""
    following = body[done]
    end = starts[following.lineno] + _char_offset(source, starts, following)
    ran = source[:end].rstrip(" \t;")
    if ran.strip() and not ran.endswith("\n"):
        ran += "\n"
    return (ran if ran.strip() else ""), source[end:]


def is_complete(source: str) -> bool:
    """Whether an input is ready to run (an interactive prompt's question).

    Incomplete: an open bracket or triple-quoted string, a trailing backslash, or a block
    header (`with ...:`, `for ...:`) whose body has not been ended by an empty line.
    """
    if not source.strip():
        return True
    lines = source.split("\n")
    last = lines[-1]
    depth, quote = _open_brackets(source)
    if quote or depth > 0:
        return False
    if last.rstrip().endswith("\\"):
        return False
    opens_block = any(
        _code_part(line).rstrip().endswith(":") and line.strip()
        for line in lines
    )
    if opens_block:
        # A block ends with an empty line, as at Python's prompt.
        return last.strip() == "" and len(lines) > 1
    return True


def _code_part(line: str) -> str:
    """The line without a trailing # comment (quotes respected)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:i]
    return line


def _open_brackets(source: str) -> tuple[int, str | None]:
    """Bracket depth at the end of the text, and an unclosed triple quote if any."""
    depth = 0
    i = 0
    n = len(source)
    while i < n:
        char = source[i]
        if char == "#":
            while i < n and source[i] != "\n":
                i += 1
            continue
        if char in "'\"":
            triple = source[i:i + 3]
            if triple in ('"""', "'''"):
                end = source.find(triple, i + 3)
                if end < 0:
                    return depth, triple
                i = end + 3
                continue
            end = i + 1
            while end < n and source[end] not in (char, "\n"):
                end += 2 if source[end] == "\\" else 1
            i = end + 1
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        i += 1
    return depth, None


def _char_offset(source: str, starts: list[int], node) -> int:
    line = source[starts[node.lineno]:].split("\n", 1)[0]
    return char_column([line], 1, node.col_offset)
