"""`gradcli repl`: the language, interactively, on one Session (gradcli/runtime/session.py).

Two front ends read the input. On a terminal, prompt_toolkit: highlighting as you type,
multi-line editing with auto-indent, a completion menu, history search, suggestions from
history. Piped input, `TERM=dumb` or `--simple`: plain lines (with readline's editing and
history when stdin is a terminal). Both hand complete inputs to the same `Repl`, which runs
them or a meta-command and prints what happened; nothing a user types ends the session
except `:quit` and Ctrl-D.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from gradcli.base.errors import ExitStatus
from gradcli.cli.commands.options import color_choice, color_options, examples, seed_option
from gradcli.views.terminal import color_enabled

PROMPT = ">>> "
CONTINUATION = "... "
INDENT = "    "
META_HELP = (
    (":table", "the tensor table now (name, shape, dtype, requires_grad, is_leaf, grad_fn, "
               "data, grad)"),
    (":trace", "toggle traces: show every backward pass node by node"),
    (":graph NAME", "the autograd graph behind tensor NAME"),
    (":reset", "forget every variable and start a new session (history stays)"),
    (":load FILE", "run a program file in this session"),
    (":save FILE", "write the session as a program that `gradcli eval FILE` runs"),
    (":help", "this help"),
    (":quit", "leave (also Ctrl-D)"),
)  # fmt: skip
META_NAMES = tuple(name.split()[0] for name, _ in META_HELP) + (":exit", ":q")
KEYWORD_ARGUMENTS = (
    "requires_grad=", "dtype=", "dim=", "keepdim=", "retain_graph=", "create_graph=",
    "gradient=", "inputs=", "grad_outputs=", "allow_unused=", "reduction=", "weight=",
    "bias=", "start_dim=", "end_dim=", "unbiased=", "correction=", "min=", "max=",
)  # fmt: skip
STATEMENT_KEYWORDS = ("with", "for", "in", "if", "elif", "else", "import", "from", "as",
                      "pass", "and", "or", "not", "is", "True", "False", "None")
MAX_GRAPH_NODES = 200
INPUT_NAME = "<input>"


def data_dir() -> Path:
    """Where gradcli keeps user data (the REPL history): the platform's data directory."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return Path(base) / "gradcli"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "gradcli"
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                          "share")
    return Path(base) / "gradcli"


def history_path() -> Path | None:
    """GRADCLI_HISTORY overrides the file; set to an empty value it turns history off."""
    override = os.environ.get("GRADCLI_HISTORY")
    if override is not None:
        return Path(override) if override else None
    return data_dir() / "history"


# ----- completion ------------------------------------------------------------------------


def _namespace_members(session, dotted: list[str]):
    """Names after `a.b.` for a dotted prefix, without running anything a user wrote."""
    from gradcli.autodiff.node import AccumulateGrad, Node
    from gradcli.autodiff.tensor import Tensor
    from gradcli.sandbox.attributes import NODE_ATTRIBUTES, TENSOR_METHODS, TENSOR_PROPERTIES
    from gradcli.sandbox.scope import Namespace

    value = session.variables.get(dotted[0], session.runtime.scope.get(dotted[0]))
    for part in dotted[1:]:
        if isinstance(value, Namespace):
            value = value.members.get(part)
        elif isinstance(value, Tensor):
            # Reading .grad here would warn as the program's read does: look, don't touch.
            value = {"grad": value.grad, "grad_fn": value.grad_fn, "data": value,
                     "T": value, "mT": value}.get(part)
        elif isinstance(value, (Node, AccumulateGrad)) and part == "variable":
            value = getattr(value, "variable", None)
        else:
            return []
    if isinstance(value, Namespace):
        return [(name, "module" if isinstance(member, Namespace) else value.name)
                for name, member in value.members.items()]
    if isinstance(value, Tensor):
        return ([(name, "property") for name in TENSOR_PROPERTIES if not name.startswith("_")]
                + [(name, "method") for name in TENSOR_METHODS])
    if isinstance(value, (Node, AccumulateGrad)):
        return [(name, "grad_fn") for name in NODE_ATTRIBUTES]
    return []


