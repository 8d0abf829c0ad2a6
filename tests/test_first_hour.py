"""Issue 11, "A newcomer's first hour": usage mistakes, pager, stderr, help, check --of.

(The table at terminal widths is tests/test_table_widths.py; JSON/JSONL shapes are in
tests/test_shell.py; partials and LaTeX values in tests/test_trace.py; the README's shown
commands in tests/test_readme.py.)"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradcli.runtime.gradcheck import check

ROOT = Path(__file__).resolve().parent.parent


def env(**extra) -> dict:
    base = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "GRADCLI_DEBUG",
                         "COLUMNS", "LINES", "PAGER", "LESS")}
    base["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    base.update(extra)
    return base


def gradcli(*args, cwd=None, input: str = "", **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcli", *map(str, args)], input=input,
                          capture_output=True, text=True, cwd=cwd or ROOT, env=env(**extra),
                          timeout=60)


@pytest.fixture
def programs(tmp_path):
    files = {
        "two.expr": "a = tensor(2.0, requires_grad=True)\nb = tensor(3.0, requires_grad=True)\n"
                    "L1 = a*b\nL2 = a+b\nL2.backward()\n",
        "rand.expr": "x = rand(2)\n",
        "var.expr": "x = tensor([1.0], requires_grad=True)\nv = x.var()\ns = x.std()\n"
                    "m = tensor([]).mean()\nk = torch.zeros(0, 3).mean(dim=0)\n"
                    "e = torch.zeros(0, requires_grad=True)\nl = F.mse_loss(e, e)\n"
                    "l.backward()\nprint(v, m)\n",
        "ok.expr": "w = tensor([1.0, 2.0], requires_grad=True)\nL = (w * w).sum()\n"
                   "L.backward()\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


# ----- every usage mistake exits 2 with a message (items 3, 4, 6, 10, 12) ----------------------

USAGE_MISTAKES = [
    ("check", "two.expr", "--eps", "0"),
    ("check", "two.expr", "--eps", "-1"),
    ("check", "two.expr", "--atol", "-1"),
    ("check", "two.expr", "--rtol", "-0.5"),
    ("check", "two.expr", "--of", "nosuch"),
    ("check", "two.expr", "--wrt", "nosuch"),
    ("check", "two.expr", "--of", "a"),  # a leaf
    ("check", "two.expr", "--wrt", "L1"),  # not a leaf
    ("check", "two.expr", "--seed", "-1"),
    ("check", "two.expr", "--color", "always", "--no-color"),
    ("eval", "ok.expr", "--set", "z=3"),
    ("eval", "rand.expr", "--seed", "-1"),
    ("eval", "ok.expr", "-q", "--format", "tsv"),
    ("eval", "ok.expr", "-q", "--format", "latex"),
    ("eval", "ok.expr", "-q", "--format", "json"),
    ("eval", "ok.expr", "--trace-values", "full"),
    ("eval", "ok.expr", "--color", "always", "--no-color"),
    ("graph", "ok.expr", "--root", "nosuch"),
    ("graph", "ok.expr", "--color", "always", "--no-color"),
    ("graph", "ok.expr", "--seed", "-1"),
    ("show", "ok.expr", "--color", "always", "--no-color"),
    ("show", "ok.expr", "--seed", "-1"),
    ("help", "language", "--color", "always", "--no-color"),
    ("ok.expr",),  # a program where a command goes
]


@pytest.mark.parametrize("args", USAGE_MISTAKES, ids=" ".join)
def test_every_usage_mistake_exits_2_with_a_message(programs, args):
    done = gradcli(*args, cwd=programs)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Error: " in done.stderr and "Traceback" not in done.stderr


def test_the_usage_messages_say_what_to_do(programs):
    assert "gradcli eval ok.expr" in gradcli("ok.expr", cwd=programs).stderr
    assert "a is a leaf" in gradcli("check", "two.expr", "--of", "a", cwd=programs).stderr
    assert "L1 is not a leaf" in gradcli("check", "two.expr", "--wrt", "L1",
                                         cwd=programs).stderr
    assert "--set z" in gradcli("eval", "ok.expr", "--set", "z=3", cwd=programs).stderr
    assert "add --trace" in gradcli("eval", "ok.expr", "--trace-values", "full",
                                    cwd=programs).stderr


def test_check_on_a_closed_pipe_exits_0(programs):
    done = subprocess.run(f"{sys.executable} -m gradcli check ok.expr | head -1; "
                          "echo \"${PIPESTATUS[0]}\"", shell=True, executable="bash",
                          capture_output=True, text=True, cwd=programs, env=env(), timeout=60)
    assert done.stdout.splitlines()[-1] == "0"
    assert "Traceback" not in done.stderr


# ----- check --of differentiates the output it names (item 4) ----------------------------------


def test_check_of_another_output_uses_its_own_gradient(programs):
    source = (programs / "two.expr").read_text()
    report = check(source, "two.expr", of="L1")
    assert report.passed
    analytic = {leaf.name: leaf.elements[0].analytic for leaf in report.leaves}
    numeric = {leaf.name: leaf.elements[0].numeric for leaf in report.leaves}
    # d(a*b)/da is b and d(a*b)/db is a: the finite differences agree with them, and not
    # with the .grad that L2.backward() left (1 and 1).
    assert analytic["a"] == pytest.approx(numeric["a"]) and analytic["a"] != 1
    assert analytic["b"] == pytest.approx(numeric["b"]) and analytic["b"] != 1
    assert check(source, "two.expr").passed  # the default output is still L2


def test_check_names_elements_as_python_does(tmp_path):
    path = tmp_path / "bad.expr"
    path.write_text("w = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)\n"
                    "L = (w * w.detach()).sum()\nL.backward()\n")
    done = gradcli("check", path)
    assert done.returncode == 1
    assert "worst: w[2]: " in done.stdout
    scalar = tmp_path / "scalar.expr"
    scalar.write_text("y = torch.tensor(3.0, requires_grad=True)\n"
                      "L = y * y.detach()\nL.backward()\n")
    assert "worst: y: " in gradcli("check", scalar).stdout


# ----- stderr: PyTorch's warnings and nothing else (item 5) ------------------------------------


@pytest.mark.parametrize("command", ["eval", "show"])
def test_numpy_warnings_do_not_reach_stderr(programs, command):
    done = gradcli(command, "var.expr", cwd=programs)
    assert done.returncode == 0
    lines = [line for line in done.stderr.splitlines() if not line.startswith("  ")]
    assert lines and all(": UserWarning: " in line for line in lines), done.stderr
    assert "RuntimeWarning" not in done.stderr and "numpy" not in done.stderr


def test_numpy_warnings_do_not_reach_stderr_in_the_repl(programs):
    text = (programs / "var.expr").read_text()
    done = gradcli("repl", "--simple", "--no-history", cwd=programs, input=text)
    assert "RuntimeWarning" not in done.stderr and "numpy" not in done.stderr


def test_quiet_run_writes_nothing_to_stderr(programs):
    done = gradcli("eval", "-q", "var.expr", cwd=programs)
    assert done.stderr == ""


# ----- the pager gets LESS=-R (item 2) --------------------------------------------------------


def test_help_language_pages_through_less_with_colours(tmp_path):
    # A fake `less` on PATH records its environment and input, as the real one would get.
    record = tmp_path / "record.txt"
    fake = tmp_path / "less"
    fake.write_text(f'#!/bin/sh\necho "LESS=$LESS" > {record}\ncat >> {record}\n')
    fake.chmod(0o755)
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradcli", "help", "language", "--color", "always"],
        stdin=child, stdout=child, stderr=child, cwd=ROOT,
        env=env(PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}", TERM="xterm"))
    os.close(child)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([main], [], [], 0.1)[0]:
            try:
                os.read(main, 65536)
            except OSError:
                break
    proc.wait(timeout=60)
    os.close(main)
    text = record.read_text()
    assert text.startswith("LESS=-R\n")
    assert "\x1b[1mGRADCLI-LANGUAGE(7)\x1b[0m" in text


# ----- help (item 12) -------------------------------------------------------------------------


def test_every_command_has_its_own_summary_and_an_example():
    top = gradcli("--help").stdout
    summaries = [line.split(None, 1)[1] for line in top.splitlines()
                 if line.startswith("  ") and line.split()[0] in
                 ("check", "completion", "eval", "graph", "help", "repl", "show")]
    assert len(summaries) == 7 and len(set(summaries)) == 7
    assert not any(s.endswith("...") for s in summaries), summaries
    for command in ("eval", "check", "graph", "show", "repl", "help", "completion"):
        text = gradcli(command, "--help").stdout
        assert "Examples:" in text, command
        if command != "completion":
            assert "--color" in text and "--no-color" in text, command


def test_check_help_describes_every_option():
    text = gradcli("check", "--help").stdout
    options = text[text.index("Options:"):]
    for name in ("--atol", "--rtol", "--seed", "--no-color", "--eps", "--format"):
        line = next(line for line in options.splitlines() if name in line.split(",")[-1])
        assert len(line.split(None, 2)) == 3 or "FLOAT" in line, line
    assert "Absolute tolerance" in options and "Relative tolerance" in options


def test_version_short_option():
    assert gradcli("-V").stdout == gradcli("--version").stdout
    assert gradcli("-V").stdout.startswith("gradcli, version ")


def test_json_stays_one_document_and_jsonl_one_line(programs):
    one = json.loads(gradcli("eval", "ok.expr", "--format", "json", cwd=programs).stdout)
    assert isinstance(one, dict)
    several = json.loads(gradcli("eval", "ok.expr", "rand.expr", "--format", "json",
                                 cwd=programs).stdout)
    assert [d["file"] for d in several] == ["ok.expr", "rand.expr"]
    lines = gradcli("eval", "ok.expr", "--format", "jsonl", cwd=programs).stdout
    assert len(lines.splitlines()) == 1 and json.loads(lines)["file"] == "ok.expr"


# ----- first contact (item 15) ----------------------------------------------------------------


def test_eval_dash_on_a_terminal_says_it_reads_stdin(tmp_path):
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", "eval", "-"], stdin=child,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env())
    os.close(child)
    os.write(main, b"x = tensor(2.0)\n")
    time.sleep(0.5)
    os.write(main, b"\x04")
    out, err = proc.communicate(timeout=60)
    os.close(main)
    assert err.decode() == "reading the program from stdin; end with Ctrl-D\n"
    assert proc.returncode == 0 and b"float32" in out


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_program_says_so(tmp_path, text):
    path = tmp_path / "empty.expr"
    path.write_text(text)
    done = gradcli("eval", path)
    assert done.returncode == 0 and done.stdout == "(no tensors)\n" and done.stderr == ""


def test_examples_are_listed_printed_and_shipped_in_the_wheel():
    listing = gradcli("examples").stdout
    names = sorted(p.stem for p in (ROOT / "examples").glob("*.expr"))
    assert [line.split()[0] for line in listing.splitlines()[:len(names)]] == names
    assert max(len(line) for line in listing.splitlines()) <= 80
    text = gradcli("examples", "nb_14_retain_grad_graph").stdout
    assert text == (ROOT / "examples/nb_14_retain_grad_graph.expr").read_text()
    assert gradcli("examples", "nb_14").stdout == text  # a unique prefix is enough
    path = gradcli("examples", "--path", "nb_14").stdout.strip()
    assert Path(path).read_text() == text
    wrong = gradcli("examples", "nb_1")
    assert wrong.returncode == 2 and "did you mean" in wrong.stderr
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"examples" = "gradcli/examples"' in pyproject


def test_help_language_points_at_the_installed_examples():
    text = gradcli("help", "language", "--no-pager").stdout
    assert "gradcli examples" in text


# ----- did you mean, and the caret under the culprit (item 14) --------------------------------

SUGGESTIONS = [
    ("x = tensor(1.0, requires_grads=True)\n",
     "TypeError: tensor() got an unexpected keyword argument 'requires_grads'. "
     "Did you mean: 'requires_grad'?", "                    ^^^^^^^^^^^^^^"),
    ("x = tensor(1.0)\nx.backwards()\n",
     "AttributeError: 'Tensor' object has no attribute 'backwards'. Did you mean: 'backward'?",
     "      ^^^^^^^^^"),
    ("y = torch.sigmod(tensor(1.0))\n",
     "AttributeError: module 'torch' has no attribute 'sigmod'. Did you mean: 'sigmoid'?",
     "              ^^^^^^"),
    ("x = tensor(1.0)\ny = xx + 1\n",
     "NameError: name 'xx' is not defined. Did you mean: 'x'?", "        ^^"),
]


@pytest.mark.parametrize("program, message, caret", SUGGESTIONS, ids=lambda v: v[:24])
def test_a_misspelling_gets_a_suggestion_and_a_span(tmp_path, program, message, caret):
    path = tmp_path / "typo.expr"
    path.write_text(program)
    done = gradcli("eval", path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].endswith(message), lines[0]
    assert lines[2] == caret, done.stderr


def test_an_error_record_with_an_end_is_underlined():
    from gradcli.runtime.result import ErrorRecord, RunResult
    from gradcli.views.jsondoc import dumps
    from gradcli.views.messages import format_error

    error = ErrorRecord("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)",
                        1, 7, end_line=1, end_column=8)
    text = format_error("f.expr", "c = a @ b\n", error)
    assert text.splitlines()[1:] == ["    c = a @ b", "          ^"]
    error.column, error.end_column = 5, 10
    assert format_error("f.expr", "c = a @ b\n", error).splitlines()[2] == "        ^^^^^"
    # The JSON contract (SPEC §2.1) is unchanged: the span is for the terminal.
    assert "end_column" not in dumps(RunResult(filename="f", source="", error=error))


# ----- the repl numbers its inputs (item 13) --------------------------------------------------


def test_piped_repl_names_stdin_lines_and_exits_1_after_a_failure(tmp_path):
    inputs = "x = tensor(1.0)\n\ny = x +\\\n  zz\nprint(x)\n"
    done = gradcli("repl", input=inputs, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("<stdin>:4:3: NameError: name 'zz' is not defined")
    assert done.stdout == "tensor(1.)\n"
    assert gradcli("repl", input="x = tensor(1.0)\nprint(x)\n", cwd=tmp_path).returncode == 0


def test_repl_numbers_inputs_as_ipython_does():
    import io

    from gradcli.cli.commands.repl import Repl
    from gradcli.runtime.session import Session

    out, err = io.StringIO(), io.StringIO()
    repl = Repl(Session(), False, out=out, err=err)
    repl.handle("x = tensor(1.0)\n")
    repl.handle(":table")
    repl.handle("y = x +\\\n  zz\n")
    assert err.getvalue().startswith("input [2]:2:3: NameError: name 'zz' is not defined")


# ----- polish (item 16) -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["eval", "show", "graph"])
def test_an_encoding_error_shows_the_line_with_replacement_characters(tmp_path, command):
    path = tmp_path / "bad.expr"
    path.write_bytes(b'a = 1\nb = "\xc3\xa9\xff"\n')
    done = gradcli(command, path)
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    # The byte's position in the file is in the message; the column counts characters.
    assert lines[0].endswith(":2:7: SyntaxError: (unicode error) 'utf-8' codec can't decode "
                             "byte 0xff in position 13: invalid start byte")
    assert lines[1:] == ['    b = "é\ufffd"', "          ^"]


def test_a_missing_grad_is_dim_not_coloured_like_a_value():
    from gradcli.runtime.interpreter import run
    from gradcli.views.table import table_text

    result = run("x = tensor([1.0, 2.0], requires_grad=True)\n(x * x).sum().backward()\n"
                 "y = x * 2\n", "c.expr")
    text = table_text(result, 4, 80, color=True)
    assert "\x1b[2mNone\x1b[0m" in text  # y's grad
    assert "\x1b[32m[2., 4.]\x1b[0m" in text  # x's grad


# ----- --set on any binding, never changing a shape (item 9) ----------------------------------

SET_PROGRAM = """lr = 0.1
w = tensor(1.0, requires_grad=True)
v = torch.tensor([1.0, 2.0],
                 requires_grad=True)
