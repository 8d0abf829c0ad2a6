"""`gradcli repl` (and the Session under it), driven as a person would: through a
pseudo-terminal, with keystrokes, reading what the terminal receives.

The pty tests run `python -m gradcli repl` with the pty as its controlling terminal (so
Ctrl-C is a real SIGINT) and PROMPT_TOOLKIT_NO_CPR=1 (no terminal answers the cursor
position request here). Waits are bounded by a generous timeout; nothing asserts speed.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from gradcli.runtime.session import Session, is_complete

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")
COLOR_SGR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|9[0-7]|38;5;\d+)m")


def clean_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "GRADCLI_DEBUG", "GRADCLI_HISTORY")}
    env.update(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="100", LINES="40",
               XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def plain(text: str) -> str:
    return CSI.sub("", text).replace("\r", "")


class Terminal:
    """A child process on a pseudo-terminal, with expect-style reading."""

    def __init__(self, args, env, cwd=None, rows=40, cols=100):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def controlling_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            # A terminal's Ctrl-C must reach the repl even when this test run was started
            # with SIGINT ignored (`nohup`, `cmd &` in a script): children inherit that.
            signal.signal(signal.SIGINT, signal.SIG_DFL)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gradcli", *args], stdin=slave, stdout=slave, stderr=slave,
            env=env, cwd=cwd, preexec_fn=controlling_terminal, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.raw = ""  # everything received
        self.pending = ""  # received and not yet consumed by expect()

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        text = data.decode("utf-8", errors="replace")
        self.raw += text
        self.pending += text
        return True

    def expect(self, pattern: str) -> str:
        """Consume output up to and including `pattern` (plain text, colours removed)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            visible = plain(self.pending)
            index = visible.find(pattern)
            if index >= 0:
                # Drop the consumed part of the raw text: up to the match in the plain view.
                self.pending = _after_plain_prefix(self.pending, index + len(pattern))
                return visible[: index + len(pattern)]
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(
                    f"did not see {pattern!r}; the terminal shows:\n{plain(self.raw)[-3000:]}"
                )

    def prompt(self) -> str:
        """Wait for a new `>>>` prompt (one that starts a line: not a redraw of the input)."""
        return self.expect("\n>>>")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def line(self, text: str) -> None:
        self.send(text + "\r")

    def finish(self) -> int:
        """Ctrl-D; call it at a prompt (a ^D typed while a statement runs is lost)."""
        self.send("\x04")
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(min(deadline, time.monotonic() + 0.2))
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
            os.close(self.master)
            raise AssertionError(f"Ctrl-D did not end the session; the terminal shows:\n"
                                 f"{self.raw[-1500:]!r}")
        code = self.proc.wait(timeout=TIMEOUT)
        os.close(self.master)
        return code


def _after_plain_prefix(raw: str, count: int) -> str:
    """The rest of `raw` after the part whose plain form has `count` characters."""
    seen = 0
    i = 0
    while i < len(raw) and seen < count:
        match = CSI.match(raw, i)
        if match:
            i = match.end()
            continue
        if raw[i] != "\r":
            seen += 1
        i += 1
    return raw[i:]


def table_rows(text: str) -> list[str]:
    return [" ".join(line.split()) for line in plain(text).splitlines() if "float32" in line]


def run_eval(*args, env) -> subprocess.CompletedProcess:
    """`gradcli eval` in the test's directory (XDG_DATA_HOME's parent)."""
    return subprocess.run([sys.executable, "-m", "gradcli", "eval", *args], env=env,
                          cwd=Path(env["XDG_DATA_HOME"]).parent, capture_output=True,
                          text=True, timeout=TIMEOUT)


@pytest.fixture
def repl(tmp_path):
    terminals = []

    def start(*args, **env):
        terminal = Terminal(["repl", *args], clean_env(tmp_path, **env), cwd=tmp_path)
        terminal.prompt()
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        if terminal.proc.poll() is None:
            terminal.proc.kill()
            terminal.proc.wait()


# ----- through a pseudo-terminal (prompt_toolkit) ------------------------------------------