def describe_value(value) -> str:
    from gradcli.autodiff.tensor import Tensor

    if isinstance(value, Tensor):
        dims = ", ".join(str(s) for s in value.shape)
        shape = "(" + dims + ("," if value.ndim == 1 else "") + ")"
        fn = value.grad_fn.name() if value.grad_fn is not None else "leaf"
        return f"tensor {shape} {value.dtype.name} {fn}"
    return type(value).__name__


def completions(session, text: str) -> tuple[int, list[tuple[str, str]]]:
    """For the text before the cursor: (length of the word being completed, candidates).

    Candidates are (completion, description), tensor variables first.
    """
    stripped = text.lstrip()
    if stripped.startswith(":"):
        command, _, argument = stripped.partition(" ")
        if not _:
            return len(command), [(m, "") for m in META_NAMES if m.startswith(command)]
        if command == ":graph":
            return len(argument), [(n, describe_value(v)) for n, v in session.variables.items()
                                   if n.startswith(argument) and describe_value(v)[:6] == "tensor"]
        if command in (":load", ":save"):
            return len(argument), _paths(argument)
        return 0, []
    match = re.search(r"([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*\.\s*(\w*)$", text)
    if match:
        dotted = [part.strip() for part in match.group(1).split(".")]
        prefix = match.group(2)
        members = _namespace_members(session, dotted)
        return len(prefix), sorted({(n, d) for n, d in members if n.startswith(prefix)},
                                   key=lambda item: (item[0].startswith("_"), item[0]))
    match = re.search(r"(?<![\w.])([A-Za-z_]\w*)$", text)
    prefix = match.group(1) if match else ""
    if not prefix:
        return 0, []
    found: list[tuple[str, str]] = []
    seen = set()
    variables = sorted(session.variables.items(),
                       key=lambda item: not describe_value(item[1]).startswith("tensor"))
    for name, value in variables:
        if name.startswith(prefix):
            found.append((name, describe_value(value)))
            seen.add(name)
    if _inside_call(text):
        for keyword in KEYWORD_ARGUMENTS:
            if keyword.startswith(prefix):
                found.append((keyword, "keyword"))
    for name in sorted(session.runtime.scope):
        if name.startswith(prefix) and name not in seen:
            found.append((name, "torch" if name not in _python_builtins() else "builtin"))
            seen.add(name)
    for word in STATEMENT_KEYWORDS:
        if word.startswith(prefix) and word not in seen:
            found.append((word, "keyword"))
    return len(prefix), found


def _python_builtins() -> frozenset:
    from gradcli.sandbox.scope import PYTHON_BUILTINS

    return frozenset(PYTHON_BUILTINS) | {"print", "torch", "F"}


def _inside_call(text: str) -> bool:
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
    return depth > 0


def _paths(argument: str) -> list[tuple[str, str]]:
    folder, _, stem = argument.rpartition("/")
    base = Path(os.path.expanduser(folder or ".")) if folder or not argument.startswith("/") \
        else Path("/")
    if argument.startswith("/") and not folder:
        base = Path("/")
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith(stem) and (not entry.name.startswith(".") or stem):
            text = (folder + "/" if folder or argument.startswith("/") else "") + entry.name
            if entry.is_dir():
                found.append((text + "/", "folder"))
            elif entry.suffix == ".expr" or stem:
                found.append((text, "program" if entry.suffix == ".expr" else "file"))
    return found


# ----- the REPL itself -------------------------------------------------------------------