b2 = torch.zeros(3, requires_grad=True)
k = torch.full((2,), 7, dtype=torch.float64)
z = w * lr
"""


def test_set_replaces_numbers_lists_and_creation_calls(tmp_path):
    path = tmp_path / "set.expr"
    path.write_text(SET_PROGRAM)
    done = gradcli("eval", path, "--format", "json", "--set", "lr=0.5", "--set", "v=[3, 4]",
                   "--set", "b2=[1, 2, 3]", "--set", "k=[1, 2]")
    assert done.returncode == 0, done.stderr
    tensors = {t["name"]: t for t in json.loads(done.stdout)["tensors"]}
    assert tensors["v"]["data"] == [3.0, 4.0] and tensors["v"]["dtype"] == "float32"
    assert tensors["b2"]["data"] == [1.0, 2.0, 3.0] and tensors["b2"]["dtype"] == "float32"
    assert tensors["b2"]["requires_grad"] is True and tensors["b2"]["is_leaf"] is True
    assert tensors["k"]["dtype"] == "float64" and tensors["k"]["data"] == [1.0, 2.0]
    assert tensors["z"]["data"] == 0.5  # w * lr with lr = 0.5


@pytest.mark.parametrize("setting, message", [
    ("w=[[1]]", "--set w: '[[1]]' has shape (1, 1), but w is declared with shape ()"),
    ("b2=[1, 2]", "has shape (2,), but b2 is declared with shape (3,)"),
    ("lr=[1, 2]", "but lr is declared with shape ()"),
    ("z=3", "--set z: `z = w * lr` is not a number, a list"),
    ("nope=1", "--set nope: no `nope = ...` binding"),
    ("lr=abc", "--set lr: 'abc' is not a number or list"),
])
def test_set_refuses_what_it_cannot_do(tmp_path, setting, message):
    path = tmp_path / "set.expr"
    path.write_text(SET_PROGRAM)
    done = gradcli("eval", path, "--set", setting)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""


def test_set_keeps_every_line_in_place(tmp_path):
    path = tmp_path / "set.expr"
    path.write_text(SET_PROGRAM + "q = (v * v).sum()\nq.backward()\nq.backward()\n")
    done = gradcli("eval", path, "--set", "v=[3, 4]")
    assert done.stderr.startswith(f"{path}:10:1: RuntimeError: Trying to backward")


# ----- the loop budget in the repl (item 8) ---------------------------------------------------


def test_repl_has_max_steps_and_each_input_has_the_whole_budget(tmp_path):
    loop = "for i in range(3):\n    pass\n\n"
    done = gradcli("repl", "--max-steps", "5", input=loop * 4, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""  # 12 steps in all, 3 per input
    done = gradcli("repl", "--max-steps", "5", input="for i in range(6):\n    pass\n\n",
                   cwd=tmp_path)
    assert done.returncode == 1 and "--max-steps" in done.stderr
    assert "--max-steps" in gradcli("repl", "--help").stdout