def test_block_error_table_and_save_then_eval_gives_the_same_tensors(repl, tmp_path):
    term = repl("--color", "never")
    term.line("x = tensor([1.0, 2.0], requires_grad=True)")
    term.prompt()
    # A multi-line block: continuation prompts, auto-indent, an empty line ends it.
    term.line("for i in range(2):")
    term.expect("\n...")
    term.line("y = (x * x).sum()")
    term.expect("\n...")
    term.line("y.backward()")
    term.expect("\n...")
    term.line("")
    term.prompt()
    term.line("x.grad")
    term.expect("tensor([4., 8.])")
    term.prompt()
    term.line("with torch.no_grad():")
    term.line("z = x * 3")
    term.line("")
    term.prompt()
    # An error: reported with PyTorch's message, and the session goes on.
    term.line("y.backward()")
    shown = term.prompt()
    # Inputs are numbered as IPython numbers them (issue 11 item 13): this is the fifth.
    assert "input [5]:1:1: RuntimeError: Trying to backward through the graph a second time" \
        in shown
    assert "    y.backward()" in shown
    term.line("print('still here', x.requires_grad)")
    term.expect("still here True")
    term.prompt()
    term.line(":table")
    table = term.prompt()
    rows = table_rows(table)
    assert [row.split()[0] for row in rows] == ["x", "y", "z"]
    assert "SumBackward0" in rows[1] and "[4., 8.]" in rows[0]
    term.line(":save session.expr")
    term.expect("saved")
    term.prompt()
    assert term.finish() == 0

    saved = (tmp_path / "session.expr").read_text()
    assert "for i in range(2):\n    y = (x * x).sum()\n    y.backward()\n" in saved
    assert "# failed: RuntimeError: Trying to backward" in saved
    result = run_eval("session.expr", "--color", "never", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout) == rows
    document = json.loads(run_eval("session.expr", "--format", "json",
                                   env=clean_env(tmp_path)).stdout)
    by_name = {t["name"]: t for t in document["tensors"]}
    assert by_name["x"]["grad"] == [4.0, 8.0] and by_name["z"]["requires_grad"] is False


def test_errors_of_every_kind_leave_the_session_running(repl):
    term = repl("--color", "never")
    term.line("a = tensor([1.0, 2.0])")
    term.prompt()
    for text, message in (
        ("b = a +* 2", "SyntaxError"),
        ("c = undefined_name * 2", "NameError: name 'undefined_name' is not defined"),
        ("a.foo", "AttributeError: 'Tensor' object has no attribute 'foo'"),
        ("a.add_(1); a[5]", "IndexError"),
        (":graph nothing", ":graph: 'nothing' is not defined"),
        (":load missing.expr", ":load: cannot read 'missing.expr'"),
        (":bogus", "unknown command ':bogus'"),
    ):
        term.line(text)
        term.expect(message)
        term.prompt()
    term.line("a")
    term.expect("tensor([2., 3.])")  # the add_ before the failing index ran
    term.prompt()
    assert term.finish() == 0


def test_ctrl_c_stops_a_running_loop_and_the_session_continues(repl):
    term = repl("--color", "never")
    term.line("x = tensor([1.0])")
    term.prompt()
    term.line("for i in range(10**7):")
    term.line("y = x * 2")
    term.line("")
    time.sleep(0.5)  # let the loop start; only ordering matters, not speed
    term.send("\x03")
    term.expect("KeyboardInterrupt")
    term.prompt()
    term.line("print('alive')")
    term.expect("alive")
    term.prompt()
    assert term.finish() == 0


def test_tab_completes_methods_and_tensor_variables(repl):
    term = repl("--color", "never")
    term.line("weights = tensor([[1.0, 2.0]])")
    term.prompt()
    term.send("wei\t")  # one candidate: the tensor variable
    term.expect("weights")
    term.send(".unsq\t")  # one candidate: the method
    term.expect(".unsqueeze")
    term.line("(0).shape")
    shown = term.expect("torch.Size([1, 1, 2])")
    assert "weights.unsqueeze(0).shape" in shown
    term.prompt()
    term.send("torch.nn.functional.cross_en\t")
    term.expect("cross_entropy")
    term.line("")
    term.expect("<function")  # the bare function object echoes
    term.prompt()
    assert term.finish() == 0


def test_meta_commands_graph_trace_reset_load(repl, tmp_path):
    (tmp_path / "prog.expr").write_text("a = tensor(2.0, requires_grad=True)\nb = a * a\n")
    term = repl("--color", "never")
    term.line(":help")
    term.expect(":save FILE")
    term.prompt()
    term.line(":load prog.expr")
    term.prompt()
    term.line("c = b.exp()")
    term.prompt()
    term.line(":graph c")
    graph = term.prompt()
    assert "c = ExpBackward0" in graph and "MulBackward0  (b)" in graph
    assert "AccumulateGrad → a" in graph
    term.line(":trace")
    term.expect("trace on")
    term.prompt()
    term.line("c.backward()")
    trace = term.prompt()
    assert trace.index("ExpBackward0") < trace.index("MulBackward0")
    term.line("a.grad")
    term.expect("tensor(")
    term.prompt()
    term.line(":reset")
    term.expect("no variables")
    term.prompt()
    term.line("a")
    term.expect("NameError: name 'a' is not defined")
    term.prompt()
    assert term.finish() == 0


def test_history_is_kept_in_the_data_directory(repl, tmp_path):
    term = repl("--color", "never")
    term.line("h = tensor([3.0])")
    term.prompt()
    assert term.finish() == 0
    history = (tmp_path / "data" / "gradcli" / "history").read_text()
    assert "+h = tensor([3.0])" in history
    # The next session finds it: Up recalls the line.
    term = repl("--color", "never")
    term.send("\x1b[A")
    term.line("")
    term.prompt()
    term.line("h")
    term.expect("tensor([3.])")
    term.prompt()
    assert term.finish() == 0