class Repl:
    def __init__(self, session, color: bool, out=None, err=None, err_color: bool | None = None):
        self.session = session
        self.color = color
        self.err_color = color if err_color is None else err_color
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.trace = False
        self.done = False
        self.inputs = 0  # program inputs run so far: input [N] in messages, as IPython's In [N]
        self.failed = False  # an input raised: piped input exits 1

    # -- output --
    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def style(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if self.color else text

    # -- inputs --
    def handle(self, text: str, first_line: int | None = None) -> None:
        """One complete input: a meta-command or program text. Never raises. `first_line`:
        the stdin line the input starts on, when stdin is not a terminal; messages then
        name `<stdin>` and that line, as `gradcli eval -` would."""
        stripped = text.strip()
        if not stripped:
            return
        try:
            if stripped.startswith(":"):
                self.meta(stripped)
            else:
                self.inputs += 1
                if first_line is None:
                    name, offset = f"input [{self.inputs}]", 0
                else:
                    name, offset = "<stdin>", first_line - 1
                self.run_source(_dedent_trailing(text), name, echo=True, offset=offset,
                                number=self.inputs)
        except KeyboardInterrupt:
            self.warn("KeyboardInterrupt")
        except Exception as exc:  # noqa: BLE001 - a gradcli bug must not end the session
            if os.environ.get("GRADCLI_DEBUG"):
                import traceback

                traceback.print_exc()
            self.warn(f"gradcli: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                      "gradcli; please report it with the input that caused it.")

    def run_source(self, source: str, filename: str, echo: bool, offset: int = 0,
                   number: int | None = None) -> None:
        """Run program text; `offset`: lines before it in `filename` (piped stdin), added
        to the line numbers of its warnings and errors."""
        from gradcli.views.messages import format_error, format_warning

        views = None
        if self.trace:
            from gradcli.views.trace import make_views

            views = make_views(source, trace=True)
        # The loop-step budget (--max-steps) is per input, as it is per program for eval:
        # a long session never runs out of it.
        self.session.runtime.steps = 0
        outcome = self.session.execute(source, echo=echo,
                                       observer=views.tracer if views is not None else None,
                                       number=number)
        if views is not None and views.traces:
            # Each backward pass is shown where it ran, between the lines print() wrote.
            views.write(outcome.stdout, self.color, self.out)
            self.out.flush()
        elif outcome.stdout:
            self.write(outcome.stdout if outcome.stdout.endswith("\n") else outcome.stdout + "\n")
        shown = "\n" * offset + source  # line numbers of the whole stdin
        for warning in outcome.warnings:
            self.warn(format_warning(filename, shown, _shifted(warning, offset)))
        if outcome.error is not None:
            self.failed = True
        if outcome.error is not None and outcome.error.type == "KeyboardInterrupt":
            self.warn(f"KeyboardInterrupt (stopped before line {outcome.error.line}; the "
                      "statements before it ran)")
        elif outcome.error is not None:
            self.warn(format_error(filename, shown, _shifted(outcome.error, offset),
                                   color=self.err_color, scope=list(self.session.variables)))

    # -- meta-commands --
    def meta(self, line: str) -> None:
        command, _, argument = line.partition(" ")
        argument = argument.strip()
        if command in (":quit", ":exit", ":q"):
            self.done = True
        elif command == ":help":
            self.show_help()
        elif command == ":table":
            self.show_table()
        elif command == ":trace":
            self.trace = not self.trace
            self.write(f"trace {'on' if self.trace else 'off'}\n")
        elif command == ":graph":
            self.show_graph(argument)
        elif command == ":reset":
            self.session.reset()
            self.write("session reset: no variables\n")
        elif command == ":load":
            self.load(argument)
        elif command == ":save":
            self.save(argument)
        else:
            self.warn(f"unknown command {command!r}; :help lists the commands")

    def show_help(self) -> None:
        width = max(len(name) for name, _ in META_HELP)
        lines = ["Type statements as in a .expr file; an expression's value is shown.",
                 "A block (with/for/if) ends with an empty line.", ""]
        lines += [f"  {self.style(name.ljust(width), '1')}  {text}" for name, text in META_HELP]
        lines += ["", "Keys: Tab completes names, methods and variables; Up/Down and Ctrl-R "
                  "search history;", "Ctrl-C cancels the input or a running statement; "
                  "Ctrl-D leaves.", "The language: gradcli help language"]
        self.write("\n".join(lines) + "\n")

    def show_table(self) -> None:
        result = self.session.result(INPUT_NAME)
        if not result.tensors:
            self.write("(no tensors yet)\n")
            return
        from gradcli.cli.output import terminal_width
        from gradcli.views.table import table_text

        self.write(table_text(result, width=terminal_width(), color=self.color))

    def show_graph(self, name: str) -> None:
        from gradcli.autodiff.tensor import Tensor

        if not name:
            self.warn("usage: :graph NAME (a tensor variable)")
            return
        value = self.session.variables.get(name)
        if not isinstance(value, Tensor):
            what = "not defined" if value is None else f"a {type(value).__name__}, not a tensor"
            self.warn(f":graph: {name!r} is {what}")
            return
        self.write("\n".join(graph_lines(name, value, self.session.variables, self.style)) + "\n")

    def load(self, argument: str) -> None:
        from gradcli.sources.files import SourceError, decode_source

        if not argument:
            self.warn("usage: :load FILE")
            return
        path = os.path.expanduser(argument)
        try:
            with open(path, "rb") as handle:
                source = decode_source(handle.read())
        except OSError as exc:
            self.warn(f":load: cannot read '{argument}': {exc.strerror}")
            return
        except SourceError as exc:
            self.warn(f"{argument}:{exc.line}:{exc.column}: SyntaxError: {exc.message}")
            return
        self.run_source(source, argument, echo=False)

    def save(self, argument: str) -> None:
        if not argument:
            self.warn("usage: :save FILE")
            return
        program = self.session.program()
        path = os.path.expanduser(argument)
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(program)
        except OSError as exc:
            self.warn(f":save: cannot write '{argument}': {exc.strerror}")
            return
        lines = program.count("\n")
        self.write(f"saved {lines} line{'s' if lines != 1 else ''} to {argument}; "
                   f"run it with: gradcli eval {argument}\n")


def _dedent_trailing(text: str) -> str:
    """Drop the whitespace-only lines that ended a block."""
    lines = text.rstrip().split("\n")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def graph_lines(name: str, tensor, variables: dict, style) -> list[str]:
    """The backward graph below `tensor` as a tree; a node reached twice is shown once."""
    from gradcli.autodiff.node import AccumulateGrad
    from gradcli.autodiff.tensor import Tensor

    owners: dict[int, str] = {}  # id(node) -> variable whose tensor it produced or feeds
    for var, value in variables.items():
        if isinstance(value, Tensor):
            if value.grad_fn is not None:
                owners.setdefault(id(value.grad_fn), var)
            elif value.accumulator is not None:
                owners.setdefault(id(value.accumulator), var)
    root = tensor.grad_fn
    if root is None:
        kind = "a leaf that requires grad" if tensor.requires_grad else "a leaf without grad"
        return [f"{name}: {kind} (no grad_fn, no graph)"]
    lines = [f"{style(name, '1')} = {style(root.name(), '35')}"]
    seen: set[int] = set()
    stack = [(child, "", i == len(root.next_functions) - 1)
             for i, (child, _) in enumerate(root.next_functions)][::-1]
    seen.add(id(root))
    shown = 0
    while stack:
        node, prefix, last = stack.pop()
        branch = prefix + ("└── " if last else "├── ")
        if node is None:
            lines.append(branch + style("None", "2") + style("  (input that needs no grad)", "2"))
            continue
        shown += 1
        if shown > MAX_GRAPH_NODES:
            lines.append(prefix + "… (graph truncated)")
            break
        label = style(node.name(), "35")
        owner = owners.get(id(node))
        if isinstance(node, AccumulateGrad):
            label += f" → {style(owner, '1')}" if owner else ""
        elif owner:
            label += style(f"  ({owner})", "2")
        if id(node) in seen:
            lines.append(branch + label + style("  (shown above)", "2"))
            continue
        seen.add(id(node))
        lines.append(branch + label)
        children = node.next_functions
        inner = prefix + ("    " if last else "│   ")
        for i in range(len(children) - 1, -1, -1):
            stack.append((children[i][0], inner, i == len(children) - 1))
    return lines


# ----- front ends ------------------------------------------------------------------------


def prompt_toolkit_loop(repl: Repl, history: Path | None) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.lexers import PygmentsLexer
    from prompt_toolkit.styles import style_from_pygments_dict

    from gradcli.runtime.session import is_complete
    from gradcli.views.highlight import TERMINAL_COLORS, ExprLexer

    class ReplCompleter(Completer):
        def get_completions(self, document, complete_event):
            length, found = completions(repl.session, document.text_before_cursor)
            for text, meta in found:
                yield Completion(text, start_position=-length, display_meta=meta)

    bindings = KeyBindings()

    @Condition
    def at_line_start() -> bool:
        from prompt_toolkit.application import get_app

        before = get_app().current_buffer.document.current_line_before_cursor
        return before.strip() == ""

    @bindings.add("tab", filter=at_line_start)
    def _indent(event):
        event.current_buffer.insert_text(INDENT)

    @bindings.add("enter")
    def _enter(event):
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        text = buffer.document.text
        at_end = not buffer.document.text_after_cursor.strip()
        if at_end and (text.lstrip().startswith(":") or is_complete(text)):
            cleaned = text.rstrip()
            if cleaned != text:  # the empty line that ended a block stays out of history
                buffer.text = cleaned
            buffer.validate_and_handle()
            return
        line = buffer.document.current_line_before_cursor
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith(":"):
            indent += INDENT
        buffer.insert_text("\n" + indent)

    def continuation(width, line_number, is_soft_wrap):
        return CONTINUATION.rjust(width)

    if history is not None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            store = FileHistory(str(history))
        except OSError:
            store = InMemoryHistory()
    else:
        store = InMemoryHistory()
    styles = {token: "ansi" + normal for token, (normal, _) in TERMINAL_COLORS.items() if normal}
    prompt = PromptSession(
        history=store,
        lexer=PygmentsLexer(ExprLexer) if repl.color else None,
        style=style_from_pygments_dict(styles) if repl.color else None,
        include_default_pygments_style=False,
        completer=ReplCompleter(),
        complete_while_typing=False,
        auto_suggest=AutoSuggestFromHistory(),
        multiline=True,
        key_bindings=bindings,
        prompt_continuation=continuation,
        color_depth=None if repl.color else _monochrome(),
        enable_history_search=False,
    )
    while not repl.done:
        try:
            text = prompt.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        repl.handle(text)


def _monochrome():
    from prompt_toolkit.output.color_depth import ColorDepth

    return ColorDepth.MONOCHROME


def simple_loop(repl: Repl, history: Path | None, interactive: bool) -> None:
    """Plain lines: readline editing on a terminal, none for piped input."""
    from gradcli.runtime.session import is_complete

    readline = None
    if interactive:
        try:
            import readline as _readline

            readline = _readline
        except ImportError:  # Windows without pyreadline
            readline = None
    if readline is not None:
        _setup_readline(readline, repl, history)
    pending: list[str] = []
    read = 0  # stdin lines read (piped input)
    start = None  # the stdin line the pending input starts on
    try:
        while not repl.done:
            prompt = (CONTINUATION if pending else PROMPT) if interactive else ""
            try:
                line = input(prompt) if interactive else _read_line()
                read += 1
                if not pending:
                    start = None if interactive else read
            except KeyboardInterrupt:
                pending = []
                sys.stdout.write("\n")
                continue
            except EOFError:
                if pending:
                    repl.handle("\n".join(pending) + "\n", start)
                break
            if not pending and line.strip().startswith(":"):
                repl.handle(line)
                continue
            if not pending and not line.strip():
                continue  # a blank line between inputs
            pending.append(line)
            text = "\n".join(pending)
            if is_complete(text) and not (len(pending) == 1 and _opens_block(line)):
                pending = []
                repl.handle(text + "\n", start)
    finally:
        if readline is not None and history is not None:
            try:
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(str(history))
            except OSError:
                pass


def _shifted(record, offset: int):
    """A warning or error record with its lines moved down by `offset`."""
    if not offset or not getattr(record, "line", None):
        return record
    import copy

    moved = copy.copy(record)
    moved.line += offset
    if getattr(moved, "end_line", None):
        moved.end_line += offset
    return moved


def _opens_block(line: str) -> bool:
    from gradcli.runtime.session import _code_part

    return _code_part(line).rstrip().endswith(":")


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _setup_readline(readline, repl: Repl, history: Path | None) -> None:
    state: dict = {}

    def complete(text, index):
        if index == 0:
            before = readline.get_line_buffer()[: readline.get_endidx()]
            length, found = completions(repl.session, before)
            stem = before[len(before) - length:] if length else ""
            # readline replaces the word it delimited (`text`); keep what precedes `stem`.
            head = text[: len(text) - len(stem)] if text.endswith(stem) else ""
            state["found"] = [head + name for name, _ in found]
        found = state.get("found", [])
        return found[index] if index < len(found) else None

    readline.set_completer_delims(" \t\n()[],=+-*/%@<>!&|^~;:")
    readline.set_completer(complete)
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    if history is not None:
        try:
            readline.read_history_file(str(history))
        except OSError:
            pass


# ----- the command ------------------------------------------------------------------------


@click.command("repl", epilog=examples("gradcli repl", "gradcli repl --load prog.expr",
                                      "gradcli repl < inputs.txt"))
@seed_option
@color_options
@click.option("--max-steps", type=click.IntRange(1), default=None,
              help="Loop-iteration budget for each input (default 10,000,000).")
@click.option("--simple", is_flag=True,
              help="Plain line editing (readline), no highlighting or completion menu.")
@click.option("--no-history", is_flag=True, help="Neither read nor write the history file.")
@click.option("-l", "--load", "load_file", metavar="FILE", default=None,
              help="Run FILE in the session first.")
def command(seed, color_mode, no_color, max_steps, simple, no_history, load_file):
    """Interactive session: the same language, one input at a time.

    History is kept in the user's data directory ($XDG_DATA_HOME/gradcli/history,
    ~/.local/share/gradcli/history by default; GRADCLI_HISTORY overrides). Type :help for
    the meta-commands (:table, :trace, :graph NAME, :reset, :load FILE, :save FILE).
    """
    from gradcli.runtime.session import Session

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    color_mode = color_choice(color_mode, no_color)
    color = color_enabled(color_mode, sys.stdout)
    from gradcli.base.budget import Limits

    limits = Limits()
    if max_steps is not None:
        limits.max_steps = max_steps
    repl = Repl(Session(seed=seed, limits=limits), color,
                err_color=color_enabled(color_mode, sys.stderr))
    history = None if no_history else history_path()
    if interactive:
        sys.stdout.write("gradcli repl: PyTorch autograd on numpy. :help for commands, "
                         "Ctrl-D to leave.\n")
    if load_file:
        repl.load(load_file)
    use_toolkit = interactive and not simple and os.environ.get("TERM") != "dumb"
    if use_toolkit:
        try:
            import prompt_toolkit  # noqa: F401
        except ImportError:
            use_toolkit = False
    if use_toolkit:
        prompt_toolkit_loop(repl, history)
    else:
        simple_loop(repl, history, interactive)
    if repl.failed and not interactive:
        sys.exit(ExitStatus.PROGRAM_ERROR)  # `gradcli repl < inputs.txt`: an input failed


__all__ = ["command", "completions", "graph_lines"]
