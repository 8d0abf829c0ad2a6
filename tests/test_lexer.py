"""The Pygments lexer for `.expr` and where highlighting shows (and where it must not)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from gradcli.views.highlight import ExprLexer, highlight, strip_ansi
from gradcli.views.terminal import color_enabled

ROOT = Path(__file__).resolve().parent.parent
ANSI = "\x1b["

# Every construct of SPEC §1.1-§1.3, and a valid program (checked below).
EVERY_CONSTRUCT = '''"""A docstring."""
import torch
import torch.nn.functional as F
from IPython.display import display, Math
a = torch.tensor([1.0, -2.5, 1e-3], dtype=float64, requires_grad=True)  # a leaf
b, c = a[0], a[1:3:1]
d = e = 0x1F + 0b1 + 0o7 + .5
w = zeros(3, dtype=torch.float32); w.requires_grad = True
with torch.no_grad():
    w += 2 * a.detach().float()
for i in range(2):
    if i == 0 and not False or None is not None:
        pass
    elif i in [1, 2]:
        loss = (w ** 2).sum() / 3 // 1 % 5 @ None if False else F.mse_loss(w, w * 0.5)
    else:
        pass
loss.backward(retain_graph=True)
s = f"{a.grad=} {loss.item():.4f} {{literal}}" + 'single' + r'\\raw'
m = a[..., None][a > 0] if a.grad is not None else [x for x in range(3) if x]
t = a.grad_fn; u = w.grad; v = w.unknown_attribute if False else \\
    1
'''


def tokens(source: str):
    return list(ExprLexer().get_tokens(source))


def test_every_construct_is_valid_gradcli():
    from gradcli.runtime.interpreter import run

    result = run(EVERY_CONSTRUCT, "every.expr")
    assert result.error is None, result.error


def test_tokens_round_trip_and_never_error():
    found = tokens(EVERY_CONSTRUCT)
    assert "".join(value for _, value in found) == EVERY_CONSTRUCT
    assert not [pair for pair in found if pair[0] in Error]


@pytest.mark.parametrize(("token", "value"), [
    (String.Doc, '"""'),
    (Keyword.Namespace, "import"),
    (Keyword.Namespace, "from"),
    (Name.Namespace, "torch"),
    (Name.Namespace, "F"),
    (Keyword, "as"),
    (Keyword, "with"),
    (Keyword, "for"),
    (Keyword, "if"),
    (Keyword, "elif"),
    (Keyword, "else"),
    (Keyword, "pass"),
    (Operator.Word, "and"),
    (Operator.Word, "not"),
    (Operator.Word, "or"),
    (Operator.Word, "is"),
    (Operator.Word, "in"),
    (Keyword.Constant, "True"),
    (Keyword.Constant, "False"),
    (Keyword.Constant, "None"),
    (Keyword.Constant, "..."),
    (Keyword.Type, "float64"),
    (Keyword.Type, "float32"),
    (Name.Function, "tensor"),
    (Name.Builtin, "zeros"),
    (Name.Builtin, "range"),
    (Name.Function, "no_grad"),
    (Name.Function, "detach"),
    (Name.Function, "backward"),
    (Name.Function, "mse_loss"),
    (Name.Function, "item"),
    (Name.Attribute, "grad"),
    (Name.Attribute, "grad_fn"),
    (Name.Attribute, "requires_grad"),
    (Name, "w"),
    (Name, "loss"),
    (Name, "unknown_attribute"),
    (Number.Float, "1.0"),
    (Number.Float, "1e-3"),
    (Number.Float, ".5"),
    (Number.Integer, "2"),
    (Number.Hex, "0x1F"),
    (Number.Bin, "0b1"),
    (Number.Oct, "0o7"),
    (Operator, "="),
    (Operator, "+="),
    (Operator, "**"),
    (Operator, "//"),
    (Operator, "%"),
    (Operator, "@"),
    (Operator, "=="),
    (Operator, ">"),
    (Punctuation, "["),
    (Punctuation, ":"),
    (Punctuation, ";"),
    (Comment.Single, "# a leaf"),
    (String.Affix, "f"),
    (String.Affix, "r"),
    (String.Interpol, "{"),
    (String.Interpol, "="),
    (String.Interpol, ":.4f"),
    (String.Escape, "{{"),
    (String.Single, "single"),
    (Whitespace, "\n"),
])  # fmt: skip
def test_token_kinds(token, value):
    assert (token, value) in tokens(EVERY_CONSTRUCT)


def test_names_inside_fstring_fields_are_lexed_as_code():
    found = tokens('f"{a.grad=} {x[0:2]}"\n')
    assert (Name.Attribute, "grad") in found
    assert (Punctuation, "[") in found and (Number.Integer, "0") in found


def test_unterminated_string_does_not_swallow_the_next_line():
    found = tokens("s = 'open\nx = 1\n")
    assert (Name, "x") in found and (Number.Integer, "1") in found


def test_registered_as_a_pygments_plugin():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert isinstance(get_lexer_by_name("expr"), ExprLexer)
    assert isinstance(get_lexer_for_filename("program.expr"), ExprLexer)


# ----- highlighting on and off ---------------------------------------------------------------


def test_highlight_adds_colour_only_when_asked():
    line = "w = torch.tensor([1.0], requires_grad=True)"
    assert highlight(line, False) == line
    coloured = highlight(line, True)
    assert ANSI in coloured and strip_ansi(coloured) == line