def test_highlighting_as_you_type_and_no_color(repl):
    term = repl()  # colour: auto, and stdout is a terminal
    term.send("x = tensor([1.0])")
    term.expect("tensor([1.0])")
    assert re.search(COLOR_SGR.pattern + "tensor", term.raw)
    term.line("")
    term.prompt()
    assert term.finish() == 0

    term = repl(NO_COLOR="1")
    term.send("x = tensor([1.0])")
    term.expect("tensor([1.0])")
    term.line("")
    term.prompt()
    term.line("x.foo")
    term.expect("AttributeError")
    term.prompt()
    assert term.finish() == 0
    assert not COLOR_SGR.search(term.raw)


def test_simple_front_end_through_a_terminal(repl):
    term = repl("--simple", "--color", "never")
    term.line("x = tensor([1.0, 2.0], requires_grad=True)")
    term.prompt()
    term.line("with no_grad():")
    term.expect("\n...")
    term.line("    y = x * 2")
    term.expect("\n...")
    term.line("")
    term.prompt()
    term.line("y.requires_grad")
    term.expect("False")
    term.prompt()
    assert term.finish() == 0


# ----- piped input (no terminal) -----------------------------------------------------------


def test_piped_session_and_saved_program(tmp_path):
    script = "\n".join([
        "w = tensor([1.0, -2.0], requires_grad=True)",
        "for step in range(3):",
        "    loss = (w ** 2).sum()",
        "    loss.backward()",
        "    with no_grad():",
        "        w -= 0.1 * w.grad",
        "    w.grad = None",
        "",
        "w.sum().backward(); w.grad.backward()",  # the second call fails
        ":table",
        ":save saved.expr",
        "print(w)",
    ]) + "\n"  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "gradcli", "repl"], input=script, text=True,
                          capture_output=True, env=clean_env(tmp_path), cwd=tmp_path,
                          timeout=TIMEOUT)
    assert done.returncode == 1, done.stderr  # an input failed (issue 11 item 13)
    # Positions are stdin's: the failing input is line 9, `w.grad.backward()` column 21.
    assert "<stdin>:9:21: RuntimeError: element 0 of tensors does not require grad" \
        in done.stderr
    assert "tensor([ 0.5120, -1.0240], requires_grad=True)" in done.stdout
    saved = (tmp_path / "saved.expr").read_text()
    assert "w.sum().backward()\n# failed: RuntimeError" in saved
    result = run_eval("saved.expr", "--format", "json", env=clean_env(tmp_path))
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert [t["name"] for t in document["tensors"]] == ["w", "loss"]
    assert document["tensors"][0]["grad"] == [1.0, 1.0]  # from the statement that ran
    assert table_rows(done.stdout) == table_rows(run_eval("saved.expr", env=clean_env(
        tmp_path)).stdout)


# ----- the Session API ---------------------------------------------------------------------


def test_session_keeps_variables_and_echoes_values():
    session = Session()
    assert session.execute("a = tensor([1.0, 2.0], requires_grad=True)").ok
    outcome = session.execute("b = (a * 3).sum(); b.backward(); a.grad", echo=True)
    assert outcome.echoes == ["tensor([3., 3.])"]
    assert session.execute("None", echo=True).echoes == []
    outcome = session.execute("a.grad.foo")
    assert outcome.error.type == "AttributeError" and outcome.error.line == 1
    assert [r.name for r in session.tensors()] == ["a", "b"]
    session.reset()
    assert session.tensors() == [] and session.history == []


def test_session_warns_again_for_a_new_input():
    session = Session()
    session.execute("a = tensor([1.0], requires_grad=True); b = a * 2")
    first = session.execute("b.grad")
    second = session.execute("b.grad")
    assert len(first.warnings) == 1 and len(second.warnings) == 1


def test_program_keeps_completed_statements_and_comments_failures():
    session = Session()
    session.execute("a = tensor([1.0, 2.0], requires_grad=True)")
    session.execute("b = a * 2; b.backward(); c = 1")
    session.execute("d = (")
    session.execute("e = a.sum()\n")
    assert session.program() == (
        "a = tensor([1.0, 2.0], requires_grad=True)\n"
        "b = a * 2\n"
        "# failed: RuntimeError: grad can be implicitly created only for scalar outputs\n"
        "# b.backward(); c = 1\n"
        "# failed: SyntaxError: '(' was never closed\n"
        "# d = (\n"
        "e = a.sum()\n"
    )


@pytest.mark.parametrize(("text", "complete"), [
    ("x = 1", True),
    ("", True),
    ("with no_grad():", False),
    ("with no_grad():\n    y = x * 2", False),
    ("with no_grad():\n    y = x * 2\n", True),
    ("for i in range(3):  # a comment", False),
    ("y = f(1,", False),
    ("y = [1,\n 2]", True),
    ("s = '''doc", False),
    ("s = 'a:'", True),
    ("x = 1 + \\", False),
    ("x[1:]", True),
])  # fmt: skip
def test_is_complete(text, complete):
    assert is_complete(text) is complete