class FakeStream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_color_modes(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert color_enabled("auto", FakeStream(True)) is True
    assert color_enabled("auto", FakeStream(False)) is False  # not a TTY
    assert color_enabled("never", FakeStream(True)) is False
    assert color_enabled("always", FakeStream(False)) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_enabled("auto", FakeStream(True)) is False
    assert color_enabled("always", FakeStream(True)) is True  # an explicit flag wins
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert color_enabled("auto", FakeStream(True)) is False


def env(**extra) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), **extra)
    return base


def run_gradcli(args, cwd, tty: bool = False, **extra) -> tuple[int, str, str]:
    """gradcli with stdout and stderr on a pipe, or both on one pseudo-terminal."""
    command = [sys.executable, "-m", "gradcli", *args]
    if not tty:
        done = subprocess.run(command, cwd=cwd, env=env(**extra), capture_output=True,
                              text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, cwd=cwd, env=env(**extra), stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace"), ""


ERROR_PROGRAM = "x = tensor([1.0, 2.0], requires_grad=True)\ny = x * 2\ny.backward()\n"


@pytest.mark.parametrize("command", ["show", "eval"])
def test_not_a_tty_means_no_colour(tmp_path, command):
    (tmp_path / "p.expr").write_text(ERROR_PROGRAM)
    code, out, err = run_gradcli([command, "p.expr"], tmp_path)
    assert code == 1
    assert "y.backward()" in err and ANSI not in out and ANSI not in err


@pytest.mark.parametrize("command", ["show", "eval"])
def test_no_color_on_a_terminal_means_no_colour(tmp_path, command):
    (tmp_path / "p.expr").write_text(ERROR_PROGRAM)
    code, out, _ = run_gradcli([command, "p.expr"], tmp_path, tty=True, NO_COLOR="1")
    assert code == 1 and "y.backward()" in out and ANSI not in out
    code, out, _ = run_gradcli([command, "p.expr", "--color", "never"], tmp_path, tty=True)
    assert code == 1 and "y.backward()" in out and ANSI not in out


@pytest.mark.parametrize("command", ["show", "eval"])
def test_a_terminal_gets_the_offending_line_highlighted(tmp_path, command):
    (tmp_path / "p.expr").write_text(ERROR_PROGRAM)
    code, out, _ = run_gradcli([command, "p.expr"], tmp_path, tty=True)
    assert code == 1
    # The error names the type in bold red; the source line is highlighted, the caret red.
    assert "\x1b[1;31mRuntimeError\x1b[0m" in out
    assert "\x1b[1;31m^" in out  # the caret (a CPython 3.11 span: ^^^^ in red)
    error_part = out[out.index("RuntimeError"):]
    assert ANSI + "34mbackward" in error_part
    assert strip_ansi(error_part).replace("\r", "").splitlines()[1:3] == [
        "    y.backward()", "    ^^^^^^^^^^^^"]


def test_color_always_through_a_pipe(tmp_path):
    (tmp_path / "p.expr").write_text(ERROR_PROGRAM)
    code, out, err = run_gradcli(["eval", "p.expr", "--color", "always"], tmp_path)
    assert code == 1 and ANSI in out and ANSI in err
    code, out, err = run_gradcli(["show", "p.expr", "--color", "always"], tmp_path)
    assert code == 1 and ANSI in out and ANSI in err


def test_show_annotates_each_line_with_the_tensors_it_bound(tmp_path):
    program = (
        "import torch\n"
        "a = torch.tensor([2.0, 3.0], requires_grad=True)\n"
        "b = torch.tensor([6.0, 4.0])\n"
        "for i in range(3):\n"
        "    q = a * b + i\n"
        "v, k = q.max(dim=0)\n"
        "q.sum().backward()\n"
    )
    (tmp_path / "p.expr").write_text(program)
    code, out, err = run_gradcli(["show", "p.expr"], tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 7
    assert lines[0] == "1 │ import torch"
    assert lines[1].endswith("← a: (2,) float32 leaf requires_grad")
    assert lines[2].endswith("← b: (2,) float32 leaf")
    assert lines[3] == "4 │ for i in range(3):"
    assert lines[4].endswith("← q: (2,) float32 AddBackward0 (×3, last shown)")
    assert lines[5].endswith("← v: () float32 MaxBackward0; k: () int64 leaf")
    assert lines[6] == "7 │ q.sum().backward()"
    # the notes line up in one column
    assert len({line.index("←") for line in lines[1:3]} | {lines[4].index("←")}) == 1


def test_show_marks_the_failing_line_and_exits_1(tmp_path):
    (tmp_path / "p.expr").write_text(ERROR_PROGRAM + "z = x + 1\n")
    code, out, err = run_gradcli(["show", "p.expr"], tmp_path)
    assert code == 1
    assert out.splitlines()[2].endswith("← ✗ failed here")
    assert out.splitlines()[3] == "4 │ z = x + 1"  # never ran: no note
    assert err.startswith("p.expr:3:1: RuntimeError: grad can be implicitly created")


def test_show_syntax_error_exits_3(tmp_path):
    (tmp_path / "p.expr").write_text("a = (1,\n")
    code, out, err = run_gradcli(["show", "p.expr"], tmp_path)
    assert code == 3 and out == "" and "SyntaxError" in err
